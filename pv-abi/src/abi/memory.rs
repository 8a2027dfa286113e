//! `memory.h`: `memory_op` sub-commands (`XENMEM_*`) and their argument
//! structures: reservations, exchanges, the machine-to-phys table, the
//! physmap, the memory map, populate-on-demand targets and resources.
//!
//! Also the layout of one e820 entry, the format of a `XENMEM_memory_map`
//! buffer ("the same format as returned by the BIOS INT 0x15 EAX=0xE820
//! call"), which the public headers describe but do not define.
#![allow(non_upper_case_globals)]

use crate::abi::physdev::PhysdevPciDevice;
use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

// ---- Sub-commands -----------------------------------------------------------

/// Increase a reservation; [`XenMemoryReservation`]. Returns the number of
/// extents allocated.
pub const XENMEM_increase_reservation: u32 = 0;
/// Decrease a reservation; [`XenMemoryReservation`]. Returns the number of
/// extents freed.
pub const XENMEM_decrease_reservation: u32 = 1;
/// The highest machine frame of mapped RAM; no argument.
pub const XENMEM_maximum_ram_page: u32 = 2;
/// Current reservation (pages) of a domain; [`XenMemoryDomain`].
pub const XENMEM_current_reservation: u32 = 3;
/// Maximum reservation (pages) of a domain; [`XenMemoryDomain`].
pub const XENMEM_maximum_reservation: u32 = 4;
/// MFNs of the 2 MiB extents of the M2P table; [`XenMachphysMfnList`].
pub const XENMEM_machphys_mfn_list: u32 = 5;
/// Populate the physmap; [`XenMemoryReservation`] (also updates the M2P).
pub const XENMEM_populate_physmap: u32 = 6;
/// Map a page into the physmap (translated guests); [`XenAddToPhysmap`].
pub const XENMEM_add_to_physmap: u32 = 7;
/// The domain's pseudo-physical memory map; [`XenMemoryMap`].
pub const XENMEM_memory_map: u32 = 9;
/// The real machine memory map (privileged); [`XenMemoryMap`].
pub const XENMEM_machine_memory_map: u32 = 10;
/// Exchange pages atomically (PV only); [`XenMemoryExchange`].
pub const XENMEM_exchange: u32 = 11;
/// Where the M2P table is mapped; [`XenMachphysMapping`].
pub const XENMEM_machphys_mapping: u32 = 12;
/// Set a domain's memory map; [`XenForeignMemoryMap`].
pub const XENMEM_set_memory_map: u32 = 13;
/// The highest GFN in use by a domain; [`XenMemoryDomain`].
pub const XENMEM_maximum_gpfn: u32 = 14;
/// Unmap a GPFN (translated guests); [`XenRemoveFromPhysmap`].
pub const XENMEM_remove_from_physmap: u32 = 15;
/// Set the populate-on-demand target; [`XenPodTarget`].
pub const XENMEM_set_pod_target: u32 = 16;
/// Get the populate-on-demand target; [`XenPodTarget`].
pub const XENMEM_get_pod_target: u32 = 17;
/// Frames saved by memory sharing (tools).
pub const XENMEM_get_sharing_freed_pages: u32 = 18;
/// Frames shared by memory sharing (tools).
pub const XENMEM_get_sharing_shared_pages: u32 = 19;
/// Memory paging operations (tools).
pub const XENMEM_paging_op: u32 = 20;
/// Memory access operations (tools).
pub const XENMEM_access_op: u32 = 21;
/// Memory sharing operations (tools).
pub const XENMEM_sharing_op: u32 = 22;
/// Batched [`XENMEM_add_to_physmap`]; [`XenAddToPhysmapBatch`].
pub const XENMEM_add_to_physmap_batch: u32 = 23;
/// Stake a claim on pages (privileged); [`XenMemoryReservation`].
pub const XENMEM_claim_pages: u32 = 24;
/// As `XENMEM_machphys_mfn_list`, for the compat M2P table.
pub const XENMEM_machphys_compat_mfn_list: u32 = 25;
/// The guest's vNUMA topology; [`XenVnumaTopologyInfo`].
pub const XENMEM_get_vnumainfo: u32 = 26;
/// Reserved device memory regions (tools); [`XenReservedDeviceMemoryMap`].
pub const XENMEM_reserved_device_memory_map: u32 = 27;
/// Map a resource of another domain (tools); [`XenMemAcquireResource`].
pub const XENMEM_acquire_resource: u32 = 28;

// ---- Reservations -----------------------------------------------------------

