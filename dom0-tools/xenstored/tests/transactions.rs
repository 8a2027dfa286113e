//! Transactions: isolation, commit, abort, conflicts, events at commit.

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::io::xs_wire::msg;
use pv_abi::DomId;
use xenstored::{Access, Perm};

fn setup() -> H {
    let mut h = H::new();
    h.intro(&[1, 2]);
    for d in [1u16, 2] {
        let home = format!("/local/domain/{d}");
        h.xs.mkdir(&home).unwrap();
        h.xs.set_perms(&home, &[Perm::new(Access::Both, DomId(d))]).unwrap();
    }
    h.xs.write("/local/domain/1/a", b"1").unwrap();
    h.xs.write("/local/domain/1/b", b"2").unwrap();
    h
}

#[test]
fn isolation_and_commit() {
    let mut h = setup();
    let t = h.start(1).unwrap();
    assert_ne!(t, 0);
    assert_eq!(h.write_tx(1, t, "a", "tx"), ok());
    assert_eq!(h.write_tx(1, t, "new/deep", "n"), ok());
    // Inside: own writes. Outside: nothing yet.
    assert_eq!(h.read_tx(1, t, "a"), val("tx"));
    assert_eq!(h.read_tx(1, t, "new/deep"), val("n"));
    assert_eq!(h.read(1, "a"), val("1"));
    assert_eq!(h.read(2, "/local/domain/1/new/deep"), err(ENOENT));
    assert_eq!(h.req(1, t, pv_abi::xenstore::wire::Request::Directory { path: "new" }), Ok(b"deep\0".to_vec()));
    assert_eq!(h.end(1, t, true), ok());
    assert_eq!(h.read(2, "/local/domain/1/a"), val("tx"));
    assert_eq!(h.read(2, "/local/domain/1/new/deep"), val("n"));
    // The id is gone.
    assert_eq!(h.end(1, t, true), err(ENOENT));
    assert_eq!(h.read_tx(1, t, "a"), err(ENOENT));
}

#[test]
fn abort_discards() {
    let mut h = setup();
    let t = h.start(1).unwrap();
    h.write_tx(1, t, "a", "tx").unwrap();
    h.req(1, t, pv_abi::xenstore::wire::Request::Rm { path: "b" }).unwrap();
    assert_eq!(h.read_tx(1, t, "b"), err(ENOENT));
    assert_eq!(h.end(1, t, false), ok());
    assert_eq!(h.read(1, "a"), val("1"));
    assert_eq!(h.read(1, "b"), val("2"));
    assert_eq!(h.xs.transactions(DomId(1)), 0);
}

#[test]
fn snapshot_of_first_access() {
    let mut h = setup();
    let t = h.start(1).unwrap();
    assert_eq!(h.read_tx(1, t, "a"), val("1"));
    h.write(2, "/local/domain/1/a", "other").unwrap();
    // The transaction keeps seeing what it first read...
    assert_eq!(h.read_tx(1, t, "a"), val("1"));
    // ...and cannot commit on top of the change.
    assert_eq!(h.end(1, t, true), err(EAGAIN));
    assert_eq!(h.read(1, "a"), val("other"));
}

#[test]
fn conflicting_write_of_written_node() {
    let mut h = setup();
    let t = h.start(1).unwrap();
    h.write_tx(1, t, "b", "mine").unwrap();
    h.write(D0, "/local/domain/1/b", "theirs").unwrap();
    assert_eq!(h.end(1, t, true), err(EAGAIN));
    assert_eq!(h.read(1, "b"), val("theirs"));
}

#[test]
fn conflicting_creation_and_removal() {
    let mut h = setup();
    // A node read as missing, then created by someone else.
    let t = h.start(1).unwrap();
    assert_eq!(h.read_tx(1, t, "c"), err(ENOENT));
    h.write(D0, "/local/domain/1/c", "x").unwrap();
    assert_eq!(h.end(1, t, true), err(EAGAIN));
    // A node read, then removed.
    let t = h.start(1).unwrap();
    h.read_tx(1, t, "c").unwrap();
    h.write_tx(1, t, "d", "").unwrap();
    h.rm(D0, "/local/domain/1/c").unwrap();
    assert_eq!(h.end(1, t, true), err(EAGAIN));
    assert_eq!(h.read(1, "d"), err(ENOENT));
}

