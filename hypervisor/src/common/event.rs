//! Event channels, 2-level ABI (Xen's `common/event_channel.c` and
//! `event_2l.c`).
//!
//! Each domain has up to [`NR_PORTS`] ports; port 0 is never used. A port
//! is free, unbound (waiting for a given remote domain to bind it), bound
//! to a port of another (or the same) domain, bound to a VIRQ of one vCPU,
//! or an IPI. Pending and mask bits live in the domain's `shared_info`
//! (one bit per port); raising a port sets its pending bit and, if it is
//! not masked and its selector bit was clear, the selector bit and
//! `evtchn_upcall_pending` of the vCPU it notifies, then wakes that vCPU.
//! The upcall itself is delivered on the way back to the guest.
//!
//! FIFO event channels are not implemented: `EVTCHNOP_init_control`
//! answers `-ENOSYS`, so a FIFO-capable guest (Linux) falls back to
//! 2-level. The port-state logic here is the seam a FIFO ABI would reuse.

use crate::common::domain::{vcpu_info, Domain, VcpuState};
use crate::common::Hv;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use pv_abi::abi::errno::*;
use pv_abi::abi::xen::NR_VIRQS;
use pv_abi::{DomId, Port};

/// Ports per domain with the 2-level ABI on 64-bit.
pub const NR_PORTS: u32 = pv_abi::abi::xen::EVTCHN_2L_NR_CHANNELS;

/// Byte offset of `evtchn_pending` in `shared_info`.
const PENDING_OFF: usize = 2048;
/// Byte offset of `evtchn_mask` in `shared_info`.
const MASK_OFF: usize = 2560;

/// What a port is connected to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    /// Not in use.
    #[default]
    Free,
    /// Allocated, waiting for `remote` to bind to it.
    Unbound {
        /// The domain allowed to bind.
        remote: DomId,
    },
    /// Connected to `remote`'s port `rport`.
    Interdomain {
        /// The peer domain.
        remote: DomId,
        /// The peer port.
        rport: u32,
    },
    /// Bound to a virtual IRQ.
    Virq(u32),
    /// An inter-processor interrupt within the domain.
    Ipi,
}

/// One port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channel {
    /// Connection.
    pub state: State,
    /// The vCPU notified when it becomes pending.
    pub vcpu: u32,
}

/// A domain's ports.
#[derive(Default)]
pub struct EvtchnTable {
    chans: Vec<Channel>,
    /// Highest port number the domain may use (exclusive).
    pub max_ports: u32,
}

impl EvtchnTable {
    /// A table allowing ports below `max_ports` (at most [`NR_PORTS`]).
    pub fn new(max_ports: u32) -> Self {
        EvtchnTable { chans: Vec::new(), max_ports: max_ports.min(NR_PORTS) }
    }
    /// The channel at `port`, if it exists.
    pub fn get(&self, port: u32) -> Option<&Channel> {
        self.chans.get(port as usize)
    }
    /// The channel at `port`, mutably.
    pub fn get_mut(&mut self, port: u32) -> Option<&mut Channel> {
        self.chans.get_mut(port as usize)
    }
    /// Allocates the lowest free port (never 0).
    fn alloc(&mut self) -> Result<u32, Errno> {
        if let Some(p) = (1..self.chans.len()).find(|&p| self.chans[p].state == State::Free) {
            return Ok(p as u32);
        }
        let p = self.chans.len().max(1);
        if p as u32 >= self.max_ports {
            return Err(Errno(ENOSPC));
        }
        self.chans.resize(p + 1, Channel::default());
        Ok(p as u32)
    }
    /// Ports in use.
    pub fn in_use(&self) -> impl Iterator<Item = (u32, &Channel)> {
        self.chans.iter().enumerate().filter(|(_, c)| c.state != State::Free).map(|(p, c)| (p as u32, c))
    }
}

