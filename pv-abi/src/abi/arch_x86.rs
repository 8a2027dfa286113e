//! `arch-x86/xen.h` and `arch-x86/xen-x86_64.h`: x86_64 PV register frames,
//! the virtual IDT entry, the vCPU context, selectors, the hypervisor's
//! virtual range, and the x86 parts of domain configuration.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Number of `vcpu_info` slots in `shared_info` (`XEN_LEGACY_MAX_VCPUS`).
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

/// `xen_pfn_t`: a guest or machine frame number (`unsigned long`).
pub type XenPfn = u64;
/// `xen_ulong_t` (`unsigned long`).
pub type XenUlong = u64;
/// `xen_callback_t` on x86_64: the callback's address (`unsigned long`).
pub type XenCallback = u64;
/// `tsc_timestamp_t`: an RDTSC timestamp.
pub type TscTimestamp = u64;

// ---- Selectors (xen-x86_64.h) ----------------------------------------------

/// 32-bit ring-3 code (GDT index 260).
pub const FLAT_RING3_CS32: u16 = 0xe023;
/// 64-bit ring-3 code (GDT index 262).
pub const FLAT_RING3_CS64: u16 = 0xe033;
/// Ring-3 data (GDT index 261).
pub const FLAT_RING3_DS32: u16 = 0xe02b;
/// 64-bit data: the NULL selector.
pub const FLAT_RING3_DS64: u16 = 0x0000;
/// 32-bit ring-3 stack.
pub const FLAT_RING3_SS32: u16 = 0xe02b;
/// 64-bit ring-3 stack.
pub const FLAT_RING3_SS64: u16 = 0xe02b;
/// Guest kernel code (64-bit PV kernels run in ring 3).
pub const FLAT_KERNEL_CS64: u16 = FLAT_RING3_CS64;
/// Guest kernel 32-bit code.
pub const FLAT_KERNEL_CS32: u16 = FLAT_RING3_CS32;
/// Guest kernel 32-bit data.
pub const FLAT_KERNEL_DS32: u16 = FLAT_RING3_DS32;
/// Guest kernel 32-bit stack.
pub const FLAT_KERNEL_SS32: u16 = FLAT_RING3_SS32;
/// Guest user 32-bit code.
pub const FLAT_USER_CS32: u16 = FLAT_RING3_CS32;
/// Guest user 32-bit data.
pub const FLAT_USER_DS32: u16 = FLAT_RING3_DS32;
/// Guest user 32-bit stack.
pub const FLAT_USER_SS32: u16 = FLAT_RING3_SS32;
/// Guest kernel code.
pub const FLAT_KERNEL_CS: u16 = FLAT_KERNEL_CS64;
/// Guest kernel data.
pub const FLAT_KERNEL_DS64: u16 = FLAT_RING3_DS64;
/// Guest kernel data.
pub const FLAT_KERNEL_DS: u16 = FLAT_KERNEL_DS64;
/// Guest kernel stack.
pub const FLAT_KERNEL_SS64: u16 = FLAT_RING3_SS64;
/// Guest kernel stack.
pub const FLAT_KERNEL_SS: u16 = FLAT_KERNEL_SS64;
/// Guest user code.
pub const FLAT_USER_CS64: u16 = FLAT_RING3_CS64;
/// Guest user code.
pub const FLAT_USER_CS: u16 = FLAT_USER_CS64;
/// Guest user data.
pub const FLAT_USER_DS64: u16 = FLAT_RING3_DS64;
/// Guest user data.
pub const FLAT_USER_DS: u16 = FLAT_USER_DS64;
/// Guest user stack.
pub const FLAT_USER_SS64: u16 = FLAT_RING3_SS64;
/// Guest user stack.
pub const FLAT_USER_SS: u16 = FLAT_USER_SS64;

