//! Exit-code protocol between this project's bare-metal binaries and the
//! QEMU harness (`xtask`, `tests`).
//!
//! QEMU's `isa-debug-exit` device at I/O port [`PORT`] turns a byte `code`
//! written there into QEMU's exit status `(code << 1) | 1`. A status of 0
//! is unreachable that way, so the harness maps [`SUCCESS`] back to 0.

/// I/O port of QEMU's `isa-debug-exit` device (`iobase=0xf4,iosize=4`).
pub const PORT: u16 = 0xf4;

/// Clean end: dom0 (or the single guest) powered off.
pub const SUCCESS: u8 = 0x10;
/// dom0 (or the single guest) asked for a reboot.
pub const REBOOT: u8 = 0x11;
/// dom0 (or the single guest) crashed (`SHUTDOWN_crash`).
pub const GUEST_CRASH: u8 = 0x12;
/// The hypervisor panicked or took a fatal exception.
pub const HYPERVISOR_PANIC: u8 = 0x13;
/// A test guest reported failure.
pub const TEST_FAIL: u8 = 0x14;
/// A test guest ran on real Xen and passed (it exits QEMU itself there).
pub const TEST_PASS: u8 = SUCCESS;

/// The QEMU exit status that `code` produces.
pub const fn qemu_status(code: u8) -> i32 {
    ((code as i32) << 1) | 1
}

/// Decodes a QEMU exit status into a code and its meaning.
pub fn describe(status: i32) -> &'static str {
    match status {
        s if s == qemu_status(SUCCESS) => "powered off",
        s if s == qemu_status(REBOOT) => "reboot requested",
        s if s == qemu_status(GUEST_CRASH) => "guest crashed",
        s if s == qemu_status(HYPERVISOR_PANIC) => "hypervisor panic",
        s if s == qemu_status(TEST_FAIL) => "test guest reported FAIL",
        0 => "QEMU exited without a debug-exit code (reset with -no-reboot, or killed)",
        1 => "QEMU error",
        _ => "unknown status",
    }
}
