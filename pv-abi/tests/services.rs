//! The guest services (`evtchn`, `gnttab`, `console`) against a model of
//! the hypervisor with several domains in one process.
//!
//! [`World`] models what Xen does for these services: per domain a
//! `shared_info` page with the 2-level event-channel state (raised exactly
//! as `evtchn_2l_set_pending` and `evtchn_2l_unmask` do), a port table
//! (unbound, interdomain, VIRQ, IPI), grant-table frames, and the
//! hypervisor's side of a grant: mapping pins an entry by setting
//! `GTF_reading`/`GTF_writing` in the granter's shared entry until the last
//! mapping goes, and `GNTTABOP_copy` pins around the copy and checks
//! `domid` and `GTF_readonly`. Every domain reaches it through its own
//! [`MockHv`], the `Hypervisor` the services are instantiated with.
//!
//! Upcalls are delivered by the test's [`deliver`] loop: a domain whose
//! `evtchn_upcall_pending` is set and whose `evtchn_upcall_mask` is clear
//! runs its `handle_events`, as a vCPU returning to the guest would.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use pv_abi::abi::errno::{EEXIST, EINVAL, ENOSPC, ESRCH};
use pv_abi::abi::event_channel::{
    EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_ipi, EVTCHNSTAT_unbound, EVTCHNSTAT_virq, EvtchnStatus,
    EvtchnStatusInterdomain, EvtchnStatusUnbound,
};
use pv_abi::abi::grant_table::{
    GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_page,
    GNTST_eagain, GNTST_general_error, GNTST_okay, GNTST_permission_denied, GTF_permit_access, GTF_reading,
    GTF_readonly, GTF_type_mask, GTF_writing, GnttabCopy, GnttabCopyPtr,
};
use pv_abi::console::{Console, ConsoleError, IN_SIZE, OUT_SIZE};
use pv_abi::evtchn::{EventChannels, EvtchnError, SharedInfo2l};
use pv_abi::gnttab::{
    copy_from_grant, copy_to_grant, grant_copy, GntError, GrantTable, LocalBuf, RemoteBuf, ENTRIES_PER_FRAME,
    NR_RESERVED_ENTRIES,
};
use pv_abi::hv::{HvResult, Hypervisor};
use pv_abi::ring::SharedPage;
use pv_abi::{DomId, Errno, GrantRef, Mfn, Port, PAGE_SIZE};

// ---- memory -------------------------------------------------------------------------

#[repr(C, align(4096))]
struct PageBuf([u8; PAGE_SIZE]);

/// A zeroed page that lives for the rest of the process (leaked), so a
/// handle on it can never dangle.
#[derive(Clone, Copy)]
struct Frame(*mut u8);

impl Frame {
    fn new() -> Frame {
        Frame(Box::leak(Box::new(PageBuf([0; PAGE_SIZE]))).0.as_mut_ptr())
    }

    /// A new handle on the page. Every user (guest service, hypervisor
    /// model, test back end) gets its own.
    fn handle(self) -> SharedPage {
        // SAFETY: the page is leaked, so valid for reads and writes of 4096
        // bytes forever; no Rust reference to it exists after `new`; this
        // test is single-threaded, so no two accesses race.
        unsafe { SharedPage::new(self.0, PAGE_SIZE) }.unwrap()
    }
}

// ---- the hypervisor model -------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chan {
    Free,
    Unbound { remote: u16 },
    Inter { rdom: u16, rport: u32 },
    Virq { virq: u32 },
    Ipi,
}

struct Dom {
    /// The hypervisor's own view of the domain's shared_info.
    shared: SharedInfo2l,
    shared_frame: Frame,
    chans: Vec<Chan>,
    notify_vcpu: Vec<u32>,
    gnttab: Vec<Frame>,
    max_grant_frames: u32,
    /// `vcpu_mark_events_pending` 0->1 transitions (a kick).
    kicks: u32,
    forced: u32,
    yields: u32,
    console_io: Vec<u8>,
}

#[derive(Default)]
struct World {
    doms: Vec<Dom>,
    /// Machine frames: owner and memory.
    frames: HashMap<u64, (u16, Frame)>,
    next_mfn: u64,
    /// Active mappings per (granter, ref): (readers, writers).
    pins: HashMap<(u16, u32), (u32, u32)>,
    /// The next this many copy ops answer GNTST_eagain.
    copy_eagain: u32,
    yield_hook: Option<Box<dyn FnMut()>>,
}

const DOMID_SELF: u16 = DomId::SELF.0;

impl World {
    fn new(nr_doms: usize) -> Rc<RefCell<World>> {
        let mut w = World { next_mfn: 0x1000, ..World::default() };
        for _ in 0..nr_doms {
            let f = Frame::new();
            w.doms.push(Dom {
                shared: SharedInfo2l::new(f.handle()).unwrap(),
                shared_frame: f,
                chans: vec![Chan::Free],
                notify_vcpu: vec![0],
                gnttab: Vec::new(),
                max_grant_frames: 4,
                kicks: 0,
                forced: 0,
                yields: 0,
                console_io: Vec::new(),
            });
        }
        Rc::new(RefCell::new(w))
    }

    fn new_frame(&mut self, owner: u16) -> (Mfn, Frame) {
        let mfn = self.next_mfn;
        self.next_mfn += 1;
        let f = Frame::new();
        self.frames.insert(mfn, (owner, f));
        (Mfn(mfn), f)
    }

    fn resolve(&self, caller: u16, dom: u16) -> u16 {
        if dom == DOMID_SELF {
            caller
        } else {
            dom
        }
    }

    // -- event channels (Xen common/event_channel.c, event_2l.c) --

    fn alloc_port(&mut self, d: u16) -> HvResult<u32> {
        let dom = &mut self.doms[d as usize];
        if let Some(p) = (1..dom.chans.len()).find(|&p| dom.chans[p] == Chan::Free) {
            dom.notify_vcpu[p] = 0;
            return Ok(p as u32);
        }
        if dom.chans.len() >= 4096 {
            return Err(Errno(ENOSPC));
        }
        dom.chans.push(Chan::Free);
        dom.notify_vcpu.push(0);
        Ok(dom.chans.len() as u32 - 1)
    }

    fn chan(&self, d: u16, port: u32) -> HvResult<Chan> {
        self.doms[d as usize].chans.get(port as usize).copied().filter(|&c| c != Chan::Free).ok_or(Errno(EINVAL))
    }

    /// `evtchn_2l_set_pending`.
    fn raise(&mut self, d: u16, port: u32) {
        let dom = &mut self.doms[d as usize];
        let vcpu = dom.notify_vcpu[port as usize];
        let s = &dom.shared;
        if s.test_and_set_pending(Port(port)).unwrap() {
            return;
        }
        if !s.is_masked(Port(port)).unwrap()
            && !s.test_and_set_sel(vcpu, (port / 64) as usize).unwrap()
            && !s.swap_upcall_pending(vcpu, true).unwrap()
        {
            dom.kicks += 1;
        }
    }

    // -- grants (Xen common/grant_table.c, v1) --

