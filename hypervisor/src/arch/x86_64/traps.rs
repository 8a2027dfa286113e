//! What happens on every entry from the entry stubs: hypercalls, guest
//! exceptions, faults in the hypervisor itself, and the switch to the next
//! vCPU before returning.

use super::apic;
use super::cpu;
use super::entry::{self, VEC_SYSCALL32};
use super::guest_access::CurrentGuest;
use super::pv;
use crate::common::console;
use crate::common::domain::{vcpu_info, DomainState, VcpuState};
use crate::common::hypercall::{self, Ctx};
use crate::common::{domctl, sched, time, vcpu};
use crate::common::{Hv, MachineExit};
use pv_abi::abi::arch_x86::CpuUserRegs;
use pv_abi::abi::sched::SHUTDOWN_crash;
use pv_abi::abi::vcpu::{RUNSTATE_blocked, RUNSTATE_offline, RUNSTATE_runnable, RUNSTATE_running};
use pv_abi::qemu_exit;
use pv_abi::DomId;
use spin::Mutex;

/// The hypervisor's state. Entries take the lock for their whole run; the
/// CPU is single and interrupts are off in the hypervisor, so contention
/// would mean re-entry, a bug.
pub static HV: Mutex<Option<Hv>> = Mutex::new(None);

pub use super::pv::traps::vector::NAMES as EXCEPTION_NAMES;

fn with_hv<R>(f: impl FnOnce(&mut Hv) -> R) -> R {
    let mut g = HV.try_lock().expect("hypervisor re-entered");
    f(g.as_mut().expect("hypervisor state not initialised"))
}

/// Prints the frame and stops the machine with a non-zero status.
pub fn fatal(what: &str, regs: &CpuUserRegs) -> ! {
    let r = regs;
    let vec = r.entry_vector as usize;
    let name = EXCEPTION_NAMES.get(vec).copied().unwrap_or("interrupt");
    console::print_fmt(format_args!(
        "(XEN) FATAL: {what}: {name} (vector {vec}) error {:#x} at rip {:#018x} cs {:#x}\n\
         (XEN) rax {:016x} rbx {:016x} rcx {:016x} rdx {:016x}\n\
         (XEN) rsi {:016x} rdi {:016x} rbp {:016x} rsp {:016x}\n\
         (XEN) r8  {:016x} r9  {:016x} r10 {:016x} r11 {:016x}\n\
         (XEN) r12 {:016x} r13 {:016x} r14 {:016x} r15 {:016x}\n\
         (XEN) rflags {:016x} cr0 {:016x} cr2 {:016x} cr3 {:016x} cr4 {:016x}\n\
",
        r.error_code,
        r.rip,
        r.cs,
        r.rax,
        r.rbx,
        r.rcx,
        r.rdx,
        r.rsi,
        r.rdi,
        r.rbp,
        r.rsp,
        r.r8,
        r.r9,
        r.r10,
        r.r11,
        r.r12,
        r.r13,
        r.r14,
        r.r15,
        r.rflags,
        cpu::cr0(),
        cpu::cr2(),
        cpu::cr3(),
        cpu::cr4()
    ));
    // A fault on the way out to a guest: show the frame being returned to.
    let top = core::ptr::addr_of!(entry::hv_stack_top) as u64;
    if r.cs & 3 == 0 && r.rsp + 40 <= top && r.rsp >= top - 256 {
        // SAFETY: the range lies inside the hypervisor stack (checked above).
        let w = |i: u64| unsafe { ((r.rsp + 8 * i) as *const u64).read() };
        console::print_fmt(format_args!(
            "(XEN) iret frame: rip {:#x} cs {:#x} rflags {:#x} rsp {:#x} ss {:#x}\n",
            w(0),
            w(1),
            w(2),
            w(3),
            w(4)
        ));
    }
    console::print_fmt(format_args!("(XEN) Hypervisor crashed: exiting\n"));
    cpu::qemu_exit(qemu_exit::HYPERVISOR_PANIC)
}

