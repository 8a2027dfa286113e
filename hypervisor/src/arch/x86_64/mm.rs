//! The PV MMU: page types, reference counts and page-table validation,
//! with Xen's x86_64 PV semantics (`xen/arch/x86/mm.c`).
//!
//! Invariants (the security core; every transition is unit-tested below):
//!
//! 1. Every frame has one type at a time: none, L1..L4 page table,
//!    segment-descriptor page, or writable. The type can change only while
//!    its type count is zero. A writable mapping holds a `Writable` type
//!    reference, so a frame with a writable mapping can never become a page
//!    table, and a page table can never be mapped writable.
//! 2. A frame becomes a page table of level N only by validation: every
//!    present entry is checked (owner, flags, no superpages) and takes a
//!    reference on its target — a general reference plus, for level N > 1,
//!    a type reference of level N-1 on the target, and for L1 entries with
//!    RW a `Writable` type reference. When the type count drops to zero the
//!    table is devalidated: every entry's references are released.
//! 3. References come from: present entries of validated tables, pins
//!    (`MMUEXT_PIN_*`, one general + one type reference), and the vCPU's
//!    base pointers (`NEW_BASEPTR`/`NEW_USER_BASEPTR`). A frame is freed
//!    only at general count zero.
//! 4. Linear page tables are refused: an entry of a level-N table must
//!    point at a level-(N-1) table, and a frame has one type, so no table
//!    can (directly or indirectly) reference itself. Xen allows a one-level
//!    linear mapping; Linux does not need it, and refusing it removes a
//!    class of bugs (XSA-240).
//! 5. The hypervisor's L4 slots (256..=271) are installed by validation and
//!    can never be changed through an update; a guest cannot map anything
//!    into the hypervisor's range.
//! 6. Any type change away from `Writable` flushes the TLB before the
//!    hypervisor or the guest touches memory again, so no stale writable
//!    translation survives into a page table's life.
//! 7. Changing an entry always re-validates it in full unless only the
//!    accessed/dirty bits differ (XSA-182: a flag change is a new entry).

use super::layout::{HV_L4_FIRST, HV_L4_LAST};
use super::paging::pte;
use crate::common::frame::{FrameTable, Owner, PageFlags, PageType};
use crate::common::phys::PhysMem;
use crate::common::Hw;
use pv_abi::abi::errno::{Errno, EBUSY, EINVAL, EPERM};
use pv_abi::{DomId, Mfn};

/// Flag bits allowed in an L1 entry (plus the address), for a domain
/// without I/O privileges. Cache attributes (PWT, PCD, PAT) are refused as
/// in Xen's `L1_DISALLOW_MASK`; GLOBAL is accepted but stripped (see
/// [`adjust_l1e`]); the available bits 9..11 and NX pass through.
pub const L1_ALLOWED: u64 =
    pte::PRESENT | pte::RW | pte::USER | pte::ACCESSED | pte::DIRTY | pte::GLOBAL | (7 << 9) | pte::NX;
/// Cache-attribute bits, allowed in L1 entries of a privileged domain.
pub const CACHE_ATTRS: u64 = pte::PWT | pte::PCD | pte::PSE;
/// Flag bits allowed in L2..L4 entries: no PSE (superpages are not
/// supported), no cache attributes, no GLOBAL.
pub const LN_ALLOWED: u64 = pte::PRESENT | pte::RW | pte::USER | pte::ACCESSED | pte::DIRTY | (7 << 9) | pte::NX;

/// The local APIC's frame (the hypervisor's timer): never mapped by a guest.
pub const LAPIC_MFN: u64 = 0xfee00;

fn einval() -> Errno {
    Errno(EINVAL)
}

/// The MMU's view of the machine for one operation: who is asking, whose
/// page tables and frames are involved, and where effects go.
pub struct Mm<'a> {
    /// Frame ownership and types.
    pub frames: &'a mut FrameTable,
    /// Frame contents.
    pub phys: &'a mut PhysMem,
    /// The hypervisor's own L4: slots 256..=271 are copied from it.
    pub idle_l4: Mfn,
    /// The CPU (TLB flushes).
    pub tlb: &'a dyn Hw,
    /// Owner of the frames that entries may point at (the caller, or a
    /// foreign domain for a privileged builder).
    pub pg_owner: DomId,
    /// Cache attributes allowed in L1 entries (privileged domains).
    pub allow_cache_attrs: bool,
    /// A type changed away from `Writable`: flush before anyone uses a
    /// stale translation (see [`Mm::finish`]).
    pub need_flush: bool,
}

