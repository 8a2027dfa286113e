//! `grant_table.h`: grant-table entries (v1 and v2), `grant_table_op`
//! sub-commands (`GNTTABOP_*`) and their argument structures, and the
//! `GTF_*`, `GNTMAP_*`, `GNTCOPY_*` and `GNTST_*` codes.
//!
//! A domain's grant table is an array of entries shared with the
//! hypervisor; each entry, indexed by a grant reference, tells which other
//! domain may map, copy or transfer one of the granting domain's frames.
//!
//! Updating an entry: write `domid`, write `frame`, write barrier, then
//! write `flags` including the type. Invalidating an unused
//! `GTF_permit_access` entry: read `flags`, check neither `GTF_reading` nor
//! `GTF_writing` is set, then `cmpxchg(&flags, flags, 0)`.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

// `grant_ref_t` (an index into a grant table) is `u32` in the structures
// below; the typed form is [`crate::types::GrantRef`].
/// `grant_handle_t`: handle of a mapping made with `GNTTABOP_map_grant_ref`.
pub type GrantHandle = u32;
/// `grant_status_t`: a v2 status-frame entry (the `GTF_*` status bits).
pub type GrantStatus = u16;

// ---- Grant entries ------------------------------------------------------------

/// `struct grant_entry_v1`. Fields marked \[XEN\] are written by the
/// hypervisor and read by the guest; \[GST\] the other way round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantEntryV1 {
    /// `GTF_*`: type and flag information. \[XEN,GST\]
    pub flags: u16,
    /// The domain being granted foreign privileges. \[GST\]
    pub domid: u16,
    /// `GTF_permit_access`: frame `domid` may map and access. \[GST\]
    /// `GTF_accept_transfer`: frame `domid` may transfer into. \[GST\]
    /// `GTF_transfer_completed`: MFN whose ownership was transferred by
    /// `domid` (non-translated guests only). \[XEN\]
    pub frame: u32,
}
assert_layout!(GrantEntryV1, size = 8, flags @ 0, domid @ 2, frame @ 4);

/// `GNTTAB_NR_RESERVED_ENTRIES`: entries preserved across version changes,
/// possibly pre-populated by the tools.
pub const GNTTAB_NR_RESERVED_ENTRIES: u32 = 8;
/// `GNTTAB_RESERVED_CONSOLE`: the console ring's grant.
pub const GNTTAB_RESERVED_CONSOLE: u32 = 0;
/// `GNTTAB_RESERVED_XENSTORE`: the xenstore ring's grant.
pub const GNTTAB_RESERVED_XENSTORE: u32 = 1;

