//! The guest's hypercall layer.
//!
//! A PV kernel calls hypercall `nr` with `call hypercall_page + nr*32`; the
//! hypervisor fills the page with 32-byte stubs before the kernel runs
//! (`XEN_ELFNOTE_HYPERCALL_PAGE` tells it where the page is). Arguments go
//! in `rdi rsi rdx r10 r8`, the result comes back in `rax`; the argument
//! registers may be clobbered (debug builds of Xen do), `rcx`/`r11` are
//! saved by the stub.
//!
//! The raw `hypercallN` functions are `unsafe` (a hypercall can write any
//! guest memory its arguments point at); the typed wrappers below them are
//! safe because they only pass pointers to live Rust objects of the type
//! the hypercall expects.

use crate::abi::errno::Errno;
use crate::abi::event_channel as evtchn;
use crate::abi::grant_table as gnttab;
use crate::abi::xen::hypercall as nr;
use crate::abi::{arch_x86, callback, memory, physdev, sched, version, xen};
use crate::types::{DomId, Port};
use core::arch::{asm, global_asm};

// The page itself is emitted by the kernel binary (`pv_kernel!`) with its
// ELF note. The reference here is weak so host builds of this crate (tools,
// tests), which never make hypercalls, link without it.
global_asm!(".weak hypercall_page", options(att_syntax));

#[inline(always)]
fn stub(nr: u32) -> usize {
    let page: usize;
    // SAFETY: loads the page's address from the GOT (relaxed to a `lea` in
    // the static kernel link); no memory is dereferenced.
    unsafe {
        asm!("mov {}, qword ptr [rip + hypercall_page@GOTPCREL]", out(reg) page, options(nostack, pure, readonly))
    };
    page + nr as usize * nr::STUB_SIZE
}

/// Hypercall with no argument.
///
/// # Safety
/// The hypercall must not write memory Rust considers borrowed.
#[inline(always)]
pub unsafe fn hypercall0(nr: u32) -> i64 {
    let ret: i64;
    // SAFETY: the stub is the hypervisor's; the caller vouches for the effect.
    unsafe {
        asm!("call {f}", f = in(reg) stub(nr), lateout("rax") ret,
            lateout("rdi") _, lateout("rsi") _, lateout("rdx") _, lateout("r10") _, lateout("r8") _);
    }
    ret
}

/// Hypercall with up to five arguments (unused ones 0).
///
/// # Safety
/// Pointer arguments must be valid for what the hypercall reads and writes.
#[inline(always)]
pub unsafe fn hypercall5(nr: u32, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: the stub is the hypervisor's; the caller vouches for the arguments.
    unsafe {
        asm!("call {f}", f = in(reg) stub(nr), lateout("rax") ret,
            inout("rdi") a1 => _, inout("rsi") a2 => _, inout("rdx") a3 => _,
            inout("r10") a4 => _, inout("r8") a5 => _);
    }
    ret
}

/// Hypercall with one argument.
///
/// # Safety
/// As [`hypercall5`].
#[inline(always)]
pub unsafe fn hypercall1(nr: u32, a1: u64) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { hypercall5(nr, a1, 0, 0, 0, 0) }
}

/// Hypercall with two arguments.
///
/// # Safety
/// As [`hypercall5`].
#[inline(always)]
pub unsafe fn hypercall2(nr: u32, a1: u64, a2: u64) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { hypercall5(nr, a1, a2, 0, 0, 0) }
}

/// Hypercall with three arguments.
///
/// # Safety
/// As [`hypercall5`].
#[inline(always)]
pub unsafe fn hypercall3(nr: u32, a1: u64, a2: u64, a3: u64) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { hypercall5(nr, a1, a2, a3, 0, 0) }
}

/// Hypercall with four arguments.
///
/// # Safety
/// As [`hypercall5`].
#[inline(always)]
pub unsafe fn hypercall4(nr: u32, a1: u64, a2: u64, a3: u64, a4: u64) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { hypercall5(nr, a1, a2, a3, a4, 0) }
}

/// Result of a hypercall: the non-negative return value or an errno.
pub type HcResult<T = u64> = Result<T, Errno>;

#[inline(always)]
fn check(ret: i64) -> HcResult {
    Errno::from_ret(ret)
}