impl<'a> Mm<'a> {
    /// The MMU context for work on `pg_owner`'s frames, as the hypervisor
    /// itself (cache attributes allowed only for a privileged owner).
    pub fn of(hv: &'a mut crate::common::Hv, pg_owner: DomId) -> Mm<'a> {
        let allow_cache_attrs = hv.domains.get(pg_owner).is_some_and(|d| d.privileged);
        Mm {
            frames: &mut hv.frames,
            phys: &mut hv.phys,
            idle_l4: hv.arch.idle_l4,
            tlb: hv.hw,
            pg_owner,
            allow_cache_attrs,
            need_flush: false,
        }
    }
}

impl Mm<'_> {
    // ---- references ------------------------------------------------------

    /// Takes a general reference on a frame owned by `owner`.
    pub fn get_page(&mut self, mfn: Mfn, owner: DomId) -> Result<(), Errno> {
        let p = self.frames.get_mut(mfn).ok_or_else(einval)?;
        if p.owner() != Owner::Domain(owner) {
            return Err(einval());
        }
        p.count = p.count.checked_add(1).ok_or_else(einval)?;
        Ok(())
    }

    /// Drops a general reference.
    pub fn put_page(&mut self, mfn: Mfn) {
        let p = self.frames.get_mut(mfn).expect("put_page on a frame outside the table");
        assert!(p.count > 0, "general reference count underflow on {mfn:?}");
        p.count -= 1;
        if p.count == 0 && p.type_count == 0 && p.flags().contains(PageFlags::ORPHAN) {
            // The last reference to a dead domain's frame.
            let _ = self.frames.free(mfn);
            self.frames.orphan_freed = true;
        }
    }

    /// Takes a type reference of `ty` (validating the frame if it becomes a
    /// page table). The caller holds a general reference.
    pub fn get_page_type(&mut self, mfn: Mfn, ty: PageType) -> Result<(), Errno> {
        let p = self.frames.get_mut(mfn).ok_or_else(einval)?;
        if p.type_count > 0 {
            if p.ty() != ty {
                return Err(einval());
            }
            p.type_count = p.type_count.checked_add(1).ok_or_else(einval)?;
            return Ok(());
        }
        // Type count zero: the frame may take any type.
        let old = p.ty();
        p.set_ty(ty);
        p.type_count = 1;
        p.set_flags(p.flags() - PageFlags::VALIDATED);
        if old == PageType::Writable && ty != PageType::Writable {
            self.need_flush = true;
        }
        let validated = match ty {
            PageType::SegDesc => super::pv::descriptors::validate_descriptor_page(self, mfn),
            t => match t.pt_level() {
                Some(level) => self.validate(mfn, level),
                None => Ok(()),
            },
        };
        if let Err(e) = validated {
            let p = self.frames.get_mut(mfn).expect("frame checked above");
            p.type_count = 0;
            p.set_ty(PageType::None);
            return Err(e);
        }
        let p = self.frames.get_mut(mfn).expect("frame checked above");
        p.set_flags(p.flags() | PageFlags::VALIDATED);
        Ok(())
    }

    /// Drops a type reference; a page table whose count reaches zero is
    /// devalidated (its entries' references released).
    pub fn put_page_type(&mut self, mfn: Mfn) {
        let p = self.frames.get_mut(mfn).expect("put_page_type on a frame outside the table");
        assert!(p.type_count > 0, "type count underflow on {mfn:?}");
        p.type_count -= 1;
        if p.type_count == 0 {
            let ty = p.ty();
            p.set_flags(p.flags() - PageFlags::VALIDATED);
            if let Some(level) = ty.pt_level() {
                self.devalidate(mfn, level);
            }
        }
    }

    /// General plus type reference.
    pub fn get_page_and_type(&mut self, mfn: Mfn, owner: DomId, ty: PageType) -> Result<(), Errno> {
        self.get_page(mfn, owner)?;
        if let Err(e) = self.get_page_type(mfn, ty) {
            self.put_page(mfn);
            return Err(e);
        }
        Ok(())
    }

