//! Shared pieces of the PV test guests: the PASS/FAIL protocol, the
//! guest's view of its own memory (P2M, free frames, a scratch mapping),
//! and a trap table that records exceptions for the tests to inspect.
//!
//! Each guest prints `<name>: PASS` or `<name>: FAIL: <why>` on the
//! console and then powers off (PASS) or reports a crash (FAIL), so the
//! harness sees both the line and a distinct QEMU status.
#![no_std]

pub mod mem;
pub mod traps;

use pv_abi::{hypercall, kprintln};

/// Reports success and powers off.
pub fn pass(name: &str) -> ! {
    kprintln!("{name}: PASS");
    hypercall::poweroff()
}

/// Reports failure and stops with a crash status.
pub fn fail(name: &str, why: core::fmt::Arguments<'_>) -> ! {
    kprintln!("{name}: FAIL: {why}");
    hypercall::crash()
}

/// Ends the QEMU run with `code` through the debug-exit port, as dom0 may
/// on real Xen and on ours (I/O privilege from `PHYSDEVOP_set_iopl`).
pub fn qemu_exit(code: u8) -> ! {
    let _ = hypercall::set_iopl(1);
    // SAFETY: with IOPL 1 in kernel mode the hypervisor lets dom0 reach the
    // debug-exit port; QEMU ends the run.
    unsafe { core::arch::asm!("out dx, al", in("dx") pv_abi::qemu_exit::PORT, in("al") code, options(nomem, nostack)) };
    hypercall::poweroff()
}

/// Reads the time-stamp counter (an exact instruction count under QEMU
/// `-icount shift=0,sleep=off -rtc clock=vm`).
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: lfence; rdtsc only reads the counter.
    unsafe { core::arch::asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}

/// Fails the test unless `cond` holds.
#[macro_export]
macro_rules! check {
    ($name:expr, $cond:expr, $($why:tt)*) => {
        if !$cond {
            $crate::fail($name, format_args!($($why)*));
        }
    };
}

/// Fails the test unless `a == b`.
#[macro_export]
macro_rules! check_eq {
    ($name:expr, $a:expr, $b:expr, $($why:tt)*) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            $crate::fail($name, format_args!("{}: {:?} != {:?}", format_args!($($why)*), a, b));
        }
    }};
}