/// First GDT page reserved for the hypervisor (guests own pages 0..14).
pub const FIRST_RESERVED_GDT_PAGE: usize = 14;
/// First GDT byte reserved for the hypervisor.
pub const FIRST_RESERVED_GDT_BYTE: usize = FIRST_RESERVED_GDT_PAGE * 4096;
/// First GDT entry reserved for the hypervisor.
pub const FIRST_RESERVED_GDT_ENTRY: usize = FIRST_RESERVED_GDT_BYTE / 8;

// ---- Virtual layout (xen-x86_64.h) ----------------------------------------

/// Start of the hypervisor's virtual range, reserved in every PV address space.
pub const HYPERVISOR_VIRT_START: u64 = 0xFFFF_8000_0000_0000;
/// End (exclusive) of the hypervisor's virtual range.
pub const HYPERVISOR_VIRT_END: u64 = 0xFFFF_8800_0000_0000;
/// Start of the read-only machine-to-phys table, mapped for guests.
pub const MACH2PHYS_VIRT_START: u64 = 0xFFFF_8000_0000_0000;
/// End of the read-only machine-to-phys table.
pub const MACH2PHYS_VIRT_END: u64 = 0xFFFF_8040_0000_0000;
/// Entries the M2P table can hold.
pub const MACH2PHYS_NR_ENTRIES: u64 = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >> 3;

// ---- set_segment_base (xen-x86_64.h) ----------------------------------------

/// `SEGBASE_FS`: set the `fs` base.
pub const SEGBASE_FS: u32 = 0;
/// `SEGBASE_GS_USER`: set the user `gs` base.
pub const SEGBASE_GS_USER: u32 = 1;
/// `SEGBASE_GS_KERNEL`: set the kernel `gs` base.
pub const SEGBASE_GS_KERNEL: u32 = 2;
/// `SEGBASE_GS_USER_SEL`: set user `%gs` to the selector in `base[15:0]`.
pub const SEGBASE_GS_USER_SEL: u32 = 3;

/// `xen_pfn_to_cr3`: the CR3 value for a top-level page-table frame.
pub const fn xen_pfn_to_cr3(pfn: XenPfn) -> u64 {
    pfn << 12
}
/// `xen_cr3_to_pfn`: the frame a CR3 value points at.
pub const fn xen_cr3_to_pfn(cr3: u64) -> XenPfn {
    cr3 >> 12
}

/// `XEN_HVM_DEBUGCONS_IOPORT`: the debug console I/O port.
pub const XEN_HVM_DEBUGCONS_IOPORT: u16 = 0xe9;

// ---- VGCF flags ---------------------------------------------------------
// The C header spells most of these in lower case (`VGCF_in_kernel`); both
// spellings are provided, with the same values.

/// `_VGCF_i387_valid`: bit number of [`VGCF_i387_valid`].
pub const _VGCF_i387_valid: u32 = 0;
/// `VGCF_i387_valid`: FPU state in the context is valid.
pub const VGCF_i387_valid: u64 = 1 << _VGCF_i387_valid;
/// `_VGCF_in_kernel`: bit number of [`VGCF_in_kernel`].
pub const _VGCF_in_kernel: u32 = 2;
/// `VGCF_in_kernel`: the vCPU is in kernel mode.
pub const VGCF_in_kernel: u64 = 1 << _VGCF_in_kernel;
/// `_VGCF_failsafe_disables_events`: bit number of [`VGCF_failsafe_disables_events`].
pub const _VGCF_failsafe_disables_events: u32 = 3;
/// `VGCF_failsafe_disables_events`: the failsafe callback masks events.
pub const VGCF_failsafe_disables_events: u64 = 1 << _VGCF_failsafe_disables_events;
/// `_VGCF_syscall_disables_events`: bit number of [`VGCF_syscall_disables_events`].
pub const _VGCF_syscall_disables_events: u32 = 4;
/// `VGCF_syscall_disables_events`: the syscall callback masks events.
pub const VGCF_syscall_disables_events: u64 = 1 << _VGCF_syscall_disables_events;
/// `_VGCF_online`: bit number of [`VGCF_online`].
pub const _VGCF_online: u32 = 5;
/// `VGCF_online`: the vCPU is online.
pub const VGCF_online: u64 = 1 << _VGCF_online;
/// `_VGCF_in_syscall` (xen-x86_64.h): bit number of [`VGCF_in_syscall`].
pub const _VGCF_in_syscall: u32 = 8;
/// `VGCF_in_syscall` (`iret` flag): return as if from a `syscall`.
pub const VGCF_in_syscall: u64 = 1 << _VGCF_in_syscall;

