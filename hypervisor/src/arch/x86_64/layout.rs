//! The hypervisor's virtual address layout (L4 slots 256..271, Xen's).
//!
//! | start | L4 slot | what |
//! |---|---|---|
//! | `0xffff800000000000` | 256 | read-only M2P, readable by guests |
//! | `0xffff820000000000` | 260 | per-CPU GDT/LDT area |
//! | `0xffff828000000000` | 261 | read-write M2P |
//! | `0xffff82d040000000` | 261 | hypervisor image (`XEN_VIRT_START`) |
//! | `0xffff830000000000` | 262..271 | direct map of all RAM |

/// Read-only M2P for guests (`RO_MPT_VIRT_START`).
pub const RO_MPT_VIRT_START: u64 = 0xffff_8000_0000_0000;
/// Per-CPU GDT area (`PERDOMAIN_VIRT_START`).
pub const PERCPU_VIRT_START: u64 = 0xffff_8200_0000_0000;
/// The GDT: 14 guest pages then the hypervisor's page (16 pages reserved).
pub const GDT_VIRT_START: u64 = PERCPU_VIRT_START;
/// The guest LDT mapping (16 pages: up to 8192 descriptors).
pub const LDT_VIRT_START: u64 = PERCPU_VIRT_START + 0x10_0000;
/// Read-write M2P (`RDWR_MPT_VIRT_START`).
pub const RDWR_MPT_VIRT_START: u64 = 0xffff_8280_0000_0000;
/// The hypervisor image.
pub const XEN_VIRT_START: u64 = 0xffff_82d0_4000_0000;
/// Physical load address of the image.
pub const XEN_PHYS_START: u64 = 0x20_0000;
/// Direct map of machine memory.
pub const DIRECTMAP_VIRT_START: u64 = 0xffff_8300_0000_0000;
/// End of the direct map (5 TiB).
pub const DIRECTMAP_VIRT_END: u64 = 0xffff_8800_0000_0000;

use pv_abi::abi::arch_x86::{HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START};

/// Whether `[addr, addr + len)` is a range a guest may name.
pub fn guest_range_ok(addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len) else { return false };
    let canonical = |a: u64| !(0x0000_8000_0000_0000..0xffff_8000_0000_0000).contains(&a);
    if len == 0 {
        return true;
    }
    let last = end - 1;
    canonical(addr)
        && canonical(last)
        // Both ends in the same half (no span across the non-canonical hole).
        && (addr >> 63) == (last >> 63)
        && (last < HYPERVISOR_VIRT_START || addr >= HYPERVISOR_VIRT_END)
}

/// First and last L4 slots the hypervisor owns in every address space.
pub const HV_L4_FIRST: usize = 256;
/// Last hypervisor L4 slot (inclusive).
pub const HV_L4_LAST: usize = 271;

/// The L4 slot of an address.
pub const fn l4_slot(va: u64) -> usize {
    ((va >> 39) & 511) as usize
}

/// Selectors of the hypervisor's GDT page (Xen's values).
pub mod sel {
    /// Ring-0 64-bit code.
    pub const HV_CS: u16 = 0xe008;
    /// Ring-0 data.
    pub const HV_DS: u16 = 0xe010;
    /// Ring-3 32-bit code (`FLAT_RING3_CS32`).
    pub const RING3_CS32: u16 = 0xe023;
    /// Ring-3 data (`FLAT_RING3_DS32`).
    pub const RING3_DS: u16 = 0xe02b;
    /// Ring-3 64-bit code (`FLAT_RING3_CS64`).
    pub const RING3_CS64: u16 = 0xe033;
    /// Ring-0 32-bit code.
    pub const HV_CS32: u16 = 0xe038;
    /// TSS.
    pub const TSS: u16 = 0xe040;
    /// The guest's LDT.
    pub const LDT: u16 = 0xe050;
}

const _: () = assert!(l4_slot(RO_MPT_VIRT_START) == 256);
const _: () = assert!(l4_slot(XEN_VIRT_START) == 261);
const _: () = assert!(l4_slot(DIRECTMAP_VIRT_START) == 262);
const _: () = assert!(l4_slot(DIRECTMAP_VIRT_END - 1) == HV_L4_LAST);
const _: () = assert!(sel::RING3_CS64 == pv_abi::abi::arch_x86::FLAT_RING3_CS64);
const _: () = assert!(sel::RING3_DS == pv_abi::abi::arch_x86::FLAT_RING3_SS64);
const _: () = assert!(sel::RING3_CS32 == pv_abi::abi::arch_x86::FLAT_RING3_CS32);

/// Where the local APIC's registers are mapped (uncached), in the
/// hypervisor's range (Xen's `IOREMAP_VIRT_START`).
pub const APIC_VIRT: u64 = 0xffff_82c0_0000_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ranges() {
        assert!(guest_range_ok(0x1000, 0x1000));
        assert!(guest_range_ok(0xffff_ffff_8000_0000, 0x1000));
        assert!(guest_range_ok(0xffff_8800_0000_0000, 8), "just above the hypervisor hole");
        assert!(guest_range_ok(0x7fff_ffff_f000, 0x1000), "ends at the top of the lower half");
        assert!(guest_range_ok(0, 0));
        assert!(!guest_range_ok(0xffff_8000_0000_0000, 8), "M2P/hypervisor range");
        assert!(!guest_range_ok(0xffff_7fff_ffff_fff8, 16), "non-canonical");
        assert!(!guest_range_ok(0xffff_87ff_ffff_fff8, 16), "straddles the hole's end");
        assert!(!guest_range_ok(0x7fff_ffff_fff8, 16), "runs into the non-canonical hole");
        assert!(!guest_range_ok(u64::MAX - 3, 8), "wraps");
        assert!(!guest_range_ok(0xffff_82d0_4000_0000, 1), "hypervisor image");
    }
}
