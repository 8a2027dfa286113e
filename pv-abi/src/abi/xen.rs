//! `xen.h`: hypercall numbers, the start-of-day structures (`start_info`,
//! `shared_info`, `vcpu_info`, `vcpu_time_info`), MMU update requests,
//! multicalls, console I/O, VM assists and reserved domain ids.
#![allow(non_upper_case_globals)]

use crate::abi::arch_x86::{ArchSharedInfo, ArchVcpuInfo, XEN_LEGACY_MAX_VCPUS};
use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

// ---- Hypercall numbers (`__HYPERVISOR_*`) --------------------------------

macro_rules! hypercalls {
    ($($name:ident = $nr:expr;)*) => {
        $(#[doc = concat!("`__HYPERVISOR_", stringify!($name), "`")]
          pub const $name: u32 = $nr;)*

        /// The name of hypercall `nr`, for logs.
        pub const fn hypercall_name(nr: u64) -> Option<&'static str> {
            $(if nr == $nr as u64 { return Some(stringify!($name)); })*
            None
        }
    };
}

/// Hypercall numbers, each mirroring `__HYPERVISOR_<name>`.
pub mod hypercall {
    hypercalls! {
        set_trap_table = 0;
        mmu_update = 1;
        set_gdt = 2;
        stack_switch = 3;
        set_callbacks = 4;
        fpu_taskswitch = 5;
        sched_op_compat = 6;
        platform_op = 7;
        set_debugreg = 8;
        get_debugreg = 9;
        update_descriptor = 10;
        memory_op = 12;
        multicall = 13;
        update_va_mapping = 14;
        set_timer_op = 15;
        event_channel_op_compat = 16;
        xen_version = 17;
        console_io = 18;
        physdev_op_compat = 19;
        grant_table_op = 20;
        vm_assist = 21;
        update_va_mapping_otherdomain = 22;
        iret = 23;
        vcpu_op = 24;
        set_segment_base = 25;
        mmuext_op = 26;
        xsm_op = 27;
        nmi_op = 28;
        sched_op = 29;
        callback_op = 30;
        xenoprof_op = 31;
        event_channel_op = 32;
        physdev_op = 33;
        hvm_op = 34;
        sysctl = 35;
        domctl = 36;
        kexec_op = 37;
        tmem_op = 38;
        argo_op = 39;
        xenpmu_op = 40;
        dm_op = 41;
        hypfs_op = 42;
        arch_0 = 48;
        arch_1 = 49;
        arch_2 = 50;
        arch_3 = 51;
        arch_4 = 52;
        arch_5 = 53;
        arch_6 = 54;
        arch_7 = 55;
    }
    /// Size of a hypercall-page slot: hypercall `nr` starts at `nr * 32`.
    pub const STUB_SIZE: usize = 32;
    /// Number of slots in the hypercall page.
    pub const NR_SLOTS: usize = 4096 / STUB_SIZE;
}

// ---- VIRQs (`VIRQ_*`) ----------------------------------------------------

/// System timer tick, per vCPU.
pub const VIRQ_TIMER: u32 = 0;
/// Debug interrupt (dom0 `xl debug-keys`).
pub const VIRQ_DEBUG: u32 = 1;
/// Console input/output for dom0.
pub const VIRQ_CONSOLE: u32 = 2;
/// A domain was destroyed (dom0).
pub const VIRQ_DOM_EXC: u32 = 3;
/// Trace buffer.
pub const VIRQ_TBUF: u32 = 4;
/// Debugger.
pub const VIRQ_DEBUGGER: u32 = 6;
/// Xenoprof.
pub const VIRQ_XENOPROF: u32 = 7;
/// Console ring (dom0).
pub const VIRQ_CON_RING: u32 = 8;
/// PCPU state change (dom0).
pub const VIRQ_PCPU_STATE: u32 = 9;
/// MCE (dom0).
pub const VIRQ_MEM_EVENT: u32 = 10;
/// Argo.
pub const VIRQ_ARGO: u32 = 11;
/// Enomem.
pub const VIRQ_ENOMEM: u32 = 12;
/// Xenpmu.
pub const VIRQ_XENPMU: u32 = 13;
/// Number of VIRQs.
pub const NR_VIRQS: u32 = 24;

