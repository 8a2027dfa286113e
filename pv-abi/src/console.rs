//! # console: the PV console front end (`io/console.h`)
//!
//! A domU's console is one shared page (`struct xencons_interface`, its
//! frame and event channel are in `start_info.console.domU`) with two byte
//! rings and free-running `u32` indices:
//!
//! | ring | size | producer | consumer |
//! |---|---|---|---|
//! | `out` (guest → back end) | 2048 | `out_prod`: us | `out_cons`: back end |
//! | `in` (back end → guest) | 1024 | `in_prod`: back end | `in_cons`: us |
//!
//! A byte goes to slot `idx & (size - 1)` (`MASK_XENCONS_IDX`). Writing
//! (Linux `hvc_xen.c: __write_console`): read `out_cons`, copy into the free
//! part of `out`, write barrier, publish `out_prod`, notify the back end on
//! the event channel. Reading (`domU_read_console`): read `in_prod`, read
//! barrier, copy out of `in`, publish `in_cons` (after the copy), notify.
//!
//! The back end is not trusted: we keep our own copies of the indices we
//! produce (`out_prod`, `in_cons`) and read each of the back end's once per
//! call. Indices claiming more bytes than the ring holds
//! (`out_prod - out_cons > 2048`, `in_prod - in_cons > 1024`) are a
//! [`ConsoleError`], nothing is copied; every access is masked into its
//! ring, so no value the back end writes can move an access out of the
//! page.
//!
//! Real Xen refuses `console_io` from a domU, so a domU prints through
//! [`Console`]. Dom0 (and early boot, where Xen allows it) can use
//! [`ConsoleIo`], the hypervisor's console.
//!
//! This module has no `unsafe` code: it reaches the page only through
//! [`SharedPage`]'s checked accessors.

use core::fmt;
use core::mem::offset_of;
use core::sync::atomic::Ordering;

use crate::abi::errno::{Errno, EINVAL, EIO};
use crate::abi::io::console::XenconsInterface;
use crate::hv::Hypervisor;
use crate::ring::{LayoutError, SharedPage};
use crate::types::Port;

/// Size of the `in` ring (back end → guest).
pub const IN_SIZE: u32 = 1024;
/// Size of the `out` ring (guest → back end).
pub const OUT_SIZE: u32 = 2048;

const IN_OFF: usize = offset_of!(XenconsInterface, in_);
const OUT_OFF: usize = offset_of!(XenconsInterface, out);
const IN_CONS_OFF: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD_OFF: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS_OFF: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD_OFF: usize = offset_of!(XenconsInterface, out_prod);

/// What went wrong on the console ring, and whose fault it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleError {
    /// The back end's `out_cons` is not within `OUT_SIZE` bytes behind our
    /// `out_prod`: a corrupt or hostile back end. Nothing was written.
    OutCorrupt {
        /// Our producer index.
        out_prod: u32,
        /// The consumer index the back end wrote.
        out_cons: u32,
    },
    /// The back end's `in_prod` is more than `IN_SIZE` bytes ahead of our
    /// `in_cons` (or behind it): a corrupt or hostile back end. Nothing was
    /// read.
    InCorrupt {
        /// The producer index the back end wrote.
        in_prod: u32,
        /// Our consumer index.
        in_cons: u32,
    },
    /// The page handed to [`Console::new`] cannot hold the interface (the
    /// caller's mistake).
    Layout(LayoutError),
}

impl ConsoleError {
    /// The errno a C caller would see (Linux returns `-EINVAL` for illegal
    /// ring indices).
    pub const fn errno(self) -> Errno {
        match self {
            ConsoleError::OutCorrupt { .. } | ConsoleError::InCorrupt { .. } => Errno(EIO),
            ConsoleError::Layout(_) => Errno(EINVAL),
        }
    }
}

impl From<LayoutError> for ConsoleError {
    fn from(e: LayoutError) -> Self {
        ConsoleError::Layout(e)
    }
}

