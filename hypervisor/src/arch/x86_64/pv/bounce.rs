//! Delivering an exception, event or system call to the guest kernel: the
//! bounce frame (Xen's `create_bounce_frame`, `x86_64/entry.S`).
//!
//! On the guest kernel stack, lowest address first:
//!
//! ```text
//!   RCX, R11, [DS, ES, FS, GS (failsafe only)], [error code],
//!   RIP, CS (bits 32..39: saved upcall mask), RFLAGS (IF = !mask), RSP, SS
//! ```
//!
//! From guest user mode the vCPU first switches to kernel mode (kernel page
//! table, kernel GS) and the frame goes on the stack set by `stack_switch`;
//! from kernel mode it goes below the current stack pointer, and the saved
//! CS has RPL 0 so the guest can tell (`user_mode(regs)` is `cs & 3`). The
//! frame base is 16-byte aligned. A frame that cannot be written (bad guest
//! stack) crashes the domain.

use crate::arch::x86_64::emul::flags;
use crate::common::guest_mem::GuestMem;
use crate::common::Hv;
use pv_abi::abi::arch_x86::{CpuUserRegs, FLAT_KERNEL_CS, FLAT_KERNEL_SS};
use pv_abi::DomId;
use zerocopy::IntoBytes;

/// A bounce frame, lowest address first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The words.
    pub words: [u64; 13],
    /// How many are used.
    pub len: usize,
}

impl Frame {
    /// The used words.
    pub fn as_slice(&self) -> &[u64] {
        &self.words[..self.len]
    }
}

/// Builds the frame for the interrupted state `regs`. `from_kernel`: the
/// guest was in kernel mode; `saved_mask`: its upcall mask before delivery.
pub fn frame(
    regs: &CpuUserRegs,
    from_kernel: bool,
    saved_mask: u8,
    error: Option<u32>,
    segs: Option<[u16; 4]>,
) -> Frame {
    let mut f = Frame { words: [0; 13], len: 0 };
    f.len = frame_into(&mut f.words, regs, from_kernel, saved_mask, error, segs);
    f
}

/// [`frame`] into `w`; returns the number of words.
#[inline(always)]
fn frame_into(
    w: &mut [u64; 13],
    regs: &CpuUserRegs,
    from_kernel: bool,
    saved_mask: u8,
    error: Option<u32>,
    segs: Option<[u16; 4]>,
) -> usize {
    w[0] = regs.rcx;
    w[1] = regs.r11;
    let mut n = 2;
    if let Some(s) = segs {
        w[2] = s[0] as u64;
        w[3] = s[1] as u64;
        w[4] = s[2] as u64;
        w[5] = s[3] as u64;
        n = 6;
    }
    if let Some(e) = error {
        w[n] = e as u64;
        n += 1;
    }
    let cs = if from_kernel { regs.cs & !3 } else { regs.cs };
    let rflags = (regs.rflags & !flags::IF) | if saved_mask == 0 { flags::IF } else { 0 };
    w[n] = regs.rip;
    w[n + 1] = cs as u64 | (saved_mask as u64) << 32;
    w[n + 2] = rflags;
    w[n + 3] = regs.rsp;
    w[n + 4] = regs.ss as u64;
    n + 5
}

/// What kind of delivery this is (it decides a few flag details).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An exception or software interrupt, with its error code if any.
    Trap(Option<u32>),
    /// The event-channel upcall.
    Event,
    /// A 64-bit `syscall` from guest user mode.
    Syscall,
    /// The failsafe callback (bad segment state on return).
    Failsafe([u16; 4]),
}

/// Why a delivery failed; the caller crashes the domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Undeliverable(pub &'static str);

/// Switches the vCPU between guest kernel and user mode: page table and
/// the active GS base (the other one is kept as the CPU's shadow GS).
pub fn toggle_guest_mode(hv: &mut Hv, d: DomId, v: u32) {
    let hw = hv.hw;
    let vc = &mut hv.domains.get_mut(d).expect("domain").vcpus[v as usize];
    vc.arch.kernel_mode = !vc.arch.kernel_mode;
    hw.swapgs();
    hw.load_cr3(vc.arch.cr3());
}

