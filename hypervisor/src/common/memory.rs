//! Changing a domain's memory: `XENMEM_increase_reservation`,
//! `XENMEM_decrease_reservation` and `XENMEM_populate_physmap` (Xen's
//! `common/memory.c`), for PV domains (not translated: the guest sees
//! machine frame numbers and keeps its own P2M).
//!
//! A domain changes its own reservation; dom0 (privileged) may change any
//! domain's, which is how the toolstack gives a new domain its memory.
//! Every frame handed out is zeroed first: no domain sees another's data.
//! Long requests continue themselves (the progress is encoded in the
//! command, `start_extent << MEMOP_EXTENT_SHIFT`, as in Xen).

use crate::common::frame::Owner;
use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use crate::common::Hv;
use pv_abi::abi::errno::*;
use pv_abi::abi::memory::*;
use pv_abi::abi::xen::{hypercall as nr, DOMID_SELF};
use pv_abi::{DomId, Mfn, Pfn};

/// Bits of the command below the continuation's start extent.
pub const MEMOP_EXTENT_SHIFT: u32 = 6;
/// Extents handled per call before a continuation.
pub const BATCH: u64 = 4096;

/// Gives `d` one new zeroed frame, within its `max_pages`.
pub fn alloc_domain_frame(hv: &mut Hv, d: DomId) -> Result<Mfn, Errno> {
    let dom = hv.domains.get(d).ok_or(Errno(ESRCH))?;
    if dom.is_dying() {
        return Err(Errno(EINVAL));
    }
    if dom.tot_pages >= dom.max_pages {
        return Err(Errno(ENOMEM));
    }
    let m = crate::common::dom0::alloc_zeroed(hv, Owner::Domain(d)).ok_or(Errno(ENOMEM))?;
    if let Some(dom) = hv.domains.get_mut(d) {
        dom.tot_pages += 1;
    }
    Ok(m)
}

/// Takes a frame back from `d`: it must be an ordinary page of `d`'s that
/// nothing references (not mapped, not a page table, not pinned).
pub fn free_domain_frame(hv: &mut Hv, d: DomId, m: Mfn) -> Result<(), Errno> {
    let p = hv.frames.get(m).ok_or(Errno(EINVAL))?;
    if p.owner() != Owner::Domain(d) || p.flags().contains(crate::common::frame::PageFlags::XEN_HEAP) {
        return Err(Errno(EINVAL));
    }
    if p.count != 0 || p.type_count != 0 {
        return Err(Errno(EBUSY));
    }
    hv.frames.free(m).map_err(|_| Errno(EBUSY))?;
    hv.m2p.set(m, None);
    if let Some(dom) = hv.domains.get_mut(d) {
        dom.tot_pages = dom.tot_pages.saturating_sub(1);
    }
    Ok(())
}

