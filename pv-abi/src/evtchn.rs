//! # evtchn: event channels for a PV guest, 2-level ABI
//!
//! An event channel is Xen's virtual interrupt line: an event is one bit,
//! signalled by the 0→1 transition of a port's PENDING bit in
//! `shared_info.evtchn_pending[]` (64 `u64` words, bit = port, 4096 ports).
//! `evtchn_mask[]` has the same shape. Each vCPU's `vcpu_info` adds a
//! selector `evtchn_pending_sel` (bit *w* = word *w* may have work), the
//! master flag `evtchn_upcall_pending`, and `evtchn_upcall_mask`, the
//! guest's virtual interrupt flag.
//!
//! What Xen does when port *p* bound to vCPU *v* is raised
//! (`evtchn_2l_set_pending`): if PENDING\[p\] was already set, nothing (events
//! coalesce); else, if MASK\[p\] is clear and the selector bit *p/64* of *v*
//! was clear, set it and set *v*'s `evtchn_upcall_pending`; an upcall is
//! delivered when *v* next runs with `evtchn_upcall_mask == 0`.
//!
//! What the guest does, as Linux does it and as this module implements it:
//!
//! - the upcall ([`EventChannels::handle_events`], Linux
//!   `__xen_evtchn_do_upcall` + `evtchn_2l_handle_events`): clear
//!   `evtchn_upcall_pending`, atomically exchange the selector with 0, and
//!   for each selected word scan `pending & !mask`, test-and-clear each
//!   pending bit *before* calling the port's handler; repeat while
//!   `evtchn_upcall_pending` was set again. The scan resumes after the
//!   last port handled, as Linux's does, so a busy low port cannot starve
//!   the others. A port bound to `VIRQ_TIMER` on this vCPU is handled
//!   first.
//! - masking is a bit set in shared memory; unmasking
//!   ([`EventChannels::unmask`], Linux `evtchn_2l_unmask`) clears the bit
//!   and, if the port is pending, sets the selector bit and
//!   `evtchn_upcall_pending` itself (Xen only raises at the 0→1 edge of
//!   PENDING, so an event that arrived while masked would otherwise stay
//!   unseen). A port that notifies another vCPU is unmasked with
//!   `EVTCHNOP_unmask`, which does the same on that vCPU.
//! - the virtual interrupt flag ([`EventChannels::irq_disable`] and
//!   friends, Linux `xen_irq_disable`/`xen_irq_enable`): disable sets
//!   `evtchn_upcall_mask`; enable clears it and, if an upcall became
//!   pending meanwhile, forces its delivery with a hypercall
//!   ([`Hypervisor::force_evtchn_callback`]).
//!
//! Ports without a handler are kept masked (as Linux masks all ports at
//! init and unmasks one when an IRQ handler is installed); an event on a
//! port without a handler is cleared, masked and counted
//! ([`EventChannels::unhandled`]).
//!
//! [`SharedInfo2l`] is the atomic view of `shared_info` all of this is
//! built on; it is public so a hypervisor model (tests) can raise events
//! exactly as Xen does. All `unsafe` code of this module is the two
//! private accessors of that view.
//!
//! Concurrency: the upcall runs asynchronously with the kernel's other
//! code. A kernel keeps its [`EventChannels`] where both can reach it (e.g.
//! behind a lock) and calls the methods that take `&mut self` or unmask
//! (`set_handler`, `clear_handler`, `close`, `unmask`) only with upcalls
//! disabled ([`irq_save`](EventChannels::irq_save)), the way Linux takes
//! its IRQ locks with interrupts off: with upcalls enabled, the upcall
//! may run inside those calls (an unmask that re-raises forces it at
//! once). Handlers get only their port and context value; they must not
//! reach the [`EventChannels`] that runs them, but may make hypercalls
//! (e.g. [`Hypervisor::evtchn_send`]).

use core::fmt;
use core::mem::{offset_of, size_of};
use core::sync::atomic::{compiler_fence, AtomicU64, AtomicU8, Ordering};

use crate::abi::arch_x86::XEN_LEGACY_MAX_VCPUS;
use crate::abi::errno::{Errno, EEXIST, EINVAL, ENOENT, ENOSPC};
use crate::abi::xen::{SharedInfo, VcpuInfo, EVTCHN_2L_NR_CHANNELS, VIRQ_TIMER};
use crate::hv::Hypervisor;
use crate::ring::{LayoutError, SharedPage};
use crate::types::{DomId, Port};

/// Ports of the 2-level ABI on x86_64 (`EVTCHN_2L_NR_CHANNELS`).
pub const NR_PORTS: u32 = EVTCHN_2L_NR_CHANNELS;
/// Bits per pending/mask word (`BITS_PER_EVTCHN_WORD`).
pub const WORD_BITS: u32 = u64::BITS;
/// Words in `evtchn_pending[]` and `evtchn_mask[]`.
pub const NR_WORDS: usize = (NR_PORTS / WORD_BITS) as usize;
/// Default size of the handler table of [`EventChannels`].
pub const DEFAULT_HANDLERS: usize = 64;

const PENDING_OFF: usize = offset_of!(SharedInfo, evtchn_pending);
const MASK_OFF: usize = offset_of!(SharedInfo, evtchn_mask);
const VCPU_INFO_OFF: usize = offset_of!(SharedInfo, vcpu_info);
const VCPU_INFO_SIZE: usize = size_of::<VcpuInfo>();
const UPCALL_PENDING_OFF: usize = offset_of!(VcpuInfo, evtchn_upcall_pending);
const UPCALL_MASK_OFF: usize = offset_of!(VcpuInfo, evtchn_upcall_mask);
const PENDING_SEL_OFF: usize = offset_of!(VcpuInfo, evtchn_pending_sel);
const SHARED_INFO_SIZE: usize = size_of::<SharedInfo>();

