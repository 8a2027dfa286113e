//! dom0's memory: its own frames, its heap, and a window onto other
//! domains' frames - the PV way, through validated page-table updates.
//!
//! What dom0 knows at start of day (from `start_info`): its P2M list
//! (`mfn_list`, PFN → MFN), its bootstrap page tables (`pt_base`,
//! `nr_pt_frames`, mapped read-only inside the start-of-day region) and,
//! from the hypervisor's read-only M2P table (`XENMEM_machphys_mapping`,
//! at `0xffff800000000000`), MFN → PFN. Walking from the L4 it finds the
//! L2 that maps `[VIRT_BASE, VIRT_BASE + 1 GiB)`; the start-of-day region
//! `[VIRT_BASE, v_end)` uses its first entries and the rest are empty.
//!
//! dom0 owns every 2 MiB slot after `v_end` in that L2. To use one it
//! takes one of its free frames (frames above the region are mapped
//! nowhere), clears it through a one-page scratch mapping that is then
//! restored (so the frame is mapped writable nowhere), pins it with
//! `MMUEXT_PIN_L1_TABLE`, and installs it in the L2 entry with
//! `mmu_update` on the entry's machine address. From then on a page in
//! the slot is mapped with `mmu_update(ptr = l1 maddr + idx * 8 |
//! MMU_NORMAL_PT_UPDATE, val = mfn << 12 | flags, foreigndom)`: with
//! `foreigndom = DOMID_SELF` for dom0's own frames (the heap), with a
//! domU's id for that domU's frames ([`Window`]). The hypervisor checks
//! every such entry (ownership, privilege, page types) exactly as for a
//! guest's own page tables. Unmapping clears the entry and flushes the
//! TLB with `MMUEXT_INVLPG_LOCAL` (one page) or `MMUEXT_TLB_FLUSH_LOCAL`.

use crate::error::{Context, Error, Result};
use pv_abi::abi::xen::{
    MmuUpdate, MmuextOp, StartInfo, DOMID_SELF, MMUEXT_INVLPG_LOCAL, MMUEXT_PIN_L1_TABLE, MMUEXT_TLB_FLUSH_LOCAL,
    MMU_NORMAL_PT_UPDATE, UVMF_INVLPG, UVMF_LOCAL,
};
use pv_abi::kernel::KERNEL_VIRT_BASE;
use pv_abi::{hypercall, DomId};

/// Bytes per page.
pub const PAGE: u64 = 4096;
/// Entries per page-table page.
const ENTRIES: usize = 512;
/// Bytes mapped by one L1 table (one L2 entry).
pub const L1_SPAN: u64 = PAGE * ENTRIES as u64;
/// Frame-number bits of a page-table entry.
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Where Xen maps the read-only M2P for 64-bit PV guests
/// (`RO_MPT_VIRT_START`), if `XENMEM_machphys_mapping` does not say.
const RO_MPT_VIRT_START: u64 = 0xffff_8000_0000_0000;

/// PTE bits.
pub mod pte {
    /// Present.
    pub const PRESENT: u64 = 1 << 0;
    /// Writable.
    pub const RW: u64 = 1 << 1;
    /// User (64-bit PV kernels run in ring 3).
    pub const USER: u64 = 1 << 2;
    /// Accessed.
    pub const ACCESSED: u64 = 1 << 5;
    /// Dirty.
    pub const DIRTY: u64 = 1 << 6;
    /// A writable data page, or a non-leaf entry.
    pub const PAGE: u64 = PRESENT | RW | USER | ACCESSED | DIRTY;
}

/// Index of `va` in the page-table level whose entries span `1 << shift`.
fn index(va: u64, shift: u32) -> usize {
    ((va >> shift) & (ENTRIES as u64 - 1)) as usize
}

/// Reads entry `idx` of the page-table page mapped at `va`.
///
/// # Safety
/// `va` is a mapped, readable page (a page-table page mapped read-only
/// in the start-of-day region); the hypervisor may change its entries at
/// any time, hence the volatile read.
unsafe fn read_entry(va: u64, idx: usize) -> u64 {
    // SAFETY: in bounds (`idx < 512`); readability is the caller's contract.
    unsafe { core::ptr::read_volatile((va as *const u64).add(idx % ENTRIES)) }
}

