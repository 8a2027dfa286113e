//! # xenstored: the xenstore daemon's core
//!
//! Xen's configuration store as pure logic, for the dom0 kernel to drive:
//! a tree of nodes with values and permissions, watches, transactions,
//! per-domain quotas and the `io/xs_wire.h` protocol, with the semantics
//! of Xen's C `xenstored` (`tools/xenstore/xenstored_*.c`) and
//! `docs/misc/xenstore.txt`. `docs/xenstored.md` is the one-page summary.
//!
//! What it owns:
//!
//! - the store ([`Node`]s by path, the standard tree of Xen and
//!   `xen-init-dom0`, and the per-domain subtree libxl writes:
//!   [`Xenstored::create_domain_home`], [`Xenstored::add_device`]);
//! - one connection per domain: dom0's (always there, privileged) and one
//!   per introduced domain, each with an input framer, an output queue of
//!   replies and watch events, its watches and its transactions;
//! - the protocol: [`Xenstored::feed`] takes request bytes as they arrive
//!   from a domain's store ring (in any chunks), answers every complete
//!   message, and queues replies and events; [`Xenstored::output`] and
//!   [`Xenstored::consume_output`] hand them out as ring space allows;
//!   [`Xenstored::take_actions`] says which rings to map, notify or drop;
//! - an in-process API for dom0's own code ([`Xenstored::read`],
//!   [`Xenstored::write`], [`Xenstored::watch`], ...), acting as domain 0
//!   without going through bytes.
//!
//! What it must never do: touch memory, rings or event channels (the
//! caller owns those), panic or block on anything a domain sends, let one
//! domain's mistakes or quota exhaustion affect another's connection, or
//! use `unsafe`. A malformed request is answered with an `XS_ERROR`; a
//! header announcing more than `XENSTORE_PAYLOAD_MAX` bytes loses the
//! stream's framing, so that connection is marked broken and ignored until
//! it is released or introduced again.
//!
//! The kernel's loop, per domain `d` (see `docs/xenstored.md`):
//!
//! ```text
//! on an event from d's store port, or after d's output drained:
//!     n = xsd.feed(d, readable bytes of d's request ring)?; req_cons += n
//! for action in xsd.take_actions():
//!     Introduced { domid, mfn, port } => map the ring, bind the port
//!     Notify { domid } => copy xsd.output(domid) into the reply ring,
//!                         xsd.consume_output(domid, copied), notify
//!     Released { domid } | Broken { domid, .. } => stop serving it
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod conn;
mod node;
mod ops;
pub mod path;
mod toolstack;
mod txn;

pub use conn::{Broken, ConnStats, OutMessage};
pub use node::{rights, Node, Rights};
pub use pv_abi::xenstore::wire::{Access, Perm};
pub use toolstack::{DeviceSpec, DomainHome};

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use conn::{Conn, Watch};
use ops::{over, Change, Ctx};
use pv_abi::abi::errno::{Errno, E2BIG, EACCES, EBUSY, EEXIST, EINVAL, ENOENT, ENOSPC, ENOSYS};
use pv_abi::abi::io::xs_wire::{msg, XsdSockmsg, XENSTORE_PAYLOAD_MAX};
use pv_abi::xenstore::wire::{error_name, parse_dec, parse_single, Strings};
use pv_abi::{DomId, Mfn, Port};

/// dom0: the privileged domain, always connected.
pub const DOM0: DomId = DomId(0);

/// The special watch fired when a domain is introduced.
pub const INTRODUCE_DOMAIN: &str = "@introduceDomain";
/// The special watch fired when a domain is released or shut down.
pub const RELEASE_DOMAIN: &str = "@releaseDomain";

