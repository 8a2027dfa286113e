//! Xen's x86_64 PV start-of-day layout (`xen.h`, "Start-of-day memory
//! layout"):
//!
//! 1. The domain starts within a contiguous virtual region that begins at
//!    `VIRT_BASE` and ends on a 4 MiB boundary, with at least 512 KiB of
//!    padding after the last bootstrap element.
//! 2. In order, each 4 KiB aligned: the kernel image, the initial ramdisk,
//!    the list of page frames (P2M), `start_info`, (domU only) the
//!    xenstore and console pages, the bootstrap page tables, the boot stack.
//! 3. The region maps 1:1 onto the first pseudo-physical frames:
//!    `pfn = (va - VIRT_BASE) / 4096`.
//! 4. Everything is mapped writable except the bootstrap page tables.

use core::fmt;

const PAGE: u64 = 4096;
const MB4: u64 = 4 << 20;

/// What the layout depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutInput {
    /// Start of the region (`VIRT_BASE`).
    pub v_start: u64,
    /// Kernel image, `[kstart, kend)`.
    pub kernel: (u64, u64),
    /// Bytes of initial ramdisk (0: none).
    pub ramdisk_len: u64,
    /// Pages the domain owns.
    pub nr_pages: u64,
    /// dom0 has no xenstore/console pages at boot.
    pub is_dom0: bool,
}

/// Where each bootstrap element lives (virtual addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Start of the region.
    pub v_start: u64,
    /// Kernel image `[start, end)` (end page-aligned).
    pub kernel: (u64, u64),
    /// Ramdisk start (if any) and length in bytes.
    pub ramdisk: Option<(u64, u64)>,
    /// P2M list start and its size in pages.
    pub p2m: (u64, u64),
    /// `start_info` page.
    pub start_info: u64,
    /// xenstore ring page (domU).
    pub xenstore: Option<u64>,
    /// console ring page (domU).
    pub console: Option<u64>,
    /// First bootstrap page-table page (the L4) and the number of them.
    pub pt: (u64, u64),
    /// Page-table pages per level: `[L1, L2, L3, L4]`.
    pub pt_per_level: [u64; 4],
    /// Boot stack page; `%rsp` starts at its end.
    pub stack: u64,
    /// End of the region (exclusive, 4 MiB aligned).
    pub v_end: u64,
}

/// Why a domain cannot be laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The bootstrap region needs more pages than the domain has.
    TooSmall {
        /// Pages the region needs.
        needed: u64,
        /// Pages the domain has.
        have: u64,
    },
    /// The region does not fit below the top of the address space.
    Overflow,
    /// The kernel does not start at or above `v_start`.
    BadKernel,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::TooSmall { needed, have } => {
                write!(f, "domain too small: its start-of-day region needs {} KiB, it has {} KiB", needed * 4, have * 4)
            }
            LayoutError::Overflow => write!(f, "start-of-day region overflows the address space"),
            LayoutError::BadKernel => write!(f, "kernel lies below VIRT_BASE"),
        }
    }
}

fn round_up(x: u64, a: u64) -> Option<u64> {
    Some(x.checked_add(a - 1)? & !(a - 1))
}

/// Page-table pages needed to map `[start, end)` with 4 KiB pages:
/// `[L1, L2, L3, L4]`.
pub fn tables_needed(start: u64, end: u64) -> [u64; 4] {
    let span = |shift: u32| {
        let last = (end - 1) >> shift;
        let first = start >> shift;
        last - first + 1
    };
    [span(21), span(30), span(39), 1]
}

impl Layout {
    /// Computes the layout, as Xen's PV dom0 builder and libxc do.
    pub fn compute(inp: &LayoutInput) -> Result<Layout, LayoutError> {
        let (kstart, kend) = inp.kernel;
        if kstart < inp.v_start || kend <= kstart {
            return Err(LayoutError::BadKernel);
        }
        let o = LayoutError::Overflow;
        let kernel_end = round_up(kend, PAGE).ok_or(o)?;
        let mut next = kernel_end;
        let ramdisk = if inp.ramdisk_len > 0 {
            let at = next;
            next = round_up(next.checked_add(inp.ramdisk_len).ok_or(o)?, PAGE).ok_or(o)?;
            Some((at, inp.ramdisk_len))
        } else {
            None
        };
        let p2m_pages = round_up(inp.nr_pages.checked_mul(8).ok_or(o)?, PAGE).ok_or(o)? / PAGE;
        let p2m = (next, p2m_pages);
        next = next.checked_add(p2m_pages * PAGE).ok_or(o)?;
        let start_info = next;
        next += PAGE;
        let (xenstore, console) = if inp.is_dom0 {
            (None, None)
        } else {
            let x = next;
            next += 2 * PAGE;
            (Some(x), Some(x + PAGE))
        };
        let pt_start = next;
        // Grow the page-table count until the tables map themselves too.
        let mut nr_pt = 1u64;
        loop {
            let stack = pt_start.checked_add(nr_pt * PAGE).ok_or(o)?;
            let stack_end = stack.checked_add(PAGE).ok_or(o)?;
            let mut v_end = round_up(stack_end, MB4).ok_or(o)?;
            if v_end - stack_end < 512 * 1024 {
                v_end = v_end.checked_add(MB4).ok_or(o)?;
            }
            let per_level = tables_needed(inp.v_start, v_end);
            let needed: u64 = per_level.iter().sum();
            if needed == nr_pt {
                let pages = (v_end - inp.v_start) / PAGE;
                if pages > inp.nr_pages {
                    return Err(LayoutError::TooSmall { needed: pages, have: inp.nr_pages });
                }
                return Ok(Layout {
                    v_start: inp.v_start,
                    kernel: (kstart, kernel_end),
                    ramdisk,
                    p2m,
                    start_info,
                    xenstore,
                    console,
                    pt: (pt_start, nr_pt),
                    pt_per_level: per_level,
                    stack,
                    v_end,
                });
            }
            nr_pt = needed;
        }
    }

