//! The integration scenarios dom0 runs when its command line says
//! `test=<name>`: each builds domUs from the `domu` test kernel (its
//! behaviour chosen by its own command line: `role=<role> peer=<domid>
//! port=<port> gref=<n> count=<n> hold=1`), serves their consoles, checks
//! how they end, destroys them and checks that the host's free memory
//! comes back to the page.
//!
//! Options (dom0 command line): `kernel=<name>` (guest kernel in
//! `boot/guests/`, default `domu`), `mem=<KiB>` per domU (default 8192),
//! `count=<n>` (cycles of `test=cycles` and `test=bench`, default 1000),
//! `events=<n>` (ping-pong events, default 10000), `grants=<n>` (timed
//! grant map+unmap rounds and copies of `test=bench`, default 1000).
//!
//! `test=bench` prints the figures `cargo xtask bench` tabulates, one
//! `bench: <name> <n>` line each, `<n>` in TSC cycles per operation, which
//! under QEMU `-icount shift=0` are instructions executed by the machine
//! (hypervisor and every domain); see `docs/benchmarks.md`.

use crate::error::{Context, Error, Result};
use crate::events::Events;
use crate::heap;
use crate::mm::Mm;
use crate::toolstack::{Toolstack, SECOND};
use crate::xc;
use alloc::format;
use alloc::vec::Vec;
use dom0::cmdline::Args;
use domain_builder::archive::Archive;
use pv_abi::abi::domctl::{XEN_DOMCTL_createdomain, XEN_DOMCTL_getdomaininfo, XenDomctl, XenDomctlCreatedomain};
use pv_abi::abi::errno::{EACCES, EBUSY, EINVAL, ESRCH};
use pv_abi::abi::event_channel::EVTCHNSTAT_unbound;
use pv_abi::abi::features::{XENFEAT_dom0, XENFEAT_writable_page_tables};
use pv_abi::abi::sched::{SHUTDOWN_crash, SHUTDOWN_poweroff};
use pv_abi::abi::sysctl::{XEN_SYSCTL_physinfo, XenSysctl, XenSysctlPhysinfo};
use pv_abi::{hypercall, kprintln, DomId, Errno, Port};

/// Heap pages dom0 maps for itself (4 MiB).
const HEAP_PAGES: u64 = 1024;
/// A domain id no domain has (the top of the regular range).
const NO_SUCH_DOMAIN: DomId = DomId(0x7fef);

/// Scenario settings from dom0's command line.
struct Opts<'a> {
    kernel: &'a str,
    /// One of dom0's own frames (for the hostile probes).
    dom0_frame: u64,
    mem_kib: u64,
    count: u64,
    events: u64,
    grants: u64,
}