impl From<ConsoleError> for Errno {
    fn from(e: ConsoleError) -> Errno {
        e.errno()
    }
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConsoleError::OutCorrupt { out_prod, out_cons } => {
                write!(f, "console back end wrote illegal out_cons {out_cons:#x} (out_prod {out_prod:#x})")
            }
            ConsoleError::InCorrupt { in_prod, in_cons } => {
                write!(f, "console back end wrote illegal in_prod {in_prod:#x} (in_cons {in_cons:#x})")
            }
            ConsoleError::Layout(e) => write!(f, "console page: {e}"),
        }
    }
}

impl core::error::Error for ConsoleError {}

/// The front end of a PV console ring.
pub struct Console<H: Hypervisor> {
    hv: H,
    page: SharedPage,
    port: Port,
    /// Our producer index of `out` (the shared copy is never read back).
    out_prod: u32,
    /// Our consumer index of `in`.
    in_cons: u32,
}

impl<H: Hypervisor> Console<H> {
    /// The console on the mapped ring `page`, notified through `port` (both
    /// from `start_info.console.domU`). Continues from the indices in the
    /// page, so output written by an earlier stage is kept.
    pub fn new(hv: H, page: SharedPage, port: Port) -> Result<Self, ConsoleError> {
        let need = core::mem::size_of::<XenconsInterface>();
        if page.len() < need {
            return Err(LayoutError::TooSmall { len: page.len(), need }.into());
        }
        let out_prod = page.atomic_u32(OUT_PROD_OFF)?.load(Ordering::Acquire);
        let in_cons = page.atomic_u32(IN_CONS_OFF)?.load(Ordering::Acquire);
        Ok(Console { hv, page, port, out_prod, in_cons })
    }

    /// The hypervisor handle.
    pub fn hv(&self) -> &H {
        &self.hv
    }

    /// The event channel to the back end.
    pub fn port(&self) -> Port {
        self.port
    }

    /// The ring page.
    pub fn page(&self) -> &SharedPage {
        &self.page
    }

    fn notify(&self) {
        // As Linux's `notify_daemon`, a failed notification is not an
        // error of the write: the bytes are published and the back end
        // finds them on its next event.
        let _ = self.hv.evtchn_send(self.port);
    }

    /// Writes as much of `buf` as fits in `out` now, publishes it and
    /// notifies the back end. Returns the number of bytes written (0 if the
    /// ring is full).
    pub fn try_write(&mut self, buf: &[u8]) -> Result<usize, ConsoleError> {
        // Acquire: the back end's reads of the bytes it consumed happen
        // before we overwrite them (Linux: `mb()` after reading indices).
        let cons = self.page.atomic_u32(OUT_CONS_OFF)?.load(Ordering::Acquire);
        let prod = self.out_prod;
        let used = prod.wrapping_sub(cons);
        if used > OUT_SIZE {
            return Err(ConsoleError::OutCorrupt { out_prod: prod, out_cons: cons });
        }
        let n = buf.len().min((OUT_SIZE - used) as usize);
        if n == 0 {
            return Ok(0);
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            let idx = prod.wrapping_add(i as u32) & (OUT_SIZE - 1);
            self.page.write(OUT_OFF + idx as usize, b)?;
        }
        let prod = prod.wrapping_add(n as u32);
        // Release = `wmb()`: the bytes are visible before the index.
        self.page.atomic_u32(OUT_PROD_OFF)?.store(prod, Ordering::Release);
        self.out_prod = prod;
        self.notify();
        Ok(n)
    }

