//! PV vCPU contexts and domain resources (Xen's `arch_set_info_guest`,
//! `arch_get_info_guest`, `domain_relinquish_resources`).
//!
//! A context (`vcpu_guest_context`, from `XEN_DOMCTL_setvcpucontext` or
//! `VCPUOP_initialise`) is checked in full before anything changes: every
//! selector gets RPL 3, every address must be canonical and outside the
//! hypervisor's range, the top-level table must validate as an L4 of the
//! domain's, the GDT frames as descriptor pages. Only then is it installed
//! and the previous state's references released.

use super::cpu::fixup_selector;
use super::Callback;
use crate::arch::x86_64::layout::guest_range_ok;
use crate::arch::x86_64::mm::Mm;
use crate::common::domain::{FpuState, VcpuState};
use crate::common::frame::{Owner, PageFlags, PageType};
use crate::common::Hv;
use pv_abi::abi::arch_x86::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::vcpu::{RUNSTATE_offline, RUNSTATE_runnable};
use pv_abi::{DomId, Mfn};

fn guest_addr(a: u64) -> bool {
    a == 0 || guest_range_ok(a, 1)
}

/// Takes a general and a writable type reference on `d`'s frame `m` (it
/// is then guaranteed never to become a page table).
pub fn pin_writable(hv: &mut Hv, d: DomId, m: Mfn) -> Result<(), Errno> {
    let mut mm = Mm::of(hv, d);
    mm.get_page_and_type(m, d, PageType::Writable)?;
    mm.finish();
    Ok(())
}

/// Releases [`pin_writable`].
pub fn unpin_writable(hv: &mut Hv, d: DomId, m: Mfn) {
    let mut mm = Mm::of(hv, d);
    mm.put_page_and_type(m);
    mm.finish();
}

