//! The console back-end's pure logic (`io/console.h`, seen from dom0).
//!
//! A domU writes its console output into the 2048-byte `out` ring of its
//! `xencons_interface` page and advances the free-running `out_prod`;
//! dom0 copies `[out_cons, out_prod)` out (each index masked with
//! `OUT_SIZE - 1`), publishes the new `out_cons` and notifies the domU.
//! The domU is not trusted: indices claiming more than a ring of data are
//! an error (nothing is copied), and what it prints is cleaned before it
//! reaches dom0's console ([`LineAssembler`]).
//!
//! Input goes the other way through the 1024-byte `in` ring: dom0 writes
//! bytes at `in_prod` while there is room before the domU's `in_cons`
//! ([`fill_in`]). Every byte a domU ever printed also lands in its
//! [`ConsoleLog`], a bounded history that `xl console` replays before it
//! streams live output.

use alloc::vec::Vec;
use core::fmt;

/// Size of the `out` ring (domU → back end).
pub const OUT_SIZE: u32 = 2048;
/// Size of the `in` ring (back end → domU).
pub const IN_SIZE: u32 = 1024;
/// Longest line printed in one piece; longer lines are split.
pub const MAX_LINE: usize = 200;

/// The domU's indices are impossible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingOverrun {
    /// Our consumer index.
    pub cons: u32,
    /// The producer index the domU published.
    pub prod: u32,
}

impl fmt::Display for RingOverrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "console ring overrun: out_prod {:#x} is more than {} bytes past out_cons {:#x}",
            self.prod, OUT_SIZE, self.cons
        )
    }
}

/// Bytes waiting in the `out` ring.
pub fn out_pending(cons: u32, prod: u32) -> Result<u32, RingOverrun> {
    let n = prod.wrapping_sub(cons);
    if n > OUT_SIZE {
        Err(RingOverrun { cons, prod })
    } else {
        Ok(n)
    }
}

/// Copies the waiting bytes out of the ring through `read(slot)` (slot <
/// [`OUT_SIZE`]) into `sink`; returns the new consumer index to publish.
pub fn drain(
    cons: u32,
    prod: u32,
    mut read: impl FnMut(u32) -> u8,
    mut sink: impl FnMut(u8),
) -> Result<u32, RingOverrun> {
    let n = out_pending(cons, prod)?;
    for i in 0..n {
        sink(read(cons.wrapping_add(i) & (OUT_SIZE - 1)));
    }
    Ok(cons.wrapping_add(n))
}

/// Room in the `in` ring, or the domU's impossible consumer index.
pub fn in_space(cons: u32, prod: u32) -> Result<u32, RingOverrun> {
    let used = prod.wrapping_sub(cons);
    if used > IN_SIZE {
        Err(RingOverrun { cons, prod })
    } else {
        Ok(IN_SIZE - used)
    }
}

/// Writes as much of `data` as fits into the `in` ring through
/// `write(slot, byte)` (slot < [`IN_SIZE`]); returns the bytes written and
/// the new producer index to publish.
pub fn fill_in(cons: u32, prod: u32, data: &[u8], mut write: impl FnMut(u32, u8)) -> Result<(usize, u32), RingOverrun> {
    let n = (in_space(cons, prod)? as usize).min(data.len());
    for (i, &b) in data[..n].iter().enumerate() {
        write(prod.wrapping_add(i as u32) & (IN_SIZE - 1), b);
    }
    Ok((n, prod.wrapping_add(n as u32)))
}

/// A domain's console history: the last `cap` bytes it printed, addressed
/// by absolute position (bytes ever printed before them), so a reader
/// attached to the live stream knows exactly what it has not seen yet.
#[derive(Clone, Debug)]
pub struct ConsoleLog {
    buf: Vec<u8>,
    cap: usize,
    total: u64,
}

impl ConsoleLog {
    /// An empty log keeping at most `cap` bytes (at least 1). Memory is
    /// taken as output arrives.
    pub fn new(cap: usize) -> Self {
        ConsoleLog { buf: Vec::new(), cap: cap.max(1), total: 0 }
    }

    /// Appends bytes, dropping the oldest beyond the capacity.
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.buf.len() < self.cap {
                self.buf.push(b);
            } else {
                self.buf[(self.total % self.cap as u64) as usize] = b;
            }
            self.total += 1;
        }
    }

    /// Bytes ever pushed (the position after the newest byte).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The position of the oldest byte still held.
    pub fn oldest(&self) -> u64 {
        self.total - self.buf.len() as u64
    }

    /// Appends to `out` what was printed from position `pos` on (from the
    /// oldest byte held if `pos` is older); returns the position to read
    /// from next time and how many bytes were lost before it.
    pub fn read_from(&self, pos: u64, out: &mut Vec<u8>) -> (u64, u64) {
        let start = pos.max(self.oldest()).min(self.total);
        for p in start..self.total {
            out.push(self.buf[(p % self.cap as u64) as usize]);
        }
        (self.total, start.saturating_sub(pos))
    }
}