/// What went wrong in an event-channel operation, and whose fault it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvtchnError {
    /// The hypervisor refused the operation with this errno.
    Hypervisor(Errno),
    /// The caller named a port outside the 2-level range (port 0 is
    /// reserved by Xen and never valid either where a bound port is
    /// needed).
    BadPort(Port),
    /// The caller named a vCPU whose `vcpu_info` is not in `shared_info`
    /// (only the first 32 are).
    BadVcpu(u32),
    /// Every slot of the handler table is in use.
    TableFull,
    /// The port already has a handler.
    HandlerExists(Port),
    /// The port has no handler.
    NoHandler(Port),
    /// The `shared_info` area is too small or misaligned.
    Layout(LayoutError),
}

impl EvtchnError {
    /// The errno a C caller would see.
    pub const fn errno(self) -> Errno {
        match self {
            EvtchnError::Hypervisor(e) => e,
            EvtchnError::BadPort(_) | EvtchnError::BadVcpu(_) | EvtchnError::Layout(_) => Errno(EINVAL),
            EvtchnError::TableFull => Errno(ENOSPC),
            EvtchnError::HandlerExists(_) => Errno(EEXIST),
            EvtchnError::NoHandler(_) => Errno(ENOENT),
        }
    }
}

impl From<Errno> for EvtchnError {
    fn from(e: Errno) -> Self {
        EvtchnError::Hypervisor(e)
    }
}

impl From<LayoutError> for EvtchnError {
    fn from(e: LayoutError) -> Self {
        EvtchnError::Layout(e)
    }
}

impl From<EvtchnError> for Errno {
    fn from(e: EvtchnError) -> Errno {
        e.errno()
    }
}

impl fmt::Display for EvtchnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EvtchnError::Hypervisor(e) => write!(f, "hypervisor refused the event-channel operation: {e:?}"),
            EvtchnError::BadPort(p) => write!(f, "port {p} is not a valid 2-level event channel"),
            EvtchnError::BadVcpu(v) => write!(f, "vCPU {v} has no vcpu_info in shared_info"),
            EvtchnError::TableFull => write!(f, "event-channel handler table is full"),
            EvtchnError::HandlerExists(p) => write!(f, "port {p} already has a handler"),
            EvtchnError::NoHandler(p) => write!(f, "port {p} has no handler"),
            EvtchnError::Layout(e) => write!(f, "shared_info: {e}"),
        }
    }
}

impl core::error::Error for EvtchnError {}

/// `(word, bit)` of a port in the 2-level bitmaps.
const fn split(port: u32) -> (usize, u32) {
    ((port / WORD_BITS) as usize, port % WORD_BITS)
}

/// `MASK_LSBS(w, i)`: `w` without its bits below `i` (`i < 64`).
const fn mask_lsbs(w: u64, i: u32) -> u64 {
    w & (!0u64 << i)
}

/// The 2-level event-channel state in a domain's `shared_info` page, read
/// and written only with atomic operations (the hypervisor and other vCPUs
/// change it concurrently).
///
/// Read-modify-writes are sequentially consistent (`lock`-prefixed on
/// x86, as Linux's `sync_*_bit`); they are the barriers the protocol
/// needs.
#[derive(Debug)]
pub struct SharedInfo2l {
    page: SharedPage,
}

impl SharedInfo2l {
    /// Views `page` as `shared_info`. It must hold the whole structure
    /// (3136 bytes) and be 8-byte aligned (it is a page in practice).
    pub fn new(page: SharedPage) -> Result<Self, LayoutError> {
        if page.len() < SHARED_INFO_SIZE {
            return Err(LayoutError::TooSmall { len: page.len(), need: SHARED_INFO_SIZE });
        }
        let addr = page.as_ptr() as usize;
        if !addr.is_multiple_of(8) {
            return Err(LayoutError::Misaligned { addr, align: 8 });
        }
        Ok(SharedInfo2l { page })
    }

    /// The underlying page.
    pub fn page(&self) -> &SharedPage {
        &self.page
    }