/// Installs a context on vCPU `v` of `d` (which must not be running).
pub fn set_vcpu_context(hv: &mut Hv, d: DomId, v: u32, c: &VcpuGuestContext) -> Result<(), Errno> {
    // Checks first.
    let mut regs = c.user_regs;
    for a in [regs.rip, c.event_callback_eip, c.failsafe_callback_eip, c.syscall_callback_eip, c.kernel_sp, c.ldt_base]
    {
        if !guest_addr(a) {
            return Err(Errno(EINVAL));
        }
    }
    for a in [c.fs_base, c.gs_base_kernel, c.gs_base_user] {
        if !(0..0x0000_8000_0000_0000).contains(&a) && a < 0xffff_8800_0000_0000 {
            return Err(Errno(EINVAL));
        }
    }
    if c.trap_ctxt.iter().any(|t| t.address != 0 && !guest_addr(t.address)) {
        return Err(Errno(EINVAL));
    }
    if c.gdt_ents > FIRST_RESERVED_GDT_ENTRY as u64 || c.ldt_ents > 8192 || c.ldt_base & 0xfff != 0 {
        return Err(Errno(EINVAL));
    }
    if c.debugreg[7] & 0xff != 0 {
        // Guest breakpoints through a context are not supported; a guest
        // sets them with set_debugreg once running.
        return Err(Errno(EINVAL));
    }
    if c.vm_assist & !super::cpu::VM_ASSIST_VALID != 0 {
        return Err(Errno(EINVAL));
    }
    let l4 = Mfn(c.ctrlreg[3] >> 12);
    let user_l4 = Mfn(c.ctrlreg[1] >> 12);
    let nr_gdt = c.gdt_ents.div_ceil(512) as usize;
    // References: kernel L4, user L4, GDT frames.
    {
        let mut m = Mm::of(hv, d);
        m.get_page_and_type(l4, d, PageType::L4)?;
        if user_l4.0 != 0 {
            if let Err(e) = m.get_page_and_type(user_l4, d, PageType::L4) {
                m.put_page_and_type(l4);
                m.finish();
                return Err(e);
            }
        }
        for i in 0..nr_gdt {
            if let Err(e) = m.get_page_and_type(Mfn(c.gdt_frames[i]), d, PageType::SegDesc) {
                for f in &c.gdt_frames[..i] {
                    m.put_page_and_type(Mfn(*f));
                }
                if user_l4.0 != 0 {
                    m.put_page_and_type(user_l4);
                }
                m.put_page_and_type(l4);
                m.finish();
                return Err(e);
            }
        }
        m.finish();
    }
    // The old context's references go.
    relinquish_vcpu_state(hv, d, v);

    let dom = hv.domains.get_mut(d).ok_or(Errno(ESRCH))?;
    if v == 0 {
        dom.vm_assist = c.vm_assist;
    }
    let vc = &mut dom.vcpus[v as usize];
    regs.cs = fixup_selector(regs.cs);
    regs.ss = fixup_selector(regs.ss);
    regs.ds = fixup_selector(regs.ds);
    regs.es = fixup_selector(regs.es);
    regs.fs = fixup_selector(regs.fs);
    regs.gs = fixup_selector(regs.gs);
    if regs.cs == 0 {
        regs.cs = FLAT_KERNEL_CS;
    }
    if regs.ss == 0 {
        regs.ss = FLAT_KERNEL_SS;
    }
    // IOPL lives in the vCPU, not the flags; the guest always runs with IF.
    vc.arch.iopl = ((regs.rflags >> 12) & 3) as u8;
    regs.rflags = (regs.rflags & !(3 << 12) & 0x003f_7fd7) | 0x202;
    vc.regs = regs;
    let a = &mut vc.arch;
    a.kernel_mode = c.flags & VGCF_in_kernel != 0;
    a.cr3_kernel = l4;
    a.cr3_user = user_l4;
    for (i, t) in c.trap_ctxt.iter().enumerate() {
        let mut t = *t;
        t.cs = fixup_selector(t.cs);
        a.trap_ctxt[i] = t;
    }
    a.event_callback = Callback { address: c.event_callback_eip, mask_events: true };
    a.failsafe_callback =
        Callback { address: c.failsafe_callback_eip, mask_events: c.flags & VGCF_failsafe_disables_events != 0 };
    a.syscall_callback =
        Callback { address: c.syscall_callback_eip, mask_events: c.flags & VGCF_syscall_disables_events != 0 };
    a.kernel_ss = fixup_selector(c.kernel_ss as u16);
    a.kernel_sp = c.kernel_sp;
    a.fs_base = c.fs_base;
    a.gs_base_kernel = c.gs_base_kernel;
    a.gs_base_user = c.gs_base_user;
    a.gdt_frames = [Mfn(0); 14];
    for i in 0..nr_gdt {
        a.gdt_frames[i] = Mfn(c.gdt_frames[i]);
    }
    a.gdt_nr_frames = nr_gdt;
    a.gdt_ents = c.gdt_ents as u32;
    a.debugreg = [0, 0, 0, 0, 0xffff_0ff0, 0, 0xffff_0ff0, 0x400];
    a.fpu_ts = false;
    if c.flags & VGCF_i387_valid != 0 {
        let mut f = FpuState::initial();
        f.0.copy_from_slice(&c.fpu_ctxt);
        // MXCSR reserved bits would make fxrstor fault in the hypervisor.
        let mxcsr = u32::from_le_bytes(f.0[24..28].try_into().expect("4 bytes")) & 0xffbf;
        f.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        vc.fpu = f;
    } else {
        vc.fpu = FpuState::initial();
    }
    let online = c.flags & VGCF_online != 0;
    vc.state = if online { VcpuState::Runnable } else { VcpuState::Down };
    let now = crate::common::time::now(hv);
    crate::common::vcpu::set_runstate(hv, d, v, if online { RUNSTATE_runnable } else { RUNSTATE_offline }, now);
    // The LDT needs the page table in place.
    if c.ldt_ents != 0 {
        if let Err(e) = super::descriptors::set_ldt(hv, d, v, c.ldt_base, c.ldt_ents as u32) {
            relinquish_vcpu_state(hv, d, v);
            if let Some(vc) = hv.domains.get_mut(d).map(|x| &mut x.vcpus[v as usize]) {
                vc.state = VcpuState::Down;
            }
            return Err(e);
        }
    }
    hv.sched.need_resched = true;
    Ok(())
}

