//! # gnttab: grant tables, version 1, granting side
//!
//! A domain lets another domain map or copy one of its frames by writing
//! an entry of its grant table (`grant_entry_v1`: `flags`, `domid`,
//! `frame`) and telling the peer the entry's index, the grant reference.
//! The table's frames belong to the hypervisor and are shared with the
//! guest: `GNTTABOP_setup_table` reports them (MFNs for PV), the guest maps
//! them and hands them to [`GrantTable`] as [`SharedPage`]s.
//!
//! The flag protocol (`grant_table.h`, Linux `gnttab_update_entry_v1` and
//! `gnttab_end_foreign_access_ref_v1`) that this module follows:
//!
//! - grant ([`GrantTable::grant_access`]): write `domid` and `frame`, a
//!   write barrier, then `flags = GTF_permit_access [| GTF_readonly]`. The
//!   flags go last: the hypervisor reads the entry only once they say it is
//!   valid.
//! - revoke ([`GrantTable::end_access`]): read `flags`; while the
//!   hypervisor has set `GTF_reading` or `GTF_writing` (the peer still maps
//!   the frame, or a copy is in progress) the grant cannot end; otherwise
//!   `cmpxchg(flags, old, 0)`, retried if the hypervisor changed the flags
//!   in between. A busy reference stays allocated (it is *not* returned to
//!   the free list, the frame must not be reused) and the caller retries.
//!
//! References 0..8 are reserved (`GNTTAB_NR_RESERVED_ENTRIES`; the
//! toolstack puts the console ring at `GNTTAB_RESERVED_CONSOLE` = 0 and the
//! xenstore ring at `GNTTAB_RESERVED_XENSTORE` = 1) and never handed out.
//! The others are kept in a fixed-size free list (a link per reference,
//! as Linux's `gnttab_list`), so nothing allocates.
//!
//! [`grant_copy`] and the op builders [`copy_from_grant`] /
//! [`copy_to_grant`] are the copying side (`GNTTABOP_copy`): the local end
//! named by frame number, the remote end by grant reference.
//!
//! All `unsafe` code of this module is the one private accessor of a
//! grant entry's 16-bit fields.

use core::fmt;
use core::sync::atomic::{fence, AtomicU16, AtomicU32, Ordering};

use crate::abi::errno::{Errno, E2BIG, EBUSY, EINVAL, ENOSPC};
use crate::abi::grant_table::{
    gntst_message, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_eagain, GNTST_okay, GTF_permit_access, GTF_reading,
    GTF_readonly, GTF_writing, GnttabCopy, GnttabCopyPtr, GrantEntryV1, GNTTAB_NR_RESERVED_ENTRIES,
};
use crate::hv::Hypervisor;
use crate::hypercall::gnttab_status_errno;
use crate::ring::{LayoutError, SharedPage};
use crate::types::{DomId, GrantRef, Mfn, PAGE_SIZE};

/// References reserved for the toolstack (`GNTTAB_NR_RESERVED_ENTRIES`).
pub const NR_RESERVED_ENTRIES: u32 = GNTTAB_NR_RESERVED_ENTRIES;
/// v1 entries per 4 KiB frame.
pub const ENTRIES_PER_FRAME: u32 = (PAGE_SIZE / core::mem::size_of::<GrantEntryV1>()) as u32;
/// Most frames a [`GrantTable`] takes (16384 references).
pub const MAX_FRAMES: usize = 32;
/// Default number of references a [`GrantTable`] tracks (one frame).
pub const DEFAULT_REFS: usize = ENTRIES_PER_FRAME as usize;
/// How often [`grant_copy`] retries an op that returned `GNTST_eagain`.
pub const EAGAIN_RETRIES: u32 = 16;

const FLAGS_OFF: usize = core::mem::offset_of!(GrantEntryV1, flags);
const DOMID_OFF: usize = core::mem::offset_of!(GrantEntryV1, domid);
const FRAME_OFF: usize = core::mem::offset_of!(GrantEntryV1, frame);
const ENTRY_SIZE: usize = core::mem::size_of::<GrantEntryV1>();

