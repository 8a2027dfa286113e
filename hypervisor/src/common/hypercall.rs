//! Hypercall dispatch and the arch-neutral handlers.
//!
//! A hypercall arrives with its number in `rax` and arguments in `rdi rsi
//! rdx r10 r8` (Xen's x86_64 convention); the result goes back in `rax`.
//! [`dispatch`] looks the number up in a table indexed by Xen's hypercall
//! numbers; a missing entry is `-ENOSYS`. Handlers follow Xen's shape:
//! copy arguments in from the guest once, validate, act, copy results out.
//! A guest's mistake is an errno to that guest, never a panic.

use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::{Hv, MachineExit};
use pv_abi::abi::arch_x86::{CpuUserRegs, HYPERVISOR_VIRT_START};
use pv_abi::abi::errno::*;
use pv_abi::abi::features::*;
use pv_abi::abi::sched::*;
use pv_abi::abi::version::*;
use pv_abi::abi::xen::{hypercall as nr, CONSOLEIO_read, CONSOLEIO_write};
use pv_abi::DomId;

/// Version we report (`XENVER_version`): the Xen ABI we implement.
pub const XEN_MAJOR: u32 = 4;
/// Minor version.
pub const XEN_MINOR: u32 = 17;
/// `XENVER_extraversion`.
pub const XEN_EXTRAVERSION: &str = "-rust";

/// What a handler gets.
pub struct Ctx<'a, M: GuestMem> {
    /// All hypervisor state.
    pub hv: &'a mut Hv,
    /// The calling guest's memory.
    pub mem: &'a mut M,
    /// The caller's registers (handlers like `iret` rewrite them).
    pub regs: &'a mut CpuUserRegs,
    /// The calling domain.
    pub dom: DomId,
    /// The calling vCPU.
    pub vcpu: u32,
    /// Long operations may stop and continue themselves (not inside a
    /// multicall, whose entries run to completion).
    pub preemptible: bool,
}

impl<M: GuestMem> Ctx<'_, M> {
    /// Makes the guest re-issue hypercall `nr` with new arguments: `rip`
    /// steps back over the 2-byte `syscall` (in the hypercall page stub or
    /// the guest's own code) and the argument registers are rewritten.
    /// The returned value is what `rax` must hold: the hypercall number.
    pub fn continuation(&mut self, nr: u32, args: [u64; 5]) -> HcResult {
        let r = &mut *self.regs;
        r.rip = r.rip.wrapping_sub(2);
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        Ok(nr as i64)
    }
}

/// Result of a handler: the value for `rax`, or an errno.
pub type HcResult = Result<i64, Errno>;

