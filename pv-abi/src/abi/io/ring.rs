//! `io/ring.h`: the shared-ring header. A shared ring page starts with
//! [`SringHeader`] (free-running `RING_IDX` producer indices and the event
//! indices that say when the peer wants a notification), followed by a
//! power-of-two array of request/response slots. The generic ring logic is
//! in `pv_abi::ring`.

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `RING_IDX`: a free-running index (wraps at 2^32).
pub type RingIdx = u32;

/// The header of `struct __name##_sring`, before `ring[]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SringHeader {
    /// Requests produced by the front end.
    pub req_prod: RingIdx,
    /// Back end wants a notification when `req_prod` passes this.
    pub req_event: RingIdx,
    /// Responses produced by the back end.
    pub rsp_prod: RingIdx,
    /// Front end wants a notification when `rsp_prod` passes this.
    pub rsp_event: RingIdx,
    /// Protocol-private bytes (`pvt`: netif smartpoll, tapif msg).
    pub pvt: [u8; 4],
    /// Padding (`__pad[44]`).
    pub pad: [u8; 44],
}
assert_layout!(SringHeader, size = 64, req_prod @ 0, req_event @ 4, rsp_prod @ 8, rsp_event @ 12, pvt @ 16, pad @ 20);

/// Offset of `ring[]` in a shared ring page.
pub const SRING_RING_OFFSET: usize = 64;
