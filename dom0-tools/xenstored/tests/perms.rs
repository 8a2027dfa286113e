//! Permissions: owner, default access, explicit grants, dom0's bypass,
//! inheritance on create, and the errors.

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::DomId;
use xenstored::{Access, Perm, DOM0};

fn setup() -> H {
    let mut h = H::new();
    h.intro(&[1, 2, 3]);
    h
}

#[test]
fn owner_default_and_grants() {
    let mut h = setup();
    h.write(D0, "/n", "v").unwrap();
    // Owner 1 with default "none"; 2 may read; 3 may write only.
    h.set_perms(D0, "/n", &["n1", "r2", "w3"]).unwrap();
    assert_eq!(h.read(1, "/n"), val("v"));
    assert_eq!(h.write(1, "/n", "by1"), ok());
    assert_eq!(h.read(2, "/n"), val("by1"));
    assert_eq!(h.write(2, "/n", "x"), err(EACCES));
    assert_eq!(h.read(3, "/n"), err(EACCES));
    assert_eq!(h.write(3, "/n", "by3"), ok());
    assert_eq!(h.read(D0, "/n"), val("by3"));
    // Default for everyone unlisted: the owner entry's access.
    h.set_perms(D0, "/n", &["r1"]).unwrap();
    assert_eq!(h.read(2, "/n"), val("by3"));
    assert_eq!(h.write(2, "/n", "x"), err(EACCES));
    h.set_perms(D0, "/n", &["b1"]).unwrap();
    assert_eq!(h.write(2, "/n", "by2"), ok());
    // The first matching entry wins.
    h.set_perms(D0, "/n", &["b1", "n2", "b2"]).unwrap();
    assert_eq!(h.read(2, "/n"), err(EACCES));
    // Listing children and reading perms need read access too.
    h.set_perms(D0, "/n", &["n1"]).unwrap();
    assert_eq!(h.dir(2, "/n"), Err(EACCES));
    assert_eq!(h.get_perms(2, "/n"), Err(EACCES));
    assert_eq!(h.get_perms(1, "/n").unwrap(), ["n1"]);
    assert_eq!(h.rm(2, "/n"), err(EACCES));
    assert_eq!(h.mkdir(2, "/n"), err(EACCES));
}

#[test]
fn dom0_bypasses() {
    let mut h = setup();
    h.write(D0, "/n", "v").unwrap();
    h.set_perms(D0, "/n", &["n1"]).unwrap();
    assert_eq!(h.read(D0, "/n"), val("v"));
    assert_eq!(h.write(D0, "/n", "w"), ok());
    assert_eq!(h.set_perms(D0, "/n", &["n2"]), ok());
    assert_eq!(h.rm(D0, "/n"), ok());
}

#[test]
fn missing_nodes_do_not_leak() {
    let mut h = setup();
    h.write(D0, "/secret/a", "").unwrap();
    // The nearest existing ancestor is unreadable: EACCES, not ENOENT.
    assert_eq!(h.read(1, "/secret/a/b/c"), err(EACCES));
    assert_eq!(h.read(1, "/secret/none"), err(EACCES));
    h.set_perms(D0, "/secret", &["n0", "r1"]).unwrap();
    assert_eq!(h.read(1, "/secret/none"), err(ENOENT));
    // Nodes below it still inherit nothing retroactively: /secret/a is n0.
    assert_eq!(h.read(1, "/secret/a"), err(EACCES));
    // Creating needs write access to the nearest existing ancestor.
    assert_eq!(h.write(1, "/secret/new", ""), err(EACCES));
    assert_eq!(h.rm(1, "/secret/none"), err(EACCES));
}