/// Limits. A limit of 0 disables that check. Privileged callers (dom0) are
/// exempt from all but `max_pending_events`. Defaults are Xen 4.17's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Nodes a domain may own (`ENOSPC` beyond). Xen: 1000.
    pub max_nodes: u32,
    /// Watches per connection (`E2BIG` beyond, as Xen 4.17). Xen: 128.
    pub max_watches: u32,
    /// Open transactions per connection (`ENOSPC` beyond). Xen: 10.
    pub max_transactions: u32,
    /// Replies queued but not yet sent before [`Xenstored::feed`] stops
    /// taking input from that domain (back-pressure, no error). Xen: 20.
    pub max_outstanding: u32,
    /// Bytes of a node's value plus its children-name list (`ENOSPC`
    /// beyond). Xen: 2048.
    pub max_node_size: u32,
    /// Permission entries per node (`ENOSPC` beyond). Xen: 5.
    pub max_perms: u32,
    /// Nodes one transaction may access (`ENOSPC` beyond). Xen: 1024.
    pub max_transaction_nodes: u32,
    /// Bytes the open transactions of one connection may hold: for each
    /// node accessed, its path plus the size of the transaction's copy
    /// (`ENOSPC` beyond). Not in Xen, whose overall per-domain memory
    /// quota (2.5 MiB) covers this; 1 MiB.
    pub max_transaction_bytes: u32,
    /// Path length after a `/local/domain/<n>/` prefix (`EINVAL` beyond).
    /// Xen: 2048 (`XENSTORE_REL_PATH_MAX`).
    pub max_path_len: u32,
    /// Watch events queued per connection; more are dropped and counted
    /// in [`ConnStats::dropped_events`]. Applies to dom0 too.
    pub max_pending_events: u32,
    /// Keep nodes owned by a released domain (given to dom0) instead of
    /// removing them. Xen: off (`--keep-orphans`).
    pub keep_orphans: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_nodes: 1000,
            max_watches: 128,
            max_transactions: 10,
            max_outstanding: 20,
            max_node_size: 2048,
            max_perms: 5,
            max_transaction_nodes: 1024,
            max_transaction_bytes: 1 << 20,
            max_path_len: 2048,
            max_pending_events: 1024,
            keep_orphans: false,
        }
    }
}

/// Something the kernel driving xenstored has to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start (or restart) serving a domain: map its store ring page and
    /// bind its store event channel. A repeated introduction reset the
    /// connection (as Xen's `XS_INTRODUCE` does).
    Introduced {
        /// The domain.
        domid: DomId,
        /// Its store ring frame.
        mfn: Mfn,
        /// Its store event channel.
        port: Port,
    },
    /// Stop serving a domain; unmap and unbind.
    Released {
        /// The domain.
        domid: DomId,
    },
    /// The domain broke the protocol: set its ring's `error` field
    /// (`XENSTORE_ERROR_PROTO`) and stop reading from it.
    Broken {
        /// The domain.
        domid: DomId,
        /// What it did.
        reason: Broken,
    },
    /// New output is queued: copy it into the domain's reply ring and
    /// notify the domain (for dom0: pop the messages in-process).
    Notify {
        /// The domain.
        domid: DomId,
    },
}

/// Why [`Xenstored::feed`] took nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedError {
    /// The domain is not introduced.
    NotConnected,
    /// The connection is broken; its input is ignored.
    Broken(Broken),
}

/// The xenstore daemon's state.
pub struct Xenstored {
    cfg: Config,
    tree: node::Tree,
    conns: BTreeMap<DomId, Conn>,
    actions: Vec<Action>,
    dirty: BTreeSet<DomId>,
}

/// A request's outcome: the reply payload, and an event to queue after it.
struct Done {
    payload: Vec<u8>,
    then: Option<OutMessage>,
}

impl Done {
    fn of(payload: Vec<u8>) -> Self {
        Done { payload, then: None }
    }
    fn ok() -> Self {
        Done::of(Vec::from(&b"OK\0"[..]))
    }
}

fn inval<T>(_: T) -> Errno {
    Errno(EINVAL)
}

fn event_message(path: &str, token: &str) -> OutMessage {
    let mut payload = Vec::with_capacity(path.len() + token.len() + 2);
    payload.extend_from_slice(path.as_bytes());
    payload.push(0);
    payload.extend_from_slice(token.as_bytes());
    payload.push(0);
    let hdr = XsdSockmsg { ty: msg::XS_WATCH_EVENT, req_id: 0, tx_id: 0, len: payload.len() as u32 };
    OutMessage { hdr, payload }
}

fn parse_domid(s: &str) -> Result<DomId, Errno> {
    match parse_dec(s.as_bytes()) {
        Some(v) if v <= u16::MAX as u64 => Ok(DomId(v as u16)),
        _ => Err(Errno(EINVAL)),
    }
}