/// `GTF_invalid`: the entry grants no privileges.
pub const GTF_invalid: u16 = 0;
/// `GTF_permit_access`: allow `domid` to map/access `frame`.
pub const GTF_permit_access: u16 = 1;
/// `GTF_accept_transfer`: allow `domid` to transfer a frame to us.
pub const GTF_accept_transfer: u16 = 2;
/// `GTF_transitive`: allow `domid` to use a sub-range of another grant.
pub const GTF_transitive: u16 = 3;
/// `GTF_type_mask`.
pub const GTF_type_mask: u16 = 3;
/// `_GTF_readonly`: bit number of [`GTF_readonly`].
pub const _GTF_readonly: u16 = 2;
/// `GTF_readonly`: restrict `domid` to read-only mappings. \[GST\]
pub const GTF_readonly: u16 = 1 << _GTF_readonly;
/// `_GTF_reading`: bit number of [`GTF_reading`].
pub const _GTF_reading: u16 = 3;
/// `GTF_reading`: the entry is mapped for reading by `domid`. \[XEN\]
pub const GTF_reading: u16 = 1 << _GTF_reading;
/// `_GTF_writing`: bit number of [`GTF_writing`].
pub const _GTF_writing: u16 = 4;
/// `GTF_writing`: the entry is mapped for writing by `domid`. \[XEN\]
pub const GTF_writing: u16 = 1 << _GTF_writing;
/// `_GTF_PWT`: bit number of [`GTF_PWT`].
pub const _GTF_PWT: u16 = 5;
/// `GTF_PWT`: x86 cache attribute for mappings. \[GST\]
pub const GTF_PWT: u16 = 1 << _GTF_PWT;
/// `_GTF_PCD`: bit number of [`GTF_PCD`].
pub const _GTF_PCD: u16 = 6;
/// `GTF_PCD`: x86 cache attribute for mappings. \[GST\]
pub const GTF_PCD: u16 = 1 << _GTF_PCD;
/// `_GTF_PAT`: bit number of [`GTF_PAT`].
pub const _GTF_PAT: u16 = 7;
/// `GTF_PAT`: x86 cache attribute for mappings. \[GST\]
pub const GTF_PAT: u16 = 1 << _GTF_PAT;
/// `_GTF_sub_page`: bit number of [`GTF_sub_page`].
pub const _GTF_sub_page: u16 = 8;
/// `GTF_sub_page`: grant only a sub-range (copy only, no map). \[GST\]
pub const GTF_sub_page: u16 = 1 << _GTF_sub_page;
/// `_GTF_transfer_committed`: bit number of [`GTF_transfer_committed`].
pub const _GTF_transfer_committed: u16 = 2;
/// `GTF_transfer_committed`: Xen is committed to a transfer; the guest must
/// not modify the entry until `GTF_transfer_completed`.
pub const GTF_transfer_committed: u16 = 1 << _GTF_transfer_committed;
/// `_GTF_transfer_completed`: bit number of [`GTF_transfer_completed`].
pub const _GTF_transfer_completed: u16 = 3;
/// `GTF_transfer_completed`: the frame address has been written.
pub const GTF_transfer_completed: u16 = 1 << _GTF_transfer_completed;

/// `struct grant_entry_header`: the prefix common to v1 and v2 entries
/// (fields as in [`GrantEntryV1`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantEntryHeader {
    /// `GTF_*`.
    pub flags: u16,
    /// The domain being granted foreign privileges.
    pub domid: u16,
}
assert_layout!(GrantEntryHeader, size = 4, flags @ 0, domid @ 2);

/// `union grant_entry_v2` (storage; see the accessors). 16 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantEntryV2 {
    /// The union's bytes (`__spacer`, padded to a power of two).
    pub raw: [u64; 2],
}
assert_layout!(GrantEntryV2, size = 16, raw @ 0);

impl GrantEntryV2 {
    /// `hdr`: the common header.
    pub fn hdr(&self) -> GrantEntryHeader {
        crate::abi::union_get(self)
    }
    /// `full_page`: full-page grants (`GTF_accept_transfer`, or
    /// `GTF_permit_access` without `GTF_sub_page`).
    pub fn full_page(&self) -> GrantEntryV2FullPage {
        crate::abi::union_get(self)
    }
    /// Makes `full_page` the active member.
    pub fn set_full_page(&mut self, v: &GrantEntryV2FullPage) {
        crate::abi::union_set(self, v)
    }
    /// `sub_page`: `GTF_permit_access` with `GTF_sub_page`.
    pub fn sub_page(&self) -> GrantEntryV2SubPage {
        crate::abi::union_get(self)
    }
    /// Makes `sub_page` the active member.
    pub fn set_sub_page(&mut self, v: &GrantEntryV2SubPage) {
        crate::abi::union_set(self, v)
    }
    /// `transitive`: `GTF_transitive`.
    pub fn transitive(&self) -> GrantEntryV2Transitive {
        crate::abi::union_get(self)
    }
    /// Makes `transitive` the active member.
    pub fn set_transitive(&mut self, v: &GrantEntryV2Transitive) {
        crate::abi::union_set(self, v)
    }
}

/// `grant_entry_v2.full_page`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantEntryV2FullPage {
    /// Common header.
    pub hdr: GrantEntryHeader,
    /// Padding.
    pub pad0: u32,
    /// As `grant_entry_v1.frame`.
    pub frame: u64,
}
assert_layout!(GrantEntryV2FullPage, size = 16, hdr @ 0, pad0 @ 4, frame @ 8);