/// Sets up dom0's memory and event channels, then runs scenario `test`.
pub fn run(si: &'static pv_abi::abi::xen::StartInfo, test: &str, args: &Args<'_>, archive: &'static [u8]) -> Result {
    let mut mm = Mm::new(si)?;
    let num = |k: &'static str, default: u64| -> Result<u64> {
        args.number(k).map(|v| v.unwrap_or(default)).map_err(|_| Error::Bad("dom0 option is not a number", 0))
    };
    let opts = Opts {
        kernel: args.get("kernel").unwrap_or("domu"),
        dom0_frame: mm.mfn(0),
        mem_kib: num("mem", 8192)?,
        count: num("count", 1000)?,
        events: num("events", 10_000)?,
        grants: num("grants", 1000)?,
    };
    if opts.mem_kib < 4096 || !opts.mem_kib.is_multiple_of(4) {
        return Err(Error::Bad("mem= must be a multiple of 4 KiB, at least 4096", opts.mem_kib));
    }

    let heap_pages = HEAP_PAGES.min(mm.free_frames().saturating_sub(16));
    if heap_pages < 256 {
        return Err(Error::Bad("dom0 has too few free frames for its heap", mm.free_frames()));
    }
    let (heap_va, heap_len) = mm.map_own_pages(heap_pages as usize)?;
    // SAFETY: `map_own_pages` just mapped these pages writable for dom0
    // alone; nothing else will ever use them.
    unsafe { heap::init(heap_va as *mut u8, heap_len) };
    // From here on errors may allocate.
    let scenario: fn(&mut Toolstack, &Opts<'_>) -> Result = match test {
        "build" => build,
        "pingpong" => pingpong,
        "grant" => grant,
        "hostile" => hostile,
        "spin" => spin,
        "destroy-live" => destroy_live,
        "cycles" => cycles,
        "bench" => bench,
        _ => bail!("unknown scenario '{test}' (build pingpong grant hostile spin destroy-live cycles bench)"),
    };
    let mut win = mm.new_window()?;
    let ev = Events::new(si, &mut win)?;
    let archive = Archive::new(archive).map_err(|e| Error::Msg(format!("{e}")))?;
    // What a domU's required features are checked against: what Xen
    // reports, less dom0's own bit, plus writable page tables, which Xen
    // always emulates for 64-bit PV guests (libxc does not consult the
    // hypervisor at all; the builder, shared with our hypervisor, does).
    let features = (hypercall::xen_features(0).ctx("XENVER_get_features")? & !(1 << XENFEAT_dom0))
        | (1 << XENFEAT_writable_page_tables);
    kprintln!(
        "dom0: toolstack: {} KiB start-of-day region, {} KiB heap at {:#x}, {} free host pages",
        mm.region_pages() * 4,
        heap_len / 1024,
        heap_va,
        xc::free_pages()?
    );
    let mut ts = Toolstack { win, ev, archive, features, domains: Vec::new(), verbose: test != "cycles" };
    let r = scenario(&mut ts, &opts);
    if r.is_err() {
        ts.destroy_all();
    }
    let (used, _) = heap::usage();
    kprintln!("dom0: {} window slots and {} heap bytes in use at the end", ts.win.in_use(), used);
    r
}

/// Creates and starts one domU running `cmdline`.
fn start(ts: &mut Toolstack, o: &Opts<'_>, cmdline: &str) -> Result<DomId> {
    let id = ts.create(o.kernel, o.mem_kib)?;
    if let Err(e) = ts.build(id, cmdline) {
        let _ = ts.destroy(id);
        return Err(e);
    }
    Ok(id)
}

/// Fails unless `id` shut down with `SHUTDOWN_poweroff`.
fn expect_poweroff(ts: &Toolstack, id: DomId, role: &str) -> Result {
    match ts.shutdown_code(id)? {
        Some(SHUTDOWN_poweroff) => Ok(()),
        Some(SHUTDOWN_crash) => bail!("d{} ({role}) crashed (SHUTDOWN_crash)", id.0),
        Some(c) => bail!("d{} ({role}) shut down with reason {c}, not poweroff", id.0),
        None => bail!("d{} ({role}) is still running", id.0),
    }
}

/// Destroys `ids`, then checks the host's free pages are back at `free0`.
fn destroy_and_check(ts: &mut Toolstack, ids: &[DomId], free0: u64) -> Result<u64> {
    for &id in ids {
        ts.destroy(id)?;
    }
    let free = ts.settle_free_pages(free0)?;
    if free != free0 {
        bail!(
            "free pages {free} after destroying, {free0} before creating ({} pages lost)",
            free0 as i64 - free as i64
        );
    }
    Ok(free)
}

/// Two domUs exchanging `o.events` events: dom0 allocates port P in the
/// ping domain for the pong domain (`alloc_unbound(dom = A, remote = B)`);
/// ping sends on P, pong binds to `<A, P>`.
fn start_pingpong(ts: &mut Toolstack, o: &Opts<'_>) -> Result<(DomId, DomId)> {
    let a = ts.create(o.kernel, o.mem_kib)?;
    let b = ts.create(o.kernel, o.mem_kib)?;
    let p = hypercall::evtchn_alloc_unbound_in(a, b).ctx("EVTCHNOP_alloc_unbound (ping port)")?;
    ts.build(a, &format!("role=ping peer={} port={} count={}", b.0, p.0, o.events))?;
    ts.build(b, &format!("role=pong peer={} port={} count={}", a.0, p.0, o.events))?;
    Ok((a, b))
}