/// Whether a VIRQ is per-domain (bound on vCPU 0, retargetable) rather
/// than per-vCPU (Xen's `virq_is_global`).
pub fn virq_is_global(virq: u32) -> bool {
    use pv_abi::abi::xen::*;
    !matches!(virq, VIRQ_TIMER | VIRQ_DEBUG | VIRQ_XENOPROF | VIRQ_XENPMU)
}

fn dom_mut(hv: &mut Hv, d: DomId) -> Result<&mut Domain, Errno> {
    hv.domains.get_mut(d).ok_or(Errno(ESRCH))
}

fn resolve(caller: DomId, d: DomId) -> DomId {
    if d == DomId::SELF {
        caller
    } else {
        d
    }
}

fn privileged(hv: &Hv, d: DomId) -> bool {
    hv.domains.get(d).is_some_and(|x| x.privileged)
}

// ---- pending/mask bits in shared_info --------------------------------------

fn word(port: u32) -> (usize, u64) {
    ((port as usize / 64) * 8, 1u64 << (port % 64))
}

/// Whether `port` of `d` is pending.
pub fn is_pending(hv: &Hv, d: DomId, port: u32) -> bool {
    let Some(dom) = hv.domains.get(d) else { return false };
    let (off, bit) = word(port);
    hv.phys.atomic_u64(dom.shared_info, PENDING_OFF + off).load(Ordering::Relaxed) & bit != 0
}

/// Whether `port` of `d` is masked.
pub fn is_masked(hv: &Hv, d: DomId, port: u32) -> bool {
    let Some(dom) = hv.domains.get(d) else { return true };
    let (off, bit) = word(port);
    hv.phys.atomic_u64(dom.shared_info, MASK_OFF + off).load(Ordering::Relaxed) & bit != 0
}

/// Marks the vCPU's upcall pending (selector bit for `port`) and wakes it.
fn notify_vcpu(hv: &mut Hv, d: DomId, v: u32, port: u32) {
    let Some(dom) = hv.domains.get_mut(d) else { return };
    let Some(vc) = dom.vcpus.get_mut(v as usize) else { return };
    let (m, off) = vc.vcpu_info;
    let sel_bit = 1u64 << (port / 64);
    let old = hv.phys.atomic_u64(m, off + vcpu_info::PENDING_SEL).fetch_or(sel_bit, Ordering::SeqCst);
    if old & sel_bit == 0 {
        hv.phys.atomic_u8(m, off + vcpu_info::PENDING).store(1, Ordering::SeqCst);
    }
    kick(hv, d, v);
}

/// Wakes a blocked vCPU (or one polling) so it sees its events.
pub fn kick(hv: &mut Hv, d: DomId, v: u32) {
    if let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(v as usize)) {
        if vc.state == VcpuState::Blocked {
            vc.state = VcpuState::Runnable;
            vc.poll_ports.clear();
            vc.timers.poll_timeout = None;
            crate::common::sched::woke(hv, d, v);
        }
    }
}

/// Raises `port` in `d` (Xen's `evtchn_2l_set_pending`).
pub fn set_pending(hv: &mut Hv, d: DomId, port: u32) {
    let Some(dom) = hv.domains.get(d) else { return };
    let Some(ch) = dom.evtchn.get(port) else { return };
    let v = ch.vcpu;
    let (off, bit) = word(port);
    let old = hv.phys.atomic_u64(dom.shared_info, PENDING_OFF + off).fetch_or(bit, Ordering::SeqCst);
    // A vCPU polling on this port wakes even when the port is masked.
    let polling = dom.vcpus.get(v as usize).is_some_and(|vc| vc.poll_ports.contains(&port));
    if old & bit != 0 {
        return;
    }
    if polling {
        kick(hv, d, v);
    }
    if !is_masked(hv, d, port) {
        notify_vcpu(hv, d, v, port);
    }
}