    /// Writes all of `buf`, yielding the vCPU while the ring is full
    /// (Linux `domU_write_console`). Waits as long as the back end takes to
    /// make room.
    pub fn write(&mut self, mut buf: &[u8]) -> Result<(), ConsoleError> {
        while !buf.is_empty() {
            let n = self.try_write(buf)?;
            if n == 0 {
                self.hv.sched_yield();
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Bytes in `out` the back end has not consumed yet.
    pub fn unsent(&self) -> Result<u32, ConsoleError> {
        let cons = self.page.atomic_u32(OUT_CONS_OFF)?.load(Ordering::Acquire);
        let used = self.out_prod.wrapping_sub(cons);
        if used > OUT_SIZE {
            return Err(ConsoleError::OutCorrupt { out_prod: self.out_prod, out_cons: cons });
        }
        Ok(used)
    }

    /// Reads up to `buf.len()` bytes of input; returns how many (0 if there
    /// is none). Notifies the back end when it consumed something.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, ConsoleError> {
        // Acquire = `rmb()` after reading in_prod: the bytes are read only
        // after the index that published them.
        let prod = self.page.atomic_u32(IN_PROD_OFF)?.load(Ordering::Acquire);
        let cons = self.in_cons;
        let avail = prod.wrapping_sub(cons);
        if avail > IN_SIZE {
            return Err(ConsoleError::InCorrupt { in_prod: prod, in_cons: cons });
        }
        let n = buf.len().min(avail as usize);
        if n == 0 {
            return Ok(0);
        }
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let idx = cons.wrapping_add(i as u32) & (IN_SIZE - 1);
            *b = self.page.read(IN_OFF + idx as usize)?;
        }
        let cons = cons.wrapping_add(n as u32);
        // Release: the bytes are read before the back end may reuse them.
        self.page.atomic_u32(IN_CONS_OFF)?.store(cons, Ordering::Release);
        self.in_cons = cons;
        self.notify();
        Ok(n)
    }
}

impl<H: Hypervisor> fmt::Write for Console<H> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

impl<H: Hypervisor> fmt::Debug for Console<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console")
            .field("port", &self.port)
            .field("out_prod", &self.out_prod)
            .field("in_cons", &self.in_cons)
            .finish_non_exhaustive()
    }
}

/// The hypervisor's console (`console_io(CONSOLEIO_write)`) as a
/// `fmt::Write` sink, over any [`Hypervisor`]. Real Xen accepts it from
/// dom0 only.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleIo<H: Hypervisor>(pub H);

