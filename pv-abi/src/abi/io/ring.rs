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
    /// Union `pvt`: protocol-private bytes (`pvt_pad`; `netif.smartpoll_active`
    /// and `tapif_user.msg` in byte 0).
    pub pvt: [u8; 4],
    /// Padding (`__pad[44]`).
    pub pad: [u8; 44],
}
assert_layout!(SringHeader, size = 64, req_prod @ 0, req_event @ 4, rsp_prod @ 8, rsp_event @ 12,
    pvt @ 16, pad @ 20);

/// Offset of `ring[]` in a shared ring page.
pub const SRING_RING_OFFSET: usize = 64;

/// `__RD32(x)`: rounds a 32-bit value down to the nearest power of two
/// (0 stays 0).
pub const fn rd32(x: u32) -> u32 {
    if x == 0 {
        0
    } else {
        1 << (31 - x.leading_zeros())
    }
}

/// `__CONST_RING_SIZE`: the number of slots of `slot_size` bytes in a
/// shared ring of `ring_bytes` bytes (header included), rounded down to a
/// power of two so an index can be masked with `size - 1`.
pub const fn const_ring_size(ring_bytes: usize, slot_size: usize) -> usize {
    rd32(((ring_bytes - SRING_RING_OFFSET) / slot_size) as u32) as usize
}