fn build(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let id = start(ts, o, "role=tiny")?;
    let info = ts.info(id)?;
    let during = xc::free_pages()?;
    if info.tot_pages < o.mem_kib / 4 || free0 - during < o.mem_kib / 4 {
        bail!(
            "d{} owns {} pages and took {} from the host; it was given {}",
            id.0,
            info.tot_pages,
            free0 - during,
            o.mem_kib / 4
        );
    }
    ts.run_to_shutdown(&[id], 20 * SECOND)?;
    expect_poweroff(ts, id, "tiny")?;
    let free = destroy_and_check(ts, &[id], free0)?;
    kprintln!(
        "dom0: build: d{} ({} pages) built, ran, powered off, destroyed; free pages {free0} -> {during} -> {free}",
        id.0,
        info.tot_pages
    );
    Ok(())
}

fn pingpong(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let (a, b) = start_pingpong(ts, o)?;
    ts.run_to_shutdown(&[a, b], 120 * SECOND)?;
    expect_poweroff(ts, a, "ping")?;
    expect_poweroff(ts, b, "pong")?;
    destroy_and_check(ts, &[a, b], free0)?;
    kprintln!("dom0: pingpong: d{} and d{} exchanged {} events", a.0, b.0, o.events);
    Ok(())
}

/// Granter and mapper (`mapper`: the mapping side's role and options):
/// dom0 allocates the granter's port for the mapper.
fn start_grant(ts: &mut Toolstack, o: &Opts<'_>, mapper: &str) -> Result<(DomId, DomId, Port)> {
    let g = ts.create(o.kernel, o.mem_kib)?;
    let m = ts.create(o.kernel, o.mem_kib)?;
    let p = hypercall::evtchn_alloc_unbound_in(g, m).ctx("EVTCHNOP_alloc_unbound (grant port)")?;
    ts.build(g, &format!("role=granter peer={} port={} gref={GREF}", m.0, p.0))?;
    ts.build(m, &format!("{mapper} peer={} port={} gref={GREF}", g.0, p.0))?;
    Ok((g, m, p))
}

/// The grant reference the granter uses (the first one after the 8 Xen
/// reserves by convention).
const GREF: u32 = 8;

fn grant(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let (g, m, _) = start_grant(ts, o, "role=mapper hold=0")?;
    ts.run_to_shutdown(&[g, m], 60 * SECOND)?;
    expect_poweroff(ts, g, "granter")?;
    expect_poweroff(ts, m, "mapper")?;
    destroy_and_check(ts, &[g, m], free0)?;
    kprintln!("dom0: grant: d{} granted, d{} mapped, wrote and copied", g.0, m.0);
    Ok(())
}

/// The hypervisor's errno in `e` (`Errno(0)` if `e` is not one).
fn errno(e: Error) -> Errno {
    match e {
        Error::Hv(_, e) => e,
        _ => Errno(0),
    }
}

/// The errno of a window mapping attempt; a mapping that wrongly
/// succeeded is removed again.
fn unmap_if_mapped(ts: &mut Toolstack, r: Result<crate::mm::Slot>) -> core::result::Result<(), Errno> {
    match r {
        Ok(s) => {
            let _ = ts.win.unmap(&[s]);
            Ok(())
        }
        Err(e) => Err(errno(e)),
    }
}

/// `r` must be the error `want`.
fn expect_errno<T>(r: core::result::Result<T, Errno>, want: i32, what: &str) -> Result {
    match r {
        Err(e) if e.0 == want => {
            kprintln!("dom0: hostile: {what} -> {e} (expected)");
            Ok(())
        }
        Err(e) => bail!("{what}: got {e}, expected {}", Errno(want)),
        Ok(_) => bail!("{what}: succeeded, expected {}", Errno(want)),
    }
}

