//! The assembly entry points (boot stub, vector stubs, syscall entry,
//! exit path, guest copy routine) and their Rust-side declarations.

use core::arch::global_asm;

global_asm!(include_str!("boot.S"), options(att_syntax));
global_asm!(include_str!("entry.S"), options(att_syntax));
global_asm!(include_str!(concat!(env!("OUT_DIR"), "/stubs.S")), options(att_syntax));

/// `entry_vector` of a frame built by the 64-bit `syscall` entry.
pub const VEC_SYSCALL: u32 = 0x100;
/// `entry_vector` of a frame built by a compat-mode `syscall`.
pub const VEC_SYSCALL32: u32 = 0x101;
/// Bytes from `hv_stack_top` down to the guest frame.
pub const GUEST_FRAME_OFFSET: usize = 200;

extern "C" {
    /// First of 256 vector stubs, 16 bytes apart.
    pub static hv_vector_stubs: [u8; 4096];
    /// 64-bit syscall entry (`LSTAR`).
    pub fn hv_syscall_entry();
    /// Compat syscall entry (`CSTAR`).
    pub fn hv_cstar_entry();
    /// Pops the guest frame at the top of the stack and irets to it.
    pub fn hv_exit_to_guest() -> !;
    /// Copies `len` bytes; returns the number NOT copied (fault).
    pub fn hv_copy_guest(dst: *mut u8, src: *const u8, len: u64) -> u64;
    /// Top of the hypervisor stack; the guest frame sits just below it.
    pub static hv_stack_top: u8;
    /// Three 8 KiB IST stacks (NMI, #DF, #MC).
    pub static hv_ist_stacks: [u8; 3 * 8192];
    /// Where the entry path saves and restores guest FPU state.
    pub static mut hv_cur_fpu: *mut u8;
    /// Start of the exception fixup table (pairs of fault rip, fixup rip).
    pub static __ex_table_start: [u64; 0];
    /// End of the exception fixup table.
    pub static __ex_table_end: [u64; 0];
}

/// The address of the guest frame at the top of the stack.
pub fn guest_frame_addr() -> u64 {
    core::ptr::addr_of!(hv_stack_top) as u64 - GUEST_FRAME_OFFSET as u64
}

/// The fixup address for a fault at `rip`, if the faulting instruction is
/// one that may touch guest memory.
pub fn fixup_for(rip: u64) -> Option<u64> {
    // SAFETY: the linker places an array of (u64, u64) pairs between the
    // two symbols, in a read-only section.
    let table = unsafe {
        let start = core::ptr::addr_of!(__ex_table_start) as *const u64;
        let end = core::ptr::addr_of!(__ex_table_end) as *const u64;
        core::slice::from_raw_parts(start, end.offset_from(start) as usize)
    };
    table.chunks_exact(2).find(|p| p[0] == rip).map(|p| p[1])
}