/// Entry from an exception or interrupt stub.
#[no_mangle]
extern "C" fn hv_trap(regs: &mut CpuUserRegs) {
    let vec = regs.entry_vector;
    if regs.cs & 3 == 0 {
        // The timer while idle (the idle loop looks at what is due).
        if vec == apic::TIMER_VECTOR as u32 {
            apic::eoi();
            return;
        }
        if vec == SERIAL_VECTOR {
            serial_irq();
            return;
        }
        if vec == 1 && regs.rflags & (1 << 8) == 0 {
            // A guest's data watchpoint hit while the hypervisor touched
            // that guest memory for it (a copy to or from the guest).
            // Ignored, as Xen does: the access completed; DR6 is reset so
            // the next hit is reported cleanly.
            // SAFETY: writing DR6's architectural reset value has no other effect.
            unsafe { core::arch::asm!("mov dr6, {}", in(reg) 0xffff_0ff0u64, options(nostack, nomem)) };
            return;
        }
        if vec == apic::SPURIOUS_VECTOR as u32 || (0x20..0x30).contains(&vec) {
            return;
        }
        // In the hypervisor: only faults on guest-access instructions are
        // expected; they resume at their fixup with the work undone.
        if matches!(vec, 11..=14) {
            if let Some(fix) = entry::fixup_for(regs.rip) {
                regs.rip = fix;
                return;
            }
        }
        fatal("exception in hypervisor", regs);
    }
    if matches!(vec, 2 | 8 | 18) {
        fatal("unrecoverable exception while a guest ran", regs);
    }
    with_hv(|hv| {
        if vec < 32 {
            let (d, v) = hv.current.expect("guest entry without a current vCPU");
            pv::traps::guest_exception(hv, &mut CurrentGuest, regs, d, v);
        } else if vec == SERIAL_VECTOR {
            serial_irq();
        } else if vec == apic::TIMER_VECTOR as u32 {
            apic::eoi();
            hv.arch.timer_armed = 0;
            hv.sched.need_resched = true;
            hv.sched.stats[0] += 1;
        }
        // Other vectors: no other interrupt source is programmed.
        leave(hv, regs);
    });
}

/// Entry from `syscall` in a guest.
#[no_mangle]
extern "C" fn hv_syscall(regs: &mut CpuUserRegs) {
    with_hv(|hv| {
        let (d, v) = hv.current.expect("guest entry without a current vCPU");
        let kernel = hv.domains.get(d).is_some_and(|dom| dom.vcpus[v as usize].arch.kernel_mode);
        if regs.entry_vector == VEC_SYSCALL32 {
            log::error!("syscall from 32-bit code is not supported");
            crash_domain(hv, d);
        } else if kernel {
            let mut mem = CurrentGuest;
            let mut ctx = Ctx { hv, mem: &mut mem, regs, dom: d, vcpu: v, preemptible: true };
            hypercall::dispatch(&mut ctx);
        } else {
            pv::traps::user_syscall(hv, &mut CurrentGuest, regs, d, v);
        }
        leave(hv, regs);
    });
}

/// The CPU refused to return to the guest frame at the top of the stack
/// (`iretq` faulted: a selector the guest supplied is unusable). As Xen
/// does, bounce to the guest's failsafe callback, or crash the guest if it
/// has none; then continue with whatever runs next.
#[no_mangle]
extern "C" fn hv_bad_iret() {
    // SAFETY: the guest frame slot at the top of the stack is the frame
    // the exit path was popping; nothing else refers to it now.
    let regs = unsafe { &mut *(entry::guest_frame_addr() as *mut CpuUserRegs) };
    with_hv(|hv| {
        let (d, v) = hv.current.expect("returning to a guest without a current vCPU");
        let cb = hv.domains.get(d).expect("domain").vcpus[v as usize].arch.failsafe_callback;
        log::warn!("cannot return to cs {:#x} ss {:#x} rip {:#x}: failsafe callback", regs.cs, regs.ss, regs.rip);
        let r = pv::bounce::deliver(
            hv,
            &mut CurrentGuest,
            regs,
            (d, v),
            cb.address,
            pv::bounce::Kind::Failsafe([0; 4]),
            cb.mask_events,
        );
        if let Err(pv::bounce::Undeliverable(why)) = r {
            pv::traps::crash(hv, d, &alloc::format!("{why} for a faulting return to the guest"));
        }
        leave(hv, regs);
    });
}