fn hostile(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    // dom0's own probes of the control interface.
    expect_errno(hypercall::getdomaininfo(NO_SUCH_DOMAIN), ESRCH, "getdomaininfo of a nonexistent domain")?;
    let r = xc::unpause(NO_SUCH_DOMAIN);
    expect_errno(r.map_err(errno), ESRCH, "unpausedomain of a nonexistent domain")?;
    let r = xc::destroydomain(NO_SUCH_DOMAIN);
    expect_errno(r.map_err(errno), ESRCH, "destroydomain of a nonexistent domain")?;
    let r = xc::pause(DomId::DOM0);
    expect_errno(r.map_err(errno), EINVAL, "pausedomain of dom0 itself")?;
    let mut op = XenDomctl::without_payload(XEN_DOMCTL_getdomaininfo, 0);
    op.interface_version -= 1;
    // SAFETY: no payload handles; Xen rejects the request before reading it.
    expect_errno(unsafe { hypercall::domctl(&mut op) }, EACCES, "domctl with a stale interface version")?;
    let mut op = XenSysctl::new(XEN_SYSCTL_physinfo, &XenSysctlPhysinfo::default());
    op.interface_version += 1;
    // SAFETY: as above, for sysctl.
    expect_errno(unsafe { hypercall::sysctl(&mut op) }, EACCES, "sysctl with a future interface version")?;
    let zero_vcpus =
        XenDomctlCreatedomain { max_grant_frames: 32, max_maptrack_frames: 1024, grant_opts: 1, ..Default::default() };
    let mut op = XenDomctl::new(XEN_DOMCTL_createdomain, 0, &zero_vcpus);
    // SAFETY: createdomain has no payload handles.
    expect_errno(unsafe { hypercall::domctl(&mut op) }, EINVAL, "createdomain with 0 vCPUs")?;
    let r = ts.win.map(NO_SUCH_DOMAIN, o.dom0_frame);
    expect_errno(unmap_if_mapped(ts, r), ESRCH, "mapping a frame of a nonexistent domain")?;

    // The hostile domU attacks the hypervisor and a peer domain from
    // inside: the peer (a `tiny`) has a port allocated for dom0, not for
    // the hostile domain, and grants it nothing.
    let peer = start(ts, o, "role=tiny")?;
    let port = hypercall::evtchn_alloc_unbound_in(peer, DomId::DOM0).ctx("EVTCHNOP_alloc_unbound (peer)")?;
    let id = start(ts, o, &format!("role=hostile peer={} port={} gref={GREF}", peer.0, port.0))?;
    // dom0 must not be able to map the domU's pinned L4 writable, nor
    // pass off one of its own frames as the domU's.
    let l4 = ts.domain(id)?.l4_mfn;
    let r = ts.win.map(id, l4);
    expect_errno(unmap_if_mapped(ts, r), EBUSY, "writable mapping of the domU's pinned L4")?;
    let r = ts.win.map(id, o.dom0_frame);
    expect_errno(unmap_if_mapped(ts, r), EBUSY, "mapping a frame of dom0 as the domU's")?;
    ts.run_to_shutdown(&[id, peer], 60 * SECOND)?;
    expect_poweroff(ts, id, "hostile")?;
    expect_poweroff(ts, peer, "tiny")?;
    destroy_and_check(ts, &[id, peer], free0)?;
    Ok(())
}

fn spin(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let s = start(ts, o, "role=spin")?;
    let (a, b) = start_pingpong(ts, o)?;
    ts.run_to_shutdown(&[a, b], 120 * SECOND)?;
    expect_poweroff(ts, a, "ping")?;
    expect_poweroff(ts, b, "pong")?;
    let t0 = ts.info(s)?;
    if ts.shutdown_code(s)?.is_some() || t0.cpu_time == 0 {
        bail!("the spinner d{} is not running (flags {:#x}, cpu time {} ns)", s.0, t0.flags, t0.cpu_time);
    }
    // It keeps getting CPU time while dom0 waits.
    let until = ts.ev.now() + SECOND / 10;
    ts.run_until(5 * SECOND, "the spinner to run", |t| t.ev.now() >= until)?;
    let t1 = ts.info(s)?;
    if t1.cpu_time <= t0.cpu_time {
        bail!("the spinner d{} got no CPU time ({} ns, then {} ns)", s.0, t0.cpu_time, t1.cpu_time);
    }
    destroy_and_check(ts, &[s, a, b], free0)?;
    kprintln!(
        "dom0: spin: ping-pong finished beside spinner d{} ({} ms of CPU), which was then destroyed",
        s.0,
        t1.cpu_time / 1_000_000
    );
    Ok(())
}

