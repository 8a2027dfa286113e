//! The toolstack: domUs created, built, served and destroyed the way
//! libxl + libxc do it, through Xen's public hypercalls only.
//!
//! Creation is two phases, as in libxl (`libxl__domain_make`, then
//! `libxl__build_pre` / `libxc xc_dom_*`):
//! [`Toolstack::create`] makes an empty paused domain with its memory and
//! its console and xenstore event channels; [`Toolstack::build`] loads the
//! kernel and starts it. Between the two a scenario can allocate event
//! channels between domains and put the port numbers on the command
//! lines. The `xl` executor uses [`Toolstack::create_with`] and
//! [`Toolstack::build_image`] (any image, left paused so xenstore can be
//! set up first).
//!
//! Every byte a domU prints lands in its [`ConsoleLog`] (for `xl
//! console`); with [`Domain::echo`] (the scenarios) complete lines are
//! also printed on dom0's console as `[dN] <line>`.

use crate::conback::{self, ConsoleLog, LineAssembler};
use crate::error::{Context, Error, Result};
use crate::events::Events;
use crate::mm::{Slot, Window, PAGE};
use crate::xc;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use core::sync::atomic::Ordering;
use domain_builder::archive::Archive;
use domain_builder::build::{self, BuildConfig, BuildError, DomainMemory};
use pv_abi::abi::domctl::{XEN_DOMINF_shutdown, XenDomctlGetdomaininfo};
use pv_abi::abi::errno::ESRCH;
use pv_abi::abi::io::console::XenconsInterface;
use pv_abi::abi::xen::{SharedInfo, VcpuInfo};
use pv_abi::ring::SharedPage;
use pv_abi::{hypercall, kprintln, DomId, Mfn, Port};

/// Console lines kept per domain for the scenarios to look at.
const KEEP_LINES: usize = 64;
/// Console history kept per domain (`xl console` replays it).
pub const CONSOLE_LOG_BYTES: usize = 16 * 1024;
/// Ports a domU gets (`max_evtchn_port`, libxl's default `event_channels`).
const MAX_EVTCHN_PORT: u32 = 1023;
/// One second of Xen system time.
pub const SECOND: u64 = 1_000_000_000;

/// dom0's side of a domU's console.
struct Console {
    slot: Slot,
    page: SharedPage,
    /// dom0's port, bound to the domU's console port.
    local: Port,
    /// Our consumer index of `out`.
    cons: u32,
    lines: LineAssembler,
}

/// A domU dom0 created.
pub struct Domain {
    /// Its id.
    pub id: DomId,
    /// Kernel name (in `boot/guests/`).
    pub kernel: String,
    /// P2M (PFN → MFN).
    p2m: Vec<u64>,
    /// The domU's console and xenstore ports (unbound, remote = dom0).
    console_port: Port,
    store_port: Port,
    console: Option<Console>,
    /// The most recent console lines.
    pub lines: VecDeque<String>,
    /// Every line ever printed, counted.
    pub nr_lines: u64,
    /// The shutdown code, once seen.
    pub shutdown: Option<u32>,
    /// MFN of its (pinned) L4, once built.
    pub l4_mfn: u64,
    /// Its console output, bounded.
    pub log: ConsoleLog,
    /// Print its console lines on dom0's console (`[dN] <line>`).
    pub echo: bool,
    /// Its xenstore ring frame (MFN), once built.
    pub store_mfn: Option<u64>,
    /// Its console ring frame (MFN), once built.
    pub console_mfn: Option<u64>,
    /// The hypervisor no longer knows it (destroyed behind our back).
    pub gone: bool,
}

impl Domain {
    /// Its xenstore event channel (its own port; remote end dom0).
    pub fn store_port(&self) -> Port {
        self.store_port
    }

    /// Its console event channel (its own port; remote end dom0).
    pub fn console_port(&self) -> Port {
        self.console_port
    }

    /// Whether a console line contains `s`.
    pub fn said(&self, s: &str) -> bool {
        self.lines.iter().any(|l| l.contains(s))
    }
}

/// Everything dom0's toolstack works with.
pub struct Toolstack {
    /// The foreign-mapping window.
    pub win: Window,
    /// dom0's events.
    pub ev: Events,
    /// Where the guest kernels are.
    pub archive: Archive<'static>,
    /// XENFEAT bits the hypervisor offers guests.
    pub features: u32,
    /// Live domUs.
    pub domains: Vec<Domain>,
    /// Log each build (off for the create/destroy cycles).
    pub verbose: bool,
}

