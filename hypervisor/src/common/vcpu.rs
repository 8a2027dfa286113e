//! `vcpu_op`, `set_timer_op` and the blocking `sched_op`s (Xen's
//! `common/domain.c` `do_vcpu_op`, `common/schedule.c`).

use crate::common::domain::{vcpu_info, VcpuState};
use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use crate::common::time::{self, MILLISECOND};
use crate::common::{event, Hv};
use core::sync::atomic::Ordering;
use pv_abi::abi::errno::*;
use pv_abi::abi::vcpu::*;
use pv_abi::{DomId, Mfn};

/// Largest `SCHEDOP_poll` port list (Xen's limit).
pub const MAX_POLL_PORTS: u32 = 128;

/// Moves the vCPU's runstate to `state` at `now`, accumulating the time
/// spent in the old one, and copies it to the guest's registered area if
/// `mem` reaches it (the vCPU's own address space is loaded).
pub fn set_runstate(hv: &mut Hv, d: DomId, v: u32, state: i32, now: u64) -> Option<(u64, VcpuRunstateInfo)> {
    let vc = hv.domains.get_mut(d)?.vcpus.get_mut(v as usize)?;
    let rs = &mut vc.runstate;
    if let Some(t) = rs.time.get_mut(rs.state as usize) {
        *t += now.saturating_sub(rs.state_entry_time);
    }
    rs.state = state;
    rs.state_entry_time = now;
    (vc.runstate_guest != 0).then_some((vc.runstate_guest, *rs))
}

/// Copies a runstate snapshot to the guest (Xen's `update_runstate_area`,
/// with `XEN_RUNSTATE_UPDATE` set while writing, as guests that enable
/// `VMASST_TYPE_runstate_update_flag` expect; the final value is clean).
pub fn write_runstate<M: GuestMem>(mem: &mut M, at: u64, rs: &VcpuRunstateInfo) {
    let mut busy = *rs;
    busy.state_entry_time |= XEN_RUNSTATE_UPDATE;
    let p = GuestPtr::<VcpuRunstateInfo>::new(at);
    // A bad address is the guest's problem: Xen ignores the failure too.
    let _ = GuestPtr::<u64>::new(at + 8).write(mem, &busy.state_entry_time);
    let _ = p.write(mem, &busy);
    let _ = GuestPtr::<u64>::new(at + 8).write(mem, &rs.state_entry_time);
}

fn vcpu_exists(hv: &Hv, d: DomId, v: u32) -> bool {
    hv.domains.get(d).is_some_and(|dom| (v as usize) < dom.vcpus.len())
}

/// Blocks the calling vCPU until an event is pending (Xen's `vcpu_block`
/// via `SCHEDOP_block`): events are enabled first, and a pending upcall
/// means no block at all, so no wake-up is lost.
pub fn block(hv: &mut Hv, d: DomId, v: u32) {
    let Some(vc) = hv.domains.get(d).and_then(|dom| dom.vcpus.get(v as usize)) else { return };
    let (m, off) = vc.vcpu_info;
    hv.phys.atomic_u8(m, off + vcpu_info::MASK).store(0, Ordering::SeqCst);
    if hv.phys.atomic_u8(m, off + vcpu_info::PENDING).load(Ordering::SeqCst) != 0 {
        return;
    }
    if let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(v as usize)) {
        vc.state = VcpuState::Blocked;
    }
    hv.sched.need_resched = true;
}

/// `SCHEDOP_poll`: blocks until one of `ports` is pending (even masked) or
/// `timeout` (absolute system time, 0: none) passes.
pub fn poll(hv: &mut Hv, d: DomId, v: u32, ports: &[u32], timeout: u64) -> Result<(), Errno> {
    let max = hv.domains.get(d).map_or(0, |dom| dom.evtchn.max_ports);
    for &p in ports {
        if p >= max {
            return Err(Errno(EINVAL));
        }
        if event::is_pending(hv, d, p) {
            return Ok(());
        }
    }
    let now = time::now(hv);
    if timeout != 0 && timeout <= now {
        return Ok(());
    }
    if let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(v as usize)) {
        vc.poll_ports = ports.to_vec();
        vc.timers.poll_timeout = (timeout != 0).then_some(timeout);
        vc.state = VcpuState::Blocked;
    }
    hv.sched.need_resched = true;
    hv.sched.rearm = true;
    Ok(())
}