/// A hypercall handler.
pub type Handler<M> = fn(&mut Ctx<'_, M>, [u64; 5]) -> HcResult;

/// Number of table slots (`__HYPERVISOR_arch_7 + 1`).
pub const NR_HYPERCALLS: usize = 56;

/// The dispatch table for a given guest-memory implementation: arch-neutral
/// handlers from here, arch handlers from `crate::arch`.
pub struct Table<M>(core::marker::PhantomData<M>);

impl<M: GuestMem> Table<M> {
    /// Handler for each hypercall number.
    pub const HANDLERS: [Option<Handler<M>>; NR_HYPERCALLS] = {
        let mut t: [Option<Handler<M>>; NR_HYPERCALLS] = [None; NR_HYPERCALLS];
        t[nr::console_io as usize] = Some(do_console_io::<M>);
        t[nr::xen_version as usize] = Some(do_xen_version::<M>);
        t[nr::sched_op as usize] = Some(do_sched_op::<M>);
        t[nr::event_channel_op as usize] = Some(crate::common::event::do_event_channel_op::<M>);
        t[nr::vcpu_op as usize] = Some(crate::common::vcpu::do_vcpu_op::<M>);
        t[nr::set_timer_op as usize] = Some(crate::common::vcpu::do_set_timer_op::<M>);
        t[nr::multicall as usize] = Some(do_multicall::<M>);
        t[nr::grant_table_op as usize] = Some(crate::common::grant::do_grant_table_op::<M>);
        t[nr::domctl as usize] = Some(crate::common::domctl::do_domctl::<M>);
        t[nr::sysctl as usize] = Some(crate::common::domctl::do_sysctl::<M>);
        crate::arch::hypercall_table::<M>(&mut t);
        t
    };
}

/// Decodes the call in `regs`, runs its handler and stores the result in
/// `regs.rax`.
pub fn dispatch<M: GuestMem>(ctx: &mut Ctx<'_, M>) {
    let num = ctx.regs.rax;
    let args = [ctx.regs.rdi, ctx.regs.rsi, ctx.regs.rdx, ctx.regs.r10, ctx.regs.r8];
    let handler = if num < NR_HYPERCALLS as u64 { Table::<M>::HANDLERS[num as usize] } else { None };
    let ret = match handler {
        Some(h) => h(ctx, args),
        None => {
            let name = pv_abi::abi::xen::hypercall::hypercall_name(num).unwrap_or("?");
            log::debug!("hypercall {num} ({name}) not implemented: -ENOSYS");
            Err(Errno(ENOSYS))
        }
    };
    if log::log_enabled!(log::Level::Trace) {
        let name = pv_abi::abi::xen::hypercall::hypercall_name(num).unwrap_or("?");
        match ret {
            Ok(v) => log::trace!("{name}({:#x}, {:#x}, {:#x}) = {v:#x}", args[0], args[1], args[2]),
            Err(e) => log::trace!("{name}({:#x}, {:#x}, {:#x}) = {e}", args[0], args[1], args[2]),
        }
    }
    ctx.regs.rax = match ret {
        Ok(v) => v as u64,
        Err(e) => e.to_ret() as u64,
    };
}

// ---- multicall -------------------------------------------------------------

/// `multicall(calls, nr)`: runs each entry's hypercall to completion (no
/// continuations inside a batch) and stores its result in the entry. A
/// batch longer than [`MULTICALL_BATCH`] continues itself, as Xen does.
fn do_multicall<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    use pv_abi::abi::xen::MulticallEntry;
    let (list, count) = (GuestPtr::<MulticallEntry>::new(a[0]), a[1] as u32);
    let limit = if ctx.preemptible { count.min(MULTICALL_BATCH) } else { count };
    for i in 0..limit {
        let p = list.at(i as u64)?;
        let e = p.read(ctx.mem)?;
        if e.op == nr::multicall as u64 || e.op == nr::iret as u64 {
            // Nested multicalls and iret are refused (Xen: -EINVAL).
            GuestPtr::<u64>::new(p.addr() + 8).write(ctx.mem, &(Errno(EINVAL).to_ret() as u64))?;
            continue;
        }
        let mut regs = *ctx.regs;
        regs.rax = e.op;
        regs.rdi = e.args[0];
        regs.rsi = e.args[1];
        regs.rdx = e.args[2];
        regs.r10 = e.args[3];
        regs.r8 = e.args[4];
        let mut inner = Ctx {
            hv: &mut *ctx.hv,
            mem: &mut *ctx.mem,
            regs: &mut regs,
            dom: ctx.dom,
            vcpu: ctx.vcpu,
            preemptible: false,
        };
        dispatch(&mut inner);
        GuestPtr::<u64>::new(p.addr() + 8).write(ctx.mem, &regs.rax)?;
        if ctx.hv.exit.is_some() {
            return Ok(0);
        }
    }
    if limit < count {
        return ctx.continuation(nr::multicall, [list.at(limit as u64)?.addr(), (count - limit) as u64, 0, 0, 0]);
    }
    Ok(0)
}

/// Multicall entries run per call before the batch continues itself.
pub const MULTICALL_BATCH: u32 = 64;

// ---- console_io ----------------------------------------------------------