fn mmu_update_one(ptr: u64, val: u64, dom: DomId, what: &'static str) -> Result {
    let req = MmuUpdate { ptr: ptr | MMU_NORMAL_PT_UPDATE as u64, val };
    // SAFETY: every entry dom0 writes this way lies in an L1 or L2 slot
    // after the start-of-day region that this module owns; no Rust object
    // lives at those addresses except what the slot's owner put there.
    unsafe { hypercall::mmu_update(core::slice::from_ref(&req), dom) }.map_err(|(_, e)| Error::Hv(what, e))
}

fn mmuext_one(cmd: u32, arg1: u64, what: &'static str) -> Result {
    let op = MmuextOp { cmd, _pad: 0, arg1, arg2: 0 };
    // SAFETY: pins and TLB flushes of dom0's own window frames; a flush
    // never changes what Rust sees, a pin only forbids writable mappings
    // of a frame dom0 no longer maps writable.
    unsafe { hypercall::mmuext_op(core::slice::from_ref(&op), DomId::SELF) }.map_err(|(_, e)| Error::Hv(what, e))
}

/// dom0's view of its own memory.
pub struct Mm {
    si: &'static StartInfo,
    p2m: &'static [u64],
    /// M2P: base address and number of entries.
    m2p: (u64, u64),
    /// PFNs `[0, region_pages)` are mapped at `VIRT_BASE + pfn * 4096`.
    region_pages: u64,
    /// Next frame above the region not yet handed out.
    next_pfn: u64,
    /// The L2 covering the region: machine address and (read-only) VA.
    l2_maddr: u64,
    l2_va: u64,
    /// Next free L2 slot.
    next_slot: usize,
}

impl Mm {
    /// Reads the layout and finds the L2 from `start_info`.
    pub fn new(si: &'static StartInfo) -> Result<Mm> {
        let nr_pages = si.nr_pages;
        if nr_pages == 0 || nr_pages > (1 << 28) {
            return Err(Error::Bad("start_info.nr_pages", nr_pages));
        }
        // SAFETY: the domain builder maps the P2M list at `mfn_list`,
        // `nr_pages` entries, in the start-of-day region; dom0 never writes
        // it and nothing else does.
        let p2m = unsafe { core::slice::from_raw_parts(si.mfn_list as *const u64, nr_pages as usize) };
        let m2p = match hypercall::machphys_mapping() {
            Ok(m) if m.v_end > m.v_start => (m.v_start, (m.max_mfn + 1).min((m.v_end - m.v_start) / 8)),
            // Without the call, only the frames dom0 owns are looked up
            // (each answer is checked against the P2M below).
            _ => (RO_MPT_VIRT_START, p2m.iter().copied().max().unwrap_or(0) + 1),
        };
        let mut mm = Mm { si, p2m, m2p, region_pages: 0, next_pfn: 0, l2_maddr: 0, l2_va: 0, next_slot: 0 };

        // Walk L4 -> L3 -> L2 for VIRT_BASE through the bootstrap tables.
        let mut table_va = si.pt_base;
        let mut maddr = 0;
        for shift in [39, 30] {
            // SAFETY: `table_va` is a bootstrap page-table page: the L4 at
            // `pt_base`, then one checked by `pt_va` to be in the region.
            let e = unsafe { read_entry(table_va, index(KERNEL_VIRT_BASE, shift)) };
            if e & pte::PRESENT == 0 {
                return Err(Error::Bad("start-of-day page tables do not map VIRT_BASE", e));
            }
            maddr = e & ADDR_MASK;
            table_va = mm.pt_va(maddr >> 12)?;
        }
        mm.l2_maddr = maddr;
        mm.l2_va = table_va;
        let first = index(KERNEL_VIRT_BASE, 21);
        // SAFETY: the L2 is a bootstrap page-table page (checked by pt_va).
        let used = (first..ENTRIES).take_while(|&i| unsafe { read_entry(mm.l2_va, i) } & pte::PRESENT != 0).count();
        mm.region_pages = used as u64 * ENTRIES as u64;
        mm.next_slot = first + used;
        mm.next_pfn = mm.region_pages;
        let pt_end = (si.pt_base - KERNEL_VIRT_BASE) / PAGE + si.nr_pt_frames;
        if mm.region_pages > nr_pages || mm.region_pages <= pt_end + 1 {
            return Err(Error::Bad("start-of-day region size (pages)", mm.region_pages));
        }
        Ok(mm)
    }

