//! The COM1 UART (16550 at 0x3f8), polled, 115200 8N1.

use super::cpu::{inb, outb};
use crate::common::console::ConsoleOut;

const COM1: u16 = 0x3f8;

/// The serial console.
pub struct Serial;

impl Serial {
    /// Programs the UART.
    pub fn init() {
        outb(COM1 + 1, 0x00); // no interrupts
        outb(COM1 + 3, 0x80); // DLAB
        outb(COM1, 0x01); // divisor 1: 115200 baud
        outb(COM1 + 1, 0x00);
        outb(COM1 + 3, 0x03); // 8N1
        outb(COM1 + 2, 0x07); // FIFO on, cleared, interrupt at 1 byte
        outb(COM1 + 4, 0x0b); // DTR | RTS | OUT2 (IRQ line enabled)
    }

    /// Enables the receive interrupt (IRQ 4).
    pub fn enable_rx_irq() {
        outb(COM1 + 1, 0x01);
    }

    /// Moves every received byte into the console input queue (from the
    /// IRQ 4 handler). Returns whether any arrived.
    pub fn drain_rx() -> bool {
        let mut any = false;
        while let Some(b) = Serial::try_read() {
            crate::common::console::push_input(b);
            any = true;
        }
        any
    }

    fn put(b: u8) {
        while inb(COM1 + 5) & 0x20 == 0 {
            core::hint::spin_loop();
        }
        outb(COM1, b);
    }

    /// A received byte, if one is waiting.
    pub fn try_read() -> Option<u8> {
        (inb(COM1 + 5) & 1 != 0).then(|| inb(COM1))
    }
}

impl ConsoleOut for Serial {
    fn write_bytes(&self, b: &[u8]) {
        for &c in b {
            if c == b'\n' {
                Serial::put(b'\r');
            }
            Serial::put(c);
        }
    }
}

/// The serial console as a static sink.
pub static SERIAL: Serial = Serial;