/// Calls hypercall `nr` with raw arguments and decodes the result.
///
/// # Safety
/// As [`hypercall5`].
pub unsafe fn raw(nr: u32, args: [u64; 5]) -> HcResult {
    // SAFETY: forwarded contract.
    check(unsafe { hypercall5(nr, args[0], args[1], args[2], args[3], args[4]) })
}

// ---- console_io -------------------------------------------------------------

/// `console_io(CONSOLEIO_write, len, buf)`: write to the hypervisor console.
pub fn console_write(buf: &[u8]) -> HcResult {
    // SAFETY: the hypervisor only reads `buf.len()` bytes from `buf`.
    check(unsafe { hypercall3(nr::console_io, xen::CONSOLEIO_write as u64, buf.len() as u64, buf.as_ptr() as u64) })
}

/// `console_io(CONSOLEIO_read, len, buf)`: read console input (dom0).
pub fn console_read(buf: &mut [u8]) -> HcResult<usize> {
    // SAFETY: the hypervisor writes at most `buf.len()` bytes to `buf`.
    check(unsafe { hypercall3(nr::console_io, xen::CONSOLEIO_read as u64, buf.len() as u64, buf.as_mut_ptr() as u64) })
        .map(|n| n as usize)
}

// ---- xen_version -------------------------------------------------------------

/// `XENVER_version`: `(major, minor)`.
pub fn xen_version() -> (u16, u16) {
    // SAFETY: XENVER_version takes no buffer.
    let v = unsafe { hypercall2(nr::xen_version, version::XENVER_version as u64, 0) } as u32;
    ((v >> 16) as u16, v as u16)
}

/// `XENVER_extraversion`.
pub fn xen_extraversion() -> HcResult<version::XenExtraversion> {
    let mut buf = [0u8; version::XEN_EXTRAVERSION_LEN];
    // SAFETY: the hypervisor writes exactly 16 bytes.
    check(unsafe { hypercall2(nr::xen_version, version::XENVER_extraversion as u64, buf.as_mut_ptr() as u64) })?;
    Ok(buf)
}

/// `XENVER_capabilities`.
pub fn xen_capabilities(buf: &mut version::XenCapabilitiesInfo) -> HcResult {
    // SAFETY: the hypervisor writes at most 1024 bytes.
    check(unsafe { hypercall2(nr::xen_version, version::XENVER_capabilities as u64, buf.as_mut_ptr() as u64) })
}

/// `XENVER_get_features` for submap `idx`.
pub fn xen_features(idx: u32) -> HcResult<u32> {
    let mut fi = version::XenFeatureInfo { submap_idx: idx, submap: 0 };
    // SAFETY: `fi` is a live xen_feature_info.
    check(unsafe { hypercall2(nr::xen_version, version::XENVER_get_features as u64, &mut fi as *mut _ as u64) })?;
    Ok(fi.submap)
}

/// `XENVER_platform_parameters`: start of the hypervisor's virtual range.
pub fn xen_platform_virt_start() -> HcResult<u64> {
    let mut p = version::XenPlatformParameters::default();
    // SAFETY: `p` is a live xen_platform_parameters.
    check(unsafe { hypercall2(nr::xen_version, version::XENVER_platform_parameters as u64, &mut p as *mut _ as u64) })?;
    Ok(p.virt_start)
}

/// `XENVER_pagesize`.
pub fn xen_pagesize() -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::xen_version, version::XENVER_pagesize as u64, 0) })
}

// ---- sched_op ----------------------------------------------------------------

/// `SCHEDOP_yield`.
pub fn sched_yield() -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::sched_op, sched::SCHEDOP_yield as u64, 0) })
}

/// `SCHEDOP_block`: block until an event is pending.
pub fn sched_block() -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::sched_op, sched::SCHEDOP_block as u64, 0) })
}

/// `SCHEDOP_shutdown` with `reason` (`SHUTDOWN_*`). Returns only on error
/// (or after a cancelled suspend).
pub fn sched_shutdown(reason: u32) -> HcResult {
    let arg = sched::SchedShutdown { reason };
    // SAFETY: `arg` is a live sched_shutdown.
    check(unsafe { hypercall2(nr::sched_op, sched::SCHEDOP_shutdown as u64, &arg as *const _ as u64) })
}

