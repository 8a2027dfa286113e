//! The control hypercalls a PV toolstack makes, one function each, with
//! the arguments libxl/libxc pass for a 64-bit PV guest (see
//! `docs/toolstack-build.md`).

use crate::error::{Context, Error, Result};
use alloc::vec::Vec;
use pv_abi::abi::arch_x86::{
    VGCF_in_kernel, VGCF_online, VcpuGuestContext, FLAT_KERNEL_CS, FLAT_KERNEL_DS, FLAT_KERNEL_SS,
};
use pv_abi::abi::domctl::*;
use pv_abi::abi::errno::{EAGAIN, ERESTART};
use pv_abi::abi::memory::XENMEM_populate_physmap;
use pv_abi::abi::sysctl::{
    XEN_SYSCTL_getdomaininfolist, XEN_SYSCTL_readconsole, XenSysctl, XenSysctlGetdomaininfolist, XenSysctlReadconsole,
};
use pv_abi::abi::xen::{MmuextOp, DOMID_FIRST_RESERVED, MMUEXT_PIN_L4_TABLE};
use pv_abi::{hypercall, DomId};

/// Issues `op` (no guest handles in its payload).
fn plain(mut op: XenDomctl, what: &'static str) -> Result<XenDomctl> {
    // SAFETY: callers only pass commands whose payload has no guest
    // handle, and none of them changes dom0's own memory.
    unsafe { hypercall::domctl(&mut op) }.ctx(what)?;
    Ok(op)
}

/// `XEN_DOMCTL_createdomain` for a PV guest: no HVM/HAP flags, no
/// emulated devices, grant table v1 with 32 frames and 1024 maptrack
/// frames, as libxl's defaults. The hypervisor picks the id.
pub fn createdomain(max_vcpus: u32, max_evtchn_port: u32) -> Result<DomId> {
    let cfg = XenDomctlCreatedomain {
        max_vcpus,
        max_evtchn_port,
        max_grant_frames: 32,
        max_maptrack_frames: 1024,
        grant_opts: xen_domctl_grant_version(1),
        ..Default::default()
    };
    let op = plain(XenDomctl::new(XEN_DOMCTL_createdomain, 0, &cfg), "XEN_DOMCTL_createdomain")?;
    let id = DomId(op.domain);
    if !id.is_regular() || id == DomId::DOM0 {
        return Err(Error::Bad("XEN_DOMCTL_createdomain returned domain id", op.domain as u64));
    }
    Ok(id)
}

/// `XEN_DOMCTL_max_vcpus`: Xen 4.17 sizes the vCPU array at creation but
/// allocates the vCPUs here (`max` must equal the created maximum).
pub fn max_vcpus(dom: DomId, max: u32) -> Result {
    plain(XenDomctl::new(XEN_DOMCTL_max_vcpus, dom.0, &XenDomctlMaxVcpus { max }), "XEN_DOMCTL_max_vcpus").map(drop)
}

/// `XEN_DOMCTL_max_mem` in KiB.
pub fn max_mem(dom: DomId, max_memkb: u64) -> Result {
    plain(XenDomctl::new(XEN_DOMCTL_max_mem, dom.0, &XenDomctlMaxMem { max_memkb }), "XEN_DOMCTL_max_mem").map(drop)
}

/// `XEN_DOMCTL_set_address_size` (64 for `xen-3.0-x86_64`, as libxc's
/// `x86_compat`).
pub fn set_address_size(dom: DomId, size: u32) -> Result {
    let op = XenDomctl::new(XEN_DOMCTL_set_address_size, dom.0, &XenDomctlAddressSize { size });
    plain(op, "XEN_DOMCTL_set_address_size").map(drop)
}

/// `XEN_DOMCTL_hypercall_init`: the hypervisor writes its hypercall
/// stubs into frame `gmfn` (an MFN for a PV guest).
pub fn hypercall_init(dom: DomId, gmfn: u64) -> Result {
    let op = XenDomctl::new(XEN_DOMCTL_hypercall_init, dom.0, &XenDomctlHypercallInit { gmfn });
    plain(op, "XEN_DOMCTL_hypercall_init").map(drop)
}

