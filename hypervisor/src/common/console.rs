//! The hypervisor console: log records and guest console output go to the
//! serial port and into a ring buffer (read back by dom0, `xl dmesg`).
//!
//! Log lines are prefixed `(XEN)`, plus `d<dom>v<vcpu>` while the
//! hypervisor is working for a guest; guest `console_io` output is
//! prefixed `(d<dom>)`, line-buffered and stripped of control characters
//! so a guest cannot drive the operator's terminal.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};
use pv_abi::DomId;
use spin::Mutex;

/// Where console bytes go (the serial port on the hardware).
pub trait ConsoleOut: Sync {
    /// Writes raw bytes.
    fn write_bytes(&self, b: &[u8]);
}

static SINK: spin::Once<&'static dyn ConsoleOut> = spin::Once::new();
static CTX: AtomicU32 = AtomicU32::new(NO_CTX);
const NO_CTX: u32 = u32::MAX;

/// Size of the console history kept for `xl dmesg`.
pub const RING_SIZE: usize = 64 * 1024;

/// The console history: a byte ring with a free-running write index.
pub struct ConsoleRing {
    buf: [u8; RING_SIZE],
    /// Total bytes ever written (index = prod % RING_SIZE).
    pub prod: u64,
}

static RING: Mutex<ConsoleRing> = Mutex::new(ConsoleRing { buf: [0; RING_SIZE], prod: 0 });

impl ConsoleRing {
    fn push(&mut self, b: &[u8]) {
        for &c in b {
            self.buf[(self.prod % RING_SIZE as u64) as usize] = c;
            self.prod += 1;
        }
    }
    /// Copies out history starting at absolute index `from` (clamped to
    /// what is still held); returns (bytes copied, next index).
    pub fn read(&self, from: u64, out: &mut [u8]) -> (usize, u64) {
        let oldest = self.prod.saturating_sub(RING_SIZE as u64);
        let mut i = from.max(oldest);
        let mut n = 0;
        while i < self.prod && n < out.len() {
            out[n] = self.buf[(i % RING_SIZE as u64) as usize];
            n += 1;
            i += 1;
        }
        (n, i)
    }
}

/// Runs `f` on the console history.
pub fn with_ring<R>(f: impl FnOnce(&ConsoleRing) -> R) -> R {
    f(&RING.lock())
}

/// Whether the last byte written ended a line (the hypervisor's own lines
/// start on a fresh one even after dom0's raw output, e.g. a prompt).
static AT_LINE_START: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);

/// Writes bytes to the serial port and the history.
pub fn write_raw(b: &[u8]) {
    let Some(&last) = b.last() else { return };
    if let Some(s) = SINK.get() {
        s.write_bytes(b);
    }
    if let Some(mut r) = RING.try_lock() {
        r.push(b);
    }
    AT_LINE_START.store(last == b'\n', Ordering::Relaxed);
}

/// The hardware domain's console output, as Xen writes it: raw, without a
/// prefix or line buffering (it owns the console; its shell's prompt and
/// echo must show at once).
pub fn write_dom0(b: &[u8]) {
    write_raw(b);
}

/// Starts a new line if raw output left one open.
fn fresh_line() {
    if !AT_LINE_START.load(Ordering::Relaxed) {
        write_raw(b"\n");
    }
}

struct Raw;
impl Write for Raw {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_raw(s.as_bytes());
        Ok(())
    }
}

/// Prints formatted text without a prefix (panic and register dumps).
pub fn print_fmt(args: fmt::Arguments<'_>) {
    let _ = Raw.write_fmt(args);
}

/// Sets the `d<dom>v<vcpu>` prefix for log lines (`None`: the hypervisor
/// itself).
pub fn set_log_context(ctx: Option<(DomId, u32)>) {
    let v = ctx.map_or(NO_CTX, |(d, v)| ((d.0 as u32) << 16) | (v & 0xffff));
    CTX.store(v, Ordering::Relaxed);
}