/// `grant_entry_v2.sub_page`: `domid` may access bytes
/// `[page_off, page_off + length)` of `frame`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantEntryV2SubPage {
    /// Common header.
    pub hdr: GrantEntryHeader,
    /// Offset of the range.
    pub page_off: u16,
    /// Length of the range.
    pub length: u16,
    /// The frame.
    pub frame: u64,
}
assert_layout!(GrantEntryV2SubPage, size = 16, hdr @ 0, page_off @ 4, length @ 6, frame @ 8);

/// `grant_entry_v2.transitive`: `domid` may use grant `gref` of
/// `trans_domid` as if it were the local domain (no mappings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GrantEntryV2Transitive {
    /// Common header.
    pub hdr: GrantEntryHeader,
    /// The domain owning the original grant.
    pub trans_domid: u16,
    /// Padding.
    pub pad0: u16,
    /// The original grant.
    pub gref: u32,
}
assert_layout!(GrantEntryV2Transitive, size = 12, hdr @ 0, trans_domid @ 4, pad0 @ 6, gref @ 8);

// ---- Sub-commands (`enum grant_table_op`) ------------------------------------

/// [`GnttabMapGrantRef`] array.
pub const GNTTABOP_map_grant_ref: u32 = 0;
/// [`GnttabUnmapGrantRef`] array.
pub const GNTTABOP_unmap_grant_ref: u32 = 1;
/// [`GnttabSetupTable`].
pub const GNTTABOP_setup_table: u32 = 2;
/// [`GnttabDumpTable`].
pub const GNTTABOP_dump_table: u32 = 3;
/// [`GnttabTransfer`] array.
pub const GNTTABOP_transfer: u32 = 4;
/// [`GnttabCopy`] array.
pub const GNTTABOP_copy: u32 = 5;
/// [`GnttabQuerySize`].
pub const GNTTABOP_query_size: u32 = 6;
/// [`GnttabUnmapAndReplace`] array.
pub const GNTTABOP_unmap_and_replace: u32 = 7;
/// [`GnttabSetVersion`].
pub const GNTTABOP_set_version: u32 = 8;
/// [`GnttabGetStatusFrames`].
pub const GNTTABOP_get_status_frames: u32 = 9;
/// [`GnttabGetVersion`].
pub const GNTTABOP_get_version: u32 = 10;
/// [`GnttabSwapGrantRef`] array.
pub const GNTTABOP_swap_grant_ref: u32 = 11;
/// [`GnttabCacheFlush`] array.
pub const GNTTABOP_cache_flush: u32 = 12;

// ---- Argument structures -----------------------------------------------------

/// `struct gnttab_map_grant_ref` (`GNTTABOP_map_grant_ref`): map grant
/// `<dom, ref>` for devices (`GNTMAP_device_map`) and/or host CPUs
/// (`GNTMAP_host_map`, at the virtual address or, with
/// `GNTMAP_contains_pte`, the PTE machine address in `host_addr`). Unmap
/// only with `GNTTABOP_unmap_grant_ref`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabMapGrantRef {
    /// IN: virtual address or PTE machine address.
    pub host_addr: u64,
    /// IN: `GNTMAP_*`.
    pub flags: u32,
    /// IN: grant reference.
    pub ref_: u32,
    /// IN: granting domain.
    pub dom: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: tracking handle for the unmap.
    pub handle: u32,
    /// OUT: bus address for devices (`GNTMAP_device_map`).
    pub dev_bus_addr: u64,
}
assert_layout!(GnttabMapGrantRef, size = 32, host_addr @ 0, flags @ 8, ref_ @ 12, dom @ 16,
    status @ 18, handle @ 20, dev_bus_addr @ 24);

/// `struct gnttab_unmap_grant_ref` (`GNTTABOP_unmap_grant_ref`): destroy
/// the mappings tracked by `handle` (zero addresses are ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabUnmapGrantRef {
    /// IN: host mapping to remove (0: none).
    pub host_addr: u64,
    /// IN: device mapping to remove (0: none).
    pub dev_bus_addr: u64,
    /// IN: handle from the map.
    pub handle: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad: u16,
}
assert_layout!(GnttabUnmapGrantRef, size = 24, host_addr @ 0, dev_bus_addr @ 8, handle @ 16,
    status @ 20, _pad @ 22);