/// What went wrong in a grant-table operation, and whose fault it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GntError {
    /// The hypervisor refused the hypercall with this errno.
    Hypervisor(Errno),
    /// A table frame handed in is too small or misaligned.
    Layout(LayoutError),
    /// Every usable reference is granted; end some grants or add frames.
    NoFreeRefs,
    /// The peer still maps the frame (or a copy is in flight):
    /// `GTF_reading`/`GTF_writing` is set. The reference stays granted;
    /// retry [`GrantTable::end_access`] later.
    Busy(GrantRef),
    /// The caller named a reference that is not currently granted.
    NotGranted(GrantRef),
    /// The caller named a reference outside the table (or a reserved one).
    BadRef(GrantRef),
    /// The frame number does not fit the 32-bit `frame` field.
    FrameTooBig(Mfn),
    /// The table would need more frames than the hypervisor or this
    /// object's capacity allows.
    TooManyFrames {
        /// Frames asked for.
        requested: u32,
        /// The limit.
        max: u32,
    },
    /// A copy segment crosses the end of its page (caught before the
    /// hypercall; the hypervisor would say `GNTST_bad_copy_arg`).
    BadCopyArg,
    /// Op `index` of a copy batch failed with `GNTST_*` `status` (ops
    /// before it succeeded; ops after it may have).
    Copy {
        /// Index of the first failed op.
        index: usize,
        /// Its `GNTST_*` status.
        status: i16,
    },
}

impl GntError {
    /// The errno a C caller would see.
    pub fn errno(self) -> Errno {
        match self {
            GntError::Hypervisor(e) => e,
            GntError::Layout(_) | GntError::NotGranted(_) | GntError::BadRef(_) => Errno(EINVAL),
            GntError::NoFreeRefs => Errno(ENOSPC),
            GntError::Busy(_) => Errno(EBUSY),
            GntError::FrameTooBig(_) | GntError::TooManyFrames { .. } => Errno(E2BIG),
            GntError::BadCopyArg => Errno(EINVAL),
            GntError::Copy { status, .. } => Errno(gnttab_status_errno(status)),
        }
    }
}

impl From<Errno> for GntError {
    fn from(e: Errno) -> Self {
        GntError::Hypervisor(e)
    }
}

impl From<LayoutError> for GntError {
    fn from(e: LayoutError) -> Self {
        GntError::Layout(e)
    }
}

impl From<GntError> for Errno {
    fn from(e: GntError) -> Errno {
        e.errno()
    }
}

impl fmt::Display for GntError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GntError::Hypervisor(e) => write!(f, "hypervisor refused the grant-table operation: {e:?}"),
            GntError::Layout(e) => write!(f, "grant-table frame: {e}"),
            GntError::NoFreeRefs => write!(f, "no free grant reference"),
            GntError::Busy(r) => write!(f, "grant {r} is still in use by the peer"),
            GntError::NotGranted(r) => write!(f, "grant {r} is not granted"),
            GntError::BadRef(r) => write!(f, "grant {r} is outside the usable table"),
            GntError::FrameTooBig(m) => write!(f, "frame {m} does not fit a v1 grant entry"),
            GntError::TooManyFrames { requested, max } => {
                write!(f, "grant table of {requested} frames exceeds the limit of {max}")
            }
            GntError::BadCopyArg => write!(f, "grant copy segment crosses a page boundary"),
            GntError::Copy { index, status } => {
                write!(f, "grant copy op {index} failed: {} ({status})", gntst_message(status))
            }
        }
    }
}

impl core::error::Error for GntError {}

/// `next` value of a reference that is granted.
const IN_USE: u32 = u32::MAX - 1;
/// `next` value of a reserved or not yet present reference.
const ABSENT: u32 = u32::MAX - 2;
/// End of the free list.
const END: u32 = u32::MAX;