/// The current log context.
pub fn log_context() -> Option<(DomId, u32)> {
    match CTX.load(Ordering::Relaxed) {
        NO_CTX => None,
        v => Some((DomId((v >> 16) as u16), v & 0xffff)),
    }
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let lvl = match r.level() {
            log::Level::Error => "ERROR: ",
            log::Level::Warn => "WARN: ",
            _ => "",
        };
        fresh_line();
        match log_context() {
            Some((d, v)) => print_fmt(format_args!("(XEN) d{}v{} {}{}\n", d.0, v, lvl, r.args())),
            None => print_fmt(format_args!("(XEN) {}{}\n", lvl, r.args())),
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the console sink and the `log` backend.
pub fn init(sink: &'static dyn ConsoleOut, level: log::LevelFilter) {
    SINK.call_once(|| sink);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Line buffer for one domain's `console_io` output.
pub struct GuestConsole {
    line: [u8; 256],
    len: usize,
}

impl Default for GuestConsole {
    fn default() -> Self {
        GuestConsole { line: [0; 256], len: 0 }
    }
}

impl GuestConsole {
    /// Appends guest bytes; complete lines are printed as `(d<dom>) line`.
    pub fn write(&mut self, dom: DomId, bytes: &[u8]) {
        for &c in bytes {
            match c {
                b'\n' => self.flush(dom),
                b'\r' => {}
                b'\t' | 0x20..=0x7e => self.push(dom, c),
                _ => self.push(dom, b'.'),
            }
        }
    }
    fn push(&mut self, dom: DomId, c: u8) {
        if self.len == self.line.len() {
            self.flush(dom);
        }
        self.line[self.len] = c;
        self.len += 1;
    }
    /// Prints whatever is buffered as a line.
    pub fn flush(&mut self, dom: DomId) {
        let text = core::str::from_utf8(&self.line[..self.len]).unwrap_or("");
        fresh_line();
        print_fmt(format_args!("(d{}) {}\n", dom.0, text));
        self.len = 0;
    }
    /// Prints a partial line, if any (before a domain goes away).
    pub fn flush_if_pending(&mut self, dom: DomId) {
        if self.len > 0 {
            self.flush(dom);
        }
    }
    /// Bytes waiting for a newline.
    pub fn pending(&self) -> &[u8] {
        &self.line[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::String;
    use std::sync::Mutex as StdMutex;

    struct Capture(StdMutex<String>);
    impl ConsoleOut for Capture {
        fn write_bytes(&self, b: &[u8]) {
            self.0.lock().unwrap().push_str(core::str::from_utf8(b).unwrap());
        }
    }
    static CAP: Capture = Capture(StdMutex::new(String::new()));

    #[test]
    fn guest_lines_are_prefixed_and_sanitised() {
        init(&CAP, log::LevelFilter::Info);
        let mut g = GuestConsole::default();
        g.write(DomId(7), b"hello\x1b[31m wor");
        assert_eq!(g.pending(), b"hello.[31m wor");
        g.write(DomId(7), b"ld\r\nnext");
        let out = CAP.0.lock().unwrap().clone();
        assert!(out.contains("(d7) hello.[31m world\n"), "{out}");
        assert_eq!(g.pending(), b"next");
        let (n, next) = with_ring(|r| {
            let mut buf = [0u8; RING_SIZE];
            let (n, next) = r.read(0, &mut buf);
            assert!(core::str::from_utf8(&buf[..n]).unwrap().contains("(d7) hello"));
            (n, next)
        });
        assert_eq!(next, n as u64);
    }

    #[test]
    fn ring_wraps_and_clamps() {
        let mut r = ConsoleRing { buf: [0; RING_SIZE], prod: 0 };
        let chunk = [b'x'; 1000];
        for _ in 0..70 {
            r.push(&chunk);
        }
        r.push(b"END");
        let mut out = [0u8; 8];
        let (n, next) = r.read(r.prod - 3, &mut out);
        assert_eq!(&out[..n], b"END");
        assert_eq!(next, r.prod);
        let (n, next) = r.read(0, &mut out);
        assert_eq!(n, 8);
        assert_eq!(next, r.prod - RING_SIZE as u64 + 8, "old history is gone");
    }

    #[test]
    fn context_round_trip() {
        set_log_context(Some((DomId(3), 1)));
        assert_eq!(log_context(), Some((DomId(3), 1)));
        set_log_context(None);
        assert_eq!(log_context(), None);
    }
}

/// Offsets in `struct xencons_interface` (io/console.h).
mod ring {
    pub const OUT: usize = 1024;
    pub const OUT_SIZE: u32 = 2048;
    pub const OUT_CONS: usize = 3080;
    pub const OUT_PROD: usize = 3084;
}

/// Copies what domain `d` wrote to its console ring (the one the hypervisor
/// serves in boot-one-guest mode) to the serial console, then notifies it
/// that the ring has room again. Indices are read once and checked: a ring
/// claiming more than it can hold is dropped whole.
pub fn drain_ring(hv: &mut crate::common::Hv, d: DomId) {
    use core::sync::atomic::Ordering;
    let Some((m, port)) = hv.domains.get(d).and_then(|x| x.console_ring) else { return };
    let cons = hv.phys.atomic_u32(m, ring::OUT_CONS).load(Ordering::Acquire);
    let prod = hv.phys.atomic_u32(m, ring::OUT_PROD).load(Ordering::Acquire);
    let n = prod.wrapping_sub(cons);
    if n == 0 {
        return;
    }
    if n <= ring::OUT_SIZE {
        let mut buf = [0u8; ring::OUT_SIZE as usize];
        for i in 0..n {
            let idx = (cons.wrapping_add(i) % ring::OUT_SIZE) as usize;
            hv.phys.read(m, ring::OUT + idx, &mut buf[i as usize..i as usize + 1]);
        }
        if let Some(dom) = hv.domains.get_mut(d) {
            dom.console.write(d, &buf[..n as usize]);
        }
    } else {
        log::warn!("d{}: console ring indices {cons:#x}/{prod:#x} are impossible: output dropped", d.0);
    }
    hv.phys.atomic_u32(m, ring::OUT_CONS).store(prod, Ordering::Release);
    crate::common::event::set_pending(hv, d, port);
}

/// Bytes typed on the serial line, for dom0 (`CONSOLEIO_read`).
pub struct InputRing {
    buf: [u8; 4096],
    head: usize,
    len: usize,
}

static INPUT: Mutex<InputRing> = Mutex::new(InputRing { buf: [0; 4096], head: 0, len: 0 });

/// Queues a received byte (dropped when 4 KiB are already waiting).
/// Returns false if the queue was busy (never, with interrupts off in the
/// hypervisor) or full.
pub fn push_input(b: u8) -> bool {
    let Some(mut r) = INPUT.try_lock() else { return false };
    if r.len == r.buf.len() {
        return false;
    }
    let i = (r.head + r.len) % r.buf.len();
    r.buf[i] = b;
    r.len += 1;
    true
}

/// Takes up to `out.len()` queued input bytes.
pub fn read_input(out: &mut [u8]) -> usize {
    let mut r = INPUT.lock();
    let n = out.len().min(r.len);
    for o in out.iter_mut().take(n) {
        *o = r.buf[r.head];
        r.head = (r.head + 1) % r.buf.len();
        r.len -= 1;
    }
    n
}

/// Whether input is waiting.
pub fn input_pending() -> bool {
    INPUT.lock().len != 0
}
