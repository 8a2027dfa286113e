//! The frame table: one [`PageInfo`] per machine frame, and the allocator
//! built on it.
//!
//! Every frame below `max_mfn` is always in exactly one state: reserved
//! (not RAM, or firmware), free, owned by the hypervisor, or owned by a
//! domain. Free frames form a singly linked list through `PageInfo::next`.
//! Counters are kept for each state and [`FrameTable::audit`] recounts the
//! whole table, so tests can prove that nothing leaked.
//!
//! The page-type fields (`ty`, `type_count`, `count`) belong to the PV MMU
//! (`arch::x86_64::mm`): a frame changes type only at type count zero, and
//! pinning holds a type. This module only stores them.

use core::fmt;
use pv_abi::{DomId, Mfn};

/// Who owns a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Not allocatable: not RAM, firmware, or holes.
    Reserved,
    /// On the free list.
    Free,
    /// The hypervisor's own memory (image, tables, heap).
    Hypervisor,
    /// A domain's memory.
    Domain(DomId),
}

const OWNER_RESERVED: u16 = 0xfffd;
const OWNER_FREE: u16 = 0xfffe;
const OWNER_HYPERVISOR: u16 = 0xffff;
const NIL: u32 = u32::MAX;

/// A frame's page type (Xen's `PGT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum PageType {
    /// No type: may become any.
    #[default]
    None = 0,
    /// Level-1 page table.
    L1 = 1,
    /// Level-2 page table.
    L2 = 2,
    /// Level-3 page table.
    L3 = 3,
    /// Level-4 page table.
    L4 = 4,
    /// GDT/LDT page (segment descriptors).
    SegDesc = 5,
    /// Mapped writable somewhere.
    Writable = 6,
}

impl PageType {
    fn from_u8(v: u8) -> PageType {
        match v {
            1 => PageType::L1,
            2 => PageType::L2,
            3 => PageType::L3,
            4 => PageType::L4,
            5 => PageType::SegDesc,
            6 => PageType::Writable,
            _ => PageType::None,
        }
    }
    /// The page-table level (1..=4), if this is a page-table type.
    pub fn pt_level(self) -> Option<u8> {
        match self {
            PageType::L1 => Some(1),
            PageType::L2 => Some(2),
            PageType::L3 => Some(3),
            PageType::L4 => Some(4),
            _ => None,
        }
    }
    /// The page-table type of `level`.
    pub fn of_level(level: u8) -> PageType {
        match level {
            1 => PageType::L1,
            2 => PageType::L2,
            3 => PageType::L3,
            4 => PageType::L4,
            _ => PageType::None,
        }
    }
}

bitflags::bitflags! {
    /// Per-frame flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct PageFlags: u8 {
        /// The type has been validated (page tables: every entry checked).
        const VALIDATED = 1 << 0;
        /// Pinned by the guest: holds one type reference.
        const PINNED = 1 << 1;
        /// Allocated by the hypervisor for the domain (shared_info, grant
        /// frames): owned by it but not counted in `tot_pages`.
        const XEN_HEAP = 1 << 2;
        /// Its owner is dead: free it when the last reference goes.
        const ORPHAN = 1 << 3;
    }
}

/// One frame's state (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct PageInfo {
    owner: u16,
    ty: u8,
    flags: u8,
    /// Type references (Xen's `type_info` count).
    pub type_count: u32,
    /// General references: mappings, pins, hypervisor holds.
    pub count: u32,
    next: u32,
}

const _: () = assert!(core::mem::size_of::<PageInfo>() == 16);

impl PageInfo {
    /// A reserved frame.
    pub const RESERVED: PageInfo =
        PageInfo { owner: OWNER_RESERVED, ty: 0, flags: 0, type_count: 0, count: 0, next: NIL };

