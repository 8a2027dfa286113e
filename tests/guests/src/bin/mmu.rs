//! The PV MMU seen from a guest: builds a new four-level table with a new
//! mapping, pins it and switches to it, maps and unmaps pages, and checks
//! that every refusal comes back as Xen's error.
#![no_std]
#![no_main]

use pv_abi::abi::errno::{Errno, EBUSY, EINVAL, EPERM};
use pv_abi::abi::xen::*;
use pv_abi::{hypercall, kprintln, DomId};
use test_guests::mem::{pte, Mem};
use test_guests::{check, check_eq, pass};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const NAME: &str = "mmu";
/// A new mapping in the lower half, reached only through the new L4.
const TEST_VA: u64 = 0x0000_0080_0000_0000;
const EINV: Result<(), Errno> = Err(Errno(EINVAL));
/// Xen's answer for an L1 entry naming a frame that is not ours or cannot
/// be writable (`get_page_from_l1e`).
const EBSY: Result<(), Errno> = Err(Errno(EBUSY));

fn uvm(va: u64, val: u64) -> Result<(), Errno> {
    // SAFETY: the test only remaps its own test addresses and scratch page.
    unsafe { hypercall::update_va_mapping(va, val, UVMF_INVLPG | UVMF_LOCAL) }
}

fn ext(cmd: u32, mfn: u64) -> Result<(), Errno> {
    // SAFETY: pins/unpins and base-pointer switches of the test's own tables.
    unsafe { hypercall::mmuext(cmd, mfn, 0) }
}

/// One `mmu_update` request the hypervisor is expected to refuse (or that
/// only touches the test's own sacrificial state).
fn mmu1(u: MmuUpdate, d: DomId) -> hypercall::BatchResult {
    // SAFETY: every request passed here is refused, or changes only
    // frames this test owns and never uses.
    unsafe { hypercall::mmu_update(&[u], d) }
}

