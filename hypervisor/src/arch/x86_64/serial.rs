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
        outb(COM1 + 2, 0xc7); // FIFO on, cleared, 14-byte threshold
        outb(COM1 + 4, 0x03); // DTR | RTS
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