fn do_console_io<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, count, buf) = (a[0] as u32, a[1], a[2]);
    match cmd {
        CONSOLEIO_write => {
            // Real Xen (release builds) refuses this to domUs; we allow it,
            // as Xen debug builds do, and prefix the output with the domain.
            let mut done = 0u64;
            let mut chunk = [0u8; 128];
            while done < count {
                let n = (count - done).min(chunk.len() as u64) as usize;
                ctx.mem.copy_from(buf.wrapping_add(done), &mut chunk[..n])?;
                let dom = ctx.dom;
                if dom == DomId::DOM0 && is_privileged(ctx) {
                    crate::common::console::write_dom0(&chunk[..n]);
                } else if let Some(d) = ctx.hv.domains.get_mut(dom) {
                    d.console.write(dom, &chunk[..n]);
                }
                done += n as u64;
            }
            Ok(0)
        }
        CONSOLEIO_read => {
            if !is_privileged(ctx) {
                return Err(Errno(EPERM));
            }
            // Serial input (queued by the UART interrupt), as much as fits.
            let mut chunk = [0u8; 256];
            let want = (count.min(chunk.len() as u64)) as usize;
            let n = crate::common::console::read_input(&mut chunk[..want]);
            // A bad buffer loses the bytes taken, as in Xen.
            ctx.mem.copy_to(buf, &chunk[..n])?;
            Ok(n as i64)
        }
        _ => Err(Errno(ENOSYS)),
    }
}

fn is_privileged<M: GuestMem>(ctx: &Ctx<'_, M>) -> bool {
    ctx.hv.domains.get(ctx.dom).is_some_and(|d| d.privileged)
}

// ---- xen_version ------------------------------------------------------------

fn copy_cstr<M: GuestMem>(mem: &mut M, dst: u64, s: &str, size: usize) -> Result<(), Errno> {
    let mut b = [0u8; 1024];
    let n = s.len().min(size - 1);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    mem.copy_to(dst, &b[..size])
}

/// XENFEAT bits reported to a PV domain (`XENVER_get_features` submap 0),
/// as Xen reports them: not `writable_page_tables` (always on for PV, and
/// Linux takes different paths when it is reported), but
/// `pae_pgdir_above_4gb`, `mmu_pt_update_preserve_ad` and
/// `gnttab_map_avail_bits` (Linux 6.1 refuses to run without the last two),
/// plus `dom0`.
pub fn features_for(privileged: bool) -> u32 {
    let mut f = (1 << XENFEAT_pae_pgdir_above_4gb)
        | (1 << XENFEAT_mmu_pt_update_preserve_ad)
        | (1 << XENFEAT_gnttab_map_avail_bits);
    if privileged {
        f |= 1 << XENFEAT_dom0;
    }
    f
}

fn do_xen_version<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, arg) = (a[0] as u32, a[1]);
    if a[0] > u32::MAX as u64 {
        return Err(Errno(ENOSYS));
    }
    match cmd {
        XENVER_version => Ok(((XEN_MAJOR << 16) | XEN_MINOR) as i64),
        XENVER_extraversion => copy_cstr(ctx.mem, arg, XEN_EXTRAVERSION, XEN_EXTRAVERSION_LEN).map(|_| 0),
        XENVER_compile_info => {
            let mut ci = <XenCompileInfo as zerocopy::FromZeros>::new_zeroed();
            let put = |dst: &mut [u8], s: &str| dst[..s.len()].copy_from_slice(s.as_bytes());
            put(&mut ci.compiler, "rustc");
            put(&mut ci.compile_by, "pv-hypervisor");
            put(&mut ci.compile_domain, "localdomain");
            put(&mut ci.compile_date, "reproducible");
            GuestPtr::new(arg).write(ctx.mem, &ci).map(|_| 0)
        }
        XENVER_capabilities => copy_cstr(ctx.mem, arg, "xen-3.0-x86_64 ", XEN_CAPABILITIES_INFO_LEN).map(|_| 0),
        XENVER_changeset => copy_cstr(ctx.mem, arg, "unavailable", XEN_CHANGESET_INFO_LEN).map(|_| 0),
        XENVER_platform_parameters => {
            let p = XenPlatformParameters { virt_start: HYPERVISOR_VIRT_START };
            GuestPtr::new(arg).write(ctx.mem, &p).map(|_| 0)
        }
        XENVER_get_features => {
            let ptr = GuestPtr::<XenFeatureInfo>::new(arg);
            let mut fi = ptr.read(ctx.mem)?;
            fi.submap = match fi.submap_idx {
                0 => features_for(is_privileged(ctx)),
                _ => 0,
            };
            ptr.write(ctx.mem, &fi).map(|_| 0)
        }
        XENVER_pagesize => Ok(4096),
        XENVER_guest_handle => ctx.mem.copy_to(arg, &[0u8; 16]).map(|_| 0),
        XENVER_commandline => {
            if !is_privileged(ctx) {
                return Err(Errno(EPERM));
            }
            let line = core::mem::take(&mut ctx.hv.cmdline);
            let r = copy_cstr(ctx.mem, arg, &line, 1024);
            ctx.hv.cmdline = line;
            r.map(|_| 0)
        }
        XENVER_build_id => Err(Errno(ENODATA)),
        _ => Err(Errno(ENOSYS)),
    }
}