    /// Drops a type then a general reference.
    pub fn put_page_and_type(&mut self, mfn: Mfn) {
        self.put_page_type(mfn);
        self.put_page(mfn);
    }

    /// Whether `mfn` is I/O memory rather than RAM: a frame the frame table
    /// marks reserved (firmware, holes) or beyond it. Such frames have no
    /// reference counts; only a privileged domain may map them (as dom0
    /// maps the BIOS tables and device memory), never the local APIC.
    pub fn is_io(&self, mfn: Mfn) -> bool {
        mfn.0 >= self.frames.len() || self.frames.owner(mfn) == Owner::Reserved
    }

    // ---- entries ------------------------------------------------------------

    /// Checks a new entry of a level-`level` table and takes the references
    /// it holds. Returns the entry as it will be stored (see [`adjust_l1e`]).
    pub fn get_entry(&mut self, level: u8, e: u64) -> Result<u64, Errno> {
        if e & pte::PRESENT == 0 {
            return Ok(e);
        }
        let target = pte::mfn(e);
        let owner = self.pg_owner;
        if level == 1 {
            let mut allowed = L1_ALLOWED | pte::ADDR_MASK;
            if self.allow_cache_attrs {
                allowed |= CACHE_ATTRS;
            }
            if e & !allowed != 0 {
                return Err(einval());
            }
            if self.is_io(target) {
                if !self.allow_cache_attrs || target.0 == LAPIC_MFN || target.0 >= self.frames.max_io_mfn {
                    return Err(Errno(EPERM));
                }
                return Ok(adjust_l1e(e));
            }
            // As Xen's get_page_from_l1e: a frame of the wrong owner, or
            // one that cannot be writable, is -EBUSY.
            self.get_page(target, owner).map_err(|_| Errno(EBUSY))?;
            if e & pte::RW != 0 && self.get_page_type(target, PageType::Writable).is_err() {
                self.put_page(target);
                return Err(Errno(EBUSY));
            }
            Ok(adjust_l1e(e))
        } else {
            if e & !(LN_ALLOWED | pte::ADDR_MASK) != 0 {
                return Err(einval());
            }
            self.get_page_and_type(target, owner, PageType::of_level(level - 1))?;
            Ok(e | pte::USER)
        }
    }

    /// Releases the references a stored entry holds.
    pub fn put_entry(&mut self, level: u8, e: u64) {
        if e & pte::PRESENT == 0 {
            return;
        }
        let target = pte::mfn(e);
        if level == 1 {
            if e & pte::GNTTAB != 0 {
                // A grant mapping: its references belong to the grant
                // table. Dropping it this way is the guest's error.
                self.frames.implicit_grant_unmaps += 1;
                return;
            }
            if self.is_io(target) {
                return;
            }
            if e & pte::RW != 0 {
                self.put_page_type(target);
            }
            self.put_page(target);
        } else {
            self.put_page_and_type(target);
        }
    }

    fn guest_slots(level: u8) -> impl Iterator<Item = usize> {
        (0..512).filter(move |&i| level != 4 || !(HV_L4_FIRST..=HV_L4_LAST).contains(&i))
    }

    /// Validates every entry of a table, rolling back on the first bad one.
    fn validate(&mut self, mfn: Mfn, level: u8) -> Result<(), Errno> {
        for i in Self::guest_slots(level) {
            let e = self.phys.read_u64(mfn, i);
            match self.get_entry(level, e) {
                Ok(stored) => {
                    if stored != e {
                        self.phys.write_u64(mfn, i, stored);
                    }
                }
                Err(err) => {
                    for j in Self::guest_slots(level).take_while(|&j| j < i) {
                        let e = self.phys.read_u64(mfn, j);
                        self.put_entry(level, e);
                    }
                    return Err(err);
                }
            }
        }
        if level == 4 {
            for i in HV_L4_FIRST..=HV_L4_LAST {
                let e = self.phys.read_u64(self.idle_l4, i);
                self.phys.write_u64(mfn, i, e);
            }
        }
        Ok(())
    }

