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
// V. = per-vCPU VIRQ, G. = global VIRQ (bound on vCPU 0, may be re-bound).

/// V. Timebase update, and/or requested timeout.
pub const VIRQ_TIMER: u32 = 0;
/// V. Request guest to dump debug info.
pub const VIRQ_DEBUG: u32 = 1;
/// G. (DOM0) Bytes received on emergency console.
pub const VIRQ_CONSOLE: u32 = 2;
/// G. (DOM0) Exceptional event for some domain.
pub const VIRQ_DOM_EXC: u32 = 3;
/// G. (DOM0) Trace buffer has records available.
pub const VIRQ_TBUF: u32 = 4;
/// G. (DOM0) A domain has paused for debugging.
pub const VIRQ_DEBUGGER: u32 = 6;
/// V. XenOprofile interrupt: new sample available.
pub const VIRQ_XENOPROF: u32 = 7;
/// G. (DOM0) Bytes received on console.
pub const VIRQ_CON_RING: u32 = 8;
/// G. (DOM0) PCPU state changed.
pub const VIRQ_PCPU_STATE: u32 = 9;
/// G. (DOM0) A memory event has occurred.
pub const VIRQ_MEM_EVENT: u32 = 10;
/// G. Argo interdomain message notification.
pub const VIRQ_ARGO: u32 = 11;
/// G. (DOM0) Low on heap memory.
pub const VIRQ_ENOMEM: u32 = 12;
/// V. PMC interrupt.
pub const VIRQ_XENPMU: u32 = 13;
/// Architecture-specific VIRQ 0 (x86: `VIRQ_MCA`).
pub const VIRQ_ARCH_0: u32 = 16;
/// Architecture-specific VIRQ 1.
pub const VIRQ_ARCH_1: u32 = 17;
/// Architecture-specific VIRQ 2.
pub const VIRQ_ARCH_2: u32 = 18;
/// Architecture-specific VIRQ 3.
pub const VIRQ_ARCH_3: u32 = 19;
/// Architecture-specific VIRQ 4.
pub const VIRQ_ARCH_4: u32 = 20;
/// Architecture-specific VIRQ 5.
pub const VIRQ_ARCH_5: u32 = 21;
/// Architecture-specific VIRQ 6.
pub const VIRQ_ARCH_6: u32 = 22;
/// Architecture-specific VIRQ 7.
pub const VIRQ_ARCH_7: u32 = 23;
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
    /// Union `arg1`: `mfn` (`[UN]PIN_TABLE`, NEW_BASEPTR, NEW_USER_BASEPTR,
    /// CLEAR_PAGE, COPY_PAGE, `[UN]MARK_SUPER`) or `linear_addr`
    /// (INVLPG_LOCAL, INVLPG_ALL, SET_LDT).
    pub arg1: u64,
    /// Union `arg2`: `nr_ents` (SET_LDT, low 32 bits), `vcpumask` guest
    /// handle (TLB_FLUSH_MULTI, INVLPG_MULTI) or `src_mfn` (COPY_PAGE).
    pub arg2: u64,
}
assert_layout!(MmuextOp, size = 24, cmd @ 0, _pad @ 4, arg1 @ 8, arg2 @ 16);

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

// ---- Multiboot module list (dom0 with SIF_MULTIBOOT_MOD) -------------------

/// `struct xen_multiboot_mod_list`: one module when `start_info.flags` has
/// [`SIF_MULTIBOOT_MOD`] (an array of these at `mod_start`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMultibootModList {
    /// Address of first byte of the module.
    pub mod_start: u32,
    /// Address of last byte of the module (inclusive).
    pub mod_end: u32,
    /// Address of zero-terminated command line.
    pub cmdline: u32,
    /// Unused, must be zero.
    pub pad: u32,
}
assert_layout!(XenMultibootModList, size = 16, mod_start @ 0, mod_end @ 4, cmdline @ 8, pad @ 12);

// ---- dom0 console info ---------------------------------------------------------

/// `XEN_VGATYPE_TEXT_MODE_3`: VGA text mode 3.
pub const XEN_VGATYPE_TEXT_MODE_3: u8 = 0x03;
/// `XEN_VGATYPE_VESA_LFB`: VESA linear frame buffer.
pub const XEN_VGATYPE_VESA_LFB: u8 = 0x23;
/// `XEN_VGATYPE_EFI_LFB`: EFI linear frame buffer.
pub const XEN_VGATYPE_EFI_LFB: u8 = 0x70;

