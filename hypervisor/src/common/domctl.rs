//! Privileged control: `domctl` and `sysctl` (Xen 4.17 interface versions
//! 0x15), and the domain life cycle behind them (Xen's `common/domctl.c`,
//! `common/domain.c`, `common/sysctl.c`).
//!
//! Only the privileged domain may call these (Xen's default XSM policy);
//! anyone else gets `-EPERM`. A wrong interface version is `-EACCES`.
//!
//! Life cycle: `createdomain` makes a paused domain with its vCPUs down;
//! the toolstack gives it memory (`memory_op` with its domid), builds it
//! through foreign mappings, sets vCPU 0's context and unpauses it. A
//! domain that shuts down stays until the toolstack destroys it.
//! `destroydomain` kills it at once: its event channels close (peers see
//! their ports go back to unbound), the grant mappings it holds are
//! released, its page tables are unpinned and devalidated, and every frame
//! nobody else references is freed. Frames other domains still reference
//! (mapped grants, foreign mappings) are orphaned and freed when the last
//! reference goes; until then the domain is a zombie (`XEN_DOMINF_dying`),
//! and it disappears with its last frame.

use crate::common::domain::{Domain, DomainState, VcpuState};
use crate::common::frame::{Owner, PageFlags};
use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use crate::common::{event, grant, time, Hv};
use alloc::vec::Vec;
use pv_abi::abi::domctl::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::sysctl::*;
use pv_abi::abi::xen::{DOMID_FIRST_RESERVED, VIRQ_DOM_EXC};
use pv_abi::{DomId, Mfn};

/// Most vCPUs a domain may have (their `vcpu_info` starts in `shared_info`).
pub const MAX_VCPUS: u32 = pv_abi::abi::arch_x86::XEN_LEGACY_MAX_VCPUS as u32;

/// Parameters of a new domain.
#[derive(Clone, Copy, Debug)]
pub struct CreateParams {
    /// Wanted id (`None`: the lowest free one).
    pub id: Option<DomId>,
    /// vCPUs.
    pub max_vcpus: u32,
    /// Highest event-channel port + 1.
    pub max_ports: u32,
    /// Grant-table frame limit.
    pub max_grant_frames: u32,
    /// Maptrack entry limit.
    pub max_maptrack: u32,
    /// Toolstack handle.
    pub handle: [u8; 16],
}

/// Creates a paused domain with down vCPUs and a zeroed `shared_info`
/// (all events masked until the guest unmasks them).
pub fn create_domain(hv: &mut Hv, p: &CreateParams) -> Result<DomId, Errno> {
    if p.max_vcpus == 0 || p.max_vcpus > MAX_VCPUS {
        return Err(Errno(EINVAL));
    }
    let id = match p.id {
        Some(id) => {
            if hv.domains.get(id).is_some() {
                return Err(Errno(EEXIST));
            }
            id
        }
        None => hv.domains.free_id(1, DOMID_FIRST_RESERVED).ok_or(Errno(ENOMEM))?,
    };
    let si = crate::common::dom0::alloc_zeroed(hv, Owner::Domain(id)).ok_or(Errno(ENOMEM))?;
    if let Some(pi) = hv.frames.get_mut(si) {
        pi.set_flags(PageFlags::XEN_HEAP);
    }
    let mut d = Domain::new(id, false, p.max_vcpus, si);
    d.evtchn.max_ports = p.max_ports.clamp(1, event::NR_PORTS);
    d.grant.max_frames = p.max_grant_frames;
    d.grant.max_maptrack = p.max_maptrack;
    d.handle = p.handle;
    // Events masked at start of day on every vCPU.
    for v in &d.vcpus {
        let (m, off) = v.vcpu_info;
        hv.phys.write(m, off + crate::common::domain::vcpu_info::MASK, &[1]);
    }
    hv.domains.insert(d);
    time::update_wallclock(hv, si);
    log::info!("created domain {}", id.0);
    Ok(id)
}

