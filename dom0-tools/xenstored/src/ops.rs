//! The store operations, on the global tree or inside a transaction.
//!
//! Every operation runs against a [`Ctx`]: the caller's identity, the
//! global tree and, inside a transaction, that transaction's view. An
//! operation checks everything it can refuse (paths, permissions, quotas,
//! the transaction's node limit) before it changes anything, so a refused
//! operation leaves no trace. The changes it makes are returned as
//! [`Change`]s: the caller fires watches for them (or, in a transaction,
//! queues them until commit).
//!
//! Errors follow Xen's `xenstored_core.c`: a node the caller may not access
//! is `EACCES`; a missing node is `ENOENT` only if the nearest existing
//! ancestor grants the access asked for, `EACCES` otherwise (so the error
//! does not reveal what the caller cannot see).

use crate::node::{children_len, rights, Node, Rights, Tree, WANT_OWNER, WANT_READ, WANT_WRITE};
use crate::path::{self, basename, canonicalize, Canon};
use crate::txn::{self, Txn};
use crate::Config;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use pv_abi::abi::errno::{Errno, EACCES, EINVAL, ENOENT, ENOSPC, EPERM};
use pv_abi::abi::io::xs_wire::XENSTORE_PAYLOAD_MAX;
use pv_abi::xenstore::wire::{dec, Perm};
use pv_abi::DomId;

/// A change watches may fire for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    /// The changed node (absolute, or a special name).
    pub path: String,
    /// Only a watch on exactly this path fires (a node removed below the
    /// root of a recursive `RM`); otherwise watches at or above it fire.
    pub exact: bool,
    /// Permission lists under which the change is visible, besides those
    /// of the node and its parent when the event fires: a watcher that may
    /// read under any of them gets the event (Xen's `watch_permitted()`;
    /// these carry the node's permissions before the change, and a removed
    /// node's and its removed parent's).
    pub vis: Vec<Vec<Perm>>,
}

/// Whether `n` exceeds `limit` (0 disables the limit).
pub(crate) fn over(limit: u32, n: usize) -> bool {
    limit != 0 && n > limit as usize
}

/// The context one operation runs in.
pub(crate) struct Ctx<'a> {
    pub tree: &'a mut Tree,
    pub tx: Option<&'a mut Txn>,
    pub dom: DomId,
    pub privileged: bool,
    pub cfg: &'a Config,
    pub changes: Vec<Change>,
    /// Transaction memory the caller's other transactions hold.
    pub other_tx_bytes: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        tree: &'a mut Tree,
        tx: Option<&'a mut Txn>,
        dom: DomId,
        privileged: bool,
        cfg: &'a Config,
    ) -> Self {
        Ctx { tree, tx, dom, privileged, cfg, changes: Vec::new(), other_tx_bytes: 0 }
    }

    /// Checks and absolutises a path the caller sent.
    pub(crate) fn canon(&self, raw: &str, allow_special: bool) -> Result<Canon, Errno> {
        let max_rel = (!self.privileged && self.cfg.max_path_len != 0).then_some(self.cfg.max_path_len as usize);
        canonicalize(self.dom, raw, allow_special, max_rel)
    }

    fn rights(&self, perms: &[Perm]) -> Rights {
        rights(self.dom, self.privileged, perms)
    }

    /// The node at `path` in the caller's view. In a transaction the
    /// first access copies the node (or its absence) into the
    /// transaction; `ENOSPC` if that exceeds the transaction's node limit.
    pub(crate) fn get(&mut self, path: &str) -> Result<Option<&Node>, Errno> {
        match self.tx.as_deref_mut() {
            None => Ok(self.tree.nodes.get(path)),
            Some(tx) => {
                if !tx.accessed.contains_key(path) && !self.privileged {
                    let bytes = self.other_tx_bytes + tx.bytes + txn::cost(path, self.tree.nodes.get(path));
                    if over(self.cfg.max_transaction_nodes, tx.accessed.len() + 1)
                        || over(self.cfg.max_transaction_bytes, bytes)
                    {
                        return Err(Errno(ENOSPC));
                    }
                }
                tx.access(path, self.tree);
                Ok(tx.accessed[path].node.as_ref())
            }
        }
    }

    fn get_cloned(&mut self, path: &str) -> Result<Option<Node>, Errno> {
        Ok(self.get(path)?.cloned())
    }

    /// Stores a node (infallible: the path was accessed while checking).
    fn put(&mut self, path: &str, mut node: Node) {
        match self.tx.as_deref_mut() {
            None => self.tree.put(path, node),
            Some(tx) => {
                node.generation = self.tree.next_generation();
                tx.set(path, Some(node), self.tree);
            }
        }
    }

    /// Removes a node (not its children).
    fn del(&mut self, path: &str) {
        match self.tx.as_deref_mut() {
            None => {
                self.tree.del(path);
            }
            Some(tx) => tx.set(path, None, self.tree),
        }
    }

    /// In a transaction, checks that `extra` more bytes of node data fit
    /// the caller's transaction memory limit (`ENOSPC`).
    fn reserve(&self, extra: usize) -> Result<(), Errno> {
        let Some(tx) = self.tx.as_deref() else { return Ok(()) };
        if !self.privileged && over(self.cfg.max_transaction_bytes, self.other_tx_bytes + tx.bytes + extra) {
            return Err(Errno(ENOSPC));
        }
        Ok(())
    }

    /// Nodes the caller owns in its view.
    fn owned(&self) -> i64 {
        let base = self.tree.owned(self.dom) as i64;
        base + self.tx.as_deref().map_or(0, |tx| tx.delta(self.dom))
    }

    fn check_size(&self, size: usize) -> Result<(), Errno> {
        if !self.privileged && over(self.cfg.max_node_size, size) {
            return Err(Errno(ENOSPC));
        }
        Ok(())
    }

    /// Finds `path` for an access: `Some(node)` if it exists and the caller
    /// has every right in `want`; `None` if it does not exist and its
    /// nearest existing ancestor grants one of them; else `EACCES`.
    fn lookup(&mut self, path: &str, want: Rights) -> Result<Option<Node>, Errno> {
        if let Some(n) = self.get(path)? {
            let n = n.clone();
            return if self.rights(&n.perms).all_of(want) { Ok(Some(n)) } else { Err(Errno(EACCES)) };
        }
        let mut at = path;
        while let Some(p) = path::parent(at) {
            if let Some(perms) = self.perms_of(p)? {
                let granted = self.rights(&perms).any_of(want);
                return if granted { Ok(None) } else { Err(Errno(EACCES)) };
            }
            at = p;
        }
        // The root always exists; this is unreachable for a sane tree.
        Err(Errno(EACCES))
    }

    /// Perms of an existing node in the view (parent lookups).
    fn perms_of(&mut self, path: &str) -> Result<Option<Vec<Perm>>, Errno> {
        Ok(self.get(path)?.map(|n| n.perms.clone()))
    }
}

