//! `domctl.h` (tools only): the `domctl` hypercall a toolstack uses to
//! create, configure, inspect and destroy domains. Only the subset a PV
//! toolstack needs has typed payloads here; every command number is listed.
//!
//! ## The payload union
//!
//! `struct xen_domctl` is a 16-byte header (`cmd`, `interface_version`,
//! `domain`, padding) followed by `u`, a union of every command's payload
//! padded to 128 bytes and 8-byte aligned. [`XenDomctl`] mirrors it
//! exactly (`size_of::<XenDomctl>() == sizeof(struct xen_domctl) == 144`):
//! the union is [`XenDomctlPayload`], 128 bytes of storage at offset
//! [`XEN_DOMCTL_PAYLOAD_OFFSET`], and a command's payload struct is read and
//! written with [`XenDomctlPayload::get`]/[`XenDomctlPayload::set`] (or
//! built with [`XenDomctl::new`]). Only types implementing
//! [`DomctlPayload`] (the `XenDomctl*` payload structs) are accepted.
#![allow(non_upper_case_globals)]

use crate::abi::arch_x86::XenArchDomainconfig;
use crate::abi::version::XenDomainHandle;
use crate::abi::xen::XenctlBitmap;
use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XEN_DOMCTL_INTERFACE_VERSION`: goes in every `xen_domctl`; Xen rejects
/// other values with `-EACCES`.
pub const XEN_DOMCTL_INTERFACE_VERSION: u32 = 0x0000_0015;

// ---- Commands (`xen_domctl.cmd`) --------------------------------------------

/// Create a domain; [`XenDomctlCreatedomain`]. `domain` is IN/OUT: an invalid value (0 or >= `DOMID_FIRST_RESERVED`) auto-allocates an id.
pub const XEN_DOMCTL_createdomain: u32 = 1;
/// Destroy a domain; no payload.
pub const XEN_DOMCTL_destroydomain: u32 = 2;
/// Pause a domain; no payload.
pub const XEN_DOMCTL_pausedomain: u32 = 3;
/// Unpause a domain; no payload.
pub const XEN_DOMCTL_unpausedomain: u32 = 4;
/// Information about a domain; [`XenDomctlGetdomaininfo`].
pub const XEN_DOMCTL_getdomaininfo: u32 = 5;
/// Set a vCPU's affinity; [`XenDomctlVcpuaffinity`].
pub const XEN_DOMCTL_setvcpuaffinity: u32 = 9;
/// `XEN_DOMCTL_shadow_op` (payload not mirrored).
pub const XEN_DOMCTL_shadow_op: u32 = 10;
/// Set the memory limit; [`XenDomctlMaxMem`].
pub const XEN_DOMCTL_max_mem: u32 = 11;
/// Set a vCPU's context; [`XenDomctlVcpucontext`].
pub const XEN_DOMCTL_setvcpucontext: u32 = 12;
/// Get a vCPU's context; [`XenDomctlVcpucontext`].
pub const XEN_DOMCTL_getvcpucontext: u32 = 13;
/// Information about a vCPU; [`XenDomctlGetvcpuinfo`].
pub const XEN_DOMCTL_getvcpuinfo: u32 = 14;
/// Set the number of vCPUs; [`XenDomctlMaxVcpus`].
pub const XEN_DOMCTL_max_vcpus: u32 = 15;
/// Get or set scheduler parameters; [`XenDomctlSchedulerOp`].
pub const XEN_DOMCTL_scheduler_op: u32 = 16;
/// Set the domain's handle (UUID); [`XenDomctlSetdomainhandle`].
pub const XEN_DOMCTL_setdomainhandle: u32 = 17;
/// Enable or disable debugging; [`XenDomctlSetdebugging`].
pub const XEN_DOMCTL_setdebugging: u32 = 18;
/// Grant or revoke access to a PIRQ; [`XenDomctlIrqPermission`].
pub const XEN_DOMCTL_irq_permission: u32 = 19;
/// Grant or revoke access to machine frames; [`XenDomctlIomemPermission`].
pub const XEN_DOMCTL_iomem_permission: u32 = 20;
/// Grant or revoke access to I/O ports; [`XenDomctlIoportPermission`].
pub const XEN_DOMCTL_ioport_permission: u32 = 21;
/// Write the hypercall page into a frame; [`XenDomctlHypercallInit`].
pub const XEN_DOMCTL_hypercall_init: u32 = 22;
/// Set the wallclock offset; [`XenDomctlSettimeoffset`].
pub const XEN_DOMCTL_settimeoffset: u32 = 24;
/// Get a vCPU's affinity; [`XenDomctlVcpuaffinity`].
pub const XEN_DOMCTL_getvcpuaffinity: u32 = 25;
/// Obsolete (PPC only).
pub const XEN_DOMCTL_real_mode_area: u32 = 26;
/// Resume a suspended domain; no payload.
pub const XEN_DOMCTL_resumedomain: u32 = 27;
/// `XEN_DOMCTL_sendtrigger` (payload not mirrored).
pub const XEN_DOMCTL_sendtrigger: u32 = 28;
/// Set the port for domain state notifications; [`XenDomctlSubscribe`].
pub const XEN_DOMCTL_subscribe: u32 = 29;
/// `XEN_DOMCTL_gethvmcontext` (payload not mirrored).
pub const XEN_DOMCTL_gethvmcontext: u32 = 33;
/// `XEN_DOMCTL_sethvmcontext` (payload not mirrored).
pub const XEN_DOMCTL_sethvmcontext: u32 = 34;
/// Set the guest's address size (64 for a 64-bit PV guest); [`XenDomctlAddressSize`].
pub const XEN_DOMCTL_set_address_size: u32 = 35;
/// Get the guest's address size; [`XenDomctlAddressSize`].
pub const XEN_DOMCTL_get_address_size: u32 = 36;
/// `XEN_DOMCTL_assign_device` (payload not mirrored).
pub const XEN_DOMCTL_assign_device: u32 = 37;
/// `XEN_DOMCTL_bind_pt_irq` (payload not mirrored).
pub const XEN_DOMCTL_bind_pt_irq: u32 = 38;
/// `XEN_DOMCTL_memory_mapping` (payload not mirrored).
pub const XEN_DOMCTL_memory_mapping: u32 = 39;
/// `XEN_DOMCTL_ioport_mapping` (payload not mirrored).
pub const XEN_DOMCTL_ioport_mapping: u32 = 40;
/// `XEN_DOMCTL_set_ext_vcpucontext` (payload not mirrored).
pub const XEN_DOMCTL_set_ext_vcpucontext: u32 = 42;
/// `XEN_DOMCTL_get_ext_vcpucontext` (payload not mirrored).
pub const XEN_DOMCTL_get_ext_vcpucontext: u32 = 43;
/// Obsolete (IA64 only).
pub const XEN_DOMCTL_set_opt_feature: u32 = 44;
/// `XEN_DOMCTL_test_assign_device` (payload not mirrored).
pub const XEN_DOMCTL_test_assign_device: u32 = 45;
/// Make the domain privileged over another; [`XenDomctlSetTarget`].
pub const XEN_DOMCTL_set_target: u32 = 46;
/// `XEN_DOMCTL_deassign_device` (payload not mirrored).
pub const XEN_DOMCTL_deassign_device: u32 = 47;
/// `XEN_DOMCTL_unbind_pt_irq` (payload not mirrored).
pub const XEN_DOMCTL_unbind_pt_irq: u32 = 48;
/// `XEN_DOMCTL_get_device_group` (payload not mirrored).
pub const XEN_DOMCTL_get_device_group: u32 = 50;
/// `XEN_DOMCTL_debug_op` (payload not mirrored).
pub const XEN_DOMCTL_debug_op: u32 = 54;
/// `XEN_DOMCTL_gethvmcontext_partial` (payload not mirrored).
pub const XEN_DOMCTL_gethvmcontext_partial: u32 = 55;
/// `XEN_DOMCTL_vm_event_op` (payload not mirrored).
pub const XEN_DOMCTL_vm_event_op: u32 = 56;
/// `XEN_DOMCTL_mem_sharing_op` (payload not mirrored).
pub const XEN_DOMCTL_mem_sharing_op: u32 = 57;
/// `XEN_DOMCTL_gettscinfo` (payload not mirrored).
pub const XEN_DOMCTL_gettscinfo: u32 = 59;
/// `XEN_DOMCTL_settscinfo` (payload not mirrored).
pub const XEN_DOMCTL_settscinfo: u32 = 60;
/// Page types of a list of frames; [`XenDomctlGetpageframeinfo3`].
pub const XEN_DOMCTL_getpageframeinfo3: u32 = 61;
/// `XEN_DOMCTL_setvcpuextstate` (payload not mirrored).
pub const XEN_DOMCTL_setvcpuextstate: u32 = 62;
/// `XEN_DOMCTL_getvcpuextstate` (payload not mirrored).
pub const XEN_DOMCTL_getvcpuextstate: u32 = 63;
/// `XEN_DOMCTL_set_access_required` (payload not mirrored).
pub const XEN_DOMCTL_set_access_required: u32 = 64;
/// `XEN_DOMCTL_audit_p2m` (payload not mirrored).
pub const XEN_DOMCTL_audit_p2m: u32 = 65;
/// Route a global VIRQ to this domain; [`XenDomctlSetVirqHandler`].
pub const XEN_DOMCTL_set_virq_handler: u32 = 66;
/// `XEN_DOMCTL_set_broken_page_p2m` (payload not mirrored).
pub const XEN_DOMCTL_set_broken_page_p2m: u32 = 67;
/// `XEN_DOMCTL_setnodeaffinity` (payload not mirrored).
pub const XEN_DOMCTL_setnodeaffinity: u32 = 68;
/// `XEN_DOMCTL_getnodeaffinity` (payload not mirrored).
pub const XEN_DOMCTL_getnodeaffinity: u32 = 69;
/// `XEN_DOMCTL_cacheflush` (payload not mirrored).
pub const XEN_DOMCTL_cacheflush: u32 = 71;
/// `XEN_DOMCTL_get_vcpu_msrs` (payload not mirrored).
pub const XEN_DOMCTL_get_vcpu_msrs: u32 = 72;
/// `XEN_DOMCTL_set_vcpu_msrs` (payload not mirrored).
pub const XEN_DOMCTL_set_vcpu_msrs: u32 = 73;
/// `XEN_DOMCTL_setvnumainfo` (payload not mirrored).
pub const XEN_DOMCTL_setvnumainfo: u32 = 74;
/// `XEN_DOMCTL_psr_cmt_op` (payload not mirrored).
pub const XEN_DOMCTL_psr_cmt_op: u32 = 75;
/// `XEN_DOMCTL_monitor_op` (payload not mirrored).
pub const XEN_DOMCTL_monitor_op: u32 = 77;
/// `XEN_DOMCTL_psr_alloc` (payload not mirrored).
pub const XEN_DOMCTL_psr_alloc: u32 = 78;
/// `XEN_DOMCTL_soft_reset` (payload not mirrored).
pub const XEN_DOMCTL_soft_reset: u32 = 79;
/// `XEN_DOMCTL_vuart_op` (payload not mirrored).
pub const XEN_DOMCTL_vuart_op: u32 = 81;
/// `XEN_DOMCTL_get_cpu_policy` (payload not mirrored).
pub const XEN_DOMCTL_get_cpu_policy: u32 = 82;
/// `XEN_DOMCTL_set_cpu_policy` (payload not mirrored).
pub const XEN_DOMCTL_set_cpu_policy: u32 = 83;
/// `XEN_DOMCTL_vmtrace_op` (payload not mirrored).
pub const XEN_DOMCTL_vmtrace_op: u32 = 84;
/// `XEN_DOMCTL_get_paging_mempool_size` (payload not mirrored).
pub const XEN_DOMCTL_get_paging_mempool_size: u32 = 85;
/// `XEN_DOMCTL_set_paging_mempool_size` (payload not mirrored).
pub const XEN_DOMCTL_set_paging_mempool_size: u32 = 86;
/// `XEN_DOMCTL_gdbsx_guestmemio` (payload not mirrored).
pub const XEN_DOMCTL_gdbsx_guestmemio: u32 = 1000;
/// `XEN_DOMCTL_gdbsx_pausevcpu` (payload not mirrored).
pub const XEN_DOMCTL_gdbsx_pausevcpu: u32 = 1001;
/// `XEN_DOMCTL_gdbsx_unpausevcpu` (payload not mirrored).
pub const XEN_DOMCTL_gdbsx_unpausevcpu: u32 = 1002;
/// `XEN_DOMCTL_gdbsx_domstatus` (payload not mirrored).
pub const XEN_DOMCTL_gdbsx_domstatus: u32 = 1003;

// ---- The request ---------------------------------------------------------------

/// Offset of the payload union `u` in `struct xen_domctl`.
pub const XEN_DOMCTL_PAYLOAD_OFFSET: usize = 16;
/// Size of the payload union (`uint8_t pad[128]`).
pub const XEN_DOMCTL_PAYLOAD_SIZE: usize = 128;

/// `struct xen_domctl`: one domain-control request (144 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctl {
    /// `XEN_DOMCTL_*`.
    pub cmd: u32,
    /// [`XEN_DOMCTL_INTERFACE_VERSION`].
    pub interface_version: u32,
    /// The target domain (IN/OUT for `XEN_DOMCTL_createdomain`).
    pub domain: u16,
    /// Padding.
    pub _pad: [u16; 3],
    /// The command's payload.
    pub u: XenDomctlPayload,
}
assert_layout!(XenDomctl, size = 144, cmd @ 0, interface_version @ 4, domain @ 8, _pad @ 10,
    u @ XEN_DOMCTL_PAYLOAD_OFFSET);

impl XenDomctl {
    /// A request for `cmd` on `domain` with `payload` (the rest of the
    /// union zeroed) and the current interface version.
    pub fn new<T: DomctlPayload>(cmd: u32, domain: u16, payload: &T) -> Self {
        let mut d = Self::without_payload(cmd, domain);
        d.u.set(payload);
        d
    }
    /// A request for a command without payload (`pausedomain`,
    /// `unpausedomain`, `destroydomain`, ...).
    pub fn without_payload(cmd: u32, domain: u16) -> Self {
        XenDomctl {
            cmd,
            interface_version: XEN_DOMCTL_INTERFACE_VERSION,
            domain,
            _pad: [0; 3],
            u: XenDomctlPayload::default(),
        }
    }
}

/// The union `xen_domctl.u` (storage): 128 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, align(8))]
pub struct XenDomctlPayload {
    /// The union's bytes (`pad`).
    pub raw: [u8; XEN_DOMCTL_PAYLOAD_SIZE],
}
assert_layout!(XenDomctlPayload, size = XEN_DOMCTL_PAYLOAD_SIZE, raw @ 0);
const _: () = assert!(core::mem::align_of::<XenDomctlPayload>() == 8);

impl Default for XenDomctlPayload {
    fn default() -> Self {
        XenDomctlPayload { raw: [0; XEN_DOMCTL_PAYLOAD_SIZE] }
    }
}

impl XenDomctlPayload {
    /// Reads the payload as `T`.
    pub fn get<T: DomctlPayload>(&self) -> T {
        crate::abi::union_get(self)
    }
    /// Makes `v` the payload (the rest of the union is zeroed).
    pub fn set<T: DomctlPayload>(&mut self, v: &T) {
        crate::abi::union_set(self, v)
    }
}

/// A member of the `xen_domctl.u` union.
pub trait DomctlPayload: FromBytes + IntoBytes + Immutable {}

macro_rules! payloads {
    ($($t:ty),* $(,)?) => {
        $(impl DomctlPayload for $t {})*
        $(const _: () = assert!(core::mem::size_of::<$t>() <= XEN_DOMCTL_PAYLOAD_SIZE);)*
    };
}
payloads!(
    XenDomctlCreatedomain,
    XenDomctlGetdomaininfo,
    XenDomctlGetpageframeinfo3,
    XenDomctlVcpuaffinity,
    XenDomctlMaxMem,
    XenDomctlVcpucontext,
    XenDomctlGetvcpuinfo,
    XenDomctlMaxVcpus,
    XenDomctlSetdomainhandle,
    XenDomctlSetdebugging,
    XenDomctlIrqPermission,
    XenDomctlIomemPermission,
    XenDomctlIoportPermission,
    XenDomctlHypercallInit,
    XenDomctlSchedulerOp,
    XenDomctlSettimeoffset,
    XenDomctlAddressSize,
    XenDomctlSetTarget,
    XenDomctlSubscribe,
    XenDomctlSetVirqHandler,
);

// ---- XEN_DOMCTL_createdomain ----------------------------------------------------

/// `_XEN_DOMCTL_CDF_hvm`: bit number of [`XEN_DOMCTL_CDF_hvm`].
pub const _XEN_DOMCTL_CDF_hvm: u32 = 0;
/// An HVM guest (as opposed to a PV guest).
pub const XEN_DOMCTL_CDF_hvm: u32 = 1 << _XEN_DOMCTL_CDF_hvm;
/// `_XEN_DOMCTL_CDF_hap`: bit number of [`XEN_DOMCTL_CDF_hap`].
pub const _XEN_DOMCTL_CDF_hap: u32 = 1;
/// Use hardware-assisted paging if available.
pub const XEN_DOMCTL_CDF_hap: u32 = 1 << _XEN_DOMCTL_CDF_hap;
/// `_XEN_DOMCTL_CDF_s3_integrity`: bit number of [`XEN_DOMCTL_CDF_s3_integrity`].
pub const _XEN_DOMCTL_CDF_s3_integrity: u32 = 2;
/// Verify memory integrity with tboot during Sx.
pub const XEN_DOMCTL_CDF_s3_integrity: u32 = 1 << _XEN_DOMCTL_CDF_s3_integrity;
/// `_XEN_DOMCTL_CDF_oos_off`: bit number of [`XEN_DOMCTL_CDF_oos_off`].
pub const _XEN_DOMCTL_CDF_oos_off: u32 = 3;
/// Disable out-of-sync shadow page tables.
pub const XEN_DOMCTL_CDF_oos_off: u32 = 1 << _XEN_DOMCTL_CDF_oos_off;
/// `_XEN_DOMCTL_CDF_xs_domain`: bit number of [`XEN_DOMCTL_CDF_xs_domain`].
pub const _XEN_DOMCTL_CDF_xs_domain: u32 = 4;
/// A xenstore domain.
pub const XEN_DOMCTL_CDF_xs_domain: u32 = 1 << _XEN_DOMCTL_CDF_xs_domain;
/// `_XEN_DOMCTL_CDF_iommu`: bit number of [`XEN_DOMCTL_CDF_iommu`].
pub const _XEN_DOMCTL_CDF_iommu: u32 = 5;
/// The domain may use the IOMMU.
pub const XEN_DOMCTL_CDF_iommu: u32 = 1 << _XEN_DOMCTL_CDF_iommu;
/// `_XEN_DOMCTL_CDF_nested_virt`: bit number of [`XEN_DOMCTL_CDF_nested_virt`].
pub const _XEN_DOMCTL_CDF_nested_virt: u32 = 6;
/// Nested virtualisation.
pub const XEN_DOMCTL_CDF_nested_virt: u32 = 1 << _XEN_DOMCTL_CDF_nested_virt;
/// Expose the vPMU to the guest.
pub const XEN_DOMCTL_CDF_vpmu: u32 = 1 << 7;
/// The highest `XEN_DOMCTL_CDF_*` flag.
pub const XEN_DOMCTL_CDF_MAX: u32 = XEN_DOMCTL_CDF_vpmu;
/// `_XEN_DOMCTL_IOMMU_no_sharept`: bit number of [`XEN_DOMCTL_IOMMU_no_sharept`].
pub const _XEN_DOMCTL_IOMMU_no_sharept: u32 = 0;
/// Do not share page tables between the CPU and the IOMMU.
pub const XEN_DOMCTL_IOMMU_no_sharept: u32 = 1 << _XEN_DOMCTL_IOMMU_no_sharept;
/// The highest `XEN_DOMCTL_IOMMU_*` flag.
pub const XEN_DOMCTL_IOMMU_MAX: u32 = XEN_DOMCTL_IOMMU_no_sharept;
/// `XEN_DOMCTL_GRANT_version_mask`: the grant version is in the low 4 bits
/// of `grant_opts`.
pub const XEN_DOMCTL_GRANT_version_mask: u32 = 0xf;
/// `XEN_DOMCTL_GRANT_version(v)`.
pub const fn xen_domctl_grant_version(v: u32) -> u32 {
    v & XEN_DOMCTL_GRANT_version_mask
}

/// `struct xen_domctl_createdomain` (`XEN_DOMCTL_createdomain`), all IN.
/// For `max_grant_frames` and `max_maptrack_frames`, < 0 means the
/// hypervisor's default maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlCreatedomain {
    /// Security label (XSM).
    pub ssidref: u32,
    /// The domain's handle (UUID).
    pub handle: XenDomainHandle,
    /// `XEN_DOMCTL_CDF_*`.
    pub flags: u32,
    /// `XEN_DOMCTL_IOMMU_*`.
    pub iommu_opts: u32,
    /// Maximum number of vCPUs.
    pub max_vcpus: u32,
    /// Highest event-channel port.
    pub max_evtchn_port: u32,
    /// Maximum grant-table frames (< 0: default).
    pub max_grant_frames: i32,
    /// Maximum maptrack frames (< 0: default).
    pub max_maptrack_frames: i32,
    /// Grant version in the low 4 bits (`XEN_DOMCTL_GRANT_version`).
    pub grant_opts: u32,
    /// Per-vCPU trace buffer size in bytes (0: disabled).
    pub vmtrace_size: u32,
    /// CPU pool (0 or an existing pool).
    pub cpupool_id: u32,
    /// Arch-specific configuration.
    pub arch: XenArchDomainconfig,
}
assert_layout!(XenDomctlCreatedomain, size = 64, ssidref @ 0, handle @ 4, flags @ 20,
    iommu_opts @ 24, max_vcpus @ 28, max_evtchn_port @ 32, max_grant_frames @ 36,
    max_maptrack_frames @ 40, grant_opts @ 44, vmtrace_size @ 48, cpupool_id @ 52, arch @ 56);

// ---- XEN_DOMCTL_getdomaininfo -----------------------------------------------------

/// `_XEN_DOMINF_dying`: bit number of [`XEN_DOMINF_dying`].
pub const _XEN_DOMINF_dying: u32 = 0;
/// Domain is scheduled to die.
pub const XEN_DOMINF_dying: u32 = 1 << _XEN_DOMINF_dying;
/// `_XEN_DOMINF_hvm_guest`: bit number of [`XEN_DOMINF_hvm_guest`].
pub const _XEN_DOMINF_hvm_guest: u32 = 1;
/// Domain is an HVM guest (as opposed to a PV guest).
pub const XEN_DOMINF_hvm_guest: u32 = 1 << _XEN_DOMINF_hvm_guest;
/// `_XEN_DOMINF_shutdown`: bit number of [`XEN_DOMINF_shutdown`].
pub const _XEN_DOMINF_shutdown: u32 = 2;
/// The guest OS has shut down.
pub const XEN_DOMINF_shutdown: u32 = 1 << _XEN_DOMINF_shutdown;
/// `_XEN_DOMINF_paused`: bit number of [`XEN_DOMINF_paused`].
pub const _XEN_DOMINF_paused: u32 = 3;
/// Currently paused by control software.
pub const XEN_DOMINF_paused: u32 = 1 << _XEN_DOMINF_paused;
/// `_XEN_DOMINF_blocked`: bit number of [`XEN_DOMINF_blocked`].
pub const _XEN_DOMINF_blocked: u32 = 4;
/// Currently blocked pending an event.
pub const XEN_DOMINF_blocked: u32 = 1 << _XEN_DOMINF_blocked;
/// `_XEN_DOMINF_running`: bit number of [`XEN_DOMINF_running`].
pub const _XEN_DOMINF_running: u32 = 5;
/// Domain is currently running.
pub const XEN_DOMINF_running: u32 = 1 << _XEN_DOMINF_running;
/// `_XEN_DOMINF_debugged`: bit number of [`XEN_DOMINF_debugged`].
pub const _XEN_DOMINF_debugged: u32 = 6;
/// Being debugged.
pub const XEN_DOMINF_debugged: u32 = 1 << _XEN_DOMINF_debugged;
/// `_XEN_DOMINF_xs_domain`: bit number of [`XEN_DOMINF_xs_domain`].
pub const _XEN_DOMINF_xs_domain: u32 = 7;
/// Domain is a xenstore domain.
pub const XEN_DOMINF_xs_domain: u32 = 1 << _XEN_DOMINF_xs_domain;
/// `_XEN_DOMINF_hap`: bit number of [`XEN_DOMINF_hap`].
pub const _XEN_DOMINF_hap: u32 = 8;
/// Domain has hardware-assisted paging.
pub const XEN_DOMINF_hap: u32 = 1 << _XEN_DOMINF_hap;
/// Mask of the guest-supplied shutdown code (after shifting).
pub const XEN_DOMINF_shutdownmask: u32 = 255;
/// Position of the shutdown code in `flags`.
pub const XEN_DOMINF_shutdownshift: u32 = 16;
/// `XEN_INVALID_MAX_VCPU_ID`: the domain has no vCPUs.
pub const XEN_INVALID_MAX_VCPU_ID: u32 = !0;

/// `struct xen_domctl_getdomaininfo` (`XEN_DOMCTL_getdomaininfo`, and the
/// entries of `XEN_SYSCTL_getdomaininfolist`), all OUT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlGetdomaininfo {
    /// The domain (also echoed in `xen_domctl.domain`).
    pub domain: u16,
    /// Padding.
    pub pad1: u16,
    /// `XEN_DOMINF_*`, and the shutdown code at `XEN_DOMINF_shutdownshift`.
    pub flags: u32,
    /// Pages allocated.
    pub tot_pages: u64,
    /// Maximum pages.
    pub max_pages: u64,
    /// Outstanding claimed pages.
    pub outstanding_pages: u64,
    /// Shared pages.
    pub shr_pages: u64,
    /// Paged-out pages.
    pub paged_pages: u64,
    /// GMFN of the `shared_info` page.
    pub shared_info_frame: u64,
    /// CPU time used (ns).
    pub cpu_time: u64,
    /// Number of vCPUs currently online.
    pub nr_online_vcpus: u32,
    /// Highest vCPU id in use ([`XEN_INVALID_MAX_VCPU_ID`]: none).
    pub max_vcpu_id: u32,
    /// Security label (XSM).
    pub ssidref: u32,
    /// The domain's handle (UUID).
    pub handle: XenDomainHandle,
    /// CPU pool.
    pub cpupool: u32,
    /// Guest physical address space size (bits).
    pub gpaddr_bits: u8,
    /// Padding.
    pub pad2: [u8; 7],
    /// Arch-specific configuration.
    pub arch_config: XenArchDomainconfig,
}
assert_layout!(XenDomctlGetdomaininfo, size = 112, domain @ 0, pad1 @ 2, flags @ 4,
    tot_pages @ 8, max_pages @ 16, outstanding_pages @ 24, shr_pages @ 32, paged_pages @ 40,
    shared_info_frame @ 48, cpu_time @ 56, nr_online_vcpus @ 64, max_vcpu_id @ 68,
    ssidref @ 72, handle @ 76, cpupool @ 92, gpaddr_bits @ 96, pad2 @ 97, arch_config @ 104);

impl XenDomctlGetdomaininfo {
    /// The guest-supplied shutdown code (`SHUTDOWN_*`), valid with
    /// `XEN_DOMINF_shutdown`.
    pub const fn shutdown_code(&self) -> u32 {
        (self.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask
    }
}

// ---- XEN_DOMCTL_getpageframeinfo3 ---------------------------------------------------

/// `XEN_DOMCTL_PFINFO_LTAB_SHIFT`: position of the type in an entry.
pub const XEN_DOMCTL_PFINFO_LTAB_SHIFT: u32 = 28;
/// Not a page table.
pub const XEN_DOMCTL_PFINFO_NOTAB: u32 = 0x0 << 28;
/// An L1 page table.
pub const XEN_DOMCTL_PFINFO_L1TAB: u32 = 0x1 << 28;
/// An L2 page table.
pub const XEN_DOMCTL_PFINFO_L2TAB: u32 = 0x2 << 28;
/// An L3 page table.
pub const XEN_DOMCTL_PFINFO_L3TAB: u32 = 0x3 << 28;
/// An L4 page table.
pub const XEN_DOMCTL_PFINFO_L4TAB: u32 = 0x4 << 28;
/// Mask of the page-table level.
pub const XEN_DOMCTL_PFINFO_LTABTYPE_MASK: u32 = 0x7 << 28;
/// The page table is pinned.
pub const XEN_DOMCTL_PFINFO_LPINTAB: u32 = 0x1 << 31;
/// Invalid page.
pub const XEN_DOMCTL_PFINFO_XTAB: u32 = 0xf << 28;
/// Allocate-only page.
pub const XEN_DOMCTL_PFINFO_XALLOC: u32 = 0xe << 28;
/// Broken page.
pub const XEN_DOMCTL_PFINFO_BROKEN: u32 = 0xd << 28;
/// Mask of the type bits.
pub const XEN_DOMCTL_PFINFO_LTAB_MASK: u32 = 0xf << 28;

/// `struct xen_domctl_getpageframeinfo3` (`XEN_DOMCTL_getpageframeinfo3`).
/// Both fields may be modified to allow preemption.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlGetpageframeinfo3 {
    /// IN: number of entries.
    pub num: u64,
    /// IN/OUT: guest handle of the `xen_pfn_t` array (frames in,
    /// `XEN_DOMCTL_PFINFO_*` OR'ed in on return).
    pub array: u64,
}
assert_layout!(XenDomctlGetpageframeinfo3, size = 16, num @ 0, array @ 8);

// ---- Other payloads -----------------------------------------------------------------

/// `_XEN_VCPUAFFINITY_HARD`: bit number of [`XEN_VCPUAFFINITY_HARD`].
pub const _XEN_VCPUAFFINITY_HARD: u32 = 0;
/// Set/get the hard affinity.
pub const XEN_VCPUAFFINITY_HARD: u32 = 1 << _XEN_VCPUAFFINITY_HARD;
/// `_XEN_VCPUAFFINITY_SOFT`: bit number of [`XEN_VCPUAFFINITY_SOFT`].
pub const _XEN_VCPUAFFINITY_SOFT: u32 = 1;
/// Set/get the soft affinity.
pub const XEN_VCPUAFFINITY_SOFT: u32 = 1 << _XEN_VCPUAFFINITY_SOFT;
/// `_XEN_VCPUAFFINITY_FORCE`: bit number of [`XEN_VCPUAFFINITY_FORCE`].
pub const _XEN_VCPUAFFINITY_FORCE: u32 = 2;
/// Undo `SCHEDOP_pin_override`.
pub const XEN_VCPUAFFINITY_FORCE: u32 = 1 << _XEN_VCPUAFFINITY_FORCE;

/// `struct xen_domctl_vcpuaffinity` (`XEN_DOMCTL_setvcpuaffinity`,
/// `XEN_DOMCTL_getvcpuaffinity`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlVcpuaffinity {
    /// IN: the vCPU.
    pub vcpu: u32,
    /// IN: `XEN_VCPUAFFINITY_*`.
    pub flags: u32,
    /// IN/OUT: hard affinity (set: OUT the effective one).
    pub cpumap_hard: XenctlBitmap,
    /// IN/OUT: soft affinity (set: OUT the effective one).
    pub cpumap_soft: XenctlBitmap,
}
assert_layout!(XenDomctlVcpuaffinity, size = 40, vcpu @ 0, flags @ 4, cpumap_hard @ 8,
    cpumap_soft @ 24);

/// `struct xen_domctl_max_mem` (`XEN_DOMCTL_max_mem`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlMaxMem {
    /// IN: the limit in KiB.
    pub max_memkb: u64,
}
assert_layout!(XenDomctlMaxMem, size = 8, max_memkb @ 0);

/// `struct xen_domctl_vcpucontext` (`XEN_DOMCTL_setvcpucontext`,
/// `XEN_DOMCTL_getvcpucontext`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlVcpucontext {
    /// IN: the vCPU.
    pub vcpu: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// IN/OUT: guest handle of a `vcpu_guest_context`
    /// ([`crate::abi::arch_x86::VcpuGuestContext`]).
    pub ctxt: u64,
}
assert_layout!(XenDomctlVcpucontext, size = 16, vcpu @ 0, _pad @ 4, ctxt @ 8);

/// `struct xen_domctl_getvcpuinfo` (`XEN_DOMCTL_getvcpuinfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlGetvcpuinfo {
    /// IN: the vCPU.
    pub vcpu: u32,
    /// OUT: currently online (not hotplugged)?
    pub online: u8,
    /// OUT: blocked waiting for an event?
    pub blocked: u8,
    /// OUT: currently scheduled on its CPU?
    pub running: u8,
    /// Padding (implicit in C).
    pub _pad0: u8,
    /// OUT: total CPU time consumed (ns).
    pub cpu_time: u64,
    /// OUT: current physical CPU.
    pub cpu: u32,
    /// Padding (implicit in C).
    pub _pad1: u32,
}
assert_layout!(XenDomctlGetvcpuinfo, size = 24, vcpu @ 0, online @ 4, blocked @ 5, running @ 6,
    _pad0 @ 7, cpu_time @ 8, cpu @ 16, _pad1 @ 20);