    /// Releases every entry's references (the table is no longer one).
    fn devalidate(&mut self, mfn: Mfn, level: u8) {
        for i in Self::guest_slots(level) {
            let e = self.phys.read_u64(mfn, i);
            self.put_entry(level, e);
        }
        if level == 4 {
            // Do not leave the hypervisor's table addresses to the guest.
            for i in HV_L4_FIRST..=HV_L4_LAST {
                self.phys.write_u64(mfn, i, 0);
            }
        }
    }

    /// Replaces entry `idx` of the validated table `table` with `new`:
    /// the new entry is checked and referenced, the old one released.
    /// With `preserve_ad`, the old entry's accessed/dirty bits are kept.
    /// Returns the value written.
    pub fn mod_entry(&mut self, table: Mfn, idx: usize, new: u64, preserve_ad: bool) -> Result<u64, Errno> {
        let p = self.frames.get(table).ok_or_else(einval)?;
        let level = p.ty().pt_level().ok_or_else(einval)?;
        if p.type_count == 0 || !p.flags().contains(PageFlags::VALIDATED) || idx >= 512 {
            return Err(einval());
        }
        if level == 4 && (HV_L4_FIRST..=HV_L4_LAST).contains(&idx) {
            return Err(einval());
        }
        let old = self.phys.read_u64(table, idx);
        if level == 1 && old & pte::PRESENT != 0 && old & pte::GNTTAB != 0 {
            // Grant mappings go away through GNTTABOP_unmap_grant_ref only.
            return Err(einval());
        }
        let mut new = new;
        if preserve_ad {
            new |= old & (pte::ACCESSED | pte::DIRTY);
        }
        let ad = pte::ACCESSED | pte::DIRTY;
        let stored = if (old ^ new) & !ad == 0 && old & pte::PRESENT != 0 {
            // Only A/D differ: same target, same rights, no reference change.
            new
        } else {
            self.get_entry(level, new)?
        };
        self.phys.write_u64(table, idx, stored);
        if !((old ^ new) & !ad == 0 && old & pte::PRESENT != 0) {
            self.put_entry(level, old);
        }
        Ok(stored)
    }

    /// Flushes if a type change asked for it. Call before the guest or
    /// the hypervisor uses guest mappings again.
    pub fn finish(&mut self) {
        if self.need_flush {
            self.tlb.flush_tlb();
            self.need_flush = false;
        }
    }
}