/// The builder's view of a domU's memory: its frames reached through the
/// window, each mapped on first use and all unmapped by [`Self::finish`].
struct ForeignMem<'a> {
    win: &'a mut Window,
    dom: DomId,
    p2m: &'a [u64],
    mapped: Vec<(u64, Slot)>,
}

impl ForeignMem<'_> {
    fn slot(&mut self, pfn: u64) -> core::result::Result<Slot, BuildError> {
        if let Some(&(_, s)) = self.mapped.iter().find(|(p, _)| *p == pfn) {
            return Ok(s);
        }
        let mfn = *self.p2m.get(pfn as usize).ok_or(BuildError::Memory(pfn, "beyond the domain's memory"))?;
        let s = match self.win.map(self.dom, mfn) {
            Ok(s) => s,
            Err(_) => {
                // The window is full: drop the builder's mappings, retry.
                self.finish().map_err(|_| BuildError::Memory(pfn, "cannot unmap the window"))?;
                self.win.map(self.dom, mfn).map_err(|_| BuildError::Memory(pfn, "foreign mapping refused"))?
            }
        };
        self.mapped.push((pfn, s));
        Ok(s)
    }

    /// Unmaps every frame the builder touched.
    fn finish(&mut self) -> Result {
        let slots: Vec<Slot> = self.mapped.drain(..).map(|(_, s)| s).collect();
        self.win.unmap(&slots)
    }
}

impl DomainMemory for ForeignMem<'_> {
    fn mfn(&self, pfn: u64) -> Mfn {
        // The builder only asks for frames inside the layout it checked
        // against nr_pages; an impossible MFN makes the pin fail if not.
        Mfn(self.p2m.get(pfn as usize).copied().unwrap_or(u64::MAX >> 12))
    }

    fn write(&mut self, pfn: u64, offset: usize, data: &[u8]) -> core::result::Result<(), BuildError> {
        if offset.checked_add(data.len()).is_none_or(|end| end > PAGE as usize) {
            return Err(BuildError::Memory(pfn, "write crosses the page"));
        }
        let s = self.slot(pfn)?;
        // SAFETY: the slot maps the domU's frame writable (4096 bytes);
        // the domU is paused and has never run, nothing else in dom0 refers
        // to the slot, and the range is inside the page (checked above).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), self.win.va(s).add(offset), data.len()) };
        Ok(())
    }
}

impl Toolstack {
    /// The domain with id `id`.
    pub fn domain(&self, id: DomId) -> Result<&Domain> {
        self.domains.iter().find(|d| d.id == id).ok_or(Error::Bad("no such domU", id.0 as u64))
    }

    /// The domain with id `id`, mutably.
    pub fn domain_mut(&mut self, id: DomId) -> Result<&mut Domain> {
        self.domains.iter_mut().find(|d| d.id == id).ok_or(Error::Bad("no such domU", id.0 as u64))
    }

    /// Phase 1: an empty, paused PV domain with `mem_kib` of memory and
    /// its console and xenstore event channels (`libxl__domain_make`,
    /// `libxl__build_pre`, `xc_dom_boot_mem_init`).
    pub fn create(&mut self, kernel: &str, mem_kib: u64) -> Result<DomId> {
        self.create_with(kernel, mem_kib, mem_kib, 1)
    }

    /// [`Self::create`] with `mem_kib` populated, a `max_kib` limit (the
    /// domain may balloon up to it) and `vcpus` vCPUs (vCPU 0 is started
    /// by the build; a guest brings up the others itself, as with libxl).
    pub fn create_with(&mut self, kernel: &str, mem_kib: u64, max_kib: u64, vcpus: u32) -> Result<DomId> {
        let id = xc::createdomain(vcpus, MAX_EVTCHN_PORT)?;
        let mut d = Domain {
            id,
            kernel: kernel.to_string(),
            p2m: Vec::new(),
            console_port: Port(0),
            store_port: Port(0),
            console: None,
            lines: VecDeque::new(),
            nr_lines: 0,
            shutdown: None,
            l4_mfn: 0,
            log: ConsoleLog::new(CONSOLE_LOG_BYTES),
            echo: true,
            store_mfn: None,
            console_mfn: None,
            gone: false,
        };
        match Self::prepare(&mut d, mem_kib, max_kib.max(mem_kib), vcpus) {
            Ok(()) => {
                self.domains.push(d);
                Ok(id)
            }
            Err(e) => {
                let _ = xc::destroydomain(id);
                Err(e)
            }
        }
    }

