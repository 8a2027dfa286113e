//! Quotas, and malformed or oversized messages: each refused with its
//! error, without affecting other connections.

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::io::xs_wire::msg;
use pv_abi::DomId;
use xenstored::{Access, Action, Broken, Config, FeedError, Perm};

fn setup(cfg: Config) -> H {
    let mut h = H::with(cfg);
    h.intro(&[1, 2]);
    for d in [1u16, 2] {
        let home = format!("/local/domain/{d}");
        h.xs.mkdir(&home).unwrap();
        h.xs.set_perms(&home, &[Perm::new(Access::None, DomId(d))]).unwrap();
    }
    h
}

#[test]
fn node_quota() {
    let mut h = setup(Config { max_nodes: 5, ..Default::default() });
    // Domain 1 owns its home already: 4 more.
    assert_eq!(h.write(1, "a/b/c", ""), ok());
    assert_eq!(h.write(1, "d/e", ""), err(ENOSPC));
    assert_eq!(h.read(1, "d"), err(ENOENT)); // nothing half-created
    assert_eq!(h.write(1, "d", ""), ok());
    assert_eq!(h.write(1, "e", ""), err(ENOSPC));
    // Existing nodes can still be written; removal frees quota.
    assert_eq!(h.write(1, "a/b/c", "v"), ok());
    assert_eq!(h.rm(1, "a/b"), ok());
    assert_eq!(h.write(1, "e/f", ""), ok());
    // Domain 2 and dom0 are unaffected.
    assert_eq!(h.write(2, "x/y/z/w", ""), ok());
    for i in 0..20 {
        assert_eq!(h.write(D0, &format!("/local/domain/1/dom0-{i}"), ""), ok());
    }
    // In a transaction, the quota counts the transaction's own creations...
    let mut h = setup(Config { max_nodes: 4, ..Default::default() });
    assert_eq!(h.write(1, "other", ""), ok());
    let t = h.start(1).unwrap();
    assert_eq!(h.write_tx(1, t, "a", ""), ok());
    assert_eq!(h.write_tx(1, t, "b", ""), ok());
    assert_eq!(h.write_tx(1, t, "c", ""), err(ENOSPC));
    // ...and is checked again at commit (no conflict: "other" was not
    // accessed by the transaction).
    assert_eq!(h.write(1, "other/z", ""), ok());
    assert_eq!(h.end(1, t, true), err(ENOSPC));
    assert_eq!(h.read(1, "a"), err(ENOENT));
}

#[test]
fn node_size_quota() {
    let mut h = setup(Config { max_node_size: 16, ..Default::default() });
    assert_eq!(h.write(1, "k", &"x".repeat(16)), ok());
    assert_eq!(h.write(1, "k", &"x".repeat(17)), err(ENOSPC));
    assert_eq!(h.read(1, "k"), val(&"x".repeat(16)));
    // Children names count: the parent would grow past the limit.
    assert_eq!(h.write(1, "d/aaaaaaa", ""), ok());
    assert_eq!(h.write(1, "d/bbbbbbb", ""), ok());
    assert_eq!(h.write(1, "d/c", ""), err(ENOSPC));
    // Other domains and dom0 are unaffected.
    assert_eq!(h.write(2, "k", &"y".repeat(16)), ok());
    assert_eq!(h.write(D0, "/local/domain/1/k", &"z".repeat(1000)), ok());
}

#[test]
fn watch_quota() {
    let mut h = setup(Config { max_watches: 3, ..Default::default() });
    for t in ["a", "b", "c"] {
        assert_eq!(h.watch(1, "x", t), ok());
    }
    assert_eq!(h.watch(1, "x", "d"), err(E2BIG));
    assert_eq!(h.watch(2, "x", "d"), ok());
    for i in 0..10 {
        assert_eq!(h.watch(D0, "/x", &format!("{i}")), ok());
    }
    assert_eq!(h.unwatch(1, "x", "a"), ok());
    assert_eq!(h.watch(1, "x", "d"), ok());
}

#[test]
fn perms_quota() {
    let mut h = setup(Config { max_perms: 2, ..Default::default() });
    h.write(1, "k", "").unwrap();
    assert_eq!(h.set_perms(1, "k", &["n1", "r2"]), ok());
    assert_eq!(h.set_perms(1, "k", &["n1", "r2", "r3"]), err(ENOSPC));
    assert_eq!(h.set_perms(D0, "/local/domain/1/k", &["n1", "r2", "r3", "r4"]), ok());
}

#[test]
fn transaction_node_limit() {
    let mut h = setup(Config { max_transaction_nodes: 3, ..Default::default() });
    let t = h.start(1).unwrap();
    // Reading "a" accesses a and its home (the nearest existing ancestor).
    assert_eq!(h.read_tx(1, t, "a"), err(ENOENT));
    assert_eq!(h.write_tx(1, t, "b", ""), ok());
    assert_eq!(h.write_tx(1, t, "c", ""), err(ENOSPC));
    assert_eq!(h.end(1, t, true), ok());
    assert_eq!(h.read(1, "b"), val(""));
}