/// Arms the one-shot timer (Xen's `set_timer_op` semantics: 0 stops it; a
/// past deadline fires at once; an absurd future one is clamped, as Xen
/// does for Linux's wrapped jiffies).
pub fn set_singleshot(hv: &mut Hv, d: DomId, v: u32, timeout: u64) {
    let now = time::now(hv);
    let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(v as usize)) else { return };
    vc.timers.singleshot = match timeout {
        0 => None,
        t if t >> 50 != 0 => Some(now + (1 << 50)),
        t => Some(t.max(now)),
    };
    hv.sched.rearm = true;
}

/// `set_timer_op(timeout)`.
pub fn do_set_timer_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    set_singleshot(ctx.hv, ctx.dom, ctx.vcpu, a[0]);
    Ok(0)
}

/// Registers the runstate area and writes it at once.
fn register_runstate<M: GuestMem>(ctx: &mut Ctx<'_, M>, v: u32, addr: u64) -> HcResult {
    let now = time::now(ctx.hv);
    let vc = &mut ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[v as usize];
    vc.runstate_guest = addr;
    if addr != 0 {
        let mut rs = vc.runstate;
        if let Some(t) = rs.time.get_mut(rs.state as usize) {
            *t += now.saturating_sub(rs.state_entry_time);
        }
        rs.state_entry_time = now;
        vc.runstate = rs;
        if v == ctx.vcpu {
            write_runstate(ctx.mem, addr, &rs);
        }
    }
    Ok(0)
}

/// `VCPUOP_register_vcpu_info`: moves the vCPU's `vcpu_info` into a page
/// of the guest's (the frame must be the caller's, and becomes pinned as
/// writable so it can never turn into a page table). The current contents
/// are copied across, and the event selector re-raised, as Xen does.
fn register_vcpu_info<M: GuestMem>(ctx: &mut Ctx<'_, M>, v: u32, mfn: u64, offset: u32) -> HcResult {
    let size = core::mem::size_of::<pv_abi::abi::xen::VcpuInfo>() as u32;
    if offset > 4096 - size || !offset.is_multiple_of(8) {
        return Err(Errno(EINVAL));
    }
    let d = ctx.dom;
    if ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].vcpu_info_registered {
        return Err(Errno(EINVAL));
    }
    let m = Mfn(mfn);
    crate::arch::pin_writable(ctx.hv, d, m)?;
    let (old, old_off) = ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].vcpu_info;
    let mut buf = [0u8; 64];
    ctx.hv.phys.read(old, old_off, &mut buf);
    ctx.hv.phys.write(m, offset as usize, &buf);
    let vc = &mut ctx.hv.domains.get_mut(d).ok_or(Errno(ESRCH))?.vcpus[v as usize];
    vc.vcpu_info = (m, offset as usize);
    vc.vcpu_info_registered = true;
    // Xen marks every selector bit and the upcall pending, so events
    // raised while the area moved are looked at again.
    ctx.hv.phys.atomic_u64(m, offset as usize + vcpu_info::PENDING_SEL).store(!0, Ordering::SeqCst);
    ctx.hv.phys.atomic_u8(m, offset as usize + vcpu_info::PENDING).store(1, Ordering::SeqCst);
    time::update_vcpu_time(ctx.hv, d, v);
    Ok(0)
}

