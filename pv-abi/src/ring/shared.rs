//! The shared-memory edge of the ring: every `unsafe` block of
//! `pv_abi::ring` is in this file.
//!
//! Memory shared with another domain is treated like device memory: it is
//! never reached through a Rust reference to its contents, the header
//! indices are read and written as atomics (`AtomicU32::from_ptr`), and
//! slots are copied in and out whole with volatile accesses, so the
//! compiler can neither cache nor re-read a value the peer may change.

use super::{slot_align, slot_size, LayoutError, RingIdx, RingSlot, SRING_RING_OFFSET};
use core::marker::PhantomData;
use core::mem::{align_of, offset_of, size_of};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::abi::io::ring::SringHeader;

/// A memory area (usually one page) shared with a peer that may write it at
/// any time. It is a handle, not an owner: the memory outlives it.
///
/// Every access is bounds- and alignment-checked or goes through a ring
/// whose layout was checked once at construction, so nothing the peer
/// writes can move an access outside the area.
#[derive(Debug)]
pub struct SharedPage {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a `SharedPage` is only a pointer to memory that `new`'s contract
// already declares as concurrently accessed by another party; moving the
// handle to another thread does not add any access the contract does not
// cover. It is deliberately not `Sync`: two threads writing the same slot
// through one handle would be a data race the ring protocol does not
// order.
unsafe impl Send for SharedPage {}

impl SharedPage {
    /// Wraps the `len` bytes at `ptr`.
    ///
    /// Fails if `ptr` is null or not 4-byte aligned (the header indices are
    /// `u32` atomics).
    ///
    /// # Safety
    ///
    /// For as long as the returned handle, or a ring built on it, exists:
    /// - `ptr` is valid for reads and writes of `len` bytes;
    /// - nothing in this program holds a Rust reference to those bytes;
    /// - accesses to the same bytes by two threads of this program are
    ///   either both atomic (the header indices, through
    ///   [`atomic_u32`](Self::atomic_u32) and the rings) or ordered by
    ///   happens-before. The ring protocol provides that order for slots
    ///   when one front end and one back end use the ring: a slot is
    ///   written only after the other side's index says it is free, and
    ///   read only after the writer's index published it. Hence at most one
    ///   [`FrontRing`](super::FrontRing) and one
    ///   [`BackRing`](super::BackRing) per area in this program.
    ///
    /// A peer outside this program (another domain) may write any byte at
    /// any time: that only makes the values read garbage, which the rings
    /// validate; it never makes an access leave the area.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> Result<Self, LayoutError> {
        let base = NonNull::new(ptr).ok_or(LayoutError::Null)?;
        let addr = base.as_ptr() as usize;
        if !addr.is_multiple_of(align_of::<AtomicU32>()) {
            return Err(LayoutError::Misaligned { addr, align: align_of::<AtomicU32>() });
        }
        Ok(SharedPage { base, len })
    }

    /// Length of the area in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the area has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The area's first byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Checks that a `T` at `offset` lies inside the area and is aligned.
    fn check<T>(&self, offset: usize) -> Result<(), LayoutError> {
        let size = size_of::<T>();
        match offset.checked_add(size) {
            Some(end) if end <= self.len => {}
            _ => return Err(LayoutError::OutOfBounds { offset, size, len: self.len }),
        }
        let addr = (self.base.as_ptr() as usize).wrapping_add(offset);
        if !addr.is_multiple_of(align_of::<T>()) {
            return Err(LayoutError::Misaligned { addr, align: align_of::<T>() });
        }
        Ok(())
    }