// ---- MMU update requests -------------------------------------------------

/// `*ptr = val`, checked; `ptr` is the machine address of the PTE.
pub const MMU_NORMAL_PT_UPDATE: u32 = 0;
/// `ptr` = machine address of the frame whose M2P entry becomes `val`.
pub const MMU_MACHPHYS_UPDATE: u32 = 1;
/// Atomically `*ptr = val | (*ptr & (A|D))`.
pub const MMU_PT_UPDATE_PRESERVE_AD: u32 = 2;
/// As NORMAL, with `ptr` not translated (HVM).
pub const MMU_PT_UPDATE_NO_TRANSLATE: u32 = 3;

/// One `mmu_update` request (`struct mmu_update`). The low 2 bits of `ptr`
/// hold the command (`MMU_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MmuUpdate {
    /// Machine address of the PTE, or'ed with the command.
    pub ptr: u64,
    /// New contents of the PTE.
    pub val: u64,
}
assert_layout!(MmuUpdate, size = 16, ptr @ 0, val @ 8);

/// `MMUEXT_PIN_L1_TABLE`
pub const MMUEXT_PIN_L1_TABLE: u32 = 0;
/// `MMUEXT_PIN_L2_TABLE`
pub const MMUEXT_PIN_L2_TABLE: u32 = 1;
/// `MMUEXT_PIN_L3_TABLE`
pub const MMUEXT_PIN_L3_TABLE: u32 = 2;
/// `MMUEXT_PIN_L4_TABLE`
pub const MMUEXT_PIN_L4_TABLE: u32 = 3;
/// `MMUEXT_UNPIN_TABLE`
pub const MMUEXT_UNPIN_TABLE: u32 = 4;
/// `MMUEXT_NEW_BASEPTR`
pub const MMUEXT_NEW_BASEPTR: u32 = 5;
/// `MMUEXT_TLB_FLUSH_LOCAL`
pub const MMUEXT_TLB_FLUSH_LOCAL: u32 = 6;
/// `MMUEXT_INVLPG_LOCAL`
pub const MMUEXT_INVLPG_LOCAL: u32 = 7;
/// `MMUEXT_TLB_FLUSH_MULTI`
pub const MMUEXT_TLB_FLUSH_MULTI: u32 = 8;
/// `MMUEXT_INVLPG_MULTI`
pub const MMUEXT_INVLPG_MULTI: u32 = 9;
/// `MMUEXT_TLB_FLUSH_ALL`
pub const MMUEXT_TLB_FLUSH_ALL: u32 = 10;
/// `MMUEXT_INVLPG_ALL`
pub const MMUEXT_INVLPG_ALL: u32 = 11;
/// `MMUEXT_FLUSH_CACHE`
pub const MMUEXT_FLUSH_CACHE: u32 = 12;
/// `MMUEXT_SET_LDT`
pub const MMUEXT_SET_LDT: u32 = 13;
/// `MMUEXT_NEW_USER_BASEPTR`
pub const MMUEXT_NEW_USER_BASEPTR: u32 = 15;
/// `MMUEXT_CLEAR_PAGE`
pub const MMUEXT_CLEAR_PAGE: u32 = 16;
/// `MMUEXT_COPY_PAGE`
pub const MMUEXT_COPY_PAGE: u32 = 17;
/// `MMUEXT_FLUSH_CACHE_GLOBAL`
pub const MMUEXT_FLUSH_CACHE_GLOBAL: u32 = 18;
/// `MMUEXT_MARK_SUPER`
pub const MMUEXT_MARK_SUPER: u32 = 19;
/// `MMUEXT_UNMARK_SUPER`
pub const MMUEXT_UNMARK_SUPER: u32 = 20;

