//! Thin, named wrappers over the privileged instructions the hypervisor
//! uses (port I/O, MSRs, control registers, TLB), mostly from the `x86_64`
//! crate. Callers stay free of inline assembly.

use ::x86_64::registers::control::{Cr0, Cr2, Cr3, Cr4};
use ::x86_64::registers::model_specific::Msr;
use core::arch::asm;

/// `IA32_EFER`.
pub const MSR_EFER: u32 = 0xc000_0080;
/// `STAR`: syscall/sysret selectors.
pub const MSR_STAR: u32 = 0xc000_0081;
/// `LSTAR`: 64-bit syscall entry.
pub const MSR_LSTAR: u32 = 0xc000_0082;
/// `CSTAR`: compat-mode syscall entry.
pub const MSR_CSTAR: u32 = 0xc000_0083;
/// `SFMASK`: rflags bits cleared on syscall.
pub const MSR_SFMASK: u32 = 0xc000_0084;
/// `FS.base`.
pub const MSR_FS_BASE: u32 = 0xc000_0100;
/// `GS.base`.
pub const MSR_GS_BASE: u32 = 0xc000_0101;
/// `KERNEL_GS_BASE` (swapgs).
pub const MSR_SHADOW_GS_BASE: u32 = 0xc000_0102;
/// `IA32_SYSENTER_CS`.
pub const MSR_SYSENTER_CS: u32 = 0x174;

/// Writes a byte to an I/O port.
pub fn outb(port: u16, v: u8) {
    // SAFETY: the hypervisor owns all I/O ports; callers pick devices it drives.
    unsafe { ::x86_64::instructions::port::Port::<u8>::new(port).write(v) }
}

/// Reads a byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    // SAFETY: as outb; reads have no memory-safety effect.
    unsafe { ::x86_64::instructions::port::Port::<u8>::new(port).read() }
}

/// Reads an MSR.
pub fn rdmsr(msr: u32) -> u64 {
    // SAFETY: reading a model-specific register the caller knows exists.
    unsafe { Msr::new(msr).read() }
}

/// Writes an MSR.
///
/// # Safety
/// The value must keep the hypervisor's invariants (entry points, EFER bits).
pub unsafe fn wrmsr(msr: u32, v: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { Msr::new(msr).write(v) }
}

/// CR0.
pub fn cr0() -> u64 {
    Cr0::read_raw()
}

/// CR2: the last page-fault address.
pub fn cr2() -> u64 {
    Cr2::read_raw()
}

/// CR3.
pub fn cr3() -> u64 {
    Cr3::read_raw().0.start_address().as_u64()
}

/// CR4.
pub fn cr4() -> u64 {
    Cr4::read_raw()
}

/// Loads CR3 (flushes non-global TLB entries).
///
/// # Safety
/// `pa` must be a valid L4 that maps the hypervisor exactly as the current one.
pub unsafe fn write_cr3(pa: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { asm!("mov cr3, {}", in(reg) pa, options(nostack, preserves_flags)) }
}

/// Sets CR4.
///
/// # Safety
/// The bits must be supported and keep the hypervisor's invariants.
pub unsafe fn write_cr4(v: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { Cr4::write_raw(v) }
}

/// Sets CR0.
///
/// # Safety
/// As [`write_cr4`].
pub unsafe fn write_cr0(v: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { Cr0::write_raw(v) }
}

/// Flushes one TLB entry.
pub fn invlpg(va: u64) {
    // SAFETY: invlpg only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) }
}

/// Flushes all TLB entries, global ones too (toggles CR4.PGE).
pub fn flush_tlb_all() {
    let c = cr4();
    // SAFETY: toggling PGE and restoring it keeps every mapping.
    unsafe {
        write_cr4(c & !(1 << 7));
        write_cr4(c);
    }
}

/// CPUID.
pub fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// The time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc only reads the counter.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

/// Ends the machine under QEMU through `isa-debug-exit`, then halts.
pub fn qemu_exit(code: u8) -> ! {
    outb(pv_abi::qemu_exit::PORT, code);
    halt_forever()
}

/// Stops the CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: cli; hlt parks the CPU.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}