/// `struct gnttab_setup_table` (`GNTTABOP_setup_table`): set up a grant
/// table of at least `nr_frames` pages for `dom` and return their frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabSetupTable {
    /// IN: domain (may be `DOMID_SELF`).
    pub dom: u16,
    /// Padding (implicit in C).
    pub _pad0: u16,
    /// IN: number of frames.
    pub nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad1: [u16; 3],
    /// OUT: guest handle of a `xen_pfn_t` array receiving the frames.
    pub frame_list: u64,
}
assert_layout!(GnttabSetupTable, size = 24, dom @ 0, _pad0 @ 2, nr_frames @ 4, status @ 8,
    _pad1 @ 10, frame_list @ 16);

/// `struct gnttab_dump_table` (`GNTTABOP_dump_table`): dump the table to
/// the hypervisor console (debugging only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabDumpTable {
    /// IN: domain.
    pub dom: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
}
assert_layout!(GnttabDumpTable, size = 4, dom @ 0, status @ 2);

/// `struct gnttab_transfer` (`GNTTABOP_transfer`, PV only): transfer frame
/// `mfn` to `<domid, ref>`. Even on failure the page is lost to the caller
/// unless the error is `GNTST_bad_page`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabTransfer {
    /// IN: the frame.
    pub mfn: u64,
    /// IN: receiving domain.
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad0: u16,
    /// IN: receiving grant reference.
    pub ref_: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad1: [u16; 3],
}
assert_layout!(GnttabTransfer, size = 24, mfn @ 0, domid @ 8, _pad0 @ 10, ref_ @ 12, status @ 16,
    _pad1 @ 18);

/// `_GNTCOPY_source_gref`: bit number of [`GNTCOPY_source_gref`].
pub const _GNTCOPY_source_gref: u16 = 0;
/// `GNTCOPY_source_gref`: the source is a grant reference (else a frame).
pub const GNTCOPY_source_gref: u16 = 1 << _GNTCOPY_source_gref;
/// `_GNTCOPY_dest_gref`: bit number of [`GNTCOPY_dest_gref`].
pub const _GNTCOPY_dest_gref: u16 = 1;
/// `GNTCOPY_dest_gref`: the destination is a grant reference.
pub const GNTCOPY_dest_gref: u16 = 1 << _GNTCOPY_dest_gref;

/// `struct gnttab_copy_ptr`: one end of a [`GnttabCopy`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabCopyPtr {
    /// Union `u`: `ref` (grant reference, low 32 bits; with `GNTCOPY_*_gref`)
    /// or `gmfn` (frame of the caller).
    pub u: u64,
    /// Domain owning the grant or frame.
    pub domid: u16,
    /// Offset in the frame.
    pub offset: u16,
    /// Padding (implicit in C).
    pub _pad: u32,
}
assert_layout!(GnttabCopyPtr, size = 16, u @ 0, domid @ 8, offset @ 10, _pad @ 12);

/// `struct gnttab_copy` (`GNTTABOP_copy`): hypervisor copy of `len` bytes
/// between frames and/or grant references (neither end may cross a page).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabCopy {
    /// IN: source.
    pub source: GnttabCopyPtr,
    /// IN: destination.
    pub dest: GnttabCopyPtr,
    /// IN: number of bytes.
    pub len: u16,
    /// IN: `GNTCOPY_*`.
    pub flags: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad: u16,
}
assert_layout!(GnttabCopy, size = 40, source @ 0, dest @ 16, len @ 32, flags @ 34, status @ 36,
    _pad @ 38);

