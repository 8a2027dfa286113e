//! Guest GDT and LDT: `set_gdt`, `update_descriptor`, `MMUEXT_SET_LDT`,
//! and the descriptor check every descriptor a guest installs passes
//! (Xen's `check_descriptor`).
//!
//! A guest GDT frame is typed `SegDesc` (so it cannot be mapped writable)
//! and mapped into the first 14 pages of the per-CPU GDT area while its
//! vCPU runs; page 14 holds the hypervisor's own descriptors, so Xen's
//! flat selectors (0xe023/0xe02b/0xe033) stay valid whatever the guest
//! loads. LDT frames are typed the same way and mapped at
//! `LDT_VIRT_START`, with the LDT descriptor at selector 0xe050.

use crate::arch::x86_64::layout::{guest_range_ok, GDT_VIRT_START, LDT_VIRT_START, PERCPU_VIRT_START};
use crate::arch::x86_64::mm::Mm;
use crate::arch::x86_64::paging::{index, pte};
use crate::common::frame::PageType;
use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use crate::common::Hv;
use pv_abi::abi::arch_x86::FIRST_RESERVED_GDT_ENTRY;
use pv_abi::abi::errno::*;
use pv_abi::{DomId, Mfn};

const PRESENT: u64 = 1 << 47;
const S: u64 = 1 << 44;
const DPL3: u64 = 3 << 45;
const TYPE: u64 = 0xf << 40;

/// Checks one descriptor a guest wants installed and returns it as it
/// will be stored: not-present descriptors are harmless; code and data
/// segments get DPL 3 (the guest kernel runs in ring 3); the type-0 second
/// half of a 16-byte system descriptor is harmless; every other system
/// descriptor (TSS, LDT, gates) is refused. Xen also accepts call gates
/// and emulates them; no PV kernel we run uses them.
pub fn check_descriptor(d: u64) -> Option<u64> {
    if d & PRESENT == 0 {
        return Some(d);
    }
    let d = d | DPL3;
    if d & S != 0 || d & TYPE == 0 {
        return Some(d);
    }
    None
}

/// Validates (and fixes up in place) a whole page of descriptors; part of
/// giving a frame the `SegDesc` type.
pub fn validate_descriptor_page(m: &mut Mm<'_>, mfn: Mfn) -> Result<(), Errno> {
    let mut fixed = [0u64; 512];
    for (i, f) in fixed.iter_mut().enumerate() {
        *f = check_descriptor(m.phys.read_u64(mfn, i)).ok_or(Errno(EINVAL))?;
    }
    for (i, f) in fixed.iter().enumerate() {
        m.phys.write_u64(mfn, i, *f);
    }
    Ok(())
}

fn mm<'a, M: GuestMem>(ctx: &'a mut Ctx<'_, M>) -> Mm<'a> {
    let mut m = Mm::of(ctx.hv, ctx.dom);
    m.allow_cache_attrs = false;
    m
}

/// `set_gdt(frames, entries)`.
pub fn do_set_gdt<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (list, entries) = (GuestPtr::<u64>::new(a[0]), a[1]);
    if entries > FIRST_RESERVED_GDT_ENTRY as u64 {
        return Err(Errno(EINVAL));
    }
    let nr = entries.div_ceil(512) as usize;
    let mut frames = [Mfn(0); 14];
    for (i, f) in frames.iter_mut().enumerate().take(nr) {
        *f = Mfn(list.at(i as u64)?.read(ctx.mem)?);
    }
    let dom = ctx.dom;
    let mut m = mm(ctx);
    for i in 0..nr {
        if let Err(e) = m.get_page_and_type(frames[i], dom, PageType::SegDesc) {
            for f in &frames[..i] {
                m.put_page_and_type(*f);
            }
            m.finish();
            return Err(e);
        }
    }
    m.finish();
    let vc = &mut ctx.hv.domains.get_mut(dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
    let old = (vc.arch.gdt_frames, vc.arch.gdt_nr_frames);
    vc.arch.gdt_frames = frames;
    vc.arch.gdt_nr_frames = nr;
    vc.arch.gdt_ents = entries as u32;
    if ctx.hv.current == Some((dom, ctx.vcpu)) {
        map_gdt(ctx.hv, dom, ctx.vcpu);
    }
    let mut m = mm(ctx);
    for f in &old.0[..old.1] {
        m.put_page_and_type(*f);
    }
    m.finish();
    Ok(0)
}

/// `update_descriptor(maddr, desc)`: writes one checked descriptor.
pub fn do_update_descriptor<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (ma, desc) = (a[0], a[1]);
    if ma & 7 != 0 {
        return Err(Errno(EINVAL));
    }
    let fixed = check_descriptor(desc).ok_or(Errno(EINVAL))?;
    let (mfn, idx) = (Mfn(ma >> 12), ((ma & 0xfff) >> 3) as usize);
    let dom = ctx.dom;
    let mut m = mm(ctx);
    m.get_page(mfn, dom)?;
    let p = m.frames.get(mfn).expect("referenced");
    let r = if p.ty() == PageType::SegDesc && p.type_count > 0 {
        m.phys.write_u64(mfn, idx, fixed);
        Ok(0)
    } else {
        m.get_page_type(mfn, PageType::Writable).map(|_| {
            m.phys.write_u64(mfn, idx, fixed);
            m.put_page_type(mfn);
            0
        })
    };
    m.put_page(mfn);
    m.finish();
    r
}

fn set_percpu_pte(hv: &mut Hv, va: u64, e: u64) {
    let l1 = hv.arch.percpu_l1;
    if l1.0 == 0 {
        return; // host tests: no per-CPU area
    }
    debug_assert_eq!(va >> 21, PERCPU_VIRT_START >> 21);
    hv.phys.write_u64(l1, index(va, 1), e);
    hv.hw.invlpg(va);
}

