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
use crate::abi::xen::hypercall as nr;
use crate::abi::{sched, version, xen};
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
