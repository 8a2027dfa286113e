//! `io/blkif.h`: the PV block device protocol: requests, responses and
//! their ring (`DEFINE_RING_TYPES(blkif, struct blkif_request, struct
//! blkif_response)`).
//!
//! The front end grants the backend one ring page (xenstore `ring-ref`,
//! `event-channel`), pushes [`BlkifRequest`]s and receives
//! [`BlkifResponse`]s in the same slots. Sector numbers are in 512-byte
//! units unless `feature-large-sector-size` was negotiated.

use crate::abi::io::ring::const_ring_size;
use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `blkif_vdev_t`: the virtual device handle.
pub type BlkifVdev = u16;
/// `blkif_sector_t`: a sector number.
pub type BlkifSector = u64;

// ---- Request codes ----------------------------------------------------------

/// Read.
pub const BLKIF_OP_READ: u8 = 0;
/// Write.
pub const BLKIF_OP_WRITE: u8 = 1;
/// Write barrier: all earlier writes complete before it, later ones start
/// after it (optional, `feature-barrier`).
pub const BLKIF_OP_WRITE_BARRIER: u8 = 2;
/// Flush the backing device's volatile cache (optional,
/// `feature-flush-cache`).
pub const BLKIF_OP_FLUSH_DISKCACHE: u8 = 3;
/// Reserved (SLES device-specific command packets).
pub const BLKIF_OP_RESERVED_1: u8 = 4;
/// Discard (trim/unmap) a region; [`BlkifRequestDiscard`] (optional,
/// `feature-discard`).
pub const BLKIF_OP_DISCARD: u8 = 5;
/// Indirect request; [`BlkifRequestIndirect`] (optional,
/// `feature-max-indirect-segments`).
pub const BLKIF_OP_INDIRECT: u8 = 6;

/// Maximum scatter/gather segments per request (so that a ring of
/// requests fits a page).
pub const BLKIF_MAX_SEGMENTS_PER_REQUEST: usize = 11;
/// Maximum number of indirect pages per indirect request.
pub const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST: usize = 8;

/// `struct blkif_request_segment`: one granted buffer frame and the
/// sectors in it to transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BlkifRequestSegment {
    /// Grant reference of the I/O buffer frame.
    pub gref: u32,
    /// First sector in the frame to transfer (inclusive).
    pub first_sect: u8,
    /// Last sector in the frame to transfer (inclusive).
    pub last_sect: u8,
    /// Padding (implicit in C).
    pub _pad: u16,
}
assert_layout!(BlkifRequestSegment, size = 8, gref @ 0, first_sect @ 4, last_sect @ 5, _pad @ 6);

/// `struct blkif_request`: the starting ring element of any request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BlkifRequest {
    /// `BLKIF_OP_*`.
    pub operation: u8,
    /// Number of segments.
    pub nr_segments: u8,
    /// Device handle (read/write requests only).
    pub handle: BlkifVdev,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// Private guest value, echoed in the response.
    pub id: u64,
    /// Start sector on disk (read/write only).
    pub sector_number: BlkifSector,
    /// The segments.
    pub seg: [BlkifRequestSegment; BLKIF_MAX_SEGMENTS_PER_REQUEST],
}
assert_layout!(BlkifRequest, size = 112, operation @ 0, nr_segments @ 1, handle @ 2, _pad @ 4,
    id @ 8, sector_number @ 16, seg @ 24);

/// `BLKIF_DISCARD_SECURE`: discarded data must be unrecoverable (ignored
/// unless `discard-secure`).
pub const BLKIF_DISCARD_SECURE: u8 = 1 << 0;

/// `struct blkif_request_discard`: a request with `operation ==
/// BLKIF_OP_DISCARD` (no larger than [`BlkifRequest`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BlkifRequestDiscard {
    /// `BLKIF_OP_DISCARD`.
    pub operation: u8,
    /// `BLKIF_DISCARD_SECURE` or zero.
    pub flag: u8,
    /// Device handle.
    pub handle: BlkifVdev,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// Private guest value, echoed in the response.
    pub id: u64,
    /// Start sector on disk.
    pub sector_number: BlkifSector,
    /// Number of contiguous sectors to discard.
    pub nr_sectors: u64,
}
assert_layout!(BlkifRequestDiscard, size = 32, operation @ 0, flag @ 1, handle @ 2, _pad @ 4,
    id @ 8, sector_number @ 16, nr_sectors @ 24);