/// Marks a domain crashed (dom0 crashing ends the machine).
pub fn crash_domain(hv: &mut Hv, d: DomId) {
    let _ = hypercall::shutdown(hv, d, SHUTDOWN_crash);
}

/// The COM1 receive interrupt (IRQ 4 through the 8259, remapped to 0x24).
const SERIAL_VECTOR: u32 = 0x24;

/// Set when console input arrived; the entry path tells dom0.
static CONSOLE_INPUT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Queues received bytes and acknowledges the 8259.
fn serial_irq() {
    if super::serial::Serial::drain_rx() {
        CONSOLE_INPUT.store(true, core::sync::atomic::Ordering::SeqCst);
    }
    cpu::outb(0x20, 0x20);
}

/// Tells dom0 about console input (`VIRQ_CONSOLE`, as Xen does).
fn notify_console_input(hv: &mut Hv) {
    if CONSOLE_INPUT.swap(false, core::sync::atomic::Ordering::SeqCst) {
        crate::common::event::send_global_virq(hv, DomId::DOM0, pv_abi::abi::xen::VIRQ_CONSOLE);
    }
}

/// Decides what runs next and makes `regs` (the frame at the top of the
/// stack) that vCPU's state, then delivers a pending event upcall and arms
/// the timer. Returns to the entry stub, which restores the frame. With
/// nothing to run it idles (`hlt`) until an interrupt makes something
/// runnable.
fn leave(hv: &mut Hv, regs: &mut CpuUserRegs) {
    // The common case: nothing happened that needs a decision; the current
    // vCPU goes on. One domain lookup, a few flag tests.
    if hv.exit.is_none()
        && !hv.sched.need_resched
        && !hv.sched.rearm
        && hv.frames.implicit_grant_unmaps == 0
        && !hv.frames.orphan_freed
        && !CONSOLE_INPUT.load(core::sync::atomic::Ordering::Relaxed)
    {
        if let Some((d, v)) = hv.current {
            let on = hv.domains.get(d).and_then(|dom| {
                let vc = dom.vcpus.get(v as usize)?;
                let ok = dom.state == DomainState::Running && vc.state == VcpuState::Runnable && !dom.sched.parked();
                ok.then_some((vc.vcpu_info, vc.arch.event_callback.address))
            });
            if let Some(((m, off), cb)) = on {
                use core::sync::atomic::Ordering;
                let pending = hv.phys.atomic_u8(m, off + vcpu_info::PENDING).load(Ordering::SeqCst) != 0;
                if !pending || cb == 0 || hv.phys.atomic_u8(m, off + vcpu_info::MASK).load(Ordering::SeqCst) != 0 {
                    return;
                }
            }
        }
    }
    leave_slow(hv, regs);
}