/// Maps the vCPU's GDT frames into the per-CPU GDT area (the rest of the
/// 14 guest pages shows a zero page).
pub fn map_gdt(hv: &mut Hv, d: DomId, v: u32) {
    let a = &hv.domains.get(d).expect("domain").vcpus[v as usize].arch;
    let (frames, nr) = (a.gdt_frames, a.gdt_nr_frames);
    let zero = hv.arch.zero_page;
    for (i, f) in frames.iter().enumerate() {
        let va = GDT_VIRT_START + i as u64 * 4096;
        let e = if i < nr { f.addr() | pte::PRESENT | pte::RW | pte::NX } else { zero.addr() | pte::PRESENT | pte::NX };
        set_percpu_pte(hv, va, e);
    }
}

/// `MMUEXT_SET_LDT`: finds the LDT's frames through the vCPU's current
/// page table, types them `SegDesc` (no writable mapping may exist, every
/// descriptor is checked), releases the previous LDT, and maps it.
pub fn set_ldt(hv: &mut Hv, d: DomId, v: u32, base: u64, ents: u32) -> Result<(), Errno> {
    if base & 0xfff != 0 || ents > 8192 || !guest_range_ok(base, ents as u64 * 8) {
        return Err(Errno(EINVAL));
    }
    let pages = (ents as u64 * 8).div_ceil(4096) as usize;
    let l4 = hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].arch.cr3();
    let mut frames = [Mfn(0); 16];
    for (i, f) in frames.iter_mut().enumerate().take(pages) {
        let (l1, idx) = super::mmu::guest_l1_for(hv, l4, base + i as u64 * 4096).ok_or(Errno(EINVAL))?;
        let e = hv.phys.read_u64(l1, idx);
        if e & pte::PRESENT == 0 {
            return Err(Errno(EINVAL));
        }
        *f = pte::mfn(e);
    }
    // Field borrows (not `Mm::of`): the vCPU is updated while `m` lives.
    let mut m = Mm {
        frames: &mut hv.frames,
        phys: &mut hv.phys,
        idle_l4: hv.arch.idle_l4,
        tlb: hv.hw,
        pg_owner: d,
        allow_cache_attrs: false,
        need_flush: false,
    };
    for i in 0..pages {
        if let Err(e) = m.get_page_and_type(frames[i], d, PageType::SegDesc) {
            for f in &frames[..i] {
                m.put_page_and_type(*f);
            }
            m.finish();
            return Err(e);
        }
    }
    let a = &mut hv.domains.get_mut(d).expect("domain").vcpus[v as usize].arch;
    let old = core::mem::replace(&mut a.ldt_frames, frames);
    let old_n = (a.ldt_ents as u64 * 8).div_ceil(4096) as usize;
    a.ldt_base = base;
    a.ldt_ents = ents;
    for f in &old[..old_n] {
        m.put_page_and_type(*f);
    }
    m.finish();
    if hv.current == Some((d, v)) {
        map_ldt(hv, d, v);
    }
    Ok(())
}

/// Maps the vCPU's LDT frames at `LDT_VIRT_START`, writes the LDT
/// descriptor (selector 0xe050) and loads LDTR (null when there is none).
pub fn map_ldt(hv: &mut Hv, d: DomId, v: u32) {
    let a = &hv.domains.get(d).expect("domain").vcpus[v as usize].arch;
    let (frames, ents) = (a.ldt_frames, a.ldt_ents);
    let pages = (ents as u64 * 8).div_ceil(4096) as usize;
    for (i, f) in frames.iter().enumerate() {
        let e = if i < pages { f.addr() | pte::PRESENT | pte::RW | pte::NX } else { 0 };
        set_percpu_pte(hv, LDT_VIRT_START + i as u64 * 4096, e);
    }
    let gdt_page = hv.arch.gdt_hv_page;
    if ents == 0 || gdt_page.0 == 0 {
        hv.hw.load_ldt(0);
        return;
    }
    let (base, limit) = (LDT_VIRT_START, ents as u64 * 8 - 1);
    let lo = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x82 << 40)
        | (((limit >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    hv.phys.write_u64(gdt_page, 10, lo);
    hv.phys.write_u64(gdt_page, 11, base >> 32);
    hv.hw.load_ldt(crate::arch::x86_64::layout::sel::LDT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_checks() {
        // Linux's __KERNEL_CS (DPL 0, 64-bit code): DPL raised to 3.
        let kcs = 0x00af_9b00_0000_ffff;
        assert_eq!(check_descriptor(kcs), Some(kcs | DPL3));
        // Data segment DPL 0 -> 3.
        assert_eq!(check_descriptor(0x00cf_9300_0000_ffff), Some(0x00cf_f300_0000_ffff));
        // Not present: unchanged.
        assert_eq!(check_descriptor(0x00cf_1300_0000_ffff), Some(0x00cf_1300_0000_ffff));
        // 64-bit TSS (type 9), LDT (type 2), call gate (type 0xc): refused.
        assert_eq!(check_descriptor(0x0000_8900_0000_0067), None);
        assert_eq!(check_descriptor(0x0000_8200_0000_0fff), None);
        assert_eq!(check_descriptor(0x0000_ec00_0010_0000), None);
        // Type 0, present, system: the upper half of a 16-byte descriptor.
        assert_eq!(check_descriptor(0x0000_8000_0000_0000), Some(0x0000_e000_0000_0000));
        assert_eq!(check_descriptor(0), Some(0));
    }
}