/// `EVTCHNOP_unmask`: clears the mask and re-raises the upcall if the port
/// is pending (Xen's `evtchn_2l_unmask`). A port never allocated still has
/// its mask bit cleared (Xen does the same: the bits are the guest's).
pub fn unmask(hv: &mut Hv, d: DomId, port: u32) -> Result<(), Errno> {
    let dom = hv.domains.get(d).ok_or(Errno(ESRCH))?;
    if port >= NR_PORTS {
        return Err(Errno(EINVAL));
    }
    let ch = dom.evtchn.get(port).copied().unwrap_or_default();
    let (off, bit) = word(port);
    let was = hv.phys.atomic_u64(dom.shared_info, MASK_OFF + off).fetch_and(!bit, Ordering::SeqCst);
    if was & bit != 0 && is_pending(hv, d, port) {
        notify_vcpu(hv, d, ch.vcpu, port);
    }
    Ok(())
}

fn clear_pending(hv: &Hv, d: DomId, port: u32) {
    if let Some(dom) = hv.domains.get(d) {
        let (off, bit) = word(port);
        hv.phys.atomic_u64(dom.shared_info, PENDING_OFF + off).fetch_and(!bit, Ordering::SeqCst);
    }
}

// ---- operations ---------------------------------------------------------------

/// `EVTCHNOP_alloc_unbound`: a port in `dom` that `remote` may bind.
pub fn alloc_unbound(hv: &mut Hv, caller: DomId, dom: DomId, remote: DomId) -> Result<Port, Errno> {
    let dom = resolve(caller, dom);
    let remote = resolve(caller, remote);
    if dom != caller && !privileged(hv, caller) {
        return Err(Errno(EPERM));
    }
    if hv.domains.get(remote).is_none() {
        return Err(Errno(ESRCH));
    }
    let t = &mut dom_mut(hv, dom)?.evtchn;
    let p = t.alloc()?;
    t.chans[p as usize] = Channel { state: State::Unbound { remote }, vcpu: 0 };
    Ok(Port(p))
}

/// Allocates port `port`-or-lower in `d` with the hypervisor as its peer
/// (the console of the boot-one-guest mode). Returns the port.
pub fn alloc_hypervisor_port(hv: &mut Hv, d: DomId) -> Result<Port, Errno> {
    let t = &mut dom_mut(hv, d)?.evtchn;
    let p = t.alloc()?;
    t.chans[p as usize] = Channel { state: State::Unbound { remote: DomId(pv_abi::abi::xen::DOMID_XEN) }, vcpu: 0 };
    Ok(Port(p))
}

/// `EVTCHNOP_bind_interdomain`: connects a new local port to `remote`'s
/// unbound port, which must be waiting for the caller.
pub fn bind_interdomain(hv: &mut Hv, caller: DomId, remote: DomId, rport: u32) -> Result<Port, Errno> {
    let remote = resolve(caller, remote);
    let rch = *hv.domains.get(remote).ok_or(Errno(ESRCH))?.evtchn.get(rport).ok_or(Errno(EINVAL))?;
    if rch.state != (State::Unbound { remote: caller }) {
        return Err(Errno(EINVAL));
    }
    let lport = {
        let t = &mut dom_mut(hv, caller)?.evtchn;
        let p = t.alloc()?;
        t.chans[p as usize] = Channel { state: State::Interdomain { remote, rport }, vcpu: 0 };
        p
    };
    dom_mut(hv, remote)?.evtchn.chans[rport as usize].state = State::Interdomain { remote: caller, rport: lport };
    // Xen raises the new local port so an event sent before the bind is
    // not lost.
    set_pending(hv, caller, lport);
    Ok(Port(lport))
}

