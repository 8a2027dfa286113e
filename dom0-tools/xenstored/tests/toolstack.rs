//! The domain subtree libxl writes, and a Linux-like guest using it.

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::{DomId, Mfn, Port};
use xenstored::{DeviceSpec, DomainHome};

const UUID: &str = "00000000-0000-0000-0000-000000000005";

fn home() -> DomainHome<'static> {
    DomainHome {
        domid: DomId(5),
        name: "debian",
        uuid: UUID,
        max_mem_kib: 262144,
        target_mem_kib: 262144,
        vcpus: 2,
        store_port: Port(1),
        store_mfn: Mfn(0x1234),
        console: Some((Port(2), Mfn(0x1235))),
    }
}

fn setup() -> H {
    let mut h = H::new();
    h.xs.create_domain_home(&home()).unwrap();
    h.intro(&[5]);
    h
}

#[test]
fn home_layout_and_perms() {
    let mut h = setup();
    let p = |h: &mut H, rel: &str| h.get_perms(D0, &format!("/local/domain/5/{rel}")).unwrap();
    assert_eq!(h.get_perms(D0, "/local/domain/5").unwrap(), ["n0", "r5"]);
    assert_eq!(h.get_perms(D0, &format!("/vm/{UUID}")).unwrap(), ["n0", "r5"]);
    for rel in ["name", "domid", "vm", "memory/target", "store/port", "cpu/1/availability", "console/ring-ref"] {
        assert_eq!(p(&mut h, rel), ["n0", "r5"], "{rel}");
    }
    for rel in [
        "control/shutdown",
        "control/feature-poweroff",
        "control/sysrq",
        "data",
        "error",
        "device/suspend/event-channel",
    ] {
        assert_eq!(p(&mut h, rel), ["n5"], "{rel}");
    }
    for (rel, v) in [
        ("name", "debian"),
        ("domid", "5"),
        ("vm", "/vm/00000000-0000-0000-0000-000000000005"),
        ("memory/target", "262144"),
        ("memory/static-max", "262144"),
        ("store/port", "1"),
        ("store/ring-ref", "4660"),
        ("cpu/0/availability", "online"),
        ("cpu/1/availability", "online"),
        ("console/port", "2"),
        ("console/ring-ref", "4661"),
        ("console/type", "xenconsoled"),
        ("control/platform-feature-xs_reset_watches", "1"),
    ] {
        assert_eq!(h.read(5, rel), val(v), "{rel}");
    }
    assert_eq!(h.read(5, &format!("/vm/{UUID}/name")), val("debian"));
    assert_eq!(h.read(5, "cpu/2/availability"), err(ENOENT));
}

#[test]
fn guest_writes_only_where_libxl_allows() {
    let mut h = setup();
    // Linux's manage.c: acknowledge shutdown, advertise features.
    assert_eq!(h.write(5, "control/shutdown", ""), ok());
    assert_eq!(h.write(5, "control/feature-poweroff", "1"), ok());
    assert_eq!(h.write(5, "data/anything/below", "x"), ok());
    // Not its name, memory target, or new top-level keys.
    assert_eq!(h.write(5, "name", "evil"), err(EACCES));
    assert_eq!(h.write(5, "memory/target", "1"), err(EACCES));
    assert_eq!(h.write(5, "newkey", ""), err(EACCES));
    assert_eq!(h.rm(5, "control"), err(EACCES));
    // Other domains' homes are invisible.
    assert_eq!(h.read(5, "/local/domain/0/name"), err(EACCES));
    assert_eq!(h.dir(5, "/local/domain"), Err(EACCES));
}

#[test]
fn device_handshake() {
    let mut h = setup();
    let dev = DeviceSpec {
        kind: "vbd",
        frontend: DomId(5),
        backend: DomId(0),
        devid: 51712,
        frontend_entries: &[("backend-id", "0"), ("state", "1"), ("virtual-device", "51712"), ("device-type", "disk")],
        backend_entries: &[("frontend-id", "5"), ("online", "1"), ("state", "1")],
    };
    // The guest watches its device directory (xenbus_probe_frontend).
    h.watch(5, "device", "probe").unwrap();
    assert_eq!(h.take_events(5), [ev("device", "probe")]);
    h.xs.add_device(&dev).unwrap();
    let fe = "/local/domain/5/device/vbd/51712";
    let be = "/local/domain/0/backend/vbd/5/51712";
    assert_eq!(h.get_perms(D0, fe).unwrap(), ["n5", "r0"]);
    assert_eq!(h.get_perms(D0, be).unwrap(), ["n0", "r5"]);
    assert!(h.take_events(5).iter().any(|e| e.0 == "device/vbd/51712/state"));
    assert_eq!(h.dir(5, "device/vbd").unwrap(), ["51712"]);
    assert_eq!(h.read(5, "device/vbd/51712/backend"), val(be));
    // The frontend watches the backend's state and reads its keys.
    assert_eq!(h.watch(5, &format!("{be}/state"), "otherend"), ok());
    assert_eq!(h.take_events(5), [ev(&format!("{be}/state"), "otherend")]);
    assert_eq!(h.read(5, &format!("{be}/state")), val("1"));
    assert_eq!(h.write(5, &format!("{be}/state"), "4"), err(EACCES));
    // Backend (dom0) moves to InitWait; the frontend hears it.
    h.xs.write(&format!("{be}/state"), b"2").unwrap();
    assert_eq!(h.take_events(5), [ev(&format!("{be}/state"), "otherend")]);
    // The frontend switches state in a transaction (__xenbus_switch_state).
    let t = h.start(5).unwrap();
    assert_eq!(h.read_tx(5, t, "device/vbd/51712/state"), val("1"));
    assert_eq!(h.write_tx(5, t, "device/vbd/51712/ring-ref", "8"), ok());
    assert_eq!(h.write_tx(5, t, "device/vbd/51712/state", "3"), ok());
    assert_eq!(h.end(5, t, true), ok());
    assert_eq!(h.xs.read(&format!("{fe}/state")).unwrap(), b"3");
    // Teardown: release removes what the guest owns, including its device
    // directory, and strips it from the backend directory's permissions.
    h.xs.release(DomId(5)).unwrap();
    assert!(h.xs.node(fe).is_none());
    assert_eq!(h.get_perms(D0, be).unwrap(), ["n0"]);
    h.xs.remove_device(&dev).unwrap();
    h.xs.remove_domain_home(DomId(5)).unwrap();
    assert!(h.xs.node("/local/domain/5").is_none());
    assert!(h.xs.node(&format!("/vm/{UUID}")).is_none());
    assert_eq!(h.xs.owned_nodes(DomId(5)), 0);
}

#[test]
fn home_is_replaced() {
    let mut h = setup();
    h.xs.write("/local/domain/5/stale", b"x").unwrap();
    h.xs.create_domain_home(&home()).unwrap();
    assert!(h.xs.node("/local/domain/5/stale").is_none());
    assert!(h.xs.create_domain_home(&DomainHome { domid: DomId(0), ..home() }).is_err());
}
