//! COM2: a 16550 UART that dom0 drives itself, by polling, for the host's
//! `xl` (QEMU connects it to a unix socket on the host).
//!
//! dom0 gets I/O privilege with `PHYSDEVOP_set_iopl(1)`; the hypervisor
//! then emulates its `in`/`out` instructions on ports it does not keep
//! for itself (COM1, the PICs, the PIT and PCI configuration are its
//! own), passing them to the hardware. There is no interrupt: dom0 reads
//! the line-status register whenever its main loop comes round (at least
//! every few milliseconds while idle).
//!
//! Output never blocks dom0 for long: when the other end stops reading
//! (QEMU holds the transmitter busy while the socket is full, or nobody
//! is connected and QEMU still accepts), a write waits at most
//! [`STALL_NS`] for room and then drops the rest; until the transmitter
//! empties again further writes are dropped at once.

use pv_abi::hypercall;

/// COM2's base port.
pub const COM2: u16 = 0x2f8;
/// How long a write waits for the transmitter before dropping data.
pub const STALL_NS: u64 = 500_000_000;

const RBR_THR: u16 = 0;
const IER: u16 = 1;
const FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
const SCR: u16 = 7;
const LSR_DR: u8 = 1 << 0;
const LSR_THRE: u8 = 1 << 5;
/// Bytes the transmit FIFO takes once `THRE` is set.
const TX_FIFO: usize = 16;

fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: port I/O on COM2's registers (dom0 has I/O privilege; the
    // hypervisor emulates the access); no memory is touched.
    unsafe { core::arch::asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags)) };
    v
}

fn outb(port: u16, v: u8) {
    // SAFETY: as in `inb`.
    unsafe { core::arch::asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags)) };
}

/// The polled UART.
pub struct Uart {
    base: u16,
    stalled: bool,
    /// Bytes dropped because the other end did not read.
    pub dropped: u64,
}

impl Uart {
    /// Takes I/O privilege and programs the UART at `base` (115200 8N1,
    /// FIFOs on, no interrupts); `None` if there is no UART there (the
    /// scratch register does not hold a value).
    pub fn probe(base: u16) -> Option<Uart> {
        hypercall::set_iopl(1).ok()?;
        outb(base + SCR, 0x5a);
        if inb(base + SCR) != 0x5a {
            return None;
        }
        outb(base + SCR, 0xa5);
        if inb(base + SCR) != 0xa5 {
            return None;
        }
        outb(base + IER, 0);
        outb(base + LCR, 0x80);
        outb(base + RBR_THR, 1);
        outb(base + IER, 0);
        outb(base + LCR, 0x03);
        outb(base + FCR, 0xc7);
        outb(base + MCR, 0x03);
        Some(Uart { base, stalled: false, dropped: 0 })
    }

    /// Reads what has arrived, up to `buf.len()` bytes.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() && inb(self.base + LSR) & LSR_DR != 0 {
            buf[n] = inb(self.base + RBR_THR);
            n += 1;
        }
        n
    }

    /// Writes `data`, waiting for the transmitter as long as `now()`
    /// (ns) stays within [`STALL_NS`] of the last progress; drops the
    /// rest otherwise. Returns whether everything was sent.
    pub fn write(&mut self, data: &[u8], now: impl Fn() -> u64) -> bool {
        let mut rest = data;
        let mut last = now();
        while !rest.is_empty() {
            if inb(self.base + LSR) & LSR_THRE != 0 {
                self.stalled = false;
                let n = rest.len().min(TX_FIFO);
                for &b in &rest[..n] {
                    outb(self.base + RBR_THR, b);
                }
                rest = &rest[n..];
                last = now();
                continue;
            }
            if self.stalled || now().saturating_sub(last) > STALL_NS {
                self.stalled = true;
                self.dropped += rest.len() as u64;
                return false;
            }
            core::hint::spin_loop();
        }
        true
    }
}