/// `SCHEDOP_shutdown_code`: records a reason without shutting down.
pub fn sched_shutdown_code(reason: u32) -> HcResult {
    let arg = sched::SchedShutdown { reason };
    // SAFETY: `arg` is a live sched_shutdown.
    check(unsafe { hypercall2(nr::sched_op, sched::SCHEDOP_shutdown_code as u64, &arg as *const _ as u64) })
}

/// `SCHEDOP_poll`: blocks until one of `ports` is pending or `timeout`
/// (absolute system time in ns; 0 = none) passes.
pub fn sched_poll(ports: &[u32], timeout: u64) -> HcResult {
    let arg = sched::SchedPoll { ports: ports.as_ptr() as u64, nr_ports: ports.len() as u32, _pad: 0, timeout };
    // SAFETY: `arg` and the port array it points at are live.
    check(unsafe { hypercall2(nr::sched_op, sched::SCHEDOP_poll as u64, &arg as *const _ as u64) })
}

/// `SCHEDOP_remote_shutdown` (privileged).
pub fn sched_remote_shutdown(dom: DomId, reason: u32) -> HcResult {
    let arg = sched::SchedRemoteShutdown { domain_id: dom.0, _pad: 0, reason };
    // SAFETY: `arg` is live.
    check(unsafe { hypercall2(nr::sched_op, sched::SCHEDOP_remote_shutdown as u64, &arg as *const _ as u64) })
}

/// Powers the domain off; spins if the hypervisor refuses.
pub fn poweroff() -> ! {
    let _ = sched_shutdown(sched::SHUTDOWN_poweroff);
    loop {
        core::hint::spin_loop();
    }
}

/// Reports a crash to the hypervisor; spins if it returns.
pub fn crash() -> ! {
    let _ = sched_shutdown(sched::SHUTDOWN_crash);
    loop {
        core::hint::spin_loop();
    }
}

// ---- MMU -------------------------------------------------------------------------

/// Result of a batch: `Err((done, errno))` names how many entries succeeded.
pub type BatchResult = Result<(), (u32, Errno)>;

/// `mmu_update(reqs, count, pdone, foreigndom)`.
///
/// # Safety
/// Page-table changes can unmap or remap memory Rust is using; the caller
/// guarantees they do not.
pub unsafe fn mmu_update(reqs: &[xen::MmuUpdate], foreigndom: DomId) -> BatchResult {
    let mut done = 0u32;
    // SAFETY: the request array and `done` are live; the effect is the caller's.
    let r = unsafe {
        hypercall4(
            nr::mmu_update,
            reqs.as_ptr() as u64,
            reqs.len() as u64,
            &mut done as *mut u32 as u64,
            foreigndom.0 as u64,
        )
    };
    check(r).map(|_| ()).map_err(|e| (done, e))
}

/// `mmuext_op(ops, count, pdone, foreigndom)`.
///
/// # Safety
/// As [`mmu_update`].
pub unsafe fn mmuext_op(ops: &[xen::MmuextOp], foreigndom: DomId) -> BatchResult {
    let mut done = 0u32;
    // SAFETY: the op array and `done` are live; the effect is the caller's.
    let r = unsafe {
        hypercall4(
            nr::mmuext_op,
            ops.as_ptr() as u64,
            ops.len() as u64,
            &mut done as *mut u32 as u64,
            foreigndom.0 as u64,
        )
    };
    check(r).map(|_| ()).map_err(|e| (done, e))
}

/// One `mmuext_op` (e.g. `MMUEXT_PIN_L4_TABLE` of `mfn`).
///
/// # Safety
/// As [`mmu_update`].
pub unsafe fn mmuext(cmd: u32, arg1: u64, arg2: u64) -> HcResult<()> {
    let op = xen::MmuextOp { cmd, _pad: 0, arg1, arg2 };
    // SAFETY: forwarded contract.
    unsafe { mmuext_op(core::slice::from_ref(&op), DomId::SELF) }.map_err(|(_, e)| e)
}

/// `update_va_mapping(va, pte, flags)`.
///
/// # Safety
/// As [`mmu_update`].
pub unsafe fn update_va_mapping(va: u64, pte: u64, flags: u64) -> HcResult<()> {
    // SAFETY: no buffer; the effect is the caller's.
    check(unsafe { hypercall3(nr::update_va_mapping, va, pte, flags) }).map(|_| ())
}