    fn prepare(d: &mut Domain, mem_kib: u64, max_kib: u64, vcpus: u32) -> Result {
        xc::max_vcpus(d.id, vcpus)?;
        // libxl adds LIBXL_MAXMEM_CONSTANT (1 MiB) of slack.
        xc::max_mem(d.id, max_kib + 1024)?;
        xc::set_address_size(d.id, 64)?;
        d.store_port =
            hypercall::evtchn_alloc_unbound_in(d.id, DomId::DOM0).ctx("EVTCHNOP_alloc_unbound (xenstore)")?;
        d.console_port =
            hypercall::evtchn_alloc_unbound_in(d.id, DomId::DOM0).ctx("EVTCHNOP_alloc_unbound (console)")?;
        d.p2m = xc::populate_physmap(d.id, mem_kib / 4)?;
        Ok(())
    }

    /// Phase 2: loads `boot/guests/<kernel>` with `cmdline` into a domain
    /// from [`Self::create`] and unpauses it (`xc_dom_build_image`,
    /// `xc_dom_boot_image`, `libxl__build_post`). On failure the domain is
    /// left paused; the caller destroys it.
    pub fn build(&mut self, id: DomId, cmdline: &str) -> Result {
        let path = {
            let d = self.domain(id)?;
            alloc::format!("boot/guests/{}", d.kernel)
        };
        let image =
            self.archive.file(&path).ok_or_else(|| Error::Msg(alloc::format!("{path}: not in the boot archive")))?;
        self.build_image(id, &path, image, &[], cmdline)?;
        xc::unpause(id)
    }

    /// Phase 2 for any kernel `image` (named `path` in errors) and
    /// `ramdisk` (may be empty): loads them and sets up the console
    /// back-end, leaving the domain paused (unpause it with
    /// [`xc::unpause`]). On failure the caller destroys the domain.
    pub fn build_image(&mut self, id: DomId, path: &str, image: &[u8], ramdisk: &[u8], cmdline: &str) -> Result {
        // A bzImage is unpacked first, as libxc does (Debian's kernels are).
        let unpacked;
        let image = if crate::bzimage::is_bzimage(image) {
            unpacked = crate::bzimage::unpack(image).map_err(|e| Error::Msg(alloc::format!("{path}: {e}")))?;
            &unpacked[..]
        } else {
            image
        };
        let kernel = domain_builder::elf::parse(image).map_err(|e| Error::Msg(alloc::format!("{path}: {e}")))?;
        let info = hypercall::getdomaininfo(id).ctx("XEN_DOMCTL_getdomaininfo")?;
        let features = self.features;
        let d = self.domains.iter_mut().find(|d| d.id == id).ok_or(Error::Bad("no such domU", id.0 as u64))?;
        let nr_pages = d.p2m.len() as u64;
        let cfg = BuildConfig {
            kernel: &kernel,
            image,
            ramdisk,
            nr_pages,
            is_dom0: false,
            cmdline,
            shared_info_maddr: info.shared_info_frame << 12,
            flags: 0,
            store_evtchn: d.store_port.0,
            console_evtchn: d.console_port.0,
            host_features: features,
        };
        let mut mem = ForeignMem { win: &mut self.win, dom: id, p2m: &d.p2m, mapped: Vec::new() };
        let built = build::build(&mut mem, &cfg);
        // Clear the console and xenstore rings (libxc clears its magic
        // pages), then drop every writable mapping before the pin.
        let zero = [0u8; PAGE as usize];
        let cleared = match &built {
            Ok(b) => b.console_pfn.into_iter().chain(b.store_pfn).try_for_each(|pfn| mem.write(pfn, 0, &zero)),
            Err(_) => Ok(()),
        };
        mem.finish()?;
        let built = built.map_err(|e| Error::Msg(alloc::format!("building {path}: {e}")))?;
        cleared.map_err(|e| Error::Msg(alloc::format!("clearing the rings: {e}")))?;
        let mfn = |pfn: Option<u64>, what: &'static str| -> Result<u64> {
            pfn.and_then(|p| d.p2m.get(p as usize).copied()).ok_or(Error::Bad(what, 0))
        };
        if let Some(pfn) = built.hypercall_page_pfn {
            xc::hypercall_init(id, mfn(Some(pfn), "hypercall page")?)?;
        }
        d.store_mfn = built.store_pfn.and_then(|p| d.p2m.get(p as usize).copied());
        let l4 = mfn(Some(built.l4_pfn), "L4 frame")?;
        xc::pin_l4(id, l4)?;
        d.l4_mfn = l4;
        init_shared_info(&mut self.win, id, info.shared_info_frame)?;
        let ctx = xc::boot_context(built.entry, built.stack_top, built.start_info_va, l4);
        xc::setvcpucontext(id, 0, &ctx)?;