/// The context of vCPU `v` of `d` (not the one on the CPU).
pub fn get_vcpu_context(hv: &Hv, d: DomId, v: u32) -> VcpuGuestContext {
    let mut c: VcpuGuestContext = zerocopy::FromZeros::new_zeroed();
    let Some(vc) = hv.domains.get(d).and_then(|x| x.vcpus.get(v as usize)) else { return c };
    let a = &vc.arch;
    c.fpu_ctxt.copy_from_slice(&vc.fpu.0);
    c.flags = VGCF_i387_valid
        | if a.kernel_mode { VGCF_in_kernel } else { 0 }
        | if vc.state != VcpuState::Down { VGCF_online } else { 0 }
        | if a.failsafe_callback.mask_events { VGCF_failsafe_disables_events } else { 0 }
        | if a.syscall_callback.mask_events { VGCF_syscall_disables_events } else { 0 };
    c.user_regs = vc.regs;
    c.user_regs.rflags |= (a.iopl as u64) << 12;
    c.trap_ctxt.copy_from_slice(&a.trap_ctxt[..]);
    c.ldt_base = a.ldt_base;
    c.ldt_ents = a.ldt_ents as u64;
    for (i, f) in a.gdt_frames.iter().enumerate().take(a.gdt_nr_frames) {
        c.gdt_frames[i] = f.0;
    }
    c.gdt_ents = a.gdt_ents as u64;
    c.kernel_ss = a.kernel_ss as u64;
    c.kernel_sp = a.kernel_sp;
    c.ctrlreg[0] = 0x8005_003b; // PG|WP|NE|ET|TS|MP|PE, as Xen reports
    c.ctrlreg[1] = a.cr3_user.0 << 12;
    c.ctrlreg[3] = a.cr3_kernel.0 << 12;
    c.ctrlreg[4] = a.cr4_guest;
    c.debugreg = a.debugreg;
    c.event_callback_eip = a.event_callback.address;
    c.failsafe_callback_eip = a.failsafe_callback.address;
    c.syscall_callback_eip = a.syscall_callback.address;
    c.vm_assist = hv.domains.get(d).map_or(0, |x| x.vm_assist);
    c.fs_base = a.fs_base;
    c.gs_base_kernel = a.gs_base_kernel;
    c.gs_base_user = a.gs_base_user;
    c
}

/// Drops the references a vCPU's page-table bases and descriptor tables
/// hold, leaving it without a context.
fn relinquish_vcpu_state(hv: &mut Hv, d: DomId, v: u32) {
    let Some(vc) = hv.domains.get_mut(d).and_then(|x| x.vcpus.get_mut(v as usize)) else { return };
    let a = &mut vc.arch;
    let (k, u) = (core::mem::replace(&mut a.cr3_kernel, Mfn(0)), core::mem::replace(&mut a.cr3_user, Mfn(0)));
    let gdt = (a.gdt_frames, core::mem::replace(&mut a.gdt_nr_frames, 0));
    a.gdt_ents = 0;
    let ldt_pages = (a.ldt_ents as u64 * 8).div_ceil(4096) as usize;
    let ldt = a.ldt_frames;
    a.ldt_ents = 0;
    a.ldt_base = 0;
    *a.trap_ctxt = [TrapInfo::default(); 256];
    let mut m = Mm::of(hv, d);
    for f in [k, u] {
        if f.0 != 0 {
            m.put_page_and_type(f);
        }
    }
    for f in &gdt.0[..gdt.1] {
        m.put_page_and_type(*f);
    }
    for f in &ldt[..ldt_pages] {
        m.put_page_and_type(*f);
    }
    m.finish();
}

/// Releases everything vCPU `v` of a dying `d` holds.
pub fn relinquish_vcpu(hv: &mut Hv, d: DomId, v: u32) {
    relinquish_vcpu_state(hv, d, v);
    let Some(vc) = hv.domains.get_mut(d).and_then(|x| x.vcpus.get_mut(v as usize)) else { return };
    vc.runstate_guest = 0;
    if vc.vcpu_info_registered {
        vc.vcpu_info_registered = false;
        let (m, _) = vc.vcpu_info;
        unpin_writable(hv, d, m);
    }
}

/// Unpins every table `d` pinned (its tables are then devalidated unless
/// something else still uses them).
pub fn unpin_all(hv: &mut Hv, d: DomId, frames: &[Mfn]) {
    let pinned: alloc::vec::Vec<Mfn> = frames
        .iter()
        .copied()
        .filter(|&m| {
            hv.frames.get(m).is_some_and(|p| p.owner() == Owner::Domain(d) && p.flags().contains(PageFlags::PINNED))
        })
        .collect();
    let mut mm = Mm::of(hv, d);
    for m in pinned {
        let p = mm.frames.get_mut(m).expect("frame");
        p.set_flags(p.flags() - PageFlags::PINNED);
        mm.put_page_and_type(m);
    }
    mm.finish();
}

/// `XEN_DOMCTL_hypercall_init`: writes the hypercall page into `d`'s
/// frame `m` (which must be an ordinary page of `d`'s).
pub fn hypercall_init(hv: &mut Hv, d: DomId, m: Mfn) -> Result<(), Errno> {
    if hv.domains.get(d).is_none() {
        return Err(Errno(ESRCH));
    }
    pin_writable(hv, d, m).map_err(|_| Errno(EINVAL))?;
    hv.phys.write(m, 0, &super::hypercall_page());
    unpin_writable(hv, d, m);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixups_and_refusals() {
        // Selectors get RPL 3; an address in the hypervisor's range is refused.
        assert_eq!(fixup_selector(0xe030), 0xe033);
        assert!(!guest_addr(0xffff_8000_0000_1000));
        assert!(guest_addr(0xffff_ffff_8000_0000));
        assert!(guest_addr(0));
    }
}