fn destroy_live(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let (g, m, p) = start_grant(ts, o, "role=mapper hold=1")?;
    ts.run_until(30 * SECOND, "the mapper to hold the mapping", |t| t.domain(m).is_ok_and(|d| d.said(HOLDING)))?;
    if let Some(c) = ts.shutdown_code(g)? {
        bail!("the granter d{} shut down (reason {c}) before the mapper was destroyed", g.0);
    }
    ts.destroy(m)?;
    let st = hypercall::evtchn_status(g, p).ctx("EVTCHNOP_status (granter's port)")?;
    if st.status != EVTCHNSTAT_unbound {
        bail!("the granter's port {} is in state {} after its peer died, not unbound", p.0, st.status);
    }
    kprintln!("dom0: destroy-live: d{} destroyed while mapping; d{}'s port {} is unbound again", m.0, g.0, p.0);
    ts.run_to_shutdown(&[g], 30 * SECOND)?;
    expect_poweroff(ts, g, "granter")?;
    destroy_and_check(ts, &[g], free0)?;
    Ok(())
}

/// What the mapper prints once it holds the mapping (with `hold=1`).
const HOLDING: &str = "holding";

fn cycles(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let t0 = ts.ev.now();
    for i in 0..o.count {
        let id = start(ts, o, "role=tiny")?;
        ts.run_to_shutdown(&[id], 20 * SECOND)?;
        expect_poweroff(ts, id, "tiny")?;
        ts.destroy(id)?;
        if (i + 1) % (o.count / 10).max(1) == 0 {
            kprintln!("dom0: cycles: {} of {} (d{}), {} free pages", i + 1, o.count, id.0, xc::free_pages()?);
        }
    }
    let free = ts.settle_free_pages(free0)?;
    if free != free0 {
        bail!("free pages {free} after {} cycles, {free0} before ({} pages lost)", o.count, free0 as i64 - free as i64);
    }
    let ms = (ts.ev.now() - t0) / 1_000_000;
    kprintln!("dom0: cycles: {} create/run/destroy cycles in {ms} ms, free pages {free0} -> {free}", o.count);
    Ok(())
}

/// The time-stamp counter: under QEMU `-icount shift=0` the instructions
/// the machine has executed.
fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the time-stamp counter (PV guests may).
    unsafe { core::arch::asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}

/// The number before `unit` in the last kept console line of `id` that
/// has one (`"... 12345 tsc/round trip"`).
fn figure(ts: &Toolstack, id: DomId, unit: &str) -> Result<u64> {
    let d = ts.domain(id)?;
    d.lines
        .iter()
        .rev()
        .find_map(|l| l.split_once(unit)?.0.split_whitespace().last()?.parse().ok())
        .ok_or_else(|| Error::Msg(format!("d{} printed no '<n> {unit}' line", id.0)))
}

/// One figure for `cargo xtask bench`.
fn report(name: &str, per_op: u64) {
    kprintln!("bench: {name} {per_op}");
}

