//! Page-table entries and the mapper the hypervisor uses for its own
//! address space (built at boot into frames reached through [`PhysMem`]).

use crate::common::phys::PhysMem;
use pv_abi::Mfn;

/// Page-table entry bits.
pub mod pte {
    /// Present.
    pub const PRESENT: u64 = 1 << 0;
    /// Writable.
    pub const RW: u64 = 1 << 1;
    /// User-accessible.
    pub const USER: u64 = 1 << 2;
    /// Write-through.
    pub const PWT: u64 = 1 << 3;
    /// Cache disable.
    pub const PCD: u64 = 1 << 4;
    /// Accessed.
    pub const ACCESSED: u64 = 1 << 5;
    /// Dirty.
    pub const DIRTY: u64 = 1 << 6;
    /// Large page (L2/L3) or PAT (L1).
    pub const PSE: u64 = 1 << 7;
    /// Global.
    pub const GLOBAL: u64 = 1 << 8;
    /// PAT bit of a large page.
    pub const PAT_LARGE: u64 = 1 << 12;
    /// No-execute.
    pub const NX: u64 = 1 << 63;
    /// Marks a grant mapping (Xen's `_PAGE_GNTTAB`, an available bit a
    /// guest may not set): the entry holds no references of its own.
    pub const GNTTAB: u64 = 1 << 62;
    /// Physical address bits (52-bit physical addresses).
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
    /// Bits available to software, ignored by the MMU (9..11, 52..62).
    pub const AVAIL: u64 = (7 << 9) | (0x7ff << 52);

    /// The frame an entry points at.
    pub const fn mfn(e: u64) -> pv_abi::Mfn {
        pv_abi::Mfn((e & ADDR_MASK) >> 12)
    }
}

/// Index into the table at `level` (1..=4) for `va`.
pub const fn index(va: u64, level: u8) -> usize {
    ((va >> (12 + 9 * (level as u32 - 1))) & 511) as usize
}

/// Builds mappings, allocating zeroed intermediate tables on demand.
pub struct Mapper<'a, F: FnMut() -> Mfn> {
    /// Where the tables live.
    pub phys: &'a mut PhysMem,
    /// Supplies zeroed frames for new tables.
    pub alloc: F,
}

impl<F: FnMut() -> Mfn> Mapper<'_, F> {
    /// Maps `va -> pa` in the tree rooted at `l4`: a 4 KiB page when
    /// `leaf_level == 1`, a 2 MiB page when 2. Intermediate entries get
    /// `PRESENT|RW` plus `USER` if `user`.
    pub fn map(&mut self, l4: Mfn, va: u64, pa: u64, leaf_level: u8, flags: u64, user: bool) {
        let mut table = l4;
        let mut level = 4;
        while level > leaf_level {
            let i = index(va, level);
            let e = self.phys.read_u64(table, i);
            let next = if e & pte::PRESENT != 0 {
                assert!(e & pte::PSE == 0, "mapping {va:#x} under a large page");
                pte::mfn(e)
            } else {
                let t = (self.alloc)();
                let mut ne = t.addr() | pte::PRESENT | pte::RW;
                if user {
                    ne |= pte::USER;
                }
                self.phys.write_u64(table, i, ne);
                t
            };
            table = next;
            level -= 1;
        }
        let mut leaf = pa | flags | pte::PRESENT;
        if leaf_level == 2 {
            leaf |= pte::PSE;
        }
        self.phys.write_u64(table, index(va, leaf_level), leaf);
    }

    /// Maps `[va, va + len)` to `[pa, ..)` with 4 KiB pages.
    pub fn map_range(&mut self, l4: Mfn, va: u64, pa: u64, len: u64, flags: u64, user: bool) {
        let mut off = 0;
        while off < len {
            self.map(l4, va + off, pa + off, 1, flags, user);
            off += 4096;
        }
    }

    /// Walks to the leaf entry for `va`; `None` if unmapped.
    pub fn lookup(&self, l4: Mfn, va: u64) -> Option<u64> {
        let mut table = l4;
        for level in (1..=4u8).rev() {
            let e = self.phys.read_u64(table, index(va, level));
            if e & pte::PRESENT == 0 {
                return None;
            }
            if level == 1 || e & pte::PSE != 0 {
                return Some(e);
            }
            table = pte::mfn(e);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::phys::test_phys;

    #[test]
    fn maps_and_walks() {
        let mut phys = test_phys(32);
        let mut next = 1u64;
        let mut m = Mapper {
            phys: &mut phys,
            alloc: || {
                next += 1;
                Mfn(next)
            },
        };
        let l4 = Mfn(1);
        m.map(l4, 0xffff_8300_0000_0000, 0x20_0000, 2, pte::RW | pte::GLOBAL, false);
        m.map_range(l4, 0xffff_8000_0000_0000, 0x5000, 0x2000, pte::USER, true);
        assert_eq!(m.lookup(l4, 0xffff_8300_0000_0000).unwrap() & pte::ADDR_MASK, 0x20_0000);
        assert_ne!(m.lookup(l4, 0xffff_8300_0000_0000).unwrap() & pte::PSE, 0);
        assert_eq!(m.lookup(l4, 0xffff_8000_0000_1000).unwrap() & pte::ADDR_MASK, 0x6000);
        assert_eq!(m.lookup(l4, 0xffff_8000_0000_2000), None);
        // The user path has USER on every level.
        let l4e = m.phys.read_u64(l4, 256);
        assert_ne!(l4e & pte::USER, 0);
        assert_eq!(m.phys.read_u64(l4, 262) & pte::USER, 0);
        assert_eq!(index(0xffff_8000_0000_1000, 1), 1);
        assert_eq!(index(0xffff_8000_0000_1000, 4), 256);
    }
}