/// `struct dom0_vga_console_info` (alias `xen_vga_console_info`): the
/// console the hypervisor hands to dom0, at `start_info.console.dom0.info_off`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Dom0VgaConsoleInfo {
    /// `XEN_VGATYPE_*`.
    pub video_type: u8,
    /// Padding (implicit in C).
    pub _pad: [u8; 3],
    /// Mode-specific information (`u.text_mode_3` or `u.vesa_lfb`).
    pub u: Dom0VgaConsoleInfoU,
}
assert_layout!(Dom0VgaConsoleInfo, size = 40, video_type @ 0, _pad @ 1, u @ 4);

/// The union `dom0_vga_console_info.u` (storage; see the accessors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Dom0VgaConsoleInfoU {
    /// The union's bytes.
    pub raw: [u32; 9],
}
assert_layout!(Dom0VgaConsoleInfoU, size = 36, raw @ 0);

impl Dom0VgaConsoleInfoU {
    /// Member `text_mode_3` (`XEN_VGATYPE_TEXT_MODE_3`).
    pub fn text_mode_3(&self) -> Dom0VgaTextMode3 {
        crate::abi::union_get(self)
    }
    /// Makes `text_mode_3` the active member.
    pub fn set_text_mode_3(&mut self, v: &Dom0VgaTextMode3) {
        crate::abi::union_set(self, v)
    }
    /// Member `vesa_lfb` (`XEN_VGATYPE_VESA_LFB`, `XEN_VGATYPE_EFI_LFB`).
    pub fn vesa_lfb(&self) -> Dom0VgaVesaLfb {
        crate::abi::union_get(self)
    }
    /// Makes `vesa_lfb` the active member.
    pub fn set_vesa_lfb(&mut self, v: &Dom0VgaVesaLfb) {
        crate::abi::union_set(self, v)
    }
}

/// `dom0_vga_console_info.u.text_mode_3`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Dom0VgaTextMode3 {
    /// Font height, in pixels.
    pub font_height: u16,
    /// Cursor column.
    pub cursor_x: u16,
    /// Cursor row.
    pub cursor_y: u16,
    /// Number of rows (in characters).
    pub rows: u16,
    /// Number of columns (in characters).
    pub columns: u16,
}
assert_layout!(Dom0VgaTextMode3, size = 10, font_height @ 0, cursor_x @ 2, cursor_y @ 4,
    rows @ 6, columns @ 8);

/// `dom0_vga_console_info.u.vesa_lfb`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Dom0VgaVesaLfb {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Bytes per scan line.
    pub bytes_per_line: u16,
    /// Bits per pixel.
    pub bits_per_pixel: u16,
    /// LFB physical address (low 32 bits).
    pub lfb_base: u32,
    /// LFB size in units of 64 KiB.
    pub lfb_size: u32,
    /// Red mask offset (VBE 1.2+).
    pub red_pos: u8,
    /// Red mask size.
    pub red_size: u8,
    /// Green mask offset.
    pub green_pos: u8,
    /// Green mask size.
    pub green_size: u8,
    /// Blue mask offset.
    pub blue_pos: u8,
    /// Blue mask size.
    pub blue_size: u8,
    /// Reserved mask offset.
    pub rsvd_pos: u8,
    /// Reserved mask size.
    pub rsvd_size: u8,
    /// VESA capabilities (offset 0xa, VESA command 0x4f00).
    pub gbl_caps: u32,
    /// Mode attributes (offset 0x0, VESA command 0x4f01).
    pub mode_attrs: u16,
    /// Padding.
    pub pad: u16,
    /// High 32 bits of `lfb_base`.
    pub ext_lfb_base: u32,
}
assert_layout!(Dom0VgaVesaLfb, size = 36, width @ 0, height @ 2, bytes_per_line @ 4,
    bits_per_pixel @ 6, lfb_base @ 8, lfb_size @ 12, red_pos @ 16, red_size @ 17,
    green_pos @ 18, green_size @ 19, blue_pos @ 20, blue_size @ 21, rsvd_pos @ 22,
    rsvd_size @ 23, gbl_caps @ 24, mode_attrs @ 28, pad @ 30, ext_lfb_base @ 32);

// ---- UUIDs and tools bitmaps ------------------------------------------------

/// `xen_uuid_t`: a UUID in big-endian byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenUuid {
    /// The 16 bytes.
    pub a: [u8; 16],
}
assert_layout!(XenUuid, size = 16, a @ 0);

/// `struct xenctl_bitmap` (tools only): a bitmap in guest memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenctlBitmap {
    /// Guest handle of the `uint8_t` bitmap.
    pub bitmap: u64,
    /// Number of bits.
    pub nr_bits: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
}
assert_layout!(XenctlBitmap, size = 16, bitmap @ 0, nr_bits @ 8, _pad @ 12);