/// The figures of `cargo xtask bench` (see `docs/benchmarks.md`):
/// event-channel round trips timed by ping (`events=` of them), grant
/// map+unmap and 4 KiB grant copies timed by `gntbench` (`grants=` of
/// each), and domain lifecycles timed here (`count=` of each, after one
/// untimed): create + build + run to shutdown + destroy of a `tiny`
/// domU, phase by phase; create + build + destroy of one never unpaused;
/// create + destroy of one never built.
fn bench(ts: &mut Toolstack, o: &Opts<'_>) -> Result {
    let free0 = xc::free_pages()?;
    let (a, b) = start_pingpong(ts, o)?;
    ts.run_to_shutdown(&[a, b], 300 * SECOND)?;
    expect_poweroff(ts, a, "ping")?;
    expect_poweroff(ts, b, "pong")?;
    let round_trip = figure(ts, a, "tsc/round trip")?;
    destroy_and_check(ts, &[a, b], free0)?;
    report("evtchn_round_trip", round_trip);

    let (g, m, _) = start_grant(ts, o, &format!("role=gntbench count={}", o.grants))?;
    ts.run_to_shutdown(&[g, m], 300 * SECOND)?;
    expect_poweroff(ts, g, "granter")?;
    expect_poweroff(ts, m, "gntbench")?;
    let (map, copy) = (figure(ts, m, "tsc/map+unmap")?, figure(ts, m, "tsc/copy")?);
    destroy_and_check(ts, &[g, m], free0)?;
    report("grant_map_unmap", map);
    report("grant_copy_4k", copy);

    // Nothing printed by dom0 itself inside the timed cycles.
    ts.verbose = false;
    let n = o.count.max(1);
    // From the toolstack's first step to the new guest's first instruction
    // (create, build, unpause, scheduled), as `xl create` does it.
    // Measured in Xen system time (nanoseconds; under `-icount shift=0`,
    // instructions): a domU's TSC may be emulated with an offset.
    let mut to_first = 0;
    for i in 0..=n {
        let t0 = ts.ev.now();
        let id = ts.create(o.kernel, o.mem_kib)?;
        ts.build(id, "role=tiny")?;
        ts.run_to_shutdown(&[id], 20 * SECOND)?;
        expect_poweroff(ts, id, "tiny")?;
        let entry = figure(ts, id, "ns at entry")?;
        ts.destroy(id)?;
        if i > 0 {
            to_first +=
                entry.checked_sub(t0).ok_or_else(|| Error::Msg("the guest started before dom0 asked".into()))?;
        }
    }
    report("create_to_first_instruction_ns", to_first / n);
    // create, build (ends with the unpause), run to shutdown, destroy.
    let mut phases = [0u64; 4];
    for i in 0..=n {
        let t0 = rdtsc();
        let id = ts.create(o.kernel, o.mem_kib)?;
        let t1 = rdtsc();
        ts.build(id, "role=tiny")?;
        let t2 = rdtsc();
        ts.run_to_shutdown(&[id], 20 * SECOND)?;
        expect_poweroff(ts, id, "tiny")?;
        let t3 = rdtsc();
        ts.destroy(id)?;
        let t4 = rdtsc();
        if i > 0 {
            for (p, d) in phases.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
                *p += d;
            }
        }
    }
    // Built but never unpaused; never built.
    let path = format!("boot/guests/{}", o.kernel);
    let image = ts.archive.file(&path).ok_or_else(|| Error::Msg(format!("{path}: not in the boot archive")))?;
    let (mut paused, mut bare) = (0, 0);
    for i in 0..=n {
        let t0 = rdtsc();
        let id = ts.create(o.kernel, o.mem_kib)?;
        ts.build_image(id, &path, image, &[], "role=tiny")?;
        ts.destroy(id)?;
        let t1 = rdtsc();
        let id = ts.create(o.kernel, o.mem_kib)?;
        ts.destroy(id)?;
        if i > 0 {
            paused += t1 - t0;
            bare += rdtsc() - t1;
        }
    }
    let free = ts.settle_free_pages(free0)?;
    if free != free0 {
        bail!("free pages {free} after the cycles, {free0} before ({} pages lost)", free0 as i64 - free as i64);
    }
    report("domain_create_run_destroy", phases.iter().sum::<u64>() / n);
    for (name, p) in ["create", "build", "run", "destroy"].iter().zip(phases) {
        report(&format!("domain_cycle_{name}"), p / n);
    }
    report("domain_create_build_destroy", paused / n);
    report("domain_create_destroy", bare / n);
    kprintln!("dom0: bench: {n} + 1 cycles of each kind, free pages {free0} -> {free}");
    Ok(())
}
