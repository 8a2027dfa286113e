//! The node tree: values, permissions, children, generation counts, and
//! per-owner node accounting.
//!
//! The tree is a map from canonical path to [`Node`]. Each node keeps its
//! children's names in creation order (as Xen does: `DIRECTORY` lists them
//! in that order and `DIRECTORY_PART` offsets index that list). Every
//! write of a node stamps it with a fresh value of the global generation
//! counter; transactions compare these stamps at commit.
//!
//! The special nodes `@introduceDomain` and `@releaseDomain` live in the
//! same map (they carry the permissions that decide who sees those
//! events) but have no parent and are reachable only by name.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use pv_abi::xenstore::wire::{Access, Perm};
use pv_abi::DomId;

/// One node of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub(crate) value: Vec<u8>,
    pub(crate) perms: Vec<Perm>,
    pub(crate) children: Vec<String>,
    pub(crate) generation: u64,
}

impl Node {
    /// A node with no value and no children.
    pub(crate) fn new(perms: Vec<Perm>) -> Self {
        Node { value: Vec::new(), perms, children: Vec::new(), generation: 0 }
    }

    /// The value bytes.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The permission list, owner first (never empty).
    pub fn perms(&self) -> &[Perm] {
        &self.perms
    }

    /// Children names, in creation order.
    pub fn children(&self) -> &[String] {
        &self.children
    }

    /// The generation stamp of the last write of this node.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The owner: the domain in the first permission entry.
    pub fn owner(&self) -> DomId {
        self.perms[0].domid
    }

    /// Bytes the node-size quota counts: the value plus the NUL-separated
    /// list of children names.
    pub fn size(&self) -> usize {
        self.value.len() + children_len(&self.children)
    }
}

/// Length of the NUL-separated children list.
pub(crate) fn children_len(children: &[String]) -> usize {
    children.iter().map(|c| c.len() + 1).sum()
}

/// What a caller may do with a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rights {
    /// May read the value, list children, read permissions.
    pub read: bool,
    /// May write, create children, remove.
    pub write: bool,
    /// Owns the node (or is privileged): may change its permissions.
    pub owner: bool,
}

impl Rights {
    const ALL: Rights = Rights { read: true, write: true, owner: true };

    fn of(a: Access) -> Rights {
        Rights { read: a.can_read(), write: a.can_write(), owner: false }
    }

    /// Whether any of the rights in `want` is granted (Xen's
    /// `perm & want` test).
    pub(crate) fn any_of(self, want: Rights) -> bool {
        (self.read && want.read) || (self.write && want.write) || (self.owner && want.owner)
    }

    /// Whether every right in `want` is granted.
    pub(crate) fn all_of(self, want: Rights) -> bool {
        (self.read || !want.read) && (self.write || !want.write) && (self.owner || !want.owner)
    }
}

/// Right sets the operations ask for.
pub(crate) const WANT_READ: Rights = Rights { read: true, write: false, owner: false };
pub(crate) const WANT_WRITE: Rights = Rights { read: false, write: true, owner: false };
pub(crate) const WANT_OWNER: Rights = Rights { read: false, write: true, owner: true };

/// The rights `dom` has on a node with `perms` (Xen's `perm_for_conn()`):
/// privileged callers and the owner have everything; otherwise the first
/// later entry naming `dom` decides; otherwise the owner entry's access is
/// everyone's default.
pub fn rights(dom: DomId, privileged: bool, perms: &[Perm]) -> Rights {
    if privileged || perms.first().is_none_or(|p| p.domid == dom) {
        return Rights::ALL;
    }
    match perms[1..].iter().find(|p| p.domid == dom) {
        Some(p) => Rights::of(p.access),
        None => Rights::of(perms[0].access),
    }
}

/// The global tree.
pub(crate) struct Tree {
    pub(crate) nodes: BTreeMap<String, Node>,
    /// The last generation stamp handed out.
    generation: u64,
    /// Nodes owned per domain.
    owned: BTreeMap<DomId, u32>,
}

impl Tree {
    pub(crate) fn new() -> Self {
        Tree { nodes: BTreeMap::new(), generation: 0, owned: BTreeMap::new() }
    }

    /// A fresh generation stamp.
    pub(crate) fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Nodes `dom` owns.
    pub(crate) fn owned(&self, dom: DomId) -> u32 {
        self.owned.get(&dom).copied().unwrap_or(0)
    }

    fn account(&mut self, dom: DomId, delta: i32) {
        let n = self.owned.entry(dom).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.owned.remove(&dom);
        }
    }

    /// Stores `node` at `path` with a fresh generation.
    pub(crate) fn put(&mut self, path: &str, mut node: Node) {
        node.generation = self.next_generation();
        self.account(node.owner(), 1);
        if let Some(old) = self.nodes.insert(String::from(path), node) {
            self.account(old.owner(), -1);
        }
    }

    /// Removes the node at `path` (not its children).
    pub(crate) fn del(&mut self, path: &str) -> Option<Node> {
        let old = self.nodes.remove(path)?;
        self.account(old.owner(), -1);
        Some(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn p(a: Access, d: u16) -> Perm {
        Perm::new(a, DomId(d))
    }

    #[test]
    fn rights_rules() {
        let perms = vec![p(Access::Read, 1), p(Access::None, 2), p(Access::Both, 3), p(Access::Write, 2)];
        // Owner: everything, whatever the first entry's access says.
        assert_eq!(rights(DomId(1), false, &perms), Rights::ALL);
        // First matching later entry wins.
        assert_eq!(rights(DomId(2), false, &perms), Rights { read: false, write: false, owner: false });
        assert_eq!(rights(DomId(3), false, &perms), Rights { read: true, write: true, owner: false });
        // Unlisted: the owner entry's access.
        assert_eq!(rights(DomId(4), false, &perms), Rights { read: true, write: false, owner: false });
        // Privileged bypasses.
        assert_eq!(rights(DomId(2), true, &perms), Rights::ALL);
    }

    #[test]
    fn accounting_follows_owner() {
        let mut t = Tree::new();
        t.put("/a", Node::new(vec![p(Access::None, 1)]));
        t.put("/b", Node::new(vec![p(Access::None, 1)]));
        assert_eq!(t.owned(DomId(1)), 2);
        t.put("/a", Node::new(vec![p(Access::None, 2)]));
        assert_eq!((t.owned(DomId(1)), t.owned(DomId(2))), (1, 1));
        t.del("/b");
        assert_eq!(t.owned(DomId(1)), 0);
        assert!(t.nodes["/a"].generation > 0);
    }
}
