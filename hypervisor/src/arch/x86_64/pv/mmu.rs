//! PV MMU hypercalls: `mmu_update`, `mmuext_op`, `update_va_mapping`, and
//! the `memory_op` queries a PV kernel makes at boot. The page-type logic
//! is in [`crate::arch::x86_64::mm`]; this module decodes requests, checks
//! who may touch what, and reports progress as Xen does.
//!
//! Batches run at most [`BATCH`] entries per call: a longer batch becomes
//! a continuation (the guest re-issues the hypercall with the remaining
//! entries, `MMU_UPDATE_PREEMPTED` set in the count, and the running total
//! in `*pdone`), so no guest can hold the CPU with one call. On the first
//! failing entry the call stops, `*pdone` (if given) says how many entries
//! succeeded, and the entry's error is returned.

use crate::arch::x86_64::layout::{guest_range_ok, RO_MPT_VIRT_START};
use crate::arch::x86_64::mm::Mm;
use crate::arch::x86_64::paging::{index, pte};
use crate::common::frame::{PageFlags, PageType};
use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use pv_abi::abi::errno::*;
use pv_abi::abi::memory::*;
use pv_abi::abi::xen::hypercall as nr;
use pv_abi::abi::xen::*;
use pv_abi::{DomId, Mfn, Pfn};

/// Entries processed per call before a continuation.
pub const BATCH: u32 = 512;
/// Count bit marking a continued batch (Xen's `MMU_UPDATE_PREEMPTED`).
pub const MMU_UPDATE_PREEMPTED: u32 = 1 << 31;

/// The domains an MMU operation involves (Xen's `pt_owner`/`pg_owner`):
/// `foreigndom` low 16 bits name the owner of the frames entries may point
/// at, bits 16.. (minus one) the owner of the page tables. Anything but the
/// caller needs a privileged caller.
fn owners<M: GuestMem>(ctx: &Ctx<'_, M>, foreigndom: u64) -> Result<(DomId, DomId), Errno> {
    let caller = ctx.dom;
    let privileged = ctx.hv.domains.get(caller).is_some_and(|d| d.privileged);
    let resolve = |id: u16| -> Result<DomId, Errno> {
        if id == DOMID_SELF || id == caller.0 {
            Ok(caller)
        } else if !privileged {
            Err(Errno(EPERM))
        } else if ctx.hv.domains.get(DomId(id)).is_some() {
            Ok(DomId(id))
        } else {
            Err(Errno(ESRCH))
        }
    };
    let pg = resolve((foreigndom & 0xffff) as u16)?;
    let pt = match (foreigndom >> 16) & 0xffff {
        0 => caller,
        n => resolve((n - 1) as u16)?,
    };
    Ok((pt, pg))
}

/// The MMU context for an operation by the current caller.
fn mm<'a, M: GuestMem>(ctx: &'a mut Ctx<'_, M>, pg_owner: DomId) -> Mm<'a> {
    // Cache attributes and I/O memory follow the caller's privilege.
    let privileged = ctx.hv.domains.get(ctx.dom).is_some_and(|d| d.privileged);
    let mut m = Mm::of(ctx.hv, pg_owner);
    m.allow_cache_attrs = privileged;
    m
}