/// One extended MMU operation (`struct mmuext_op`). `arg1` is an MFN or a
/// linear address; `arg2` is `nr_ents`, a vCPU-mask pointer or `src_mfn`,
/// depending on `cmd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MmuextOp {
    /// `MMUEXT_*`.
    pub cmd: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// `mfn` or `linear_addr`.
    pub arg1: u64,
    /// `nr_ents`, `vcpumask` or `src_mfn`.
    pub arg2: u64,
}
assert_layout!(MmuextOp, size = 24, cmd @ 0, arg1 @ 8, arg2 @ 16);

/// `update_va_mapping` flags: no flush.
pub const UVMF_NONE: u64 = 0;
/// Flush the entire TLB(s).
pub const UVMF_TLB_FLUSH: u64 = 1;
/// Flush only the one entry.
pub const UVMF_INVLPG: u64 = 2;
/// Mask of the flush type.
pub const UVMF_FLUSHTYPE_MASK: u64 = 3;
/// Flush a subset of TLBs (OR in a pointer to a vCPU bitmap).
pub const UVMF_MULTI: u64 = 0;
/// Flush the local TLB.
pub const UVMF_LOCAL: u64 = 0;
/// Flush all TLBs.
pub const UVMF_ALL: u64 = 1 << 2;

// ---- console_io ----------------------------------------------------------

/// `CONSOLEIO_write`: write `count` bytes from `buffer`.
pub const CONSOLEIO_write: u32 = 0;
/// `CONSOLEIO_read`: read up to `count` bytes (dom0).
pub const CONSOLEIO_read: u32 = 1;

// ---- vm_assist ----------------------------------------------------------

/// `VMASST_CMD_enable`
pub const VMASST_CMD_enable: u32 = 0;
/// `VMASST_CMD_disable`
pub const VMASST_CMD_disable: u32 = 1;
/// `VMASST_TYPE_4gb_segments` (32-bit only)
pub const VMASST_TYPE_4gb_segments: u32 = 0;
/// `VMASST_TYPE_4gb_segments_notify` (32-bit only)
pub const VMASST_TYPE_4gb_segments_notify: u32 = 1;
/// `VMASST_TYPE_writable_pagetables`
pub const VMASST_TYPE_writable_pagetables: u32 = 2;
/// `VMASST_TYPE_pae_extended_cr3`
pub const VMASST_TYPE_pae_extended_cr3: u32 = 3;
/// `VMASST_TYPE_architectural_iopl`
pub const VMASST_TYPE_architectural_iopl: u32 = 4;
/// `VMASST_TYPE_runstate_update_flag`
pub const VMASST_TYPE_runstate_update_flag: u32 = 5;
/// `VMASST_TYPE_m2p_strict`
pub const VMASST_TYPE_m2p_strict: u32 = 32;

// ---- Domain ids -----------------------------------------------------------

/// First reserved domain id.
pub const DOMID_FIRST_RESERVED: u16 = 0x7FF0;
/// The calling domain.
pub const DOMID_SELF: u16 = 0x7FF0;
/// Owner of I/O memory.
pub const DOMID_IO: u16 = 0x7FF1;
/// Owner of hypervisor pages shared with guests.
pub const DOMID_XEN: u16 = 0x7FF2;
/// Copy-on-write pages.
pub const DOMID_COW: u16 = 0x7FF3;
/// Invalid domain id.
pub const DOMID_INVALID: u16 = 0x7FF4;
/// The idle domain.
pub const DOMID_IDLE: u16 = 0x7FFF;
/// Mask of valid domain-id bits.
pub const DOMID_MASK: u16 = 0x7FFF;

// ---- multicall ----------------------------------------------------------

/// One entry of a `multicall` batch (`struct multicall_entry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MulticallEntry {
    /// Hypercall number.
    pub op: u64,
    /// OUT: the hypercall's return value.
    pub result: u64,
    /// Up to six arguments.
    pub args: [u64; 6],
}
assert_layout!(MulticallEntry, size = 64, op @ 0, result @ 8, args @ 16);

