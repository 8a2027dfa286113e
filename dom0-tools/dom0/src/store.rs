//! xenstored in dom0: the [`xenstored`] core driven over each domU's
//! store ring page and event channel.
//!
//! Per introduced domain dom0 maps the ring page (the MFN libxl passes as
//! `store/ring-ref`) in its foreign-mapping window and binds its end of
//! the domain's store channel (allocated unbound for dom0 at creation).
//! Whenever the loop comes round it serves every ring: replies and watch
//! events that wait are copied into `rsp` as space allows, requests are
//! read from `req` and fed to the core (bytes the core holds back, when a
//! domain has too many replies unsent, wait in dom0 until it takes them).
//! Every byte moved is followed by a notification (`XsRing` sends on the
//! channel), so a domain blocked on its ring always wakes.
//!
//! A domain that breaks the framing (the core marks it broken) gets
//! `XENSTORE_ERROR_PROTO` in its page's `error` field, one whose ring
//! indices are impossible gets `XENSTORE_ERROR_RINGIDX`; either way dom0
//! stops reading its ring until it is released. dom0's own accesses use
//! the core's in-process API ([`Store::xsd`]).

use crate::events::Events;
use crate::mm::{Slot, Window};
use alloc::collections::btree_map::{BTreeMap, Entry};
use alloc::vec::Vec;
use core::mem::offset_of;
use pv_abi::abi::errno::EAGAIN;
use pv_abi::abi::io::xs_wire::{XenstoreDomainInterface, XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX};
use pv_abi::xenstore::{XsError, XsRing, XsTransport};
use pv_abi::{hypercall, kprintln, DomId, Errno, Mfn, Port};
use xenstored::{Action, Config, FeedError, Xenstored, DOM0};

/// Request bytes read from a ring in one go.
const READ_CHUNK: usize = 4096;

/// dom0's side of one domain's store ring.
struct Ring {
    slot: Slot,
    page: *mut XenstoreDomainInterface,
    /// dom0's port, bound to the domain's store port.
    local: Port,
    /// Request bytes read from the ring that the core has not taken yet.
    pending: Vec<u8>,
    /// Not served any more (protocol broken or ring corrupt).
    dead: bool,
}

/// The store and the rings it is served over.
pub struct Store {
    /// The xenstored core; dom0's own code calls its in-process API.
    pub xsd: Xenstored,
    rings: BTreeMap<DomId, Ring>,
}

/// xenstored never waits on a ring (it comes back when notified).
type NoWait = fn() -> Result<(), XsError>;

fn no_wait() -> Result<(), XsError> {
    Err(XsError::Transport(Errno(EAGAIN)))
}

/// xenstored's end of `r`'s page as a byte stream that notifies the
/// domain after every byte moved.
fn transport(r: &Ring) -> XsRing<impl FnMut(), NoWait> {
    let local = r.local;
    // SAFETY: `r.page` is the domain's store ring page, mapped writable
    // in dom0's window for as long as the `Ring` exists (it is unmapped
    // only when the ring is dropped in `release`); this transport lives
    // only within one call of a `Store` method, so it is the only
    // xenstored-side handle on the page; the domain follows the ring
    // protocol or is detected breaking it (indices are checked).
    unsafe {
        XsRing::store(
            r.page,
            move || {
                let _ = hypercall::evtchn_send(local);
            },
            no_wait,
        )
    }
}

impl Store {
    /// A store with the standard tree (Xen 4.17's quotas).
    pub fn new() -> Store {
        Store { xsd: Xenstored::new(Config::default()), rings: BTreeMap::new() }
    }

    /// Starts serving `domid`, whose store ring is frame `mfn` and store
    /// channel `port` (`XS_INTRODUCE`; fires `@introduceDomain`).
    pub fn introduce(
        &mut self,
        win: &mut Window,
        ev: &Events,
        domid: DomId,
        mfn: u64,
        port: Port,
    ) -> Result<(), Errno> {
        self.xsd.introduce(domid, Mfn(mfn), port)?;
        self.apply_actions(win, ev);
        if self.rings.contains_key(&domid) {
            Ok(())
        } else {
            // Mapping or binding failed (reported): do not keep a
            // connection nobody serves.
            let _ = self.xsd.release(domid);
            self.apply_actions(win, ev);
            Err(Errno(EAGAIN))
        }
    }

    /// The domain shut down: fires `@releaseDomain` once.
    pub fn domain_shutdown(&mut self, domid: DomId) {
        let _ = self.xsd.domain_shutdown(domid);
    }

    /// Forgets `domid`: removes its home (`/local/domain/<id>` and its
    /// `/vm` entry), releases its connection (its watches, transactions
    /// and the nodes it owns go; `@releaseDomain` fires), unmaps its ring
    /// and closes dom0's end of its channel.
    pub fn release(&mut self, win: &mut Window, ev: &Events, domid: DomId) {
        let _ = self.xsd.remove_domain_home(domid);
        if self.xsd.is_introduced(domid) {
            let _ = self.xsd.release(domid);
        }
        self.apply_actions(win, ev);
        // Released without the core knowing (introduction half done).
        if let Some(r) = self.rings.remove(&domid) {
            drop_ring(win, domid, r);
        }
    }