/// FPU state in the context is valid.
pub const VGCF_I387_VALID: u64 = 1 << 0;
/// vCPU is in kernel mode.
pub const VGCF_IN_KERNEL: u64 = 1 << 2;
/// Failsafe callback disables events.
pub const VGCF_FAILSAFE_DISABLES_EVENTS: u64 = 1 << 3;
/// Syscall callback disables events.
pub const VGCF_SYSCALL_DISABLES_EVENTS: u64 = 1 << 4;
/// vCPU is online.
pub const VGCF_ONLINE: u64 = 1 << 5;
/// `iret` hypercall flag: return as if from a `syscall` (rcx/r11 restored).
pub const VGCF_IN_SYSCALL: u64 = 1 << 8;

// ---- Registers and traps --------------------------------------------------

/// `struct cpu_user_regs` (x86_64): a guest's saved register frame. The
/// tail (`error_code` .. `ss`) matches what the CPU pushes on an exception,
/// so the hypervisor's entry code builds this frame in place on its stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CpuUserRegs {
    /// `r15`.
    pub r15: u64,
    /// `r14`.
    pub r14: u64,
    /// `r13`.
    pub r13: u64,
    /// `r12`.
    pub r12: u64,
    /// `rbp`.
    pub rbp: u64,
    /// `rbx`.
    pub rbx: u64,
    /// `r11`.
    pub r11: u64,
    /// `r10`.
    pub r10: u64,
    /// `r9`.
    pub r9: u64,
    /// `r8`.
    pub r8: u64,
    /// `rax`.
    pub rax: u64,
    /// `rcx`.
    pub rcx: u64,
    /// `rdx`.
    pub rdx: u64,
    /// `rsi`.
    pub rsi: u64,
    /// `rdi`.
    pub rdi: u64,
    /// Private: hardware error code.
    pub error_code: u32,
    /// Private: vector of the exception that built the frame.
    pub entry_vector: u32,
    /// Instruction pointer (`rip`/`eip`/`ip`).
    pub rip: u64,
    /// Code selector.
    pub cs: u16,
    /// Padding.
    pub _pad0: u16,
    /// Upcall mask saved in a bounce frame.
    pub saved_upcall_mask: u8,
    /// Padding.
    pub _pad1: [u8; 3],
    /// `rflags.IF == !saved_upcall_mask`.
    pub rflags: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// Stack selector.
    pub ss: u16,
    /// Padding.
    pub _pad2: [u16; 3],
    /// `es` selector.
    pub es: u16,
    /// Padding.
    pub _pad3: [u16; 3],
    /// `ds` selector.
    pub ds: u16,
    /// Padding.
    pub _pad4: [u16; 3],
    /// `fs` selector.
    pub fs: u16,
    /// Padding.
    pub _pad5: [u16; 3],
    /// `gs` selector.
    pub gs: u16,
    /// Padding.
    pub _pad6: [u16; 3],
}
assert_layout!(CpuUserRegs, size = 200, r15 @ 0, rbp @ 32, rbx @ 40, r11 @ 48, r8 @ 72,
    rax @ 80, rcx @ 88, rdx @ 96, rsi @ 104, rdi @ 112, error_code @ 120,
    entry_vector @ 124, rip @ 128, cs @ 136, saved_upcall_mask @ 140, rflags @ 144,
    rsp @ 152, ss @ 160, es @ 168, ds @ 176, fs @ 184, gs @ 192);