/// `struct gnttab_query_size` (`GNTTABOP_query_size`): current and maximum
/// grant-table size of `dom`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabQuerySize {
    /// IN: domain (may be `DOMID_SELF`).
    pub dom: u16,
    /// Padding (implicit in C).
    pub _pad0: u16,
    /// OUT: current number of frames.
    pub nr_frames: u32,
    /// OUT: maximum number of frames.
    pub max_nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad1: u16,
}
assert_layout!(GnttabQuerySize, size = 16, dom @ 0, _pad0 @ 2, nr_frames @ 4, max_nr_frames @ 8,
    status @ 12, _pad1 @ 14);

/// `struct gnttab_unmap_and_replace` (`GNTTABOP_unmap_and_replace`):
/// destroy the mapping tracked by `handle` and atomically replace the PTE
/// with the one mapping `new_addr` (which is then unmapped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabUnmapAndReplace {
    /// IN: address of the grant mapping.
    pub host_addr: u64,
    /// IN: address whose mapping replaces it.
    pub new_addr: u64,
    /// IN: handle from the map.
    pub handle: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad: u16,
}
assert_layout!(GnttabUnmapAndReplace, size = 24, host_addr @ 0, new_addr @ 8, handle @ 16,
    status @ 20, _pad @ 22);

/// `struct gnttab_set_version` (`GNTTABOP_set_version`): switch the table
/// format (1 or 2) while no grants are active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabSetVersion {
    /// IN/OUT: the version.
    pub version: u32,
}
assert_layout!(GnttabSetVersion, size = 4, version @ 0);

/// `struct gnttab_get_status_frames` (`GNTTABOP_get_status_frames`): the
/// v2 status frames of `dom`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabGetStatusFrames {
    /// IN: size of `frame_list`.
    pub nr_frames: u32,
    /// IN: domain (may be `DOMID_SELF`).
    pub dom: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: guest handle of a `uint64_t` array receiving the frames.
    pub frame_list: u64,
}
assert_layout!(GnttabGetStatusFrames, size = 16, nr_frames @ 0, dom @ 4, status @ 6,
    frame_list @ 8);

/// `struct gnttab_get_version` (`GNTTABOP_get_version`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabGetVersion {
    /// IN: domain.
    pub dom: u16,
    /// Padding.
    pub pad: u16,
    /// OUT: the version in effect.
    pub version: u32,
}
assert_layout!(GnttabGetVersion, size = 8, dom @ 0, pad @ 2, version @ 4);

/// `struct gnttab_swap_grant_ref` (`GNTTABOP_swap_grant_ref`): swap the
/// contents of two grant entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabSwapGrantRef {
    /// IN: first entry.
    pub ref_a: u32,
    /// IN: second entry.
    pub ref_b: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding (implicit in C).
    pub _pad: u16,
}
assert_layout!(GnttabSwapGrantRef, size = 12, ref_a @ 0, ref_b @ 4, status @ 8, _pad @ 10);

/// `GNTTAB_CACHE_CLEAN`: clean the range.
pub const GNTTAB_CACHE_CLEAN: u32 = 1 << 0;
/// `GNTTAB_CACHE_INVAL`: invalidate the range.
pub const GNTTAB_CACHE_INVAL: u32 = 1 << 1;
/// `GNTTAB_CACHE_SOURCE_GREF`: `a` is a grant reference.
pub const GNTTAB_CACHE_SOURCE_GREF: u32 = 1 << 31;

/// `struct gnttab_cache_flush` (`GNTTABOP_cache_flush`): cache maintenance
/// on part of a page granted to the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GnttabCacheFlush {
    /// Union `a`: `dev_bus_addr`, or `ref` (low 32 bits, with
    /// `GNTTAB_CACHE_SOURCE_GREF`).
    pub a: u64,
    /// Offset from the start of the grant.
    pub offset: u16,
    /// Size within the grant.
    pub length: u16,
    /// `GNTTAB_CACHE_*`.
    pub op: u32,
}
assert_layout!(GnttabCacheFlush, size = 16, a @ 0, offset @ 8, length @ 10, op @ 12);

// ---- Map flags ---------------------------------------------------------------