    /// The frame of `mfn` through the M2P, checked against the P2M.
    pub fn m2p(&self, mfn: u64) -> Result<u64> {
        if mfn >= self.m2p.1 {
            return Err(Error::Bad("MFN beyond the M2P", mfn));
        }
        // SAFETY: the M2P is mapped read-only at `m2p.0` for `m2p.1`
        // entries (XENMEM_machphys_mapping); the hypervisor updates it
        // concurrently, hence volatile.
        let pfn = unsafe { core::ptr::read_volatile((self.m2p.0 as *const u64).add(mfn as usize)) };
        match self.p2m.get(pfn as usize) {
            Some(&m) if m == mfn => Ok(pfn),
            _ => Err(Error::Bad("M2P entry does not match dom0's P2M for MFN", mfn)),
        }
    }

    /// The virtual address of bootstrap page-table frame `mfn`.
    fn pt_va(&self, mfn: u64) -> Result<u64> {
        let pfn = self.m2p(mfn)?;
        let first = (self.si.pt_base - KERNEL_VIRT_BASE) / PAGE;
        if !(first..first + self.si.nr_pt_frames).contains(&pfn) {
            return Err(Error::Bad("page-table frame outside the bootstrap tables (pfn)", pfn));
        }
        Ok(KERNEL_VIRT_BASE + pfn * PAGE)
    }

    /// The MFN of one of dom0's own frames.
    pub fn mfn(&self, pfn: u64) -> u64 {
        self.p2m[pfn.min(self.nr_pages() - 1) as usize]
    }

    /// Pages the domain has.
    pub fn nr_pages(&self) -> u64 {
        self.p2m.len() as u64
    }

    /// Pages of the start-of-day region.
    pub fn region_pages(&self) -> u64 {
        self.region_pages
    }

    /// Frames not handed out yet.
    pub fn free_frames(&self) -> u64 {
        self.nr_pages() - self.next_pfn
    }

    /// Takes a free frame (mapped nowhere); returns its MFN.
    fn take_frame(&mut self) -> Result<u64> {
        let mfn = *self.p2m.get(self.next_pfn as usize).ok_or(Error::Bad("dom0 out of frames", self.next_pfn))?;
        self.next_pfn += 1;
        Ok(mfn)
    }

    /// Zeroes frame `mfn` through the scratch page (the region's last page,
    /// unused padding after the boot stack), then restores the scratch
    /// page's own mapping, so `mfn` is left mapped nowhere.
    fn zero_frame(&self, mfn: u64) -> Result {
        let pfn = self.region_pages - 1;
        let va = KERNEL_VIRT_BASE + pfn * PAGE;
        let own = self.p2m[pfn as usize];
        // SAFETY: the scratch page is padding of the start-of-day region
        // that nothing in dom0 uses; it is remapped back below.
        unsafe { hypercall::update_va_mapping(va, (mfn << 12) | pte::PAGE, UVMF_INVLPG | UVMF_LOCAL) }
            .ctx("update_va_mapping (scratch)")?;
        // SAFETY: the page at `va` is now `mfn`, mapped writable, and
        // nothing else refers to it.
        unsafe { core::ptr::write_bytes(va as *mut u8, 0, PAGE as usize) };
        // SAFETY: restores the scratch page's original mapping.
        unsafe { hypercall::update_va_mapping(va, (own << 12) | pte::PAGE, UVMF_INVLPG | UVMF_LOCAL) }
            .ctx("update_va_mapping (scratch restore)")
    }

    /// Builds an empty L1 table, pins it and hooks it into the next free
    /// L2 slot. Returns the table's MFN and the slot's virtual address.
    fn new_l1(&mut self) -> Result<(u64, u64)> {
        let slot = self.next_slot;
        if slot >= ENTRIES {
            return Err(Error::Bad("no free L2 slot after the start-of-day region", slot as u64));
        }
        // SAFETY: the L2 is a mapped bootstrap page-table page.
        let old = unsafe { read_entry(self.l2_va, slot) };
        if old & pte::PRESENT != 0 {
            return Err(Error::Bad("L2 slot after the region is already in use", old));
        }
        let mfn = self.take_frame()?;
        self.zero_frame(mfn)?;
        mmuext_one(MMUEXT_PIN_L1_TABLE, mfn, "MMUEXT_PIN_L1_TABLE")?;
        mmu_update_one(self.l2_maddr + slot as u64 * 8, (mfn << 12) | pte::PAGE, DomId::SELF, "mmu_update (L2 entry)")?;
        self.next_slot += 1;
        let va = KERNEL_VIRT_BASE + (slot - index(KERNEL_VIRT_BASE, 21)) as u64 * L1_SPAN;
        Ok((mfn, va))
    }