#[test]
fn unrelated_changes_do_not_conflict() {
    let mut h = setup();
    let t = h.start(1).unwrap();
    h.read_tx(1, t, "a").unwrap();
    h.write_tx(1, t, "b", "tx").unwrap();
    h.write(2, "/local/domain/2/elsewhere", "x").unwrap();
    assert_eq!(h.end(1, t, true), ok());
    assert_eq!(h.read(1, "b"), val("tx"));
}

#[test]
fn two_transactions() {
    let mut h = setup();
    let t1 = h.start(1).unwrap();
    let t2 = h.start(2).unwrap();
    h.read_tx(1, t1, "/local/domain/1/a").unwrap();
    h.read_tx(2, t2, "/local/domain/1/b").unwrap();
    h.write_tx(1, t1, "/local/domain/1/b", "t1").unwrap();
    h.write_tx(2, t2, "/local/domain/1/a", "t2").unwrap();
    assert_eq!(h.end(1, t1, true), ok());
    assert_eq!(h.end(2, t2, true), err(EAGAIN));
    assert_eq!(h.read(1, "a"), val("1"));
    assert_eq!(h.read(1, "b"), val("t1"));
}

#[test]
fn events_fire_at_commit_once() {
    let mut h = setup();
    h.watch(2, "/local/domain/1", "w").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(Access::Both, DomId(1)), Perm::new(Access::Read, DomId(2))]).unwrap();
    h.take_events(2);
    let t = h.start(1).unwrap();
    h.write_tx(1, t, "a", "x").unwrap();
    h.write_tx(1, t, "a", "y").unwrap();
    h.write_tx(1, t, "n", "z").unwrap();
    assert_eq!(h.take_events(2), []);
    h.end(1, t, true).unwrap();
    assert_eq!(h.take_events(2), [ev("/local/domain/1/a", "w"), ev("/local/domain/1/n", "w")]);
    // Aborted or failed transactions fire nothing.
    let t = h.start(1).unwrap();
    h.write_tx(1, t, "a", "q").unwrap();
    h.end(1, t, false).unwrap();
    let t = h.start(1).unwrap();
    h.write_tx(1, t, "a", "q").unwrap();
    h.write(D0, "/local/domain/1/a", "r").unwrap();
    assert_eq!(h.end(1, t, true), err(EAGAIN));
    assert_eq!(h.take_events(2), [ev("/local/domain/1/a", "w")]);
}

#[test]
fn protocol_errors() {
    let mut h = setup();
    let t = h.start(1).unwrap();
    // Nested start.
    assert_eq!(h.raw(1, msg::XS_TRANSACTION_START, t, b"\0"), err(EBUSY));
    assert_eq!(h.raw(1, msg::XS_TRANSACTION_START, 999, b"\0"), err(ENOENT));
    assert_eq!(h.raw(1, msg::XS_TRANSACTION_END, t, b"X\0"), err(EINVAL));
    assert_eq!(h.raw(1, msg::XS_TRANSACTION_END, 0, b"T\0"), err(ENOENT));
    // Another domain cannot use this transaction id.
    assert_eq!(h.read_tx(2, t, "/local/domain/1/a"), err(ENOENT));
    // The transaction survived the bad END.
    assert_eq!(h.end(1, t, true), ok());
    // Watch requests ignore the transaction id.
    assert_eq!(h.raw(1, msg::XS_WATCH, 4242, b"a\0t\0"), ok());
}

#[test]
fn transaction_ids_are_distinct() {
    let mut h = setup();
    let a = h.start(1).unwrap();
    let b = h.start(1).unwrap();
    assert_ne!(a, b);
    h.write_tx(1, a, "a", "A").unwrap();
    h.write_tx(1, b, "b", "B").unwrap();
    assert_eq!(h.read_tx(1, b, "a"), val("1"));
    assert_eq!(h.end(1, b, true), ok());
    assert_eq!(h.end(1, a, true), ok());
    assert_eq!((h.read(1, "a"), h.read(1, "b")), (val("A"), val("B")));
}

#[test]
fn transaction_quota() {
    let mut h = setup();
    let ids: Vec<u32> = (0..10).map(|_| h.start(1).unwrap()).collect();
    assert_eq!(h.start(1), Err(ENOSPC));
    // Other domains, and dom0, are not limited by domain 1's quota.
    assert!(h.start(2).is_ok());
    for _ in 0..20 {
        h.start(D0).unwrap();
    }
    h.end(1, ids[0], false).unwrap();
    assert!(h.start(1).is_ok());
}