/// `EVTCHNOP_bind_virq`.
pub fn bind_virq(hv: &mut Hv, caller: DomId, virq: u32, vcpu: u32) -> Result<Port, Errno> {
    if virq >= NR_VIRQS || (virq_is_global(virq) && vcpu != 0) {
        return Err(Errno(EINVAL));
    }
    let d = dom_mut(hv, caller)?;
    if vcpu as usize >= d.vcpus.len() {
        return Err(Errno(ENOENT));
    }
    if d.vcpus[vcpu as usize].virq_ports[virq as usize] != 0 {
        return Err(Errno(EEXIST));
    }
    let p = d.evtchn.alloc()?;
    d.evtchn.chans[p as usize] = Channel { state: State::Virq(virq), vcpu };
    d.vcpus[vcpu as usize].virq_ports[virq as usize] = p;
    Ok(Port(p))
}

/// `EVTCHNOP_bind_ipi`.
pub fn bind_ipi(hv: &mut Hv, caller: DomId, vcpu: u32) -> Result<Port, Errno> {
    let d = dom_mut(hv, caller)?;
    if vcpu as usize >= d.vcpus.len() {
        return Err(Errno(ENOENT));
    }
    let p = d.evtchn.alloc()?;
    d.evtchn.chans[p as usize] = Channel { state: State::Ipi, vcpu };
    Ok(Port(p))
}

/// `EVTCHNOP_send`.
pub fn send(hv: &mut Hv, caller: DomId, port: u32) -> Result<(), Errno> {
    let ch = *hv.domains.get(caller).ok_or(Errno(ESRCH))?.evtchn.get(port).ok_or(Errno(EINVAL))?;
    match ch.state {
        State::Interdomain { remote, rport } => set_pending(hv, remote, rport),
        State::Ipi => set_pending(hv, caller, port),
        // The hypervisor itself is the back end (boot-one-guest console).
        State::Unbound { remote } if remote.0 == pv_abi::abi::xen::DOMID_XEN => {
            crate::common::console::drain_ring(hv, caller);
        }
        // Nobody bound yet: silently dropped, as Xen does.
        State::Unbound { .. } => {}
        State::Free | State::Virq(_) => return Err(Errno(EINVAL)),
    }
    Ok(())
}

/// Closes a port of `d` (Xen's `evtchn_close`): a connected peer port goes
/// back to unbound, waiting for `d`.
pub fn close(hv: &mut Hv, d: DomId, port: u32) -> Result<(), Errno> {
    let ch = *hv.domains.get(d).ok_or(Errno(ESRCH))?.evtchn.get(port).ok_or(Errno(EINVAL))?;
    match ch.state {
        State::Free => return Err(Errno(EINVAL)),
        State::Interdomain { remote, rport } => {
            if let Some(r) = hv.domains.get_mut(remote).and_then(|rd| rd.evtchn.get_mut(rport)) {
                if r.state == (State::Interdomain { remote: d, rport: port }) {
                    r.state = State::Unbound { remote: d };
                }
            }
        }
        State::Virq(virq) => {
            if let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(ch.vcpu as usize)) {
                if vc.virq_ports[virq as usize] == port {
                    vc.virq_ports[virq as usize] = 0;
                }
            }
        }
        State::Unbound { .. } | State::Ipi => {}
    }
    clear_pending(hv, d, port);
    if let Some(c) = dom_mut(hv, d)?.evtchn.get_mut(port) {
        *c = Channel::default();
    }
    Ok(())
}

/// `EVTCHNOP_close` on behalf of `caller`.
pub fn close_port(hv: &mut Hv, caller: DomId, port: u32) -> Result<(), Errno> {
    close(hv, caller, port)
}

