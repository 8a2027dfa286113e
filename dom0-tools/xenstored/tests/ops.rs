//! Every operation over the wire, and the standard tree.

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::io::xs_wire::msg;
use pv_abi::xenstore::wire::{parse_directory_part, Request};
use pv_abi::DomId;
use xenstored::{Access, Action, Perm, DOM0};

#[test]
fn standard_tree() {
    let mut h = H::new();
    for p in ["/", "/local", "/local/domain", "/local/domain/0", "/vm", "/tool", "/tool/xenstored"] {
        let n = h.xs.node(p).unwrap_or_else(|| panic!("{p}"));
        assert_eq!(n.perms(), &[Perm::new(Access::None, DOM0)], "{p}");
    }
    assert_eq!(h.read(D0, "/local/domain/0/name"), val("Domain-0"));
    assert_eq!(h.read(D0, "/local/domain/0/domid"), val("0"));
    assert_eq!(h.dir(D0, "/").unwrap(), ["tool", "local", "vm"]);
    assert_eq!(h.get_perms(D0, "@releaseDomain").unwrap(), ["n0"]);
    assert_eq!(h.get_perms(D0, "@introduceDomain").unwrap(), ["n0"]);
}

#[test]
fn read_write_mkdir() {
    let mut h = H::new();
    assert_eq!(h.read(D0, "/a"), err(ENOENT));
    assert_eq!(h.write(D0, "/a/b/c", "v1"), ok());
    assert_eq!(h.read(D0, "/a/b/c"), val("v1"));
    // Missing parents are created with empty values.
    assert_eq!(h.read(D0, "/a"), val(""));
    assert_eq!(h.read(D0, "/a/b"), val(""));
    // Binary values, including NULs, round-trip.
    assert_eq!(h.req(D0, 0, Request::Write { path: "/bin", value: b"x\0y\0" }), ok());
    assert_eq!(h.read(D0, "/bin"), Ok(b"x\0y\0".to_vec()));
    assert_eq!(h.write(D0, "/a/b/c", ""), ok());
    assert_eq!(h.read(D0, "/a/b/c"), val(""));
    // MKDIR leaves existing values alone.
    assert_eq!(h.write(D0, "/m", "keep"), ok());
    assert_eq!(h.mkdir(D0, "/m"), ok());
    assert_eq!(h.read(D0, "/m"), val("keep"));
    assert_eq!(h.mkdir(D0, "/m/n/o"), ok());
    assert_eq!(h.read(D0, "/m/n/o"), val(""));
    assert_eq!(h.dir(D0, "/m").unwrap(), ["n"]);
}

#[test]
fn relative_paths() {
    let mut h = H::new();
    h.intro(&[5]);
    h.xs.mkdir("/local/domain/5").unwrap();
    h.xs.set_perms("/local/domain/5", &[Perm::new(Access::None, DomId(5))]).unwrap();
    assert_eq!(h.write(5, "data/x", "1"), ok());
    assert_eq!(h.read(D0, "/local/domain/5/data/x"), val("1"));
    assert_eq!(h.read(5, "/local/domain/5/data/x"), val("1"));
    assert_eq!(h.read(D0, "name"), val("Domain-0"));
}

#[test]
fn directory_order_and_rm() {
    let mut h = H::new();
    for c in ["z", "a", "m"] {
        h.write(D0, &format!("/d/{c}"), "").unwrap();
    }
    h.write(D0, "/d/a/deep/er", "x").unwrap();
    assert_eq!(h.dir(D0, "/d").unwrap(), ["z", "a", "m"]);
    assert_eq!(h.dir(D0, "/d/z").unwrap(), Vec::<String>::new());
    assert_eq!(h.dir(D0, "/nope"), Err(ENOENT));
    assert_eq!(h.rm(D0, "/d/a"), ok());
    assert_eq!(h.dir(D0, "/d").unwrap(), ["z", "m"]);
    assert_eq!(h.read(D0, "/d/a/deep/er"), err(ENOENT));
    assert!(h.xs.node("/d/a/deep").is_none());
    // Removing a missing node is fine if its parent exists...
    assert_eq!(h.rm(D0, "/d/a"), ok());
    // ...and ENOENT if not.
    assert_eq!(h.rm(D0, "/d/a/b"), err(ENOENT));
    // The root cannot be removed.
    assert_eq!(h.rm(D0, "/"), err(EINVAL));
    assert_eq!(h.rm(D0, "/d"), ok());
    assert_eq!(h.dir(D0, "/").unwrap(), ["tool", "local", "vm"]);
}

