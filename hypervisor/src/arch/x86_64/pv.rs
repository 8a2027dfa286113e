//! PV vCPU state and the x86-specific hypercalls.

use crate::common::guest_mem::GuestMem;
use crate::common::hypercall::{Handler, NR_HYPERCALLS};
use pv_abi::abi::xen::hypercall::{iret, NR_SLOTS, STUB_SIZE};
use pv_abi::Mfn;

/// Arch part of a vCPU.
#[derive(Default)]
pub struct ArchVcpu {
    /// In guest kernel mode (else guest user mode).
    pub kernel_mode: bool,
    /// Kernel top-level table (`MMUEXT_NEW_BASEPTR`).
    pub cr3_kernel: Mfn,
    /// User top-level table (`MMUEXT_NEW_USER_BASEPTR`; 0 = none).
    pub cr3_user: Mfn,
}

impl ArchVcpu {
    /// The top-level table for the current guest mode.
    pub fn cr3(&self) -> Mfn {
        if self.kernel_mode || self.cr3_user.0 == 0 {
            self.cr3_kernel
        } else {
            self.cr3_user
        }
    }
}

/// Adds the x86 hypercalls to the dispatch table.
pub const fn hypercall_table<M: GuestMem>(_t: &mut [Option<Handler<M>>; NR_HYPERCALLS]) {}

/// The hypercall page, as Xen fills it for a 64-bit PV kernel: slot `n`
/// (32 bytes) is `push %rcx; push %r11; mov $n, %eax; syscall; pop %r11;
/// pop %rcx; ret`. Slot `iret` keeps the guest's frame: `push %rcx; push
/// %r11; push %rax; mov $iret, %eax; syscall` (it does not return).
pub fn hypercall_page() -> [u8; 4096] {
    let mut p = [0xccu8; 4096]; // int3 padding
    for i in 0..NR_SLOTS {
        let s = &mut p[i * STUB_SIZE..(i + 1) * STUB_SIZE];
        let n = (i as u32).to_le_bytes();
        if i == iret as usize {
            s[..5].copy_from_slice(&[0x51, 0x41, 0x53, 0x50, 0xb8]);
            s[5..9].copy_from_slice(&n);
            s[9..11].copy_from_slice(&[0x0f, 0x05]);
        } else {
            s[..4].copy_from_slice(&[0x51, 0x41, 0x53, 0xb8]);
            s[4..8].copy_from_slice(&n);
            s[8..14].copy_from_slice(&[0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypercall_page_matches_xen() {
        let p = hypercall_page();
        // xen_version (17): 51 41 53 b8 11 00 00 00 0f 05 41 5b 59 c3
        assert_eq!(
            &p[17 * 32..17 * 32 + 14],
            &[0x51, 0x41, 0x53, 0xb8, 17, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]
        );
        // iret (23): 51 41 53 50 b8 17 00 00 00 0f 05
        assert_eq!(&p[23 * 32..23 * 32 + 11], &[0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05]);
        assert_eq!(p[23 * 32 + 11], 0xcc);
    }
}