    fn entry(&self, granter: u16, gref: u32) -> Result<SharedPage, i16> {
        let dom = self.doms.get(granter as usize).ok_or(GNTST_bad_domain)?;
        let f = dom.gnttab.get((gref / ENTRIES_PER_FRAME) as usize).ok_or(GNTST_bad_gntref)?;
        Ok(f.handle())
    }

    /// `_set_status_v1`: check the entry grants `mapper` access (writable
    /// unless `readonly`) and pin it, with a cmpxchg on the 32-bit
    /// `flags | domid << 16` word as Xen does. Returns the granted frame.
    fn pin(&mut self, granter: u16, gref: u32, mapper: u16, readonly: bool) -> Result<u64, i16> {
        let page = self.entry(granter, gref)?;
        let off = (gref % ENTRIES_PER_FRAME) as usize * 8;
        let word = page.atomic_u32(off).unwrap();
        let mut cur = word.load(Ordering::SeqCst);
        loop {
            let (flags, domid) = (cur as u16, (cur >> 16) as u16);
            if flags & GTF_type_mask != GTF_permit_access || domid != mapper {
                return Err(GNTST_permission_denied);
            }
            if !readonly && flags & GTF_readonly != 0 {
                return Err(GNTST_general_error);
            }
            let mut new = flags | GTF_reading;
            if !readonly {
                new |= GTF_writing;
            }
            match word.compare_exchange(cur, new as u32 | (domid as u32) << 16, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        let pins = self.pins.entry((granter, gref)).or_default();
        pins.0 += 1;
        if !readonly {
            pins.1 += 1;
        }
        let frame = page.atomic_u32(off + 4).unwrap().load(Ordering::SeqCst) as u64;
        match self.frames.get(&frame) {
            Some(&(owner, _)) if owner == granter => Ok(frame),
            _ => {
                self.unpin(granter, gref, readonly);
                Err(GNTST_bad_page)
            }
        }
    }

    /// Drops one pin; clears GTF_writing with the last writer and
    /// GTF_reading with the last pin.
    fn unpin(&mut self, granter: u16, gref: u32, readonly: bool) {
        let pins = self.pins.get_mut(&(granter, gref)).expect("unpin without pin");
        pins.0 -= 1;
        if !readonly {
            pins.1 -= 1;
        }
        let mut clear = 0;
        if pins.1 == 0 {
            clear |= GTF_writing;
        }
        if pins.0 == 0 {
            clear |= GTF_reading;
        }
        let page = self.entry(granter, gref).unwrap();
        let off = (gref % ENTRIES_PER_FRAME) as usize * 8;
        page.atomic_u32(off).unwrap().fetch_and(!(clear as u32), Ordering::SeqCst);
    }

    /// One end of a copy: (frame, pin to release).
    fn copy_end(
        &mut self,
        caller: u16,
        ptr: &GnttabCopyPtr,
        is_gref: bool,
        write: bool,
    ) -> Result<(Frame, Option<Pin>), i16> {
        let dom = self.resolve(caller, ptr.domid);
        if dom as usize >= self.doms.len() {
            return Err(GNTST_bad_domain);
        }
        if is_gref {
            let gref = ptr.u as u32;
            let frame = self.pin(dom, gref, caller, !write)?;
            Ok((self.frames[&frame].1, Some((dom, gref, !write))))
        } else {
            match self.frames.get(&ptr.u) {
                Some(&(owner, f)) if owner == caller && dom == caller => Ok((f, None)),
                _ => Err(GNTST_bad_page),
            }
        }
    }

    fn copy_one(&mut self, caller: u16, op: &GnttabCopy) -> i16 {
        if self.copy_eagain > 0 {
            self.copy_eagain -= 1;
            return GNTST_eagain;
        }
        let len = op.len as usize;
        if op.source.offset as usize + len > PAGE_SIZE || op.dest.offset as usize + len > PAGE_SIZE {
            return GNTST_bad_copy_arg;
        }
        let (src, src_pin) = match self.copy_end(caller, &op.source, op.flags & GNTCOPY_source_gref != 0, false) {
            Ok(x) => x,
            Err(st) => return st,
        };
        let (dst, dst_pin) = match self.copy_end(caller, &op.dest, op.flags & GNTCOPY_dest_gref != 0, true) {
            Ok(x) => x,
            Err(st) => {
                if let Some((g, r, ro)) = src_pin {
                    self.unpin(g, r, ro);
                }
                return st;
            }
        };
        let (s, d) = (src.handle(), dst.handle());
        for i in 0..len {
            let b: u8 = s.read(op.source.offset as usize + i).unwrap();
            d.write(op.dest.offset as usize + i, b).unwrap();
        }
        for (g, r, ro) in [src_pin, dst_pin].into_iter().flatten() {
            self.unpin(g, r, ro);
        }
        GNTST_okay
    }
}

/// A pin taken for a copy: (granter, ref, readonly).
type Pin = (u16, u32, bool);

/// One domain's view of the hypervisor.
#[derive(Clone)]
struct MockHv {
    w: Rc<RefCell<World>>,
    dom: u16,
}

impl MockHv {
    fn new(w: &Rc<RefCell<World>>, dom: u16) -> MockHv {
        MockHv { w: w.clone(), dom }
    }

    fn shared_info(&self) -> SharedPage {
        self.w.borrow().doms[self.dom as usize].shared_frame.handle()
    }

    fn kicks(&self) -> u32 {
        self.w.borrow().doms[self.dom as usize].kicks
    }

    fn forced(&self) -> u32 {
        self.w.borrow().doms[self.dom as usize].forced
    }

    /// The hypervisor maps `<granter, gref>` for this domain
    /// (`GNTTABOP_map_grant_ref`, reduced to the pin).
    fn map_grant(&self, granter: u16, gref: GrantRef, readonly: bool) -> Result<(), i16> {
        self.w.borrow_mut().pin(granter, gref.0, self.dom, readonly).map(drop)
    }

    /// `GNTTABOP_unmap_grant_ref`, reduced to the unpin.
    fn unmap_grant(&self, granter: u16, gref: GrantRef, readonly: bool) {
        self.w.borrow_mut().unpin(granter, gref.0, readonly)
    }

    /// The grant-table `setup` callback: "map" table frame `mfn`.
    fn map_frame(&self, mfn: Mfn) -> SharedPage {
        let w = self.w.borrow();
        let (owner, f) = w.frames[&mfn.0];
        assert_eq!(owner, DOMID_SELF, "grant-table frames belong to the hypervisor");
        f.handle()
    }

    fn new_frame(&self) -> (Mfn, Frame) {
        self.w.borrow_mut().new_frame(self.dom)
    }
}

impl Hypervisor for MockHv {
    fn evtchn_alloc_unbound(&self, remote: DomId) -> HvResult<Port> {
        let mut w = self.w.borrow_mut();
        let remote = w.resolve(self.dom, remote.0);
        if remote as usize >= w.doms.len() {
            return Err(Errno(ESRCH));
        }
        let p = w.alloc_port(self.dom)?;
        w.doms[self.dom as usize].chans[p as usize] = Chan::Unbound { remote };
        Ok(Port(p))
    }

    fn evtchn_bind_interdomain(&self, remote: DomId, remote_port: Port) -> HvResult<Port> {
        let mut w = self.w.borrow_mut();
        let rdom = w.resolve(self.dom, remote.0);
        if rdom as usize >= w.doms.len() {
            return Err(Errno(ESRCH));
        }
        match w.doms[rdom as usize].chans.get(remote_port.0 as usize) {
            Some(&Chan::Unbound { remote }) if remote == self.dom => {}
            _ => return Err(Errno(EINVAL)),
        }
        let lport = w.alloc_port(self.dom)?;
        w.doms[self.dom as usize].chans[lport as usize] = Chan::Inter { rdom, rport: remote_port.0 };
        w.doms[rdom as usize].chans[remote_port.0 as usize] = Chan::Inter { rdom: self.dom, rport: lport };
        // Xen: "the local port is always set pending".
        w.raise(self.dom, lport);
        Ok(Port(lport))
    }

    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> HvResult<Port> {
        let mut w = self.w.borrow_mut();
        let d = &w.doms[self.dom as usize];
        if (0..d.chans.len()).any(|p| d.chans[p] == Chan::Virq { virq } && d.notify_vcpu[p] == vcpu) {
            return Err(Errno(EEXIST));
        }
        let p = w.alloc_port(self.dom)?;
        let d = &mut w.doms[self.dom as usize];
        d.chans[p as usize] = Chan::Virq { virq };
        d.notify_vcpu[p as usize] = vcpu;
        Ok(Port(p))
    }

    fn evtchn_bind_ipi(&self, vcpu: u32) -> HvResult<Port> {
        let mut w = self.w.borrow_mut();
        let p = w.alloc_port(self.dom)?;
        let d = &mut w.doms[self.dom as usize];
        d.chans[p as usize] = Chan::Ipi;
        d.notify_vcpu[p as usize] = vcpu;
        Ok(Port(p))
    }

    fn evtchn_bind_vcpu(&self, port: Port, vcpu: u32) -> HvResult {
        let mut w = self.w.borrow_mut();
        match w.chan(self.dom, port.0)? {
            Chan::Unbound { .. } | Chan::Inter { .. } => {
                w.doms[self.dom as usize].notify_vcpu[port.0 as usize] = vcpu;
                Ok(())
            }
            _ => Err(Errno(EINVAL)),
        }
    }

    fn evtchn_send(&self, port: Port) -> HvResult {
        let mut w = self.w.borrow_mut();
        match w.chan(self.dom, port.0)? {
            Chan::Inter { rdom, rport } => w.raise(rdom, rport),
            Chan::Ipi => w.raise(self.dom, port.0),
            Chan::Unbound { .. } => {} // silently dropped, as Xen does
            Chan::Virq { .. } | Chan::Free => return Err(Errno(EINVAL)),
        }
        Ok(())
    }

    fn evtchn_close(&self, port: Port) -> HvResult {
        let mut w = self.w.borrow_mut();
        if let Chan::Inter { rdom, rport } = w.chan(self.dom, port.0)? {
            w.doms[rdom as usize].chans[rport as usize] = Chan::Unbound { remote: self.dom };
        }
        w.doms[self.dom as usize].chans[port.0 as usize] = Chan::Free;
        Ok(())
    }

    fn evtchn_unmask(&self, port: Port) -> HvResult {
        let mut w = self.w.borrow_mut();
        w.chan(self.dom, port.0)?;
        let d = &mut w.doms[self.dom as usize];
        let vcpu = d.notify_vcpu[port.0 as usize];
        let s = &d.shared;
        // evtchn_2l_unmask
        if s.test_and_clear_mask(port).unwrap()
            && s.is_pending(port).unwrap()
            && !s.test_and_set_sel(vcpu, (port.0 / 64) as usize).unwrap()
            && !s.swap_upcall_pending(vcpu, true).unwrap()
        {
            d.kicks += 1;
        }
        Ok(())
    }

    fn evtchn_status(&self, dom: DomId, port: Port) -> HvResult<EvtchnStatus> {
        let w = self.w.borrow();
        let d = w.resolve(self.dom, dom.0);
        let dd = w.doms.get(d as usize).ok_or(Errno(ESRCH))?;
        let chan = *dd.chans.get(port.0 as usize).ok_or(Errno(EINVAL))?;
        let mut st =
            EvtchnStatus { dom: dom.0, port: port.0, vcpu: dd.notify_vcpu[port.0 as usize], ..Default::default() };
        match chan {
            Chan::Free => st.status = EVTCHNSTAT_closed,
            Chan::Unbound { remote } => {
                st.status = EVTCHNSTAT_unbound;
                st.u.set_unbound(&EvtchnStatusUnbound { dom: remote });
            }
            Chan::Inter { rdom, rport } => {
                st.status = EVTCHNSTAT_interdomain;
                st.u.set_interdomain(&EvtchnStatusInterdomain { dom: rdom, _pad: 0, port: rport });
            }
            Chan::Virq { virq } => {
                st.status = EVTCHNSTAT_virq;
                st.u.set_virq(virq);
            }
            Chan::Ipi => st.status = EVTCHNSTAT_ipi,
        }
        Ok(st)
    }

    fn force_evtchn_callback(&self) {
        self.w.borrow_mut().doms[self.dom as usize].forced += 1;
    }

    fn gnttab_setup_table(&self, frames: &mut [u64]) -> HvResult {
        let mut w = self.w.borrow_mut();
        if frames.len() as u32 > w.doms[self.dom as usize].max_grant_frames {
            return Err(Errno(EINVAL));
        }
        while w.doms[self.dom as usize].gnttab.len() < frames.len() {
            // Table frames are the hypervisor's, shared with the guest.
            let (mfn, f) = w.new_frame(DOMID_SELF);
            w.doms[self.dom as usize].gnttab.push(f);
            w.frames.insert(mfn.0, (DOMID_SELF, f));
        }
        for (i, out) in frames.iter_mut().enumerate() {
            let f = w.doms[self.dom as usize].gnttab[i];
            *out = *w.frames.iter().find(|(_, &(_, g))| g.0 == f.0).unwrap().0;
        }
        Ok(())
    }

    fn gnttab_query_size(&self) -> HvResult<(u32, u32)> {
        let w = self.w.borrow();
        let d = &w.doms[self.dom as usize];
        Ok((d.gnttab.len() as u32, d.max_grant_frames))
    }

    fn gnttab_copy(&self, ops: &mut [GnttabCopy]) -> HvResult {
        let mut w = self.w.borrow_mut();
        for op in ops {
            op.status = w.copy_one(self.dom, op);
        }
        Ok(())
    }

    fn console_io_write(&self, buf: &[u8]) -> HvResult {
        self.w.borrow_mut().doms[self.dom as usize].console_io.extend_from_slice(buf);
        Ok(())
    }

    fn sched_yield(&self) {
        let hook = {
            let mut w = self.w.borrow_mut();
            w.doms[self.dom as usize].yields += 1;
            w.yield_hook.take()
        };
        if let Some(mut hook) = hook {
            hook();
            self.w.borrow_mut().yield_hook = Some(hook);
        }
    }
}

/// Delivers upcalls until no domain has one pending and unmasked; returns
/// the number of events taken.
fn deliver<const N: usize>(doms: &mut [&mut EventChannels<MockHv, N>]) -> u32 {
    let mut taken = 0;
    for _round in 0..100_000 {
        let mut any = false;
        for ev in doms.iter_mut() {
            if ev.upcall_pending() && ev.irqs_enabled() {
                // The hypervisor masks events on entry to the callback.
                ev.irq_disable();
                taken += ev.handle_events();
                ev.irq_enable();
                any = true;
            }
        }
        if !any {
            return taken;
        }
    }
    panic!("upcalls never stopped");
}

// ---- event channels ---------------------------------------------------------------------

/// Both ends of a ping-pong. Like a real split driver, a handler looks at
/// shared state (here: message counters) and treats an event with nothing
/// new as spurious; Xen's `bind_interdomain` raises one such event.
struct PingPong {
    a: MockHv,
    b: MockHv,
    a_port: Port,
    b_port: Port,
    limit: u32,
    pings: Cell<u32>,
    pongs: Cell<u32>,
    b_seen: Cell<u32>,
    a_seen: Cell<u32>,
    a_events: Cell<u32>,
    b_events: Cell<u32>,
    spurious: Cell<u32>,
}

fn pp(ctx: u64) -> &'static PingPong {
    // SAFETY: ctx is the address of a PingPong leaked by the test that
    // installed the handler; it is never freed or mutably borrowed.
    unsafe { &*(ctx as *const PingPong) }
}

fn on_a(port: Port, ctx: u64) {
    let s = pp(ctx);
    assert_eq!(port, s.a_port);
    s.a_events.set(s.a_events.get() + 1);
    let pongs = s.pongs.get();
    if pongs == s.a_seen.get() {
        s.spurious.set(s.spurious.get() + 1);
        return;
    }
    assert_eq!(pongs, s.a_seen.get() + 1, "a pong was lost or duplicated");
    s.a_seen.set(pongs);
    if s.pings.get() < s.limit {
        s.pings.set(s.pings.get() + 1);
        s.a.evtchn_send(s.a_port).unwrap();
    }
}

fn on_b(port: Port, ctx: u64) {
    let s = pp(ctx);
    assert_eq!(port, s.b_port);
    s.b_events.set(s.b_events.get() + 1);
    let pings = s.pings.get();
    if pings == s.b_seen.get() {
        s.spurious.set(s.spurious.get() + 1);
        return;
    }
    assert_eq!(pings, s.b_seen.get() + 1, "a ping was lost or duplicated");
    s.b_seen.set(pings);
    s.pongs.set(s.pongs.get() + 1);
    s.b.evtchn_send(s.b_port).unwrap();
}

#[test]
fn ping_pong_between_two_domains() {
    let w = World::new(2);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut a: EventChannels<MockHv> = EventChannels::new(ha.clone(), ha.shared_info(), 0).unwrap();
    let mut b: EventChannels<MockHv> = EventChannels::new(hb.clone(), hb.shared_info(), 0).unwrap();

    let a_port = a.alloc_unbound(DomId(1)).unwrap();
    let b_port = b.bind_interdomain(DomId(0), a_port).unwrap();
    let st = ha.evtchn_status(DomId::SELF, a_port).unwrap();
    assert_eq!(st.status, EVTCHNSTAT_interdomain);
    assert_eq!(st.u.interdomain().port, b_port.0);

    let state: &'static PingPong = Box::leak(Box::new(PingPong {
        a: ha.clone(),
        b: hb.clone(),
        a_port,
        b_port,
        limit: 10_000,
        pings: Cell::new(0),
        pongs: Cell::new(0),
        b_seen: Cell::new(0),
        a_seen: Cell::new(0),
        a_events: Cell::new(0),
        b_events: Cell::new(0),
        spurious: Cell::new(0),
    }));
    let ctx = state as *const PingPong as u64;
    a.set_handler(a_port, on_a, ctx).unwrap();
    b.set_handler(b_port, on_b, ctx).unwrap();
    // The bind left b_port pending: installing the handler unmasked it and
    // raised the upcall itself.
    assert!(b.upcall_pending());
    assert_eq!(deliver(&mut [&mut a, &mut b]), 1);
    assert_eq!(state.spurious.get(), 1);

    state.pings.set(1);
    ha.evtchn_send(a_port).unwrap();
    let taken = deliver(&mut [&mut a, &mut b]);
    assert_eq!(state.pings.get(), 10_000);
    assert_eq!(state.pongs.get(), 10_000);
    assert_eq!((state.b_seen.get(), state.a_seen.get()), (10_000, 10_000));
    assert_eq!(state.spurious.get(), 1, "no event without a message");
    assert_eq!((state.a_events.get(), state.b_events.get()), (10_000, 10_001));
    assert_eq!(taken, 20_000);
    assert_eq!((a.unhandled(), b.unhandled()), (0, 0));
    // Every event was a fresh upcall: each raised the master flag 0->1
    // (the bind's event was raised by the guest's own unmask, not a kick).
    assert_eq!(ha.kicks(), 10_000);
    assert_eq!(hb.kicks(), 10_000);
}