/// `EVTCHNOP_bind_vcpu`: retargets notification of an interdomain,
/// unbound or global-VIRQ port.
pub fn bind_vcpu(hv: &mut Hv, caller: DomId, port: u32, vcpu: u32) -> Result<(), Errno> {
    let d = dom_mut(hv, caller)?;
    if vcpu as usize >= d.vcpus.len() {
        return Err(Errno(ENOENT));
    }
    let ch = d.evtchn.get_mut(port).ok_or(Errno(EINVAL))?;
    match ch.state {
        State::Interdomain { .. } | State::Unbound { .. } => ch.vcpu = vcpu,
        State::Virq(v) if virq_is_global(v) => {
            let old = ch.vcpu;
            ch.vcpu = vcpu;
            d.vcpus[old as usize].virq_ports[v as usize] = 0;
            d.vcpus[vcpu as usize].virq_ports[v as usize] = port;
        }
        _ => return Err(Errno(EINVAL)),
    }
    Ok(())
}

/// `EVTCHNOP_reset`: closes every port of `dom`.
pub fn reset(hv: &mut Hv, caller: DomId, dom: DomId) -> Result<(), Errno> {
    let dom = resolve(caller, dom);
    if dom != caller && !privileged(hv, caller) {
        return Err(Errno(EPERM));
    }
    let ports: Vec<u32> = hv.domains.get(dom).ok_or(Errno(ESRCH))?.evtchn.in_use().map(|(p, _)| p).collect();
    for p in ports {
        close(hv, dom, p)?;
    }
    Ok(())
}

/// Raises VIRQ `virq` of vCPU `v` of `d`, if bound.
pub fn send_virq(hv: &mut Hv, d: DomId, v: u32, virq: u32) {
    let port = hv.domains.get(d).and_then(|dom| dom.vcpus.get(v as usize)).map_or(0, |vc| vc.virq_ports[virq as usize]);
    if port != 0 {
        set_pending(hv, d, port);
    }
}

/// Raises a global VIRQ of `d` (wherever it was bound).
pub fn send_global_virq(hv: &mut Hv, d: DomId, virq: u32) {
    let port = hv
        .domains
        .get(d)
        .and_then(|dom| dom.vcpus.iter().map(|vc| vc.virq_ports[virq as usize]).find(|&p| p != 0))
        .unwrap_or(0);
    if port != 0 {
        set_pending(hv, d, port);
    }
}

// ---- the hypercall -----------------------------------------------------------------

use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use pv_abi::abi::event_channel::*;

/// `EVTCHNOP_status` for `port` of `dom`.
pub fn status(hv: &Hv, caller: DomId, dom: DomId, port: u32) -> Result<EvtchnStatus, Errno> {
    let dom = resolve(caller, dom);
    if dom != caller && !privileged(hv, caller) {
        return Err(Errno(EPERM));
    }
    let d = hv.domains.get(dom).ok_or(Errno(ESRCH))?;
    if port >= d.evtchn.max_ports {
        return Err(Errno(EINVAL));
    }
    let ch = d.evtchn.get(port).copied().unwrap_or_default();
    let mut st = EvtchnStatus { dom: dom.0, port, vcpu: ch.vcpu, ..Default::default() };
    match ch.state {
        State::Free => st.status = EVTCHNSTAT_closed,
        State::Unbound { remote } => {
            st.status = EVTCHNSTAT_unbound;
            st.u.set_unbound(&EvtchnStatusUnbound { dom: remote.0 });
        }
        State::Interdomain { remote, rport } => {
            st.status = EVTCHNSTAT_interdomain;
            st.u.set_interdomain(&EvtchnStatusInterdomain { dom: remote.0, _pad: 0, port: rport });
        }
        State::Virq(v) => {
            st.status = EVTCHNSTAT_virq;
            st.u.set_virq(v);
        }
        State::Ipi => st.status = EVTCHNSTAT_ipi,
    }
    Ok(st)
}

