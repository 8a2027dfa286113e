//! Bare-metal runtime shared by the hypervisor and every PV kernel.
//!
//! What lives here is what any `#![no_std] #![no_main]` binary on the
//! `x86_64-unknown-linux-gnu` target needs and `core` does not provide:
//!
//! - `memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`, `strlen`, written with
//!   `rep movsb`/`rep stosb` in `asm!` so LLVM cannot lower them back into
//!   calls to themselves;
//! - an empty `rust_eh_personality` (we build with `panic = "abort"`, but
//!   the precompiled `core` still references it);
//! - the `#[panic_handler]`, which forwards to the binary's own
//!   `__kernel_rt_panic` (declared with [`panic_handler!`]), because the
//!   hypervisor and a guest report a panic differently.
//!
//! The ELF-note macro both also use is `pv_abi::elfnote!`: notes are ABI.
//!
//! Only bare-metal binaries may depend on this crate: in a host binary the
//! `mem*` symbols and the panic handler would collide with `std`'s.
#![no_std]

use core::arch::asm;

/// Copy `n` bytes from `src` to `dst` (non-overlapping).
///
/// # Safety
/// The C contract of `memcpy`: both ranges valid for `n` bytes, no overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
    // Quadwords first, then the tail: a REP iteration moves 8 bytes.
    unsafe {
        asm!("rep movsq", "mov rcx, {tail}", "rep movsb",
            tail = in(reg) n & 7,
            inout("rcx") n >> 3 => _, inout("rdi") dst => _, inout("rsi") src => _,
            options(nostack, preserves_flags));
    }
    dst
}

/// Copy `n` bytes from `src` to `dst`; the ranges may overlap.
///
/// # Safety
/// The C contract of `memmove`: both ranges valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize).wrapping_add(n) {
        // SAFETY: a forward copy is correct when dst is below src or the
        // ranges do not overlap; validity is the caller's contract.
        unsafe {
            asm!("rep movsq", "mov rcx, {tail}", "rep movsb",
                tail = in(reg) n & 7,
                inout("rcx") n >> 3 => _, inout("rdi") dst => _, inout("rsi") src => _,
                options(nostack, preserves_flags));
        }
    } else {
        // SAFETY: dst overlaps the tail of src: copy backwards with the
        // direction flag set, and clear it again as the ABI requires.
        unsafe {
            asm!("std", "rep movsb", "cld",
                inout("rcx") n => _,
                inout("rdi") dst.add(n - 1) => _,
                inout("rsi") src.add(n - 1) => _,
                options(nostack));
        }
    }
    dst
}

/// Fill `n` bytes at `dst` with the low byte of `c`.
///
/// # Safety
/// The C contract of `memset`: the range is valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees the range is valid for `n` bytes.
    // Quadwords of the replicated byte first, then the tail.
    unsafe {
        asm!("rep stosq", "mov rcx, {tail}", "rep stosb",
            tail = in(reg) n & 7,
            inout("rcx") n >> 3 => _, inout("rdi") dst => _,
            in("rax") (c as u8 as u64).wrapping_mul(0x0101_0101_0101_0101),
            options(nostack, preserves_flags));
    }
    dst
}

/// Compare `n` bytes.
///
/// # Safety
/// The C contract of `memcmp`: both ranges valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n and both ranges are valid for n bytes. Volatile
        // reads keep LLVM from recognising this loop as a memcmp call.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// Equality-only comparison (LLVM emits it for `==` on slices).
///
/// # Safety
/// As [`memcmp`].
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// Length of a NUL-terminated string.
///
/// # Safety
/// `s` points to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a terminating NUL within the object.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}

/// `core` references the personality routine even with `panic = "abort"`.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

extern "Rust" {
    /// Provided by the binary through [`panic_handler!`].
    fn __kernel_rt_panic(info: &core::panic::PanicInfo<'_>) -> !;
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: every binary that links this crate defines the symbol with
    // the declared signature through `panic_handler!`.
    unsafe { __kernel_rt_panic(info) }
}

/// Names the function that reports a panic and stops the binary.
///
/// ```ignore
/// kernel_rt::panic_handler!(my_panic);
/// fn my_panic(info: &core::panic::PanicInfo) -> ! { ... }
/// ```
#[macro_export]
macro_rules! panic_handler {
    ($f:path) => {
        #[no_mangle]
        fn __kernel_rt_panic(info: &core::panic::PanicInfo<'_>) -> ! {
            $f(info)
        }
    };
}

/// The precompiled `alloc` (built with unwinding) references this from
/// landing pads that `panic = "abort"` never reaches.
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    loop {
        core::hint::spin_loop();
    }
}