/// `vm_assist(cmd, type)`.
pub fn vm_assist(cmd: u32, ty: u32) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::vm_assist, cmd as u64, ty as u64) })
}

// ---- CPU ---------------------------------------------------------------------------

/// `set_trap_table(traps)`: `traps` must end with an entry whose address is 0.
pub fn set_trap_table(traps: &[arch_x86::TrapInfo]) -> HcResult {
    // SAFETY: the hypervisor only reads the array (up to its terminator).
    check(unsafe { hypercall1(nr::set_trap_table, traps.as_ptr() as u64) })
}

/// `callback_op(CALLBACKOP_register, ...)`.
pub fn register_callback(ty: u16, address: u64, mask_events: bool) -> HcResult {
    let flags = if mask_events { callback::CALLBACKF_mask_events } else { 0 };
    let r = callback::CallbackRegister { ty, flags, _pad: 0, address };
    // SAFETY: `r` is live.
    check(unsafe { hypercall2(nr::callback_op, callback::CALLBACKOP_register as u64, &r as *const _ as u64) })
}

/// `callback_op(CALLBACKOP_unregister, ...)`.
pub fn unregister_callback(ty: u16) -> HcResult {
    let r = callback::CallbackUnregister { ty, _unused: 0 };
    // SAFETY: `r` is live.
    check(unsafe { hypercall2(nr::callback_op, callback::CALLBACKOP_unregister as u64, &r as *const _ as u64) })
}

/// `set_callbacks(event, failsafe, syscall)`.
pub fn set_callbacks(event: u64, failsafe: u64, syscall: u64) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall3(nr::set_callbacks, event, failsafe, syscall) })
}

/// `stack_switch(ss, sp)`.
pub fn stack_switch(ss: u16, sp: u64) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::stack_switch, ss as u64, sp) })
}

/// `set_segment_base(which, base)` (`SEGBASE_*`).
pub fn set_segment_base(which: u32, base: u64) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::set_segment_base, which as u64, base) })
}

/// `fpu_taskswitch(set)`.
pub fn fpu_taskswitch(set: bool) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall1(nr::fpu_taskswitch, set as u64) })
}

/// `set_debugreg(reg, value)`.
pub fn set_debugreg(reg: u32, value: u64) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall2(nr::set_debugreg, reg as u64, value) })
}

/// `get_debugreg(reg)`.
pub fn get_debugreg(reg: u32) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall1(nr::get_debugreg, reg as u64) })
}

/// `set_gdt(frames, entries)`.
///
/// # Safety
/// The new GDT must hold the selectors the guest has loaded.
pub unsafe fn set_gdt(frames: &[u64], entries: u32) -> HcResult {
    // SAFETY: the frame list is live; the effect is the caller's.
    check(unsafe { hypercall2(nr::set_gdt, frames.as_ptr() as u64, entries as u64) })
}

/// `update_descriptor(maddr, desc)`.
///
/// # Safety
/// As [`set_gdt`].
pub unsafe fn update_descriptor(maddr: u64, desc: u64) -> HcResult {
    // SAFETY: no buffer; the effect is the caller's.
    check(unsafe { hypercall2(nr::update_descriptor, maddr, desc) })
}

/// `physdev_op(PHYSDEVOP_set_iopl, iopl)`.
pub fn set_iopl(iopl: u32) -> HcResult {
    let a = physdev::PhysdevSetIopl { iopl };
    // SAFETY: `a` is live.
    check(unsafe { hypercall2(nr::physdev_op, physdev::PHYSDEVOP_set_iopl as u64, &a as *const _ as u64) })
}

// ---- memory_op -----------------------------------------------------------------------

/// `memory_op(cmd, arg)` with a pointer to `arg`.
pub fn memory_op<T>(cmd: u32, arg: &mut T) -> HcResult {
    // SAFETY: `arg` is a live object of the type the command expects
    // (callers pick the pv-abi struct that goes with `cmd`).
    check(unsafe { hypercall2(nr::memory_op, cmd as u64, arg as *mut T as u64) })
}

/// `XENMEM_current_reservation` of `dom`.
pub fn current_reservation(dom: DomId) -> HcResult {
    let mut d = dom.0;
    memory_op(memory::XENMEM_current_reservation, &mut d)
}

