//! A PV guest's view of its memory at start of day.
//!
//! The domain builder maps the bootstrap region `[VIRT_BASE, v_end)` 1:1
//! onto the first PFNs; frames above it are free and unmapped. `v_end` is
//! the first 4 MiB boundary at least 512 KiB past the boot stack (Xen's
//! rule), and its last page is used here as a scratch window for reaching
//! any frame.

use pv_abi::abi::xen::{StartInfo, UVMF_INVLPG, UVMF_LOCAL};
use pv_abi::kernel::KERNEL_VIRT_BASE;
use pv_abi::{hypercall, Errno};

/// PTE bits.
pub mod pte {
    /// Present.
    pub const P: u64 = 1;
    /// Writable.
    pub const RW: u64 = 2;
    /// User.
    pub const US: u64 = 4;
    /// Accessed.
    pub const A: u64 = 1 << 5;
    /// Dirty.
    pub const D: u64 = 1 << 6;
    /// Large page.
    pub const PSE: u64 = 1 << 7;
    /// A normal writable data page.
    pub const PAGE: u64 = P | RW | US | A | D;
}

/// What the guest knows about its memory.
pub struct Mem {
    /// `start_info`.
    pub si: &'static StartInfo,
    /// The P2M list (PFN -> MFN).
    pub p2m: &'static [u64],
    /// End of the bootstrap region.
    pub v_end: u64,
    /// Next free PFN (above the region).
    next_free: u64,
    /// PFN normally mapped at the scratch address.
    scratch_pfn: u64,
}

impl Mem {
    /// Reads the layout from `start_info`.
    pub fn new(si: &'static StartInfo) -> Self {
        // SAFETY: the builder maps the P2M list at `mfn_list`, nr_pages long.
        let p2m = unsafe { core::slice::from_raw_parts(si.mfn_list as *const u64, si.nr_pages as usize) };
        let stack_end = si.pt_base + si.nr_pt_frames * 4096 + 4096;
        let v_end = (stack_end + 512 * 1024).next_multiple_of(4 << 20);
        let region = (v_end - KERNEL_VIRT_BASE) / 4096;
        Mem { si, p2m, v_end, next_free: region, scratch_pfn: region - 1 }
    }

    /// The scratch window (the region's last page).
    pub fn scratch_va(&self) -> u64 {
        self.v_end - 4096
    }

    /// The MFN of a PFN.
    pub fn mfn(&self, pfn: u64) -> u64 {
        self.p2m[pfn as usize]
    }

    /// Takes a free frame (never mapped so far); returns its PFN.
    pub fn alloc(&mut self) -> u64 {
        assert!(self.next_free < self.si.nr_pages, "test guest out of frames");
        let p = self.next_free;
        self.next_free += 1;
        p
    }

    /// Maps `pfn` writable at the scratch window, runs `f` on it as 512
    /// words, and restores the window's own page (so no writable mapping
    /// of `pfn` is left behind).
    pub fn with_page<R>(&self, pfn: u64, f: impl FnOnce(&mut [u64; 512]) -> R) -> Result<R, Errno> {
        let va = self.scratch_va();
        // SAFETY: the scratch window is the unused last page of the
        // bootstrap region; nothing else refers to it.
        unsafe { hypercall::update_va_mapping(va, (self.mfn(pfn) << 12) | pte::PAGE, UVMF_INVLPG | UVMF_LOCAL)? };
        // SAFETY: just mapped, page-aligned, ours.
        let r = f(unsafe { &mut *(va as *mut [u64; 512]) });
        // SAFETY: restores the window's original mapping.
        unsafe {
            hypercall::update_va_mapping(va, (self.mfn(self.scratch_pfn) << 12) | pte::PAGE, UVMF_INVLPG | UVMF_LOCAL)?
        };
        Ok(r)
    }

    /// The current top-level table's PFN-independent address (`pt_base`).
    pub fn l4_va(&self) -> u64 {
        self.si.pt_base
    }

    /// The MFN of the boot L4.
    pub fn boot_l4_mfn(&self) -> u64 {
        self.mfn((self.si.pt_base - KERNEL_VIRT_BASE) / 4096)
    }
}
