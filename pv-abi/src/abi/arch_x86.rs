//! `arch-x86/xen.h` and `arch-x86/xen-x86_64.h`: x86_64 PV register frames,
//! the virtual IDT entry, selectors and the hypervisor's virtual range.

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Number of `vcpu_info` slots in `shared_info` (`XEN_LEGACY_MAX_VCPUS`).
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

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

// ---- VGCF flags ---------------------------------------------------------

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
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    /// Private: hardware error code.
    pub error_code: u32,
    /// Private: vector of the exception that built the frame.
    pub entry_vector: u32,
    pub rip: u64,
    pub cs: u16,
    /// Padding.
    pub _pad0: u16,
    /// Upcall mask saved in a bounce frame.
    pub saved_upcall_mask: u8,
    /// Padding.
    pub _pad1: [u8; 3],
    /// `rflags.IF == !saved_upcall_mask`.
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u16,
    /// Padding.
    pub _pad2: [u16; 3],
    pub es: u16,
    /// Padding.
    pub _pad3: [u16; 3],
    pub ds: u16,
    /// Padding.
    pub _pad4: [u16; 3],
    pub fs: u16,
    /// Padding.
    pub _pad5: [u16; 3],
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
    pub rax: u64,
    pub r11: u64,
    pub rcx: u64,
    /// `VGCF_IN_SYSCALL` or 0.
    pub flags: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}
assert_layout!(IretContext, size = 72, rax @ 0, r11 @ 8, rcx @ 16, flags @ 24, rip @ 32,
    cs @ 40, rflags @ 48, rsp @ 56, ss @ 64);