/// Whether `ty` is a request type the protocol defines (replies and the
/// removed `XS_RESTRICT` are not).
fn is_request_type(ty: u32) -> bool {
    ty < msg::XS_TYPE_COUNT && ty != 20 && ty != msg::XS_WATCH_EVENT && ty != msg::XS_ERROR
}

/// Request types only a privileged caller may send.
fn is_privileged_type(ty: u32) -> bool {
    matches!(
        ty,
        msg::XS_CONTROL
            | msg::XS_INTRODUCE
            | msg::XS_RELEASE
            | msg::XS_IS_DOMAIN_INTRODUCED
            | msg::XS_RESUME
            | msg::XS_SET_TARGET
    )
}

impl Xenstored {
    /// A store with the standard tree (`/`, `/tool/xenstored`, `/local`,
    /// `/local/domain`, dom0's home with `name` and `domid`, `/vm`, and the
    /// special nodes), all owned by dom0 and private to it, and dom0's
    /// connection.
    pub fn new(cfg: Config) -> Self {
        let mut x = Xenstored {
            cfg,
            tree: node::Tree::new(),
            conns: BTreeMap::new(),
            actions: Vec::new(),
            dirty: BTreeSet::new(),
        };
        let private = vec![Perm::new(Access::None, DOM0)];
        x.tree.put("/", Node::new(private.clone()));
        for special in [INTRODUCE_DOMAIN, RELEASE_DOMAIN] {
            x.tree.put(special, Node::new(private.clone()));
        }
        for p in ["/tool/xenstored", "/local/domain/0", "/vm"] {
            // Cannot fail: privileged, valid paths.
            let _ = x.mkdir(p);
        }
        let _ = x.write("/local/domain/0/name", b"Domain-0");
        let _ = x.write("/local/domain/0/domid", b"0");
        x.conns.insert(DOM0, Conn::new(Mfn(0), Port(0)));
        x
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    // ----- connections -----

    /// Starts serving `domid` (what `XS_INTRODUCE` does): its store ring
    /// is frame `mfn`, its store event channel `port`. A new domain fires
    /// `@introduceDomain`; introducing a connected domain again resets its
    /// connection (watches, transactions, queued output, broken state).
    /// `EINVAL` for dom0, a reserved domid or port 0.
    pub fn introduce(&mut self, domid: DomId, mfn: Mfn, port: Port) -> Result<(), Errno> {
        if domid == DOM0 || !domid.is_regular() || port.0 == 0 {
            return Err(Errno(EINVAL));
        }
        match self.conns.get_mut(&domid) {
            Some(c) => {
                c.reset();
                c.broken = None;
                c.shutdown = false;
                c.mfn = mfn;
                c.port = port;
                self.actions.push(Action::Introduced { domid, mfn, port });
            }
            None => {
                self.conns.insert(domid, Conn::new(mfn, port));
                self.actions.push(Action::Introduced { domid, mfn, port });
                self.fire_special(INTRODUCE_DOMAIN);
            }
        }
        Ok(())
    }

    /// Stops serving `domid` (`XS_RELEASE`, or the domain died): drops its
    /// connection, watches, transactions and queued output; removes the
    /// nodes it owns (unless `keep_orphans`) and its entries in other
    /// nodes' permissions; fires `@releaseDomain`. `ENOENT` if it is not
    /// introduced, `EINVAL` for dom0.
    pub fn release(&mut self, domid: DomId) -> Result<(), Errno> {
        if domid == DOM0 {
            return Err(Errno(EINVAL));
        }
        self.conns.remove(&domid).ok_or(Errno(ENOENT))?;
        self.dirty.remove(&domid);
        self.actions.push(Action::Released { domid });
        self.remove_orphans(domid);
        self.fire_special(RELEASE_DOMAIN);
        Ok(())
    }

    /// The domain shut down (or crashed) but is not gone yet: fires
    /// `@releaseDomain` once (again only after `XS_RESUME` or a new
    /// introduction). `ENOENT` if it is not introduced.
    pub fn domain_shutdown(&mut self, domid: DomId) -> Result<(), Errno> {
        let c = self.conns.get_mut(&domid).filter(|_| domid != DOM0).ok_or(Errno(ENOENT))?;
        if !c.shutdown {
            c.shutdown = true;
            self.fire_special(RELEASE_DOMAIN);
        }
        Ok(())
    }

    /// Whether `domid` has a connection (dom0 always has).
    pub fn is_introduced(&self, domid: DomId) -> bool {
        self.conns.contains_key(&domid)
    }

    /// Domains with a connection, dom0 first.
    pub fn connections(&self) -> impl Iterator<Item = DomId> + '_ {
        self.conns.keys().copied()
    }