/// `struct trap_info`: one entry of the guest's virtual IDT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct TrapInfo {
    /// Exception vector (0 with address 0 ends a `set_trap_table` list).
    pub vector: u8,
    /// Bits 0-1: DPL; bit 2: clear the event mask on entry (interrupt gate).
    pub flags: u8,
    /// Code selector.
    pub cs: u16,
    /// Padding.
    pub _pad: u32,
    /// Handler address.
    pub address: u64,
}
assert_layout!(TrapInfo, size = 16, vector @ 0, flags @ 1, cs @ 2, address @ 8);

impl TrapInfo {
    /// `TI_GET_DPL`.
    pub const fn dpl(&self) -> u8 {
        self.flags & 3
    }
    /// `TI_GET_IF`: events are masked on entry.
    pub const fn masks_events(&self) -> bool {
        self.flags & 4 != 0
    }
}

/// `struct arch_vcpu_info` (x86_64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ArchVcpuInfo {
    /// Faulting address of the last `#PF` bounced to the guest.
    pub cr2: u64,
    /// Padding (`sizeof(vcpu_info_t) == 64`).
    pub pad: u64,
}
assert_layout!(ArchVcpuInfo, size = 16, cr2 @ 0, pad @ 8);

/// `struct arch_shared_info` (x86_64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ArchSharedInfo {
    /// Number of valid P2M entries.
    pub max_pfn: u64,
    /// Frame of the P2M frame-list list (0: not set up).
    pub pfn_to_mfn_frame_list_list: u64,
    /// NMI reason bits.
    pub nmi_reason: u64,
    /// CR3 of the address space where `p2m_vaddr` is valid.
    pub p2m_cr3: u64,
    /// Virtual address of the linear P2M list.
    pub p2m_vaddr: u64,
    /// Generation count of the P2M mapping.
    pub p2m_generation: u64,
}
assert_layout!(ArchSharedInfo, size = 48, max_pfn @ 0, pfn_to_mfn_frame_list_list @ 8,
    nmi_reason @ 16, p2m_cr3 @ 24, p2m_vaddr @ 32, p2m_generation @ 40);

/// `struct iret_context`: what the guest pushes before the `iret` hypercall
/// (top of stack first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct IretContext {
    /// `rax`.
    pub rax: u64,
    /// `r11`.
    pub r11: u64,
    /// `rcx`.
    pub rcx: u64,
    /// `VGCF_IN_SYSCALL` or 0.
    pub flags: u64,
    /// Instruction pointer (`rip`/`eip`/`ip`).
    pub rip: u64,
    /// Code selector.
    pub cs: u64,
    /// Flags.
    pub rflags: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// Stack selector.
    pub ss: u64,
}
assert_layout!(IretContext, size = 72, rax @ 0, r11 @ 8, rcx @ 16, flags @ 24, rip @ 32,
    cs @ 40, rflags @ 48, rsp @ 56, ss @ 64);

// ---- vCPU context ----------------------------------------------------------