#[test]
fn transaction_memory_limit() {
    let mut h = setup(Config { max_transaction_bytes: 150, ..Default::default() });
    let long = "x".repeat(60);
    h.xs.write(&format!("/local/domain/1/{long}"), b"").unwrap();
    h.xs.write(&format!("/local/domain/1/{long}/v"), &[b'v'; 40]).unwrap();
    let t1 = h.start(1).unwrap();
    // Path (76 bytes) plus node size (its child list, 2): 78.
    assert_eq!(h.read_tx(1, t1, &long), val(""));
    // Another transaction of the same domain shares the budget: 78 + 118.
    let t2 = h.start(1).unwrap();
    assert_eq!(h.read_tx(1, t2, &format!("{long}/v")), err(ENOSPC));
    // Growing a value inside a transaction counts too.
    assert_eq!(h.write_tx(1, t1, &long, &"y".repeat(80)), err(ENOSPC));
    assert_eq!(h.write_tx(1, t1, &long, "y"), ok());
    // Other domains are unaffected; ending a transaction frees its bytes.
    assert_eq!(h.start(2).map(|t| h.read_tx(2, t, "/local/domain/2")), Ok(val("")));
    assert_eq!(h.end(1, t1, true), ok());
    assert_eq!(h.read_tx(1, t2, &format!("{long}/v")), Ok(vec![b'v'; 40]));
}

#[test]
fn outstanding_requests_backpressure() {
    let mut h = setup(Config { max_outstanding: 3, ..Default::default() });
    // Domain 1 pipelines 5 requests without reading replies.
    let mut bytes = Vec::new();
    for i in 0..5 {
        bytes.extend(raw(msg::XS_GET_DOMAIN_PATH, 100 + i, 0, b"1\0"));
    }
    let n = h.xs.feed(DomId(1), &bytes).unwrap();
    let one = bytes.len() / 5;
    assert_eq!(n, 3 * one);
    assert_eq!(h.xs.feed(DomId(1), &bytes[n..]), Ok(0));
    // Other domains are served meanwhile.
    let r = raw(msg::XS_GET_DOMAIN_PATH, 1, 0, b"2\0");
    assert_eq!(h.xs.feed(DomId(2), &r), Ok(r.len()));
    assert_eq!(split(&h.xs.take_output(DomId(2)))[0].payload, b"/local/domain/2\0");
    // Sending replies frees room.
    let out = split(&h.xs.take_output(DomId(1)));
    assert_eq!(out.iter().map(|m| m.hdr.req_id).collect::<Vec<_>>(), [100, 101, 102]);
    assert_eq!(h.xs.feed(DomId(1), &bytes[n..]), Ok(2 * one));
    let out = split(&h.xs.take_output(DomId(1)));
    assert_eq!(out.iter().map(|m| m.hdr.req_id).collect::<Vec<_>>(), [103, 104]);
    // dom0 is not limited.
    let mut bytes = Vec::new();
    for i in 0..10 {
        bytes.extend(raw(msg::XS_GET_DOMAIN_PATH, i, 0, b"1\0"));
    }
    assert_eq!(h.xs.feed(DomId(0), &bytes), Ok(bytes.len()));
}

#[test]
fn malformed_messages() {
    let mut h = setup(Config::default());
    let cases: &[(u32, &[u8], i32)] = &[
        (msg::XS_READ, b"/local/domain/1", EINVAL), // missing NUL
        (msg::XS_READ, b"", EINVAL),                // empty payload
        (msg::XS_READ, b"a\0b\0", EINVAL),          // two arguments
        (msg::XS_READ, b"\0", EINVAL),              // empty path
        (msg::XS_READ, b"/a b\0", EINVAL),          // bad character
        (msg::XS_READ, b"/a//b\0", EINVAL),         // double slash
        (msg::XS_READ, b"/a/\0", EINVAL),           // trailing slash
        (msg::XS_READ, b"/\xff\0", EINVAL),         // not UTF-8
        (msg::XS_WRITE, b"no-nul", EINVAL),         // no path terminator
        (msg::XS_WRITE, b"@x\0v", EINVAL),          // special name
        (msg::XS_WATCH, b"a\0", EINVAL),            // no token
        (msg::XS_WATCH, b"a\0t\0extra\0", EINVAL),  // too many
        (msg::XS_UNWATCH, b"a\0t", EINVAL),         // no final NUL
        (msg::XS_SET_PERMS, b"a\0", EINVAL),        // no perms
        (msg::XS_GET_DOMAIN_PATH, b"1", EINVAL),    // no NUL
        (msg::XS_WATCH_EVENT, b"a\0t\0", ENOSYS),   // not a request
        (msg::XS_ERROR, b"EINVAL\0", ENOSYS),       // not a request
        (20, b"\0", ENOSYS),                        // removed type
        (23, b"\0", ENOSYS),                        // unknown type
        (0xffff, b"\0", ENOSYS),                    // XS_INVALID
    ];
    for &(ty, payload, e) in cases {
        assert_eq!(h.raw(1, ty, 0, payload), err(e), "type {ty} payload {payload:?}");
    }
    // Too long a path.
    let long = format!("{}\0", "x".repeat(2049));
    assert_eq!(h.raw(1, msg::XS_READ, 0, long.as_bytes()), err(EINVAL));
    // A reply that would exceed the payload limit.
    for i in 0..300 {
        h.xs.write(&format!("/local/domain/1/d/entry-with-a-long-name-{i}"), b"").unwrap();
    }
    assert_eq!(h.raw(1, msg::XS_DIRECTORY, 0, b"d\0"), err(E2BIG));
    // The connection still works, and so does the other one.
    assert_eq!(h.write(1, "ok", "1"), ok());
    assert_eq!(h.write(2, "ok", "2"), ok());
    assert_eq!(h.xs.stats(DomId(1)).unwrap().errors, cases.len() as u64 + 2);
    assert_eq!(h.xs.stats(DomId(2)).unwrap().errors, 0);
}