/// One `mmu_update` request.
fn mmu_update_one<M: GuestMem>(ctx: &mut Ctx<'_, M>, req: MmuUpdate, pt: DomId, pg: DomId) -> Result<(), Errno> {
    let cmd = (req.ptr & 7) as u32;
    let ptr = req.ptr & !7;
    let mfn = Mfn(ptr >> 12);
    match cmd {
        MMU_NORMAL_PT_UPDATE | MMU_PT_UPDATE_PRESERVE_AD => {
            let idx = ((ptr & 0xfff) >> 3) as usize;
            let mut m = mm(ctx, pg);
            m.get_page(mfn, pt)?;
            let p = m.frames.get(mfn).expect("referenced frame");
            let r = if p.ty().pt_level().is_some() && p.type_count > 0 {
                m.mod_entry(mfn, idx, req.val, cmd == MMU_PT_UPDATE_PRESERVE_AD).map(|_| ())
            } else {
                // Not a page table in use: an ordinary write to the caller's page.
                m.get_page_type(mfn, PageType::Writable).map(|_| {
                    m.phys.write_u64(mfn, idx, req.val);
                    m.put_page_type(mfn);
                })
            };
            m.put_page(mfn);
            m.finish();
            r
        }
        MMU_MACHPHYS_UPDATE => {
            if ctx.hv.frames.owner(mfn) != crate::common::frame::Owner::Domain(pg) {
                return Err(Errno(EINVAL));
            }
            ctx.hv.m2p.set(mfn, Some(Pfn(req.val)));
            Ok(())
        }
        _ => Err(Errno(ENOSYS)),
    }
}

/// Runs a batch of `count` entries of `T` from `list`, with Xen's
/// continuation and `pdone` protocol.
fn batch<M: GuestMem, T: zerocopy::FromBytes + zerocopy::IntoBytes + zerocopy::Immutable>(
    ctx: &mut Ctx<'_, M>,
    hypercall: u32,
    a: [u64; 5],
    mut one: impl FnMut(&mut Ctx<'_, M>, T) -> Result<(), Errno>,
) -> HcResult {
    let list = GuestPtr::<T>::new(a[0]);
    let mut count = a[1] as u32;
    let pdone = GuestPtr::<u32>::new(a[2]);
    let mut done_before = 0u32;
    if count & MMU_UPDATE_PREEMPTED != 0 {
        count &= !MMU_UPDATE_PREEMPTED;
        if !pdone.is_null() {
            done_before = pdone.read(ctx.mem)?;
        }
    }
    let limit = if ctx.preemptible { count.min(BATCH) } else { count };
    let mut i = 0;
    let mut result = Ok(0);
    while i < limit {
        let e = match list.at(i as u64).and_then(|p| p.read(ctx.mem)) {
            Ok(e) => e,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        if let Err(e) = one(ctx, e) {
            result = Err(e);
            break;
        }
        i += 1;
    }
    let done = done_before.wrapping_add(i);
    if result.is_ok() && i < count {
        if !pdone.is_null() {
            pdone.write(ctx.mem, &done)?;
        }
        let rest = (count - i) | MMU_UPDATE_PREEMPTED;
        return ctx.continuation(hypercall, [list.at(i as u64)?.addr(), rest as u64, a[2], a[3], a[4]]);
    }
    if !pdone.is_null() {
        pdone.write(ctx.mem, &done)?;
    }
    result
}

/// `mmu_update(reqs, count, pdone, foreigndom)`.
pub fn do_mmu_update<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (pt, pg) = owners(ctx, a[3])?;
    batch::<M, MmuUpdate>(ctx, nr::mmu_update, a, |ctx, req| mmu_update_one(ctx, req, pt, pg))
}

/// `mmuext_op(ops, count, pdone, foreigndom)`.
pub fn do_mmuext_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (_, pg) = owners(ctx, a[3] & 0xffff)?;
    batch::<M, MmuextOp>(ctx, nr::mmuext_op, a, |ctx, op| mmuext_one(ctx, op, pg))
}

fn pin<M: GuestMem>(ctx: &mut Ctx<'_, M>, mfn: Mfn, level: u8, pg: DomId) -> Result<(), Errno> {
    let mut m = mm(ctx, pg);
    m.get_page_and_type(mfn, pg, PageType::of_level(level))?;
    let p = m.frames.get_mut(mfn).expect("referenced frame");
    if p.flags().contains(PageFlags::PINNED) {
        m.put_page_and_type(mfn);
        m.finish();
        return Err(Errno(EINVAL));
    }
    p.set_flags(p.flags() | PageFlags::PINNED);
    m.finish();
    Ok(())
}