    /// The `u64` at `off` as an atomic.
    fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= SHARED_INFO_SIZE, "shared_info word offset {off:#x}");
        // SAFETY: `off + 8` is within the `SHARED_INFO_SIZE` bytes `new`
        // checked the page has, and base (8-aligned, `new`) plus a multiple
        // of 8 is 8-aligned. `SharedPage::new`'s contract makes the bytes
        // valid for reads and writes, not referenced by any Rust reference,
        // and accessed by this program only atomically - every access of
        // this module to this word is through this `AtomicU64` - for the
        // page's lifetime, which bounds the returned reference's.
        unsafe { AtomicU64::from_ptr(self.page.as_ptr().add(off).cast()) }
    }

    /// The byte at `off` as an atomic.
    fn u8_at(&self, off: usize) -> &AtomicU8 {
        assert!(off < SHARED_INFO_SIZE, "shared_info byte offset {off:#x}");
        // SAFETY: in bounds as asserted (and checked by `new`); a byte is
        // always aligned; valid and only atomically accessed for the page's
        // lifetime by `SharedPage::new`'s contract, as in `u64_at`. The two
        // `vcpu_info` bytes reached here are never part of a word reached
        // through `u64_at`.
        unsafe { AtomicU8::from_ptr(self.page.as_ptr().add(off)) }
    }

    fn pending(&self, word: usize) -> &AtomicU64 {
        self.u64_at(PENDING_OFF + word * 8)
    }

    fn mask(&self, word: usize) -> &AtomicU64 {
        self.u64_at(MASK_OFF + word * 8)
    }

    fn vcpu_off(vcpu: u32) -> Result<usize, EvtchnError> {
        if (vcpu as usize) < XEN_LEGACY_MAX_VCPUS {
            Ok(VCPU_INFO_OFF + vcpu as usize * VCPU_INFO_SIZE)
        } else {
            Err(EvtchnError::BadVcpu(vcpu))
        }
    }

    fn port(port: Port) -> Result<(usize, u32), EvtchnError> {
        if port.0 < NR_PORTS {
            Ok(split(port.0))
        } else {
            Err(EvtchnError::BadPort(port))
        }
    }

    /// Whether `port` is pending.
    pub fn is_pending(&self, port: Port) -> Result<bool, EvtchnError> {
        let (w, b) = Self::port(port)?;
        Ok(self.pending(w).load(Ordering::SeqCst) & (1 << b) != 0)
    }

    /// Sets `port`'s PENDING bit; returns whether it was already set.
    pub fn test_and_set_pending(&self, port: Port) -> Result<bool, EvtchnError> {
        let (w, b) = Self::port(port)?;
        Ok(self.pending(w).fetch_or(1 << b, Ordering::SeqCst) & (1 << b) != 0)
    }

    /// Clears `port`'s PENDING bit; returns whether it was set.
    pub fn test_and_clear_pending(&self, port: Port) -> Result<bool, EvtchnError> {
        let (w, b) = Self::port(port)?;
        Ok(self.pending(w).fetch_and(!(1 << b), Ordering::SeqCst) & (1 << b) != 0)
    }

    /// Whether `port` is masked.
    pub fn is_masked(&self, port: Port) -> Result<bool, EvtchnError> {
        let (w, b) = Self::port(port)?;
        Ok(self.mask(w).load(Ordering::SeqCst) & (1 << b) != 0)
    }

    /// Sets `port`'s MASK bit; returns whether it was already set.
    pub fn test_and_set_mask(&self, port: Port) -> Result<bool, EvtchnError> {
        let (w, b) = Self::port(port)?;
        Ok(self.mask(w).fetch_or(1 << b, Ordering::SeqCst) & (1 << b) != 0)
    }

    /// Clears `port`'s MASK bit; returns whether it was set.
    pub fn test_and_clear_mask(&self, port: Port) -> Result<bool, EvtchnError> {
        let (w, b) = Self::port(port)?;
        Ok(self.mask(w).fetch_and(!(1 << b), Ordering::SeqCst) & (1 << b) != 0)
    }

    /// Word `word` (< 64) of `evtchn_pending[]`.
    pub fn pending_word(&self, word: usize) -> u64 {
        self.pending(word % NR_WORDS).load(Ordering::SeqCst)
    }

    /// Word `word` (< 64) of `evtchn_mask[]`.
    pub fn mask_word(&self, word: usize) -> u64 {
        self.mask(word % NR_WORDS).load(Ordering::SeqCst)
    }

    /// Sets every MASK bit (Linux does at init, `xen_init_IRQ`).
    pub fn mask_all(&self) {
        for w in 0..NR_WORDS {
            self.mask(w).fetch_or(!0, Ordering::SeqCst);
        }
    }

    /// Sets selector bit `word` of `vcpu`; returns whether it was already
    /// set.
    pub fn test_and_set_sel(&self, vcpu: u32, word: usize) -> Result<bool, EvtchnError> {
        let bit = 1u64 << (word % NR_WORDS);
        let sel = self.u64_at(Self::vcpu_off(vcpu)? + PENDING_SEL_OFF);
        Ok(sel.fetch_or(bit, Ordering::SeqCst) & bit != 0)
    }

    /// Exchanges `vcpu`'s selector with 0 and returns the old value
    /// (`xchg_xen_ulong(&evtchn_pending_sel, 0)`).
    pub fn take_sel(&self, vcpu: u32) -> Result<u64, EvtchnError> {
        Ok(self.u64_at(Self::vcpu_off(vcpu)? + PENDING_SEL_OFF).swap(0, Ordering::SeqCst))
    }

    /// `vcpu`'s selector.
    pub fn sel(&self, vcpu: u32) -> Result<u64, EvtchnError> {
        Ok(self.u64_at(Self::vcpu_off(vcpu)? + PENDING_SEL_OFF).load(Ordering::SeqCst))
    }

    /// `vcpu`'s `evtchn_upcall_pending`.
    pub fn upcall_pending(&self, vcpu: u32) -> Result<bool, EvtchnError> {
        Ok(self.u8_at(Self::vcpu_off(vcpu)? + UPCALL_PENDING_OFF).load(Ordering::SeqCst) != 0)
    }

    /// Writes `vcpu`'s `evtchn_upcall_pending`; returns the old value
    /// (Xen's `vcpu_mark_events_pending` kicks the vCPU on a 0→1 change).
    pub fn swap_upcall_pending(&self, vcpu: u32, pending: bool) -> Result<bool, EvtchnError> {
        Ok(self.u8_at(Self::vcpu_off(vcpu)? + UPCALL_PENDING_OFF).swap(pending as u8, Ordering::SeqCst) != 0)
    }

    /// `vcpu`'s `evtchn_upcall_mask` (the virtual interrupt flag: set =
    /// upcalls disabled).
    pub fn upcall_mask(&self, vcpu: u32) -> Result<bool, EvtchnError> {
        Ok(self.u8_at(Self::vcpu_off(vcpu)? + UPCALL_MASK_OFF).load(Ordering::Relaxed) != 0)
    }

    /// Writes `vcpu`'s `evtchn_upcall_mask`. Only that vCPU writes it, and
    /// the hypervisor reads it only while the vCPU is not running guest
    /// code, so a plain store ordered by a compiler barrier is enough
    /// (Linux writes it with `movb`).
    pub fn set_upcall_mask(&self, vcpu: u32, masked: bool) -> Result<(), EvtchnError> {
        let byte = self.u8_at(Self::vcpu_off(vcpu)? + UPCALL_MASK_OFF);
        compiler_fence(Ordering::SeqCst);
        byte.store(masked as u8, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        Ok(())
    }
}