/// `struct xen_domctl_max_vcpus` (`XEN_DOMCTL_max_vcpus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlMaxVcpus {
    /// Maximum number of vCPUs.
    pub max: u32,
}
assert_layout!(XenDomctlMaxVcpus, size = 4, max @ 0);

/// `struct xen_domctl_setdomainhandle` (`XEN_DOMCTL_setdomainhandle`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSetdomainhandle {
    /// The handle (UUID).
    pub handle: XenDomainHandle,
}
assert_layout!(XenDomctlSetdomainhandle, size = 16, handle @ 0);

/// `struct xen_domctl_setdebugging` (`XEN_DOMCTL_setdebugging`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSetdebugging {
    /// Non-zero enables debugging.
    pub enable: u8,
}
assert_layout!(XenDomctlSetdebugging, size = 1, enable @ 0);

/// `struct xen_domctl_irq_permission` (`XEN_DOMCTL_irq_permission`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlIrqPermission {
    /// The PIRQ.
    pub pirq: u32,
    /// Allow (non-zero) or deny access.
    pub allow_access: u8,
    /// Padding.
    pub pad: [u8; 3],
}
assert_layout!(XenDomctlIrqPermission, size = 8, pirq @ 0, allow_access @ 4, pad @ 5);

/// `struct xen_domctl_iomem_permission` (`XEN_DOMCTL_iomem_permission`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlIomemPermission {
    /// First frame (physical page number) of the range.
    pub first_mfn: u64,
    /// Number of frames in the range (> 0).
    pub nr_mfns: u64,
    /// Allow (non-zero) or deny access.
    pub allow_access: u8,
    /// Padding (implicit in C).
    pub _pad: [u8; 7],
}
assert_layout!(XenDomctlIomemPermission, size = 24, first_mfn @ 0, nr_mfns @ 8,
    allow_access @ 16, _pad @ 17);

