//! What a guest's exception or user-mode `syscall` becomes: emulation
//! (privileged instructions, page-table writes, CPUID), or a bounce to the
//! handler the guest registered, with Xen's error codes. A guest that has
//! no handler for what happened, or whose kernel stack is unusable, is
//! crashed; the hypervisor never is.

use super::bounce::{self, Kind, Undeliverable};
use super::emulate;
use super::vcpu_info;
use crate::common::guest_mem::GuestMem;
use crate::common::hypercall;
use crate::common::Hv;
use pv_abi::abi::arch_x86::CpuUserRegs;
use pv_abi::abi::sched::SHUTDOWN_crash;
use pv_abi::DomId;

/// Architectural vectors.
pub mod vector {
    /// Debug.
    pub const DB: u32 = 1;
    /// Breakpoint.
    pub const BP: u32 = 3;
    /// Invalid opcode.
    pub const UD: u32 = 6;
    /// Device not available.
    pub const NM: u32 = 7;
    /// General protection.
    pub const GP: u32 = 13;
    /// Page fault.
    pub const PF: u32 = 14;

    /// Names of the architectural exceptions.
    pub const NAMES: [&str; 32] = [
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
        "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
    ];
}

/// Vectors for which the CPU pushes an error code.
pub fn has_error_code(v: u32) -> bool {
    matches!(v, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// `#PF` error-code bits.
pub mod pf {
    /// The page was present.
    pub const PRESENT: u32 = 1 << 0;
    /// A write.
    pub const WRITE: u32 = 1 << 1;
    /// From user mode.
    pub const USER: u32 = 1 << 2;
    /// A reserved bit was set.
    pub const RSVD: u32 = 1 << 3;
    /// An instruction fetch.
    pub const FETCH: u32 = 1 << 4;
}

/// Crashes the guest with a reason in the log.
pub fn crash(hv: &mut Hv, d: DomId, why: &str) {
    log::error!("crashing d{}: {why}", d.0);
    let _ = hypercall::shutdown(hv, d, SHUTDOWN_crash);
}

/// Injects exception `vec` (with its error code if it has one) through the
/// guest's trap table. For `#PF`, `cr2` goes to `vcpu_info.arch.cr2` and
/// the error code's U/S bit is made to reflect the guest mode.
pub fn inject<M: GuestMem>(
    hv: &mut Hv,
    mem: &mut M,
    regs: &mut CpuUserRegs,
    (d, v): (DomId, u32),
    vec: u32,
    error: Option<u32>,
    cr2: u64,
) -> Result<(), Undeliverable> {
    let vc = &hv.domains.get(d).expect("domain").vcpus[v as usize];
    let ti = vc.arch.trap_ctxt[vec as usize & 0xff];
    let kernel = vc.arch.kernel_mode;
    let mut error = error;
    if vec == vector::PF {
        let (m, off) = vc.vcpu_info;
        hv.phys.write(m, off + vcpu_info::CR2, &cr2.to_le_bytes());
        error = error.map(|e| if kernel { e & !pf::USER } else { e | pf::USER });
    }
    if ti.address == 0 {
        return Err(Undeliverable("no handler in the trap table"));
    }
    bounce::deliver(hv, mem, regs, (d, v), ti.address, Kind::Trap(error), ti.masks_events())
}

/// A guest exception (vector < 32) arrived in `regs`.
pub fn guest_exception<M: GuestMem>(hv: &mut Hv, mem: &mut M, regs: &mut CpuUserRegs, d: DomId, v: u32) {
    let vec = regs.entry_vector;
    let kernel = hv.domains.get(d).expect("domain").vcpus[v as usize].arch.kernel_mode;
    let err = regs.error_code;
    let result = match vec {
        vector::PF => {
            let cr2 = hv.hw.cr2();
            if kernel && emulate::ptwr(hv, mem, regs, d, v, cr2, err) {
                return;
            }
            inject(hv, mem, regs, (d, v), vec, Some(err), cr2)
        }
        vector::GP => {
            if let Some(n) = emulate::soft_int(mem, regs) {
                // `int n` through a DPL-0 gate. The guest's own table
                // decides whether the current guest mode may use it.
                let ti = hv.domains.get(d).expect("domain").vcpus[v as usize].arch.trap_ctxt[n as usize];
                let needed = if kernel { 1 } else { 3 };
                if ti.address != 0 && ti.dpl() >= needed {
                    regs.rip = regs.rip.wrapping_add(2);
                    bounce::deliver(hv, mem, regs, (d, v), ti.address, Kind::Trap(None), ti.masks_events())
                } else {
                    inject(hv, mem, regs, (d, v), vec, Some((n as u32) << 3 | 2), 0)
                }
            } else if err == 0 && emulate::priv_op(hv, mem, regs, d, v) {
                return;
            } else {
                inject(hv, mem, regs, (d, v), vec, Some(err), 0)
            }
        }
        vector::UD => {
            if emulate::forced_cpuid(hv, mem, regs, d, v) {
                return;
            }
            inject(hv, mem, regs, (d, v), vec, None, 0)
        }
        vector::NM => {
            // The guest set its virtual CR0.TS: deliver #NM once and clear it.
            let vc = &mut hv.domains.get_mut(d).expect("domain").vcpus[v as usize];
            vc.arch.fpu_ts = false;
            hv.hw.set_guest_ts(false);
            inject(hv, mem, regs, (d, v), vec, None, 0)
        }
        vector::DB => {
            let dr6 = hv.hw.dr6();
            hv.domains.get_mut(d).expect("domain").vcpus[v as usize].arch.debugreg[6] = dr6;
            inject(hv, mem, regs, (d, v), vec, None, 0)
        }
        _ => inject(hv, mem, regs, (d, v), vec, has_error_code(vec).then_some(err), 0),
    };
    if let Err(Undeliverable(why)) = result {
        // For whoever debugs the guest: its stack at the time.
        let mut stack = [0u64; 8];
        if mem.copy_from(regs.rsp, zerocopy::IntoBytes::as_mut_bytes(&mut stack)).is_ok() {
            log::info!("guest rsp {:#x}: {:x?}", regs.rsp, stack);
        }
        let name = vector::NAMES.get(vec as usize).copied().unwrap_or("?");
        let msg = alloc::format!("{why} for {name} (vector {vec}, error {err:#x}) at rip {:#x}", regs.rip);
        crash(hv, d, &msg);
    }
}

/// A `syscall` from guest user mode: the guest's own system call, bounced
/// to its syscall callback in kernel mode. Without a callback the guest
/// gets `#GP(0)`, as in Xen.
pub fn user_syscall<M: GuestMem>(hv: &mut Hv, mem: &mut M, regs: &mut CpuUserRegs, d: DomId, v: u32) {
    let cb = hv.domains.get(d).expect("domain").vcpus[v as usize].arch.syscall_callback;
    let r = if cb.address != 0 {
        bounce::deliver(hv, mem, regs, (d, v), cb.address, Kind::Syscall, cb.mask_events)
    } else {
        inject(hv, mem, regs, (d, v), vector::GP, Some(0), 0)
    };
    if let Err(Undeliverable(why)) = r {
        crash(hv, d, &alloc::format!("{why} for a user-mode syscall"));
    }
}
