//! The real CPU behind [`crate::common::Hw`].

use super::cpu::{self, rdmsr, wrmsr, MSR_FS_BASE, MSR_GS_BASE, MSR_SHADOW_GS_BASE};
use crate::common::Hw;
use core::arch::asm;
use pv_abi::Mfn;

/// The CPU the hypervisor runs on.
pub struct RealHw;

/// The one instance.
pub static HW: RealHw = RealHw;

/// Set while the current guest wants CR0.TS; the entry path clears TS
/// before saving FPU state when it is set.
#[no_mangle]
pub static mut hv_guest_ts: u8 = 0;

impl Hw for RealHw {
    fn flush_tlb(&self) {
        // Guest translations are never global: reloading CR3 drops them.
        // SAFETY: reloading the current CR3 changes no mapping.
        unsafe { cpu::write_cr3(cpu::cr3()) }
    }
    fn invlpg(&self, va: u64) {
        cpu::invlpg(va)
    }
    fn load_cr3(&self, l4: Mfn) {
        // SAFETY: callers pass validated L4s, which carry the hypervisor's slots.
        unsafe { cpu::write_cr3(l4.addr()) }
    }
    fn cr2(&self) -> u64 {
        cpu::cr2()
    }
    fn fs_base(&self) -> u64 {
        rdmsr(MSR_FS_BASE)
    }
    fn set_fs_base(&self, v: u64) {
        // SAFETY: the hypervisor does not use FS; callers check canonicality.
        unsafe { wrmsr(MSR_FS_BASE, v) }
    }
    fn gs_base(&self) -> u64 {
        rdmsr(MSR_GS_BASE)
    }
    fn set_gs_base(&self, v: u64) {
        // SAFETY: the hypervisor does not use GS.
        unsafe { wrmsr(MSR_GS_BASE, v) }
    }
    fn gs_shadow(&self) -> u64 {
        rdmsr(MSR_SHADOW_GS_BASE)
    }
    fn set_gs_shadow(&self, v: u64) {
        // SAFETY: the shadow GS base is the guest's inactive one.
        unsafe { wrmsr(MSR_SHADOW_GS_BASE, v) }
    }
    fn swapgs(&self) {
        // SAFETY: swaps the guest's active and inactive GS bases.
        unsafe { asm!("swapgs", options(nostack, nomem, preserves_flags)) }
    }
    fn load_user_gs_selector(&self, sel: u16) -> bool {
        // The user GS is the inactive one while the guest is in kernel
        // mode: swap, load, swap back (keeping the kernel base).
        let ok: u8;
        // SAFETY: a faulting selector load is fixed up to load null instead
        // (the fixup sets `ok` to 0); the GS bases end as they began except
        // for the user side.
        unsafe {
            asm!(
                "swapgs",
                "2: mov gs, {s:x}",
                "mov {ok}, 1",
                "3:",
                "swapgs",
                ".pushsection .ex_table, \"a\"",
                ".quad 2b, 4f",
                ".popsection",
                ".pushsection .text.fixup, \"ax\"",
                "4: xor {s:e}, {s:e}",
                "mov gs, {s:x}",
                "mov {ok}, 0",
                "jmp 3b",
                ".popsection",
                s = inout(reg) sel as u64 => _,
                ok = out(reg_byte) ok,
            );
        }
        ok != 0
    }
    fn set_guest_ts(&self, on: bool) {
        // SAFETY: the flag is read by the entry path on this CPU only; CR0
        // is set for the guest on exit.
        unsafe { core::ptr::addr_of_mut!(hv_guest_ts).write(on as u8) }
    }
    fn load_debugregs(&self, dr: &[u64; 8]) {
        // SAFETY: values were checked by set_debugreg (guest addresses, no GD).
        unsafe {
            asm!("mov dr0, {}", in(reg) dr[0], options(nostack, nomem));
            asm!("mov dr1, {}", in(reg) dr[1], options(nostack, nomem));
            asm!("mov dr2, {}", in(reg) dr[2], options(nostack, nomem));
            asm!("mov dr3, {}", in(reg) dr[3], options(nostack, nomem));
            asm!("mov dr6, {}", in(reg) dr[6], options(nostack, nomem));
            asm!("mov dr7, {}", in(reg) dr[7], options(nostack, nomem));
        }
    }
    fn dr6(&self) -> u64 {
        let v: u64;
        // SAFETY: reading DR6 has no side effects.
        unsafe { asm!("mov {}, dr6", out(reg) v, options(nostack, nomem)) };
        v
    }
    fn cpuid(&self, leaf: u32, sub: u32) -> [u32; 4] {
        cpu::cpuid(leaf, sub)
    }
    fn rdmsr_safe(&self, msr: u32) -> Option<u64> {
        // Only MSRs every x86_64 CPU has are asked for.
        matches!(msr, 0x277 | 0x1a0 | 0xc000_0080).then(|| rdmsr(msr))
    }
    fn port_in(&self, port: u16, size: u8) -> u32 {
        let v: u32;
        // SAFETY: callers pass ports dom0 may use (not the hypervisor's).
        unsafe {
            match size {
                1 => {
                    let b: u8;
                    asm!("in al, dx", out("al") b, in("dx") port, options(nostack, nomem));
                    v = b as u32;
                }
                2 => {
                    let w: u16;
                    asm!("in ax, dx", out("ax") w, in("dx") port, options(nostack, nomem));
                    v = w as u32;
                }
                _ => asm!("in eax, dx", out("eax") v, in("dx") port, options(nostack, nomem)),
            }
        }
        v
    }
    fn port_out(&self, port: u16, size: u8, v: u32) {
        // SAFETY: as port_in.
        unsafe {
            match size {
                1 => asm!("out dx, al", in("al") v as u8, in("dx") port, options(nostack, nomem)),
                2 => asm!("out dx, ax", in("ax") v as u16, in("dx") port, options(nostack, nomem)),
                _ => asm!("out dx, eax", in("eax") v, in("dx") port, options(nostack, nomem)),
            }
        }
    }
    fn rdtsc(&self) -> u64 {
        cpu::rdtsc()
    }
    fn load_ldt(&self, sel: u16) {
        // SAFETY: the selector is 0 or the LDT descriptor the hypervisor wrote.
        unsafe { asm!("lldt {0:x}", in(reg) sel, options(nostack, nomem)) }
    }
}