    /// The store ring frame and event channel given at introduction.
    pub fn ring(&self, domid: DomId) -> Option<(Mfn, Port)> {
        self.conns.get(&domid).filter(|_| domid != DOM0).map(|c| (c.mfn, c.port))
    }

    /// Why the connection is broken, if it is.
    pub fn broken(&self, domid: DomId) -> Option<Broken> {
        self.conns.get(&domid).and_then(|c| c.broken)
    }

    /// The connection's counters.
    pub fn stats(&self, domid: DomId) -> Option<ConnStats> {
        self.conns.get(&domid).map(|c| c.stats)
    }

    /// Watches registered by `domid` (path as given, token).
    pub fn watches(&self, domid: DomId) -> Vec<(String, String)> {
        self.conns.get(&domid).map_or_else(Vec::new, |c| {
            c.watches.iter().map(|w| (String::from(&w.path[w.prefix_len..]), w.token.clone())).collect()
        })
    }

    /// Open transactions of `domid`.
    pub fn transactions(&self, domid: DomId) -> usize {
        self.conns.get(&domid).map_or(0, |c| c.txs.len())
    }

    // ----- bytes -----

    /// Takes request bytes from `domid`'s ring, in any chunking, and
    /// handles every message they complete. Returns how many bytes were
    /// taken: fewer than given when `max_outstanding` replies are waiting
    /// to be sent (leave the rest in the ring and feed it again after
    /// [`Xenstored::consume_output`]). A header over
    /// `XENSTORE_PAYLOAD_MAX` breaks the connection.
    pub fn feed(&mut self, domid: DomId, bytes: &[u8]) -> Result<usize, FeedError> {
        let privileged = domid == DOM0;
        let mut taken = 0;
        loop {
            let conn = self.conns.get_mut(&domid).ok_or(FeedError::NotConnected)?;
            if let Some(b) = conn.broken {
                return Err(FeedError::Broken(b));
            }
            if let Some((hdr, payload)) = conn.input().take() {
                self.process(domid, hdr, &payload);
                continue;
            }
            if taken == bytes.len() || (!privileged && over(self.cfg.max_outstanding, conn.replies as usize + 1)) {
                return Ok(taken);
            }
            match conn.input().push(&bytes[taken..]) {
                Ok(n) => taken += n,
                Err(_) => {
                    self.break_conn(domid, Broken::Oversize);
                    return Err(FeedError::Broken(Broken::Oversize));
                }
            }
        }
    }

    /// Whether `domid` has output waiting.
    pub fn has_output(&self, domid: DomId) -> bool {
        self.conns.get(&domid).is_some_and(Conn::has_output)
    }

    /// The unsent bytes of `domid`'s next message (empty: nothing queued).
    /// Copy what fits into the ring, then call
    /// [`Xenstored::consume_output`]; repeat until empty or the ring is
    /// full.
    pub fn output(&mut self, domid: DomId) -> &[u8] {
        match self.conns.get_mut(&domid) {
            Some(c) => c.output(),
            None => &[],
        }
    }

    /// Marks `n` bytes of [`Xenstored::output`] as sent.
    pub fn consume_output(&mut self, domid: DomId, n: usize) {
        if let Some(c) = self.conns.get_mut(&domid) {
            c.consume(n);
        }
    }

    /// All queued output of `domid` as one byte string.
    pub fn take_output(&mut self, domid: DomId) -> Vec<u8> {
        let mut v = Vec::new();
        loop {
            let out = self.output(domid);
            if out.is_empty() {
                return v;
            }
            let n = out.len();
            v.extend_from_slice(out);
            self.consume_output(domid, n);
        }
    }

    /// The next queued message of `domid`, whole (for in-process users
    /// such as dom0's own watches; do not mix with partial
    /// [`Xenstored::consume_output`]).
    pub fn pop_message(&mut self, domid: DomId) -> Option<OutMessage> {
        self.conns.get_mut(&domid)?.pop()
    }