    /// dom0's ports of the served rings (to poll on).
    pub fn ports(&self) -> impl Iterator<Item = Port> + '_ {
        self.rings.values().filter(|r| !r.dead).map(|r| r.local)
    }

    /// Serves every ring once: sends what waits, takes requests, answers.
    pub fn service(&mut self, win: &mut Window, ev: &Events) {
        let ids: Vec<DomId> = self.rings.keys().copied().collect();
        for id in ids {
            if let Some(r) = self.rings.get(&id) {
                ev.take(r.local);
            }
            self.serve(win, ev, id);
        }
        self.apply_actions(win, ev);
    }

    fn serve(&mut self, win: &mut Window, ev: &Events, id: DomId) {
        // Bounded: a domain streaming requests cannot keep dom0 here.
        for _ in 0..64 {
            self.flush_output(id);
            let Some(r) = self.rings.get_mut(&id) else { return };
            if r.dead {
                return;
            }
            if r.pending.is_empty() {
                let mut buf = [0u8; READ_CHUNK];
                match transport(r).recv(&mut buf) {
                    Ok(n) => r.pending.extend_from_slice(&buf[..n]),
                    Err(e) => {
                        self.kill(id, XENSTORE_ERROR_RINGIDX, e);
                        return;
                    }
                }
            }
            let Some(r) = self.rings.get_mut(&id) else { return };
            if r.pending.is_empty() {
                return;
            }
            let taken = match self.xsd.feed(id, &r.pending) {
                Ok(n) => n,
                Err(FeedError::NotConnected | FeedError::Broken(_)) => {
                    r.pending.clear();
                    0
                }
            };
            r.pending.drain(..taken);
            self.apply_actions(win, ev);
            if taken == 0 {
                // Held back until the domain takes its replies.
                self.flush_output(id);
                return;
            }
        }
    }

    /// Copies `id`'s queued output into its reply ring while there is room.
    fn flush_output(&mut self, id: DomId) {
        let Some(r) = self.rings.get(&id) else { return };
        if r.dead {
            return;
        }
        let mut t = transport(r);
        loop {
            let out = self.xsd.output(id);
            if out.is_empty() {
                return;
            }
            match t.send(out) {
                Ok(0) => return,
                Ok(n) => self.xsd.consume_output(id, n),
                Err(e) => {
                    self.kill(id, XENSTORE_ERROR_RINGIDX, e);
                    return;
                }
            }
        }
    }

    /// Stops serving `id`'s ring and tells it why in the page's `error`.
    fn kill(&mut self, id: DomId, code: u32, why: impl core::fmt::Debug) {
        let Some(r) = self.rings.get_mut(&id) else { return };
        if r.dead {
            return;
        }
        r.dead = true;
        r.pending.clear();
        let off = offset_of!(XenstoreDomainInterface, error);
        // SAFETY: `page` is the mapped ring page (see `transport`); the
        // `error` field is a u32 inside it at a 4-byte-aligned offset,
        // which only xenstored writes.
        unsafe { core::ptr::write_volatile(r.page.cast::<u8>().add(off).cast::<u32>(), code) };
        let _ = hypercall::evtchn_send(r.local);
        kprintln!("dom0: xenstored: d{}: stopped serving its ring: {:?}", id.0, why);
    }

    /// Carries out what the core asks for.
    fn apply_actions(&mut self, win: &mut Window, ev: &Events) {
        // Notifications may queue more output, hence the loop (bounded).
        for _ in 0..8 {
            let actions = self.xsd.take_actions();
            if actions.is_empty() {
                return;
            }
            for a in actions {
                match a {
                    Action::Introduced { domid, mfn, port } => match self.rings.entry(domid) {
                        // Re-introduced: the core reset the connection.
                        Entry::Occupied(mut r) => r.get_mut().pending.clear(),
                        Entry::Vacant(slot) => match attach(win, ev, domid, mfn, port) {
                            Ok(r) => {
                                slot.insert(r);
                            }
                            Err(e) => kprintln!("dom0: xenstored: cannot serve d{}: {e}", domid.0),
                        },
                    },
                    Action::Released { domid } => {
                        if let Some(r) = self.rings.remove(&domid) {
                            drop_ring(win, domid, r);
                        }
                    }
                    Action::Broken { domid, reason } => self.kill(domid, XENSTORE_ERROR_PROTO, reason),
                    Action::Notify { domid } if domid == DOM0 => {
                        // dom0 registers no watches of its own; its
                        // connection only ever queues special-node events.
                        while self.xsd.pop_message(DOM0).is_some() {}
                    }
                    Action::Notify { domid } => self.flush_output(domid),
                }
            }
        }
    }
}

/// Maps a domain's ring page and binds dom0's end of its store channel.
fn attach(win: &mut Window, ev: &Events, domid: DomId, mfn: Mfn, port: Port) -> crate::error::Result<Ring> {
    let local = hypercall::evtchn_bind_interdomain(domid, port)
        .map_err(|e| crate::error::Error::Hv("EVTCHNOP_bind_interdomain (xenstore)", e))?;
    let slot = match ev.mask(local).and_then(|()| win.map(domid, mfn.0)) {
        Ok(s) => s,
        Err(e) => {
            let _ = hypercall::evtchn_close(local);
            return Err(e);
        }
    };
    let page = win.va(slot).cast::<XenstoreDomainInterface>();
    // A domain may have written requests before it was introduced.
    let _ = hypercall::evtchn_send(local);
    Ok(Ring { slot, page, local, pending: Vec::new(), dead: false })
}

fn drop_ring(win: &mut Window, domid: DomId, r: Ring) {
    if let Err(e) = win.unmap(&[r.slot]) {
        kprintln!("dom0: xenstored: d{}: unmapping its ring: {e}", domid.0);
    }
    let _ = hypercall::evtchn_close(r.local);
}