/// `event_channel_op(cmd, arg)`.
pub fn do_event_channel_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, arg) = (a[0], a[1]);
    if cmd > u32::MAX as u64 {
        return Err(Errno(ENOSYS));
    }
    let caller = ctx.dom;
    match cmd as u32 {
        EVTCHNOP_alloc_unbound => {
            let p = GuestPtr::<EvtchnAllocUnbound>::new(arg);
            let mut op = p.read(ctx.mem)?;
            op.port = alloc_unbound(ctx.hv, caller, DomId(op.dom), DomId(op.remote_dom))?.0;
            p.write(ctx.mem, &op).map(|_| 0)
        }
        EVTCHNOP_bind_interdomain => {
            let p = GuestPtr::<EvtchnBindInterdomain>::new(arg);
            let mut op = p.read(ctx.mem)?;
            op.local_port = bind_interdomain(ctx.hv, caller, DomId(op.remote_dom), op.remote_port)?.0;
            p.write(ctx.mem, &op).map(|_| 0)
        }
        EVTCHNOP_bind_virq => {
            let p = GuestPtr::<EvtchnBindVirq>::new(arg);
            let mut op = p.read(ctx.mem)?;
            op.port = bind_virq(ctx.hv, caller, op.virq, op.vcpu)?.0;
            p.write(ctx.mem, &op).map(|_| 0)
        }
        EVTCHNOP_bind_ipi => {
            let p = GuestPtr::<EvtchnBindIpi>::new(arg);
            let mut op = p.read(ctx.mem)?;
            op.port = bind_ipi(ctx.hv, caller, op.vcpu)?.0;
            p.write(ctx.mem, &op).map(|_| 0)
        }
        // No physical IRQs are routed to guests.
        EVTCHNOP_bind_pirq => Err(Errno(EPERM)),
        EVTCHNOP_close => {
            let op = GuestPtr::<EvtchnClose>::new(arg).read(ctx.mem)?;
            close_port(ctx.hv, caller, op.port).map(|_| 0)
        }
        EVTCHNOP_send => {
            let op = GuestPtr::<EvtchnSend>::new(arg).read(ctx.mem)?;
            send(ctx.hv, caller, op.port).map(|_| 0)
        }
        EVTCHNOP_status => {
            let p = GuestPtr::<EvtchnStatus>::new(arg);
            let op = p.read(ctx.mem)?;
            let st = status(ctx.hv, caller, DomId(op.dom), op.port)?;
            p.write(ctx.mem, &st).map(|_| 0)
        }
        EVTCHNOP_bind_vcpu => {
            let op = GuestPtr::<EvtchnBindVcpu>::new(arg).read(ctx.mem)?;
            bind_vcpu(ctx.hv, caller, op.port, op.vcpu).map(|_| 0)
        }
        EVTCHNOP_unmask => {
            let op = GuestPtr::<EvtchnUnmask>::new(arg).read(ctx.mem)?;
            let max = ctx.hv.domains.get(caller).map_or(0, |d| d.evtchn.max_ports);
            if op.port >= max {
                return Err(Errno(EINVAL));
            }
            unmask(ctx.hv, caller, op.port).map(|_| 0)
        }
        EVTCHNOP_reset => {
            let op = GuestPtr::<EvtchnReset>::new(arg).read(ctx.mem)?;
            reset(ctx.hv, caller, DomId(op.dom)).map(|_| 0)
        }
        // FIFO is not implemented: a guest falls back to 2-level.
        EVTCHNOP_init_control | EVTCHNOP_expand_array | EVTCHNOP_set_priority => Err(Errno(ENOSYS)),
        _ => Err(Errno(ENOSYS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::domain::{Domain, DomainState};
    use crate::common::frame::Owner;
    use crate::common::testutil;
    use pv_abi::abi::xen::{VIRQ_DOM_EXC, VIRQ_TIMER};

    fn world() -> Hv {
        let mut hv = testutil::hv(64);
        for (id, privileged) in [(0u16, true), (1, false), (2, false)] {
            let si = hv.frames.alloc(Owner::Domain(DomId(id))).unwrap();
            let mut d = Domain::new(DomId(id), privileged, 2, si);
            d.state = DomainState::Running;
            for v in &mut d.vcpus {
                v.state = VcpuState::Runnable;
            }
            hv.domains.insert(d);
        }
        hv
    }

    fn upcall(hv: &Hv, d: u16, v: u32) -> u8 {
        let (m, off) = hv.domains.get(DomId(d)).unwrap().vcpus[v as usize].vcpu_info;
        hv.phys.atomic_u8(m, off + vcpu_info::PENDING).load(Ordering::Relaxed)
    }

    fn clear_upcall(hv: &Hv, d: u16, v: u32) {
        let (m, off) = hv.domains.get(DomId(d)).unwrap().vcpus[v as usize].vcpu_info;
        hv.phys.atomic_u8(m, off + vcpu_info::PENDING).store(0, Ordering::Relaxed);
        hv.phys.atomic_u64(m, off + vcpu_info::PENDING_SEL).store(0, Ordering::Relaxed);
    }

    fn mask(hv: &Hv, d: u16, port: u32) {
        let (off, bit) = word(port);
        let si = hv.domains.get(DomId(d)).unwrap().shared_info;
        hv.phys.atomic_u64(si, MASK_OFF + off).fetch_or(bit, Ordering::Relaxed);
    }

    #[test]
    fn interdomain_bind_send_and_close_from_either_side() {
        let mut hv = world();
        let (a, b) = (DomId(1), DomId(2));
        let pa = alloc_unbound(&mut hv, a, DomId::SELF, b).unwrap();
        assert_eq!(pa, Port(1), "port 0 is never handed out");
        assert_eq!(bind_interdomain(&mut hv, DomId(0), a, pa.0), Err(Errno(EINVAL)), "only b may bind");
        let pb = bind_interdomain(&mut hv, b, a, pa.0).unwrap();
        assert_eq!(
            hv.domains.get(a).unwrap().evtchn.get(pa.0).unwrap().state,
            State::Interdomain { remote: b, rport: pb.0 }
        );
        clear_pending(&hv, b, pb.0);
        clear_upcall(&hv, 2, 0);
        send(&mut hv, a, pa.0).unwrap();
        assert!(is_pending(&hv, b, pb.0));
        assert_eq!(upcall(&hv, 2, 0), 1);
        assert!(!is_pending(&hv, a, pa.0));
        // Close from b: a's port goes back to unbound (waiting for b), and a
        // send into it is silently dropped.
        close(&mut hv, b, pb.0).unwrap();
        assert_eq!(hv.domains.get(a).unwrap().evtchn.get(pa.0).unwrap().state, State::Unbound { remote: b });
        assert_eq!(send(&mut hv, a, pa.0), Ok(()));
        // b can bind again; then close from a's side.
        let pb2 = bind_interdomain(&mut hv, b, a, pa.0).unwrap();
        close(&mut hv, a, pa.0).unwrap();
        assert_eq!(hv.domains.get(b).unwrap().evtchn.get(pb2.0).unwrap().state, State::Unbound { remote: a });
        assert_eq!(send(&mut hv, b, pb2.0), Ok(()));
        assert_eq!(close(&mut hv, a, pa.0), Err(Errno(EINVAL)), "closing a free port");
        assert_eq!(send(&mut hv, a, 4000), Err(Errno(EINVAL)));
    }

    #[test]
    fn masking_holds_the_upcall_and_unmask_releases_it() {
        let mut hv = world();
        let a = DomId(1);
        let p = bind_ipi(&mut hv, a, 1).unwrap().0;
        mask(&hv, 1, p);
        send(&mut hv, a, p).unwrap();
        assert!(is_pending(&hv, a, p));
        assert_eq!(upcall(&hv, 1, 1), 0, "masked: no upcall");
        unmask(&mut hv, a, p).unwrap();
        assert_eq!(upcall(&hv, 1, 1), 1, "unmask of a pending port raises it");
        assert_eq!(upcall(&hv, 1, 0), 0, "on the vCPU the IPI targets");
    }

    #[test]
    fn a_blocked_vcpu_is_woken() {
        let mut hv = world();
        let a = DomId(1);
        let p = bind_ipi(&mut hv, a, 0).unwrap().0;
        hv.domains.get_mut(a).unwrap().vcpus[0].state = VcpuState::Blocked;
        send(&mut hv, a, p).unwrap();
        assert_eq!(hv.domains.get(a).unwrap().vcpus[0].state, VcpuState::Runnable);
    }

    #[test]
    fn virqs_bind_per_vcpu_and_global() {
        let mut hv = world();
        let a = DomId(1);
        let t1 = bind_virq(&mut hv, a, VIRQ_TIMER, 1).unwrap().0;
        assert_eq!(bind_virq(&mut hv, a, VIRQ_TIMER, 1), Err(Errno(EEXIST)));
        assert_eq!(bind_virq(&mut hv, a, VIRQ_DOM_EXC, 1), Err(Errno(EINVAL)), "global VIRQs bind on vCPU 0");
        assert_eq!(bind_virq(&mut hv, a, 99, 0), Err(Errno(EINVAL)));
        send_virq(&mut hv, a, 1, VIRQ_TIMER);
        assert!(is_pending(&hv, a, t1));
        assert_eq!(send(&mut hv, a, t1), Err(Errno(EINVAL)), "a VIRQ port cannot be sent on");
        let g = bind_virq(&mut hv, a, VIRQ_DOM_EXC, 0).unwrap().0;
        bind_vcpu(&mut hv, a, g, 1).unwrap();
        clear_upcall(&hv, 1, 1);
        send_global_virq(&mut hv, a, VIRQ_DOM_EXC);
        assert!(is_pending(&hv, a, g));
        assert_eq!(upcall(&hv, 1, 1), 1, "retargeted to vCPU 1");
        assert_eq!(bind_vcpu(&mut hv, a, t1, 0), Err(Errno(EINVAL)), "per-vCPU VIRQs stay put");
        close(&mut hv, a, t1).unwrap();
        assert_eq!(hv.domains.get(a).unwrap().vcpus[1].virq_ports[VIRQ_TIMER as usize], 0);
    }

    #[test]
    fn permissions_and_limits() {
        let mut hv = world();
        let (a, b) = (DomId(1), DomId(2));
        assert_eq!(alloc_unbound(&mut hv, a, b, a), Err(Errno(EPERM)), "a domU cannot allocate in another domain");
        assert!(alloc_unbound(&mut hv, DomId(0), b, DomId(0)).is_ok(), "dom0 can (the toolstack does)");
        assert_eq!(alloc_unbound(&mut hv, a, DomId::SELF, DomId(9)), Err(Errno(ESRCH)));
        assert_eq!(reset(&mut hv, a, b), Err(Errno(EPERM)));
        hv.domains.get_mut(a).unwrap().evtchn.max_ports = 4;
        for _ in 1..4 {
            bind_ipi(&mut hv, a, 0).unwrap();
        }
        assert_eq!(bind_ipi(&mut hv, a, 0), Err(Errno(ENOSPC)));
        reset(&mut hv, a, DomId::SELF).unwrap();
        assert_eq!(hv.domains.get(a).unwrap().evtchn.in_use().count(), 0);
        assert_eq!(bind_ipi(&mut hv, a, 7), Err(Errno(ENOENT)));
    }

    #[test]
    fn loopback_channel_to_self() {
        let mut hv = world();
        let a = DomId(1);
        let p = alloc_unbound(&mut hv, a, DomId::SELF, DomId::SELF).unwrap().0;
        let q = bind_interdomain(&mut hv, a, DomId::SELF, p).unwrap().0;
        clear_pending(&hv, a, p);
        clear_pending(&hv, a, q);
        send(&mut hv, a, q).unwrap();
        assert!(is_pending(&hv, a, p) && !is_pending(&hv, a, q));
    }
}