/// `XS_READ`.
pub(crate) fn read(ctx: &mut Ctx<'_>, raw: &str) -> Result<Vec<u8>, Errno> {
    let c = ctx.canon(raw, false)?;
    match ctx.lookup(&c.path, WANT_READ)? {
        Some(n) => Ok(n.value),
        None => Err(Errno(ENOENT)),
    }
}

/// `XS_WRITE`: set the value, creating the node and missing parents.
pub(crate) fn write(ctx: &mut Ctx<'_>, raw: &str, value: &[u8]) -> Result<(), Errno> {
    let c = ctx.canon(raw, false)?;
    match ctx.lookup(&c.path, WANT_WRITE)? {
        Some(mut n) => {
            ctx.check_size(value.len() + children_len(&n.children))?;
            ctx.reserve(value.len().saturating_sub(n.value.len()))?;
            n.value = Vec::from(value);
            let vis = vec![n.perms.clone()];
            ctx.put(&c.path, n);
            ctx.changes.push(Change { path: c.path, exact: false, vis });
            Ok(())
        }
        None => create(ctx, &c.path, value),
    }
}

/// `XS_MKDIR`: make sure the node exists.
pub(crate) fn mkdir(ctx: &mut Ctx<'_>, raw: &str) -> Result<(), Errno> {
    let c = ctx.canon(raw, false)?;
    match ctx.lookup(&c.path, WANT_WRITE)? {
        Some(_) => Ok(()),
        None => create(ctx, &c.path, &[]),
    }
}

/// Creates a missing node and its missing parents. The caller checked
/// that the nearest existing ancestor grants write. New nodes inherit that
/// ancestor's permissions; an unprivileged creator becomes their owner.
fn create(ctx: &mut Ctx<'_>, path: &str, value: &[u8]) -> Result<(), Errno> {
    // Missing nodes, deepest first, and the nearest existing ancestor.
    let mut missing: Vec<&str> = vec![path];
    let mut anc = path::parent(path).ok_or(Errno(EINVAL))?;
    loop {
        if ctx.get(anc)?.is_some() {
            break;
        }
        missing.push(anc);
        anc = path::parent(anc).ok_or(Errno(EINVAL))?;
    }
    let mut anc_node = ctx.get_cloned(anc)?.ok_or(Errno(EINVAL))?;
    let mut perms = anc_node.perms.clone();
    if !ctx.privileged {
        perms[0].domid = ctx.dom;
        if over(ctx.cfg.max_nodes, (ctx.owned() as usize).saturating_add(missing.len())) {
            return Err(Errno(ENOSPC));
        }
    }
    // Node sizes: the new leaf, each new intermediate (one child), and the
    // ancestor gaining a child.
    ctx.check_size(value.len())?;
    let mut extra = value.len();
    for w in missing.windows(2) {
        ctx.check_size(basename(w[0]).len() + 1)?;
        extra += basename(w[0]).len() + 1;
    }
    let top = missing[missing.len() - 1];
    ctx.check_size(anc_node.size() + basename(top).len() + 1)?;
    ctx.reserve(extra + basename(top).len() + 1)?;

    anc_node.children.push(String::from(basename(top)));
    ctx.put(anc, anc_node);
    for i in (0..missing.len()).rev() {
        let mut n = Node::new(perms.clone());
        if i == 0 {
            n.value = Vec::from(value);
        } else {
            n.children.push(String::from(basename(missing[i - 1])));
        }
        ctx.put(missing[i], n);
    }
    ctx.changes.push(Change { path: String::from(path), exact: false, vis: vec![perms] });
    Ok(())
}