/// `XEN_DOMCTL_pausedomain`.
pub fn pause(dom: DomId) -> Result {
    plain(XenDomctl::without_payload(XEN_DOMCTL_pausedomain, dom.0), "XEN_DOMCTL_pausedomain").map(drop)
}

/// `XEN_DOMCTL_unpausedomain`.
pub fn unpause(dom: DomId) -> Result {
    plain(XenDomctl::without_payload(XEN_DOMCTL_unpausedomain, dom.0), "XEN_DOMCTL_unpausedomain").map(drop)
}

/// `XEN_DOMCTL_destroydomain`. Xen restarts the hypercall itself while it
/// frees the domain's memory (`-ERESTART` becomes a continuation); libxc
/// still retries on `-EAGAIN`, and so do we (bounded).
pub fn destroydomain(dom: DomId) -> Result {
    for _ in 0..10_000 {
        match plain(XenDomctl::without_payload(XEN_DOMCTL_destroydomain, dom.0), "XEN_DOMCTL_destroydomain") {
            Err(Error::Hv(_, e)) if e.0 == EAGAIN || e.0 == ERESTART => {
                let _ = hypercall::sched_yield();
            }
            r => return r.map(drop),
        }
    }
    Err(Error::Bad("XEN_DOMCTL_destroydomain kept asking to retry, domain", dom.0 as u64))
}

/// `XEN_DOMCTL_setvcpucontext` of `vcpu`.
pub fn setvcpucontext(dom: DomId, vcpu: u32, ctx: &VcpuGuestContext) -> Result {
    let mut op = XenDomctl::new(
        XEN_DOMCTL_setvcpucontext,
        dom.0,
        &XenDomctlVcpucontext { vcpu, _pad: 0, ctxt: ctx as *const VcpuGuestContext as u64 },
    );
    // SAFETY: the handle points at `ctx`, a live vcpu_guest_context that
    // Xen only reads.
    unsafe { hypercall::domctl(&mut op) }.ctx("XEN_DOMCTL_setvcpucontext").map(drop)
}

/// The start-of-day register state of a 64-bit PV vCPU 0, as libxc's
/// `vcpu_x86_64`: kernel mode, online, flat kernel selectors, interrupts
/// (events) enabled in `rflags`, `%rsi` = `start_info`, CR3 = the pinned L4.
pub fn boot_context(entry: u64, stack_top: u64, start_info_va: u64, l4_mfn: u64) -> VcpuGuestContext {
    let mut c = VcpuGuestContext { flags: VGCF_in_kernel | VGCF_online, ..Default::default() };
    c.user_regs.rip = entry;
    c.user_regs.rsp = stack_top;
    c.user_regs.rsi = start_info_va;
    c.user_regs.rflags = 1 << 9;
    c.user_regs.cs = FLAT_KERNEL_CS;
    c.user_regs.ss = FLAT_KERNEL_SS;
    c.user_regs.ds = FLAT_KERNEL_DS;
    c.user_regs.es = FLAT_KERNEL_DS;
    c.user_regs.fs = FLAT_KERNEL_DS;
    c.user_regs.gs = FLAT_KERNEL_DS;
    c.kernel_ss = FLAT_KERNEL_SS as u64;
    c.kernel_sp = stack_top;
    // xen_pfn_to_cr3() on x86_64.
    c.ctrlreg[3] = l4_mfn << 12;
    // X86_DR6_DEFAULT, X86_DR7_DEFAULT.
    c.debugreg[6] = 0xffff_0ff0;
    c.debugreg[7] = 0x0000_0400;
    c
}

