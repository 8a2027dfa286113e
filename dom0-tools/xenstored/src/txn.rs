//! Transactions (Xen's `xenstored_transaction.c` model).
//!
//! A transaction copies each node into its own view the first time it
//! touches it (read or write, existing or not) and remembers the node's
//! generation stamp then. Later reads and writes in the transaction use
//! that view, so the transaction sees its own writes and nothing written
//! by others after its first access. At commit every accessed node must
//! still carry the remembered stamp (or still be absent); otherwise the
//! commit fails with `EAGAIN` and nothing is applied. A committed
//! transaction is therefore equivalent to running all its operations
//! atomically at commit time.
//!
//! Stricter than Xen in one point: Xen does not check nodes a transaction
//! wrote without reading first; here every accessed node is checked.
//! Watch events of a transaction are queued and fire only at commit, once
//! per changed node.

use crate::node::{Node, Tree};
use crate::ops::{over, Change};
use crate::Config;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use pv_abi::abi::errno::{Errno, EAGAIN, ENOSPC};
use pv_abi::DomId;

/// One node as a transaction first saw it, and its view of it now.
#[derive(Clone, Debug)]
pub(crate) struct Accessed {
    /// Generation stamp at first access; `None`: absent then.
    pub base: Option<u64>,
    /// The transaction's view; `None`: absent.
    pub node: Option<Node>,
    /// Written (or removed) in the transaction.
    pub modified: bool,
    /// Bytes this entry holds ([`cost`]).
    pub cost: usize,
}

/// Bytes an entry for `path` holding `node` counts against the
/// transaction memory limit: the path and the node's size.
pub(crate) fn cost(path: &str, node: Option<&Node>) -> usize {
    path.len() + node.map_or(0, Node::size)
}

impl Accessed {
    pub(crate) fn of(path: &str, global: Option<&Node>) -> Self {
        let cost = cost(path, global);
        Accessed { base: global.map(|n| n.generation), node: global.cloned(), modified: false, cost }
    }

    /// Replaces the transaction's view of the node; returns the change in
    /// [`Accessed::cost`].
    pub(crate) fn set(&mut self, path: &str, node: Option<Node>) -> isize {
        let new = cost(path, node.as_ref());
        let delta = new as isize - self.cost as isize;
        self.cost = new;
        self.node = node;
        self.modified = true;
        delta
    }
}

/// An open transaction.
#[derive(Default)]
pub(crate) struct Txn {
    pub accessed: BTreeMap<String, Accessed>,
    /// Change of nodes owned per domain if committed.
    owned_delta: BTreeMap<DomId, i64>,
    /// Watch events to fire at commit, one per path, in first-change order.
    events: Vec<Change>,
    /// Sum of the entries' costs.
    pub bytes: usize,
}

impl Txn {
    /// Records the first access of `path`.
    pub(crate) fn access(&mut self, path: &str, tree: &Tree) {
        if !self.accessed.contains_key(path) {
            let a = Accessed::of(path, tree.nodes.get(path));
            self.bytes += a.cost;
            self.accessed.insert(String::from(path), a);
        }
    }

    /// Replaces the view of `path` (accessing it first if needed) and
    /// accounts for the ownership and memory change.
    pub(crate) fn set(&mut self, path: &str, node: Option<Node>, tree: &Tree) {
        self.access(path, tree);
        let new_owner = node.as_ref().map(Node::owner);
        let Some(e) = self.accessed.get_mut(path) else { return };
        let old_owner = e.node.as_ref().map(Node::owner);
        let delta = e.set(path, node);
        self.bytes = self.bytes.saturating_add_signed(delta);
        self.account(old_owner, new_owner);
    }

    /// Records an ownership change of one node.
    fn account(&mut self, old: Option<DomId>, new: Option<DomId>) {
        if let Some(d) = old {
            *self.owned_delta.entry(d).or_insert(0) -= 1;
        }
        if let Some(d) = new {
            *self.owned_delta.entry(d).or_insert(0) += 1;
        }
    }

    /// Change of nodes owned by `dom`.
    pub(crate) fn delta(&self, dom: DomId) -> i64 {
        self.owned_delta.get(&dom).copied().unwrap_or(0)
    }

    /// Queues the watch events of one operation: one event per path (a
    /// later change of the same path widens the first from exact to
    /// subtree matching and adds its visibility).
    pub(crate) fn queue(&mut self, changes: Vec<Change>) {
        for c in changes {
            match self.events.iter_mut().find(|e| e.path == c.path) {
                Some(e) => {
                    e.exact &= c.exact;
                    for v in c.vis {
                        if !e.vis.contains(&v) {
                            e.vis.push(v);
                        }
                    }
                }
                None => self.events.push(c),
            }
        }
    }

    /// Commits into `tree`: `EAGAIN` if any accessed node changed since its
    /// first access, `ENOSPC` if an unprivileged `dom` would then own more
    /// nodes than its quota. On success returns the events to fire.
    pub(crate) fn commit(
        self,
        tree: &mut Tree,
        dom: DomId,
        privileged: bool,
        cfg: &Config,
    ) -> Result<Vec<Change>, Errno> {
        for (path, a) in &self.accessed {
            if tree.nodes.get(path).map(|n| n.generation) != a.base {
                return Err(Errno(EAGAIN));
            }
        }
        let delta = self.delta(dom);
        if !privileged && delta > 0 && over(cfg.max_nodes, (tree.owned(dom) as i64 + delta) as usize) {
            return Err(Errno(ENOSPC));
        }
        for (path, a) in self.accessed {
            if !a.modified {
                continue;
            }
            match a.node {
                Some(n) => tree.put(&path, n),
                None => {
                    tree.del(&path);
                }
            }
        }
        Ok(self.events)
    }
}