fn unpin<M: GuestMem>(ctx: &mut Ctx<'_, M>, mfn: Mfn, pg: DomId) -> Result<(), Errno> {
    let mut m = mm(ctx, pg);
    m.get_page(mfn, pg)?;
    let p = m.frames.get_mut(mfn).expect("referenced frame");
    if !p.flags().contains(PageFlags::PINNED) {
        m.put_page(mfn);
        return Err(Errno(EINVAL));
    }
    p.set_flags(p.flags() - PageFlags::PINNED);
    // The pin's references; a table still in use elsewhere stays valid.
    m.put_page_and_type(mfn);
    m.put_page(mfn);
    m.finish();
    Ok(())
}

/// Loads a new kernel or user top-level table for the calling vCPU.
fn new_baseptr<M: GuestMem>(ctx: &mut Ctx<'_, M>, mfn: Mfn, user: bool) -> Result<(), Errno> {
    let dom = ctx.dom;
    if !(user && mfn.0 == 0) {
        let mut m = mm(ctx, dom);
        m.get_page_and_type(mfn, dom, PageType::L4)?;
        m.finish();
    }
    let hw = ctx.hv.hw;
    let vc = &mut ctx.hv.domains.get_mut(dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
    let old = if user {
        core::mem::replace(&mut vc.arch.cr3_user, mfn)
    } else {
        core::mem::replace(&mut vc.arch.cr3_kernel, mfn)
    };
    // Load the new table before the old one can lose its hypervisor slots.
    if vc.arch.kernel_mode != user {
        hw.load_cr3(vc.arch.cr3());
    }
    if old.0 != 0 {
        let mut m = mm(ctx, dom);
        m.put_page_and_type(old);
        m.finish();
    }
    Ok(())
}

fn flush_mask<M: GuestMem>(ctx: &mut Ctx<'_, M>, mask: u64) -> Result<(), Errno> {
    // One physical CPU: any vCPU mask means "flush here"; the mask must be
    // readable all the same.
    if mask != 0 {
        GuestPtr::<u64>::new(mask).read(ctx.mem)?;
    }
    Ok(())
}

fn mmuext_one<M: GuestMem>(ctx: &mut Ctx<'_, M>, op: MmuextOp, pg: DomId) -> Result<(), Errno> {
    let privileged = ctx.hv.domains.get(ctx.dom).is_some_and(|d| d.privileged);
    let local = pg == ctx.dom;
    let hw = ctx.hv.hw;
    match op.cmd {
        MMUEXT_PIN_L1_TABLE | MMUEXT_PIN_L2_TABLE | MMUEXT_PIN_L3_TABLE | MMUEXT_PIN_L4_TABLE => {
            pin(ctx, Mfn(op.arg1), (op.cmd - MMUEXT_PIN_L1_TABLE + 1) as u8, pg)
        }
        MMUEXT_UNPIN_TABLE => unpin(ctx, Mfn(op.arg1), pg),
        MMUEXT_NEW_BASEPTR if local => new_baseptr(ctx, Mfn(op.arg1), false),
        MMUEXT_NEW_USER_BASEPTR if local => new_baseptr(ctx, Mfn(op.arg1), true),
        MMUEXT_TLB_FLUSH_LOCAL | MMUEXT_TLB_FLUSH_ALL if local => {
            hw.flush_tlb();
            Ok(())
        }
        MMUEXT_TLB_FLUSH_MULTI if local => {
            flush_mask(ctx, op.arg2)?;
            hw.flush_tlb();
            Ok(())
        }
        MMUEXT_INVLPG_LOCAL | MMUEXT_INVLPG_ALL if local => {
            hw.invlpg(op.arg1);
            Ok(())
        }
        MMUEXT_INVLPG_MULTI if local => {
            flush_mask(ctx, op.arg2)?;
            hw.invlpg(op.arg1);
            Ok(())
        }
        MMUEXT_SET_LDT if local => {
            if op.arg2 > 8192 {
                return Err(Errno(EINVAL));
            }
            super::descriptors::set_ldt(ctx.hv, ctx.dom, ctx.vcpu, op.arg1, op.arg2 as u32)
        }
        MMUEXT_CLEAR_PAGE => {
            let mfn = Mfn(op.arg1);
            let mut m = mm(ctx, pg);
            m.get_page_and_type(mfn, pg, PageType::Writable)?;
            m.phys.zero(mfn);
            m.put_page_and_type(mfn);
            Ok(())
        }
        MMUEXT_COPY_PAGE => {
            let (dst, src) = (Mfn(op.arg1), Mfn(op.arg2));
            let mut m = mm(ctx, pg);
            m.get_page(src, pg)?;
            if let Err(e) = m.get_page_and_type(dst, pg, PageType::Writable) {
                m.put_page(src);
                return Err(e);
            }
            m.phys.copy_frame(dst, src);
            m.put_page_and_type(dst);
            m.put_page(src);
            Ok(())
        }
        MMUEXT_FLUSH_CACHE | MMUEXT_FLUSH_CACHE_GLOBAL => {
            if !local {
                Err(Errno(EPERM))
            } else if !privileged {
                Err(Errno(EACCES))
            } else {
                Ok(()) // wbinvd: nothing to do under QEMU's coherent caches
            }
        }
        MMUEXT_MARK_SUPER | MMUEXT_UNMARK_SUPER => Err(Errno(EOPNOTSUPP)),
        MMUEXT_NEW_BASEPTR
        | MMUEXT_NEW_USER_BASEPTR
        | MMUEXT_TLB_FLUSH_LOCAL
        | MMUEXT_TLB_FLUSH_ALL
        | MMUEXT_TLB_FLUSH_MULTI
        | MMUEXT_INVLPG_LOCAL
        | MMUEXT_INVLPG_ALL
        | MMUEXT_INVLPG_MULTI
        | MMUEXT_SET_LDT => Err(Errno(EPERM)),
        _ => Err(Errno(ENOSYS)),
    }
}

/// Walks the current guest page table to the L1 table mapping `va`.
/// Returns the L1 frame and the entry index.
pub fn guest_l1_for(hv: &crate::common::Hv, l4: Mfn, va: u64) -> Option<(Mfn, usize)> {
    let mut table = l4;
    for level in [4u8, 3, 2] {
        let e = hv.phys.read_u64(table, index(va, level));
        if e & pte::PRESENT == 0 || (level < 4 && e & pte::PSE != 0) {
            return None;
        }
        table = pte::mfn(e);
        if table.0 >= hv.phys.nr_frames() {
            return None;
        }
    }
    Some((table, index(va, 1)))
}

/// `update_va_mapping(va, val, flags)`: rewrites the L1 entry that maps
/// `va` in the current page table, then flushes as asked.
pub fn do_update_va_mapping<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (va, val, fl) = (a[0], a[1], a[2]);
    if !guest_range_ok(va, 1) {
        return Err(Errno(EINVAL));
    }
    let dom = ctx.dom;
    let l4 = ctx.hv.domains.get(dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize].arch.cr3();
    let (l1, idx) = guest_l1_for(ctx.hv, l4, va).ok_or(Errno(EINVAL))?;
    {
        let mut m = mm(ctx, dom);
        if m.frames.owner(l1) != crate::common::frame::Owner::Domain(dom) {
            return Err(Errno(EINVAL));
        }
        m.mod_entry(l1, idx, val, false)?;
        m.finish();
    }
    let hw = ctx.hv.hw;
    if fl & !UVMF_FLUSHTYPE_MASK & !UVMF_ALL != 0 {
        flush_mask(ctx, fl & !(UVMF_FLUSHTYPE_MASK | UVMF_ALL))?;
    }
    match fl & UVMF_FLUSHTYPE_MASK {
        UVMF_TLB_FLUSH => hw.flush_tlb(),
        UVMF_INVLPG => hw.invlpg(va),
        _ => {}
    }
    Ok(0)
}