/// `xenmemf_address_bits(x)`: maximum address width of the allocated
/// region (0: no restriction).
pub const fn xenmemf_address_bits(x: u32) -> u32 {
    x
}
/// `xenmemf_get_address_bits(x)`.
pub const fn xenmemf_get_address_bits(x: u32) -> u32 {
    x & 0xff
}
/// `XENMEMF_node(x)`: NUMA node to allocate from.
pub const fn xenmemf_node(x: u32) -> u32 {
    (x + 1) << 8
}
/// `XENMEMF_get_node(x)`.
pub const fn xenmemf_get_node(x: u32) -> u32 {
    ((x >> 8).wrapping_sub(1)) & 0xff
}
/// `XENMEMF_populate_on_demand`: populate the physmap with PoD entries.
pub const XENMEMF_populate_on_demand: u32 = 1 << 16;
/// `XENMEMF_exact_node_request`: allocate only from the given node.
pub const XENMEMF_exact_node_request: u32 = 1 << 17;
/// `XENMEMF_exact_node(n)`.
pub const fn xenmemf_exact_node(n: u32) -> u32 {
    xenmemf_node(n) | XENMEMF_exact_node_request
}
/// `XENMEMF_vnode`: the node is a virtual node.
pub const XENMEMF_vnode: u32 = 1 << 18;

/// `struct xen_memory_reservation`: argument of `XENMEM_increase_reservation`,
/// `XENMEM_decrease_reservation`, `XENMEM_populate_physmap` and
/// `XENMEM_claim_pages`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMemoryReservation {
    /// Guest handle of a `xen_pfn_t` array. increase_reservation: OUT MFN
    /// bases of the extents allocated; decrease_reservation: IN GMFN bases
    /// to free; populate_physmap: IN GPFN bases to populate, OUT GMFN bases
    /// allocated; claim_pages: IN must be zero.
    pub extent_start: u64,
    /// Number of extents.
    pub nr_extents: u64,
    /// Size/alignment of each extent: `2^extent_order` pages.
    pub extent_order: u32,
    /// `XENMEMF_*` flags.
    pub mem_flags: u32,
    /// Domain whose reservation changes (unprivileged: `DOMID_SELF`).
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad: [u16; 3],
}
assert_layout!(XenMemoryReservation, size = 32, extent_start @ 0, nr_extents @ 8,
    extent_order @ 16, mem_flags @ 20, domid @ 24, _pad @ 26);

/// `struct xen_memory_exchange` (`XENMEM_exchange`, PV only): atomically
/// exchange the `in` extents for new `out` extents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMemoryExchange {
    /// IN: extents to give up (GMFN bases; `mem_flags` address bits ignored).
    pub in_: XenMemoryReservation,
    /// IN/OUT: the new extents: same domain and total size as `in`; IN the
    /// GPFN bases to populate, OUT the GMFN bases allocated.
    pub out: XenMemoryReservation,
    /// OUT: number of input extents exchanged. MUST BE ZERO ON ENTRY.
    pub nr_exchanged: u64,
}
assert_layout!(XenMemoryExchange, size = 72, in_ @ 0, out @ 32, nr_exchanged @ 64);

/// `struct xen_memory_domain`: argument of `XENMEM_current_reservation`,
/// `XENMEM_maximum_reservation` and `XENMEM_maximum_gpfn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMemoryDomain {
    /// IN: domain being queried (may be `DOMID_SELF`).
    pub domid: u16,
}
assert_layout!(XenMemoryDomain, size = 2, domid @ 0);

// ---- The machine-to-phys table --------------------------------------------------

/// `struct xen_machphys_mfn_list` (`XENMEM_machphys_mfn_list`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMachphysMfnList {
    /// IN: size of the `extent_start` array.
    pub max_extents: u32,
    /// Padding (implicit in C).
    pub _pad0: u32,
    /// Guest handle of a `xen_pfn_t` array receiving the MFN base of each
    /// 2 MiB extent (0 for a hole).
    pub extent_start: u64,
    /// OUT: number of extents written.
    pub nr_extents: u32,
    /// Padding (implicit in C).
    pub _pad1: u32,
}
assert_layout!(XenMachphysMfnList, size = 24, max_extents @ 0, _pad0 @ 4, extent_start @ 8,
    nr_extents @ 16, _pad1 @ 20);

/// `struct xen_machphys_mapping` (`XENMEM_machphys_mapping`): where the
/// M2P table is mapped in the guest's address space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMachphysMapping {
    /// Start virtual address.
    pub v_start: u64,
    /// End virtual address.
    pub v_end: u64,
    /// Maximum MFN that can be looked up.
    pub max_mfn: u64,
}
assert_layout!(XenMachphysMapping, size = 24, v_start @ 0, v_end @ 8, max_mfn @ 16);

// ---- The physmap ------------------------------------------------------------------

