//! The local APIC timer and the calibration of the TSC and the APIC timer
//! against the PIT.
//!
//! The hypervisor keeps time with the TSC (system time = TSC scaled to
//! nanoseconds since boot) and takes its interrupts from the local APIC
//! timer in one-shot mode, programmed for the next deadline (scheduler
//! slice end or the earliest guest timer). Both frequencies are measured
//! once at boot against PIT channel 0 (1.193182 MHz), polled with the
//! latch command, so no PIT interrupt is needed.

use super::cpu::{inb, outb, rdmsr, rdtsc};
use super::layout::APIC_VIRT;

/// The vector of the APIC timer.
pub const TIMER_VECTOR: u8 = 0xf0;
/// The spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xff;

const PIT_HZ: u64 = 1_193_182;

// Local APIC registers (offsets from the base).
const EOI: usize = 0xb0;
const SVR: usize = 0xf0;
const LVT_TIMER: usize = 0x320;
const TIMER_INITIAL: usize = 0x380;
const TIMER_CURRENT: usize = 0x390;
const TIMER_DIVIDE: usize = 0x3e0;
const TPR: usize = 0x80;
const LVT_LINT0: usize = 0x350;
const LVT_LINT1: usize = 0x360;

fn reg(off: usize) -> *mut u32 {
    (APIC_VIRT + off as u64) as *mut u32
}

fn read(off: usize) -> u32 {
    // SAFETY: the APIC page is mapped uncached at APIC_VIRT (boot.rs).
    unsafe { reg(off).read_volatile() }
}

fn write(off: usize, v: u32) {
    // SAFETY: as `read`.
    unsafe { reg(off).write_volatile(v) }
}

/// The local APIC's physical base (from `IA32_APIC_BASE`).
pub fn phys_base() -> u64 {
    rdmsr(0x1b) & 0x000f_ffff_ffff_f000
}

/// Reads PIT channel 0's current count.
fn pit_count() -> u16 {
    outb(0x43, 0x00); // latch channel 0
    let lo = inb(0x40) as u16;
    let hi = inb(0x40) as u16;
    (hi << 8) | lo
}

/// Measured frequencies.
#[derive(Clone, Copy, Debug)]
pub struct Frequencies {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// APIC timer ticks per second (divide-by-1).
    pub apic_hz: u64,
}

/// Enables the APIC and measures the TSC and APIC timer against ~10 ms of
/// the PIT. Returns `None` if the PIT does not count (then the caller
/// falls back to a fixed guess).
pub fn init_and_calibrate() -> Option<Frequencies> {
    write(SVR, 0x100 | SPURIOUS_VECTOR as u32); // software enable
    write(TPR, 0);
    // The 8259 (console input, IRQ 4) reaches the CPU through LINT0 in
    // ExtINT mode ("virtual wire"); LINT1 is NMI.
    write(LVT_LINT0, 0x700);
    write(LVT_LINT1, 0x400);
    write(TIMER_DIVIDE, 0xb); // divide by 1
    write(LVT_TIMER, 1 << 16); // masked while calibrating
                               // PIT channel 0, lobyte/hibyte, mode 2 (rate generator), count 0xffff.
    outb(0x43, 0x34);
    outb(0x40, 0xff);
    outb(0x40, 0xff);
    let ticks = PIT_HZ / 100; // 10 ms
    let start = pit_count();
    // A counter that never moves means no PIT.
    let mut spins = 0u64;
    while pit_count() == start {
        spins += 1;
        if spins > 1_000_000 {
            return None;
        }
    }
    let p0 = pit_count();
    write(TIMER_INITIAL, u32::MAX);
    let t0 = rdtsc();
    let a0 = read(TIMER_CURRENT);
    loop {
        let p = pit_count();
        if p0.wrapping_sub(p) as u64 >= ticks {
            break;
        }
    }
    let t1 = rdtsc();
    let a1 = read(TIMER_CURRENT);
    let elapsed = p0.wrapping_sub(pit_count()) as u64;
    write(TIMER_INITIAL, 0);
    let scale = |d: u64| d * PIT_HZ / elapsed.max(1);
    Some(Frequencies { tsc_hz: scale(t1 - t0), apic_hz: scale(a0.wrapping_sub(a1) as u64) })
}

/// Arms the timer to fire once after `ticks` APIC ticks (0 disarms).
pub fn oneshot(ticks: u64) {
    write(LVT_TIMER, TIMER_VECTOR as u32); // one-shot, unmasked
    write(TIMER_INITIAL, ticks.clamp(if ticks == 0 { 0 } else { 1 }, u32::MAX as u64) as u32);
}

/// Signals end of interrupt.
pub fn eoi() {
    write(EOI, 0);
}

/// Waits for an interrupt with interrupts enabled, then disables them
/// again (the idle loop; `sti; hlt` cannot lose a wake-up).
pub fn idle_wait() {
    // SAFETY: ring-0 interrupts are handled by the vector stubs (the
    // timer's only acknowledges it); the stack is the hypervisor's.
    unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) }
}