#[test]
fn directory_part() {
    let mut h = H::new();
    let names: Vec<String> = (0..400).map(|i| format!("child-number-{i:04}")).collect();
    for n in &names {
        h.xs.write(&format!("/big/{n}"), b"").unwrap();
    }
    // Too long for one DIRECTORY reply.
    assert_eq!(h.dir(D0, "/big"), Err(E2BIG));
    let mut got = Vec::new();
    let mut off = 0u32;
    let mut gen = None;
    loop {
        let p = h.req(D0, 0, Request::DirectoryPart { path: "/big", offset: off }).unwrap();
        assert!(p.len() <= 4096);
        let part = parse_directory_part(&p).unwrap();
        if let Some(g) = &gen {
            assert_eq!(g, part.generation);
        }
        gen = Some(part.generation.to_string());
        got.extend(part.children.clone().map(String::from));
        off += part.len;
        if part.done {
            break;
        }
    }
    assert_eq!(got, names);
    // Past the end: just the generation and an empty list.
    let p = h.req(D0, 0, Request::DirectoryPart { path: "/big", offset: 1_000_000 }).unwrap();
    assert!(parse_directory_part(&p).unwrap().done);
    // A change moves the generation on.
    let before = parse_directory_part(&h.req(D0, 0, Request::DirectoryPart { path: "/big", offset: 0 }).unwrap())
        .unwrap()
        .generation
        .to_string();
    h.xs.write("/big/new", b"").unwrap();
    let p = h.req(D0, 0, Request::DirectoryPart { path: "/big", offset: 0 }).unwrap();
    assert_ne!(parse_directory_part(&p).unwrap().generation, before);
    assert_eq!(h.raw(D0, msg::XS_DIRECTORY_PART, 0, b"/big\0x\0"), err(EINVAL));
    assert_eq!(h.raw(D0, msg::XS_DIRECTORY_PART, 0, b"/big\0"), err(EINVAL));
}

#[test]
fn perms_get_set() {
    let mut h = H::new();
    h.write(D0, "/p", "").unwrap();
    assert_eq!(h.get_perms(D0, "/p").unwrap(), ["n0"]);
    assert_eq!(h.set_perms(D0, "/p", &["b3", "r4", "w5", "n6"]), ok());
    assert_eq!(h.get_perms(D0, "/p").unwrap(), ["b3", "r4", "w5", "n6"]);
    assert_eq!(h.set_perms(D0, "/p", &[]), err(EINVAL));
    assert_eq!(h.set_perms(D0, "/p", &["x3"]), err(EINVAL));
    assert_eq!(h.set_perms(D0, "/p", &["r70000"]), err(EINVAL));
    assert_eq!(h.set_perms(D0, "/nope", &["n0"]), err(ENOENT));
    assert_eq!(h.get_perms(D0, "/nope"), Err(ENOENT));
    // Special nodes' permissions can be read and set.
    assert_eq!(h.set_perms(D0, "@releaseDomain", &["n0", "r7"]), ok());
    assert_eq!(h.get_perms(D0, "@releaseDomain").unwrap(), ["n0", "r7"]);
    assert_eq!(h.get_perms(D0, "@other"), Err(ENOENT));
    assert_eq!(h.read(D0, "@releaseDomain"), err(EINVAL));
}

#[test]
fn domain_requests() {
    let mut h = H::new();
    assert_eq!(h.req(D0, 0, Request::GetDomainPath { domid: DomId(7) }), Ok(b"/local/domain/7\0".to_vec()));
    assert_eq!(h.raw(D0, msg::XS_GET_DOMAIN_PATH, 0, b"70000\0"), err(EINVAL));
    assert_eq!(h.raw(D0, msg::XS_GET_DOMAIN_PATH, 0, b"x\0"), err(EINVAL));
    assert_eq!(h.req(D0, 0, Request::IsDomainIntroduced { domid: DomId(7) }), Ok(b"F\0".to_vec()));
    assert_eq!(h.raw(D0, msg::XS_INTRODUCE, 0, b"7\x00123\0"), err(EINVAL));
    assert_eq!(h.raw(D0, msg::XS_INTRODUCE, 0, b"7\x00123\x0045\0"), ok());
    assert_eq!(
        h.xs.take_actions(),
        [Action::Introduced { domid: DomId(7), mfn: pv_abi::Mfn(123), port: pv_abi::Port(45) }]
    );
    assert_eq!(h.req(D0, 0, Request::IsDomainIntroduced { domid: DomId(7) }), Ok(b"T\0".to_vec()));
    assert_eq!(h.req(D0, 0, Request::IsDomainIntroduced { domid: DomId(0) }), Ok(b"T\0".to_vec()));
    // dom0, reserved domids and port 0 cannot be introduced.
    assert_eq!(h.raw(D0, msg::XS_INTRODUCE, 0, b"0\x00123\x0045\0"), err(EINVAL));
    assert_eq!(h.raw(D0, msg::XS_INTRODUCE, 0, b"32752\x00123\x0045\0"), err(EINVAL));
    assert_eq!(h.raw(D0, msg::XS_INTRODUCE, 0, b"8\x00123\x000\0"), err(EINVAL));
    // A domain uses its connection; only dom0 may manage domains.
    assert_eq!(h.req(7, 0, Request::GetDomainPath { domid: DomId(7) }), Ok(b"/local/domain/7\0".to_vec()));
    assert_eq!(h.raw(7, msg::XS_INTRODUCE, 0, b"9\x00123\x0045\0"), err(EACCES));
    assert_eq!(h.raw(7, msg::XS_RELEASE, 0, b"7\0"), err(EACCES));
    assert_eq!(h.raw(7, msg::XS_IS_DOMAIN_INTRODUCED, 0, b"7\0"), err(EACCES));
    assert_eq!(h.raw(7, msg::XS_RESUME, 0, b"7\0"), err(EACCES));
    assert_eq!(h.raw(D0, msg::XS_RESUME, 0, b"7\0"), ok());
    // Release.
    assert_eq!(h.raw(D0, msg::XS_RELEASE, 0, b"7\0"), ok());
    assert_eq!(h.xs.take_actions(), [Action::Released { domid: DomId(7) }]);
    assert_eq!(h.raw(D0, msg::XS_RELEASE, 0, b"7\0"), err(ENOENT));
    assert_eq!(h.raw(D0, msg::XS_RELEASE, 0, b"0\0"), err(EINVAL));
    assert_eq!(h.xs.feed(DomId(7), b"x"), Err(xenstored::FeedError::NotConnected));
    // Unimplemented privileged requests.
    assert_eq!(h.raw(D0, msg::XS_SET_TARGET, 0, b"1\x002\0"), err(ENOSYS));
    assert_eq!(h.raw(D0, msg::XS_CONTROL, 0, b"check\0"), err(ENOSYS));
}