/// An event handler: called with the port and the context value given to
/// [`EventChannels::set_handler`], with upcalls masked, after the port's
/// PENDING bit was cleared (so an event raised while it runs is seen by
/// the next scan, never lost).
pub type Handler = fn(Port, u64);

#[derive(Clone, Copy)]
struct Slot {
    port: Port,
    handler: Handler,
    ctx: u64,
}

/// The virtual interrupt flag as it was before
/// [`EventChannels::irq_save`]; give it back to
/// [`EventChannels::irq_restore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "restore the flag with irq_restore"]
pub struct IrqFlags {
    was_masked: bool,
}

impl IrqFlags {
    /// Whether upcalls were disabled.
    pub fn was_masked(self) -> bool {
        self.was_masked
    }
}

/// Event channels of one vCPU of a PV guest: binding, sending, masking,
/// and the upcall dispatch over a fixed table of `N` handlers.
pub struct EventChannels<H: Hypervisor, const N: usize = DEFAULT_HANDLERS> {
    hv: H,
    shared: SharedInfo2l,
    vcpu: u32,
    handlers: [Option<Slot>; N],
    /// Ports known to notify another vCPU (bound there with `bind_virq`,
    /// `bind_ipi` or `bind_vcpu`): unmasked by hypercall, skipped by this
    /// vCPU's scan (Linux's per-CPU `cpu_evtchn_mask`).
    remote: [u64; NR_WORDS],
    /// Port of `VIRQ_TIMER` on this vCPU, handled first.
    timer_port: Option<Port>,
    /// Where the next scan starts (Linux `current_word_idx`/`_bit_idx`).
    cur_word: usize,
    cur_bit: u32,
    unhandled: u64,
}

impl<H: Hypervisor, const N: usize> EventChannels<H, N> {
    /// Event channels for `vcpu` (0 in a single-vCPU kernel) over the
    /// domain's mapped `shared_info` page, initialising the domain's event
    /// state: masks every port, as Linux does at init (`xen_init_IRQ`);
    /// ports are unmasked when they get a handler. Use it once per domain,
    /// on the boot vCPU; further vCPUs use [`for_vcpu`](Self::for_vcpu).
    pub fn new(hv: H, shared_info: SharedPage, vcpu: u32) -> Result<Self, EvtchnError> {
        let this = Self::for_vcpu(hv, shared_info, vcpu)?;
        this.shared.mask_all();
        Ok(this)
    }

    /// Event channels for another vCPU of a domain whose event state
    /// [`new`](Self::new) already initialised (masks nothing).
    pub fn for_vcpu(hv: H, shared_info: SharedPage, vcpu: u32) -> Result<Self, EvtchnError> {
        let shared = SharedInfo2l::new(shared_info)?;
        SharedInfo2l::vcpu_off(vcpu)?;
        Ok(EventChannels {
            hv,
            shared,
            vcpu,
            handlers: [None; N],
            remote: [0; NR_WORDS],
            timer_port: None,
            cur_word: 0,
            cur_bit: 0,
            unhandled: 0,
        })
    }

    /// The hypervisor handle.
    pub fn hv(&self) -> &H {
        &self.hv
    }

    /// The `shared_info` view.
    pub fn shared(&self) -> &SharedInfo2l {
        &self.shared
    }

    /// The vCPU these channels deliver to.
    pub fn vcpu(&self) -> u32 {
        self.vcpu
    }

    /// Events that arrived on ports without a handler (each was cleared
    /// and its port masked).
    pub fn unhandled(&self) -> u64 {
        self.unhandled
    }

    /// Number of ports with a handler.
    pub fn handler_count(&self) -> usize {
        self.handlers.iter().filter(|s| s.is_some()).count()
    }

    fn check_port(port: Port) -> Result<(usize, u32), EvtchnError> {
        if port.0 == 0 || port.0 >= NR_PORTS {
            return Err(EvtchnError::BadPort(port));
        }
        Ok(split(port.0))
    }

    fn set_remote(&mut self, port: Port, vcpu: u32) {
        if let Ok((w, b)) = Self::check_port(port) {
            if vcpu == self.vcpu {
                self.remote[w] &= !(1 << b);
            } else {
                self.remote[w] |= 1 << b;
            }
        }
    }

    fn is_remote(&self, w: usize, b: u32) -> bool {
        self.remote[w] & (1 << b) != 0
    }

    // ---- binding ------------------------------------------------------------

    /// `EVTCHNOP_alloc_unbound`: a port `remote` may bind to (the front
    /// end's side of a split driver). It notifies vCPU 0.
    pub fn alloc_unbound(&mut self, remote: DomId) -> Result<Port, EvtchnError> {
        let port = self.hv.evtchn_alloc_unbound(remote)?;
        self.set_remote(port, 0);
        Ok(port)
    }

    /// `EVTCHNOP_bind_interdomain`: connect to `<remote, remote_port>` (the
    /// back end's side). Xen leaves the new port pending, so its handler
    /// runs once as soon as it is installed. It notifies vCPU 0.
    pub fn bind_interdomain(&mut self, remote: DomId, remote_port: Port) -> Result<Port, EvtchnError> {
        let port = self.hv.evtchn_bind_interdomain(remote, remote_port)?;
        self.set_remote(port, 0);
        Ok(port)
    }