    /// Who owns the frame.
    pub fn owner(&self) -> Owner {
        match self.owner {
            OWNER_RESERVED => Owner::Reserved,
            OWNER_FREE => Owner::Free,
            OWNER_HYPERVISOR => Owner::Hypervisor,
            d => Owner::Domain(DomId(d)),
        }
    }
    /// The page type.
    pub fn ty(&self) -> PageType {
        PageType::from_u8(self.ty)
    }
    /// Sets the page type (the caller checks the transition rules).
    pub fn set_ty(&mut self, t: PageType) {
        self.ty = t as u8;
    }
    /// The flags.
    pub fn flags(&self) -> PageFlags {
        PageFlags::from_bits_truncate(self.flags)
    }
    /// Replaces the flags.
    pub fn set_flags(&mut self, f: PageFlags) {
        self.flags = f.bits();
    }
    fn encode_owner(o: Owner) -> u16 {
        match o {
            Owner::Reserved => OWNER_RESERVED,
            Owner::Free => OWNER_FREE,
            Owner::Hypervisor => OWNER_HYPERVISOR,
            Owner::Domain(d) => d.0,
        }
    }
}

/// Counts of frames in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames described by the table.
    pub total: u64,
    /// Reserved frames.
    pub reserved: u64,
    /// Free frames.
    pub free: u64,
    /// Hypervisor frames.
    pub hypervisor: u64,
    /// Frames owned by some domain.
    pub domains: u64,
}

/// An accounting inconsistency found by [`FrameTable::audit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditError {
    /// Recounted totals differ from the running counters.
    Counters {
        /// The running counters.
        kept: FrameStats,
        /// The recount.
        counted: FrameStats,
    },
    /// The free list is broken at this frame.
    FreeList(Mfn),
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Counters { kept, counted } => {
                write!(f, "frame counters {kept:?} disagree with the table {counted:?}")
            }
            AuditError::FreeList(m) => write!(f, "free list broken at {m:?}"),
        }
    }
}

/// Why a frame operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Beyond the table.
    OutOfRange,
    /// Not in the state the operation needs.
    WrongState(Owner),
    /// Still referenced.
    InUse,
}

/// The frame table and allocator.
pub struct FrameTable {
    pages: &'static mut [PageInfo],
    free_head: u32,
    stats: FrameStats,
    /// Grant mappings dropped by devalidating a page table (Xen crashes
    /// the domain that did it); the entry path checks and clears it.
    pub implicit_grant_unmaps: u32,
    /// An orphaned frame was freed: a zombie domain may be gone.
    pub orphan_freed: bool,
    /// Frames from here up do not exist (beyond the CPU's physical address
    /// width): not even dom0 may map them.
    pub max_io_mfn: u64,
    /// Frames owned by each domain, by id.
    per_domain: alloc::vec::Vec<u32>,
}

impl FrameTable {
    /// A table over `pages`, every frame reserved.
    pub fn new(pages: &'static mut [PageInfo]) -> Self {
        pages.fill(PageInfo::RESERVED);
        let total = pages.len() as u64;
        FrameTable {
            pages,
            free_head: NIL,
            stats: FrameStats { total, reserved: total, ..Default::default() },
            implicit_grant_unmaps: 0,
            orphan_freed: false,
            max_io_mfn: 1 << (40 - 12),
            per_domain: alloc::vec::Vec::new(),
        }
    }

