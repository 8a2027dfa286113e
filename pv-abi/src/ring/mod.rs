//! Shared request/response rings with exactly the semantics of Xen's
//! `io/ring.h`.
//!
//! A ring is one shared memory area (normally one granted page): the
//! 64-byte [`SringHeader`] followed by a power-of-two array of slots, each
//! large enough for a request or a response (the C `union
//! __name##_sring_entry`). The front end produces requests and consumes
//! responses ([`FrontRing`]); the back end consumes requests and produces
//! responses ([`BackRing`]). Responses overwrite the slots of the requests
//! they answer, so at most [`FrontRing::size`] requests are ever
//! outstanding.
//!
//! | `io/ring.h` | here |
//! |---|---|
//! | `__CONST_RING_SIZE`, `__RING_SIZE` | [`ring_size_for`], [`ring_size`] |
//! | `SHARED_RING_INIT` | [`shared_ring_init`] ([`shared_ring_init_at`] for any start index) |
//! | `FRONT_RING_INIT` / `_ATTACH`, `XEN_FRONT_RING_INIT` | [`FrontRing::new`] / [`FrontRing::attach`], [`FrontRing::init_shared`] |
//! | `BACK_RING_INIT` / `_ATTACH` | [`BackRing::new`] / [`BackRing::attach`] |
//! | `RING_SIZE`, `RING_FREE_REQUESTS`, `RING_FULL` | `size`, [`FrontRing::free_requests`], [`FrontRing::is_full`] |
//! | `RING_HAS_UNCONSUMED_RESPONSES` / `_REQUESTS` | [`FrontRing::unconsumed_responses`] / [`BackRing::unconsumed_requests`] |
//! | `RING_GET_*` + `RING_COPY_*` | [`BackRing::get_request`], [`FrontRing::get_response`] (always a copy, XSA-155) |
//! | `RING_PUSH_*`, `RING_PUSH_*_AND_CHECK_NOTIFY` | `push_requests[_and_check_notify]`, `push_responses[_and_check_notify]` |
//! | `RING_FINAL_CHECK_FOR_*` | [`FrontRing::final_check_for_responses`], [`BackRing::final_check_for_requests`] |
//! | `RING_REQUEST_CONS_OVERFLOW`, `RING_REQUEST_PROD_OVERFLOW`, `RING_RESPONSE_PROD_OVERFLOW` | [`request_cons_overflow`], [`request_prod_overflow`], [`response_prod_overflow`] |
//!
//! Indices are free-running `u32`s ([`RingIdx`]) compared with wrapping
//! arithmetic only; a slot is `idx & (size - 1)`.
//!
//! **The peer is not trusted.** Every index the peer writes is read once
//! into a local and validated before it is used; a peer that claims more
//! work than the ring can hold gets a [`PeerError`], never an
//! out-of-bounds access or an endless loop. Slots are copied out with a
//! single volatile read into a local value, so a request cannot change
//! after it was validated (XSA-155).
//!
//! All `unsafe` code of this module is in `shared.rs` ([`SharedPage`] and
//! the private slot accessors). See `docs/rings.md` for the model and the
//! barriers.
//!
//! A front/back pair (in one thread here; really in two domains, each with
//! its own mapping of the granted page and an event channel between them):
//!
//! ```
//! use pv_abi::ring::{BackRing, FrontRing, SharedPage};
//!
//! #[repr(C, align(4096))]
//! struct Page([u8; 4096]);
//! let page = Box::into_raw(Box::new(Page([0; 4096])));
//! // SAFETY: the page outlives both handles and is reached only through
//! // them, by one front end and one back end.
//! let (fp, bp) = unsafe { (SharedPage::new(page.cast(), 4096)?, SharedPage::new(page.cast(), 4096)?) };
//!
//! // Front end: initialise the shared ring (before granting it), queue a
//! // request, publish it, and notify if the back end asked for it.
//! let mut front = FrontRing::<u64, u64>::init_shared(fp)?;
//! front.produce_request(41)?;
//! let notify_back = front.push_requests_and_check_notify();
//! assert!(notify_back); // a fresh ring wants the first request signalled
//!
//! // Back end, on an event: drain, answer, publish, and only sleep once the
//! // final check found nothing.
//! let mut back = BackRing::<u64, u64>::new(bp)?;
//! loop {
//!     while let Some(req) = back.next_request()? {
//!         back.produce_response(req + 1)?;
//!     }
//!     if back.push_responses_and_check_notify() {
//!         // notify the front end's event channel
//!     }
//!     if !back.final_check_for_requests()? {
//!         break; // sleep until the next event
//!     }
//! }
//!
//! assert_eq!(front.next_response()?, Some(42));
//! # drop(back);
//! # drop(front);
//! # // SAFETY: allocated above; no handle is used any more.
//! # drop(unsafe { Box::from_raw(page) });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod back;
mod front;
mod shared;
#[cfg(test)]
mod tests;

