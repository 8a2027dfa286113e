//! Watches: initial event, exactly one event per change and matching
//! watch, recursive removal, relative paths, unwatch, special watches,
//! permissions, ordering and the pending-event bound.

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::io::xs_wire::msg;
use pv_abi::DomId;
use xenstored::{Access, Config, Perm, DOM0};

/// Domains 1 and 2 with homes they own.
fn setup() -> H {
    let mut h = H::new();
    h.intro(&[1, 2]);
    for d in [1u16, 2] {
        let home = format!("/local/domain/{d}");
        h.xs.mkdir(&home).unwrap();
        h.xs.set_perms(&home, &[Perm::new(Access::None, DomId(d))]).unwrap();
    }
    h.drain();
    h
}

#[test]
fn initial_event_then_changes() {
    let mut h = setup();
    assert_eq!(h.watch(1, "/local/domain/1/dev", "tok"), ok());
    assert_eq!(h.take_events(1), [ev("/local/domain/1/dev", "tok")]);
    h.write(1, "/local/domain/1/dev", "a").unwrap();
    h.write(1, "/local/domain/1/dev/x/y", "b").unwrap();
    h.write(1, "/local/domain/1/other", "c").unwrap();
    h.write(1, "/local/domain/1/devx", "c").unwrap();
    h.mkdir(1, "/local/domain/1/dev/x").unwrap(); // exists: no event
    h.mkdir(1, "/local/domain/1/dev/z").unwrap();
    assert_eq!(
        h.take_events(1),
        [ev("/local/domain/1/dev", "tok"), ev("/local/domain/1/dev/x/y", "tok"), ev("/local/domain/1/dev/z", "tok")]
    );
}

#[test]
fn reply_after_own_events_and_initial_event_after_reply() {
    let mut h = setup();
    let w = raw(msg::XS_WATCH, 1, 0, b"/local/domain/1/k\0t\0");
    h.xs.feed(DomId(1), &w).unwrap();
    let m = split(&h.xs.take_output(DomId(1)));
    assert_eq!(m.iter().map(|m| m.hdr.ty).collect::<Vec<_>>(), [msg::XS_WATCH, msg::XS_WATCH_EVENT]);
    let wr = raw(msg::XS_WRITE, 2, 0, b"/local/domain/1/k\0v");
    h.xs.feed(DomId(1), &wr).unwrap();
    let m = split(&h.xs.take_output(DomId(1)));
    assert_eq!(m.iter().map(|m| m.hdr.ty).collect::<Vec<_>>(), [msg::XS_WATCH_EVENT, msg::XS_WRITE]);
}

#[test]
fn every_matching_watch_once() {
    let mut h = setup();
    h.xs.write("/w/a/b", b"").unwrap();
    h.watch(D0, "/w", "root").unwrap();
    h.watch(D0, "/w/a", "a").unwrap();
    h.watch(D0, "/w/a", "a2").unwrap();
    h.watch(D0, "/w/a/b", "b").unwrap();
    h.watch(D0, "/", "all").unwrap();
    h.take_events(0);
    h.write(D0, "/w/a/b", "1").unwrap();
    let mut got = h.take_events(0);
    got.sort();
    let mut want =
        vec![ev("/w/a/b", "root"), ev("/w/a/b", "a"), ev("/w/a/b", "a2"), ev("/w/a/b", "b"), ev("/w/a/b", "all")];
    want.sort();
    assert_eq!(got, want);
    // Same path and token twice is refused.
    assert_eq!(h.watch(D0, "/w", "root"), err(EEXIST));
}

#[test]
fn recursive_rm() {
    let mut h = setup();
    for p in ["/t/a/x", "/t/a/y/z", "/t/b"] {
        h.xs.write(p, b"").unwrap();
    }
    h.watch(D0, "/t", "top").unwrap();
    h.watch(D0, "/t/a", "a").unwrap();
    h.watch(D0, "/t/a/y/z", "z").unwrap();
    h.watch(D0, "/t/a/nothing", "none").unwrap();
    h.watch(D0, "/t/b", "b").unwrap();
    h.take_events(0);
    h.rm(D0, "/t/a").unwrap();
    let got = h.take_events(0);
    // One event per watch at or above the removed root, one for each
    // watched node inside the subtree, none for missing or unrelated nodes.
    let mut sorted = got.clone();
    sorted.sort();
    let mut want = vec![ev("/t/a", "top"), ev("/t/a", "a"), ev("/t/a/y/z", "z")];
    want.sort();
    assert_eq!(sorted, want);
    // Children first, as Xen removes them.
    assert_eq!(got.iter().position(|e| e.1 == "z"), Some(0));
}