    /// Frames described (`max_mfn`).
    pub fn len(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The frame's info.
    pub fn get(&self, mfn: Mfn) -> Option<&PageInfo> {
        self.pages.get(mfn.0 as usize)
    }

    /// The frame's info, mutably.
    pub fn get_mut(&mut self, mfn: Mfn) -> Option<&mut PageInfo> {
        self.pages.get_mut(mfn.0 as usize)
    }

    /// The frame's owner (`Reserved` beyond the table).
    pub fn owner(&self, mfn: Mfn) -> Owner {
        self.get(mfn).map_or(Owner::Reserved, |p| p.owner())
    }

    /// Running counters.
    /// How many frames domain `d` owns.
    pub fn owned_by(&self, d: DomId) -> u64 {
        self.per_domain.get(d.0 as usize).copied().unwrap_or(0) as u64
    }

    /// Frame statistics.
    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    fn count_mut(&mut self, o: Owner) -> &mut u64 {
        match o {
            Owner::Reserved => &mut self.stats.reserved,
            Owner::Free => &mut self.stats.free,
            Owner::Hypervisor => &mut self.stats.hypervisor,
            Owner::Domain(_) => &mut self.stats.domains,
        }
    }

    fn set_owner(&mut self, mfn: Mfn, o: Owner) {
        let old = self.pages[mfn.0 as usize].owner();
        *self.count_mut(old) -= 1;
        *self.count_mut(o) += 1;
        if let Owner::Domain(d) = old {
            self.per_domain[d.0 as usize] -= 1;
        }
        if let Owner::Domain(d) = o {
            let i = d.0 as usize;
            if self.per_domain.len() <= i {
                self.per_domain.resize(i + 1, 0);
            }
            self.per_domain[i] += 1;
        }
        self.pages[mfn.0 as usize].owner = PageInfo::encode_owner(o);
    }

    /// Boot: hands a reserved frame to the free list (RAM discovered).
    pub fn release_reserved(&mut self, mfn: Mfn) -> Result<(), FrameError> {
        match self.get(mfn).ok_or(FrameError::OutOfRange)?.owner() {
            Owner::Reserved => {}
            o => return Err(FrameError::WrongState(o)),
        }
        self.push_free(mfn);
        Ok(())
    }

    /// Boot: claims a reserved frame for the hypervisor (used before the
    /// table existed: the image, early page tables, the table itself).
    pub fn claim_reserved(&mut self, mfn: Mfn) -> Result<(), FrameError> {
        match self.get(mfn).ok_or(FrameError::OutOfRange)?.owner() {
            Owner::Reserved => {}
            o => return Err(FrameError::WrongState(o)),
        }
        self.set_owner(mfn, Owner::Hypervisor);
        Ok(())
    }

    fn push_free(&mut self, mfn: Mfn) {
        self.set_owner(mfn, Owner::Free);
        let p = &mut self.pages[mfn.0 as usize];
        p.ty = 0;
        p.flags = 0;
        p.type_count = 0;
        p.count = 0;
        p.next = self.free_head;
        self.free_head = mfn.0 as u32;
    }

    /// Takes a free frame for `owner`. The caller scrubs it.
    pub fn alloc(&mut self, owner: Owner) -> Option<Mfn> {
        if self.free_head == NIL {
            return None;
        }
        debug_assert!(matches!(owner, Owner::Hypervisor | Owner::Domain(_)));
        let mfn = Mfn(self.free_head as u64);
        self.free_head = self.pages[mfn.0 as usize].next;
        self.pages[mfn.0 as usize].next = NIL;
        self.set_owner(mfn, owner);
        Some(mfn)
    }

    /// Returns an owned frame to the free list. Refused while it still has
    /// references or a type.
    pub fn free(&mut self, mfn: Mfn) -> Result<(), FrameError> {
        let p = self.get(mfn).ok_or(FrameError::OutOfRange)?;
        match p.owner() {
            Owner::Hypervisor | Owner::Domain(_) => {}
            o => return Err(FrameError::WrongState(o)),
        }
        if p.count != 0 || p.type_count != 0 {
            return Err(FrameError::InUse);
        }
        self.push_free(mfn);
        Ok(())
    }

    /// Moves a frame between owners (e.g. a domain's frame given to another).
    pub fn reassign(&mut self, mfn: Mfn, to: Owner) -> Result<(), FrameError> {
        match self.get(mfn).ok_or(FrameError::OutOfRange)?.owner() {
            Owner::Hypervisor | Owner::Domain(_) => {}
            o => return Err(FrameError::WrongState(o)),
        }
        self.set_owner(mfn, to);
        Ok(())
    }

    /// Frames owned by `d`, in MFN order.
    pub fn frames_of(&self, d: DomId) -> impl Iterator<Item = Mfn> + '_ {
        let enc = d.0;
        self.pages.iter().enumerate().filter(move |(_, p)| p.owner == enc).map(|(i, _)| Mfn(i as u64))
    }