/// Unpauses a domain (the toolstack's `unpausedomain`).
pub fn unpause(hv: &mut Hv, d: DomId) -> Result<(), Errno> {
    let dom = hv.domains.get_mut(d).ok_or(Errno(ESRCH))?;
    if dom.state == DomainState::Paused {
        dom.state = DomainState::Running;
        hv.sched.need_resched = true;
    }
    Ok(())
}

/// Pauses a running domain.
pub fn pause(hv: &mut Hv, d: DomId) -> Result<(), Errno> {
    let dom = hv.domains.get_mut(d).ok_or(Errno(ESRCH))?;
    if dom.state == DomainState::Running {
        dom.state = DomainState::Paused;
        hv.sched.need_resched = true;
    }
    Ok(())
}

/// Kills a domain (Xen's `domain_kill` + `domain_relinquish_resources`),
/// leaving at most a zombie that holds frames others still reference.
pub fn destroy_domain(hv: &mut Hv, d: DomId) -> Result<(), Errno> {
    let dom = hv.domains.get_mut(d).ok_or(Errno(ESRCH))?;
    if dom.is_dying() {
        reap(hv, d);
        return Ok(());
    }
    dom.state = DomainState::Dying;
    dom.console.flush_if_pending(d);
    for v in dom.vcpus.iter_mut() {
        v.state = VcpuState::Down;
        v.timers = Default::default();
        v.poll_ports.clear();
    }
    hv.sched.need_resched = true;
    // Event channels: peers' ports go back to unbound.
    let ports: Vec<u32> = hv.domains.get(d).map(|x| x.evtchn.in_use().map(|(p, _)| p).collect()).unwrap_or_default();
    for p in ports {
        let _ = event::close(hv, d, p);
    }
    // Grant mappings this domain holds of others' pages.
    let mmu = crate::arch::grant_mmu();
    grant::release_mappings(hv, mmu, d);
    // vCPU state that holds references (page-table bases, GDT/LDT, vcpu_info).
    let nv = hv.domains.get(d).map_or(0, |x| x.vcpus.len() as u32);
    for v in 0..nv {
        crate::arch::relinquish_vcpu(hv, d, v);
    }
    // One pass over the frame table finds the domain's frames.
    let frames: Vec<Mfn> = hv.frames.frames_of(d).collect();
    // Pinned tables (unpinning devalidates; tables referenced only by
    // other tables of this domain follow).
    crate::arch::unpin_all(hv, d, &frames);
    // Grant frames.
    for m in grant::release_table(hv, d) {
        if let Some(pi) = hv.frames.get_mut(m) {
            pi.set_flags(pi.flags() - PageFlags::XEN_HEAP);
        }
    }
    // Every frame left (the list plus grant frames, still the domain's):
    // free it, or orphan it if someone still holds it.
    let mut orphans = 0u64;
    for m in frames {
        let p = hv.frames.get_mut(m).expect("frame of the domain");
        if p.owner() != Owner::Domain(d) {
            continue; // freed as an orphan while others were unpinned
        }
        if p.count == 0 && p.type_count == 0 {
            let _ = hv.frames.free(m);
            hv.m2p.set(m, None);
        } else {
            p.set_flags(p.flags() | PageFlags::ORPHAN);
            orphans += 1;
        }
    }
    if let Some(dom) = hv.domains.get_mut(d) {
        dom.tot_pages = 0;
    }
    if orphans > 0 {
        log::info!("domain {} destroyed; {orphans} frames still referenced by others", d.0);
    } else {
        log::info!("domain {} destroyed", d.0);
    }
    reap(hv, d);
    event::send_global_virq(hv, DomId::DOM0, VIRQ_DOM_EXC);
    Ok(())
}

/// Removes a dying domain once it owns no frames.
pub fn reap(hv: &mut Hv, d: DomId) -> bool {
    if !hv.domains.get(d).is_some_and(|x| x.is_dying()) {
        return false;
    }
    if hv.frames.owned_by(d) != 0 {
        return false;
    }
    hv.domains.remove(d);
    if hv.current.is_some_and(|(cd, _)| cd == d) {
        hv.current = None;
    }
    true
}