/// `struct xen_domctl_ioport_permission` (`XEN_DOMCTL_ioport_permission`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlIoportPermission {
    /// First port of the range.
    pub first_port: u32,
    /// Number of ports.
    pub nr_ports: u32,
    /// Allow (non-zero) or deny access.
    pub allow_access: u8,
    /// Padding (implicit in C).
    pub _pad: [u8; 3],
}
assert_layout!(XenDomctlIoportPermission, size = 12, first_port @ 0, nr_ports @ 4,
    allow_access @ 8, _pad @ 9);

/// `struct xen_domctl_hypercall_init` (`XEN_DOMCTL_hypercall_init`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlHypercallInit {
    /// GMFN to be initialised as the hypercall page.
    pub gmfn: u64,
}
assert_layout!(XenDomctlHypercallInit, size = 8, gmfn @ 0);

/// `XEN_SCHEDULER_CREDIT`.
pub const XEN_SCHEDULER_CREDIT: u32 = 5;
/// `XEN_SCHEDULER_CREDIT2`.
pub const XEN_SCHEDULER_CREDIT2: u32 = 6;
/// `XEN_DOMCTL_SCHEDOP_putinfo`: set the domain's parameters.
pub const XEN_DOMCTL_SCHEDOP_putinfo: u32 = 0;
/// `XEN_DOMCTL_SCHEDOP_getinfo`: get them.
pub const XEN_DOMCTL_SCHEDOP_getinfo: u32 = 1;