/// Tiny deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

thread_local! {
    /// Per receiving port: a send happened since the last delivery.
    static OWED: RefCell<HashMap<u32, bool>> = RefCell::new(HashMap::new());
    static DELIVERED: Cell<u64> = const { Cell::new(0) };
}

fn on_many(port: Port, _ctx: u64) {
    OWED.with(|o| {
        let mut o = o.borrow_mut();
        let owed = o.get_mut(&port.0).expect("event on an unknown port");
        assert!(*owed, "event on port {port} without a send since its last delivery");
        *owed = false;
    });
    DELIVERED.with(|d| d.set(d.get() + 1));
}

/// Many channels across several pending words, random sends, masking and
/// upcall masking: every send is followed by a delivery (events coalesce
/// until the handler runs, as Xen specifies), and no delivery happens
/// without a send.
#[test]
fn many_ports_random_traffic_loses_and_duplicates_nothing() {
    let w = World::new(2);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut a: EventChannels<MockHv, 256> = EventChannels::new(ha.clone(), ha.shared_info(), 0).unwrap();
    let mut b: EventChannels<MockHv, 256> = EventChannels::new(hb.clone(), hb.shared_info(), 0).unwrap();
    // ~200 channels, so B's ports span several pending words; every third
    // binding is closed again (its port number is reused by the next).
    let mut pairs = Vec::new();
    for i in 0..300 {
        let pa = a.alloc_unbound(DomId(1)).unwrap();
        let pb = b.bind_interdomain(DomId(0), pa).unwrap();
        if i % 3 == 0 {
            b.close(pb).unwrap(); // pa becomes unbound again; leave it
            continue;
        }
        // Drop the bind's own event before tracking.
        b.shared().test_and_clear_pending(pb).unwrap();
        OWED.with(|o| o.borrow_mut().insert(pb.0, false));
        b.set_handler(pb, on_many, 0).unwrap();
        pairs.push((pa, pb));
    }
    assert!(pairs.iter().any(|&(_, pb)| pb.0 >= 128), "ports span at least three words");
    assert!(!b.upcall_pending());

    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut sends = 0u64;
    for step in 0..20_000 {
        let (pa, pb) = pairs[rng.below(pairs.len() as u64) as usize];
        match rng.below(10) {
            0 => b.mask(pb).unwrap(),
            1 => b.unmask(pb).unwrap(),
            2 => b.irq_disable(),
            3 => b.irq_enable(),
            _ => {
                a.send(pa).unwrap();
                OWED.with(|o| o.borrow_mut().insert(pb.0, true));
                sends += 1;
            }
        }
        if step % 7 == 0 {
            deliver(&mut [&mut a, &mut b]);
        }
    }
    // Unmask everything and enable upcalls: whatever is owed arrives.
    for &(_, pb) in &pairs {
        b.unmask(pb).unwrap();
    }
    b.irq_enable();
    deliver(&mut [&mut a, &mut b]);
    OWED.with(|o| {
        let owed: Vec<u32> = o.borrow().iter().filter(|(_, &v)| v).map(|(&k, _)| k).collect();
        assert!(owed.is_empty(), "sends never delivered on ports {owed:?}");
    });
    let delivered = DELIVERED.with(Cell::get);
    assert!(delivered > 1000 && delivered <= sends, "{delivered} deliveries for {sends} sends");
    assert_eq!(b.unhandled(), 0);
    assert!(hb.forced() > 0, "re-enabling upcalls with one pending forced a callback");
}