/// Reaps every zombie that has lost its last frame.
pub fn reap_all(hv: &mut Hv) {
    let dying: Vec<DomId> = hv.domains.iter().filter(|d| d.is_dying()).map(|d| d.id).collect();
    for d in dying {
        if reap(hv, d) {
            log::info!("domain {} gone (its last frame was released)", d.0);
        }
    }
}

/// `getdomaininfo` for one domain.
pub fn domain_info(hv: &Hv, dom: &Domain) -> XenDomctlGetdomaininfo {
    let mut flags = 0;
    match dom.state {
        DomainState::Dying => flags |= XEN_DOMINF_dying,
        DomainState::Shutdown(r) => {
            flags |= XEN_DOMINF_shutdown | (r & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift
        }
        DomainState::Paused => flags |= XEN_DOMINF_paused,
        DomainState::Running => {}
    }
    let online: Vec<_> = dom.vcpus.iter().filter(|v| v.state != VcpuState::Down).collect();
    if hv.current.is_some_and(|(d, _)| d == dom.id) {
        flags |= XEN_DOMINF_running;
    } else if !online.is_empty() && online.iter().all(|v| v.state == VcpuState::Blocked) {
        flags |= XEN_DOMINF_blocked;
    }
    XenDomctlGetdomaininfo {
        domain: dom.id.0,
        flags,
        tot_pages: dom.tot_pages,
        max_pages: dom.max_pages,
        shared_info_frame: dom.shared_info.0,
        cpu_time: dom.sched.cpu_time,
        nr_online_vcpus: online.len() as u32,
        max_vcpu_id: dom.vcpus.len().saturating_sub(1) as u32,
        handle: dom.handle,
        gpaddr_bits: 52,
        ..Default::default()
    }
}

fn target<'h, M: GuestMem>(ctx: &'h mut Ctx<'_, M>, id: u16) -> Result<&'h mut Domain, Errno> {
    ctx.hv.domains.get_mut(DomId(id)).ok_or(Errno(ESRCH))
}

/// `domctl(op)`.
pub fn do_domctl<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    if !ctx.hv.domains.get(ctx.dom).is_some_and(|d| d.privileged) {
        return Err(Errno(EPERM));
    }
    let ptr = GuestPtr::<XenDomctl>::new(a[0]);
    let mut op = ptr.read(ctx.mem)?;
    if op.interface_version != XEN_DOMCTL_INTERFACE_VERSION {
        return Err(Errno(EACCES));
    }
    let id = op.domain;
    let caller = ctx.dom;
    let not_self = |id: u16| if id == caller.0 { Err(Errno(EINVAL)) } else { Ok(()) };
    match op.cmd {
        XEN_DOMCTL_createdomain => {
            let c: XenDomctlCreatedomain = op.u.get();
            if c.flags & XEN_DOMCTL_CDF_hvm != 0 || c.flags & !(XEN_DOMCTL_CDF_MAX * 2 - 1) != 0 {
                // HVM/PVH guests are out of scope.
                return Err(Errno(EINVAL));
            }
            let frames = |v: i32, default: u32| if v < 0 { default } else { (v as u32).min(4096) };
            let p = CreateParams {
                id: (id != 0 && id < DOMID_FIRST_RESERVED).then_some(DomId(id)),
                max_vcpus: c.max_vcpus,
                max_ports: c.max_evtchn_port.saturating_add(1),
                max_grant_frames: frames(c.max_grant_frames, grant::DEFAULT_MAX_FRAMES),
                max_maptrack: frames(c.max_maptrack_frames, 1024) * 256,
                handle: c.handle,
            };
            let new = create_domain(ctx.hv, &p)?;
            op.domain = new.0;
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        XEN_DOMCTL_destroydomain => {
            not_self(id)?;
            destroy_domain(ctx.hv, DomId(id)).map(|_| 0)
        }
        XEN_DOMCTL_pausedomain => {
            not_self(id)?;
            pause(ctx.hv, DomId(id)).map(|_| 0)
        }
        XEN_DOMCTL_unpausedomain => {
            not_self(id)?;
            unpause(ctx.hv, DomId(id)).map(|_| 0)
        }
        XEN_DOMCTL_getdomaininfo => {
            // Xen 4.17: the first domain with an id at or above the one asked.
            let info = ctx.hv.domains.iter().find(|d| d.id.0 >= id).map(|d| domain_info(ctx.hv, d));
            let info = info.ok_or(Errno(ESRCH))?;
            op.domain = info.domain;
            op.u.set(&info);
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        XEN_DOMCTL_max_mem => {
            let m: XenDomctlMaxMem = op.u.get();
            target(ctx, id)?.max_pages = m.max_memkb / 4;
            Ok(0)
        }
        XEN_DOMCTL_max_vcpus => {
            let m: XenDomctlMaxVcpus = op.u.get();
            let d = target(ctx, id)?;
            // vCPUs are created with the domain; this may only confirm them.
            if m.max as usize > d.vcpus.len() {
                return Err(Errno(EINVAL));
            }
            d.max_vcpus = m.max;
            Ok(0)
        }
        XEN_DOMCTL_setdomainhandle => {
            let h: XenDomctlSetdomainhandle = op.u.get();
            target(ctx, id)?.handle = h.handle;
            Ok(0)
        }
        XEN_DOMCTL_setvcpucontext => {
            not_self(id)?;
            let c: XenDomctlVcpucontext = op.u.get();
            let d = DomId(id);
            let dom = ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?;
            if c.vcpu as usize >= dom.vcpus.len() {
                return Err(Errno(EINVAL));
            }
            if dom.state != DomainState::Paused {
                return Err(Errno(EBUSY));
            }
            if c.ctxt == 0 {
                return Err(Errno(EINVAL));
            }
            let v = GuestPtr::<pv_abi::abi::arch_x86::VcpuGuestContext>::new(c.ctxt).read(ctx.mem)?;
            crate::arch::set_vcpu_context(ctx.hv, d, c.vcpu, &v).map(|_| 0)
        }
        XEN_DOMCTL_getvcpucontext => {
            let c: XenDomctlVcpucontext = op.u.get();
            let d = DomId(id);
            let dom = ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?;
            if c.vcpu as usize >= dom.vcpus.len() {
                return Err(Errno(EINVAL));
            }
            if ctx.hv.current.is_some_and(|cur| cur == (d, c.vcpu)) {
                return Err(Errno(EINVAL));
            }
            let v = crate::arch::get_vcpu_context(ctx.hv, d, c.vcpu);
            GuestPtr::new(c.ctxt).write(ctx.mem, &v).map(|_| 0)
        }
        XEN_DOMCTL_getvcpuinfo => {
            let mut c: XenDomctlGetvcpuinfo = op.u.get();
            let d = DomId(id);
            let dom = ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?;
            let vc = dom.vcpus.get(c.vcpu as usize).ok_or(Errno(ESRCH))?;
            c.online = (vc.state != VcpuState::Down) as u8;
            c.blocked = (vc.state == VcpuState::Blocked) as u8;
            c.running = ctx.hv.current.is_some_and(|cur| cur == (d, c.vcpu)) as u8;
            c.cpu_time = vc.sched.runtime;
            c.cpu = 0;
            op.u.set(&c);
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        XEN_DOMCTL_set_address_size => {
            // Only 64-bit PV guests exist here.
            let a: XenDomctlAddressSize = op.u.get();
            target(ctx, id)?;
            if a.size == 64 {
                Ok(0)
            } else {
                Err(Errno(EINVAL))
            }
        }
        XEN_DOMCTL_get_address_size => {
            target(ctx, id)?;
            op.u.set(&XenDomctlAddressSize { size: 64 });
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        XEN_DOMCTL_hypercall_init => {
            let h: XenDomctlHypercallInit = op.u.get();
            crate::arch::hypercall_init(ctx.hv, DomId(id), Mfn(h.gmfn)).map(|_| 0)
        }
        XEN_DOMCTL_scheduler_op => {
            let mut s: XenDomctlSchedulerOp = op.u.get();
            if s.sched_id != XEN_SCHEDULER_CREDIT {
                return Err(Errno(EINVAL));
            }
            let d = target(ctx, id)?;
            match s.cmd {
                XEN_DOMCTL_SCHEDOP_getinfo => {
                    s.set_credit(XenDomctlSchedCredit { weight: d.sched.weight as u16, cap: d.sched.cap as u16 });
                    op.u.set(&s);
                    ptr.write(ctx.mem, &op).map(|_| 0)
                }
                XEN_DOMCTL_SCHEDOP_putinfo => {
                    // As Xen's credit scheduler: weight 0 keeps the old one;
                    // a cap above 100% per vCPU is refused.
                    let c = s.credit();
                    if c.cap as u32 > 100 * d.vcpus.len() as u32 {
                        return Err(Errno(EINVAL));
                    }
                    if c.weight != 0 {
                        d.sched.weight = c.weight as u32;
                    }
                    d.sched.cap = c.cap as u32;
                    Ok(0)
                }
                _ => Err(Errno(EINVAL)),
            }
        }
        _ => Err(Errno(ENOSYS)),
    }
}

/// `sysctl(op)`.
pub fn do_sysctl<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    if !ctx.hv.domains.get(ctx.dom).is_some_and(|d| d.privileged) {
        return Err(Errno(EPERM));
    }
    let ptr = GuestPtr::<XenSysctl>::new(a[0]);
    let mut op = ptr.read(ctx.mem)?;
    if op.interface_version != XEN_SYSCTL_INTERFACE_VERSION {
        return Err(Errno(EACCES));
    }
    match op.cmd {
        XEN_SYSCTL_physinfo => {
            let s = ctx.hv.frames.stats();
            let p = XenSysctlPhysinfo {
                threads_per_core: 1,
                cores_per_socket: 1,
                nr_cpus: 1,
                max_cpu_id: 0,
                nr_nodes: 1,
                max_node_id: 0,
                cpu_khz: (ctx.hv.clock.tsc_hz / 1000) as u32,
                capabilities: XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_gnttab_v1,
                total_pages: s.total - s.reserved,
                free_pages: s.free,
                max_mfn: ctx.hv.frames.len().saturating_sub(1),
                ..Default::default()
            };
            op.u.set(&p);
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        XEN_SYSCTL_getdomaininfolist => {
            let mut l: XenSysctlGetdomaininfolist = op.u.get();
            let infos: Vec<XenDomctlGetdomaininfo> = ctx
                .hv
                .domains
                .iter()
                .filter(|d| d.id.0 >= l.first_domain)
                .take(l.max_domains as usize)
                .map(|d| domain_info(ctx.hv, d))
                .collect();
            let buf = GuestPtr::<XenDomctlGetdomaininfo>::new(l.buffer);
            for (i, info) in infos.iter().enumerate() {
                buf.at(i as u64)?.write(ctx.mem, info)?;
            }
            l.num_domains = infos.len() as u32;
            op.u.set(&l);
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        XEN_SYSCTL_readconsole => {
            let mut r: XenSysctlReadconsole = op.u.get();
            let mut buf = [0u8; 512];
            let mut from = if r.incremental != 0 { r.index as u64 } else { 0 };
            let mut done = 0u32;
            while done < r.count {
                let want = ((r.count - done) as usize).min(buf.len());
                let (n, next) = crate::common::console::with_ring(|ring| ring.read(from, &mut buf[..want]));
                if n == 0 {
                    break;
                }
                ctx.mem.copy_to(r.buffer + done as u64, &buf[..n])?;
                done += n as u32;
                from = next;
            }
            r.count = done;
            r.index = from as u32;
            op.u.set(&r);
            ptr.write(ctx.mem, &op).map(|_| 0)
        }
        _ => Err(Errno(ENOSYS)),
    }
}