/// `XENMEM_maximum_reservation` of `dom`.
pub fn maximum_reservation(dom: DomId) -> HcResult {
    let mut d = dom.0;
    memory_op(memory::XENMEM_maximum_reservation, &mut d)
}

/// `XENMEM_machphys_mapping`: where the M2P table is mapped.
pub fn machphys_mapping() -> HcResult<memory::XenMachphysMapping> {
    let mut m = memory::XenMachphysMapping::default();
    memory_op(memory::XENMEM_machphys_mapping, &mut m)?;
    Ok(m)
}

/// A reservation change (`increase`/`decrease_reservation`,
/// `populate_physmap`) over the frames in `extents`.
pub fn reservation(cmd: u32, dom: DomId, extents: &mut [u64], order: u32) -> HcResult {
    let mut r = memory::XenMemoryReservation {
        extent_start: extents.as_mut_ptr() as u64,
        nr_extents: extents.len() as u64,
        extent_order: order,
        mem_flags: 0,
        domid: dom.0,
        _pad: [0; 3],
    };
    memory_op(cmd, &mut r)
}

// ---- multicall -------------------------------------------------------------------------

/// `multicall(calls, n)`: runs the batch; each entry's `result` is filled in.
///
/// # Safety
/// Every entry must be a call that would be sound on its own.
pub unsafe fn multicall(calls: &mut [xen::MulticallEntry]) -> HcResult {
    // SAFETY: the array is live and writable; entry soundness is the caller's.
    check(unsafe { hypercall2(nr::multicall, calls.as_mut_ptr() as u64, calls.len() as u64) })
}

// ---- timers and vCPUs -----------------------------------------------------------------

/// `set_timer_op(timeout)`: one-shot timer at absolute system time (ns; 0 cancels).
pub fn set_timer_op(timeout: u64) -> HcResult {
    // SAFETY: no buffer.
    check(unsafe { hypercall1(nr::set_timer_op, timeout) })
}

/// `vcpu_op(cmd, vcpu, arg)` with a pointer to `arg`.
pub fn vcpu_op<T>(cmd: u32, vcpu: u32, arg: Option<&mut T>) -> HcResult {
    let p = arg.map_or(0, |a| a as *mut T as u64);
    // SAFETY: `arg` is a live object of the type `cmd` expects, or NULL.
    check(unsafe { hypercall3(nr::vcpu_op, cmd as u64, vcpu as u64, p) })
}

// ---- event channels -------------------------------------------------------------------

/// `event_channel_op(cmd, arg)` with a pointer to `arg`.
pub fn evtchn_op<T>(cmd: u32, arg: &mut T) -> HcResult {
    // SAFETY: `arg` is the event_channel.h struct that goes with `cmd`.
    check(unsafe { hypercall2(nr::event_channel_op, cmd as u64, arg as *mut T as u64) })
}

/// `EVTCHNOP_alloc_unbound`: a port `remote` may bind to.
pub fn evtchn_alloc_unbound(remote: DomId) -> HcResult<Port> {
    let mut a = evtchn::EvtchnAllocUnbound { dom: DomId::SELF.0, remote_dom: remote.0, port: 0 };
    evtchn_op(evtchn::EVTCHNOP_alloc_unbound, &mut a)?;
    Ok(Port(a.port))
}

/// `EVTCHNOP_bind_interdomain`.
pub fn evtchn_bind_interdomain(remote: DomId, remote_port: Port) -> HcResult<Port> {
    let mut a =
        evtchn::EvtchnBindInterdomain { remote_dom: remote.0, _pad: 0, remote_port: remote_port.0, local_port: 0 };
    evtchn_op(evtchn::EVTCHNOP_bind_interdomain, &mut a)?;
    Ok(Port(a.local_port))
}

/// `EVTCHNOP_bind_virq`.
pub fn evtchn_bind_virq(virq: u32, vcpu: u32) -> HcResult<Port> {
    let mut a = evtchn::EvtchnBindVirq { virq, vcpu, port: 0 };
    evtchn_op(evtchn::EVTCHNOP_bind_virq, &mut a)?;
    Ok(Port(a.port))
}

/// `EVTCHNOP_bind_ipi`.
pub fn evtchn_bind_ipi(vcpu: u32) -> HcResult<Port> {
    let mut a = evtchn::EvtchnBindIpi { vcpu, port: 0 };
    evtchn_op(evtchn::EVTCHNOP_bind_ipi, &mut a)?;
    Ok(Port(a.port))
}