thread_local! {
    static HITS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

fn hit(port: Port, _ctx: u64) {
    HITS.with(|h| h.borrow_mut().push(port.0));
}

fn hits() -> Vec<u32> {
    HITS.with(|h| std::mem::take(&mut *h.borrow_mut()))
}

thread_local! {
    static RESENDS: Cell<u32> = const { Cell::new(0) };
}

/// Raises its own port again the first time it runs.
fn resend_once(port: Port, ctx: u64) {
    // SAFETY: ctx is the address of a MockHv leaked by the test.
    let hv = unsafe { &*(ctx as *const MockHv) };
    RESENDS.with(|r| r.set(r.get() + 1));
    if RESENDS.with(Cell::get) == 1 {
        hv.evtchn_send(port).unwrap();
    }
}

/// The pending bit is cleared before the handler runs, so an event raised
/// while the handler runs (here by the handler itself) is a new event and
/// is delivered, not swallowed.
#[test]
fn event_raised_during_its_handler_is_not_lost() {
    let w = World::new(1);
    let ha = MockHv::new(&w, 0);
    let mut a: EventChannels<MockHv> = EventChannels::new(ha.clone(), ha.shared_info(), 0).unwrap();
    let ipi = a.bind_ipi(0).unwrap();
    let hv: &'static MockHv = Box::leak(Box::new(ha.clone()));
    a.set_handler(ipi, resend_once, hv as *const MockHv as u64).unwrap();
    a.send(ipi).unwrap();
    a.irq_disable();
    assert_eq!(a.handle_events(), 2, "both events taken in one upcall");
    a.irq_enable();
    assert_eq!(RESENDS.with(Cell::get), 2);
    assert!(!a.upcall_pending());
}

#[test]
fn masked_while_pending_is_redelivered_on_unmask() {
    let w = World::new(2);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut a: EventChannels<MockHv> = EventChannels::new(ha.clone(), ha.shared_info(), 0).unwrap();
    let mut b: EventChannels<MockHv> = EventChannels::new(hb.clone(), hb.shared_info(), 0).unwrap();
    let pb = b.alloc_unbound(DomId(0)).unwrap();
    let pa = a.bind_interdomain(DomId(1), pb).unwrap();
    a.shared().test_and_clear_pending(pa).unwrap();
    b.set_handler(pb, hit, 0).unwrap();

    // Local path: the guest clears the mask bit and re-raises itself.
    b.mask(pb).unwrap();
    a.send(pa).unwrap();
    a.send(pa).unwrap();
    assert!(b.shared().is_pending(pb).unwrap());
    assert!(!b.upcall_pending(), "a masked port raises no upcall");
    assert_eq!(deliver(&mut [&mut a, &mut b]), 0);
    let forced = hb.forced();
    b.unmask(pb).unwrap();
    assert!(b.upcall_pending());
    assert_eq!(hb.forced(), forced + 1, "upcalls were enabled: delivery forced at once");
    assert_eq!(deliver(&mut [&mut a, &mut b]), 1);
    assert_eq!(hits(), [pb.0], "two sends while masked coalesce into one event");

    // Hypercall path: the port notifies vCPU 1, so EVTCHNOP_unmask
    // re-raises it there.
    b.bind_vcpu(pb, 1).unwrap();
    b.mask(pb).unwrap();
    a.send(pa).unwrap();
    let sel_before = b.shared().sel(1).unwrap();
    assert_eq!(sel_before, 0);
    b.unmask(pb).unwrap();
    assert!(!b.shared().is_masked(pb).unwrap());
    assert_eq!(b.shared().sel(1).unwrap(), 1 << (pb.0 / 64));
    assert!(b.shared().upcall_pending(1).unwrap());
    assert!(!b.upcall_pending(), "vCPU 0 is not involved");
    assert_eq!(deliver(&mut [&mut a, &mut b]), 0, "vCPU 0 does not take vCPU 1's port");
    // vCPU 1's own EventChannels takes it.
    let mut b1: EventChannels<MockHv> = EventChannels::for_vcpu(hb.clone(), hb.shared_info(), 1).unwrap();
    assert!(!b1.shared().is_masked(pb).unwrap(), "for_vcpu leaves the domain's masks alone");
    b1.note_port_vcpu(pb, 1).unwrap();
    b1.set_handler(pb, hit, 1).unwrap();
    assert_eq!(b1.handle_events(), 1);
    assert_eq!(hits(), [pb.0]);
}

#[test]
fn upcall_mask_defers_delivery_until_enable() {
    let w = World::new(2);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut a: EventChannels<MockHv> = EventChannels::new(ha.clone(), ha.shared_info(), 0).unwrap();
    let mut b: EventChannels<MockHv> = EventChannels::new(hb.clone(), hb.shared_info(), 0).unwrap();
    let pb = b.alloc_unbound(DomId(0)).unwrap();
    let pa = a.bind_interdomain(DomId(1), pb).unwrap();
    a.shared().test_and_clear_pending(pa).unwrap();
    b.set_handler(pb, hit, 0).unwrap();

    let flags = b.irq_save();
    a.send(pa).unwrap();
    assert!(b.upcall_pending());
    assert_eq!(deliver(&mut [&mut a, &mut b]), 0, "upcalls are masked");
    let forced = hb.forced();
    b.irq_restore(flags);
    assert_eq!(hb.forced(), forced + 1, "enable saw the pending upcall and forced it");
    assert_eq!(deliver(&mut [&mut a, &mut b]), 1);
    assert_eq!(hits(), [pb.0]);
    // Enabling with nothing pending makes no hypercall.
    let flags = b.irq_save();
    b.irq_restore(flags);
    assert_eq!(hb.forced(), forced + 1);
}

#[test]
fn handler_table_full_unknown_port_ipi_virq_and_close() {
    let w = World::new(2);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut a: EventChannels<MockHv> = EventChannels::new(ha.clone(), ha.shared_info(), 0).unwrap();
    let mut b: EventChannels<MockHv> = EventChannels::new(hb.clone(), hb.shared_info(), 0).unwrap();

    // 64 handlers fit, the 65th does not.
    let mut ipis = Vec::new();
    for _ in 0..64 {
        let p = a.bind_ipi(0).unwrap();
        a.set_handler(p, hit, 0).unwrap();
        ipis.push(p);
    }
    let extra = a.bind_ipi(0).unwrap();
    assert_eq!(a.set_handler(extra, hit, 0), Err(EvtchnError::TableFull));
    assert_eq!(EvtchnError::TableFull.errno(), Errno(ENOSPC));
    assert_eq!(a.set_handler(ipis[0], hit, 0), Err(EvtchnError::HandlerExists(ipis[0])));

    // An IPI to ourselves goes through the dispatch loop.
    a.send(ipis[10]).unwrap();
    a.send(ipis[20]).unwrap();
    assert_eq!(deliver(&mut [&mut a, &mut b]), 2);
    assert_eq!(hits(), [ipis[10].0, ipis[20].0]);

    // An event on a port without a handler: counted, cleared, masked.
    a.shared().test_and_clear_mask(extra).unwrap();
    a.send(extra).unwrap();
    assert_eq!(deliver(&mut [&mut a, &mut b]), 1);
    assert!(hits().is_empty());
    assert_eq!(a.unhandled(), 1);
    assert!(a.shared().is_masked(extra).unwrap());
    assert!(!a.shared().is_pending(extra).unwrap());
    a.send(extra).unwrap();
    assert_eq!(deliver(&mut [&mut a, &mut b]), 0, "masked now: stays pending, no upcall");

    // Freeing a slot makes room; closing removes the handler too.
    a.clear_handler(ipis[0]).unwrap();
    assert_eq!(a.clear_handler(ipis[0]), Err(EvtchnError::NoHandler(ipis[0])));
    a.set_handler(extra, hit, 0).unwrap();
    assert_eq!(deliver(&mut [&mut a, &mut b]), 1, "the pending event arrives once it has a handler");
    assert_eq!(hits(), [extra.0]);
    a.close(ipis[1]).unwrap();
    assert_eq!(a.handler_count(), 63);
    assert_eq!(a.send(ipis[1]), Err(EvtchnError::Hypervisor(Errno(EINVAL))), "closed port");
    assert_eq!(a.send(Port(0)), Err(EvtchnError::BadPort(Port(0))));
    assert_eq!(a.unmask(Port(5000)), Err(EvtchnError::BadPort(Port(5000))));

    // VIRQs: the timer port is bound once per vCPU.
    let t = b.bind_virq(pv_abi::abi::xen::VIRQ_TIMER, 0).unwrap();
    assert_eq!(b.bind_virq(pv_abi::abi::xen::VIRQ_TIMER, 0), Err(EvtchnError::Hypervisor(Errno(EEXIST))));
    let st = hb.evtchn_status(DomId::SELF, t).unwrap();
    assert_eq!((st.status, st.u.virq()), (EVTCHNSTAT_virq, pv_abi::abi::xen::VIRQ_TIMER));

    // Closing one end of an interdomain channel leaves the other unbound.
    let pa = a.alloc_unbound(DomId(1)).unwrap();
    let pb = b.bind_interdomain(DomId(0), pa).unwrap();
    b.close(pb).unwrap();
    let st = ha.evtchn_status(DomId::SELF, pa).unwrap();
    assert_eq!((st.status, st.u.unbound().dom), (EVTCHNSTAT_unbound, 1));
    assert_eq!(hb.evtchn_status(DomId::SELF, pb).unwrap().status, EVTCHNSTAT_closed);
    assert_eq!(b.bind_interdomain(DomId(0), Port(4000)), Err(EvtchnError::Hypervisor(Errno(EINVAL))));
}

// ---- grant tables -------------------------------------------------------------------------

fn grant_table<const N: usize>(hv: &MockHv, frames: u32) -> GrantTable<MockHv, N> {
    let mut gt = GrantTable::new(hv.clone());
    gt.setup(frames, |mfn| Ok(hv.map_frame(mfn))).unwrap();
    gt
}

#[test]
fn end_access_waits_for_the_peer_to_unmap() {
    let w = World::new(2);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut gt = grant_table::<512>(&ha, 1);
    let (mfn, page) = ha.new_frame();
    page.handle().write(0, 0xfeed_u64).unwrap();
    let free = gt.free_count();

    let r = gt.grant_access(DomId(1), mfn, true).unwrap();
    assert!(r.0 >= NR_RESERVED_ENTRIES);
    let e = gt.read_entry(r).unwrap();
    assert_eq!((e.flags, e.domid, e.frame as u64), (GTF_permit_access | GTF_readonly, 1, mfn.0));

    // The peer maps it: the hypervisor marks the entry.
    assert_eq!(hb.map_grant(0, r, false), Err(GNTST_general_error), "read-only grant cannot be mapped writable");
    hb.map_grant(0, r, true).unwrap();
    assert_eq!(gt.read_entry(r).unwrap().flags & (GTF_reading | GTF_writing), GTF_reading);
    assert!(gt.query_foreign_access(r).unwrap());
    assert_eq!(gt.end_access(r), Err(GntError::Busy(r)));
    assert_eq!(gt.end_access(r), Err(GntError::Busy(r)), "still busy on retry");
    assert!(gt.is_granted(r), "a busy ref stays out of the free list");
    assert_eq!(gt.free_count(), free - 1);
    // A second mapping keeps it busy after the first goes.
    hb.map_grant(0, r, true).unwrap();
    hb.unmap_grant(0, r, true);
    assert_eq!(gt.end_access(r), Err(GntError::Busy(r)));
    hb.unmap_grant(0, r, true);
    assert!(!gt.query_foreign_access(r).unwrap());
    gt.end_access(r).unwrap();
    assert_eq!(gt.free_count(), free);
    assert_eq!(gt.read_entry(r).unwrap().flags, 0);
    assert_eq!(hb.map_grant(0, r, true), Err(GNTST_permission_denied), "ended grant cannot be mapped");
    assert_eq!(gt.end_access(r), Err(GntError::NotGranted(r)));

    // Writable grant, wrong domain, and a writable mapping.
    let r = gt.grant_access(DomId(1), mfn, false).unwrap();
    let hc = MockHv::new(&w, 0);
    assert_eq!(hc.map_grant(0, r, true), Err(GNTST_permission_denied), "granted to dom1, not dom0");
    hb.map_grant(0, r, false).unwrap();
    assert_eq!(gt.read_entry(r).unwrap().flags & (GTF_reading | GTF_writing), GTF_reading | GTF_writing);
    assert_eq!(gt.end_access(r), Err(GntError::Busy(r)));
    hb.unmap_grant(0, r, false);
    gt.end_access(r).unwrap();
}

#[test]
fn refs_exhaust_and_recycle() {
    let w = World::new(2);
    let ha = MockHv::new(&w, 0);
    let mut gt = grant_table::<1024>(&ha, 2);
    assert_eq!(gt.nr_frames(), 2);
    assert_eq!(ha.gnttab_query_size().unwrap(), (2, 4));
    let (mfn, _) = ha.new_frame();
    let usable = 2 * ENTRIES_PER_FRAME - NR_RESERVED_ENTRIES;
    assert_eq!(gt.free_count(), usable);
    let mut refs = Vec::new();
    loop {
        match gt.grant_access(DomId(1), mfn, false) {
            Ok(r) => refs.push(r),
            Err(e) => {
                assert_eq!(e, GntError::NoFreeRefs);
                break;
            }
        }
    }
    assert_eq!(refs.len() as u32, usable);
    let mut sorted: Vec<u32> = refs.iter().map(|r| r.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len() as u32, usable, "no ref handed out twice");
    assert_eq!(sorted[0], NR_RESERVED_ENTRIES, "refs 0..8 are reserved");
    assert_eq!(*sorted.last().unwrap(), 2 * ENTRIES_PER_FRAME - 1);
    assert_eq!(gt.free_count(), 0);

    // A freed ref is the next one handed out.
    gt.end_access(refs[300]).unwrap();
    assert_eq!(gt.grant_access(DomId(2), mfn, true).unwrap(), refs[300]);
    assert_eq!(gt.grant_access(DomId(2), mfn, true), Err(GntError::NoFreeRefs));
    for r in &refs {
        gt.end_access(*r).unwrap();
    }
    assert_eq!(gt.free_count(), usable);
    // The table's frames cannot grow past the object's capacity.
    assert!(matches!(gt.setup(3, |mfn| Ok(ha.map_frame(mfn))), Err(GntError::TooManyFrames { .. })));
}

#[test]
fn grant_copy_both_ways_with_status_checks() {
    let w = World::new(3);
    let (ha, hb) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    let mut gt = grant_table::<512>(&ha, 1);
    // A's buffers: one read-only grant, one writable grant.
    let (src_mfn, src) = ha.new_frame();
    let (dst_mfn, dst) = ha.new_frame();
    for i in 0..PAGE_SIZE {
        src.handle().write(i, (i * 7) as u8).unwrap();
    }
    let ro = gt.grant_access(DomId(1), src_mfn, true).unwrap();
    let rw = gt.grant_access(DomId(1), dst_mfn, false).unwrap();
    // B's own frame.
    let (mine_mfn, mine) = hb.new_frame();

    // B reads 100 bytes of A's page at 4000 into its frame at 10 ...
    let from = copy_from_grant(
        RemoteBuf { dom: DomId(0), gref: ro, offset: 3996 },
        LocalBuf { frame: mine_mfn, offset: 10 },
        100,
    )
    .unwrap();
    // ... and writes them back into A's writable grant at 0.
    let to =
        copy_to_grant(LocalBuf { frame: mine_mfn, offset: 10 }, RemoteBuf { dom: DomId(0), gref: rw, offset: 0 }, 100)
            .unwrap();
    grant_copy(&hb, &mut [from]).unwrap();
    grant_copy(&hb, &mut [to]).unwrap();
    for i in 0..100 {
        let want = ((3996 + i) * 7) as u8;
        assert_eq!(mine.handle().read::<u8>(10 + i).unwrap(), want);
        assert_eq!(dst.handle().read::<u8>(i).unwrap(), want);
    }
    // The pins were dropped: A can end both grants at once.
    assert!(!gt.query_foreign_access(ro).unwrap() && !gt.query_foreign_access(rw).unwrap());

    // Writing into the read-only grant fails, op by op.
    let bad_write =
        copy_to_grant(LocalBuf { frame: mine_mfn, offset: 0 }, RemoteBuf { dom: DomId(0), gref: ro, offset: 0 }, 8)
            .unwrap();
    let mut ops = [from, bad_write, to];
    // (Xen: "Attempt to write-pin a r/o grant entry", GNTST_general_error.)
    assert_eq!(grant_copy(&hb, &mut ops), Err(GntError::Copy { index: 1, status: GNTST_general_error }));
    assert_eq!((ops[0].status, ops[2].status), (GNTST_okay, GNTST_okay));
    assert_eq!(src.handle().read::<u8>(0).unwrap(), 0, "read-only page untouched");
    // Domain 2 was not granted anything.
    let hc = MockHv::new(&w, 2);
    let (c_mfn, _) = hc.new_frame();
    let stolen =
        copy_from_grant(RemoteBuf { dom: DomId(0), gref: ro, offset: 0 }, LocalBuf { frame: c_mfn, offset: 0 }, 8)
            .unwrap();
    assert_eq!(grant_copy(&hc, &mut [stolen]), Err(GntError::Copy { index: 0, status: GNTST_permission_denied }));
    // A frame we do not own as the local end.
    let not_mine =
        copy_from_grant(RemoteBuf { dom: DomId(0), gref: ro, offset: 0 }, LocalBuf { frame: src_mfn, offset: 0 }, 8)
            .unwrap();
    assert_eq!(grant_copy(&hb, &mut [not_mine]), Err(GntError::Copy { index: 0, status: GNTST_bad_page }));
    // A ref outside the table.
    let far = copy_from_grant(
        RemoteBuf { dom: DomId(0), gref: GrantRef(5000), offset: 0 },
        LocalBuf { frame: mine_mfn, offset: 0 },
        8,
    )
    .unwrap();
    assert_eq!(grant_copy(&hb, &mut [far]), Err(GntError::Copy { index: 0, status: GNTST_bad_gntref }));
    // Crossing the page is caught before the hypercall.
    assert_eq!(
        copy_from_grant(
            RemoteBuf { dom: DomId(0), gref: ro, offset: 4090 },
            LocalBuf { frame: mine_mfn, offset: 0 },
            8
        ),
        Err(GntError::BadCopyArg)
    );
    // GNTST_eagain is retried.
    w.borrow_mut().copy_eagain = 2;
    grant_copy(&hb, &mut [from, to]).unwrap();
    assert!(w.borrow().doms[1].yields >= 1);

    gt.end_access(ro).unwrap();
    gt.end_access(rw).unwrap();
}

// ---- console -------------------------------------------------------------------------------

/// The console back end's view of the ring (dom0's `xenconsoled`).
struct ConsBack {
    page: SharedPage,
}

impl ConsBack {
    const IN_CONS: usize = 3072;
    const IN_PROD: usize = 3076;
    const OUT_CONS: usize = 3080;
    const OUT_PROD: usize = 3084;

    fn idx(&self, off: usize) -> u32 {
        self.page.atomic_u32(off).unwrap().load(Ordering::Acquire)
    }

    fn set(&self, off: usize, v: u32) {
        self.page.atomic_u32(off).unwrap().store(v, Ordering::Release)
    }

    /// Consumes everything in `out`.
    fn drain(&self, sink: &mut Vec<u8>) {
        let (cons, prod) = (self.idx(Self::OUT_CONS), self.idx(Self::OUT_PROD));
        assert!(prod.wrapping_sub(cons) <= OUT_SIZE, "front end wrote bad indices");
        let mut c = cons;
        while c != prod {
            sink.push(self.page.read::<u8>(1024 + (c & (OUT_SIZE - 1)) as usize).unwrap());
            c = c.wrapping_add(1);
        }
        self.set(Self::OUT_CONS, c);
    }

    /// Produces as much of `data` into `in` as fits; returns how much.
    fn feed(&self, data: &[u8]) -> usize {
        let (cons, prod) = (self.idx(Self::IN_CONS), self.idx(Self::IN_PROD));
        let room = (IN_SIZE - prod.wrapping_sub(cons)) as usize;
        let n = room.min(data.len());
        for (i, &b) in data[..n].iter().enumerate() {
            self.page.write((prod.wrapping_add(i as u32) & (IN_SIZE - 1)) as usize, b).unwrap();
        }
        self.set(Self::IN_PROD, prod.wrapping_add(n as u32));
        n
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + i / 251) as u8).collect()
}