fn main(si: &'static StartInfo) -> ! {
    let mut m = Mem::new(si);
    let boot_l4 = m.boot_l4_mfn();

    // Build L4' -> L3 -> L2 -> L1 -> data for TEST_VA.
    let (l4, l3, l2, l1, data, data2) = (m.alloc(), m.alloc(), m.alloc(), m.alloc(), m.alloc(), m.alloc());
    let mfn = |p| m.mfn(p);
    m.with_page(data, |p| p.fill(0x5a5a_5a5a_5a5a_5a5a)).unwrap();
    m.with_page(data2, |p| p.fill(0x1234)).unwrap();
    m.with_page(l1, |p| {
        p.fill(0);
        p[0] = (mfn(data) << 12) | pte::PAGE;
    })
    .unwrap();
    m.with_page(l2, |p| {
        p.fill(0);
        p[0] = (mfn(l1) << 12) | pte::PAGE;
    })
    .unwrap();
    m.with_page(l3, |p| {
        p.fill(0);
        p[0] = (mfn(l2) << 12) | pte::PAGE;
    })
    .unwrap();
    // SAFETY: the boot L4 is mapped read-only at pt_base.
    let cur: [u64; 512] = unsafe { core::ptr::read(m.l4_va() as *const [u64; 512]) };
    m.with_page(l4, |p| {
        p.fill(0);
        for i in (0..256).chain(272..512) {
            p[i] = cur[i];
        }
        p[1] = (mfn(l3) << 12) | pte::PAGE; // TEST_VA's slot
    })
    .unwrap();

    check_eq!(NAME, ext(MMUEXT_PIN_L4_TABLE, mfn(l4)), Ok(()), "pin the new L4");
    check_eq!(NAME, ext(MMUEXT_PIN_L4_TABLE, mfn(l4)), EINV, "double pin");
    check_eq!(NAME, ext(MMUEXT_NEW_BASEPTR, mfn(l4)), Ok(()), "switch to the new L4");
    // SAFETY: TEST_VA is mapped through the new L4 to the data page.
    let v = unsafe { core::ptr::read_volatile(TEST_VA as *const u64) };
    check_eq!(NAME, v, 0x5a5a_5a5a_5a5a_5a5a, "read through the new mapping");
    kprintln!("{NAME}: running on a new L4, TEST_VA reads {v:#x}");

    // Map and unmap a second page next to it.
    check_eq!(NAME, uvm(TEST_VA + 4096, (mfn(data2) << 12) | pte::PAGE), Ok(()), "map");
    // SAFETY: just mapped.
    let v2 = unsafe { core::ptr::read_volatile((TEST_VA + 4096) as *const u64) };
    check_eq!(NAME, v2, 0x1234, "read the new page");
    check_eq!(NAME, uvm(TEST_VA + 4096, 0), Ok(()), "unmap");

    // Refusals.
    check_eq!(NAME, uvm(TEST_VA, (mfn(l1) << 12) | pte::PAGE), EBSY, "writable mapping of a page table");
    check_eq!(NAME, uvm(TEST_VA, (mfn(l4) << 12) | pte::PAGE), EBSY, "writable mapping of the L4");
    check_eq!(
        NAME,
        uvm(TEST_VA, (mfn(l1) << 12) | pte::P | pte::US),
        Ok(()),
        "read-only mapping of a page table is fine"
    );
    check_eq!(NAME, uvm(TEST_VA, (0x100 << 12) | pte::P), EBSY, "a hypervisor frame");
    check_eq!(NAME, uvm(TEST_VA, (0xf_ffff_ffff << 12) | pte::P), Err(Errno(EPERM)), "a frame beyond memory");
    check_eq!(NAME, uvm(TEST_VA, (mfn(data) << 12) | pte::P | (1 << 52)), EINV, "a reserved bit");
    check_eq!(
        NAME,
        uvm(0xffff_8000_0000_1000, (mfn(data) << 12) | pte::P),
        EINV,
        "an address in the hypervisor's range"
    );
    check_eq!(NAME, uvm(TEST_VA, (mfn(data) << 12) | pte::PAGE), Ok(()), "map data back");
    let hv_slot = MmuUpdate { ptr: (mfn(l4) << 12) + 256 * 8, val: (mfn(l3) << 12) | pte::PAGE };
    check_eq!(NAME, mmu1(hv_slot, DomId::SELF), Err((0, Errno(EINVAL))), "an L4 hypervisor slot");
    let pse = MmuUpdate { ptr: (mfn(l2) << 12) + 8, val: (mfn(data) << 12) | pte::PAGE | pte::PSE };
    check_eq!(NAME, mmu1(pse, DomId::SELF), Err((0, Errno(EINVAL))), "a superpage");
    check_eq!(NAME, ext(MMUEXT_PIN_L1_TABLE, mfn(data)), EINV, "type change under a writable mapping");
    check_eq!(NAME, ext(MMUEXT_PIN_L2_TABLE, mfn(l1)), EINV, "an L1 as an L2");
    check_eq!(NAME, ext(MMUEXT_UNPIN_TABLE, mfn(l1)), EINV, "unpin of a table that is in use but not pinned");
    check_eq!(NAME, ext(MMUEXT_NEW_BASEPTR, mfn(data)), EINV, "a data page as the base pointer");

    // A batch that fails in the middle reports how far it got.
    let good = |i: u64| MmuUpdate { ptr: (mfn(l1) << 12) + 8 * (2 + i), val: (mfn(data2) << 12) | pte::P | pte::US };
    let bad = MmuUpdate { ptr: (mfn(l1) << 12) + 8 * 5, val: (mfn(l1) << 12) | pte::PAGE };
    // SAFETY: maps data2 read-only at TEST_VA + 8K/+16K; the bad entry is refused.
    let r = unsafe { hypercall::mmu_update(&[good(0), good(1), bad, good(2)], DomId::SELF) };
    check_eq!(NAME, r, Err((2, Errno(EBUSY))), "partial batch");
    // SAFETY: entries 2 and 3 map data2.
    let v3 = unsafe { core::ptr::read_volatile((TEST_VA + 3 * 4096) as *const u64) };
    check_eq!(NAME, v3, 0x1234, "the entries before the failure took effect");

    // Back to the boot table; the new L4 can then be unpinned, and once no
    // longer a table its frame may be mapped writable again.
    check_eq!(NAME, ext(MMUEXT_NEW_BASEPTR, boot_l4), Ok(()), "switch back");
    check_eq!(NAME, m.with_page(l4, |_| ()), EBSY, "still pinned: not writable");
    check_eq!(NAME, ext(MMUEXT_UNPIN_TABLE, mfn(l4)), Ok(()), "unpin");
    check_eq!(NAME, ext(MMUEXT_UNPIN_TABLE, mfn(l4)), EINV, "unpin twice");
    check!(
        NAME,
        m.with_page(l4, |p| p[1] & !0xfff == mfn(l3) << 12) == Ok(true),
        "the old L4 is an ordinary page again"
    );
    check!(NAME, m.with_page(l1, |_| ()).is_ok(), "so is its L1");
    pass(NAME)
}