/// `struct vcpu_guest_context` (x86_64): the whole architectural state of a
/// PV vCPU, as used by `VCPUOP_initialise` and `XEN_DOMCTL_{set,get}vcpucontext`.
/// 5168 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuGuestContext {
    /// User-level FPU registers (`fpu_ctxt.x`, FXSAVE format); first so
    /// they can be aligned for FXSAVE/FXRSTOR.
    pub fpu_ctxt: [u8; 512],
    /// `VGCF_*` flags.
    pub flags: u64,
    /// User-level CPU registers.
    pub user_regs: CpuUserRegs,
    /// Virtual IDT.
    pub trap_ctxt: [TrapInfo; 256],
    /// LDT linear address.
    pub ldt_base: u64,
    /// LDT number of entries.
    pub ldt_ents: u64,
    /// GDT machine frames.
    pub gdt_frames: [u64; 16],
    /// GDT number of entries.
    pub gdt_ents: u64,
    /// Virtual TSS: kernel `ss` (only SS1/SP1).
    pub kernel_ss: u64,
    /// Virtual TSS: kernel stack pointer.
    pub kernel_sp: u64,
    /// CR0-CR7 (control registers). NB: the user page table on x86/64 is
    /// placed in `ctrlreg[1]`.
    pub ctrlreg: [u64; 8],
    /// DB0-DB7 (debug registers).
    pub debugreg: [u64; 8],
    /// Event callback address.
    pub event_callback_eip: u64,
    /// Failsafe callback address.
    pub failsafe_callback_eip: u64,
    /// Syscall callback address.
    pub syscall_callback_eip: u64,
    /// `VMASST_TYPE_*` bitmap.
    pub vm_assist: u64,
    /// Segment base address: `fs`.
    pub fs_base: u64,
    /// Segment base address: kernel `gs`.
    pub gs_base_kernel: u64,
    /// Segment base address: user `gs`.
    pub gs_base_user: u64,
}
assert_layout!(VcpuGuestContext, size = 5168, fpu_ctxt @ 0, flags @ 512, user_regs @ 520,
    trap_ctxt @ 720, ldt_base @ 4816, ldt_ents @ 4824, gdt_frames @ 4832, gdt_ents @ 4960,
    kernel_ss @ 4968, kernel_sp @ 4976, ctrlreg @ 4984, debugreg @ 5048,
    event_callback_eip @ 5112, failsafe_callback_eip @ 5120, syscall_callback_eip @ 5128,
    vm_assist @ 5136, fs_base @ 5144, gs_base_kernel @ 5152, gs_base_user @ 5160);

impl Default for VcpuGuestContext {
    fn default() -> Self {
        zerocopy::FromZeros::new_zeroed()
    }
}

// ---- Domain configuration (tools only) ---------------------------------------

/// `_XEN_X86_EMU_LAPIC`: bit number of [`XEN_X86_EMU_LAPIC`].
pub const _XEN_X86_EMU_LAPIC: u32 = 0;
/// `XEN_X86_EMU_LAPIC`: emulate a local APIC.
pub const XEN_X86_EMU_LAPIC: u32 = 1 << _XEN_X86_EMU_LAPIC;
/// `_XEN_X86_EMU_HPET`
pub const _XEN_X86_EMU_HPET: u32 = 1;
/// `XEN_X86_EMU_HPET`: emulate an HPET.
pub const XEN_X86_EMU_HPET: u32 = 1 << _XEN_X86_EMU_HPET;
/// `_XEN_X86_EMU_PM`
pub const _XEN_X86_EMU_PM: u32 = 2;
/// `XEN_X86_EMU_PM`: emulate ACPI PM timer/registers.
pub const XEN_X86_EMU_PM: u32 = 1 << _XEN_X86_EMU_PM;
/// `_XEN_X86_EMU_RTC`
pub const _XEN_X86_EMU_RTC: u32 = 3;
/// `XEN_X86_EMU_RTC`: emulate an RTC.
pub const XEN_X86_EMU_RTC: u32 = 1 << _XEN_X86_EMU_RTC;
/// `_XEN_X86_EMU_IOAPIC`
pub const _XEN_X86_EMU_IOAPIC: u32 = 4;
/// `XEN_X86_EMU_IOAPIC`: emulate an IO-APIC.
pub const XEN_X86_EMU_IOAPIC: u32 = 1 << _XEN_X86_EMU_IOAPIC;
/// `_XEN_X86_EMU_PIC`
pub const _XEN_X86_EMU_PIC: u32 = 5;
/// `XEN_X86_EMU_PIC`: emulate a PIC.
pub const XEN_X86_EMU_PIC: u32 = 1 << _XEN_X86_EMU_PIC;
/// `_XEN_X86_EMU_VGA`
pub const _XEN_X86_EMU_VGA: u32 = 6;
/// `XEN_X86_EMU_VGA`: emulate VGA.
pub const XEN_X86_EMU_VGA: u32 = 1 << _XEN_X86_EMU_VGA;
/// `_XEN_X86_EMU_IOMMU`
pub const _XEN_X86_EMU_IOMMU: u32 = 7;
/// `XEN_X86_EMU_IOMMU`: emulate an IOMMU.
pub const XEN_X86_EMU_IOMMU: u32 = 1 << _XEN_X86_EMU_IOMMU;
/// `_XEN_X86_EMU_PIT`
pub const _XEN_X86_EMU_PIT: u32 = 8;
/// `XEN_X86_EMU_PIT`: emulate a PIT.
pub const XEN_X86_EMU_PIT: u32 = 1 << _XEN_X86_EMU_PIT;
/// `_XEN_X86_EMU_USE_PIRQ`
pub const _XEN_X86_EMU_USE_PIRQ: u32 = 9;
/// `XEN_X86_EMU_USE_PIRQ`: route interrupts through PIRQs.
pub const XEN_X86_EMU_USE_PIRQ: u32 = 1 << _XEN_X86_EMU_USE_PIRQ;
/// `_XEN_X86_EMU_VPCI`
pub const _XEN_X86_EMU_VPCI: u32 = 10;
/// `XEN_X86_EMU_VPCI`: emulate PCI config space.
pub const XEN_X86_EMU_VPCI: u32 = 1 << _XEN_X86_EMU_VPCI;
/// `XEN_X86_EMU_ALL`: every emulation flag.
pub const XEN_X86_EMU_ALL: u32 = XEN_X86_EMU_LAPIC
    | XEN_X86_EMU_HPET
    | XEN_X86_EMU_PM
    | XEN_X86_EMU_RTC
    | XEN_X86_EMU_IOAPIC
    | XEN_X86_EMU_PIC
    | XEN_X86_EMU_VGA
    | XEN_X86_EMU_IOMMU
    | XEN_X86_EMU_PIT
    | XEN_X86_EMU_USE_PIRQ
    | XEN_X86_EMU_VPCI;