#[test]
fn relative_watch() {
    let mut h = setup();
    h.watch(1, "device", "rel").unwrap();
    assert_eq!(h.take_events(1), [ev("device", "rel")]);
    h.xs.write("/local/domain/1/device/vbd/51712/state", b"1").unwrap();
    assert_eq!(h.take_events(1), [ev("device/vbd/51712/state", "rel")]);
    // Unwatch by the absolute form of the same path works too.
    assert_eq!(h.unwatch(1, "/local/domain/1/device", "rel"), ok());
    h.xs.write("/local/domain/1/device/x", b"").unwrap();
    assert_eq!(h.take_events(1), []);
}

#[test]
fn unwatch_stops_events() {
    let mut h = setup();
    h.watch(1, "/local/domain/1/k", "t").unwrap();
    h.watch(1, "/local/domain/1/k", "u").unwrap();
    h.take_events(1);
    assert_eq!(h.unwatch(1, "/local/domain/1/k", "t"), ok());
    assert_eq!(h.unwatch(1, "/local/domain/1/k", "t"), err(ENOENT));
    h.write(1, "/local/domain/1/k", "v").unwrap();
    assert_eq!(h.take_events(1), [ev("/local/domain/1/k", "u")]);
}

#[test]
fn events_respect_permissions() {
    let mut h = setup();
    h.xs.write("/priv/x", b"").unwrap();
    h.watch(1, "/priv", "p").unwrap();
    // The initial event always fires.
    assert_eq!(h.take_events(1), [ev("/priv", "p")]);
    h.xs.write("/priv/x", b"1").unwrap();
    assert_eq!(h.take_events(1), []);
    // Readable node: event.
    h.xs.set_perms("/priv/x", &[Perm::new(Access::None, DOM0), Perm::new(Access::Read, DomId(1))]).unwrap();
    assert_eq!(h.take_events(1), [ev("/priv/x", "p")]);
    h.xs.write("/priv/x", b"2").unwrap();
    assert_eq!(h.take_events(1), [ev("/priv/x", "p")]);
    // Losing read access through SET_PERMS still reports that change.
    h.xs.set_perms("/priv/x", &[Perm::new(Access::None, DOM0)]).unwrap();
    assert_eq!(h.take_events(1), [ev("/priv/x", "p")]);
    h.xs.write("/priv/x", b"3").unwrap();
    assert_eq!(h.take_events(1), []);
    // A readable parent suffices.
    h.xs.set_perms("/priv", &[Perm::new(Access::None, DOM0), Perm::new(Access::Read, DomId(1))]).unwrap();
    assert_eq!(h.take_events(1), [ev("/priv", "p")]);
    h.xs.write("/priv/x", b"4").unwrap();
    assert_eq!(h.take_events(1), [ev("/priv/x", "p")]);
    h.xs.set_perms("/priv", &[Perm::new(Access::None, DOM0)]).unwrap();
    h.take_events(1);
    // Removal of a readable node is reported.
    h.xs.set_perms("/priv/x", &[Perm::new(Access::Read, DomId(1))]).unwrap();
    h.take_events(1);
    h.xs.rm("/priv/x").unwrap();
    assert_eq!(h.take_events(1), [ev("/priv/x", "p")]);
}

