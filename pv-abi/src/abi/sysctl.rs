//! `sysctl.h` (tools only): the `sysctl` hypercall a toolstack uses for
//! host-wide operations. Typed payloads exist for the subset a PV
//! toolstack needs (`readconsole`, `physinfo`, `getdomaininfolist`); every
//! command number is listed.
//!
//! ## The payload union
//!
//! `struct xen_sysctl` is an 8-byte header (`cmd`, `interface_version`)
//! followed by `u`, a union of every command's payload padded to 128 bytes
//! and 8-byte aligned. As for `domctl`, [`XenSysctl`] mirrors it exactly
//! (136 bytes) with [`XenSysctlPayload`], 128 bytes of storage at offset
//! [`XEN_SYSCTL_PAYLOAD_OFFSET`], read and written through
//! [`XenSysctlPayload::get`]/[`XenSysctlPayload::set`] for the types
//! implementing [`SysctlPayload`].
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XEN_SYSCTL_INTERFACE_VERSION`: goes in every `xen_sysctl`.
pub const XEN_SYSCTL_INTERFACE_VERSION: u32 = 0x0000_0015;

// ---- Commands (`xen_sysctl.cmd`) ----------------------------------------------

/// Read the hypervisor console ring; [`XenSysctlReadconsole`].
pub const XEN_SYSCTL_readconsole: u32 = 1;
/// Trace buffer operations (payload not mirrored).
pub const XEN_SYSCTL_tbuf_op: u32 = 2;
/// Physical host information; [`XenSysctlPhysinfo`].
pub const XEN_SYSCTL_physinfo: u32 = 3;
/// The scheduler id (payload not mirrored).
pub const XEN_SYSCTL_sched_id: u32 = 4;
/// Performance counters (payload not mirrored).
pub const XEN_SYSCTL_perfc_op: u32 = 5;
/// Information on a range of domains; [`XenSysctlGetdomaininfolist`].
pub const XEN_SYSCTL_getdomaininfolist: u32 = 6;
/// Inject debug keys (payload not mirrored).
pub const XEN_SYSCTL_debug_keys: u32 = 7;
/// Per-CPU idle time (payload not mirrored).
pub const XEN_SYSCTL_getcpuinfo: u32 = 8;
/// Free heap memory (payload not mirrored).
pub const XEN_SYSCTL_availheap: u32 = 9;
/// Power-management statistics (payload not mirrored).
pub const XEN_SYSCTL_get_pmstat: u32 = 10;
/// CPU hotplug (payload not mirrored).
pub const XEN_SYSCTL_cpu_hotplug: u32 = 11;
/// Power-management operations (payload not mirrored).
pub const XEN_SYSCTL_pm_op: u32 = 12;
/// Page offlining (payload not mirrored).
pub const XEN_SYSCTL_page_offline_op: u32 = 14;
/// Lock profiling (payload not mirrored).
pub const XEN_SYSCTL_lockprof_op: u32 = 15;
/// CPU topology (payload not mirrored).
pub const XEN_SYSCTL_cputopoinfo: u32 = 16;
/// NUMA information (payload not mirrored).
pub const XEN_SYSCTL_numainfo: u32 = 17;
/// CPU pools (payload not mirrored).
pub const XEN_SYSCTL_cpupool_op: u32 = 18;
/// Scheduler parameters (payload not mirrored).
pub const XEN_SYSCTL_scheduler_op: u32 = 19;
/// Coverage data (payload not mirrored).
pub const XEN_SYSCTL_coverage_op: u32 = 20;
/// PSR monitoring (payload not mirrored).
pub const XEN_SYSCTL_psr_cmt_op: u32 = 21;
/// PCI topology (payload not mirrored).
pub const XEN_SYSCTL_pcitopoinfo: u32 = 22;
/// PSR allocation (payload not mirrored).
pub const XEN_SYSCTL_psr_alloc: u32 = 23;
/// CPU levelling capabilities (payload not mirrored).
pub const XEN_SYSCTL_get_cpu_levelling_caps: u32 = 25;
/// CPU featureset (payload not mirrored).
pub const XEN_SYSCTL_get_cpu_featureset: u32 = 26;
/// Live patching (payload not mirrored).
pub const XEN_SYSCTL_livepatch_op: u32 = 27;
/// CPU policy (payload not mirrored).
pub const XEN_SYSCTL_get_cpu_policy: u32 = 29;

// ---- The request ------------------------------------------------------------------

/// Offset of the payload union `u` in `struct xen_sysctl`.
pub const XEN_SYSCTL_PAYLOAD_OFFSET: usize = 8;
/// Size of the payload union (`uint8_t pad[128]`).
pub const XEN_SYSCTL_PAYLOAD_SIZE: usize = 128;

/// `struct xen_sysctl`: one system-control request (136 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenSysctl {
    /// `XEN_SYSCTL_*`.
    pub cmd: u32,
    /// [`XEN_SYSCTL_INTERFACE_VERSION`].
    pub interface_version: u32,
    /// The command's payload.
    pub u: XenSysctlPayload,
}
assert_layout!(XenSysctl, size = 136, cmd @ 0, interface_version @ 4,
    u @ XEN_SYSCTL_PAYLOAD_OFFSET);

impl XenSysctl {
    /// A request for `cmd` with `payload` (the rest of the union zeroed)
    /// and the current interface version.
    pub fn new<T: SysctlPayload>(cmd: u32, payload: &T) -> Self {
        let mut s = XenSysctl { cmd, interface_version: XEN_SYSCTL_INTERFACE_VERSION, u: XenSysctlPayload::default() };
        s.u.set(payload);
        s
    }
}

/// The union `xen_sysctl.u` (storage): 128 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, align(8))]
pub struct XenSysctlPayload {
    /// The union's bytes (`pad`).
    pub raw: [u8; XEN_SYSCTL_PAYLOAD_SIZE],
}
assert_layout!(XenSysctlPayload, size = XEN_SYSCTL_PAYLOAD_SIZE, raw @ 0);
const _: () = assert!(core::mem::align_of::<XenSysctlPayload>() == 8);

impl Default for XenSysctlPayload {
    fn default() -> Self {
        XenSysctlPayload { raw: [0; XEN_SYSCTL_PAYLOAD_SIZE] }
    }
}

impl XenSysctlPayload {
    /// Reads the payload as `T`.
    pub fn get<T: SysctlPayload>(&self) -> T {
        crate::abi::union_get(self)
    }
    /// Makes `v` the payload (the rest of the union is zeroed).
    pub fn set<T: SysctlPayload>(&mut self, v: &T) {
        crate::abi::union_set(self, v)
    }
}

/// A member of the `xen_sysctl.u` union.
pub trait SysctlPayload: FromBytes + IntoBytes + Immutable {}

macro_rules! payloads {
    ($($t:ty),* $(,)?) => {
        $(impl SysctlPayload for $t {})*
        $(const _: () = assert!(core::mem::size_of::<$t>() <= XEN_SYSCTL_PAYLOAD_SIZE);)*
    };
}
payloads!(XenSysctlReadconsole, XenSysctlPhysinfo, XenSysctlGetdomaininfolist);

// ---- Payloads -----------------------------------------------------------------------

/// `struct xen_sysctl_readconsole` (`XEN_SYSCTL_readconsole`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenSysctlReadconsole {
    /// IN: non-zero: clear after reading.
    pub clear: u8,
    /// IN: non-zero: start at `index`.
    pub incremental: u8,
    /// Padding.
    pub pad0: u8,
    /// Padding.
    pub pad1: u8,
    /// IN: start index for consuming from the ring (if `incremental`);
    /// OUT: end index after consuming.
    pub index: u32,
    /// IN: guest handle (virtual address) of the buffer.
    pub buffer: u64,
    /// IN: size of the buffer; OUT: bytes written.
    pub count: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
}
assert_layout!(XenSysctlReadconsole, size = 24, clear @ 0, incremental @ 1, pad0 @ 2, pad1 @ 3,
    index @ 4, buffer @ 8, count @ 16, _pad @ 20);

/// `_XEN_SYSCTL_PHYSCAP_hvm`: bit number of [`XEN_SYSCTL_PHYSCAP_hvm`].
pub const _XEN_SYSCTL_PHYSCAP_hvm: u32 = 0;
/// The platform supports HVM guests.
pub const XEN_SYSCTL_PHYSCAP_hvm: u32 = 1 << _XEN_SYSCTL_PHYSCAP_hvm;
/// `_XEN_SYSCTL_PHYSCAP_pv`: bit number of [`XEN_SYSCTL_PHYSCAP_pv`].
pub const _XEN_SYSCTL_PHYSCAP_pv: u32 = 1;
/// The platform supports PV guests.
pub const XEN_SYSCTL_PHYSCAP_pv: u32 = 1 << _XEN_SYSCTL_PHYSCAP_pv;
/// `_XEN_SYSCTL_PHYSCAP_directio`: bit number of [`XEN_SYSCTL_PHYSCAP_directio`].
pub const _XEN_SYSCTL_PHYSCAP_directio: u32 = 2;
/// The platform supports direct access to I/O devices with an IOMMU.
pub const XEN_SYSCTL_PHYSCAP_directio: u32 = 1 << _XEN_SYSCTL_PHYSCAP_directio;
/// `_XEN_SYSCTL_PHYSCAP_hap`: bit number of [`XEN_SYSCTL_PHYSCAP_hap`].
pub const _XEN_SYSCTL_PHYSCAP_hap: u32 = 3;
/// The platform supports hardware-assisted paging.
pub const XEN_SYSCTL_PHYSCAP_hap: u32 = 1 << _XEN_SYSCTL_PHYSCAP_hap;
/// `_XEN_SYSCTL_PHYSCAP_shadow`: bit number of [`XEN_SYSCTL_PHYSCAP_shadow`].
pub const _XEN_SYSCTL_PHYSCAP_shadow: u32 = 4;
/// The platform supports software (shadow) paging.
pub const XEN_SYSCTL_PHYSCAP_shadow: u32 = 1 << _XEN_SYSCTL_PHYSCAP_shadow;
/// `_XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share`: bit number of
/// [`XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share`].
pub const _XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share: u32 = 5;
/// HAP page tables can be shared with the IOMMU.
pub const XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share: u32 = 1 << _XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share;
/// The platform supports VM tracing.
pub const XEN_SYSCTL_PHYSCAP_vmtrace: u32 = 1 << 6;
/// The platform supports a vPMU.
pub const XEN_SYSCTL_PHYSCAP_vpmu: u32 = 1 << 7;
/// Xen supports the grant v1 ABI.
pub const XEN_SYSCTL_PHYSCAP_gnttab_v1: u32 = 1 << 8;
/// Xen supports the grant v2 ABI.
pub const XEN_SYSCTL_PHYSCAP_gnttab_v2: u32 = 1 << 9;
/// The highest `XEN_SYSCTL_PHYSCAP_*` flag.
pub const XEN_SYSCTL_PHYSCAP_MAX: u32 = XEN_SYSCTL_PHYSCAP_gnttab_v2;

/// `struct xen_sysctl_physinfo` (`XEN_SYSCTL_physinfo`), all OUT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenSysctlPhysinfo {
    /// Threads per core.
    pub threads_per_core: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Number of CPUs currently online.
    pub nr_cpus: u32,
    /// Largest possible CPU id on this host.
    pub max_cpu_id: u32,
    /// Number of NUMA nodes currently online.
    pub nr_nodes: u32,
    /// Largest possible node id on this host.
    pub max_node_id: u32,
    /// CPU frequency in kHz.
    pub cpu_khz: u32,
    /// `XEN_SYSCTL_PHYSCAP_*`.
    pub capabilities: u32,
    /// Arch-specific `XEN_SYSCTL_PHYSCAP_{X86,ARM,...}_*`.
    pub arch_capabilities: u32,
    /// Padding.
    pub pad: u32,
    /// Total pages.
    pub total_pages: u64,
    /// Free pages.
    pub free_pages: u64,
    /// Pages waiting to be scrubbed.
    pub scrub_pages: u64,
    /// Outstanding claimed pages.
    pub outstanding_pages: u64,
    /// Largest possible MFN on this host.
    pub max_mfn: u64,
    /// Hardware capabilities (CPUID feature words).
    pub hw_cap: [u32; 8],
}
assert_layout!(XenSysctlPhysinfo, size = 112, threads_per_core @ 0, cores_per_socket @ 4,
    nr_cpus @ 8, max_cpu_id @ 12, nr_nodes @ 16, max_node_id @ 20, cpu_khz @ 24,
    capabilities @ 28, arch_capabilities @ 32, pad @ 36, total_pages @ 40, free_pages @ 48,
    scrub_pages @ 56, outstanding_pages @ 64, max_mfn @ 72, hw_cap @ 80);

/// `struct xen_sysctl_getdomaininfolist` (`XEN_SYSCTL_getdomaininfolist`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenSysctlGetdomaininfolist {
    /// IN: first domain id to report.
    pub first_domain: u16,
    /// Padding (implicit in C).
    pub _pad0: u16,
    /// IN: capacity of `buffer`.
    pub max_domains: u32,
    /// IN: guest handle of the
    /// [`crate::abi::domctl::XenDomctlGetdomaininfo`] array.
    pub buffer: u64,
    /// OUT: number of entries written.
    pub num_domains: u32,
    /// Padding (implicit in C).
    pub _pad1: u32,
}
assert_layout!(XenSysctlGetdomaininfolist, size = 24, first_domain @ 0, _pad0 @ 2,
    max_domains @ 4, buffer @ 8, num_domains @ 16, _pad1 @ 20);