    /// The `u32` at `offset` as an atomic shared with the peer.
    pub fn atomic_u32(&self, offset: usize) -> Result<&AtomicU32, LayoutError> {
        self.check::<AtomicU32>(offset)?;
        // SAFETY: checked in bounds and aligned just above; valid for reads
        // and writes and only accessed atomically in this program for the
        // handle's lifetime (`new`'s contract), which bounds the returned
        // reference's lifetime.
        Ok(unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) })
    }

    /// Copies a `T` out of the area with one volatile read.
    pub fn read<T: FromBytes + Immutable>(&self, offset: usize) -> Result<T, LayoutError> {
        self.check::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked above), valid for reads
        // (`new`'s contract); `T: FromBytes`, so whatever bytes the peer
        // left there form a valid `T`.
        Ok(unsafe { self.base.as_ptr().add(offset).cast::<T>().read_volatile() })
    }

    /// Copies `value` into the area with one volatile write.
    pub fn write<T: IntoBytes + Immutable>(&self, offset: usize, value: T) -> Result<(), LayoutError> {
        self.check::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked above), valid for writes
        // (`new`'s contract); `T: IntoBytes` has no padding, so no
        // uninitialised byte of ours reaches the peer.
        unsafe { self.base.as_ptr().add(offset).cast::<T>().write_volatile(value) };
        Ok(())
    }
}

/// `SHARED_RING_INIT`: empty ring, `req_prod = rsp_prod = 0`,
/// `req_event = rsp_event = 1`, `pvt` and padding zeroed. Only the front
/// end initialises the shared ring, before it grants the page.
pub fn shared_ring_init(page: &SharedPage) -> Result<(), LayoutError> {
    shared_ring_init_at(page, 0)
}

/// [`shared_ring_init`] with all indices starting at `idx`
/// (`req_prod = rsp_prod = idx`, `req_event = rsp_event = idx + 1`); pair
/// it with [`FrontRing::attach`](super::FrontRing::attach) and
/// [`BackRing::attach`](super::BackRing::attach) at `idx`. `io/ring.h` has
/// no such macro; it is `SHARED_RING_INIT` for a ring whose history starts
/// at `idx`, used by tests to cross the 2^32 wrap.
pub fn shared_ring_init_at(page: &SharedPage, idx: RingIdx) -> Result<(), LayoutError> {
    // Plain (relaxed) stores, as in C: the page is handed to the peer later
    // through a grant and xenstore, whose own barriers publish it.
    let header = SringHeader {
        req_prod: idx,
        req_event: idx.wrapping_add(1),
        rsp_prod: idx,
        rsp_event: idx.wrapping_add(1),
        pvt: [0; 4],
        pad: [0; 44],
    };
    page.check::<SringHeader>(0)?;
    page.write(offset_of!(SringHeader, pvt), header.pvt)?;
    page.write(offset_of!(SringHeader, pad), header.pad)?;
    for (off, v) in [
        (offset_of!(SringHeader, req_prod), header.req_prod),
        (offset_of!(SringHeader, req_event), header.req_event),
        (offset_of!(SringHeader, rsp_prod), header.rsp_prod),
        (offset_of!(SringHeader, rsp_event), header.rsp_event),
    ] {
        page.atomic_u32(off)?.store(v, Ordering::Relaxed);
    }
    Ok(())
}

/// Which header index.
#[derive(Clone, Copy)]
pub(super) enum Index {
    ReqProd = offset_of!(SringHeader, req_prod) as isize,
    ReqEvent = offset_of!(SringHeader, req_event) as isize,
    RspProd = offset_of!(SringHeader, rsp_prod) as isize,
    RspEvent = offset_of!(SringHeader, rsp_event) as isize,
}

/// A shared area laid out as a ring of `Req`/`Rsp` slots: the private core
/// of [`FrontRing`](super::FrontRing) and [`BackRing`](super::BackRing).
///
/// Invariants (checked by [`Sring::new`]): the area holds the header plus
/// `size` slots, `size` is a power of two ≥ 1, and the base is aligned for
/// both slot types.
#[derive(Debug)]
pub(super) struct Sring<Req, Rsp> {
    page: SharedPage,
    size: u32,
    _slots: PhantomData<fn() -> (Req, Rsp)>,
}