/// `XENMAPSPACE_shared_info`: the shared-info page.
pub const XENMAPSPACE_shared_info: u32 = 0;
/// `XENMAPSPACE_grant_table`: a grant-table page.
pub const XENMAPSPACE_grant_table: u32 = 1;
/// `XENMAPSPACE_gmfn`: a GMFN.
pub const XENMAPSPACE_gmfn: u32 = 2;
/// `XENMAPSPACE_gmfn_range`: a GMFN range (`XENMEM_add_to_physmap` only).
pub const XENMAPSPACE_gmfn_range: u32 = 3;
/// `XENMAPSPACE_gmfn_foreign`: a GMFN of another domain (batch only).
pub const XENMAPSPACE_gmfn_foreign: u32 = 4;
/// `XENMAPSPACE_dev_mmio`: a device MMIO region (ARM only).
pub const XENMAPSPACE_dev_mmio: u32 = 5;
/// `XENMAPIDX_grant_table_status`: OR'ed into `idx` for v2 status frames.
pub const XENMAPIDX_grant_table_status: u64 = 0x8000_0000;

/// `struct xen_add_to_physmap` (`XENMEM_add_to_physmap`, translated guests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenAddToPhysmap {
    /// Which domain to change the mapping for.
    pub domid: u16,
    /// Number of pages for `XENMAPSPACE_gmfn_range`.
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// Index into the space being mapped.
    pub idx: u64,
    /// GPFN where the page should appear.
    pub gpfn: u64,
}
assert_layout!(XenAddToPhysmap, size = 24, domid @ 0, size @ 2, space @ 4, idx @ 8, gpfn @ 16);

/// `struct xen_add_to_physmap_batch` (`XENMEM_add_to_physmap_batch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenAddToPhysmapBatch {
    /// IN: which domain to change the mapping for.
    pub domid: u16,
    /// IN: `XENMAPSPACE_*`.
    pub space: u16,
    /// IN: number of pages.
    pub size: u16,
    /// IN: union `u`: `foreign_domid` (`XENMAPSPACE_gmfn_foreign`) or
    /// `res0` (0 for all other spaces).
    pub u: u16,
    /// IN: guest handle of the `xen_ulong_t` indexes into the space.
    pub idxs: u64,
    /// IN: guest handle of the `xen_pfn_t` GPFNs where the pages appear.
    pub gpfns: u64,
    /// OUT: guest handle of the per-index `int` error codes.
    pub errs: u64,
}
assert_layout!(XenAddToPhysmapBatch, size = 32, domid @ 0, space @ 2, size @ 4, u @ 6, idxs @ 8,
    gpfns @ 16, errs @ 24);

/// `struct xen_remove_from_physmap` (`XENMEM_remove_from_physmap`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenRemoveFromPhysmap {
    /// Which domain to change the mapping for.
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad: [u16; 3],
    /// GPFN of the current mapping of the page.
    pub gpfn: u64,
}
assert_layout!(XenRemoveFromPhysmap, size = 16, domid @ 0, _pad @ 2, gpfn @ 8);

// ---- Memory maps ------------------------------------------------------------------

/// `struct xen_memory_map` (`XENMEM_memory_map`, `XENMEM_machine_memory_map`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMemoryMap {
    /// IN: entries the buffer can hold; OUT: entries stored.
    pub nr_entries: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// Guest handle of the buffer of [`E820Entry`] (BIOS e820 format).
    pub buffer: u64,
}
assert_layout!(XenMemoryMap, size = 16, nr_entries @ 0, _pad @ 4, buffer @ 8);

/// `struct xen_foreign_memory_map` (`XENMEM_set_memory_map`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenForeignMemoryMap {
    /// The domain.
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad: [u16; 3],
    /// Its memory map.
    pub map: XenMemoryMap,
}
assert_layout!(XenForeignMemoryMap, size = 24, domid @ 0, _pad @ 2, map @ 8);

/// One entry of an e820 memory map, packed, 20 bytes: the format of the
/// `XENMEM_memory_map` buffer (Xen's internal `struct e820entry`, Linux's
/// `struct boot_e820_entry`). `ty` uses the e820 types, numerically equal
/// to `XEN_HVM_MEMMAP_TYPE_*` (1 = RAM, 2 = reserved, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct E820Entry {
    /// Base address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Region type.
    pub ty: u32,
}
assert_layout!(E820Entry, size = 20, addr @ 0, size @ 8, ty @ 16);

// ---- Populate on demand -------------------------------------------------------------

/// `struct xen_pod_target` (`XENMEM_set_pod_target`, `XENMEM_get_pod_target`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenPodTarget {
    /// IN: target number of pages.
    pub target_pages: u64,
    /// OUT: total pages.
    pub tot_pages: u64,
    /// OUT: pages in the PoD cache.
    pub pod_cache_pages: u64,
    /// OUT: PoD entries.
    pub pod_entries: u64,
    /// IN: domain.
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad: [u16; 3],
}
assert_layout!(XenPodTarget, size = 40, target_pages @ 0, tot_pages @ 8, pod_cache_pages @ 16,
    pod_entries @ 24, domid @ 32, _pad @ 34);