#[test]
fn console_streams_across_the_u32_wrap() {
    let w = World::new(2);
    let (h0, hu) = (MockHv::new(&w, 0), MockHv::new(&w, 1));
    // dom0 offers a port, the domU binds it (the builder does this).
    let mut back_ev: EventChannels<MockHv> = EventChannels::new(h0.clone(), h0.shared_info(), 0).unwrap();
    let back_port = back_ev.alloc_unbound(DomId(1)).unwrap();
    let front_port = hu.evtchn_bind_interdomain(DomId(0), back_port).unwrap();
    let kicks = Rc::new(Cell::new(0u32));
    back_ev.set_handler(back_port, hit, 0).unwrap();

    let ring = Frame::new();
    let back = ConsBack { page: ring.handle() };
    let start = u32::MAX - 1500;
    for off in [ConsBack::IN_CONS, ConsBack::IN_PROD, ConsBack::OUT_CONS, ConsBack::OUT_PROD] {
        back.set(off, start);
    }
    for i in 3088..PAGE_SIZE {
        back.page.write(i, 0xa5u8).unwrap(); // canary past the interface
    }
    let mut con = Console::new(hu.clone(), ring.handle(), front_port).unwrap();

    // The back end runs whenever the front end yields on a full ring.
    let out: Rc<RefCell<Vec<u8>>> = Rc::default();
    {
        let out = out.clone();
        let back = ConsBack { page: ring.handle() };
        let kicks = kicks.clone();
        w.borrow_mut().yield_hook = Some(Box::new(move || {
            back.drain(&mut out.borrow_mut());
            kicks.set(kicks.get() + 1);
        }));
    }
    let data = pattern(10_000);
    for chunk in data.chunks(3333) {
        con.write(chunk).unwrap();
    }
    back.drain(&mut out.borrow_mut());
    assert_eq!(*out.borrow(), data, "every byte once, in order, across the wrap");
    assert!(back.idx(ConsBack::OUT_PROD) < start, "out_prod wrapped");
    assert!(kicks.get() >= 4, "the writer waited for the back end");
    // The back end was notified through the event channel.
    assert_eq!(deliver(&mut [&mut back_ev]), 1, "notifications coalesce until the back end runs");
    hits();

    // Formatting goes through the same ring.
    use std::fmt::Write as _;
    write!(con, "x={}", 5).unwrap();
    let mut tail = Vec::new();
    back.drain(&mut tail);
    assert_eq!(tail, b"x=5");

    // Input, in chunks the back end can fit, read in odd-sized pieces.
    let input = pattern(5000);
    let mut fed = 0;
    let mut got = Vec::new();
    let mut buf = [0u8; 77];
    while got.len() < input.len() {
        fed += back.feed(&input[fed..]);
        let n = con.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, input);
    assert!(back.idx(ConsBack::IN_CONS) < start, "in_cons wrapped");
    assert_eq!(con.read(&mut buf).unwrap(), 0);
    assert!((3088..PAGE_SIZE).all(|i| back.page.read::<u8>(i).unwrap() == 0xa5));
}

