//! `elfnote.h`: the ELF notes (name `"Xen"`) a PV kernel uses to describe
//! itself to the domain builder.

/// NAME=VALUE pairs as a string (legacy `__xen_guest` replacement).
pub const XEN_ELFNOTE_INFO: u32 = 0;
/// Virtual address of the kernel entry point.
pub const XEN_ELFNOTE_ENTRY: u32 = 1;
/// Virtual address of the hypercall page.
pub const XEN_ELFNOTE_HYPERCALL_PAGE: u32 = 2;
/// Virtual base of the kernel (`VIRT_BASE`).
pub const XEN_ELFNOTE_VIRT_BASE: u32 = 3;
/// `PADDR_OFFSET`: virt = paddr - PADDR_OFFSET + VIRT_BASE.
pub const XEN_ELFNOTE_PADDR_OFFSET: u32 = 4;
/// Xen ABI version the kernel wants (`"xen-3.0"`).
pub const XEN_ELFNOTE_XEN_VERSION: u32 = 5;
/// Guest OS name.
pub const XEN_ELFNOTE_GUEST_OS: u32 = 6;
/// Guest OS version.
pub const XEN_ELFNOTE_GUEST_VERSION: u32 = 7;
/// Loader type (`"generic"`).
pub const XEN_ELFNOTE_LOADER: u32 = 8;
/// PAE mode (`"yes"`, `"yes,bimodal"`, `"no"`).
pub const XEN_ELFNOTE_PAE_MODE: u32 = 9;
/// Features string: `|`-separated XENFEAT names, `!` marks required.
pub const XEN_ELFNOTE_FEATURES: u32 = 10;
/// BSD symbol table request.
pub const XEN_ELFNOTE_BSD_SYMTAB: u32 = 11;
/// Lowest address the hypervisor hole may start at (32-bit only).
pub const XEN_ELFNOTE_HV_START_LOW: u32 = 12;
/// Mask and value of valid L1 entries (`L1_MFN_VALID`).
pub const XEN_ELFNOTE_L1_MFN_VALID: u32 = 13;
/// Kernel supports suspend cancellation.
pub const XEN_ELFNOTE_SUSPEND_CANCEL: u32 = 14;
/// Virtual address where the initial P2M list should be mapped.
pub const XEN_ELFNOTE_INIT_P2M: u32 = 15;
/// Kernel understands `mod_start` as a PFN.
pub const XEN_ELFNOTE_MOD_START_PFN: u32 = 16;
/// Bitmap of XENFEAT_* the kernel supports (32-bit little endian).
pub const XEN_ELFNOTE_SUPPORTED_FEATURES: u32 = 17;
/// Physical 32-bit entry point for PVH boot.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// The highest note number defined.
pub const XEN_ELFNOTE_MAX: u32 = XEN_ELFNOTE_PHYS32_ENTRY;
/// Crash dump: info.
pub const XEN_ELFNOTE_CRASH_INFO: u32 = 0x1000001;
/// Crash dump: registers.
pub const XEN_ELFNOTE_CRASH_REGS: u32 = 0x1000002;
/// `xl dump-core`: marks a Xen dump-core file (no content).
pub const XEN_ELFNOTE_DUMPCORE_NONE: u32 = 0x2000000;
/// `xl dump-core`: the dump-core header.
pub const XEN_ELFNOTE_DUMPCORE_HEADER: u32 = 0x2000001;
/// `xl dump-core`: the Xen version (from `XENVER_*`).
pub const XEN_ELFNOTE_DUMPCORE_XEN_VERSION: u32 = 0x2000002;
/// `xl dump-core`: the format version identifier.
pub const XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION: u32 = 0x2000003;

/// Emits one ELF note named "Xen" in section `.note.Xen`.
///
/// `$desc` is assembler text (AT&T syntax) for the descriptor, e.g.
/// `".quad _start"` or `".asciz \"xen-3.0\""`; `$ty` must be a constant
/// expression; further `name = const value` / `name = sym path` operands are
/// passed to `global_asm!` for use in `$desc`.
#[macro_export]
macro_rules! elfnote {
    ($ty:expr, $desc:expr $(, $($args:tt)*)?) => {
        core::arch::global_asm!(
            ".pushsection .note.Xen, \"a\", @note",
            ".balign 4",
            ".long 6f - 5f",
            ".long 8f - 7f",
            ".long {ty}",
            "5: .asciz \"Xen\"",
            "6: .balign 4",
            concat!("7: ", $desc),
            "8: .balign 4",
            ".popsection",
            ty = const $ty,
            $($($args)*,)?
            options(att_syntax),
        );
    };
}