// ---- sched_op ----------------------------------------------------------------

fn do_sched_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, arg) = (a[0], a[1]);
    match cmd as u32 {
        _ if cmd > u32::MAX as u64 => Err(Errno(ENOSYS)),
        SCHEDOP_yield => {
            // Go to the back of the queue of equal priority.
            ctx.hv.sched.slice_end = 0;
            ctx.hv.sched.need_resched = true;
            Ok(0)
        }
        SCHEDOP_block => {
            crate::common::vcpu::block(ctx.hv, ctx.dom, ctx.vcpu);
            Ok(0)
        }
        SCHEDOP_poll => {
            let p = GuestPtr::<SchedPoll>::new(arg).read(ctx.mem)?;
            if p.nr_ports > crate::common::vcpu::MAX_POLL_PORTS {
                return Err(Errno(EINVAL));
            }
            let mut ports = [0u32; crate::common::vcpu::MAX_POLL_PORTS as usize];
            let ports = &mut ports[..p.nr_ports as usize];
            for (i, port) in ports.iter_mut().enumerate() {
                *port = GuestPtr::<u32>::new(p.ports).at(i as u64)?.read(ctx.mem)?;
            }
            crate::common::vcpu::poll(ctx.hv, ctx.dom, ctx.vcpu, ports, p.timeout).map(|_| 0)
        }
        SCHEDOP_remote_shutdown => {
            let r = GuestPtr::<SchedRemoteShutdown>::new(arg).read(ctx.mem)?;
            if !is_privileged(ctx) {
                return Err(Errno(EPERM));
            }
            let target = DomId(r.domain_id);
            if ctx.hv.domains.get(target).is_none_or(|d| d.is_dying()) {
                return Err(Errno(ESRCH));
            }
            shutdown(ctx.hv, target, r.reason)
        }
        SCHEDOP_shutdown => {
            let reason = GuestPtr::<SchedShutdown>::new(arg).read(ctx.mem)?.reason;
            shutdown(ctx.hv, ctx.dom, reason)
        }
        SCHEDOP_shutdown_code => {
            let reason = GuestPtr::<SchedShutdown>::new(arg).read(ctx.mem)?.reason;
            if reason > SHUTDOWN_MAX {
                return Err(Errno(EINVAL));
            }
            Ok(0)
        }
        _ => Err(Errno(ENOSYS)),
    }
}