/// `vcpu_op(cmd, vcpu, arg)`.
pub fn do_vcpu_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, v, arg) = (a[0], a[1], a[2]);
    if cmd > u32::MAX as u64 || v > u32::MAX as u64 {
        return Err(Errno(ENOSYS));
    }
    let v = v as u32;
    let d = ctx.dom;
    if !vcpu_exists(ctx.hv, d, v) {
        return Err(Errno(ENOENT));
    }
    let state = ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].state;
    match cmd as u32 {
        VCPUOP_is_up => Ok((state != VcpuState::Down) as i64),
        VCPUOP_up => {
            // A vCPU must have been given a context first (initialise).
            let vc = &mut ctx.hv.domains.get_mut(d).ok_or(Errno(ESRCH))?.vcpus[v as usize];
            if vc.arch.cr3_kernel.0 == 0 {
                return Err(Errno(EINVAL));
            }
            if vc.state == VcpuState::Down {
                vc.state = VcpuState::Runnable;
                let now = time::now(ctx.hv);
                set_runstate(ctx.hv, d, v, RUNSTATE_runnable, now);
                ctx.hv.sched.need_resched = true;
            }
            Ok(0)
        }
        VCPUOP_down => {
            let vc = &mut ctx.hv.domains.get_mut(d).ok_or(Errno(ESRCH))?.vcpus[v as usize];
            vc.state = VcpuState::Down;
            let now = time::now(ctx.hv);
            set_runstate(ctx.hv, d, v, RUNSTATE_offline, now);
            ctx.hv.sched.need_resched = true;
            Ok(0)
        }
        VCPUOP_initialise => {
            if state != VcpuState::Down {
                return Err(Errno(EEXIST));
            }
            let c = GuestPtr::<pv_abi::abi::arch_x86::VcpuGuestContext>::new(arg).read(ctx.mem)?;
            crate::arch::set_vcpu_context(ctx.hv, d, v, &c).map(|_| 0)
        }
        VCPUOP_get_runstate_info => {
            let now = time::now(ctx.hv);
            let vc = &ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize];
            let mut rs = vc.runstate;
            if let Some(t) = rs.time.get_mut(rs.state as usize) {
                *t += now.saturating_sub(rs.state_entry_time);
            }
            GuestPtr::<VcpuRunstateInfo>::new(arg).write(ctx.mem, &rs).map(|_| 0)
        }
        VCPUOP_register_runstate_memory_area => {
            let r = GuestPtr::<VcpuRegisterRunstateMemoryArea>::new(arg).read(ctx.mem)?;
            register_runstate(ctx, v, r.addr)
        }
        VCPUOP_set_periodic_timer => {
            let t = GuestPtr::<VcpuSetPeriodicTimer>::new(arg).read(ctx.mem)?;
            if t.period_ns < MILLISECOND {
                return Err(Errno(EINVAL));
            }
            let now = time::now(ctx.hv);
            let vc = &mut ctx.hv.domains.get_mut(d).ok_or(Errno(ESRCH))?.vcpus[v as usize];
            vc.timers.period = t.period_ns;
            vc.timers.periodic_next = now + t.period_ns;
            ctx.hv.sched.rearm = true;
            Ok(0)
        }
        VCPUOP_stop_periodic_timer => {
            ctx.hv.domains.get_mut(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].timers.period = 0;
            Ok(0)
        }
        VCPUOP_set_singleshot_timer => {
            if v != ctx.vcpu {
                return Err(Errno(EINVAL));
            }
            let t = GuestPtr::<VcpuSetSingleshotTimer>::new(arg).read(ctx.mem)?;
            if t.flags & VCPU_SSHOTTMR_future != 0 && t.timeout_abs_ns < time::now(ctx.hv) {
                return Err(Errno(ETIME));
            }
            set_singleshot(ctx.hv, d, v, t.timeout_abs_ns.max(1));
            Ok(0)
        }
        VCPUOP_stop_singleshot_timer => {
            if v != ctx.vcpu {
                return Err(Errno(EINVAL));
            }
            ctx.hv.domains.get_mut(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].timers.singleshot = None;
            Ok(0)
        }
        VCPUOP_register_vcpu_info => {
            let r = GuestPtr::<VcpuRegisterVcpuInfo>::new(arg).read(ctx.mem)?;
            register_vcpu_info(ctx, v, r.mfn, r.offset)
        }
        VCPUOP_get_physid => Err(Errno(EINVAL)),
        _ => Err(Errno(ENOSYS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::x86_64::pv::tests_support::{world, DOM};
    use pv_abi::abi::xen::hypercall as nr;
    use zerocopy::IntoBytes;

    #[test]
    fn is_up_and_unknown_vcpus() {
        let (mut w, mut m) = world();
        assert_eq!(w.call(&mut m, nr::vcpu_op, [VCPUOP_is_up as u64, 0, 0, 0, 0]), 1);
        assert_eq!(w.call(&mut m, nr::vcpu_op, [VCPUOP_is_up as u64, 1, 0, 0, 0]), -(ENOENT as i64));
        assert_eq!(w.call(&mut m, nr::vcpu_op, [VCPUOP_is_up as u64, 1 << 32, 0, 0, 0]), -(ENOSYS as i64));
        assert_eq!(w.call(&mut m, nr::vcpu_op, [99, 0, 0, 0, 0]), -(ENOSYS as i64));
    }

    #[test]
    fn runstate_area_is_written_and_tracks_time() {
        let (mut w, mut m) = world();
        let at = crate::arch::x86_64::pv::tests_support::BUF + 256;
        m.bytes[..8].copy_from_slice(&at.to_le_bytes());
        let base = crate::arch::x86_64::pv::tests_support::BUF;
        let r = w.call(&mut m, nr::vcpu_op, [VCPUOP_register_runstate_memory_area as u64, 0, base, 0, 0]);
        assert_eq!(r, 0);
        set_runstate(&mut w.hv, DOM, 0, RUNSTATE_running, 1000);
        let (addr, rs) = set_runstate(&mut w.hv, DOM, 0, RUNSTATE_blocked, 5000).unwrap();
        assert_eq!(addr, at);
        assert_eq!(rs.time[RUNSTATE_running as usize], 4000);
        write_runstate(&mut m, addr, &rs);
        let off = (at - base) as usize;
        assert_eq!(&m.bytes[off..off + 48], rs.as_bytes());
        assert_eq!(
            w.call(&mut m, nr::vcpu_op, [VCPUOP_get_runstate_info as u64, 0, 0xdead_0000, 0, 0]),
            -(EFAULT as i64)
        );
    }

    #[test]
    fn timers() {
        let (mut w, mut m) = world();
        let base = crate::arch::x86_64::pv::tests_support::BUF;
        // Periodic below 1 ms is refused.
        m.bytes[..8].copy_from_slice(&1000u64.to_le_bytes());
        assert_eq!(w.call(&mut m, nr::vcpu_op, [VCPUOP_set_periodic_timer as u64, 0, base, 0, 0]), -(EINVAL as i64));
        assert_eq!(w.call(&mut m, nr::vcpu_op, [VCPUOP_stop_periodic_timer as u64, 0, 0, 0, 0]), 0);
        assert_eq!(w.vcpu().timers.period, 0);
        // A future-only one-shot in the past is -ETIME.
        let now = time::now(&w.hv);
        let t = VcpuSetSingleshotTimer { timeout_abs_ns: now.saturating_sub(1), flags: VCPU_SSHOTTMR_future, _pad: 0 };
        m.bytes[..16].copy_from_slice(t.as_bytes());
        if now > 0 {
            assert_eq!(
                w.call(&mut m, nr::vcpu_op, [VCPUOP_set_singleshot_timer as u64, 0, base, 0, 0]),
                -(ETIME as i64)
            );
        }
        let t = VcpuSetSingleshotTimer { timeout_abs_ns: now + 5_000_000, flags: VCPU_SSHOTTMR_future, _pad: 0 };
        m.bytes[..16].copy_from_slice(t.as_bytes());
        assert_eq!(w.call(&mut m, nr::vcpu_op, [VCPUOP_set_singleshot_timer as u64, 0, base, 0, 0]), 0);
        assert_eq!(w.vcpu().timers.singleshot, Some(now + 5_000_000));
        assert_eq!(w.call(&mut m, nr::set_timer_op, [0, 0, 0, 0, 0]), 0);
        assert_eq!(w.vcpu().timers.singleshot, None);
        assert_eq!(w.call(&mut m, nr::set_timer_op, [u64::MAX, 0, 0, 0, 0]), 0);
        assert_eq!(w.vcpu().timers.singleshot, Some(now + (1 << 50)));
    }

    #[test]
    fn block_enables_events_and_does_not_block_with_one_pending() {
        let (mut w, _m) = world();
        crate::common::domain::set_upcall_mask(&w.hv, DOM, 0, 1);
        let (mf, off) = w.vcpu().vcpu_info;
        w.hv.phys.atomic_u8(mf, off + vcpu_info::PENDING).store(1, Ordering::SeqCst);
        block(&mut w.hv, DOM, 0);
        assert_eq!(w.mask(), 0, "block enables event delivery");
        assert_eq!(w.vcpu().state, VcpuState::Runnable, "an upcall is pending: no block");
        w.hv.phys.atomic_u8(mf, off + vcpu_info::PENDING).store(0, Ordering::SeqCst);
        block(&mut w.hv, DOM, 0);
        assert_eq!(w.vcpu().state, VcpuState::Blocked);
        // An event wakes it.
        let p = event::bind_ipi(&mut w.hv, DOM, 0).unwrap().0;
        event::send(&mut w.hv, DOM, p).unwrap();
        assert_eq!(w.vcpu().state, VcpuState::Runnable);
    }

    #[test]
    fn poll_wakes_on_a_masked_port() {
        let (mut w, _m) = world();
        let p = event::bind_ipi(&mut w.hv, DOM, 0).unwrap().0;
        let si = w.hv.domains.get(DOM).unwrap().shared_info;
        w.hv.phys.atomic_u64(si, 2560).fetch_or(1 << p, Ordering::SeqCst);
        poll(&mut w.hv, DOM, 0, &[p], 0).unwrap();
        assert_eq!(w.vcpu().state, VcpuState::Blocked);
        event::send(&mut w.hv, DOM, p).unwrap();
        assert_eq!(w.vcpu().state, VcpuState::Runnable);
        // Already pending: returns at once.
        poll(&mut w.hv, DOM, 0, &[p], 0).unwrap();
        assert_eq!(w.vcpu().state, VcpuState::Runnable);
        assert_eq!(poll(&mut w.hv, DOM, 0, &[5000], 0), Err(Errno(EINVAL)));
    }
}