// ---- Time ---------------------------------------------------------------

/// `struct vcpu_time_info`: the per-vCPU pvclock. Current system time is
/// `system_time + ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)`,
/// read between two equal, even values of `version`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuTimeInfo {
    /// Odd while an update is in progress.
    pub version: u32,
    /// Padding.
    pub pad0: u32,
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// Nanoseconds since boot at `tsc_timestamp`.
    pub system_time: u64,
    /// TSC-to-ns multiplier (32.32 fixed point).
    pub tsc_to_system_mul: u32,
    /// Shift applied to the TSC delta before multiplying.
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` flags.
    pub flags: u8,
    /// Padding.
    pub pad1: [u8; 2],
}
assert_layout!(VcpuTimeInfo, size = 32, version @ 0, tsc_timestamp @ 8, system_time @ 16,
    tsc_to_system_mul @ 24, tsc_shift @ 28, flags @ 29);

/// `XEN_PVCLOCK_TSC_STABLE_BIT`: the TSC is synchronised across vCPUs.
pub const XEN_PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// `XEN_PVCLOCK_GUEST_STOPPED`.
pub const XEN_PVCLOCK_GUEST_STOPPED: u8 = 1 << 1;

/// `struct vcpu_info`: per-vCPU event state, arch state and pvclock
/// (64 bytes; 32 of them at the start of `shared_info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuInfo {
    /// Written non-zero by the hypervisor to flag a pending upcall.
    pub evtchn_upcall_pending: u8,
    /// Non-zero masks upcalls (the guest's virtual interrupt flag).
    pub evtchn_upcall_mask: u8,
    /// Padding.
    pub _pad: [u8; 6],
    /// Selector: bit N set means word N of `evtchn_pending` may have work.
    pub evtchn_pending_sel: u64,
    /// Arch state (`cr2`).
    pub arch: ArchVcpuInfo,
    /// pvclock.
    pub time: VcpuTimeInfo,
}
assert_layout!(VcpuInfo, size = 64, evtchn_upcall_pending @ 0, evtchn_upcall_mask @ 1,
    evtchn_pending_sel @ 8, arch @ 16, time @ 32);

/// Number of 2-level event channels on 64-bit (`EVTCHN_2L_NR_CHANNELS`).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;

/// `struct shared_info`: the page every domain shares with the hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SharedInfo {
    /// Legacy per-vCPU info for vCPUs 0..32.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// 2-level event-channel pending bits.
    pub evtchn_pending: [u64; 64],
    /// 2-level event-channel mask bits.
    pub evtchn_mask: [u64; 64],
    /// Wallclock version (same protocol as `VcpuTimeInfo::version`).
    pub wc_version: u32,
    /// Wallclock seconds at system time 0 (low 32 bits).
    pub wc_sec: u32,
    /// Wallclock nanoseconds.
    pub wc_nsec: u32,
    /// Wallclock seconds, high 32 bits.
    pub wc_sec_hi: u32,
    /// Arch part (P2M frame list for save/restore).
    pub arch: ArchSharedInfo,
}
assert_layout!(SharedInfo, size = 3136, vcpu_info @ 0, evtchn_pending @ 2048,
    evtchn_mask @ 2560, wc_version @ 3072, wc_sec @ 3076, wc_nsec @ 3080,
    wc_sec_hi @ 3084, arch @ 3088);

// ---- start_info ----------------------------------------------------------

/// Is the domain privileged?
pub const SIF_PRIVILEGED: u32 = 1 << 0;
/// Is this the initial control domain?
pub const SIF_INITDOMAIN: u32 = 1 << 1;
/// Is `mod_start` a multiboot module list?
pub const SIF_MULTIBOOT_MOD: u32 = 1 << 2;
/// Is `mod_start` a PFN?
pub const SIF_MOD_START_PFN: u32 = 1 << 3;
/// Do the tools understand a virtually mapped P2M?
pub const SIF_VIRT_P2M_4TOOLS: u32 = 1 << 4;
/// Reserved for xen-pm options.
pub const SIF_PM_MASK: u32 = 0xFF << 8;