    /// `EVTCHNOP_bind_virq` of `virq` on `vcpu`. A `VIRQ_TIMER` port of this
    /// vCPU is handled before the others in each upcall.
    pub fn bind_virq(&mut self, virq: u32, vcpu: u32) -> Result<Port, EvtchnError> {
        let port = self.hv.evtchn_bind_virq(virq, vcpu)?;
        self.set_remote(port, vcpu);
        if virq == VIRQ_TIMER && vcpu == self.vcpu {
            self.timer_port = Some(port);
        }
        Ok(port)
    }

    /// `EVTCHNOP_bind_ipi` for `vcpu`.
    pub fn bind_ipi(&mut self, vcpu: u32) -> Result<Port, EvtchnError> {
        let port = self.hv.evtchn_bind_ipi(vcpu)?;
        self.set_remote(port, vcpu);
        Ok(port)
    }

    /// `EVTCHNOP_bind_vcpu`: make `port` notify `vcpu`.
    pub fn bind_vcpu(&mut self, port: Port, vcpu: u32) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        self.hv.evtchn_bind_vcpu(port, vcpu)?;
        self.set_remote(port, vcpu);
        Ok(())
    }

    /// Records that `port` (bound by someone else, e.g. the domain
    /// builder's console and xenstore ports) notifies `vcpu`. Ports not
    /// bound through this object are assumed to notify vCPU 0.
    pub fn note_port_vcpu(&mut self, port: Port, vcpu: u32) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        self.set_remote(port, vcpu);
        Ok(())
    }

    /// `EVTCHNOP_send` on `port`.
    pub fn send(&self, port: Port) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        Ok(self.hv.evtchn_send(port)?)
    }

    /// Closes `port`: masks it, `EVTCHNOP_close`, then clears its pending
    /// bit and removes its handler. If the hypervisor refuses, the port
    /// stays masked and keeps its handler.
    pub fn close(&mut self, port: Port) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        self.shared.test_and_set_mask(port)?;
        self.hv.evtchn_close(port)?;
        self.shared.test_and_clear_pending(port)?;
        if let Some(slot) = self.handlers.iter_mut().find(|s| s.is_some_and(|s| s.port == port)) {
            *slot = None;
        }
        if self.timer_port == Some(port) {
            self.timer_port = None;
        }
        self.set_remote(port, self.vcpu);
        Ok(())
    }

    // ---- masking ------------------------------------------------------------

    /// Masks `port` (sets its MASK bit; events still set PENDING).
    pub fn mask(&self, port: Port) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        self.shared.test_and_set_mask(port)?;
        Ok(())
    }

    /// Unmasks `port` the way Linux's `evtchn_2l_unmask` does. A port of
    /// this vCPU: clear the MASK bit, then, if it is pending, set the
    /// selector bit and `evtchn_upcall_pending` ourselves (the hypervisor
    /// raised nothing while it was masked), with upcalls disabled
    /// meanwhile; restoring them delivers the event at once if upcalls were
    /// enabled. A port of another vCPU: `EVTCHNOP_unmask`, which does the
    /// same on that vCPU.
    pub fn unmask(&self, port: Port) -> Result<(), EvtchnError> {
        let (w, b) = Self::check_port(port)?;
        if self.is_remote(w, b) {
            return Ok(self.hv.evtchn_unmask(port)?);
        }
        let flags = self.irq_save();
        // Clear the mask before testing pending: an event that arrives
        // in between is then raised by the hypervisor itself.
        self.shared.test_and_clear_mask(port)?;
        if self.shared.is_pending(port)? && !self.shared.test_and_set_sel(self.vcpu, w)? {
            self.shared.swap_upcall_pending(self.vcpu, true)?;
        }
        self.irq_restore(flags);
        Ok(())
    }

    // ---- the virtual interrupt flag ----------------------------------------------

    /// Whether upcalls are enabled on this vCPU.
    pub fn irqs_enabled(&self) -> bool {
        !self.shared.upcall_mask(self.vcpu).unwrap_or(true)
    }

    /// Disables upcalls (`evtchn_upcall_mask = 1`).
    pub fn irq_disable(&self) {
        // `vcpu` was validated by `new`.
        let _ = self.shared.set_upcall_mask(self.vcpu, true);
    }

    /// Enables upcalls (`evtchn_upcall_mask = 0`); if one became pending
    /// while they were disabled, forces its delivery with a hypercall
    /// (Linux `xen_irq_enable`). Only the hypervisor delivers upcalls, and
    /// only when this vCPU enters it, so a compiler barrier between the
    /// store and the load is enough: an event raised after our load kicks
    /// the vCPU into the hypervisor, which then sees the cleared mask.
    pub fn irq_enable(&self) {
        let _ = self.shared.set_upcall_mask(self.vcpu, false);
        if self.shared.upcall_pending(self.vcpu).unwrap_or(false) {
            self.hv.force_evtchn_callback();
        }
    }

    /// Disables upcalls and returns the previous state.
    pub fn irq_save(&self) -> IrqFlags {
        let was_masked = !self.irqs_enabled();
        self.irq_disable();
        IrqFlags { was_masked }
    }

    /// Restores the state saved by [`irq_save`](Self::irq_save),
    /// re-checking for a pending upcall if that enables upcalls.
    pub fn irq_restore(&self, flags: IrqFlags) {
        if !flags.was_masked {
            self.irq_enable();
        }
    }

    /// Whether an upcall is pending on this vCPU.
    pub fn upcall_pending(&self) -> bool {
        self.shared.upcall_pending(self.vcpu).unwrap_or(false)
    }

    // ---- handlers ----------------------------------------------------------------

    /// Installs `handler` for `port` with context `ctx` and unmasks the
    /// port (an event already pending is then delivered). Fails if the
    /// port already has a handler or the table is full.
    pub fn set_handler(&mut self, port: Port, handler: Handler, ctx: u64) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        if self.handlers.iter().flatten().any(|s| s.port == port) {
            return Err(EvtchnError::HandlerExists(port));
        }
        let slot = self.handlers.iter_mut().find(|s| s.is_none()).ok_or(EvtchnError::TableFull)?;
        *slot = Some(Slot { port, handler, ctx });
        self.unmask(port)
    }

    /// Masks `port` and removes its handler (the port stays bound).
    pub fn clear_handler(&mut self, port: Port) -> Result<(), EvtchnError> {
        Self::check_port(port)?;
        let slot =
            self.handlers.iter_mut().find(|s| s.is_some_and(|s| s.port == port)).ok_or(EvtchnError::NoHandler(port))?;
        *slot = None;
        self.shared.test_and_set_mask(port)?;
        Ok(())
    }

    // ---- the upcall --------------------------------------------------------------

    /// The event upcall (Linux `__xen_evtchn_do_upcall`): call it from the
    /// event callback, with upcalls masked (as the hypervisor enters the
    /// callback). Clears `evtchn_upcall_pending`, dispatches every pending
    /// unmasked port of this vCPU, and repeats while the hypervisor (or an
    /// unmask) set `evtchn_upcall_pending` again. Returns the number of
    /// events taken (handled or unhandled).
    pub fn handle_events(&mut self) -> u32 {
        let mut taken = 0;
        loop {
            // `vcpu` was validated by `new`, so these cannot fail.
            let _ = self.shared.swap_upcall_pending(self.vcpu, false);
            taken += self.scan();
            if !self.upcall_pending() {
                break;
            }
        }
        taken
    }

    /// `pending & !mask` of `word`, restricted to this vCPU's ports
    /// (`active_evtchns`).
    fn active(&self, word: usize) -> u64 {
        self.shared.pending_word(word) & !self.shared.mask_word(word) & !self.remote[word]
    }

    /// `evtchn_2l_handle_events`: one pass over the selector.
    fn scan(&mut self) -> u32 {
        let mut taken = 0;
        // The timer has the highest priority.
        if let Some(port) = self.timer_port {
            let (w, b) = split(port.0);
            if self.active(w) & (1 << b) != 0 {
                taken += self.take(port.0);
            }
        }
        // The master flag was cleared before this exchange (SeqCst RMW: a
        // full barrier), so an event raised from here on sets it again.
        let mut pending_words = self.shared.take_sel(self.vcpu).unwrap_or(0);
        let start_word = self.cur_word;
        let start_bit = self.cur_bit;
        let mut word_idx = start_word;
        let mut i = 0u32;
        while pending_words != 0 {
            let words = mask_lsbs(pending_words, word_idx as u32);
            // Nothing selected at or above word_idx: wrap to the start.
            if words == 0 {
                word_idx = 0;
                i += 1;
                continue;
            }
            word_idx = words.trailing_zeros() as usize;
            let pending_bits = self.active(word_idx);
            // The starting word is scanned twice: first from the middle,
            // then (on the second visit) whole.
            let mut bit_idx = if word_idx == start_word && i == 0 { start_bit } else { 0 };
            loop {
                let bits = mask_lsbs(pending_bits, bit_idx);
                if bits == 0 {
                    break;
                }
                bit_idx = bits.trailing_zeros();
                taken += self.take(word_idx as u32 * WORD_BITS + bit_idx);
                bit_idx = (bit_idx + 1) % WORD_BITS;
                // The next pass starts after the last port taken.
                self.cur_word = if bit_idx != 0 { word_idx } else { (word_idx + 1) % NR_WORDS };
                self.cur_bit = bit_idx;
                if bit_idx == 0 {
                    break;
                }
            }
            if word_idx != start_word || i != 0 {
                pending_words &= !(1u64 << word_idx);
            }
            word_idx = (word_idx + 1) % NR_WORDS;
            i += 1;
        }
        taken
    }

    /// Takes the event on `port`: test-and-clear its PENDING bit (the
    /// `ack`), then call its handler. Returns 1 if an event was taken.
    fn take(&mut self, port: u32) -> u32 {
        let port = Port(port);
        if !self.shared.test_and_clear_pending(port).unwrap_or(false) {
            return 0;
        }
        match self.handlers.iter().flatten().find(|s| s.port == port) {
            Some(slot) => (slot.handler)(port, slot.ctx),
            None => {
                self.unhandled += 1;
                let _ = self.shared.test_and_set_mask(port);
            }
        }
        1
    }
}