/// Bounces to `handler` in guest kernel mode.
pub fn deliver<M: GuestMem>(
    hv: &mut Hv,
    mem: &mut M,
    regs: &mut CpuUserRegs,
    (d, v): (DomId, u32),
    handler: u64,
    kind: Kind,
    mask_events: bool,
) -> Result<(), Undeliverable> {
    if handler == 0 {
        return Err(Undeliverable("no handler registered"));
    }
    let vc = &hv.domains.get(d).expect("domain").vcpus[v as usize];
    let (from_kernel, has_kernel_table, kernel_sp) =
        (vc.arch.kernel_mode, vc.arch.cr3_kernel.0 != 0, vc.arch.kernel_sp);
    let (info, off) = vc.vcpu_info;
    let mask = hv.phys.atomic_u8(info, off + super::vcpu_info::MASK);
    let saved_mask = mask.load(core::sync::atomic::Ordering::Relaxed);
    let mut sp = if from_kernel {
        regs.rsp
    } else {
        if !has_kernel_table {
            return Err(Undeliverable("no kernel page table"));
        }
        toggle_guest_mode(hv, d, v);
        kernel_sp
    };
    let (error, segs) = match kind {
        Kind::Trap(e) => (e, None),
        Kind::Failsafe(s) => (None, Some(s)),
        _ => (None, None),
    };
    let mut words = [0u64; 13];
    let n = frame_into(&mut words, regs, from_kernel, saved_mask, error, segs);
    sp &= !15;
    sp = sp.wrapping_sub(8 * n as u64);
    if mem.copy_to(sp, words[..n].as_bytes()).is_err() {
        return Err(Undeliverable("cannot write the bounce frame on the guest stack"));
    }
    regs.rsp = sp;
    regs.rip = handler;
    regs.cs = FLAT_KERNEL_CS;
    regs.ss = FLAT_KERNEL_SS;
    let mut clear = flags::TF | flags::NT | flags::AC | flags::VM | flags::RF;
    if kind == Kind::Syscall {
        clear |= flags::DF;
    }
    regs.rflags = (regs.rflags & !clear) | flags::IF;
    if mask_events {
        hv.phys.atomic_u8(info, off + super::vcpu_info::MASK).store(1, core::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pv_abi::abi::arch_x86::FLAT_RING3_CS64;

    fn regs() -> CpuUserRegs {
        CpuUserRegs {
            rcx: 0x1111,
            r11: 0x2222,
            rip: 0xffff_ffff_8000_1234,
            cs: FLAT_RING3_CS64,
            rflags: 0x202,
            rsp: 0x7fff_0000,
            ss: 0xe02b,
            ..Default::default()
        }
    }

    #[test]
    fn frame_from_user_with_error_code() {
        let f = frame(&regs(), false, 0, Some(0x6), None);
        assert_eq!(f.as_slice(), &[0x1111, 0x2222, 6, 0xffff_ffff_8000_1234, 0xe033, 0x202, 0x7fff_0000, 0xe02b]);
    }

    #[test]
    fn frame_from_kernel_marks_rpl0_and_carries_the_mask() {
        let f = frame(&regs(), true, 1, None, None);
        // CS RPL cleared, mask in bits 32..39; IF cleared because events were masked.
        assert_eq!(f.as_slice(), &[0x1111, 0x2222, 0xffff_ffff_8000_1234, 0x1_0000_e030, 0x002, 0x7fff_0000, 0xe02b]);
    }

    #[test]
    fn failsafe_frame_has_segments() {
        let f = frame(&regs(), true, 0, None, Some([0x2b, 0x2b, 0, 0x63]));
        assert_eq!(f.len, 11);
        assert_eq!(&f.as_slice()[2..6], &[0x2b, 0x2b, 0, 0x63]);
    }
}