/// What the hypervisor stores for a guest L1 entry: `_PAGE_USER` is forced
/// (the guest kernel runs in ring 3, as in Xen's `adjust_guest_l1e`) and
/// `_PAGE_GLOBAL` is stripped: a global guest translation would survive the
/// switch between the guest's kernel and user tables, and between domains.
pub fn adjust_l1e(e: u64) -> u64 {
    (e | pte::USER) & !pte::GLOBAL
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::common::frame::PageInfo;
    use crate::common::phys::test_phys;
    use crate::common::testutil::TestHw;
    use alloc::boxed::Box;
    use alloc::vec;

    pub const D: DomId = DomId(1);
    pub const OTHER: DomId = DomId(2);
    pub const IDLE_L4: Mfn = Mfn(1);

    /// A machine: frames 0..=1 hypervisor (1 = idle L4 with slots
    /// 256..=271 filled), 2..=63 owned by D, 64..=79 by OTHER, rest free.
    pub fn machine() -> (FrameTable, PhysMem, TestHw) {
        let mut ft = FrameTable::new(Box::leak(vec![PageInfo::RESERVED; 128].into_boxed_slice()));
        for m in (0..128).rev() {
            ft.release_reserved(Mfn(m)).unwrap();
        }
        let mut phys = test_phys(128);
        let mut owners = vec![];
        for m in 0..128u64 {
            owners.push(match m {
                0..=1 => Some(Owner::Hypervisor),
                2..=63 => Some(Owner::Domain(D)),
                64..=79 => Some(Owner::Domain(OTHER)),
                _ => None,
            });
        }
        // Allocation pops ascending mfns: take them all, free the unowned.
        let mut taken = vec![];
        while let Some(m) = ft.alloc(Owner::Hypervisor) {
            taken.push(m);
        }
        for m in taken {
            match owners[m.0 as usize] {
                Some(o) => ft.reassign(m, o).unwrap(),
                None => ft.free(m).unwrap(),
            }
        }
        for i in HV_L4_FIRST..=HV_L4_LAST {
            phys.write_u64(IDLE_L4, i, 0xdead_0000_0000_0003 + ((i as u64) << 12));
        }
        (ft, phys, TestHw::default())
    }

    pub fn mm<'a>(ft: &'a mut FrameTable, phys: &'a mut PhysMem, tlb: &'a TestHw) -> Mm<'a> {
        Mm { frames: ft, phys, idle_l4: IDLE_L4, tlb, pg_owner: D, allow_cache_attrs: false, need_flush: false }
    }

    pub fn l1e(mfn: u64, flags: u64) -> u64 {
        (mfn << 12) | flags
    }
    const RW: u64 = pte::PRESENT | pte::RW;
    const RO: u64 = pte::PRESENT;

    fn info(m: &Mm<'_>, mfn: u64) -> (PageType, u32, u32) {
        let p = m.frames.get(Mfn(mfn)).unwrap();
        (p.ty(), p.type_count, p.count)
    }

    #[test]
    fn l1_validation_takes_and_releases_references() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        m.phys.write_u64(Mfn(10), 0, l1e(20, RW));
        m.phys.write_u64(Mfn(10), 1, l1e(21, RO));
        m.phys.write_u64(Mfn(10), 2, l1e(20, RO));
        m.get_page_and_type(Mfn(10), D, PageType::L1).unwrap();
        assert_eq!(info(&m, 10), (PageType::L1, 1, 1));
        assert_eq!(info(&m, 20), (PageType::Writable, 1, 2), "one RW + one RO mapping");
        assert_eq!(info(&m, 21), (PageType::None, 0, 1));
        // Stored entries gained USER.
        assert_ne!(m.phys.read_u64(Mfn(10), 0) & pte::USER, 0);
        m.put_page_and_type(Mfn(10));
        assert_eq!(info(&m, 10), (PageType::L1, 0, 0));
        assert_eq!(info(&m, 20), (PageType::Writable, 0, 0));
        assert_eq!(info(&m, 21), (PageType::None, 0, 0));
        assert_eq!(m.frames.audit().unwrap().domains, 62 + 16);
    }

    #[test]
    fn a_page_table_cannot_be_mapped_writable() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        m.get_page_and_type(Mfn(11), D, PageType::L1).unwrap(); // empty L1
                                                                // Another L1 that maps frame 11 RW: refused; RO: fine.
        m.phys.write_u64(Mfn(12), 0, l1e(11, RW));
        assert_eq!(m.get_page_and_type(Mfn(12), D, PageType::L1), Err(Errno(EBUSY)));
        assert_eq!(info(&m, 12), (PageType::None, 0, 0), "failed validation leaves no references");
        assert_eq!(info(&m, 11), (PageType::L1, 1, 1));
        m.phys.write_u64(Mfn(12), 0, l1e(11, RO));
        m.get_page_and_type(Mfn(12), D, PageType::L1).unwrap();
        assert_eq!(info(&m, 11), (PageType::L1, 1, 2));
    }

    #[test]
    fn a_writably_mapped_page_cannot_become_a_page_table() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        m.phys.write_u64(Mfn(10), 0, l1e(30, RW));
        m.get_page_and_type(Mfn(10), D, PageType::L1).unwrap();
        assert_eq!(
            m.get_page_and_type(Mfn(30), D, PageType::L1),
            Err(Errno(EINVAL)),
            "type change under a non-zero count"
        );
        assert_eq!(m.get_page_and_type(Mfn(30), D, PageType::L2), Err(Errno(EINVAL)));
        // Unmap it: now it may become a table, and the TLB is flushed.
        m.mod_entry(Mfn(10), 0, 0, false).unwrap();
        assert_eq!(info(&m, 30), (PageType::Writable, 0, 0));
        m.get_page_and_type(Mfn(30), D, PageType::L1).unwrap();
        assert!(m.need_flush);
        m.finish();
        assert!(tlb.saw("flush"));
    }

    #[test]
    fn foreign_and_out_of_range_frames_are_refused() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        for bad in [l1e(70, RO), l1e(1, RO), l1e(100, RO), l1e(0xfffff, RO), l1e(0, RO)] {
            m.phys.write_u64(Mfn(10), 5, bad);
            // Xen's codes: someone else's RAM is -EBUSY, I/O memory for an
            // unprivileged domain -EPERM.
            let r = m.get_page_and_type(Mfn(10), D, PageType::L1);
            assert!(matches!(r, Err(Errno(EBUSY | EPERM))), "entry {bad:#x}: {r:?}");
        }
        // Not owned by the caller: cannot even take the table.
        assert_eq!(m.get_page_and_type(Mfn(70), D, PageType::L1), Err(Errno(EINVAL)));
        // A privileged builder working on OTHER may map OTHER's frames.
        m.pg_owner = OTHER;
        m.phys.write_u64(Mfn(71), 0, l1e(72, RW));
        m.get_page_and_type(Mfn(71), OTHER, PageType::L1).unwrap();
    }

    #[test]
    fn reserved_and_disallowed_bits_are_refused() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        m.get_page_and_type(Mfn(10), D, PageType::L1).unwrap();
        for bad in [
            l1e(20, RO | pte::PCD),
            l1e(20, RO | pte::PWT),
            l1e(20, RO | pte::PSE), // PAT in an L1
            l1e(20, RO) | (1 << 52),
            l1e(20, RO) | (1 << 62),
        ] {
            assert_eq!(m.mod_entry(Mfn(10), 0, bad, false), Err(Errno(EINVAL)), "entry {bad:#x}");
        }
        assert_eq!(info(&m, 20), (PageType::None, 0, 0));
        m.allow_cache_attrs = true;
        m.mod_entry(Mfn(10), 0, l1e(20, RO | pte::PCD), false).unwrap();
        // GLOBAL is accepted and stripped.
        let v = m.mod_entry(Mfn(10), 1, l1e(21, RO | pte::GLOBAL), false).unwrap();
        assert_eq!(v & pte::GLOBAL, 0);
        // Superpages and cache bits in upper levels.
        m.get_page_and_type(Mfn(11), D, PageType::L2).unwrap();
        assert_eq!(m.mod_entry(Mfn(11), 0, l1e(10, RO | pte::PSE), false), Err(Errno(EINVAL)));
        assert_eq!(m.mod_entry(Mfn(11), 0, l1e(10, RO | pte::GLOBAL), false), Err(Errno(EINVAL)));
        assert_eq!(m.mod_entry(Mfn(11), 0, l1e(10, RO | pte::PCD), false), Err(Errno(EINVAL)));
    }

    #[test]
    fn four_levels_and_hypervisor_slots() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        // L4 40 -> L3 41 -> L2 42 -> L1 43 -> data 44 (RW)
        m.phys.write_u64(Mfn(43), 0, l1e(44, RW));
        m.phys.write_u64(Mfn(42), 0, l1e(43, RW));
        m.phys.write_u64(Mfn(41), 0, l1e(42, RW));
        m.phys.write_u64(Mfn(40), 0, l1e(41, RW));
        m.phys.write_u64(Mfn(40), 300, l1e(41, RW)); // L3 reused from two L4 slots: fine
        m.phys.write_u64(Mfn(40), 260, l1e(44, RW)); // junk in a hypervisor slot: overwritten
        m.get_page_and_type(Mfn(40), D, PageType::L4).unwrap();
        assert_eq!(info(&m, 41), (PageType::L3, 2, 2));
        assert_eq!(info(&m, 42), (PageType::L2, 1, 1));
        assert_eq!(info(&m, 43), (PageType::L1, 1, 1));
        assert_eq!(info(&m, 44), (PageType::Writable, 1, 1));
        for i in HV_L4_FIRST..=HV_L4_LAST {
            assert_eq!(m.phys.read_u64(Mfn(40), i), m.phys.read_u64(IDLE_L4, i));
        }
        // The hypervisor slots cannot be changed.
        assert_eq!(m.mod_entry(Mfn(40), 256, 0, false), Err(Errno(EINVAL)));
        assert_eq!(m.mod_entry(Mfn(40), 271, l1e(41, RW), false), Err(Errno(EINVAL)));
        // Levels must match: an L4 entry at an L1 is refused (type clash).
        assert_eq!(m.mod_entry(Mfn(40), 1, l1e(43, RW), false), Err(Errno(EINVAL)));
        // Self-reference (linear page table) is refused.
        assert_eq!(m.mod_entry(Mfn(40), 2, l1e(40, RW), false), Err(Errno(EINVAL)));
        assert_eq!(m.mod_entry(Mfn(42), 2, l1e(42, RW), false), Err(Errno(EINVAL)));
        // Tear down: everything unwinds and the hypervisor slots are cleared.
        m.put_page_and_type(Mfn(40));
        for mfn in 40..=44 {
            assert_eq!(info(&m, mfn).1, 0);
            assert_eq!(info(&m, mfn).2, 0);
        }
        assert_eq!(m.phys.read_u64(Mfn(40), 256), 0);
    }

    #[test]
    fn failed_validation_deep_in_the_tree_rolls_back() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        m.phys.write_u64(Mfn(43), 0, l1e(44, RW));
        m.phys.write_u64(Mfn(43), 1, l1e(70, RO)); // foreign: bad
        m.phys.write_u64(Mfn(42), 0, l1e(43, RW));
        m.phys.write_u64(Mfn(41), 0, l1e(42, RW));
        m.phys.write_u64(Mfn(40), 0, l1e(41, RW));
        assert_eq!(m.get_page_and_type(Mfn(40), D, PageType::L4), Err(Errno(EBUSY)));
        for mfn in 40..=44 {
            let (ty, tc, c) = info(&m, mfn);
            assert_eq!((tc, c), (0, 0), "frame {mfn} kept references ({ty:?})");
        }
        assert_eq!(m.phys.read_u64(Mfn(40), 256), 0, "hypervisor slots not installed on failure");
    }

    #[test]
    fn mod_entry_fast_path_is_only_for_accessed_dirty() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        m.phys.write_u64(Mfn(10), 0, l1e(20, RO));
        m.get_page_and_type(Mfn(10), D, PageType::L1).unwrap();
        // Setting A/D only: no reference change.
        m.mod_entry(Mfn(10), 0, l1e(20, RO | pte::ACCESSED | pte::DIRTY | pte::USER), false).unwrap();
        assert_eq!(info(&m, 20), (PageType::None, 0, 1));
        // Adding RW is a new entry: re-validated, takes a writable reference.
        m.mod_entry(Mfn(10), 0, l1e(20, RW), false).unwrap();
        assert_eq!(info(&m, 20), (PageType::Writable, 1, 1));
        // ... and refused when the target became a table meanwhile (XSA-182 shape).
        m.mod_entry(Mfn(10), 0, l1e(20, RO), false).unwrap();
        m.get_page_and_type(Mfn(20), D, PageType::L1).unwrap();
        assert_eq!(m.mod_entry(Mfn(10), 0, l1e(20, RW), false), Err(Errno(EBUSY)));
        // PRESERVE_AD keeps the old A/D bits.
        m.mod_entry(Mfn(10), 1, l1e(21, RO | pte::ACCESSED | pte::DIRTY), false).unwrap();
        let v = m.mod_entry(Mfn(10), 1, l1e(22, RO), true).unwrap();
        assert_eq!(v & (pte::ACCESSED | pte::DIRTY), pte::ACCESSED | pte::DIRTY);
        assert_eq!(info(&m, 21).2, 0);
        assert_eq!(info(&m, 22).2, 1);
    }

    #[test]
    fn mod_entry_needs_a_validated_table() {
        let (mut ft, mut phys, tlb) = machine();
        let mut m = mm(&mut ft, &mut phys, &tlb);
        assert_eq!(m.mod_entry(Mfn(10), 0, l1e(20, RO), false), Err(Errno(EINVAL)));
        m.get_page_and_type(Mfn(10), D, PageType::L1).unwrap();
        assert_eq!(m.mod_entry(Mfn(10), 512, l1e(20, RO), false), Err(Errno(EINVAL)));
        m.put_page_and_type(Mfn(10));
        assert_eq!(m.mod_entry(Mfn(10), 0, l1e(20, RO), false), Err(Errno(EINVAL)), "devalidated");
    }
}
