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