#[test]
fn oversized_header_breaks_only_that_connection() {
    let mut h = setup(Config::default());
    h.watch(1, "x", "t").unwrap();
    h.xs.take_actions();
    // A valid request, then a header claiming 4097 bytes, in one chunk.
    let mut bytes = raw(msg::XS_GET_DOMAIN_PATH, 1, 0, b"1\0");
    bytes.extend(raw(msg::XS_READ, 2, 0, &[])[..12].iter());
    bytes.extend(4097u32.to_ne_bytes());
    bytes.extend([0u8; 100]);
    assert_eq!(h.xs.feed(DomId(1), &bytes), Err(FeedError::Broken(Broken::Oversize)));
    assert_eq!(h.xs.take_actions(), [Action::Broken { domid: DomId(1), reason: Broken::Oversize }]);
    assert_eq!(h.xs.broken(DomId(1)), Some(Broken::Oversize));
    // Its output, watches and further input are dropped.
    assert!(h.xs.take_output(DomId(1)).is_empty());
    assert!(h.xs.watches(DomId(1)).is_empty());
    assert_eq!(h.xs.feed(DomId(1), b"anything"), Err(FeedError::Broken(Broken::Oversize)));
    h.xs.write("/local/domain/1/x", b"").unwrap();
    assert!(h.xs.take_output(DomId(1)).is_empty());
    // Others are unaffected.
    assert_eq!(h.write(2, "k", "v"), ok());
    assert_eq!(h.read(D0, "/local/domain/2/k"), val("v"));
    // A header split across chunks is detected as soon as it is complete.
    let mut bad = raw(msg::XS_READ, 3, 0, &[]);
    bad[12..16].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(h.xs.feed(DomId(2), &bad[..10]), Ok(10));
    assert_eq!(h.xs.feed(DomId(2), &bad[10..]), Err(FeedError::Broken(Broken::Oversize)));
    // Release then introduce gives a fresh connection.
    h.xs.release(DomId(1)).unwrap();
    h.intro(&[1]);
    assert_eq!(h.xs.broken(DomId(1)), None);
    assert_eq!(
        h.req(1, 0, pv_abi::xenstore::wire::Request::GetDomainPath { domid: DomId(1) }),
        Ok(b"/local/domain/1\0".to_vec())
    );
}

#[test]
fn byte_at_a_time() {
    let mut h = setup(Config::default());
    let mut bytes = raw(msg::XS_WRITE, 7, 0, b"k\0value");
    bytes.extend(raw(msg::XS_READ, 8, 0, b"k\0"));
    for b in &bytes {
        assert_eq!(h.xs.feed(DomId(1), std::slice::from_ref(b)), Ok(1));
    }
    let out = split(&h.xs.take_output(DomId(1)));
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].hdr.ty, out[0].hdr.req_id, &out[0].payload[..]), (msg::XS_WRITE, 7, &b"OK\0"[..]));
    assert_eq!((out[1].hdr.ty, out[1].hdr.req_id, &out[1].payload[..]), (msg::XS_READ, 8, &b"value"[..]));
    // An empty-payload message completes with its header.
    assert_eq!(h.xs.feed(DomId(1), &raw(msg::XS_TRANSACTION_START, 9, 0, b"")), Ok(16));
    let out = split(&h.xs.take_output(DomId(1)));
    assert_eq!((out[0].hdr.ty, out[0].hdr.req_id), (msg::XS_TRANSACTION_START, 9));
}