/// `struct xen_domctl_sched_credit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSchedCredit {
    /// Relative weight.
    pub weight: u16,
    /// Cap, percent of one CPU (0: none).
    pub cap: u16,
}
assert_layout!(XenDomctlSchedCredit, size = 4, weight @ 0, cap @ 2);

/// `struct xen_domctl_scheduler_op` (`XEN_DOMCTL_scheduler_op`). The
/// union `u` (credit, credit2, rtds, per-vCPU list) is 16 bytes of storage;
/// [`XenDomctlSchedulerOp::credit`] reads the credit member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSchedulerOp {
    /// `XEN_SCHEDULER_*`.
    pub sched_id: u32,
    /// `XEN_DOMCTL_SCHEDOP_*`.
    pub cmd: u32,
    /// The parameter union.
    pub u: [u64; 2],
}
assert_layout!(XenDomctlSchedulerOp, size = 24, sched_id @ 0, cmd @ 4, u @ 8);

impl XenDomctlSchedulerOp {
    /// `u.credit` (also `u.credit2`, which has the same layout).
    pub fn credit(&self) -> XenDomctlSchedCredit {
        let w = self.u[0];
        XenDomctlSchedCredit { weight: w as u16, cap: (w >> 16) as u16 }
    }
    /// Makes `u.credit` the active member.
    pub fn set_credit(&mut self, c: XenDomctlSchedCredit) {
        self.u = [c.weight as u64 | (c.cap as u64) << 16, 0];
    }
}