    /// What to do now: domains introduced, released or broken since the
    /// last call, in order, then one `Notify` per domain with new output.
    pub fn take_actions(&mut self) -> Vec<Action> {
        let mut v = core::mem::take(&mut self.actions);
        for domid in core::mem::take(&mut self.dirty) {
            if self.has_output(domid) {
                v.push(Action::Notify { domid });
            }
        }
        v
    }

    // ----- in-process API, as dom0 -----

    fn run<R>(&mut self, f: impl FnOnce(&mut Ctx<'_>) -> Result<R, Errno>) -> Result<R, Errno> {
        let mut ctx = Ctx::new(&mut self.tree, None, DOM0, true, &self.cfg);
        let r = f(&mut ctx);
        let changes = core::mem::take(&mut ctx.changes);
        self.fire(changes);
        r
    }

    /// Reads a node's value.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
        self.run(|c| ops::read(c, path))
    }

    /// Writes a node, creating it and missing parents.
    pub fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno> {
        self.run(|c| ops::write(c, path, value))
    }

    /// Makes sure a node exists.
    pub fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        self.run(|c| ops::mkdir(c, path))
    }

    /// Removes a node and its subtree.
    pub fn rm(&mut self, path: &str) -> Result<(), Errno> {
        self.run(|c| ops::rm(c, path))
    }

    /// A node's children.
    pub fn directory(&mut self, path: &str) -> Result<Vec<String>, Errno> {
        self.run(|c| ops::directory(c, path))
    }

    /// A node's permissions.
    pub fn get_perms(&mut self, path: &str) -> Result<Vec<Perm>, Errno> {
        self.run(|c| ops::get_perms(c, path))
    }

    /// Replaces a node's permissions (owner first).
    pub fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<(), Errno> {
        self.run(|c| ops::set_perms(c, path, perms))
    }

    /// Registers a watch for dom0; events (and the initial one) are queued
    /// on dom0's connection: take them with [`Xenstored::pop_message`].
    pub fn watch(&mut self, path: &str, token: &str) -> Result<(), Errno> {
        let ev = self.do_watch(DOM0, path, token)?;
        self.queue_event(DOM0, ev);
        Ok(())
    }

    /// Removes one of dom0's watches.
    pub fn unwatch(&mut self, path: &str, token: &str) -> Result<(), Errno> {
        self.do_unwatch(DOM0, path, token)
    }

    /// The node at an absolute path or special name, if it exists.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.tree.nodes.get(path)
    }

    /// Every node, by path (special nodes first, then in path order).
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.tree.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// Nodes `domid` owns.
    pub fn owned_nodes(&self, domid: DomId) -> u32 {
        self.tree.owned(domid)
    }

    // ----- internals -----

    fn break_conn(&mut self, domid: DomId, reason: Broken) {
        if let Some(c) = self.conns.get_mut(&domid) {
            c.reset();
            c.broken = Some(reason);
            self.dirty.remove(&domid);
            self.actions.push(Action::Broken { domid, reason });
        }
    }

    fn queue_reply(&mut self, domid: DomId, hdr: &XsdSockmsg, result: Result<Done, Errno>) {
        let Some(c) = self.conns.get_mut(&domid) else { return };
        let (ty, payload, then) = match result {
            Ok(d) if d.payload.len() <= XENSTORE_PAYLOAD_MAX => (hdr.ty, d.payload, d.then),
            Ok(_) => (msg::XS_ERROR, Vec::from(&b"E2BIG\0"[..]), None),
            Err(e) => {
                let mut p = Vec::from(error_name(e).unwrap_or("EINVAL").as_bytes());
                p.push(0);
                (msg::XS_ERROR, p, None)
            }
        };
        if ty == msg::XS_ERROR {
            c.stats.errors += 1;
        }
        let hdr = XsdSockmsg { ty, req_id: hdr.req_id, tx_id: hdr.tx_id, len: payload.len() as u32 };
        c.push(OutMessage { hdr, payload });
        self.dirty.insert(domid);
        if let Some(ev) = then {
            self.queue_event(domid, ev);
        }
    }

    fn queue_event(&mut self, domid: DomId, ev: OutMessage) {
        let Some(c) = self.conns.get_mut(&domid) else { return };
        if c.broken.is_some() {
            return;
        }
        if ev.payload.len() > XENSTORE_PAYLOAD_MAX || over(self.cfg.max_pending_events, c.events as usize + 1) {
            c.stats.dropped_events += 1;
            return;
        }
        c.push(ev);
        self.dirty.insert(domid);
    }

    /// Queues one event per matching, permitted watch, for each change.
    fn fire(&mut self, changes: Vec<Change>) {
        for ch in changes {
            let mut vis = ch.vis;
            if let Some(n) = self.tree.nodes.get(&ch.path) {
                vis.push(n.perms.clone());
            }
            if let Some(p) = path::parent(&ch.path).filter(|_| !path::is_special(&ch.path)) {
                if let Some(n) = self.tree.nodes.get(p) {
                    vis.push(n.perms.clone());
                }
            }
            let mut evs = Vec::new();
            for (&domid, c) in &self.conns {
                if c.broken.is_some() {
                    continue;
                }
                let visible = domid == DOM0 || vis.iter().any(|p| rights(domid, false, p).read);
                if !visible {
                    continue;
                }
                for w in &c.watches {
                    let hit = if ch.exact { w.path == ch.path } else { path::is_at_or_below(&ch.path, &w.path) };
                    if hit {
                        evs.push((domid, event_message(&ch.path[w.prefix_len..], &w.token)));
                    }
                }
            }
            for (domid, ev) in evs {
                self.queue_event(domid, ev);
            }
        }
    }

    fn fire_special(&mut self, name: &str) {
        let perms = self.tree.nodes.get(name).map_or_else(|| vec![Perm::new(Access::None, DOM0)], |n| n.perms.clone());
        self.fire(vec![Change { path: String::from(name), exact: false, vis: vec![perms] }]);
    }

    /// Removes (or, with `keep_orphans`, hands to dom0) the nodes a
    /// released domain owns, and drops it from other nodes' permissions.
    fn remove_orphans(&mut self, domid: DomId) {
        let mut remove = Vec::new();
        let mut fix = Vec::new();
        let mut stack = vec![String::from("/")];
        stack.extend([String::from(INTRODUCE_DOMAIN), String::from(RELEASE_DOMAIN)]);
        while let Some(p) = stack.pop() {
            let Some(n) = self.tree.nodes.get(&p) else { continue };
            let owned = n.owner() == domid;
            if owned && !self.cfg.keep_orphans && p != "/" && !path::is_special(&p) {
                remove.push(p);
                continue;
            }
            if owned || n.perms[1..].iter().any(|e| e.domid == domid) {
                fix.push(p.clone());
            }
            if !path::is_special(&p) {
                stack.extend(n.children.iter().map(|c| path::child(&p, c)));
            }
        }
        for p in remove {
            let _ = self.rm(&p);
        }
        for p in fix {
            if let Some(mut n) = self.tree.nodes.get(&p).cloned() {
                if n.perms[0].domid == domid {
                    n.perms[0].domid = DOM0;
                }
                let owner = n.perms[0];
                n.perms.retain(|e| e.domid != domid);
                if n.perms.first() != Some(&owner) {
                    n.perms.insert(0, owner);
                }
                self.tree.put(&p, n);
            }
        }
    }

    fn do_watch(&mut self, domid: DomId, raw: &str, token: &str) -> Result<OutMessage, Errno> {
        let privileged = domid == DOM0;
        let max_rel = (!privileged && self.cfg.max_path_len != 0).then_some(self.cfg.max_path_len as usize);
        let c = path::canonicalize(domid, raw, true, max_rel)?;
        let conn = self.conns.get_mut(&domid).ok_or(Errno(ENOENT))?;
        if conn.watches.iter().any(|w| w.path == c.path && w.token == token) {
            return Err(Errno(EEXIST));
        }
        if !privileged && over(self.cfg.max_watches, conn.watches.len() + 1) {
            return Err(Errno(E2BIG));
        }
        let ev = event_message(&c.path[c.prefix_len..], token);
        conn.watches.push(Watch { path: c.path, token: String::from(token), prefix_len: c.prefix_len });
        Ok(ev)
    }

    fn do_unwatch(&mut self, domid: DomId, raw: &str, token: &str) -> Result<(), Errno> {
        let c = path::canonicalize(domid, raw, true, None)?;
        let conn = self.conns.get_mut(&domid).ok_or(Errno(ENOENT))?;
        let i = conn.watches.iter().position(|w| w.path == c.path && w.token == token).ok_or(Errno(ENOENT))?;
        conn.watches.remove(i);
        Ok(())
    }

    /// Handles one complete request from `domid` and queues its reply.
    fn process(&mut self, domid: DomId, hdr: XsdSockmsg, payload: &[u8]) {
        if let Some(c) = self.conns.get_mut(&domid) {
            c.stats.requests += 1;
        }
        let result = self.dispatch(domid, &hdr, payload);
        self.queue_reply(domid, &hdr, result);
    }

    fn dispatch(&mut self, domid: DomId, hdr: &XsdSockmsg, payload: &[u8]) -> Result<Done, Errno> {
        let privileged = domid == DOM0;
        let ty = hdr.ty;
        if !is_request_type(ty) {
            return Err(Errno(ENOSYS));
        }
        if is_privileged_type(ty) && !privileged {
            return Err(Errno(EACCES));
        }
        match ty {
            msg::XS_READ
            | msg::XS_WRITE
            | msg::XS_MKDIR
            | msg::XS_RM
            | msg::XS_DIRECTORY
            | msg::XS_DIRECTORY_PART
            | msg::XS_GET_PERMS
            | msg::XS_SET_PERMS => self.store_op(domid, hdr, payload),
            msg::XS_WATCH | msg::XS_UNWATCH => {
                let s: Vec<&str> = Strings::new(payload).map_err(inval)?.collect();
                let [path, token] = s[..] else { return Err(Errno(EINVAL)) };
                if ty == msg::XS_WATCH {
                    let ev = self.do_watch(domid, path, token)?;
                    Ok(Done { payload: Vec::from(&b"OK\0"[..]), then: Some(ev) })
                } else {
                    self.do_unwatch(domid, path, token)?;
                    Ok(Done::ok())
                }
            }
            msg::XS_TRANSACTION_START => {
                let conn = self.conns.get_mut(&domid).ok_or(Errno(ENOENT))?;
                if hdr.tx_id != 0 {
                    return Err(Errno(if conn.txs.contains_key(&hdr.tx_id) { EBUSY } else { ENOENT }));
                }
                if !privileged && over(self.cfg.max_transactions, conn.txs.len() + 1) {
                    return Err(Errno(ENOSPC));
                }
                let id = conn.alloc_tx_id();
                conn.txs.insert(id, txn::Txn::default());
                Ok(Done::of(format!("{id}\0").into_bytes()))
            }
            msg::XS_TRANSACTION_END => {
                let commit = match parse_single(payload).map_err(inval)? {
                    "T" => true,
                    "F" => false,
                    _ => return Err(Errno(EINVAL)),
                };
                let conn = self.conns.get_mut(&domid).ok_or(Errno(ENOENT))?;
                let tx = conn.txs.remove(&hdr.tx_id).ok_or(Errno(ENOENT))?;
                if commit {
                    let events = tx.commit(&mut self.tree, domid, privileged, &self.cfg)?;
                    self.fire(events);
                }
                Ok(Done::ok())
            }
            msg::XS_INTRODUCE => {
                let s: Vec<&str> = Strings::new(payload).map_err(inval)?.collect();
                if s.len() < 3 {
                    return Err(Errno(EINVAL));
                }
                let dom = parse_domid(s[0])?;
                let mfn = parse_dec(s[1].as_bytes()).ok_or(Errno(EINVAL))?;
                let port = parse_dec(s[2].as_bytes()).filter(|&p| p <= u32::MAX as u64).ok_or(Errno(EINVAL))?;
                self.introduce(dom, Mfn(mfn), Port(port as u32))?;
                Ok(Done::ok())
            }
            msg::XS_RELEASE => {
                let dom = parse_domid(parse_single(payload).map_err(inval)?)?;
                self.release(dom)?;
                Ok(Done::ok())
            }
            msg::XS_RESUME => {
                let dom = parse_domid(parse_single(payload).map_err(inval)?)?;
                if dom == DOM0 {
                    return Err(Errno(EINVAL));
                }
                let c = self.conns.get_mut(&dom).ok_or(Errno(ENOENT))?;
                c.shutdown = false;
                Ok(Done::ok())
            }
            msg::XS_GET_DOMAIN_PATH => {
                let dom = parse_domid(parse_single(payload).map_err(inval)?)?;
                let mut p = path::domain_path(dom).into_bytes();
                p.push(0);
                Ok(Done::of(p))
            }
            msg::XS_IS_DOMAIN_INTRODUCED => {
                let dom = parse_domid(parse_single(payload).map_err(inval)?)?;
                let yes = dom == DomId::SELF || self.conns.contains_key(&dom);
                Ok(Done::of(Vec::from(if yes { &b"T\0"[..] } else { &b"F\0"[..] })))
            }
            msg::XS_RESET_WATCHES => {
                let conn = self.conns.get_mut(&domid).ok_or(Errno(ENOENT))?;
                conn.watches.clear();
                conn.txs.clear();
                Ok(Done::ok())
            }
            // CONTROL and SET_TARGET (privileged) are not implemented.
            _ => Err(Errno(ENOSYS)),
        }
    }

    /// The node operations, in or out of a transaction.
    fn store_op(&mut self, domid: DomId, hdr: &XsdSockmsg, payload: &[u8]) -> Result<Done, Errno> {
        let privileged = domid == DOM0;
        let conn = self.conns.get_mut(&domid).ok_or(Errno(ENOENT))?;
        let other_tx_bytes = conn.txs.iter().filter(|(&id, _)| id != hdr.tx_id).map(|(_, t)| t.bytes).sum();
        let tx = match hdr.tx_id {
            0 => None,
            id => Some(conn.txs.get_mut(&id).ok_or(Errno(ENOENT))?),
        };
        let mut ctx = Ctx::new(&mut self.tree, tx, domid, privileged, &self.cfg);
        ctx.other_tx_bytes = other_tx_bytes;
        let result = run_store_op(&mut ctx, hdr.ty, payload);
        let changes = core::mem::take(&mut ctx.changes);
        match ctx.tx {
            Some(tx) => tx.queue(changes),
            None => self.fire(changes),
        }
        result
    }
}