    /// Recounts every frame and walks the free list; returns the counts if
    /// they agree with the running counters.
    pub fn audit(&self) -> Result<FrameStats, AuditError> {
        let mut c = FrameStats { total: self.len(), ..Default::default() };
        let mut per_domain = alloc::vec![0u32; self.per_domain.len()];
        for p in self.pages.iter() {
            match p.owner() {
                Owner::Reserved => c.reserved += 1,
                Owner::Free => c.free += 1,
                Owner::Hypervisor => c.hypervisor += 1,
                Owner::Domain(d) => {
                    c.domains += 1;
                    if let Some(n) = per_domain.get_mut(d.0 as usize) {
                        *n += 1;
                    } else {
                        return Err(AuditError::Counters { kept: self.stats, counted: c });
                    }
                }
            }
        }
        if c != self.stats || per_domain != self.per_domain {
            return Err(AuditError::Counters { kept: self.stats, counted: c });
        }
        let mut n = 0u64;
        let mut cur = self.free_head;
        while cur != NIL {
            let p = self.pages.get(cur as usize).ok_or(AuditError::FreeList(Mfn(cur as u64)))?;
            if p.owner() != Owner::Free || n > c.free {
                return Err(AuditError::FreeList(Mfn(cur as u64)));
            }
            n += 1;
            cur = p.next;
        }
        if n != c.free {
            return Err(AuditError::FreeList(Mfn(NIL as u64)));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::boxed::Box;
    use std::vec;
    use std::vec::Vec;

    fn table(n: usize) -> FrameTable {
        FrameTable::new(Box::leak(vec![PageInfo::RESERVED; n].into_boxed_slice()))
    }

    #[test]
    fn boot_accounting() {
        let mut t = table(64);
        for m in 16..64 {
            t.release_reserved(Mfn(m)).unwrap();
        }
        for m in 8..12 {
            t.claim_reserved(Mfn(m)).unwrap();
        }
        let s = t.audit().unwrap();
        assert_eq!(s, FrameStats { total: 64, reserved: 12, free: 48, hypervisor: 4, domains: 0 });
        assert_eq!(t.release_reserved(Mfn(20)), Err(FrameError::WrongState(Owner::Free)));
        assert_eq!(t.claim_reserved(Mfn(64)), Err(FrameError::OutOfRange));
    }

    #[test]
    fn alloc_free_round_trip_keeps_counts() {
        let mut t = table(32);
        for m in 0..32 {
            t.release_reserved(Mfn(m)).unwrap();
        }
        let start = t.audit().unwrap();
        let d = DomId(3);
        let mut got: Vec<Mfn> = (0..20).map(|_| t.alloc(Owner::Domain(d)).unwrap()).collect();
        assert_eq!(t.stats().domains, 20);
        assert_eq!(t.frames_of(d).count(), 20);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 20, "no frame handed out twice");
        for m in &got {
            t.free(*m).unwrap();
        }
        assert_eq!(t.audit().unwrap(), start);
        assert_eq!(t.free(got[0]), Err(FrameError::WrongState(Owner::Free)), "double free refused");
    }

    #[test]
    fn exhaustion_and_in_use() {
        let mut t = table(4);
        for m in 0..4 {
            t.release_reserved(Mfn(m)).unwrap();
        }
        let ms: Vec<_> = (0..4).map(|_| t.alloc(Owner::Hypervisor).unwrap()).collect();
        assert_eq!(t.alloc(Owner::Hypervisor), None);
        t.get_mut(ms[0]).unwrap().count = 1;
        assert_eq!(t.free(ms[0]), Err(FrameError::InUse));
        t.get_mut(ms[0]).unwrap().count = 0;
        t.get_mut(ms[1]).unwrap().type_count = 1;
        assert_eq!(t.free(ms[1]), Err(FrameError::InUse));
        t.get_mut(ms[1]).unwrap().type_count = 0;
        for m in ms {
            t.free(m).unwrap();
        }
        assert_eq!(t.audit().unwrap().free, 4);
    }

    #[test]
    fn audit_detects_corruption() {
        let mut t = table(8);
        for m in 0..8 {
            t.release_reserved(Mfn(m)).unwrap();
        }
        t.pages[3].owner = OWNER_HYPERVISOR; // behind the counters' back
        assert!(matches!(t.audit(), Err(AuditError::Counters { .. })));
    }

    #[test]
    fn reassign_moves_between_owners() {
        let mut t = table(4);
        t.release_reserved(Mfn(1)).unwrap();
        let m = t.alloc(Owner::Domain(DomId(1))).unwrap();
        t.reassign(m, Owner::Domain(DomId(2))).unwrap();
        assert_eq!(t.owner(m), Owner::Domain(DomId(2)));
        assert_eq!(t.reassign(Mfn(0), Owner::Hypervisor), Err(FrameError::WrongState(Owner::Reserved)));
        t.audit().unwrap();
    }
}