#[test]
fn special_watches() {
    let mut h = setup();
    h.watch(D0, "@introduceDomain", "i").unwrap();
    h.watch(D0, "@releaseDomain", "r").unwrap();
    h.watch(1, "@releaseDomain", "r1").unwrap();
    assert_eq!(h.take_events(0), [ev("@introduceDomain", "i"), ev("@releaseDomain", "r")]);
    assert_eq!(h.take_events(1), [ev("@releaseDomain", "r1")]);
    h.intro(&[3]);
    assert_eq!(h.take_events(0), [ev("@introduceDomain", "i")]);
    // Introducing again is a reset, not a new domain.
    h.intro(&[3]);
    assert_eq!(h.take_events(0), []);
    h.xs.release(DomId(3)).unwrap();
    assert_eq!(h.take_events(0), [ev("@releaseDomain", "r")]);
    // Unprivileged watchers only see special events if the node allows.
    assert_eq!(h.take_events(1), []);
    h.xs.set_perms("@releaseDomain", &[Perm::new(Access::None, DOM0), Perm::new(Access::Read, DomId(1))]).unwrap();
    // (Changing the special node's permissions is itself a change, as in Xen.)
    assert_eq!(h.take_events(1), [ev("@releaseDomain", "r1")]);
    assert_eq!(h.take_events(0), [ev("@releaseDomain", "r")]);
    h.xs.domain_shutdown(DomId(2)).unwrap();
    h.xs.domain_shutdown(DomId(2)).unwrap(); // once per shutdown
    assert_eq!(h.take_events(1), [ev("@releaseDomain", "r1")]);
    assert_eq!(h.take_events(0), [ev("@releaseDomain", "r")]);
    // XS_RESUME re-arms it.
    assert_eq!(h.raw(D0, msg::XS_RESUME, 0, b"2\0"), ok());
    h.xs.domain_shutdown(DomId(2)).unwrap();
    assert_eq!(h.take_events(0), [ev("@releaseDomain", "r")]);
    assert_eq!(h.raw(D0, msg::XS_RESUME, 0, b"0\0"), err(EINVAL));
    assert_eq!(h.raw(D0, msg::XS_RESUME, 0, b"9\0"), err(ENOENT));
    // A watch on / does not see special events.
    h.watch(D0, "/", "slash").unwrap();
    h.take_events(0);
    h.intro(&[4]);
    assert_eq!(h.take_events(0), [ev("@introduceDomain", "i")]);
    // Special names are not nodes.
    assert_eq!(h.write(D0, "@introduceDomain", ""), err(EINVAL));
}

#[test]
fn release_fires_for_removed_nodes_and_drops_watches() {
    let mut h = setup();
    h.xs.mkdir("/local/domain/1/data").unwrap();
    h.watch(D0, "/local/domain/1", "home").unwrap();
    h.watch(2, "/local/domain/2", "mine").unwrap();
    h.watch(1, "/local/domain/2", "theirs").unwrap();
    h.take_events(0);
    h.take_events(1);
    h.take_events(2);
    h.xs.release(DomId(1)).unwrap();
    // /local/domain/1 is owned by 1: removed, with an event.
    assert_eq!(h.take_events(0), [ev("/local/domain/1", "home")]);
    assert_eq!(h.xs.watches(DomId(1)), vec![]);
    h.xs.write("/local/domain/2/x", b"").unwrap();
    assert_eq!(h.take_events(2), [ev("/local/domain/2/x", "mine")]);
}

#[test]
fn events_in_order() {
    let mut h = setup();
    h.watch(1, "/local/domain/1", "t").unwrap();
    h.take_events(1);
    for i in 0..50 {
        h.xs.write(&format!("/local/domain/1/k{i}"), b"").unwrap();
    }
    let got: Vec<String> = h.take_events(1).into_iter().map(|e| e.0).collect();
    let want: Vec<String> = (0..50).map(|i| format!("/local/domain/1/k{i}")).collect();
    assert_eq!(got, want);
}

#[test]
fn pending_events_bounded() {
    let mut h = H::with(Config { max_pending_events: 4, ..Default::default() });
    h.intro(&[1, 2]);
    h.xs.mkdir("/local/domain/1").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(Access::None, DomId(1)), Perm::new(Access::Read, DomId(2))]).unwrap();
    h.watch(1, "/local/domain/1", "a").unwrap();
    h.watch(2, "/local/domain/1", "b").unwrap();
    h.take_events(1);
    h.take_events(2);
    // Domain 1 does not read its ring; domain 2 does.
    for i in 0..10 {
        h.xs.write(&format!("/local/domain/1/k{i}"), b"").unwrap();
        let out = h.xs.take_output(DomId(2));
        assert_eq!(split(&out).len(), 1);
    }
    assert_eq!(h.xs.stats(DomId(1)).unwrap().dropped_events, 6);
    assert_eq!(h.xs.stats(DomId(2)).unwrap().dropped_events, 0);
    let kept: Vec<String> = h.take_events(1).into_iter().map(|e| e.0).collect();
    assert_eq!(kept, (0..4).map(|i| format!("/local/domain/1/k{i}")).collect::<Vec<_>>());
    // Replies are never dropped.
    assert_eq!(h.read(1, "/local/domain/1/k0"), val(""));
}