#[test]
fn hostile_console_back_end_is_detected() {
    let w = World::new(2);
    let hu = MockHv::new(&w, 1);
    let ring = Frame::new();
    let back = ConsBack { page: ring.handle() };
    for i in 3088..PAGE_SIZE {
        back.page.write(i, 0x5au8).unwrap();
    }
    let mut con = Console::new(hu.clone(), ring.handle(), Port(1)).unwrap();
    con.try_write(b"hello").unwrap();
    let prod = back.idx(ConsBack::OUT_PROD);

    // out_cons ahead of out_prod, or more than the ring behind it.
    for bad in [prod.wrapping_add(1), prod.wrapping_sub(OUT_SIZE + 1), u32::MAX / 2, prod ^ 0x8000_0000] {
        back.set(ConsBack::OUT_CONS, bad);
        assert_eq!(con.try_write(b"x"), Err(ConsoleError::OutCorrupt { out_prod: prod, out_cons: bad }));
        assert!(con.write(b"more").is_err(), "write gives up instead of spinning");
        assert_eq!(back.idx(ConsBack::OUT_PROD), prod, "nothing published");
    }
    // Exactly a full ring behind is legal (and full).
    back.set(ConsBack::OUT_CONS, prod.wrapping_sub(OUT_SIZE));
    assert_eq!(con.try_write(b"x").unwrap(), 0);
    back.set(ConsBack::OUT_CONS, prod);

    // in_prod more than 1024 ahead of in_cons, or behind it.
    let mut buf = [0u8; 64];
    for bad in [IN_SIZE + 1, u32::MAX, 0x8000_0000, u32::MAX - IN_SIZE] {
        back.set(ConsBack::IN_PROD, bad);
        assert_eq!(con.read(&mut buf), Err(ConsoleError::InCorrupt { in_prod: bad, in_cons: 0 }));
        assert_eq!(back.idx(ConsBack::IN_CONS), 0, "nothing consumed");
    }
    // A full ring is legal; the back end scribbling on in_cons (ours) does
    // not move our index.
    back.set(ConsBack::IN_PROD, IN_SIZE);
    back.set(ConsBack::IN_CONS, 12345);
    let mut big = [0u8; 2000];
    assert_eq!(con.read(&mut big).unwrap(), IN_SIZE as usize);
    assert_eq!(back.idx(ConsBack::IN_CONS), IN_SIZE);
    assert!((3088..PAGE_SIZE).all(|i| back.page.read::<u8>(i).unwrap() == 0x5a), "no write outside the interface");
    assert_eq!(ConsoleError::InCorrupt { in_prod: 0, in_cons: 1 }.errno(), Errno(pv_abi::abi::errno::EIO));
}

#[test]
fn console_io_goes_to_the_hypervisor() {
    let w = World::new(1);
    let h = MockHv::new(&w, 0);
    use std::fmt::Write as _;
    write!(pv_abi::console::ConsoleIo(&h), "dom0 says {}", 42).unwrap();
    assert_eq!(w.borrow().doms[0].console_io, b"dom0 says 42");
}
