//! `io/console.h`: the PV console ring page.

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XENCONS_RING_IDX`.
pub type XenconsRingIdx = u32;

/// `struct xencons_interface`: input (to the guest) and output (from the
/// guest) byte rings with free-running indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenconsInterface {
    /// Bytes for the guest to read.
    pub in_: [u8; 1024],
    /// Bytes the guest wrote.
    pub out: [u8; 2048],
    /// Guest's read index into `in_`.
    pub in_cons: XenconsRingIdx,
    /// Back end's write index into `in_`.
    pub in_prod: XenconsRingIdx,
    /// Back end's read index into `out`.
    pub out_cons: XenconsRingIdx,
    /// Guest's write index into `out`.
    pub out_prod: XenconsRingIdx,
}
assert_layout!(XenconsInterface, size = 3088, in_ @ 0, out @ 1024, in_cons @ 3072, in_prod @ 3076,
    out_cons @ 3080, out_prod @ 3084);