/// `XS_RM`: remove a node and everything below it. Removing a missing
/// node whose parent exists succeeds; removing `/` is `EINVAL`.
pub(crate) fn rm(ctx: &mut Ctx<'_>, raw: &str) -> Result<(), Errno> {
    let c = ctx.canon(raw, false)?;
    let root = c.path;
    let Some(node) = ctx.lookup(&root, WANT_WRITE)? else {
        let parent = path::parent(&root).ok_or(Errno(EINVAL))?;
        return if ctx.get(parent)?.is_some() { Ok(()) } else { Err(Errno(ENOENT)) };
    };
    let Some(parent) = path::parent(&root) else { return Err(Errno(EINVAL)) };
    let mut parent_node = ctx.get_cloned(parent)?.ok_or(Errno(ENOENT))?;

    // Pre-order walk (children pushed in order, popped in reverse);
    // reversed, it is the post-order Xen removes and fires in.
    let mut order: Vec<(String, Vec<Perm>, Vec<Perm>)> = Vec::new();
    let mut stack = vec![(root.clone(), node, parent_node.perms.clone())];
    while let Some((p, n, pp)) = stack.pop() {
        for name in &n.children {
            let cp = path::child(&p, name);
            // A child listed but missing would be corruption; skip it.
            if let Some(cn) = ctx.get_cloned(&cp)? {
                stack.push((cp, cn, n.perms.clone()));
            }
        }
        order.push((p, n.perms, pp));
    }
    for (p, perms, pp) in order.into_iter().rev() {
        ctx.del(&p);
        let exact = p != root;
        ctx.changes.push(Change { path: p, exact, vis: vec![perms, pp] });
    }
    let name = basename(&root);
    parent_node.children.retain(|c| c != name);
    ctx.put(parent, parent_node);
    Ok(())
}

/// `XS_DIRECTORY`: the children's names.
pub(crate) fn directory(ctx: &mut Ctx<'_>, raw: &str) -> Result<Vec<String>, Errno> {
    let c = ctx.canon(raw, false)?;
    match ctx.lookup(&c.path, WANT_READ)? {
        Some(n) => Ok(n.children),
        None => Err(Errno(ENOENT)),
    }
}

/// `XS_DIRECTORY_PART`: `gen\0` then the children list from byte `offset`,
/// as many whole names as fit; one more `\0` when the list ends here.
pub(crate) fn directory_part(ctx: &mut Ctx<'_>, raw: &str, offset: usize) -> Result<Vec<u8>, Errno> {
    let c = ctx.canon(raw, false)?;
    let n = ctx.lookup(&c.path, WANT_READ)?.ok_or(Errno(ENOENT))?;
    let mut list = Vec::with_capacity(children_len(&n.children));
    for name in &n.children {
        list.extend_from_slice(name.as_bytes());
        list.push(0);
    }
    let mut d = [0u8; 20];
    let mut out = Vec::from(dec(n.generation, &mut d));
    out.push(0);
    if offset >= list.len() {
        out.push(0);
        return Ok(out);
    }
    let max = XENSTORE_PAYLOAD_MAX - out.len() - 1;
    let rest = &list[offset..];
    let mut len = 0;
    for piece in rest.split_inclusive(|&b| b == 0) {
        if len + piece.len() > max {
            break;
        }
        len += piece.len();
    }
    out.extend_from_slice(&rest[..len]);
    if len == rest.len() {
        out.push(0);
    }
    Ok(out)
}

/// `XS_GET_PERMS` (special nodes allowed).
pub(crate) fn get_perms(ctx: &mut Ctx<'_>, raw: &str) -> Result<Vec<Perm>, Errno> {
    let c = ctx.canon(raw, true)?;
    match ctx.lookup(&c.path, WANT_READ)? {
        Some(n) => Ok(n.perms),
        None => Err(Errno(ENOENT)),
    }
}

/// `XS_SET_PERMS` (special nodes allowed): only the owner or a privileged
/// caller; only a privileged caller may change the owner (`EPERM`).
pub(crate) fn set_perms(ctx: &mut Ctx<'_>, raw: &str, perms: &[Perm]) -> Result<(), Errno> {
    if perms.is_empty() {
        return Err(Errno(EINVAL));
    }
    if !ctx.privileged && over(ctx.cfg.max_perms, perms.len()) {
        return Err(Errno(ENOSPC));
    }
    let c = ctx.canon(raw, true)?;
    let mut n = ctx.lookup(&c.path, WANT_OWNER)?.ok_or(Errno(ENOENT))?;
    if !ctx.privileged && perms[0].domid != n.owner() {
        return Err(Errno(EPERM));
    }
    let vis = vec![n.perms.clone(), Vec::from(perms)];
    n.perms = Vec::from(perms);
    ctx.put(&c.path, n);
    ctx.changes.push(Change { path: c.path, exact: false, vis });
    Ok(())
}