        // The console back-end: dom0's end of the channel and the ring.
        let console_mfn = mfn(built.console_pfn, "console page")?;
        d.console_mfn = Some(console_mfn);
        let local =
            hypercall::evtchn_bind_interdomain(id, d.console_port).ctx("EVTCHNOP_bind_interdomain (console)")?;
        let win = &mut self.win;
        let ev = &self.ev;
        let mut attach = || -> Result<(Slot, SharedPage)> {
            ev.mask(local)?;
            let slot = win.map(id, console_mfn)?;
            // SAFETY: the slot maps the domU's console page (4096 bytes)
            // until `destroy` unmaps it after dropping this handle; dom0
            // reaches the page only through it.
            match unsafe { SharedPage::new(win.va(slot), PAGE as usize) } {
                Ok(page) => Ok((slot, page)),
                Err(_) => {
                    let _ = win.unmap(&[slot]);
                    Err(Error::Bad("console page mapping", console_mfn))
                }
            }
        };
        let (slot, page) = match attach() {
            Ok(v) => v,
            Err(e) => {
                let _ = hypercall::evtchn_close(local);
                return Err(e);
            }
        };
        d.console = Some(Console { slot, page, local, cons: 0, lines: LineAssembler::default() });
        if self.verbose {
            kprintln!(
                "dom0: d{}: {} pages, L4 mfn {l4:#x}, console mfn {console_mfn:#x} port {} (dom0 port {}), xenstore port {}, cmdline '{cmdline}'",
                id.0,
                nr_pages,
                d.console_port.0,
                local.0,
                d.store_port.0
            );
        }
        Ok(())
    }

    /// Drains every console ring and notes shutdowns. Returns whether any
    /// domain changed state or printed.
    pub fn service(&mut self) -> Result<bool> {
        self.poll_domains(false)
    }

    /// As [`Self::service`], but a domain the hypervisor no longer knows
    /// is marked [`Domain::gone`] instead of failing (the `xl` executor
    /// cleans it up).
    pub fn service_tolerant(&mut self) -> Result<bool> {
        self.poll_domains(true)
    }

    fn poll_domains(&mut self, tolerate_gone: bool) -> Result<bool> {
        let mut progress = false;
        let dom_exc = self.ev.take(self.ev.dom_exc());
        for d in self.domains.iter_mut() {
            if let Some(c) = d.console.as_mut() {
                self.ev.take(c.local);
                if drain_console(d.id, c, d.echo, &mut d.log, &mut d.lines, &mut d.nr_lines)? {
                    progress = true;
                }
            }
            if !d.gone && (d.shutdown.is_none() || dom_exc) {
                match hypercall::getdomaininfo(d.id) {
                    Ok(info) if info.flags & XEN_DOMINF_shutdown != 0 => {
                        if d.shutdown.is_none() {
                            d.shutdown = Some(info.shutdown_code());
                            progress = true;
                        }
                    }
                    Ok(_) => {}
                    Err(e) if tolerate_gone && e.0 == ESRCH => {
                        d.gone = true;
                        progress = true;
                    }
                    Err(e) => return Err(Error::Hv("XEN_DOMCTL_getdomaininfo", e)),
                }
            }
        }
        Ok(progress)
    }

    /// Writes console input for `id` into its console ring's `in` side
    /// and notifies it; returns how many bytes fit (the rest is the
    /// caller's to retry).
    pub fn console_input(&mut self, id: DomId, data: &[u8]) -> Result<usize> {
        let d = self.domain_mut(id)?;
        let Some(c) = d.console.as_mut() else { return Err(Error::Bad("domain has no console ring", id.0 as u64)) };
        let bad = |_| Error::Bad("console page layout", 0);
        // Acquire = xenconsoled's barrier after reading in_cons.
        let cons = c.page.atomic_u32(IN_CONS_OFF).map_err(bad)?.load(Ordering::Acquire);
        let prod = c.page.atomic_u32(IN_PROD_OFF).map_err(bad)?.load(Ordering::Relaxed);
        let page = &c.page;
        let (n, new_prod) = conback::fill_in(cons, prod, data, |i, b| {
            let _ = page.write::<u8>(IN_OFF + i as usize, b);
        })
        .map_err(|e| Error::Msg(alloc::format!("d{}: {e}", id.0)))?;
        if n > 0 {
            // Release: the bytes are visible before the new index.
            c.page.atomic_u32(IN_PROD_OFF).map_err(bad)?.store(new_prod, Ordering::Release);
            let _ = hypercall::evtchn_send(c.local);
        }
        Ok(n)
    }

    /// dom0's local ports bound to the domUs' consoles (to poll on).
    pub fn console_ports(&self) -> impl Iterator<Item = Port> + '_ {
        self.domains.iter().filter_map(|d| d.console.as_ref().map(|c| c.local))
    }

    /// Serves the domUs until `done` holds, blocking in `SCHEDOP_poll`
    /// between events; fails after `timeout` ns of system time.
    pub fn run_until(&mut self, timeout: u64, what: &str, mut done: impl FnMut(&Toolstack) -> bool) -> Result {
        let deadline = self.ev.now().saturating_add(timeout);
        loop {
            self.service()?;
            if done(self) {
                return Ok(());
            }
            let now = self.ev.now();
            if now >= deadline {
                bail!("timed out after {} ms waiting for {what}", timeout / 1_000_000);
            }
            let mut ports = Vec::with_capacity(self.domains.len() + 1);
            ports.push(self.ev.dom_exc());
            ports.extend(self.domains.iter().filter_map(|d| d.console.as_ref().map(|c| c.local)));
            // Wake at least every 100 ms: a domU whose ring is full only
            // yields, and the deadline must be seen.
            self.ev.wait(&ports, deadline.min(now + SECOND / 10))?;
        }
    }

    /// Runs until every domain in `ids` has shut down.
    pub fn run_to_shutdown(&mut self, ids: &[DomId], timeout: u64) -> Result {
        self.run_until(timeout, "shutdown", |t| {
            ids.iter().all(|id| t.domains.iter().any(|d| d.id == *id && d.shutdown.is_some()))
        })
    }

    /// The shutdown code of `id` (`SHUTDOWN_*`), if it shut down.
    pub fn shutdown_code(&self, id: DomId) -> Result<Option<u32>> {
        Ok(self.domain(id)?.shutdown)
    }

    /// Destroys `id` (`XEN_DOMCTL_destroydomain`) after releasing dom0's
    /// mappings of it and its console channel, and waits until the
    /// hypervisor has let go of it entirely (getdomaininfo: `-ESRCH`).
    pub fn destroy(&mut self, id: DomId) -> Result {
        let d = self.domain_mut(id)?;
        // Print what is left on its console first.
        if let Some(c) = d.console.as_mut() {
            let _ = drain_console(id, c, d.echo, &mut d.log, &mut d.lines, &mut d.nr_lines);
            if c.lines.partial() > 0 && d.echo {
                c.lines.flush(|l| kprintln!("[d{}] {}", id.0, l));
            }
        }
        if let Some(c) = d.console.take() {
            // The ring's handle ends with this block, before the unmap.
            let (slot, local) = {
                let Console { slot, local, .. } = c;
                (slot, local)
            };
            self.win.unmap(&[slot])?;
            hypercall::evtchn_close(local).ctx("EVTCHNOP_close (console)")?;
        }
        match xc::destroydomain(id) {
            // Already gone (destroyed by someone else): just forget it.
            Err(Error::Hv(_, e)) if e.0 == ESRCH => {}
            r => r?,
        }
        self.domains.retain(|d| d.id != id);
        // The domain's memory is freed by the (restartable) destroy; the
        // domain structure goes after an RCU grace period, signalled with
        // VIRQ_DOM_EXC.
        self.run_until(
            5 * SECOND,
            "the destroyed domain to disappear",
            |_| matches!(hypercall::getdomaininfo(id), Err(e) if e.0 == ESRCH),
        )
    }

    /// Waits until `XEN_SYSCTL_physinfo.free_pages` equals `want`
    /// (destroyed domains' memory and structures are freed asynchronously);
    /// returns the last value seen.
    pub fn settle_free_pages(&mut self, want: u64) -> Result<u64> {
        let deadline = self.ev.now().saturating_add(2 * SECOND);
        loop {
            let free = xc::free_pages()?;
            if free == want || self.ev.now() >= deadline {
                return Ok(free);
            }
            self.ev.wait(&[self.ev.dom_exc()], self.ev.now() + SECOND / 100)?;
            self.ev.take(self.ev.dom_exc());
        }
    }

    /// `XEN_DOMCTL_getdomaininfo` of a domU.
    pub fn info(&self, id: DomId) -> Result<XenDomctlGetdomaininfo> {
        hypercall::getdomaininfo(id).ctx("XEN_DOMCTL_getdomaininfo")
    }

    /// Destroys every domU dom0 still has (after a failure).
    pub fn destroy_all(&mut self) {
        let ids: Vec<DomId> = self.domains.iter().map(|d| d.id).collect();
        for id in ids {
            if let Err(e) = self.destroy(id) {
                kprintln!("dom0: destroying d{}: {e}", id.0);
            }
        }
    }
}