/// [`leave`] when something may need deciding.
fn leave_slow(hv: &mut Hv, regs: &mut CpuUserRegs) {
    let mut warned = false;
    loop {
        if let Some(exit) = hv.exit {
            audit(hv);
            machine_exit(exit);
        }
        if hv.frames.implicit_grant_unmaps != 0 {
            hv.frames.implicit_grant_unmaps = 0;
            if let Some((d, _)) = hv.current {
                if hv.domains.get(d).is_some_and(|x| !x.is_dying()) {
                    log::error!("a page-table change dropped a grant mapping: crashing the domain (as Xen does)");
                    crash_domain(hv, d);
                }
            }
        }
        notify_console_input(hv);
        if hv.frames.orphan_freed {
            hv.frames.orphan_freed = false;
            domctl::reap_all(hv);
        }
        let cur_ok = hv.current.is_some_and(|(d, v)| sched::eligible(hv, d, v));
        if cur_ok && !hv.sched.need_resched {
            break;
        }
        hv.sched.rearm = true;
        let now = time::now(hv);
        time::run_timers(hv, now);
        match sched::schedule(hv, now) {
            Some(next) => {
                if Some(next) != hv.current {
                    switch_to(hv, regs, next);
                }
                break;
            }
            None => {
                // Nothing can run: park the current vCPU and wait.
                save_current(hv, regs, now);
                hv.current = None;
                console::set_log_context(None);
                let alive = hv.domains.iter().any(|d| {
                    matches!(d.state, DomainState::Running | DomainState::Paused)
                        && d.vcpus.iter().any(|v| v.state != VcpuState::Down)
                });
                if !alive {
                    log::info!("no vCPU can ever run again: stopping");
                    for d in hv.domains.iter() {
                        for v in d.vcpus.iter() {
                            log::info!(
                                "d{}v{} {:?}/{:?} at rip {:#x} rsp {:#x}",
                                d.id.0,
                                v.id,
                                d.state,
                                v.state,
                                v.regs.rip,
                                v.regs.rsp
                            );
                        }
                    }
                    audit(hv);
                    machine_exit(MachineExit::Poweroff);
                }
                let deadline = sched::next_deadline(hv);
                if deadline.is_none() && !warned {
                    log::debug!("all vCPUs blocked and no timer pending: waiting for an interrupt");
                    warned = true;
                }
                arm_timer(hv, deadline, now);
                apic::idle_wait();
                hv.arch.timer_armed = 0;
                hv.sched.need_resched = true;
            }
        }
    }
    deliver_upcall(hv, regs);
    if hv.sched.rearm {
        hv.sched.rearm = false;
        let now = time::now(hv);
        arm_timer(hv, sched::next_deadline(hv), now);
    }
}

/// Arms the APIC timer for `deadline` (system time) unless it is already
/// armed to fire no later.
fn arm_timer(hv: &mut Hv, deadline: Option<u64>, now: u64) {
    let Some(t) = deadline else { return };
    let armed = hv.arch.timer_armed;
    if armed != 0 && armed <= t && armed > now {
        return;
    }
    let delta = t.saturating_sub(now).max(1000);
    let ticks = (delta as u128 * hv.arch.apic_hz as u128 / time::SECOND as u128).max(1) as u64;
    apic::oneshot(ticks);
    log::trace!("timer armed for +{delta} ns ({ticks} APIC ticks)");
    hv.arch.timer_armed = now + delta;
}

/// Bounces to the current vCPU's event callback if it has an upcall
/// pending and events unmasked (Xen's `test_guest_events`).
fn deliver_upcall(hv: &mut Hv, regs: &mut CpuUserRegs) {
    let Some((d, v)) = hv.current else { return };
    let Some(vc) = hv.domains.get(d).and_then(|x| x.vcpus.get(v as usize)) else { return };
    let (m, off) = vc.vcpu_info;
    let cb = vc.arch.event_callback;
    use core::sync::atomic::Ordering;
    if hv.phys.atomic_u8(m, off + vcpu_info::MASK).load(Ordering::SeqCst) != 0
        || hv.phys.atomic_u8(m, off + vcpu_info::PENDING).load(Ordering::SeqCst) == 0
        || cb.address == 0
    {
        return;
    }
    hv.sched.stats[2] += 1;
    let r = pv::bounce::deliver(hv, &mut CurrentGuest, regs, (d, v), cb.address, pv::bounce::Kind::Event, true);
    if let Err(pv::bounce::Undeliverable(why)) = r {
        pv::traps::crash(hv, d, &alloc::format!("{why} for an event upcall"));
    }
}