impl<Req: RingSlot, Rsp: RingSlot> Sring<Req, Rsp> {
    /// Bytes per slot; fails to compile for zero-sized slots or slot
    /// alignment above 64 (the slot array starts at byte 64).
    const SLOT_SIZE: usize = {
        assert!(slot_size::<Req, Rsp>() > 0, "ring slot types must not both be zero-sized");
        assert!(slot_align::<Req, Rsp>() <= SRING_RING_OFFSET, "ring slot alignment must be <= 64");
        slot_size::<Req, Rsp>()
    };

    pub(super) fn new(page: SharedPage) -> Result<Self, LayoutError> {
        let addr = page.as_ptr() as usize;
        let align = slot_align::<Req, Rsp>();
        if !addr.is_multiple_of(align) {
            return Err(LayoutError::Misaligned { addr, align });
        }
        let size = super::ring_size(page.len(), Self::SLOT_SIZE);
        if size == 0 {
            return Err(LayoutError::TooSmall { len: page.len(), need: SRING_RING_OFFSET + Self::SLOT_SIZE });
        }
        Ok(Sring { page, size, _slots: PhantomData })
    }

    pub(super) fn size(&self) -> u32 {
        self.size
    }

    pub(super) fn into_page(self) -> SharedPage {
        self.page
    }

    /// One of the four header indices, as an atomic.
    pub(super) fn index(&self, which: Index) -> &AtomicU32 {
        // SAFETY: the offset is 0, 4, 8 or 12, inside the ≥ 64 + slot bytes
        // checked by `new`, and 4-byte aligned because the base is
        // (`SharedPage::new`); `SharedPage::new`'s contract makes the word
        // valid and atomically accessed for the handle's lifetime, which
        // bounds the reference's.
        unsafe { AtomicU32::from_ptr(self.page.as_ptr().add(which as usize).cast()) }
    }

    /// Address of the slot for free-running index `idx` (masked here, so
    /// any `idx`, including a peer's, stays inside the array).
    fn slot(&self, idx: RingIdx) -> *mut u8 {
        let slot = (idx & (self.size - 1)) as usize;
        // SAFETY: slot < size, and `new` checked that the header plus `size`
        // slots of SLOT_SIZE bytes fit in the area, so the offset is in
        // bounds of the same allocation.
        unsafe { self.page.as_ptr().add(SRING_RING_OFFSET + slot * Self::SLOT_SIZE) }
    }

    /// Copies the request in slot `idx` out with one volatile read.
    pub(super) fn read_req(&self, idx: RingIdx) -> Req {
        // SAFETY: `slot` is in bounds and at least SLOT_SIZE ≥ size_of::<Req>()
        // bytes remain; the base is aligned to align_of::<Req>() (`new`) and
        // so are 64 and SLOT_SIZE (a multiple of the slot alignment, which is
        // ≤ 64); valid for reads (`SharedPage::new`); `Req: FromBytes`.
        unsafe { self.slot(idx).cast::<Req>().read_volatile() }
    }

    /// Copies the response in slot `idx` out with one volatile read.
    pub(super) fn read_rsp(&self, idx: RingIdx) -> Rsp {
        // SAFETY: as in `read_req`, for `Rsp`.
        unsafe { self.slot(idx).cast::<Rsp>().read_volatile() }
    }

    /// Writes a request into slot `idx` with one volatile write.
    pub(super) fn write_req(&self, idx: RingIdx, req: Req) {
        // SAFETY: in bounds and aligned as in `read_req`; valid for writes
        // (`SharedPage::new`); `Req: IntoBytes` has no padding, so no
        // uninitialised byte of ours reaches the peer.
        unsafe { self.slot(idx).cast::<Req>().write_volatile(req) }
    }

    /// Writes a response into slot `idx` with one volatile write.
    pub(super) fn write_rsp(&self, idx: RingIdx, rsp: Rsp) {
        // SAFETY: as in `write_req`, for `Rsp`.
        unsafe { self.slot(idx).cast::<Rsp>().write_volatile(rsp) }
    }
}