/// The granting side of a v1 grant table with room for `N` references
/// (`N / 512` frames, at most [`MAX_FRAMES`]).
pub struct GrantTable<H: Hypervisor, const N: usize = DEFAULT_REFS> {
    hv: H,
    frames: [Option<SharedPage>; MAX_FRAMES],
    nr_frames: u32,
    /// Per reference: the next free reference (or `END`) if free,
    /// `IN_USE` if granted, `ABSENT` if reserved or not present.
    next: [u32; N],
    free_head: u32,
    /// Last free reference (meaningful only when `free_head != END`).
    free_tail: u32,
    free_count: u32,
}

impl<H: Hypervisor, const N: usize> GrantTable<H, N> {
    const CHECK_N: () = assert!(
        N > NR_RESERVED_ENTRIES as usize && N <= MAX_FRAMES * ENTRIES_PER_FRAME as usize && N < ABSENT as usize,
        "GrantTable capacity must be above the reserved entries and at most MAX_FRAMES frames"
    );

    /// An empty table: no frames, so no free reference until
    /// [`setup`](Self::setup) or [`add_frame`](Self::add_frame).
    pub fn new(hv: H) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK_N;
        GrantTable {
            hv,
            frames: [const { None }; MAX_FRAMES],
            nr_frames: 0,
            next: [ABSENT; N],
            free_head: END,
            free_tail: END,
            free_count: 0,
        }
    }

    /// The hypervisor handle.
    pub fn hv(&self) -> &H {
        &self.hv
    }

    /// Frames in use.
    pub fn nr_frames(&self) -> u32 {
        self.nr_frames
    }

    /// The most frames this table takes (`ceil(N / 512)`).
    pub const fn max_frames() -> u32 {
        N.div_ceil(ENTRIES_PER_FRAME as usize) as u32
    }

    /// References that can be granted now.
    pub fn free_count(&self) -> u32 {
        self.free_count
    }

    /// `GNTTABOP_setup_table` for `nr_frames` frames (in total), then
    /// `map(frame_number)` for each frame not yet attached, which must map
    /// that frame writable and return it; each mapped frame's references
    /// join the free list.
    pub fn setup<F>(&mut self, nr_frames: u32, mut map: F) -> Result<(), GntError>
    where
        F: FnMut(Mfn) -> Result<SharedPage, LayoutError>,
    {
        let max = Self::max_frames();
        if nr_frames > max {
            return Err(GntError::TooManyFrames { requested: nr_frames, max });
        }
        if nr_frames <= self.nr_frames {
            return Ok(());
        }
        let mut list = [0u64; MAX_FRAMES];
        let list = &mut list[..nr_frames as usize];
        self.hv.gnttab_setup_table(list)?;
        for &mfn in &list[self.nr_frames as usize..] {
            let page = map(Mfn(mfn))?;
            self.add_frame(page)?;
        }
        Ok(())
    }

    /// Attaches the next table frame (frame `nr_frames()`), already mapped,
    /// and frees its references (except the reserved ones of frame 0).
    pub fn add_frame(&mut self, page: SharedPage) -> Result<(), GntError> {
        let max = Self::max_frames();
        if self.nr_frames >= max {
            return Err(GntError::TooManyFrames { requested: self.nr_frames + 1, max });
        }
        if page.len() < PAGE_SIZE {
            return Err(GntError::Layout(LayoutError::TooSmall { len: page.len(), need: PAGE_SIZE }));
        }
        let f = self.nr_frames;
        self.frames[f as usize] = Some(page);
        self.nr_frames += 1;
        let first = (f * ENTRIES_PER_FRAME).max(NR_RESERVED_ENTRIES);
        let end = ((f + 1) * ENTRIES_PER_FRAME).min(N as u32);
        // Appended in order: references are handed out lowest first.
        for r in first..end {
            self.append_free(r);
        }
        Ok(())
    }

    /// Puts `r` at the head of the free list (a recycled reference is the
    /// next one handed out).
    fn push_free(&mut self, r: u32) {
        self.next[r as usize] = self.free_head;
        if self.free_head == END {
            self.free_tail = r;
        }
        self.free_head = r;
        self.free_count += 1;
    }

    /// Puts `r` at the tail of the free list.
    fn append_free(&mut self, r: u32) {
        self.next[r as usize] = END;
        if self.free_head == END {
            self.free_head = r;
        } else {
            self.next[self.free_tail as usize] = r;
        }
        self.free_tail = r;
        self.free_count += 1;
    }

    fn pop_free(&mut self) -> Option<u32> {
        let r = self.free_head;
        if r == END {
            return None;
        }
        self.free_head = self.next[r as usize];
        if self.free_head == END {
            self.free_tail = END;
        }
        self.next[r as usize] = IN_USE;
        self.free_count -= 1;
        Some(r)
    }

    /// The page and byte offset of entry `r`, if it is present.
    fn entry(&self, r: GrantRef) -> Result<(&SharedPage, usize), GntError> {
        let f = r.0 / ENTRIES_PER_FRAME;
        if r.0 as usize >= N || f >= self.nr_frames {
            return Err(GntError::BadRef(r));
        }
        let page = self.frames[f as usize].as_ref().ok_or(GntError::BadRef(r))?;
        Ok((page, (r.0 % ENTRIES_PER_FRAME) as usize * ENTRY_SIZE))
    }

    /// A 16-bit field of an entry as an atomic.
    fn u16_at(page: &SharedPage, off: usize) -> Result<&AtomicU16, GntError> {
        let addr = (page.as_ptr() as usize).wrapping_add(off);
        if off + 2 > page.len() {
            return Err(GntError::Layout(LayoutError::OutOfBounds { offset: off, size: 2, len: page.len() }));
        }
        if !addr.is_multiple_of(2) {
            return Err(GntError::Layout(LayoutError::Misaligned { addr, align: 2 }));
        }
        // SAFETY: in bounds and 2-aligned (checked above); valid for reads
        // and writes, not referenced by any Rust reference and accessed by
        // this program only atomically (all entry fields go through atomics
        // here) for the page's lifetime, per `SharedPage::new`'s contract;
        // that lifetime bounds the returned reference's.
        Ok(unsafe { AtomicU16::from_ptr(page.as_ptr().add(off).cast()) })
    }

    fn flags(&self, r: GrantRef) -> Result<&AtomicU16, GntError> {
        let (page, off) = self.entry(r)?;
        Self::u16_at(page, off + FLAGS_OFF)
    }

    /// Grants `domid` access to `frame` (its MFN, for a PV guest),
    /// read-only if `readonly`, and returns the reference to tell it.
    pub fn grant_access(&mut self, domid: DomId, frame: Mfn, readonly: bool) -> Result<GrantRef, GntError> {
        let frame32 = u32::try_from(frame.0).map_err(|_| GntError::FrameTooBig(frame))?;
        let r = GrantRef(self.pop_free().ok_or(GntError::NoFreeRefs)?);
        if let Err(e) = self.write_entry(r, domid, frame32, readonly) {
            self.push_free(r.0);
            return Err(e);
        }
        Ok(r)
    }

    /// `gnttab_update_entry_v1`: `domid`, `frame`, write barrier, `flags`.
    fn write_entry(&self, r: GrantRef, domid: DomId, frame: u32, readonly: bool) -> Result<(), GntError> {
        let (page, off) = self.entry(r)?;
        let domid_field = Self::u16_at(page, off + DOMID_OFF)?;
        let frame_field: &AtomicU32 = page.atomic_u32(off + FRAME_OFF)?;
        let flags_field = Self::u16_at(page, off + FLAGS_OFF)?;
        domid_field.store(domid.0, Ordering::Relaxed);
        frame_field.store(frame, Ordering::Relaxed);
        // wmb(): the hypervisor must see domid and frame before the flags
        // that make the entry valid.
        fence(Ordering::Release);
        let flags = GTF_permit_access | if readonly { GTF_readonly } else { 0 };
        flags_field.store(flags, Ordering::Relaxed);
        Ok(())
    }

    /// Ends the grant `r` (`gnttab_end_foreign_access_ref_v1`): fails with
    /// [`GntError::Busy`] while the hypervisor marks it `GTF_reading` or
    /// `GTF_writing` (the reference then stays granted: retry later);
    /// otherwise clears the flags atomically and frees the reference.
    pub fn end_access(&mut self, r: GrantRef) -> Result<(), GntError> {
        self.check_granted(r)?;
        let flags = self.flags(r)?;
        let mut cur = flags.load(Ordering::SeqCst);
        loop {
            if cur & (GTF_reading | GTF_writing) != 0 {
                return Err(GntError::Busy(r));
            }
            match flags.compare_exchange_weak(cur, 0, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.push_free(r.0);
        Ok(())
    }

    fn check_granted(&self, r: GrantRef) -> Result<(), GntError> {
        self.entry(r)?;
        if r.0 < NR_RESERVED_ENTRIES {
            return Err(GntError::BadRef(r));
        }
        if self.next[r.0 as usize] != IN_USE {
            return Err(GntError::NotGranted(r));
        }
        Ok(())
    }

    /// Whether the peer is using grant `r` now (`GTF_reading` or
    /// `GTF_writing` set; Linux `gnttab_query_foreign_access`).
    pub fn query_foreign_access(&self, r: GrantRef) -> Result<bool, GntError> {
        Ok(self.flags(r)?.load(Ordering::SeqCst) & (GTF_reading | GTF_writing) != 0)
    }

    /// Whether `r` is currently granted by this table.
    pub fn is_granted(&self, r: GrantRef) -> bool {
        self.check_granted(r).is_ok()
    }

    /// A snapshot of entry `r` (any present entry, reserved ones too).
    pub fn read_entry(&self, r: GrantRef) -> Result<GrantEntryV1, GntError> {
        let (page, off) = self.entry(r)?;
        Ok(GrantEntryV1 {
            flags: Self::u16_at(page, off + FLAGS_OFF)?.load(Ordering::SeqCst),
            domid: Self::u16_at(page, off + DOMID_OFF)?.load(Ordering::Relaxed),
            frame: page.atomic_u32(off + FRAME_OFF)?.load(Ordering::Relaxed),
        })
    }
}

impl<H: Hypervisor, const N: usize> fmt::Debug for GrantTable<H, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantTable")
            .field("nr_frames", &self.nr_frames)
            .field("capacity", &N)
            .field("free", &self.free_count)
            .finish_non_exhaustive()
    }
}