    /// The pseudo-physical frame that `va` (inside the region) maps to.
    pub fn pfn(&self, va: u64) -> u64 {
        (va - self.v_start) / PAGE
    }

    /// Pages in the region.
    pub fn nr_region_pages(&self) -> u64 {
        (self.v_end - self.v_start) / PAGE
    }

    /// Initial `%rsp`: the end of the boot stack page.
    pub fn stack_top(&self) -> u64 {
        self.stack + PAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const BASE: u64 = 0xffff_ffff_8000_0000;

    #[test]
    fn small_dom0() {
        let l = Layout::compute(&LayoutInput {
            v_start: BASE,
            kernel: (BASE, BASE + 0x5_0123),
            ramdisk_len: 0x1_0001,
            nr_pages: 16384, // 64 MiB
            is_dom0: true,
        })
        .unwrap();
        assert_eq!(l.kernel, (BASE, BASE + 0x5_1000));
        assert_eq!(l.ramdisk, Some((BASE + 0x5_1000, 0x1_0001)));
        // 16384 pfns * 8 bytes = 128 KiB = 32 pages, after the 17-page ramdisk
        assert_eq!(l.p2m, (BASE + 0x6_2000, 32));
        assert_eq!(l.start_info, BASE + 0x8_2000);
        assert_eq!((l.xenstore, l.console), (None, None));
        assert_eq!(l.pt.0, BASE + 0x8_3000);
        // Region < 2 MiB + padding = 4 MiB: 2 L1, 1 L2, 1 L3, 1 L4.
        assert_eq!(l.pt_per_level, [2, 1, 1, 1]);
        assert_eq!(l.pt.1, 5);
        assert_eq!(l.stack, BASE + 0x8_8000);
        assert_eq!(l.v_end, BASE + 0x40_0000);
        assert!(l.v_end - l.stack_top() >= 512 * 1024);
        assert_eq!(l.pfn(l.start_info), 0x82);
    }

    #[test]
    fn domu_has_store_and_console_pages() {
        let l = Layout::compute(&LayoutInput {
            v_start: BASE,
            kernel: (BASE, BASE + 0x1000),
            ramdisk_len: 0,
            nr_pages: 1024,
            is_dom0: false,
        })
        .unwrap();
        assert_eq!(l.ramdisk, None);
        assert_eq!(l.p2m, (BASE + 0x1000, 2));
        assert_eq!(l.start_info, BASE + 0x3000);
        assert_eq!(l.xenstore, Some(BASE + 0x4000));
        assert_eq!(l.console, Some(BASE + 0x5000));
        assert_eq!(l.pt.0, BASE + 0x6000);
        assert_eq!(l.nr_region_pages(), 1024);
    }

    #[test]
    fn padding_rule_adds_4mib() {
        // Put the stack end just below a 4 MiB boundary.
        let l = Layout::compute(&LayoutInput {
            v_start: BASE,
            kernel: (BASE, BASE + 0x3f_0000),
            ramdisk_len: 0,
            nr_pages: 65536,
            is_dom0: true,
        })
        .unwrap();
        assert!(l.v_end - l.stack_top() >= 512 * 1024);
        assert_eq!(l.v_end, BASE + 0x80_0000);
        assert_eq!(l.pt_per_level, [4, 1, 1, 1]);
    }

    #[test]
    fn tables_map_themselves_across_a_1g_boundary() {
        // A region that straddles a 1 GiB line needs two L2s: start 2 MiB
        // below the line with a kernel big enough to push v_end past it.
        let v_start = BASE + (1 << 30) - 0x20_0000;
        let l = Layout::compute(&LayoutInput {
            v_start,
            kernel: (v_start, v_start + 0x1f_0000),
            ramdisk_len: 0,
            nr_pages: 4096,
            is_dom0: true,
        })
        .unwrap();
        assert_eq!(l.v_end, BASE + (1 << 30) + 0x40_0000);
        assert_eq!(l.pt_per_level, [3, 2, 1, 1]);
        assert_eq!(l.pt.1, l.pt_per_level.iter().sum::<u64>());
    }

    #[test]
    fn too_small_and_overflow() {
        let e = Layout::compute(&LayoutInput {
            v_start: BASE,
            kernel: (BASE, BASE + 0x1000),
            ramdisk_len: 0,
            nr_pages: 100,
            is_dom0: true,
        })
        .unwrap_err();
        assert_eq!(e, LayoutError::TooSmall { needed: 1024, have: 100 });
        let top = u64::MAX - 0xfff;
        let e = Layout::compute(&LayoutInput {
            v_start: top,
            kernel: (top, top + 0x800),
            ramdisk_len: 0,
            nr_pages: 100,
            is_dom0: true,
        })
        .unwrap_err();
        assert_eq!(e, LayoutError::Overflow);
        let e = Layout::compute(&LayoutInput {
            v_start: BASE,
            kernel: (BASE - 1, BASE + 1),
            ramdisk_len: 0,
            nr_pages: 100,
            is_dom0: true,
        })
        .unwrap_err();
        assert_eq!(e, LayoutError::BadKernel);
    }
}