/// `XEN_X86_MSR_RELAXED`: relaxed MSR access (`misc_flags`).
pub const XEN_X86_MSR_RELAXED: u32 = 1 << 0;
/// `XEN_X86_MISC_FLAGS_MAX`: the highest `misc_flags` bit.
pub const XEN_X86_MISC_FLAGS_MAX: u32 = XEN_X86_MSR_RELAXED;

/// `struct xen_arch_domainconfig` (x86, tools only): part of
/// `XEN_DOMCTL_createdomain`. A PV domain has `emulation_flags == 0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenArchDomainconfig {
    /// IN: `XEN_X86_EMU_*`.
    pub emulation_flags: u32,
    /// IN: `XEN_X86_MSR_*`.
    pub misc_flags: u32,
}
assert_layout!(XenArchDomainconfig, size = 8, emulation_flags @ 0, misc_flags @ 4);

/// `XEN_CPUID_NO_SUBLEAF`: the leaf has no subleaves.
pub const XEN_CPUID_NO_SUBLEAF: u32 = 0xffff_ffff;

/// `struct xen_cpuid_leaf`: one CPUID leaf of a CPU policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenCpuidLeaf {
    /// Leaf (`eax` input).
    pub leaf: u32,
    /// Subleaf (`ecx` input) or [`XEN_CPUID_NO_SUBLEAF`].
    pub subleaf: u32,
    /// `eax` output.
    pub a: u32,
    /// `ebx` output.
    pub b: u32,
    /// `ecx` output.
    pub c: u32,
    /// `edx` output.
    pub d: u32,
}
assert_layout!(XenCpuidLeaf, size = 24, leaf @ 0, subleaf @ 4, a @ 8, b @ 12, c @ 16, d @ 20);

/// `struct xen_msr_entry`: one MSR of a CPU policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenMsrEntry {
    /// MSR index.
    pub idx: u32,
    /// Reserved, must be zero.
    pub flags: u32,
    /// Value.
    pub val: u64,
}
assert_layout!(XenMsrEntry, size = 16, idx @ 0, flags @ 4, val @ 8);