#[test]
fn reintroduce_resets_connection() {
    let mut h = H::new();
    h.intro(&[3]);
    h.xs.write("/local/domain/3", b"").unwrap();
    h.xs.set_perms("/local/domain/3", &[Perm::new(Access::None, DomId(3))]).unwrap();
    h.watch(3, "x", "t").unwrap();
    let tx = h.start(3).unwrap();
    assert_eq!(h.xs.transactions(DomId(3)), 1);
    h.xs.introduce(DomId(3), pv_abi::Mfn(5), pv_abi::Port(6)).unwrap();
    assert_eq!(h.xs.watches(DomId(3)), vec![]);
    assert_eq!(h.xs.transactions(DomId(3)), 0);
    assert_eq!(h.read_tx(3, tx, "x"), err(ENOENT));
    assert_eq!(h.xs.ring(DomId(3)), Some((pv_abi::Mfn(5), pv_abi::Port(6))));
}

#[test]
fn reset_watches() {
    let mut h = H::new();
    h.intro(&[3]);
    h.watch(3, "/local", "t").unwrap();
    let tx = h.start(3).unwrap();
    assert_eq!(h.raw(3, msg::XS_RESET_WATCHES, 0, b"\0"), ok());
    assert!(h.xs.watches(DomId(3)).is_empty());
    assert_eq!(h.end(3, tx, true), err(ENOENT));
}

#[test]
fn direct_api() {
    let mut h = H::new();
    h.xs.write("/x/y", b"1").unwrap();
    assert_eq!(h.xs.read("/x/y").unwrap(), b"1");
    assert_eq!(h.xs.directory("/x").unwrap(), ["y"]);
    h.xs.set_perms("/x", &[Perm::new(Access::Read, DomId(4))]).unwrap();
    assert_eq!(h.xs.get_perms("/x").unwrap(), [Perm::new(Access::Read, DomId(4))]);
    h.xs.watch("/x", "tok").unwrap();
    let m = h.xs.pop_message(DOM0).unwrap();
    let e = m.watch_event().unwrap();
    assert_eq!((e.path, e.token), ("/x", "tok"));
    h.xs.rm("/x").unwrap();
    let paths: Vec<String> =
        std::iter::from_fn(|| h.xs.pop_message(DOM0)).map(|m| m.watch_event().unwrap().path.to_string()).collect();
    assert_eq!(paths, ["/x"]);
    h.xs.unwatch("/x", "tok").unwrap();
    assert_eq!(h.xs.unwatch("/x", "tok"), Err(errno(ENOENT)));
    assert_eq!(h.xs.read("/x"), Err(errno(ENOENT)));
    assert_eq!(h.xs.write("bad//path", b""), Err(errno(EINVAL)));
    assert!(h.xs.nodes().any(|(p, _)| p == "/local/domain/0/name"));
}

#[test]
fn output_in_pieces_and_notifications() {
    let mut h = H::new();
    h.intro(&[2]);
    h.xs.take_actions();
    let bytes = raw(msg::XS_GET_DOMAIN_PATH, 9, 0, b"2\0");
    assert_eq!(h.xs.feed(DomId(2), &bytes), Ok(bytes.len()));
    assert_eq!(h.xs.take_actions(), [Action::Notify { domid: DomId(2) }]);
    // The ring takes 5 bytes at a time.
    let mut got = Vec::new();
    loop {
        let out = h.xs.output(DomId(2));
        if out.is_empty() {
            break;
        }
        let n = out.len().min(5);
        got.extend_from_slice(&out[..n]);
        h.xs.consume_output(DomId(2), n);
    }
    let m = split(&got);
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].hdr.ty, m[0].hdr.req_id), (msg::XS_GET_DOMAIN_PATH, 9));
    assert_eq!(m[0].payload, b"/local/domain/2\0");
    assert!(h.xs.take_actions().is_empty());
}