/// `EVTCHNOP_send`.
pub fn evtchn_send(port: Port) -> HcResult {
    let mut a = evtchn::EvtchnSend { port: port.0 };
    evtchn_op(evtchn::EVTCHNOP_send, &mut a)
}

/// `EVTCHNOP_close`.
pub fn evtchn_close(port: Port) -> HcResult {
    let mut a = evtchn::EvtchnClose { port: port.0 };
    evtchn_op(evtchn::EVTCHNOP_close, &mut a)
}

/// `EVTCHNOP_unmask`.
pub fn evtchn_unmask(port: Port) -> HcResult {
    let mut a = evtchn::EvtchnUnmask { port: port.0 };
    evtchn_op(evtchn::EVTCHNOP_unmask, &mut a)
}

/// `EVTCHNOP_bind_vcpu`.
pub fn evtchn_bind_vcpu(port: Port, vcpu: u32) -> HcResult {
    let mut a = evtchn::EvtchnBindVcpu { port: port.0, vcpu };
    evtchn_op(evtchn::EVTCHNOP_bind_vcpu, &mut a)
}

/// `EVTCHNOP_status` of `port` in `dom`.
pub fn evtchn_status(dom: DomId, port: Port) -> HcResult<evtchn::EvtchnStatus> {
    let mut a = <evtchn::EvtchnStatus as zerocopy::FromZeros>::new_zeroed();
    a.dom = dom.0;
    a.port = port.0;
    evtchn_op(evtchn::EVTCHNOP_status, &mut a)?;
    Ok(a)
}

// ---- grant tables ------------------------------------------------------------------------

/// `grant_table_op(cmd, ops, count)`.
///
/// # Safety
/// Map operations change page tables; see [`mmu_update`].
pub unsafe fn grant_table_op<T>(cmd: u32, ops: &mut [T]) -> HcResult {
    // SAFETY: the op array is live and of the type `cmd` expects.
    check(unsafe { hypercall3(nr::grant_table_op, cmd as u64, ops.as_mut_ptr() as u64, ops.len() as u64) })
}

/// `GNTTABOP_setup_table`: the frames of this domain's grant table.
pub fn gnttab_setup_table(frames: &mut [u64]) -> HcResult<()> {
    let mut s = <gnttab::GnttabSetupTable as zerocopy::FromZeros>::new_zeroed();
    s.dom = DomId::SELF.0;
    s.nr_frames = frames.len() as u32;
    s.frame_list = frames.as_mut_ptr() as u64;
    // SAFETY: setup_table only writes the frame list.
    unsafe { grant_table_op(gnttab::GNTTABOP_setup_table, core::slice::from_mut(&mut s))? };
    gnttab_status(s.status)
}

/// `GNTTABOP_query_size`: (current frames, maximum frames).
pub fn gnttab_query_size() -> HcResult<(u32, u32)> {
    let mut q = <gnttab::GnttabQuerySize as zerocopy::FromZeros>::new_zeroed();
    q.dom = DomId::SELF.0;
    // SAFETY: query_size only writes `q`.
    unsafe { grant_table_op(gnttab::GNTTABOP_query_size, core::slice::from_mut(&mut q))? };
    gnttab_status(q.status)?;
    Ok((q.nr_frames, q.max_nr_frames))
}

/// `GNTTABOP_copy` of a batch; per-entry status in each entry.
pub fn gnttab_copy(ops: &mut [gnttab::GnttabCopy]) -> HcResult {
    // SAFETY: copies touch only the buffers and grants the entries name;
    // local buffers are given by frame number and must be owned by us.
    unsafe { grant_table_op(gnttab::GNTTABOP_copy, ops) }
}

/// Turns a `GNTST_*` status into a result.
pub fn gnttab_status(st: i16) -> HcResult<()> {
    if st == 0 {
        Ok(())
    } else {
        Err(Errno(gnttab_status_errno(st)))
    }
}