pub use crate::abi::io::ring::{RingIdx, SringHeader, SRING_RING_OFFSET};
pub use back::BackRing;
pub use front::FrontRing;
pub use shared::{shared_ring_init, shared_ring_init_at, SharedPage};

use core::fmt;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// What a request or response slot type must be: any bit pattern the
/// peer writes is a valid value (`FromBytes`), it has no padding that
/// could leak our memory to the peer (`IntoBytes`), and no interior
/// mutability (`Immutable`).
pub trait RingSlot: FromBytes + IntoBytes + Immutable {}
impl<T: FromBytes + IntoBytes + Immutable> RingSlot for T {}

/// Size of one slot: `sizeof(union { Req req; Rsp rsp; })`, i.e. the larger
/// of the two sizes rounded up to the larger alignment, exactly as C lays
/// out the union.
pub const fn slot_size<Req, Rsp>() -> usize {
    let size = max(core::mem::size_of::<Req>(), core::mem::size_of::<Rsp>());
    let align = slot_align::<Req, Rsp>();
    size.div_ceil(align) * align
}

/// Alignment of one slot (the larger alignment of `Req` and `Rsp`).
pub const fn slot_align<Req, Rsp>() -> usize {
    max(core::mem::align_of::<Req>(), core::mem::align_of::<Rsp>())
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// `__RD32`: round down to a power of two (0 stays 0). Capped at 2^31, the
/// largest ring whose free-running `u32` indices can still tell "empty"
/// from "full".
const fn round_down_pow2(x: usize) -> u32 {
    if x == 0 {
        0
    } else if x >= 1 << 31 {
        1 << 31
    } else {
        1 << (usize::BITS - 1 - x.leading_zeros())
    }
}

/// `__RING_SIZE`: the number of slots of `slot_size` bytes that fit in a
/// shared area of `len` bytes after the 64-byte header, rounded down to a
/// power of two. 0 means the area cannot hold even one slot.
pub const fn ring_size(len: usize, slot_size: usize) -> u32 {
    if slot_size == 0 || len < SRING_RING_OFFSET {
        return 0;
    }
    round_down_pow2((len - SRING_RING_OFFSET) / slot_size)
}

/// `__CONST_RING_SIZE`: the ring size for request type `Req` and response
/// type `Rsp` in a shared area of `len` bytes (usually `PAGE_SIZE`).
pub const fn ring_size_for<Req, Rsp>(len: usize) -> u32 {
    ring_size(len, slot_size::<Req, Rsp>())
}

/// The notify test of `RING_PUSH_*_AND_CHECK_NOTIFY`: having moved the
/// producer index from `old` to `new`, does the peer want an event? It does
/// when its event index lies in `(old, new]`, i.e.
/// `(RING_IDX)(new - event) < (RING_IDX)(new - old)`, which stays correct
/// across the 2^32 wrap.
pub const fn need_notify(old: RingIdx, new: RingIdx, event: RingIdx) -> bool {
    new.wrapping_sub(event) < new.wrapping_sub(old)
}

/// `RING_REQUEST_CONS_OVERFLOW`: would consuming request `cons` leave the
/// back end with more than `size` unanswered requests (no slot left for
/// the response)?
pub const fn request_cons_overflow(cons: RingIdx, rsp_prod_pvt: RingIdx, size: u32) -> bool {
    cons.wrapping_sub(rsp_prod_pvt) >= size
}

/// `RING_REQUEST_PROD_OVERFLOW`: does a front end's `req_prod` claim more
/// than `size` requests beyond the responses already produced?
pub const fn request_prod_overflow(prod: RingIdx, rsp_prod_pvt: RingIdx, size: u32) -> bool {
    prod.wrapping_sub(rsp_prod_pvt) > size
}

/// `RING_RESPONSE_PROD_OVERFLOW`: does a back end's `rsp_prod` claim more
/// than `size` responses beyond the ones already consumed?
pub const fn response_prod_overflow(prod: RingIdx, rsp_cons: RingIdx, size: u32) -> bool {
    prod.wrapping_sub(rsp_cons) > size
}

/// The peer broke the ring protocol. The ring is left untouched (nothing
/// was consumed); the caller should stop servicing it and disconnect the
/// peer (as Linux's blkback does with "Frontend provided bogus ring
/// requests").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerError {
    /// `RING_REQUEST_PROD_OVERFLOW`: the front end's `req_prod` claims more
    /// than `size` requests beyond our `rsp_prod_pvt`.
    RequestProdOverflow {
        /// The `req_prod` the front end wrote.
        req_prod: RingIdx,
        /// Responses we have produced.
        rsp_prod_pvt: RingIdx,
        /// Ring size.
        size: u32,
    },
    /// The front end moved `req_prod` back behind requests we already
    /// consumed. (`io/ring.h` does not name this case; its `min()` rule
    /// would have us re-read consumed slots.)
    RequestProdBehind {
        /// The `req_prod` the front end wrote.
        req_prod: RingIdx,
        /// Requests we have consumed.
        req_cons: RingIdx,
    },
    /// `RING_RESPONSE_PROD_OVERFLOW`: the back end's `rsp_prod` claims more
    /// than `size` responses beyond our `rsp_cons` (or lies behind it).
    ResponseProdOverflow {
        /// The `rsp_prod` the back end wrote.
        rsp_prod: RingIdx,
        /// Responses we have consumed.
        rsp_cons: RingIdx,
        /// Ring size.
        size: u32,
    },
    /// The back end's `rsp_prod` claims responses to requests we never
    /// produced (beyond our `req_prod_pvt`).
    UnrequestedResponses {
        /// The `rsp_prod` the back end wrote.
        rsp_prod: RingIdx,
        /// Responses we have consumed.
        rsp_cons: RingIdx,
        /// Requests we have produced.
        req_prod_pvt: RingIdx,
    },
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PeerError::RequestProdOverflow { req_prod, rsp_prod_pvt, size } => write!(
                f,
                "front end provided bogus ring requests: req_prod {req_prod:#x} - rsp_prod_pvt \
                 {rsp_prod_pvt:#x} > ring size {size}"
            ),
            PeerError::RequestProdBehind { req_prod, req_cons } => {
                write!(f, "front end moved req_prod {req_prod:#x} behind consumed requests (req_cons {req_cons:#x})")
            }
            PeerError::ResponseProdOverflow { rsp_prod, rsp_cons, size } => write!(
                f,
                "back end provided bogus ring responses: rsp_prod {rsp_prod:#x} - rsp_cons \
                 {rsp_cons:#x} > ring size {size}"
            ),
            PeerError::UnrequestedResponses { rsp_prod, rsp_cons, req_prod_pvt } => write!(
                f,
                "back end produced responses to requests never made: rsp_prod {rsp_prod:#x} \
                 beyond req_prod_pvt {req_prod_pvt:#x} (rsp_cons {rsp_cons:#x})"
            ),
        }
    }
}