/// `XENMEM_populate_physmap` of `nr_pages` single frames for `dom`, PFNs
/// `0..nr_pages`. For a PV guest Xen records each PFN in the M2P and
/// returns the MFN in its place: the result is the guest's P2M.
pub fn populate_physmap(dom: DomId, nr_pages: u64) -> Result<Vec<u64>> {
    let mut p2m: Vec<u64> = (0..nr_pages).collect();
    for chunk in p2m.chunks_mut(4096) {
        let want = chunk.len() as u64;
        let done = hypercall::reservation(XENMEM_populate_physmap, dom, chunk, 0).ctx("XENMEM_populate_physmap")?;
        if done != want {
            return Err(Error::Bad("XENMEM_populate_physmap: frames allocated short of the request", done));
        }
    }
    Ok(p2m)
}

/// `MMUEXT_PIN_L4_TABLE` of `dom`'s frame `mfn`: the hypervisor validates
/// the whole bootstrap tree (every table typed, every mapping allowed)
/// and installs its own L4 slots.
pub fn pin_l4(dom: DomId, mfn: u64) -> Result {
    let op = MmuextOp { cmd: MMUEXT_PIN_L4_TABLE, _pad: 0, arg1: mfn, arg2: 0 };
    // SAFETY: pins a page table of another domain; dom0's own mappings are
    // untouched.
    unsafe { hypercall::mmuext_op(core::slice::from_ref(&op), dom) }
        .map_err(|(_, e)| Error::Hv("MMUEXT_PIN_L4_TABLE", e))
}

/// `XEN_SYSCTL_physinfo.free_pages`.
pub fn free_pages() -> Result<u64> {
    Ok(hypercall::physinfo().ctx("XEN_SYSCTL_physinfo")?.free_pages)
}

/// `XEN_SYSCTL_getdomaininfolist`: every domain from id 0 on, in id order
/// (as libxl's `libxl_list_domain`).
pub fn domaininfolist() -> Result<Vec<XenDomctlGetdomaininfo>> {
    const BATCH: usize = 64;
    let mut all = Vec::new();
    let mut first: u32 = 0;
    loop {
        let mut buf = alloc::vec![XenDomctlGetdomaininfo::default(); BATCH];
        let req = XenSysctlGetdomaininfolist {
            first_domain: first as u16,
            max_domains: BATCH as u32,
            buffer: buf.as_mut_ptr() as u64,
            ..Default::default()
        };
        let mut op = XenSysctl::new(XEN_SYSCTL_getdomaininfolist, &req);
        // SAFETY: the handle points at `buf`, BATCH writable records that
        // the hypervisor fills; nothing else refers to them meanwhile.
        unsafe { hypercall::sysctl(&mut op) }.ctx("XEN_SYSCTL_getdomaininfolist")?;
        let got: XenSysctlGetdomaininfolist = op.u.get();
        let n = (got.num_domains as usize).min(BATCH);
        buf.truncate(n);
        let last = buf.last().map(|d| d.domain as u32);
        all.extend(buf);
        match last {
            Some(l) if n == BATCH && l < DOMID_FIRST_RESERVED as u32 => first = l + 1,
            _ => return Ok(all),
        }
    }
}

/// `XEN_SYSCTL_readconsole`: the hypervisor's console history from
/// position `index` on (incremental reads of at most `buf.len()` bytes);
/// returns the bytes read and the next index. `clear` empties the ring
/// after reading (`xl dmesg -c`).
pub fn readconsole(index: u32, buf: &mut [u8], clear: bool) -> Result<(usize, u32)> {
    let req = XenSysctlReadconsole {
        clear: clear as u8,
        incremental: 1,
        index,
        buffer: buf.as_mut_ptr() as u64,
        count: buf.len() as u32,
        ..Default::default()
    };
    let mut op = XenSysctl::new(XEN_SYSCTL_readconsole, &req);
    // SAFETY: the handle points at `buf` (`count` writable bytes), which
    // the hypervisor fills; nothing else refers to it meanwhile.
    unsafe { hypercall::sysctl(&mut op) }.ctx("XEN_SYSCTL_readconsole")?;
    let got: XenSysctlReadconsole = op.u.get();
    Ok(((got.count as usize).min(buf.len()), got.index))
}