impl<H: Hypervisor> fmt::Write for ConsoleIo<H> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.console_io_write(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::event_channel::EvtchnStatus;
    use crate::abi::grant_table::GnttabCopy;
    use crate::hv::HvResult;
    use crate::types::DomId;
    use core::fmt::Write as _;
    use std::cell::{Cell, RefCell};
    use std::vec::Vec;

    #[repr(C, align(4096))]
    struct Page([u8; 4096]);

    struct Mem(*mut Page);

    impl Drop for Mem {
        fn drop(&mut self) {
            // SAFETY: from Box::into_raw in `page`; handles on it are gone
            // (declared after the guard, dropped before it).
            drop(unsafe { Box::from_raw(self.0) });
        }
    }

    fn page() -> (Mem, SharedPage, SharedPage) {
        let p = Box::into_raw(Box::new(Page([0; 4096])));
        // SAFETY: the allocation outlives both handles and is only reached
        // through them, from one thread.
        let (a, b) = unsafe { (SharedPage::new(p.cast(), 4096).unwrap(), SharedPage::new(p.cast(), 4096).unwrap()) };
        (Mem(p), a, b)
    }

    #[derive(Default)]
    struct Notes {
        sends: Cell<u32>,
        io: RefCell<Vec<u8>>,
    }

    impl Hypervisor for Notes {
        fn evtchn_alloc_unbound(&self, _: DomId) -> HvResult<Port> {
            Ok(Port(1))
        }
        fn evtchn_bind_interdomain(&self, _: DomId, _: Port) -> HvResult<Port> {
            Ok(Port(1))
        }
        fn evtchn_bind_virq(&self, _: u32, _: u32) -> HvResult<Port> {
            Ok(Port(1))
        }
        fn evtchn_bind_ipi(&self, _: u32) -> HvResult<Port> {
            Ok(Port(1))
        }
        fn evtchn_bind_vcpu(&self, _: Port, _: u32) -> HvResult {
            Ok(())
        }
        fn evtchn_send(&self, _: Port) -> HvResult {
            self.sends.set(self.sends.get() + 1);
            Ok(())
        }
        fn evtchn_close(&self, _: Port) -> HvResult {
            Ok(())
        }
        fn evtchn_unmask(&self, _: Port) -> HvResult {
            Ok(())
        }
        fn evtchn_status(&self, _: DomId, _: Port) -> HvResult<EvtchnStatus> {
            Ok(EvtchnStatus::default())
        }
        fn force_evtchn_callback(&self) {}
        fn gnttab_setup_table(&self, _: &mut [u64]) -> HvResult {
            Ok(())
        }
        fn gnttab_query_size(&self) -> HvResult<(u32, u32)> {
            Ok((1, 1))
        }
        fn gnttab_copy(&self, _: &mut [GnttabCopy]) -> HvResult {
            Ok(())
        }
        fn console_io_write(&self, buf: &[u8]) -> HvResult {
            self.io.borrow_mut().extend_from_slice(buf);
            Ok(())
        }
        fn sched_yield(&self) {}
    }

    #[test]
    fn write_publishes_after_bytes_and_notifies() {
        let (_m, p, back) = page();
        let mut c = Console::new(Notes::default(), p, Port(3)).unwrap();
        write!(c, "hi {}", 42).unwrap();
        assert_eq!(back.atomic_u32(OUT_PROD_OFF).unwrap().load(Ordering::Relaxed), 5);
        let bytes: Vec<u8> = (0..5).map(|i| back.read::<u8>(OUT_OFF + i).unwrap()).collect();
        assert_eq!(bytes, b"hi 42");
        assert!(c.hv().sends.get() >= 1);
        assert_eq!(c.unsent().unwrap(), 5);
        // Full ring: try_write takes what fits, then nothing.
        let big = [b'x'; 3000];
        assert_eq!(c.try_write(&big).unwrap(), 2043);
        let sends = c.hv().sends.get();
        assert_eq!(c.try_write(&big).unwrap(), 0);
        assert_eq!(c.hv().sends.get(), sends, "nothing written, no notification");
    }

    #[test]
    fn read_and_corrupt_indices() {
        let (_m, p, back) = page();
        let mut c = Console::new(Notes::default(), p, Port(3)).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(c.read(&mut buf).unwrap(), 0);
        for (i, &b) in b"abc".iter().enumerate() {
            back.write(IN_OFF + i, b).unwrap();
        }
        back.atomic_u32(IN_PROD_OFF).unwrap().store(3, Ordering::Release);
        assert_eq!(c.read(&mut buf[..2]).unwrap(), 2);
        assert_eq!(c.read(&mut buf[2..]).unwrap(), 1);
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(back.atomic_u32(IN_CONS_OFF).unwrap().load(Ordering::Relaxed), 3);
        back.atomic_u32(IN_PROD_OFF).unwrap().store(3 + IN_SIZE + 1, Ordering::Release);
        assert_eq!(c.read(&mut buf), Err(ConsoleError::InCorrupt { in_prod: 3 + IN_SIZE + 1, in_cons: 3 }));
        back.atomic_u32(IN_PROD_OFF).unwrap().store(2, Ordering::Release);
        assert!(matches!(c.read(&mut buf), Err(ConsoleError::InCorrupt { .. })), "behind in_cons");
        back.atomic_u32(OUT_CONS_OFF).unwrap().store(1, Ordering::Release);
        assert_eq!(c.try_write(b"x"), Err(ConsoleError::OutCorrupt { out_prod: 0, out_cons: 1 }));
        assert_eq!(ConsoleError::OutCorrupt { out_prod: 0, out_cons: 1 }.errno(), Errno(EIO));
    }

    #[test]
    fn too_small_page() {
        let (_m, p, _b) = page();
        // SAFETY: a shorter view of the same page.
        let short = unsafe { SharedPage::new(p.as_ptr(), 3000) }.unwrap();
        assert!(matches!(Console::new(Notes::default(), short, Port(1)), Err(ConsoleError::Layout(_))));
    }

    #[test]
    fn console_io_sink() {
        let hv = Notes::default();
        write!(ConsoleIo(&hv), "dom0 {}", 1).unwrap();
        assert_eq!(*hv.io.borrow(), b"dom0 1");
    }
}