/// libxc's `shared_info_x86_64`: a zeroed `shared_info` with event upcalls
/// masked on every vCPU until the guest sets up its callback.
fn init_shared_info(win: &mut Window, id: DomId, mfn: u64) -> Result {
    let slot = win.map(id, mfn)?;
    let va = win.va(slot);
    // SAFETY: the slot maps the paused domU's shared_info page; the
    // writes stay inside `shared_info` (3136 bytes of the 4096).
    unsafe {
        core::ptr::write_bytes(va, 0, size_of::<SharedInfo>());
        for v in 0..pv_abi::abi::arch_x86::XEN_LEGACY_MAX_VCPUS {
            let off = offset_of!(SharedInfo, vcpu_info)
                + v * size_of::<VcpuInfo>()
                + offset_of!(VcpuInfo, evtchn_upcall_mask);
            core::ptr::write_volatile(va.add(off), 1);
        }
    }
    win.unmap(&[slot])
}

const IN_OFF: usize = offset_of!(XenconsInterface, in_);
const IN_CONS_OFF: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD_OFF: usize = offset_of!(XenconsInterface, in_prod);
const OUT_OFF: usize = offset_of!(XenconsInterface, out);
const OUT_CONS_OFF: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD_OFF: usize = offset_of!(XenconsInterface, out_prod);