    /// Maps `pages` of dom0's free frames at consecutive addresses after
    /// the region (whole L1 tables); returns the start and length in bytes.
    pub fn map_own_pages(&mut self, pages: usize) -> Result<(u64, usize)> {
        let tables = pages.div_ceil(ENTRIES);
        let mut start = 0;
        let mut reqs = [MmuUpdate { ptr: 0, val: 0 }; ENTRIES];
        for t in 0..tables {
            let (l1, va) = self.new_l1()?;
            if t == 0 {
                start = va;
            }
            let n = (pages - t * ENTRIES).min(ENTRIES);
            for (i, r) in reqs[..n].iter_mut().enumerate() {
                let mfn = self.take_frame()?;
                *r = MmuUpdate {
                    ptr: ((l1 << 12) + i as u64 * 8) | MMU_NORMAL_PT_UPDATE as u64,
                    val: (mfn << 12) | pte::PAGE,
                };
            }
            // SAFETY: fills a fresh L1 of dom0's own slot with dom0's own
            // free frames; nothing refers to those addresses yet.
            unsafe { hypercall::mmu_update(&reqs[..n], DomId::SELF) }
                .map_err(|(_, e)| Error::Hv("mmu_update (own frames)", e))?;
        }
        Ok((start, pages * PAGE as usize))
    }

    /// A window of 512 page slots for mapping any domain's frames.
    pub fn new_window(&mut self) -> Result<Window> {
        let (l1, va) = self.new_l1()?;
        Ok(Window { l1_maddr: l1 << 12, va, used: [0; ENTRIES / 64] })
    }
}

/// A slot of a [`Window`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot(usize);

/// 512 page slots (2 MiB of dom0's address space, one L1 table) where
/// any domain's frames are mapped on demand.
pub struct Window {
    l1_maddr: u64,
    va: u64,
    used: [u64; ENTRIES / 64],
}

impl Window {
    /// Maps frame `mfn` of `dom` writable in a free slot. The hypervisor
    /// checks that dom0 may (privilege over `dom`, `dom` owns `mfn`, the
    /// frame is not a page table).
    pub fn map(&mut self, dom: DomId, mfn: u64) -> Result<Slot> {
        let idx = (0..ENTRIES).find(|&i| self.used[i / 64] & (1 << (i % 64)) == 0);
        let idx = idx.ok_or(Error::Bad("foreign-mapping window full", ENTRIES as u64))?;
        let dom = if dom == DomId::DOM0 { DomId(DOMID_SELF) } else { dom };
        mmu_update_one(self.l1_maddr + idx as u64 * 8, (mfn << 12) | pte::PAGE, dom, "mmu_update (map foreign frame)")?;
        self.used[idx / 64] |= 1 << (idx % 64);
        Ok(Slot(idx))
    }

    /// The virtual address of a slot.
    pub fn va(&self, slot: Slot) -> *mut u8 {
        (self.va + slot.0 as u64 * PAGE) as *mut u8
    }

    /// Slots in use.
    pub fn in_use(&self) -> u32 {
        self.used.iter().map(|w| w.count_ones()).sum()
    }

    /// Unmaps `slots` and flushes them from the TLB. Callers must hold no
    /// reference into the pages.
    pub fn unmap(&mut self, slots: &[Slot]) -> Result {
        for chunk in slots.chunks(64) {
            let mut reqs = [MmuUpdate { ptr: 0, val: 0 }; 64];
            for (r, s) in reqs.iter_mut().zip(chunk) {
                if self.used[s.0 / 64] & (1 << (s.0 % 64)) == 0 {
                    return Err(Error::Bad("unmapping a free window slot", s.0 as u64));
                }
                *r = MmuUpdate { ptr: (self.l1_maddr + s.0 as u64 * 8) | MMU_NORMAL_PT_UPDATE as u64, val: 0 };
            }
            // SAFETY: clears window entries; the caller holds no reference
            // into them.
            unsafe { hypercall::mmu_update(&reqs[..chunk.len()], DomId::SELF) }
                .map_err(|(_, e)| Error::Hv("mmu_update (unmap foreign frame)", e))?;
            for s in chunk {
                self.used[s.0 / 64] &= !(1 << (s.0 % 64));
            }
        }
        match slots {
            [] => Ok(()),
            [one] => mmuext_one(MMUEXT_INVLPG_LOCAL, self.va + one.0 as u64 * PAGE, "MMUEXT_INVLPG_LOCAL"),
            _ => mmuext_one(MMUEXT_TLB_FLUSH_LOCAL, 0, "MMUEXT_TLB_FLUSH_LOCAL"),
        }
    }
}