impl<H: Hypervisor, const N: usize> fmt::Debug for EventChannels<H, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventChannels")
            .field("vcpu", &self.vcpu)
            .field("handlers", &self.handler_count())
            .field("timer_port", &self.timer_port)
            .field("unhandled", &self.unhandled)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::event_channel::EvtchnStatus;
    use crate::abi::grant_table::GnttabCopy;
    use crate::hv::HvResult;
    use std::cell::{Cell, RefCell};
    use std::vec::Vec;

    #[repr(C, align(4096))]
    struct Page([u8; 4096]);

    /// A hypervisor that records calls and raises nothing.
    #[derive(Default)]
    struct Rec {
        forced: Cell<u32>,
        unmasked: RefCell<Vec<u32>>,
    }

    impl Hypervisor for Rec {
        fn evtchn_alloc_unbound(&self, _: DomId) -> HvResult<Port> {
            Ok(Port(1))
        }
        fn evtchn_bind_interdomain(&self, _: DomId, _: Port) -> HvResult<Port> {
            Ok(Port(2))
        }
        fn evtchn_bind_virq(&self, virq: u32, _: u32) -> HvResult<Port> {
            Ok(Port(100 + virq))
        }
        fn evtchn_bind_ipi(&self, vcpu: u32) -> HvResult<Port> {
            Ok(Port(200 + vcpu))
        }
        fn evtchn_bind_vcpu(&self, _: Port, _: u32) -> HvResult {
            Ok(())
        }
        fn evtchn_send(&self, _: Port) -> HvResult {
            Ok(())
        }
        fn evtchn_close(&self, _: Port) -> HvResult {
            Ok(())
        }
        fn evtchn_unmask(&self, port: Port) -> HvResult {
            self.unmasked.borrow_mut().push(port.0);
            Ok(())
        }
        fn evtchn_status(&self, _: DomId, _: Port) -> HvResult<EvtchnStatus> {
            Ok(EvtchnStatus::default())
        }
        fn force_evtchn_callback(&self) {
            self.forced.set(self.forced.get() + 1);
        }
        fn gnttab_setup_table(&self, _: &mut [u64]) -> HvResult {
            Ok(())
        }
        fn gnttab_query_size(&self) -> HvResult<(u32, u32)> {
            Ok((1, 1))
        }
        fn gnttab_copy(&self, _: &mut [GnttabCopy]) -> HvResult {
            Ok(())
        }
        fn console_io_write(&self, _: &[u8]) -> HvResult {
            Ok(())
        }
        fn sched_yield(&self) {}
    }

    /// A zeroed page, freed on drop, reached only through raw pointers.
    struct Mem(*mut Page);

    impl Drop for Mem {
        fn drop(&mut self) {
            // SAFETY: allocated by `page` with Box::into_raw; the tests drop
            // every SharedPage handle on it first (declared after it).
            drop(unsafe { Box::from_raw(self.0) });
        }
    }

    fn page() -> (Mem, SharedPage) {
        let p = Box::into_raw(Box::new(Page([0; 4096])));
        // SAFETY: the allocation outlives the handle (the `Mem` guard is
        // declared first, so dropped last) and is only reached through
        // SharedPage handles meanwhile, from one thread.
        let sp = unsafe { SharedPage::new(p.cast(), 4096) }.unwrap();
        (Mem(p), sp)
    }

    /// Raises `port` on `vcpu` as Xen's `evtchn_2l_set_pending` does.
    fn raise(s: &SharedInfo2l, port: u32, vcpu: u32) {
        if s.test_and_set_pending(Port(port)).unwrap() {
            return;
        }
        if !s.is_masked(Port(port)).unwrap() && !s.test_and_set_sel(vcpu, (port / 64) as usize).unwrap() {
            s.swap_upcall_pending(vcpu, true).unwrap();
        }
    }

    thread_local! {
        static SEEN: RefCell<Vec<(u32, u64)>> = const { RefCell::new(Vec::new()) };
    }

    fn record(port: Port, ctx: u64) {
        SEEN.with(|s| s.borrow_mut().push((port.0, ctx)));
    }

    fn seen() -> Vec<(u32, u64)> {
        SEEN.with(|s| core::mem::take(&mut *s.borrow_mut()))
    }

    #[test]
    fn layout_checks() {
        let (_p, sp) = page();
        // SAFETY: same memory as `sp`, shorter.
        let short = unsafe { SharedPage::new(sp.as_ptr(), 100) }.unwrap();
        assert!(matches!(SharedInfo2l::new(short), Err(LayoutError::TooSmall { .. })));
        // SAFETY: 4 bytes into the same page, still in bounds.
        let odd = unsafe { SharedPage::new(sp.as_ptr().add(4), 4092) }.unwrap();
        assert!(matches!(SharedInfo2l::new(odd), Err(LayoutError::Misaligned { .. })));
        assert_eq!(EventChannels::<_, 4>::new(Rec::default(), sp, 32).err(), Some(EvtchnError::BadVcpu(32)));
    }

    #[test]
    fn new_masks_everything_and_offsets_match_the_abi() {
        let (_p, sp) = page();
        let ev = EventChannels::<_, 4>::new(Rec::default(), sp, 0).unwrap();
        assert!((0..NR_WORDS).all(|w| ev.shared().mask_word(w) == !0));
        ev.shared().test_and_set_pending(Port(65)).unwrap();
        ev.shared().test_and_set_sel(1, 3).unwrap();
        ev.shared().swap_upcall_pending(1, true).unwrap();
        ev.irq_disable();
        let byte = |off: usize| ev.shared().page().read::<u8>(off).unwrap();
        assert_eq!(byte(2048 + 8), 2, "pending[1] bit 1");
        assert_eq!(byte(64 + 8), 8, "vcpu_info[1].evtchn_pending_sel bit 3");
        assert_eq!(byte(64), 1, "vcpu_info[1].evtchn_upcall_pending");
        assert_eq!(byte(1), 1, "vcpu_info[0].evtchn_upcall_mask");
    }

    #[test]
    fn dispatch_clears_before_calling_and_is_fair() {
        let (_p, sp) = page();
        let mut ev = EventChannels::<_, 8>::new(Rec::default(), sp, 0).unwrap();
        for (i, port) in [3u32, 64, 130, 4095].into_iter().enumerate() {
            ev.set_handler(Port(port), record, i as u64).unwrap();
        }
        for port in [130, 3, 4095, 64] {
            raise(ev.shared(), port, 0);
        }
        assert!(ev.upcall_pending());
        assert_eq!(ev.handle_events(), 4);
        assert_eq!(seen(), [(3, 0), (64, 1), (130, 2), (4095, 3)]);
        assert!(!ev.upcall_pending());
        assert_eq!(ev.shared().sel(0).unwrap(), 0);
        // The next scan starts after the last port taken (4095 -> word 0,
        // bit 0), then resumes after 64: 130 comes before 3 and 64.
        raise(ev.shared(), 64, 0);
        ev.handle_events();
        raise(ev.shared(), 3, 0);
        raise(ev.shared(), 64, 0);
        raise(ev.shared(), 130, 0);
        ev.handle_events();
        assert_eq!(seen(), [(64, 1), (130, 2), (3, 0), (64, 1)]);
    }

    #[test]
    fn timer_first() {
        let (_p, sp) = page();
        let mut ev = EventChannels::<_, 8>::new(Rec::default(), sp, 0).unwrap();
        let timer = ev.bind_virq(VIRQ_TIMER, 0).unwrap();
        ev.set_handler(Port(5), record, 5).unwrap();
        ev.set_handler(timer, record, 0).unwrap();
        raise(ev.shared(), 5, 0);
        raise(ev.shared(), timer.0, 0);
        assert_eq!(ev.handle_events(), 2);
        assert_eq!(seen(), [(timer.0, 0), (5, 5)]);
    }

    #[test]
    fn unmask_local_reraises_and_forces_callback() {
        let (_p, sp) = page();
        let mut ev = EventChannels::<_, 8>::new(Rec::default(), sp, 0).unwrap();
        ev.set_handler(Port(7), record, 7).unwrap();
        ev.mask(Port(7)).unwrap();
        raise(ev.shared(), 7, 0);
        assert!(!ev.upcall_pending(), "masked: nothing raised");
        assert_eq!(ev.handle_events(), 0);
        ev.unmask(Port(7)).unwrap();
        assert!(ev.upcall_pending());
        assert_eq!(ev.hv().forced.get(), 1, "upcalls were enabled: delivery forced");
        assert!(ev.hv().unmasked.borrow().is_empty(), "no hypercall for a local port");
        assert_eq!(ev.handle_events(), 1);
        assert_eq!(seen(), [(7, 7)]);

        // With upcalls disabled the force waits for irq_enable.
        ev.mask(Port(7)).unwrap();
        raise(ev.shared(), 7, 0);
        ev.irq_disable();
        ev.unmask(Port(7)).unwrap();
        assert_eq!(ev.hv().forced.get(), 1);
        ev.irq_enable();
        assert_eq!(ev.hv().forced.get(), 2);
        assert_eq!(ev.handle_events(), 1);
        assert_eq!(seen(), [(7, 7)]);
    }

    #[test]
    fn ports_of_other_vcpus_use_the_hypercall_and_are_not_scanned() {
        let (_p, sp) = page();
        let mut ev = EventChannels::<_, 8>::new(Rec::default(), sp, 0).unwrap();
        let ipi1 = ev.bind_ipi(1).unwrap();
        ev.set_handler(ipi1, record, 1).unwrap();
        assert_eq!(*ev.hv().unmasked.borrow(), [ipi1.0]);
        // Pending (raised on vCPU 1) but seen by vCPU 0's scan of the word
        // because another port in it is pending: not taken here.
        ev.shared().test_and_clear_mask(ipi1).unwrap();
        raise(ev.shared(), ipi1.0, 1);
        ev.set_handler(Port(ipi1.0 + 1), record, 2).unwrap();
        raise(ev.shared(), ipi1.0 + 1, 0);
        assert_eq!(ev.handle_events(), 1);
        assert_eq!(seen(), [(ipi1.0 + 1, 2)]);
        assert!(ev.shared().is_pending(ipi1).unwrap());
    }

    #[test]
    fn unknown_port_is_cleared_masked_and_counted() {
        let (_p, sp) = page();
        let mut ev = EventChannels::<_, 8>::new(Rec::default(), sp, 0).unwrap();
        ev.shared().test_and_clear_mask(Port(9)).unwrap();
        raise(ev.shared(), 9, 0);
        assert_eq!(ev.handle_events(), 1);
        assert_eq!(ev.unhandled(), 1);
        assert!(!ev.shared().is_pending(Port(9)).unwrap());
        assert!(ev.shared().is_masked(Port(9)).unwrap());
    }

    #[test]
    fn table_full_duplicates_and_bad_ports() {
        let (_p, sp) = page();
        let mut ev = EventChannels::<_, 2>::new(Rec::default(), sp, 0).unwrap();
        ev.set_handler(Port(1), record, 0).unwrap();
        assert_eq!(ev.set_handler(Port(1), record, 0), Err(EvtchnError::HandlerExists(Port(1))));
        ev.set_handler(Port(2), record, 0).unwrap();
        assert_eq!(ev.set_handler(Port(3), record, 0), Err(EvtchnError::TableFull));
        assert_eq!(ev.set_handler(Port(0), record, 0), Err(EvtchnError::BadPort(Port(0))));
        assert_eq!(ev.set_handler(Port(4096), record, 0), Err(EvtchnError::BadPort(Port(4096))));
        assert_eq!(ev.clear_handler(Port(3)), Err(EvtchnError::NoHandler(Port(3))));
        ev.clear_handler(Port(1)).unwrap();
        assert!(ev.shared().is_masked(Port(1)).unwrap());
        ev.set_handler(Port(3), record, 0).unwrap();
        assert_eq!(ev.send(Port(4096)), Err(EvtchnError::BadPort(Port(4096))));
        assert_eq!(EvtchnError::TableFull.errno(), Errno(ENOSPC));
    }

    #[test]
    fn irq_save_restore_nests() {
        let (_p, sp) = page();
        let ev = EventChannels::<_, 2>::new(Rec::default(), sp, 0).unwrap();
        assert!(ev.irqs_enabled());
        let outer = ev.irq_save();
        let inner = ev.irq_save();
        assert!(inner.was_masked() && !outer.was_masked());
        ev.shared().swap_upcall_pending(0, true).unwrap();
        ev.irq_restore(inner);
        assert!(!ev.irqs_enabled());
        assert_eq!(ev.hv().forced.get(), 0);
        ev.irq_restore(outer);
        assert!(ev.irqs_enabled());
        assert_eq!(ev.hv().forced.get(), 1);
    }
}
