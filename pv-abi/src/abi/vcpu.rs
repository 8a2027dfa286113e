//! `vcpu.h`: `vcpu_op` sub-commands (`VCPUOP_*`) and their arguments.
//!
//! The hypercall is `vcpu_op(cmd, vcpuid, extra_args)`: `cmd` is a
//! `VCPUOP_*`, `vcpuid` the vCPU to operate on, `extra_args` the
//! operation-specific argument (NULL if none).
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Initialise a vCPU (once); argument: a `vcpu_guest_context` for PV
/// ([`crate::abi::arch_x86::VcpuGuestContext`]). It runs after `VCPUOP_up`.
pub const VCPUOP_initialise: u32 = 0;
/// Make an initialised vCPU runnable; no argument.
pub const VCPUOP_up: u32 = 1;
/// Make a vCPU non-runnable (asynchronous unless called by itself).
pub const VCPUOP_down: u32 = 2;
/// Returns 1 if the vCPU is up.
pub const VCPUOP_is_up: u32 = 3;
/// State and running time of a vCPU; [`VcpuRunstateInfo`].
pub const VCPUOP_get_runstate_info: u32 = 4;
/// Register a shared [`VcpuRunstateInfo`] area;
/// [`VcpuRegisterRunstateMemoryArea`].
pub const VCPUOP_register_runstate_memory_area: u32 = 5;
/// Set the periodic timer; [`VcpuSetPeriodicTimer`].
pub const VCPUOP_set_periodic_timer: u32 = 6;
/// Stop the periodic timer; no argument.
pub const VCPUOP_stop_periodic_timer: u32 = 7;
/// Set the single-shot timer; [`VcpuSetSingleshotTimer`].
pub const VCPUOP_set_singleshot_timer: u32 = 8;
/// Stop the single-shot timer; no argument.
pub const VCPUOP_stop_singleshot_timer: u32 = 9;
/// Place the `vcpu_info` in guest memory (once); [`VcpuRegisterVcpuInfo`].
pub const VCPUOP_register_vcpu_info: u32 = 10;
/// Send an NMI to the vCPU; no argument.
pub const VCPUOP_send_nmi: u32 = 11;
/// Physical ids of a pinned vCPU's processor; [`VcpuGetPhysid`].
pub const VCPUOP_get_physid: u32 = 12;
/// Register a secondary `vcpu_time_info` copy;
/// [`VcpuRegisterTimeMemoryArea`].
pub const VCPUOP_register_vcpu_time_memory_area: u32 = 13;

/// `struct vcpu_runstate_info`: state and running time of a vCPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuRunstateInfo {
    /// The vCPU's current state (`RUNSTATE_*`).
    pub state: i32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// When the current state was entered (system time, ns); bit 63 is
    /// [`XEN_RUNSTATE_UPDATE`] while an update is in progress.
    pub state_entry_time: u64,
    /// Time spent in each `RUNSTATE_*` (ns); the sum does not drift from
    /// system time.
    pub time: [u64; 4],
}
assert_layout!(VcpuRunstateInfo, size = 48, state @ 0, _pad @ 4, state_entry_time @ 8, time @ 16);

/// `XEN_RUNSTATE_UPDATE`: set in `state_entry_time` while the guest copy
/// is updated (with `VMASST_TYPE_runstate_update_flag`).
pub const XEN_RUNSTATE_UPDATE: u64 = 1 << 63;

/// The vCPU is running on a physical CPU.
pub const RUNSTATE_running: i32 = 0;
/// The vCPU is runnable but not scheduled.
pub const RUNSTATE_runnable: i32 = 1;
/// The vCPU is blocked (idle), not runnable.
pub const RUNSTATE_blocked: i32 = 2;
/// The vCPU is neither runnable nor blocked (hotplug, pause, ...).
pub const RUNSTATE_offline: i32 = 3;

/// `struct vcpu_register_runstate_memory_area`
/// (`VCPUOP_register_runstate_memory_area`): the area is updated each time
/// the vCPU is scheduled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuRegisterRunstateMemoryArea {
    /// Union `addr`: guest handle `h`, virtual address `v` or `p`; on x86 a
    /// virtual address.
    pub addr: u64,
}
assert_layout!(VcpuRegisterRunstateMemoryArea, size = 8, addr @ 0);

/// `struct vcpu_set_periodic_timer` (`VCPUOP_set_periodic_timer`). Periods
/// below 1 ms may not be supported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuSetPeriodicTimer {
    /// Period in nanoseconds.
    pub period_ns: u64,
}
assert_layout!(VcpuSetPeriodicTimer, size = 8, period_ns @ 0);

/// `struct vcpu_set_singleshot_timer` (`VCPUOP_set_singleshot_timer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuSetSingleshotTimer {
    /// Absolute system time value in nanoseconds.
    pub timeout_abs_ns: u64,
    /// `VCPU_SSHOTTMR_*`.
    pub flags: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
}
assert_layout!(VcpuSetSingleshotTimer, size = 16, timeout_abs_ns @ 0, flags @ 8, _pad @ 12);

/// `_VCPU_SSHOTTMR_future`: bit number of [`VCPU_SSHOTTMR_future`].
pub const _VCPU_SSHOTTMR_future: u32 = 0;
/// Request the timeout to be in the future (`-ETIME` if it has passed);
/// may be ignored by the hypervisor.
pub const VCPU_SSHOTTMR_future: u32 = 1 << _VCPU_SSHOTTMR_future;

/// `struct vcpu_register_vcpu_info` (`VCPUOP_register_vcpu_info`): the
/// `vcpu_info` need not be page aligned but must not cross a page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuRegisterVcpuInfo {
    /// MFN of the page to place the `vcpu_info` in.
    pub mfn: u64,
    /// Offset within the page.
    pub offset: u32,
    /// Unused.
    pub rsvd: u32,
}
assert_layout!(VcpuRegisterVcpuInfo, size = 16, mfn @ 0, offset @ 8, rsvd @ 12);

/// `struct vcpu_get_physid` (`VCPUOP_get_physid`). On x86:
/// `phys_id[31:0]` = APIC id, `phys_id[63:32]` = ACPI id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuGetPhysid {
    /// OUT: the physical id.
    pub phys_id: u64,
}
assert_layout!(VcpuGetPhysid, size = 8, phys_id @ 0);

/// `xen_vcpu_physid_to_x86_apicid`.
pub const fn xen_vcpu_physid_to_x86_apicid(physid: u64) -> u32 {
    physid as u32
}
/// `xen_vcpu_physid_to_x86_acpiid`.
pub const fn xen_vcpu_physid_to_x86_acpiid(physid: u64) -> u32 {
    (physid >> 32) as u32
}

/// `struct vcpu_register_time_memory_area`
/// (`VCPUOP_register_vcpu_time_memory_area`): a secondary copy of the
/// vCPU's `vcpu_time_info`, updated with the master copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuRegisterTimeMemoryArea {
    /// Union `addr`: guest handle `h`, virtual address `v` or `p`.
    pub addr: u64,
}
assert_layout!(VcpuRegisterTimeMemoryArea, size = 8, addr @ 0);