#[test]
fn inheritance_on_create() {
    let mut h = setup();
    h.write(D0, "/shared", "").unwrap();
    h.set_perms(D0, "/shared", &["r0", "b1", "r2"]).unwrap();
    // Domain 1 creates: it owns the new nodes, the rest is inherited.
    assert_eq!(h.write(1, "/shared/d1/x", "1"), ok());
    assert_eq!(h.get_perms(D0, "/shared/d1").unwrap(), ["r1", "b1", "r2"]);
    assert_eq!(h.get_perms(D0, "/shared/d1/x").unwrap(), ["r1", "b1", "r2"]);
    assert_eq!(h.xs.owned_nodes(DomId(1)), 2);
    // Domain 2 may read what 1 created (inherited grant), not write it.
    assert_eq!(h.read(2, "/shared/d1/x"), val("1"));
    assert_eq!(h.write(2, "/shared/d1/x", "2"), err(EACCES));
    // dom0 creates: the owner stays the parent's.
    h.set_perms(D0, "/shared", &["n1", "r2"]).unwrap();
    h.write(D0, "/shared/by0", "").unwrap();
    assert_eq!(h.get_perms(D0, "/shared/by0").unwrap(), ["n1", "r2"]);
    assert_eq!(h.xs.owned_nodes(DomId(1)), 4);
    // A domain's write to an existing node keeps its permissions.
    h.write(1, "/shared/by0", "v").unwrap();
    assert_eq!(h.get_perms(D0, "/shared/by0").unwrap(), ["n1", "r2"]);
}

#[test]
fn set_perms_rules() {
    let mut h = setup();
    h.write(D0, "/o", "").unwrap();
    h.set_perms(D0, "/o", &["n1", "b2"]).unwrap();
    // Write access is not ownership.
    assert_eq!(h.set_perms(2, "/o", &["n1", "b2", "r3"]), err(EACCES));
    // The owner may change the rest...
    assert_eq!(h.set_perms(1, "/o", &["r1", "r3"]), ok());
    assert_eq!(h.get_perms(3, "/o").unwrap(), ["r1", "r3"]);
    // ...but not give the node away.
    assert_eq!(h.set_perms(1, "/o", &["n2"]), err(EPERM));
    // Special nodes are dom0's.
    assert_eq!(h.set_perms(1, "@releaseDomain", &["n0", "r1"]), err(EACCES));
    assert_eq!(h.get_perms(1, "@releaseDomain"), Err(EACCES));
    // Missing node under an unreadable parent.
    assert_eq!(h.set_perms(1, "/nope", &["n1"]), err(EACCES));
}

#[test]
fn release_cleans_up() {
    let mut h = setup();
    h.xs.mkdir("/local/domain/1").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(Access::None, DOM0), Perm::new(Access::Read, DomId(1))]).unwrap();
    h.xs.mkdir("/local/domain/1/data").unwrap();
    h.xs.set_perms("/local/domain/1/data", &[Perm::new(Access::None, DomId(1))]).unwrap();
    h.write(1, "data/mine/x", "1").unwrap();
    h.xs.write("/shared", b"").unwrap();
    h.xs.set_perms(
        "/shared",
        &[Perm::new(Access::None, DOM0), Perm::new(Access::Read, DomId(1)), Perm::new(Access::Read, DomId(2))],
    )
    .unwrap();
    assert_eq!(h.xs.owned_nodes(DomId(1)), 3);
    h.xs.release(DomId(1)).unwrap();
    // Nodes owned by 1 are gone; its grants elsewhere are dropped.
    assert!(h.xs.node("/local/domain/1/data").is_none());
    assert_eq!(h.xs.owned_nodes(DomId(1)), 0);
    assert_eq!(h.xs.get_perms("/shared").unwrap(), [Perm::new(Access::None, DOM0), Perm::new(Access::Read, DomId(2))]);
    assert_eq!(h.xs.get_perms("/local/domain/1").unwrap(), [Perm::new(Access::None, DOM0)]);
}

#[test]
fn keep_orphans() {
    let mut h = H::with(xenstored::Config { keep_orphans: true, ..Default::default() });
    h.intro(&[1]);
    h.xs.write("/o", b"").unwrap();
    h.xs.set_perms("/o", &[Perm::new(Access::Read, DomId(1))]).unwrap();
    h.xs.release(DomId(1)).unwrap();
    assert_eq!(h.xs.get_perms("/o").unwrap(), [Perm::new(Access::Read, DOM0)]);
}