/// `memory_op(cmd, arg)`: the queries (reservation sizes, memory map,
/// M2P location). Changing a domain's memory comes with the domain
/// control work.
pub fn do_memory_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, arg) = (a[0] & 0x3f, a[1]);
    let dom = ctx.dom;
    match cmd as u32 {
        XENMEM_increase_reservation | XENMEM_decrease_reservation | XENMEM_populate_physmap => {
            crate::common::memory::reservation(ctx, a[0], arg)
        }
        XENMEM_current_reservation | XENMEM_maximum_reservation | XENMEM_maximum_gpfn => {
            let id = GuestPtr::<u16>::new(arg).read(ctx.mem)?;
            let target = if id == DOMID_SELF || id == dom.0 {
                dom
            } else if !ctx.hv.domains.get(dom).is_some_and(|d| d.privileged) {
                return Err(Errno(EPERM));
            } else {
                DomId(id)
            };
            let d = ctx.hv.domains.get(target).ok_or(Errno(ESRCH))?;
            Ok(match cmd as u32 {
                XENMEM_current_reservation => d.tot_pages,
                XENMEM_maximum_reservation => d.max_pages,
                _ => d.tot_pages.saturating_sub(1),
            } as i64)
        }
        XENMEM_maximum_ram_page => Ok(ctx.hv.frames.len().saturating_sub(1) as i64),
        XENMEM_memory_map => {
            let p = GuestPtr::<XenMemoryMap>::new(arg);
            let mut map = p.read(ctx.mem)?;
            if map.nr_entries < 1 {
                return Err(Errno(EINVAL));
            }
            let d = ctx.hv.domains.get(dom).ok_or(Errno(ESRCH))?;
            let e = E820Entry { addr: 0, size: d.max_pages * 4096, ty: 1 };
            GuestPtr::<E820Entry>::new(map.buffer).write(ctx.mem, &e)?;
            map.nr_entries = 1;
            p.write(ctx.mem, &map)?;
            Ok(0)
        }
        XENMEM_machine_memory_map => {
            if !ctx.hv.domains.get(dom).is_some_and(|d| d.privileged) {
                return Err(Errno(EPERM));
            }
            let p = GuestPtr::<XenMemoryMap>::new(arg);
            let mut map = p.read(ctx.mem)?;
            let n = ctx.hv.arch.e820.len().min(map.nr_entries as usize);
            for i in 0..n {
                let e = ctx.hv.arch.e820[i];
                GuestPtr::<E820Entry>::new(map.buffer).at(i as u64)?.write(ctx.mem, &e)?;
            }
            map.nr_entries = n as u32;
            p.write(ctx.mem, &map)?;
            Ok(0)
        }
        XENMEM_machphys_mapping => {
            let m = XenMachphysMapping {
                v_start: RO_MPT_VIRT_START,
                v_end: RO_MPT_VIRT_START + ctx.hv.arch.m2p_frames * 4096,
                max_mfn: ctx.hv.m2p.len().saturating_sub(1),
            };
            GuestPtr::new(arg).write(ctx.mem, &m)?;
            Ok(0)
        }
        XENMEM_machphys_mfn_list => {
            let p = GuestPtr::<XenMachphysMfnList>::new(arg);
            let mut l = p.read(ctx.mem)?;
            let extents = ctx.hv.arch.m2p_frames.div_ceil(512);
            let n = extents.min(l.max_extents as u64);
            for i in 0..n {
                let mfn = ctx.hv.arch.m2p_start.0 + i * 512;
                GuestPtr::<u64>::new(l.extent_start).at(i)?.write(ctx.mem, &mfn)?;
            }
            l.nr_extents = n as u32;
            p.write(ctx.mem, &l)?;
            Ok(0)
        }
        _ => Err(Errno(ENOSYS)),
    }
}