/// `_GNTMAP_device_map`: bit number of [`GNTMAP_device_map`].
pub const _GNTMAP_device_map: u32 = 0;
/// `GNTMAP_device_map`: map for access by I/O devices.
pub const GNTMAP_device_map: u32 = 1 << _GNTMAP_device_map;
/// `_GNTMAP_host_map`: bit number of [`GNTMAP_host_map`].
pub const _GNTMAP_host_map: u32 = 1;
/// `GNTMAP_host_map`: map for access by host CPUs.
pub const GNTMAP_host_map: u32 = 1 << _GNTMAP_host_map;
/// `_GNTMAP_readonly`: bit number of [`GNTMAP_readonly`].
pub const _GNTMAP_readonly: u32 = 2;
/// `GNTMAP_readonly`: the mapping is read-only.
pub const GNTMAP_readonly: u32 = 1 << _GNTMAP_readonly;
/// `_GNTMAP_application_map`: bit number of [`GNTMAP_application_map`].
pub const _GNTMAP_application_map: u32 = 3;
/// `GNTMAP_application_map`: the host mapping is usable by the current
/// application as well as the guest OS.
pub const GNTMAP_application_map: u32 = 1 << _GNTMAP_application_map;
/// `_GNTMAP_contains_pte`: bit number of [`GNTMAP_contains_pte`].
pub const _GNTMAP_contains_pte: u32 = 4;
/// `GNTMAP_contains_pte`: `host_addr` is the machine address of the PTE to
/// update (else a virtual address).
pub const GNTMAP_contains_pte: u32 = 1 << _GNTMAP_contains_pte;
/// `_GNTMAP_guest_avail0`: first bit placed in the PTE's available bits
/// (with `XENFEAT_gnttab_map_avail_bits`).
pub const _GNTMAP_guest_avail0: u32 = 16;
/// `GNTMAP_guest_avail_mask`.
pub const GNTMAP_guest_avail_mask: u32 = !0u32 << _GNTMAP_guest_avail0;

// ---- Status codes (`enum grant_status`) ----------------------------------------

/// Normal return.
pub const GNTST_okay: i16 = 0;
/// General undefined error.
pub const GNTST_general_error: i16 = -1;
/// Unrecognised domain id.
pub const GNTST_bad_domain: i16 = -2;
/// Unrecognised or inappropriate gntref.
pub const GNTST_bad_gntref: i16 = -3;
/// Unrecognised or inappropriate handle.
pub const GNTST_bad_handle: i16 = -4;
/// Inappropriate virtual address to map.
pub const GNTST_bad_virt_addr: i16 = -5;
/// Inappropriate device address to unmap.
pub const GNTST_bad_dev_addr: i16 = -6;
/// Out of space in I/O MMU.
pub const GNTST_no_device_space: i16 = -7;
/// Not enough privilege for operation.
pub const GNTST_permission_denied: i16 = -8;
/// Specified page was invalid for op.
pub const GNTST_bad_page: i16 = -9;
/// Copy arguments cross page boundary.
pub const GNTST_bad_copy_arg: i16 = -10;
/// Transfer page address too large.
pub const GNTST_address_too_big: i16 = -11;
/// Operation not done; try again.
pub const GNTST_eagain: i16 = -12;
/// Out of space (handles etc).
pub const GNTST_no_space: i16 = -13;

/// `GNTTABOP_error_msgs`: the message for status `-n` at index `n`.
pub const GNTTABOP_error_msgs: &[&str] = &[
    "okay",
    "undefined error",
    "unrecognised domain id",
    "invalid grant reference",
    "invalid mapping handle",
    "invalid virtual address",
    "invalid device address",
    "no spare translation slot in the I/O MMU",
    "permission denied",
    "bad page",
    "copy arguments cross page boundary",
    "page address size too large",
    "operation not done; try again",
    "out of space",
];

/// The message for a `GNTST_*` status.
pub fn gntst_message(status: i16) -> &'static str {
    match usize::try_from(-(status as i32)) {
        Ok(i) if i < GNTTABOP_error_msgs.len() => GNTTABOP_error_msgs[i],
        _ => "unknown grant status",
    }
}