/// Assembles console bytes into lines: `\n` ends a line, `\r` is dropped,
/// other control and non-ASCII bytes become `?` (a domU must not be able
/// to drive dom0's terminal), and a line longer than [`MAX_LINE`] is
/// emitted in pieces.
#[derive(Clone, Debug)]
pub struct LineAssembler {
    buf: [u8; MAX_LINE],
    len: usize,
}

impl Default for LineAssembler {
    fn default() -> Self {
        LineAssembler { buf: [0; MAX_LINE], len: 0 }
    }
}

impl LineAssembler {
    /// Adds one byte; calls `emit` with each completed line (without `\n`).
    pub fn push(&mut self, b: u8, mut emit: impl FnMut(&str)) {
        match b {
            b'\n' => self.flush(&mut emit),
            b'\r' => {}
            _ => {
                if self.len == MAX_LINE {
                    self.flush(&mut emit);
                }
                self.buf[self.len] = if b == b'\t' || (0x20..0x7f).contains(&b) { b } else { b'?' };
                self.len += 1;
            }
        }
    }

    /// Emits what is buffered (even an empty line) and starts a new line.
    pub fn flush(&mut self, mut emit: impl FnMut(&str)) {
        // Only printable ASCII is ever stored.
        emit(core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?"));
        self.len = 0;
    }

    /// Bytes of an unfinished line.
    pub fn partial(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_and_overrun() {
        assert_eq!(out_pending(10, 10), Ok(0));
        assert_eq!(out_pending(u32::MAX - 1, 5), Ok(7));
        assert_eq!(out_pending(0, OUT_SIZE), Ok(OUT_SIZE));
        assert_eq!(out_pending(0, OUT_SIZE + 1), Err(RingOverrun { cons: 0, prod: OUT_SIZE + 1 }));
        assert!(out_pending(5, 4).is_err());
    }

    #[test]
    fn drain_wraps_the_ring() {
        let ring: Vec<u8> = (0..OUT_SIZE).map(|i| i as u8).collect();
        let mut got = Vec::new();
        let cons = OUT_SIZE * 3 - 2;
        let new = drain(cons, cons + 4, |i| ring[i as usize], |b| got.push(b)).unwrap();
        assert_eq!(new, cons + 4);
        assert_eq!(got, [ring[2046], ring[2047], ring[0], ring[1]]);
        let mut none = 0;
        assert!(drain(0, 4096, |_| 0, |_| none += 1).is_err());
        assert_eq!(none, 0);
    }

    #[test]
    fn input_ring_fills_to_the_consumer() {
        let mut ring = vec![0u8; IN_SIZE as usize];
        let (n, prod) = fill_in(u32::MAX - 1, u32::MAX - 1, b"abcd", |i, b| ring[i as usize] = b).unwrap();
        assert_eq!((n, prod), (4, 2));
        assert_eq!(&ring[IN_SIZE as usize - 2..], b"ab");
        assert_eq!(&ring[..2], b"cd");
        assert_eq!(in_space(0, IN_SIZE - 3), Ok(3));
        let (n, prod) = fill_in(0, IN_SIZE - 3, b"xyzw", |_, _| {}).unwrap();
        assert_eq!((n, prod), (3, IN_SIZE));
        assert_eq!(fill_in(0, IN_SIZE, b"q", |_, _| panic!("ring is full")).unwrap(), (0, IN_SIZE));
        assert!(fill_in(10, 5, b"q", |_, _| panic!("corrupt")).is_err());
        assert!(in_space(0, IN_SIZE + 1).is_err());
    }

    #[test]
    fn console_log_keeps_the_newest_bytes_by_position() {
        let mut log = ConsoleLog::new(8);
        log.push(b"hello");
        let mut out = Vec::new();
        assert_eq!(log.read_from(0, &mut out), (5, 0));
        assert_eq!(out, b"hello");
        out.clear();
        log.push(b" world");
        assert_eq!((log.oldest(), log.total()), (3, 11));
        // A reader at position 5 gets exactly what followed.
        assert_eq!(log.read_from(5, &mut out), (11, 0));
        assert_eq!(out, b" world");
        out.clear();
        // History from the start: the last 8 bytes, 3 lost.
        assert_eq!(log.read_from(0, &mut out), (11, 3));
        assert_eq!(out, b"lo world");
        out.clear();
        assert_eq!(log.read_from(11, &mut out), (11, 0));
        assert!(out.is_empty());
        assert_eq!(log.read_from(99, &mut out), (11, 0));
        assert!(out.is_empty());
    }

    #[test]
    fn lines_are_cleaned_and_split() {
        let mut a = LineAssembler::default();
        let mut lines: Vec<String> = Vec::new();
        for &b in b"hello\r\nwo\x1b[2Jrld\n\xffx" {
            a.push(b, |l| lines.push(l.into()));
        }
        assert_eq!(lines, ["hello", "wo?[2Jrld"]);
        assert_eq!(a.partial(), 2);
        a.flush(|l| lines.push(l.into()));
        assert_eq!(lines[2], "?x");
        lines.clear();
        for _ in 0..MAX_LINE + 5 {
            a.push(b'a', |l| lines.push(l.into()));
        }
        a.push(b'\n', |l| lines.push(l.into()));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], "aaaaa");
    }
}