/// The errno that best describes a `GNTST_*` code (for logs).
pub fn gnttab_status_errno(st: i16) -> i32 {
    use crate::abi::errno::*;
    match st {
        -1 => EINVAL,  // GNTST_general_error
        -2 => ESRCH,   // bad domain
        -3 => EINVAL,  // bad gntref
        -4 => EINVAL,  // bad handle
        -5 => EFAULT,  // bad virt addr
        -6 => EFAULT,  // bad dev addr
        -7 => ENOSPC,  // no device space
        -8 => EPERM,   // permission denied
        -9 => EINVAL,  // bad page
        -10 => E2BIG,  // bad copy arg
        -11 => EFAULT, // address too big
        -12 => EAGAIN, // eagain
        -13 => ENOSPC, // no space
        _ => EINVAL,
    }
}

// ---- toolstack: domctl and sysctl ---------------------------------------------------

/// `domctl(op)`: one domain-control request (privileged). Xen copies the
/// whole request back for the commands that return data.
///
/// # Safety
/// Guest handles (virtual addresses) in the payload must point at live
/// objects of the type the command reads or writes (e.g. the
/// `vcpu_guest_context` of `XEN_DOMCTL_setvcpucontext`), and the command
/// must not change this domain's own memory behind Rust's back.
pub unsafe fn domctl(op: &mut crate::abi::domctl::XenDomctl) -> HcResult {
    // SAFETY: `op` is a live xen_domctl; its handles are the caller's contract.
    check(unsafe { hypercall1(nr::domctl, op as *mut _ as u64) })
}

/// `sysctl(op)`: one system-control request (privileged).
///
/// # Safety
/// As [`domctl`]: guest handles in the payload must point at live buffers
/// of the size the payload states.
pub unsafe fn sysctl(op: &mut crate::abi::sysctl::XenSysctl) -> HcResult {
    // SAFETY: `op` is a live xen_sysctl; its handles are the caller's contract.
    check(unsafe { hypercall1(nr::sysctl, op as *mut _ as u64) })
}

/// `XEN_DOMCTL_getdomaininfo` of exactly `dom`.
///
/// Xen answers a request for a domain id that does not exist with the
/// next existing domain above it (that is how `xc_domain_getinfo` lists
/// domains); this helper turns that into `-ESRCH`, as libxc's callers do.
pub fn getdomaininfo(dom: DomId) -> HcResult<crate::abi::domctl::XenDomctlGetdomaininfo> {
    use crate::abi::domctl::{XEN_DOMCTL_getdomaininfo, XenDomctl, XenDomctlGetdomaininfo};
    let mut op = XenDomctl::new(XEN_DOMCTL_getdomaininfo, dom.0, &XenDomctlGetdomaininfo::default());
    // SAFETY: getdomaininfo has no guest handles; Xen writes only `op`.
    unsafe { domctl(&mut op)? };
    let info: XenDomctlGetdomaininfo = op.u.get();
    if info.domain != dom.0 {
        return Err(Errno(crate::abi::errno::ESRCH));
    }
    Ok(info)
}

/// `XEN_SYSCTL_physinfo`: host CPU and memory figures (`free_pages`, ...).
pub fn physinfo() -> HcResult<crate::abi::sysctl::XenSysctlPhysinfo> {
    use crate::abi::sysctl::{XEN_SYSCTL_physinfo, XenSysctl, XenSysctlPhysinfo};
    let mut op = XenSysctl::new(XEN_SYSCTL_physinfo, &XenSysctlPhysinfo::default());
    // SAFETY: physinfo has no guest handles; Xen writes only `op`.
    unsafe { sysctl(&mut op)? };
    Ok(op.u.get())
}

/// `XENVER_commandline`: the hypervisor's own command line (privileged).
pub fn xen_commandline(buf: &mut version::XenCommandline) -> HcResult {
    // SAFETY: the hypervisor writes at most 1024 bytes.
    check(unsafe { hypercall2(nr::xen_version, version::XENVER_commandline as u64, buf.as_mut_ptr() as u64) })
}

/// `EVTCHNOP_alloc_unbound` in domain `dom` (privileged unless `dom` is
/// this domain): a port of `dom` that `remote` may bind to.
pub fn evtchn_alloc_unbound_in(dom: DomId, remote: DomId) -> HcResult<Port> {
    let mut a = evtchn::EvtchnAllocUnbound { dom: dom.0, remote_dom: remote.0, port: 0 };
    evtchn_op(evtchn::EVTCHNOP_alloc_unbound, &mut a)?;
    Ok(Port(a.port))
}