/// Saves the current vCPU's registers and segment bases from the CPU and
/// closes its running period (runstate).
fn save_current(hv: &mut Hv, regs: &CpuUserRegs, now: u64) {
    let hw = hv.hw;
    let Some((d, v)) = hv.current else { return };
    let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(v as usize)) else { return };
    vc.regs = *regs;
    vc.arch.fs_base = hw.fs_base();
    let (active, inactive) = (hw.gs_base(), hw.gs_shadow());
    if vc.arch.kernel_mode {
        (vc.arch.gs_base_kernel, vc.arch.gs_base_user) = (active, inactive);
    } else {
        (vc.arch.gs_base_user, vc.arch.gs_base_kernel) = (active, inactive);
    }
    let rs = match vc.state {
        VcpuState::Runnable => RUNSTATE_runnable,
        VcpuState::Blocked => RUNSTATE_blocked,
        VcpuState::Down => RUNSTATE_offline,
    };
    let dying = hv.domains.get(d).is_some_and(|x| x.is_dying());
    if let Some((at, snap)) = vcpu::set_runstate(hv, d, v, rs, now) {
        if !dying {
            // The outgoing vCPU's address space is still loaded.
            vcpu::write_runstate(&mut CurrentGuest, at, &snap);
        }
    }
}

/// Saves the current vCPU's state and loads `to`'s: registers, segment
/// bases, page tables, GDT/LDT mappings, debug registers, CR0.TS, the FPU
/// save area, its runstate and its `vcpu_time_info`.
pub fn switch_to(hv: &mut Hv, regs: &mut CpuUserRegs, to: (DomId, u32)) {
    let hw = hv.hw;
    let now = time::now(hv);
    hv.sched.stats[3] += 1;
    save_current(hv, regs, now);
    let vc = &mut hv.domains.get_mut(to.0).expect("switch to a missing domain").vcpus[to.1 as usize];
    *regs = vc.regs;
    hw.load_cr3(vc.arch.cr3());
    hw.set_fs_base(vc.arch.fs_base);
    if vc.arch.kernel_mode {
        hw.set_gs_base(vc.arch.gs_base_kernel);
        hw.set_gs_shadow(vc.arch.gs_base_user);
    } else {
        hw.set_gs_base(vc.arch.gs_base_user);
        hw.set_gs_shadow(vc.arch.gs_base_kernel);
    }
    hw.set_guest_ts(vc.arch.fpu_ts);
    if vc.arch.debugreg[7] & 0xff != 0 {
        hw.load_debugregs(&vc.arch.debugreg);
    }
    // SAFETY: the FPU area lives as long as the vCPU, and the vCPU is only
    // destroyed after the CPU has switched away from it.
    unsafe { *core::ptr::addr_of_mut!(entry::hv_cur_fpu) = vc.fpu.0.as_mut_ptr() };
    hv.current = Some(to);
    pv::descriptors::map_gdt(hv, to.0, to.1);
    pv::descriptors::map_ldt(hv, to.0, to.1);
    console::set_log_context(Some(to));
    if let Some((at, snap)) = vcpu::set_runstate(hv, to.0, to.1, RUNSTATE_running, now) {
        vcpu::write_runstate(&mut CurrentGuest, at, &snap);
    }
    time::update_vcpu_time(hv, to.0, to.1);
}

/// Checks the frame accounting and logs the result (tests look for it).
pub fn audit(hv: &Hv) {
    let s = hv.sched.stats;
    log::info!(
        "{} timer interrupts, {} timer events, {} event upcalls, {} context switches; idle {} ms",
        s[0],
        s[1],
        s[2],
        s[3],
        hv.sched.idle_time / 1_000_000
    );
    match hv.frames.audit() {
        Ok(s) => log::info!(
            "frame audit OK: {} free, {} hypervisor, {} domain, {} reserved",
            s.free,
            s.hypervisor,
            s.domains,
            s.reserved
        ),
        Err(e) => log::error!("frame audit FAILED: {e}"),
    }
}

/// Ends the machine for `exit`.
pub fn machine_exit(exit: MachineExit) -> ! {
    let code = match exit {
        MachineExit::Poweroff => qemu_exit::SUCCESS,
        MachineExit::Reboot => qemu_exit::REBOOT,
        MachineExit::Crash => qemu_exit::GUEST_CRASH,
    };
    console::set_log_context(None);
    log::info!("machine exit: {exit:?}");
    cpu::qemu_exit(code)
}