/// `memory_op` reservation commands. Returns the number of extents done
/// (a short count means the rest failed).
pub fn reservation<M: GuestMem>(ctx: &mut Ctx<'_, M>, cmd: u64, arg: u64) -> HcResult {
    let op = (cmd & ((1 << MEMOP_EXTENT_SHIFT) - 1)) as u32;
    let start = cmd >> MEMOP_EXTENT_SHIFT;
    let r = GuestPtr::<XenMemoryReservation>::new(arg).read(ctx.mem)?;
    let caller = ctx.dom;
    // Xen 4.17 answers a domain it cannot find or may not touch with "no
    // extents done" rather than an error.
    let target = if r.domid == DOMID_SELF || r.domid == caller.0 {
        caller
    } else if !ctx.hv.domains.get(caller).is_some_and(|d| d.privileged) {
        return Ok(start as i64);
    } else {
        DomId(r.domid)
    };
    if ctx.hv.domains.get(target).is_none() {
        return Ok(start as i64);
    }
    if r.extent_order != 0 {
        // Superpages are not supported (PV guests use 4 KiB frames).
        return Ok(start as i64);
    }
    if start > r.nr_extents || r.nr_extents >> 32 != 0 {
        return Err(Errno(EINVAL));
    }
    let list = GuestPtr::<u64>::new(r.extent_start);
    let end = if ctx.preemptible { r.nr_extents.min(start + BATCH) } else { r.nr_extents };
    let mut i = start;
    while i < end {
        let slot = list.at(i)?;
        let res = match op {
            XENMEM_increase_reservation => alloc_domain_frame(ctx.hv, target).map(|m| (Some(m.0), None)),
            XENMEM_populate_physmap => {
                let gpfn = slot.read(ctx.mem)?;
                alloc_domain_frame(ctx.hv, target).map(|m| (Some(m.0), Some((m, gpfn))))
            }
            _ => {
                let gmfn = slot.read(ctx.mem)?;
                free_domain_frame(ctx.hv, target, Mfn(gmfn)).map(|_| (None, None))
            }
        };
        match res {
            Ok((out, m2p)) => {
                if let Some((m, gpfn)) = m2p {
                    ctx.hv.m2p.set(m, Some(Pfn(gpfn)));
                }
                if let Some(out) = out {
                    if let Err(e) = slot.write(ctx.mem, &out) {
                        // Give the frame back: the guest cannot learn of it.
                        let _ = free_domain_frame(ctx.hv, target, Mfn(out));
                        return Err(e);
                    }
                }
            }
            Err(_) => return Ok(i as i64),
        }
        i += 1;
    }
    if i < r.nr_extents {
        let cont = (op as u64) | (i << MEMOP_EXTENT_SHIFT);
        return ctx.continuation(nr::memory_op, [cont, arg, 0, 0, 0]);
    }
    Ok(i as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::x86_64::pv::tests_support::{world_mem, BUF, DOM};
    use zerocopy::IntoBytes;

    fn req(m: &mut crate::common::guest_mem::MockMem, n: u64, domid: u16) {
        let r = XenMemoryReservation {
            extent_start: BUF + 64,
            nr_extents: n,
            extent_order: 0,
            mem_flags: 0,
            domid,
            ..Default::default()
        };
        m.bytes[..r.as_bytes().len()].copy_from_slice(r.as_bytes());
    }

    #[test]
    fn populate_within_max_then_decrease() {
        let (mut w, mut m) = world_mem(64 * 1024);
        w.hv.domains.get_mut(DOM).unwrap().max_pages = 3;
        let free0 = w.hv.frames.stats().free;
        for i in 0..4u64 {
            m.bytes[64 + 8 * i as usize..72 + 8 * i as usize].copy_from_slice(&(100 + i).to_le_bytes());
        }
        req(&mut m, 4, DOMID_SELF);
        let r = w.call(&mut m, nr::memory_op, [XENMEM_populate_physmap as u64, BUF, 0, 0, 0]);
        assert_eq!(r, 3, "stops at max_pages");
        assert_eq!(w.hv.domains.get(DOM).unwrap().tot_pages, 3);
        assert_eq!(w.hv.frames.stats().free, free0 - 3);
        let mfns: std::vec::Vec<u64> =
            (0..3).map(|i| u64::from_le_bytes(m.bytes[64 + 8 * i..72 + 8 * i].try_into().unwrap())).collect();
        for (i, &mfn) in mfns.iter().enumerate() {
            assert_eq!(w.hv.frames.owner(Mfn(mfn)), Owner::Domain(DOM));
            assert_eq!(w.hv.m2p.get(Mfn(mfn)), Some(Pfn(100 + i as u64)));
        }
        // Give two back; a frame of someone else's is refused.
        req(&mut m, 2, DOMID_SELF);
        assert_eq!(w.call(&mut m, nr::memory_op, [XENMEM_decrease_reservation as u64, BUF, 0, 0, 0]), 2);
        assert_eq!(w.hv.frames.stats().free, free0 - 1);
        m.bytes[64..72].copy_from_slice(&1u64.to_le_bytes());
        req(&mut m, 1, DOMID_SELF);
        assert_eq!(w.call(&mut m, nr::memory_op, [XENMEM_decrease_reservation as u64, BUF, 0, 0, 0]), 0);
        // A domU cannot touch another domain's reservation (0 extents done).
        req(&mut m, 1, 0);
        assert_eq!(w.call(&mut m, nr::memory_op, [XENMEM_populate_physmap as u64, BUF, 0, 0, 0]), 0);
    }

    extern crate std;
}