/// Copies what `id` wrote to its console ring into its log and, with
/// `echo`, as lines on dom0's console (`[dN] <line>`); notifies the domU
/// when room was made.
fn drain_console(
    id: DomId,
    c: &mut Console,
    echo: bool,
    log: &mut ConsoleLog,
    keep: &mut VecDeque<String>,
    count: &mut u64,
) -> Result<bool> {
    let bad = |_| Error::Bad("console page layout", 0);
    // Acquire = xenconsoled's rmb() after reading out_prod.
    let prod = c.page.atomic_u32(OUT_PROD_OFF).map_err(bad)?.load(Ordering::Acquire);
    if prod == c.cons {
        return Ok(false);
    }
    let page = &c.page;
    let lines = &mut c.lines;
    let new_cons = conback::drain(
        c.cons,
        prod,
        |i| page.read::<u8>(OUT_OFF + i as usize).unwrap_or(b'?'),
        |b| {
            log.push(&[b]);
            lines.push(b, |l| {
                if echo {
                    kprintln!("[d{}] {}", id.0, l);
                }
                *count += 1;
                if keep.len() == KEEP_LINES {
                    keep.pop_front();
                }
                keep.push_back(l.to_string());
            })
        },
    );
    let new_cons = match new_cons {
        Ok(n) => n,
        Err(e) => {
            // A corrupt producer index: say so and skip to it.
            kprintln!("dom0: d{}: {e}", id.0);
            prod
        }
    };
    c.cons = new_cons;
    // Release: the bytes were read before the domU may overwrite them.
    c.page.atomic_u32(OUT_CONS_OFF).map_err(bad)?.store(new_cons, Ordering::Release);
    let _ = hypercall::evtchn_send(c.local);
    Ok(true)
}