/// Shuts domain `dom` down for `reason`. dom0 shutting down ends the machine.
pub fn shutdown(hv: &mut Hv, dom: DomId, reason: u32) -> HcResult {
    if reason > SHUTDOWN_MAX {
        return Err(Errno(EINVAL));
    }
    crate::common::console::drain_ring(hv, dom);
    let d = hv.domains.get_mut(dom).ok_or(Errno(ESRCH))?;
    d.console.flush_if_pending(dom);
    if matches!(d.state, crate::common::domain::DomainState::Shutdown(_) | crate::common::domain::DomainState::Dying) {
        // Xen keeps the first reason.
        return Ok(0);
    }
    d.state = crate::common::domain::DomainState::Shutdown(reason);
    hv.sched.need_resched = true;
    let what = match reason {
        SHUTDOWN_poweroff => "poweroff",
        SHUTDOWN_reboot => "reboot",
        SHUTDOWN_suspend => "suspend",
        SHUTDOWN_crash => "crash",
        SHUTDOWN_watchdog => "watchdog",
        _ => "soft reset",
    };
    if reason == SHUTDOWN_crash {
        log::error!("domain {} crashed", dom.0);
    } else {
        log::info!("domain {} shut down: {what}", dom.0);
    }
    if d.privileged && dom == DomId::DOM0 {
        hv.exit = Some(match reason {
            SHUTDOWN_poweroff | SHUTDOWN_suspend => MachineExit::Poweroff,
            SHUTDOWN_reboot | SHUTDOWN_soft_reset => MachineExit::Reboot,
            _ => MachineExit::Crash,
        });
    } else if hv.domains.len() == 1 && hv.domains.get(dom).is_some() {
        // "Boot one guest" mode: the only domain's end is the machine's.
        hv.exit = Some(match reason {
            SHUTDOWN_poweroff | SHUTDOWN_suspend => MachineExit::Poweroff,
            SHUTDOWN_reboot | SHUTDOWN_soft_reset => MachineExit::Reboot,
            _ => MachineExit::Crash,
        });
    }
    // The toolstack learns of it through VIRQ_DOM_EXC (Xen sends it to
    // the hardware domain).
    crate::common::event::send_global_virq(hv, DomId::DOM0, pv_abi::abi::xen::VIRQ_DOM_EXC);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::domain::{Domain, DomainState};
    use crate::common::guest_mem::MockMem;
    use crate::common::testutil;
    use pv_abi::Mfn;
    use zerocopy::IntoBytes;

    const BUF: u64 = 0x10_0000;

    fn call(hv: &mut Hv, mem: &mut MockMem, dom: u16, num: u64, args: [u64; 5]) -> i64 {
        let mut regs = CpuUserRegs {
            rax: num,
            rdi: args[0],
            rsi: args[1],
            rdx: args[2],
            r10: args[3],
            r8: args[4],
            ..Default::default()
        };
        let mut ctx = Ctx { hv, mem, regs: &mut regs, dom: DomId(dom), vcpu: 0, preemptible: true };
        dispatch(&mut ctx);
        regs.rax as i64
    }

    fn setup() -> (Hv, MockMem) {
        let mut hv = testutil::hv(64);
        hv.domains.insert(Domain::new(DomId(0), true, 1, Mfn(1)));
        hv.domains.insert(Domain::new(DomId(1), false, 1, Mfn(2)));
        (hv, MockMem::new(BUF, 8192))
    }

    #[test]
    fn unknown_and_out_of_range_numbers_are_enosys() {
        let (mut hv, mut m) = setup();
        for num in [11, 55, 56, 1000, u64::MAX, 1 << 32] {
            assert_eq!(call(&mut hv, &mut m, 1, num, [0; 5]), -(ENOSYS as i64), "hypercall {num}");
        }
        assert_eq!(call(&mut hv, &mut m, 1, nr::xen_version as u64, [1 << 32, 0, 0, 0, 0]), -(ENOSYS as i64));
        assert_eq!(call(&mut hv, &mut m, 1, nr::xen_version as u64, [99, 0, 0, 0, 0]), -(ENOSYS as i64));
    }

    #[test]
    fn xen_version_subcommands() {
        let (mut hv, mut m) = setup();
        let xv = nr::xen_version as u64;
        assert_eq!(call(&mut hv, &mut m, 1, xv, [0; 5]), (4 << 16) | 17);
        assert_eq!(call(&mut hv, &mut m, 1, xv, [XENVER_extraversion as u64, BUF, 0, 0, 0]), 0);
        assert_eq!(&m.bytes[..6], b"-rust\0");
        assert_eq!(call(&mut hv, &mut m, 1, xv, [XENVER_pagesize as u64, 0, 0, 0, 0]), 4096);
        // get_features: IN submap_idx, OUT submap.
        m.bytes[..8].copy_from_slice(XenFeatureInfo { submap_idx: 0, submap: 0 }.as_bytes());
        assert_eq!(call(&mut hv, &mut m, 0, xv, [XENVER_get_features as u64, BUF, 0, 0, 0]), 0);
        let submap = u32::from_le_bytes(m.bytes[4..8].try_into().unwrap());
        assert_ne!(submap & (1 << XENFEAT_dom0), 0);
        assert_eq!(call(&mut hv, &mut m, 1, xv, [XENVER_get_features as u64, BUF, 0, 0, 0]), 0);
        let submap = u32::from_le_bytes(m.bytes[4..8].try_into().unwrap());
        assert_eq!(submap & (1 << XENFEAT_dom0), 0, "a domU is not dom0");
        // Bad pointers are -EFAULT, never a crash.
        for bad in [0, 0xdead_0000, u64::MAX - 3, BUF + 8192 - 4] {
            assert_eq!(call(&mut hv, &mut m, 1, xv, [XENVER_get_features as u64, bad, 0, 0, 0]), -(EFAULT as i64));
            assert_eq!(call(&mut hv, &mut m, 1, xv, [XENVER_capabilities as u64, bad, 0, 0, 0]), -(EFAULT as i64));
        }
        assert_eq!(call(&mut hv, &mut m, 1, xv, [XENVER_commandline as u64, BUF, 0, 0, 0]), -(EPERM as i64));
        assert_eq!(call(&mut hv, &mut m, 0, xv, [XENVER_commandline as u64, BUF, 0, 0, 0]), 0);
        assert_eq!(&m.bytes[..11], b"loglvl=all\0");
    }

    #[test]
    fn console_io() {
        let (mut hv, mut m) = setup();
        m.bytes[..6].copy_from_slice(b"hello\n");
        let c = nr::console_io as u64;
        assert_eq!(call(&mut hv, &mut m, 1, c, [CONSOLEIO_write as u64, 6, BUF, 0, 0]), 0);
        assert_eq!(call(&mut hv, &mut m, 1, c, [CONSOLEIO_write as u64, 9000, BUF, 0, 0]), -(EFAULT as i64));
        assert_eq!(call(&mut hv, &mut m, 1, c, [CONSOLEIO_write as u64, 0, 0, 0, 0]), 0);
        assert_eq!(call(&mut hv, &mut m, 1, c, [CONSOLEIO_read as u64, 6, BUF, 0, 0]), -(EPERM as i64));
        assert_eq!(call(&mut hv, &mut m, 1, c, [7, 6, BUF, 0, 0]), -(ENOSYS as i64));
    }

    #[test]
    fn shutdown_reasons() {
        let (mut hv, mut m) = setup();
        let s = nr::sched_op as u64;
        m.bytes[..4].copy_from_slice(&99u32.to_le_bytes());
        assert_eq!(call(&mut hv, &mut m, 1, s, [SCHEDOP_shutdown as u64, BUF, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(call(&mut hv, &mut m, 1, s, [SCHEDOP_shutdown as u64, 8, 0, 0, 0]), -(EFAULT as i64));
        assert_eq!(call(&mut hv, &mut m, 1, s, [SCHEDOP_yield as u64, 0, 0, 0, 0]), 0);
        m.bytes[..4].copy_from_slice(&SHUTDOWN_crash.to_le_bytes());
        assert_eq!(call(&mut hv, &mut m, 1, s, [SCHEDOP_shutdown as u64, BUF, 0, 0, 0]), 0);
        assert_eq!(hv.domains.get(DomId(1)).unwrap().state, DomainState::Shutdown(SHUTDOWN_crash));
        assert_eq!(hv.exit, None, "a domU crashing does not stop the machine");
        m.bytes[..4].copy_from_slice(&SHUTDOWN_poweroff.to_le_bytes());
        assert_eq!(call(&mut hv, &mut m, 0, s, [SCHEDOP_shutdown as u64, BUF, 0, 0, 0]), 0);
        assert_eq!(hv.exit, Some(MachineExit::Poweroff));
    }
}