/// `struct blkif_request_indirect`: a request with `operation ==
/// BLKIF_OP_INDIRECT`; its segments are [`BlkifRequestSegment`] arrays in
/// the pages granted by `indirect_grefs` (4096 / 8 = 512 per page).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BlkifRequestIndirect {
    /// `BLKIF_OP_INDIRECT`.
    pub operation: u8,
    /// `BLKIF_OP_READ` or `BLKIF_OP_WRITE`.
    pub indirect_op: u8,
    /// Number of segments.
    pub nr_segments: u16,
    /// Padding (implicit in C).
    pub _pad0: u32,
    /// Private guest value, echoed in the response.
    pub id: u64,
    /// Start sector on disk.
    pub sector_number: BlkifSector,
    /// Device handle.
    pub handle: BlkifVdev,
    /// Padding (implicit in C).
    pub _pad1: u16,
    /// Grants of the pages holding the segments.
    pub indirect_grefs: [u32; BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST],
    /// Padding (implicit in C).
    pub _pad2: u32,
}
assert_layout!(BlkifRequestIndirect, size = 64, operation @ 0, indirect_op @ 1, nr_segments @ 2,
    _pad0 @ 4, id @ 8, sector_number @ 16, handle @ 24, _pad1 @ 26, indirect_grefs @ 28,
    _pad2 @ 60);

/// `struct blkif_response`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BlkifResponse {
    /// Copied from the request.
    pub id: u64,
    /// Copied from the request.
    pub operation: u8,
    /// Padding (implicit in C).
    pub _pad0: u8,
    /// `BLKIF_RSP_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad1: u32,
}
assert_layout!(BlkifResponse, size = 16, id @ 0, operation @ 8, _pad0 @ 9, status @ 10, _pad1 @ 12);

/// Operation not supported (only happens on barrier writes).
pub const BLKIF_RSP_EOPNOTSUPP: i16 = -2;
/// Operation failed for some unspecified reason (-EIO).
pub const BLKIF_RSP_ERROR: i16 = -1;
/// Operation completed successfully.
pub const BLKIF_RSP_OKAY: i16 = 0;

/// `union blkif_sring_entry`: one ring slot, a request or a response
/// (storage; see the accessors). 112 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BlkifSringEntry {
    /// The union's bytes.
    pub raw: [u64; 14],
}
assert_layout!(BlkifSringEntry, size = 112, raw @ 0);

impl BlkifSringEntry {
    /// Member `req`.
    pub fn req(&self) -> BlkifRequest {
        crate::abi::union_get(self)
    }
    /// Makes `req` the active member.
    pub fn set_req(&mut self, v: &BlkifRequest) {
        crate::abi::union_set(self, v)
    }
    /// Member `rsp`.
    pub fn rsp(&self) -> BlkifResponse {
        crate::abi::union_get(self)
    }
    /// Makes `rsp` the active member.
    pub fn set_rsp(&mut self, v: &BlkifResponse) {
        crate::abi::union_set(self, v)
    }
}

/// Size of one ring slot (`sizeof(union blkif_sring_entry)`).
pub const BLKIF_RING_SLOT_SIZE: usize = core::mem::size_of::<BlkifSringEntry>();
/// Slots in a one-page ring (`__CONST_RING_SIZE(blkif, 4096)`).
pub const BLKIF_RING_SIZE: usize = const_ring_size(4096, BLKIF_RING_SLOT_SIZE);
/// Segments per indirect page (`4096 / sizeof(struct blkif_request_segment)`).
pub const BLKIF_SEGS_PER_INDIRECT_FRAME: usize = 4096 / core::mem::size_of::<BlkifRequestSegment>();

/// `VDISK_CDROM`: the device is a CD-ROM (`info` bit).
pub const VDISK_CDROM: u32 = 0x1;
/// `VDISK_REMOVABLE`: removable media.
pub const VDISK_REMOVABLE: u32 = 0x2;
/// `VDISK_READONLY`: read-only device.
pub const VDISK_READONLY: u32 = 0x4;