/// Parses a node request's payload and runs it.
fn run_store_op(ctx: &mut Ctx<'_>, ty: u32, payload: &[u8]) -> Result<Done, Errno> {
    let one = || parse_single(payload).map_err(inval);
    match ty {
        msg::XS_READ => ops::read(ctx, one()?).map(Done::of),
        msg::XS_WRITE => {
            let nul = payload.iter().position(|&b| b == 0).ok_or(Errno(EINVAL))?;
            let path = core::str::from_utf8(&payload[..nul]).map_err(inval)?;
            ops::write(ctx, path, &payload[nul + 1..]).map(|()| Done::ok())
        }
        msg::XS_MKDIR => ops::mkdir(ctx, one()?).map(|()| Done::ok()),
        msg::XS_RM => ops::rm(ctx, one()?).map(|()| Done::ok()),
        msg::XS_DIRECTORY => {
            let names = ops::directory(ctx, one()?)?;
            let mut p = Vec::new();
            for n in names {
                p.extend_from_slice(n.as_bytes());
                p.push(0);
            }
            Ok(Done::of(p))
        }
        msg::XS_DIRECTORY_PART => {
            let s: Vec<&str> = Strings::new(payload).map_err(inval)?.collect();
            let [path, off] = s[..] else { return Err(Errno(EINVAL)) };
            let off = parse_dec(off.as_bytes()).ok_or(Errno(EINVAL))?;
            ops::directory_part(ctx, path, usize::try_from(off).unwrap_or(usize::MAX)).map(Done::of)
        }
        msg::XS_GET_PERMS => {
            let perms = ops::get_perms(ctx, one()?)?;
            Ok(Done::of(perms_bytes(&perms)))
        }
        msg::XS_SET_PERMS => {
            let mut s = Strings::new(payload).map_err(inval)?;
            let path = s.next().ok_or(Errno(EINVAL))?;
            let perms = s.map(|p| Perm::parse(p).map_err(inval)).collect::<Result<Vec<_>, _>>()?;
            ops::set_perms(ctx, path, &perms).map(|()| Done::ok())
        }
        _ => Err(Errno(ENOSYS)),
    }
}

/// `perm\0perm\0...`
fn perms_bytes(perms: &[Perm]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in perms {
        v.extend_from_slice(format!("{p}").as_bytes());
        v.push(0);
    }
    v
}