// ---- Reserved device memory (tools) ---------------------------------------------------

/// `XENMEM_RDM_ALL`: request all regions (ignore `dev`).
pub const XENMEM_RDM_ALL: u32 = 1;

/// `struct xen_reserved_device_memory`: one reserved region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenReservedDeviceMemory {
    /// First frame.
    pub start_pfn: u64,
    /// Number of pages.
    pub nr_pages: u64,
}
assert_layout!(XenReservedDeviceMemory, size = 16, start_pfn @ 0, nr_pages @ 8);

/// `struct xen_reserved_device_memory_map` (`XENMEM_reserved_device_memory_map`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenReservedDeviceMemoryMap {
    /// IN: `XENMEM_RDM_*`.
    pub flags: u32,
    /// IN/OUT: entries in `buffer`; set to the required number (with
    /// `-ERANGE`) when too low.
    pub nr_entries: u32,
    /// OUT: guest handle of the [`XenReservedDeviceMemory`] array.
    pub buffer: u64,
    /// IN: union `dev` (its only member is `pci`).
    pub dev: PhysdevPciDevice,
    /// Padding (implicit in C).
    pub _pad: u32,
}
assert_layout!(XenReservedDeviceMemoryMap, size = 24, flags @ 0, nr_entries @ 4, buffer @ 8,
    dev @ 16, _pad @ 20);

// ---- Resources ---------------------------------------------------------------------

/// `XENMEM_resource_ioreq_server`
pub const XENMEM_resource_ioreq_server: u16 = 0;
/// `XENMEM_resource_grant_table`
pub const XENMEM_resource_grant_table: u16 = 1;
/// `XENMEM_resource_vmtrace_buf`
pub const XENMEM_resource_vmtrace_buf: u16 = 2;
/// `XENMEM_resource_grant_table_id_shared`: the shared frames.
pub const XENMEM_resource_grant_table_id_shared: u32 = 0;
/// `XENMEM_resource_grant_table_id_status`: the v2 status frames.
pub const XENMEM_resource_grant_table_id_status: u32 = 1;
/// `XENMEM_resource_ioreq_server_frame_bufioreq`
pub const XENMEM_resource_ioreq_server_frame_bufioreq: u64 = 0;

/// `struct xen_mem_acquire_resource` (`XENMEM_acquire_resource`): map the
/// frames of a resource of `domid` directly into a tools domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMemAcquireResource {
    /// IN: the domain whose resource is mapped.
    pub domid: u16,
    /// IN: `XENMEM_resource_*`.
    pub ty: u16,
    /// IN: type-specific resource identifier.
    pub id: u32,
    /// IN/OUT: number of frames (0 with a NULL list: query the size).
    pub nr_frames: u32,
    /// Must be zero on input.
    pub pad: u32,
    /// IN: index of the first frame to map.
    pub frame: u64,
    /// IN/OUT: guest handle of the `xen_pfn_t` list (PV: OUT the MFNs).
    pub frame_list: u64,
}
assert_layout!(XenMemAcquireResource, size = 32, domid @ 0, ty @ 2, id @ 4, nr_frames @ 8,
    pad @ 12, frame @ 16, frame_list @ 24);

// ---- vNUMA ---------------------------------------------------------------------------

/// `struct xen_vmemrange`: one vNUMA memory range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenVmemrange {
    /// Start address.
    pub start: u64,
    /// End address.
    pub end: u64,
    /// Flags.
    pub flags: u32,
    /// Virtual node id.
    pub nid: u32,
}
assert_layout!(XenVmemrange, size = 24, start @ 0, end @ 8, flags @ 16, nid @ 20);

/// `struct xen_vnuma_topology_info` (`XENMEM_get_vnumainfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenVnumaTopologyInfo {
    /// IN: domain.
    pub domid: u16,
    /// Padding.
    pub pad: u16,
    /// IN/OUT: number of vnodes.
    pub nr_vnodes: u32,
    /// IN/OUT: number of vCPUs.
    pub nr_vcpus: u32,
    /// IN/OUT: number of memory ranges.
    pub nr_vmemranges: u32,
    /// OUT: guest handle (`vdistance.h`) of the `uint` distance table.
    pub vdistance: u64,
    /// OUT: guest handle (`vcpu_to_vnode.h`) of the `uint` vCPU map.
    pub vcpu_to_vnode: u64,
    /// OUT: guest handle (`vmemrange.h`) of the [`XenVmemrange`] array.
    pub vmemrange: u64,
}
assert_layout!(XenVnumaTopologyInfo, size = 40, domid @ 0, pad @ 2, nr_vnodes @ 4,
    nr_vcpus @ 8, nr_vmemranges @ 12, vdistance @ 16, vcpu_to_vnode @ 24, vmemrange @ 32);