// ---- grant copy -------------------------------------------------------------------

/// One end of a copy in another domain's memory: `gref`, granted to us by
/// `dom`, from byte `offset` of the granted frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteBuf {
    /// The granting domain.
    pub dom: DomId,
    /// Its grant reference.
    pub gref: GrantRef,
    /// Byte offset in the granted frame.
    pub offset: u16,
}

/// One end of a copy in our own memory: byte `offset` of `frame` (its MFN,
/// for a PV guest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalBuf {
    /// Our frame.
    pub frame: Mfn,
    /// Byte offset in it.
    pub offset: u16,
}

fn check_seg(offset: u16, len: u16) -> Result<(), GntError> {
    if offset as usize + len as usize > PAGE_SIZE {
        return Err(GntError::BadCopyArg);
    }
    Ok(())
}

fn remote_ptr(r: RemoteBuf) -> GnttabCopyPtr {
    GnttabCopyPtr { u: r.gref.0 as u64, domid: r.dom.0, offset: r.offset, _pad: 0 }
}

fn local_ptr(l: LocalBuf) -> GnttabCopyPtr {
    GnttabCopyPtr { u: l.frame.0, domid: DomId::SELF.0, offset: l.offset, _pad: 0 }
}

/// A `GNTTABOP_copy` op reading `len` bytes of a peer's grant into our
/// frame (what netback's rx-copy does in the other direction).
pub fn copy_from_grant(src: RemoteBuf, dst: LocalBuf, len: u16) -> Result<GnttabCopy, GntError> {
    check_seg(src.offset, len)?;
    check_seg(dst.offset, len)?;
    Ok(GnttabCopy {
        source: remote_ptr(src),
        dest: local_ptr(dst),
        len,
        flags: GNTCOPY_source_gref,
        status: GNTST_okay,
        _pad: 0,
    })
}