/// `struct xen_domctl_settimeoffset` (`XEN_DOMCTL_settimeoffset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSettimeoffset {
    /// Applied to the domain's wallclock time.
    pub time_offset_seconds: i64,
}
assert_layout!(XenDomctlSettimeoffset, size = 8, time_offset_seconds @ 0);

/// `struct xen_domctl_address_size` (`XEN_DOMCTL_set_address_size`,
/// `XEN_DOMCTL_get_address_size`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlAddressSize {
    /// Address size in bits (64 for a 64-bit PV guest).
    pub size: u32,
}
assert_layout!(XenDomctlAddressSize, size = 4, size @ 0);

/// `struct xen_domctl_set_target` (`XEN_DOMCTL_set_target`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSetTarget {
    /// The domain this one gets privilege over.
    pub target: u16,
}
assert_layout!(XenDomctlSetTarget, size = 2, target @ 0);

/// `struct xen_domctl_subscribe` (`XEN_DOMCTL_subscribe`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSubscribe {
    /// IN: port notified of the domain's state changes.
    pub port: u32,
}
assert_layout!(XenDomctlSubscribe, size = 4, port @ 0);

/// `struct xen_domctl_set_virq_handler` (`XEN_DOMCTL_set_virq_handler`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenDomctlSetVirqHandler {
    /// IN: the global VIRQ.
    pub virq: u32,
}
assert_layout!(XenDomctlSetVirqHandler, size = 4, virq @ 0);
