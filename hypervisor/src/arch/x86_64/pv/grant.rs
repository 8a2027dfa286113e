//! Grant mappings in PV page tables (Xen's `create_grant_pv_mapping` and
//! `replace_grant_pv_mapping`): the [`GrantMmu`] the common grant code
//! uses.
//!
//! A host mapping is an L1 entry of the mapper's, found through its
//! current page table (`host_addr` is a linear address) or named directly
//! (`GNTMAP_contains_pte`: `host_addr` is the entry's machine address). The
//! entry is marked [`pte::GNTTAB`] and holds no references: the grant
//! table's mapping holds them, and the entry can only be removed by an
//! unmap (an `mmu_update` over it is refused).

use crate::arch::x86_64::layout::guest_range_ok;
use crate::arch::x86_64::mm::Mm;
use crate::arch::x86_64::paging::pte;
use crate::common::frame::{Owner, PageFlags, PageType};
use crate::common::grant::{st, GrantMmu};
use crate::common::Hv;
use pv_abi::{DomId, Mfn};

/// The PV implementation.
pub struct PvGrantMmu;

/// The one instance.
pub static PV_GRANT_MMU: PvGrantMmu = PvGrantMmu;

/// Where the PTE for `host_addr` is, if it is an entry of a validated L1
/// table of `mapper`'s.
fn locate(hv: &Hv, mapper: DomId, host_addr: u64, contains_pte: bool) -> Result<(Mfn, usize), i16> {
    let (l1, idx) = if contains_pte {
        if host_addr & 7 != 0 {
            return Err(st::GENERAL_ERROR);
        }
        (Mfn(host_addr >> 12), ((host_addr & 0xfff) >> 3) as usize)
    } else {
        if !guest_range_ok(host_addr, 1) {
            return Err(st::GENERAL_ERROR);
        }
        let dom = hv.domains.get(mapper).ok_or(st::BAD_DOMAIN)?;
        let v = match hv.current {
            Some((d, v)) if d == mapper => v,
            _ => 0,
        };
        let l4 = dom.vcpus.get(v as usize).ok_or(st::GENERAL_ERROR)?.arch.cr3();
        if l4.0 == 0 {
            return Err(st::GENERAL_ERROR);
        }
        super::mmu::guest_l1_for(hv, l4, host_addr).ok_or(st::GENERAL_ERROR)?
    };
    let p = hv.frames.get(l1).ok_or(st::GENERAL_ERROR)?;
    if p.owner() != Owner::Domain(mapper)
        || p.ty() != PageType::L1
        || p.type_count == 0
        || !p.flags().contains(PageFlags::VALIDATED)
    {
        return Err(st::GENERAL_ERROR);
    }
    Ok((l1, idx))
}

fn flush(hv: &Hv, host_addr: u64, contains_pte: bool) {
    if contains_pte {
        hv.hw.flush_tlb();
    } else {
        hv.hw.invlpg(host_addr);
    }
}

impl GrantMmu for PvGrantMmu {
    fn get_frame(&self, hv: &mut Hv, frame: Mfn, owner: DomId, readonly: bool) -> bool {
        let mut m = Mm::of(hv, owner);
        if m.get_page(frame, owner).is_err() {
            return false;
        }
        if !readonly && m.get_page_type(frame, PageType::Writable).is_err() {
            m.put_page(frame);
            m.finish();
            return false;
        }
        m.finish();
        true
    }

    fn put_frame(&self, hv: &mut Hv, frame: Mfn, readonly: bool) {
        let owner = match hv.frames.owner(frame) {
            Owner::Domain(d) => d,
            _ => DomId::DOM0,
        };
        let mut m = Mm::of(hv, owner);
        if !readonly {
            m.put_page_type(frame);
        }
        m.put_page(frame);
        m.finish();
    }

    fn map_host(
        &self,
        hv: &mut Hv,
        mapper: DomId,
        host_addr: u64,
        contains_pte: bool,
        frame: Mfn,
        readonly: bool,
    ) -> Result<(Mfn, usize), i16> {
        let (l1, idx) = locate(hv, mapper, host_addr, contains_pte)?;
        let old = hv.phys.read_u64(l1, idx);
        if old & pte::PRESENT != 0 && old & pte::GNTTAB != 0 {
            return Err(st::GENERAL_ERROR);
        }
        let mut new = frame.addr() | pte::PRESENT | pte::ACCESSED | pte::DIRTY | pte::USER | pte::NX | pte::GNTTAB;
        if !readonly {
            new |= pte::RW;
        }
        hv.phys.write_u64(l1, idx, new);
        // The entry it replaced gives up its references.
        let mut m = Mm::of(hv, mapper);
        m.put_entry(1, old);
        m.finish();
        flush(hv, host_addr, contains_pte);
        Ok((l1, idx))
    }

    fn unmap_host(
        &self,
        hv: &mut Hv,
        mapper: DomId,
        host_addr: u64,
        contains_pte: bool,
        frame: Mfn,
    ) -> Result<(), i16> {
        let (l1, idx) = locate(hv, mapper, host_addr, contains_pte)?;
        let e = hv.phys.read_u64(l1, idx);
        if e & pte::PRESENT == 0 || e & pte::GNTTAB == 0 || pte::mfn(e) != frame {
            return Err(st::GENERAL_ERROR);
        }
        hv.phys.write_u64(l1, idx, 0);
        flush(hv, host_addr, contains_pte);
        Ok(())
    }

    fn clear_host(&self, hv: &mut Hv, mapper: DomId, (l1, idx): (Mfn, usize), frame: Mfn) {
        let Some(p) = hv.frames.get(l1) else { return };
        if p.owner() != Owner::Domain(mapper) || p.ty() != PageType::L1 || p.type_count == 0 {
            return;
        }
        let e = hv.phys.read_u64(l1, idx);
        if e & pte::PRESENT != 0 && e & pte::GNTTAB != 0 && pte::mfn(e) == frame {
            hv.phys.write_u64(l1, idx, 0);
            hv.hw.flush_tlb();
        }
    }
}