/// Length of `start_info.cmd_line`.
pub const MAX_GUEST_CMDLINE: usize = 1024;

/// `struct start_info`: what the domain builder tells a PV kernel at entry
/// (`%rsi` points at it). 1168 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct StartInfo {
    /// `"xen-<version>-<platform>"`, e.g. `"xen-3.0-x86_64"`.
    pub magic: [u8; 32],
    /// Total pages allocated to this domain.
    pub nr_pages: u64,
    /// MACHINE address of the shared-info page.
    pub shared_info: u64,
    /// `SIF_*`.
    pub flags: u32,
    /// Padding.
    pub _pad0: u32,
    /// MACHINE frame of the xenstore ring page.
    pub store_mfn: u64,
    /// Event channel for xenstore.
    pub store_evtchn: u32,
    /// Padding.
    pub _pad1: u32,
    /// Console: `domU.mfn`/`domU.evtchn`, or `dom0.info_off`/`info_size`.
    pub console: StartInfoConsole,
    /// VIRTUAL address of the top-level page table.
    pub pt_base: u64,
    /// Number of bootstrap page-table frames.
    pub nr_pt_frames: u64,
    /// VIRTUAL address of the page-frame (P2M) list.
    pub mfn_list: u64,
    /// VIRTUAL address (or PFN, with `SIF_MOD_START_PFN`) of the module.
    pub mod_start: u64,
    /// Size in bytes of the module.
    pub mod_len: u64,
    /// NUL-terminated kernel command line.
    pub cmd_line: [u8; MAX_GUEST_CMDLINE],
    /// First PFN of the initial P2M table (with `INIT_P2M`).
    pub first_p2m_pfn: u64,
    /// Number of PFNs of the initial P2M table.
    pub nr_p2m_frames: u64,
}
assert_layout!(StartInfo, size = 1168, magic @ 0, nr_pages @ 32, shared_info @ 40,
    flags @ 48, store_mfn @ 56, store_evtchn @ 64, console @ 72, pt_base @ 88,
    nr_pt_frames @ 96, mfn_list @ 104, mod_start @ 112, mod_len @ 120,
    cmd_line @ 128, first_p2m_pfn @ 1152, nr_p2m_frames @ 1160);

/// The `console` union of `start_info`: for a domU `{mfn: u64, evtchn: u32}`,
/// for dom0 `{info_off: u32, info_size: u32}` in the first 8 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct StartInfoConsole {
    /// domU: MACHINE frame of the console ring. dom0: `info_off | info_size << 32`.
    pub mfn: u64,
    /// domU: event channel of the console ring.
    pub evtchn: u32,
    /// Padding.
    pub _pad: u32,
}
assert_layout!(StartInfoConsole, size = 16, mfn @ 0, evtchn @ 8);

impl StartInfoConsole {
    /// dom0 view: offset of the `dom0_vga_console_info` in start_info.
    pub const fn info_off(&self) -> u32 {
        self.mfn as u32
    }
    /// dom0 view: size of the `dom0_vga_console_info`.
    pub const fn info_size(&self) -> u32 {
        (self.mfn >> 32) as u32
    }
}

impl StartInfo {
    /// The magic string up to its NUL.
    pub fn magic_str(&self) -> &str {
        cstr(&self.magic)
    }
    /// The command line up to its NUL (lossy: stops at invalid UTF-8).
    pub fn cmdline(&self) -> &str {
        cstr(&self.cmd_line)
    }
}

/// A NUL-terminated byte buffer as `&str` (up to the first NUL or invalid byte).
pub fn cstr(b: &[u8]) -> &str {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    match core::str::from_utf8(&b[..end]) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
    }
}