/// A `GNTTABOP_copy` op writing `len` bytes of our frame into a peer's
/// grant (which must not be read-only).
pub fn copy_to_grant(src: LocalBuf, dst: RemoteBuf, len: u16) -> Result<GnttabCopy, GntError> {
    check_seg(src.offset, len)?;
    check_seg(dst.offset, len)?;
    Ok(GnttabCopy {
        source: local_ptr(src),
        dest: remote_ptr(dst),
        len,
        flags: GNTCOPY_dest_gref,
        status: GNTST_okay,
        _pad: 0,
    })
}

/// Runs a batch of copy ops and checks every op's status. Ops that report
/// `GNTST_eagain` are retried one by one, yielding in between, up to
/// [`EAGAIN_RETRIES`] times (Linux `gnttab_batch_copy`). Returns the first
/// failed op; each op keeps its own status for the caller to inspect.
pub fn grant_copy<H: Hypervisor>(hv: &H, ops: &mut [GnttabCopy]) -> Result<(), GntError> {
    if ops.is_empty() {
        return Ok(());
    }
    hv.gnttab_copy(ops)?;
    for i in 0..ops.len() {
        let mut tries = 0;
        while ops[i].status == GNTST_eagain && tries < EAGAIN_RETRIES {
            hv.sched_yield();
            hv.gnttab_copy(&mut ops[i..=i])?;
            tries += 1;
        }
    }
    match ops.iter().position(|op| op.status != GNTST_okay) {
        Some(index) => Err(GntError::Copy { index, status: ops[index].status }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::event_channel::EvtchnStatus;
    use crate::abi::grant_table::GNTST_bad_gntref;
    use crate::hv::HvResult;
    use crate::types::Port;
    use std::cell::Cell;

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

    fn page() -> (Mem, SharedPage) {
        let p = Box::into_raw(Box::new(Page([0; 4096])));
        // SAFETY: the allocation outlives the handle and is only reached
        // through SharedPage handles meanwhile, from one thread.
        let sp = unsafe { SharedPage::new(p.cast(), 4096) }.unwrap();
        (Mem(p), sp)
    }

    /// Reports frames 0x100.. and fails copy op statuses on demand.
    #[derive(Default)]
    struct Fake {
        eagain_left: Cell<u32>,
        copies: Cell<u32>,
        yields: Cell<u32>,
    }

    impl Hypervisor for Fake {
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
        fn gnttab_setup_table(&self, frames: &mut [u64]) -> HvResult {
            for (i, f) in frames.iter_mut().enumerate() {
                *f = 0x100 + i as u64;
            }
            Ok(())
        }
        fn gnttab_query_size(&self) -> HvResult<(u32, u32)> {
            Ok((1, 4))
        }
        fn gnttab_copy(&self, ops: &mut [GnttabCopy]) -> HvResult {
            for op in ops {
                self.copies.set(self.copies.get() + 1);
                op.status = if op.source.u == 99 {
                    GNTST_bad_gntref
                } else if self.eagain_left.get() > 0 {
                    self.eagain_left.set(self.eagain_left.get() - 1);
                    GNTST_eagain
                } else {
                    GNTST_okay
                };
            }
            Ok(())
        }
        fn console_io_write(&self, _: &[u8]) -> HvResult {
            Ok(())
        }
        fn sched_yield(&self) {
            self.yields.set(self.yields.get() + 1);
        }
    }

    #[test]
    fn setup_maps_new_frames_only_and_reserves_0_to_7() {
        let (_m0, p0) = page();
        let (_m1, p1) = page();
        let mut pages = [Some(p0), Some(p1)];
        let mut gt = GrantTable::<_, 1024>::new(Fake::default());
        let mut mapped = std::vec::Vec::new();
        gt.setup(1, |mfn| {
            mapped.push(mfn.0);
            Ok(pages[0].take().unwrap())
        })
        .unwrap();
        assert_eq!(gt.free_count(), 504);
        gt.setup(2, |mfn| {
            mapped.push(mfn.0);
            Ok(pages[1].take().unwrap())
        })
        .unwrap();
        assert_eq!(mapped, [0x100, 0x101]);
        assert_eq!(gt.free_count(), 1016);
        assert_eq!(gt.setup(3, |_| unreachable!()), Err(GntError::TooManyFrames { requested: 3, max: 2 }));
        let r = gt.grant_access(DomId(0), Mfn(5), false).unwrap();
        assert_eq!(r, GrantRef(8), "lowest usable ref first");
        assert_eq!(gt.end_access(GrantRef(1)), Err(GntError::BadRef(GrantRef(1))));
        assert_eq!(gt.end_access(GrantRef(9)), Err(GntError::NotGranted(GrantRef(9))));
        assert_eq!(gt.end_access(GrantRef(1024)), Err(GntError::BadRef(GrantRef(1024))));
    }

    #[test]
    fn entry_written_flags_last_and_cleared_on_end() {
        let (_m, p) = page();
        let mut gt = GrantTable::<_, 512>::new(Fake::default());
        gt.add_frame(p).unwrap();
        let r = gt.grant_access(DomId(3), Mfn(0x1234_5678), true).unwrap();
        assert_eq!(
            gt.read_entry(r).unwrap(),
            GrantEntryV1 { flags: GTF_permit_access | GTF_readonly, domid: 3, frame: 0x1234_5678 }
        );
        assert!(!gt.query_foreign_access(r).unwrap());
        assert_eq!(gt.grant_access(DomId(3), Mfn(1 << 32), false), Err(GntError::FrameTooBig(Mfn(1 << 32))));
        assert_eq!(gt.free_count(), 503, "a refused grant gives its ref back");
        gt.end_access(r).unwrap();
        assert_eq!(gt.read_entry(r).unwrap().flags, 0);
        assert_eq!(gt.end_access(r), Err(GntError::NotGranted(r)));
    }

    #[test]
    fn copy_ops_and_statuses() {
        let remote = RemoteBuf { dom: DomId(2), gref: GrantRef(9), offset: 100 };
        let local = LocalBuf { frame: Mfn(0x55), offset: 8 };
        let op = copy_from_grant(remote, local, 64).unwrap();
        assert_eq!((op.source.u, op.source.domid, op.source.offset), (9, 2, 100));
        assert_eq!((op.dest.u, op.dest.domid, op.dest.offset), (0x55, DomId::SELF.0, 8));
        assert_eq!((op.len, op.flags), (64, GNTCOPY_source_gref));
        let op2 = copy_to_grant(local, remote, 64).unwrap();
        assert_eq!((op2.flags, op2.dest.u, op2.source.u), (GNTCOPY_dest_gref, 9, 0x55));
        assert_eq!(copy_to_grant(LocalBuf { frame: Mfn(1), offset: 4095 }, remote, 2), Err(GntError::BadCopyArg));
        assert_eq!(copy_from_grant(RemoteBuf { offset: 4000, ..remote }, local, 97), Err(GntError::BadCopyArg));
        assert!(copy_from_grant(RemoteBuf { offset: 4000, ..remote }, local, 96).is_ok());

        let hv = Fake::default();
        hv.eagain_left.set(3);
        let mut ops = [op, op2];
        grant_copy(&hv, &mut ops).unwrap();
        assert_eq!(hv.yields.get(), 3, "op 0 and op 1 got eagain in the batch, op 0 once more on retry");
        let bad = copy_from_grant(RemoteBuf { gref: GrantRef(99), ..remote }, local, 1).unwrap();
        let mut ops = [op, bad, op];
        assert_eq!(grant_copy(&hv, &mut ops), Err(GntError::Copy { index: 1, status: GNTST_bad_gntref }));
        assert_eq!(GntError::Copy { index: 1, status: GNTST_bad_gntref }.errno(), Errno(EINVAL));
    }
}