impl core::error::Error for PeerError {}

/// The shared area cannot hold a ring of this type, or an access is out of
/// its bounds. Always the caller's mistake, never the peer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The pointer is null.
    Null,
    /// The address is not aligned as the access needs.
    Misaligned {
        /// The misaligned address.
        addr: usize,
        /// The alignment needed.
        align: usize,
    },
    /// The area is too small for the header and one slot.
    TooSmall {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// An access of `size` bytes at `offset` does not fit in `len` bytes.
    OutOfBounds {
        /// Offset of the access.
        offset: usize,
        /// Size of the access.
        size: usize,
        /// Length of the area.
        len: usize,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayoutError::Null => write!(f, "shared area pointer is null"),
            LayoutError::Misaligned { addr, align } => {
                write!(f, "shared area address {addr:#x} is not {align}-byte aligned")
            }
            LayoutError::TooSmall { len, need } => {
                write!(f, "shared area of {len} bytes is too small (need {need})")
            }
            LayoutError::OutOfBounds { offset, size, len } => {
                write!(f, "access of {size} bytes at offset {offset:#x} is outside the {len}-byte shared area")
            }
        }
    }
}

impl core::error::Error for LayoutError {}

/// This side has no slot to write into: the front ring is full
/// (`RING_FULL`), or the back end has no consumed request left to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoFreeSlot;

impl fmt::Display for NoFreeSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no free slot on the ring")
    }
}

impl core::error::Error for NoFreeSlot {}
