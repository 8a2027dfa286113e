//! The `xl` executor: runs xl command lines (parsed by
//! [`toolstack::cli`]) against the hypervisor, for both the dom0 shell
//! and the host's `xl` (over COM2), with xl's messages and formats.
//!
//! [`Host`] is everything dom0 manages: the [`Toolstack`] (domain
//! building, consoles), the [`Store`] (xenstored) and, per domU created
//! here, its configuration and boot images, so that `on_poweroff`,
//! `on_reboot` and `on_crash` can be carried out (xl's daemon does this
//! in `handle_domain_death`: destroy, destroy and create again from the
//! same configuration, or leave the dead domain in place).
//!
//! A command either finishes at once ([`Step::Done`] with xl's exit
//! status) or becomes a [`Job`] the caller polls from its loop while
//! dom0 keeps serving every domain: `console` (and `create -c`) streams
//! a domain's console until detached, `shutdown -w` / `reboot -w` wait
//! for the domains to shut down (`-ww`: to be destroyed). Output goes
//! into an [`Output`] as ordered stdout/stderr/console-attach chunks.

use crate::error::Error;
use crate::store::Store;
use crate::toolstack::Toolstack;
use crate::xc;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use dom0::conback::ConsoleLog;
use dom0::paths;
use pv_abi::abi::sched::{
    SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_soft_reset, SHUTDOWN_suspend, SHUTDOWN_watchdog,
};
use pv_abi::abi::sysctl::*;
use pv_abi::abi::xen::cstr;
use pv_abi::{hypercall, kprintln, DomId, Mfn};
use toolstack::cfg::{format_uuid, Effective};
use toolstack::cli::{self, Command, CreateArgs, DomRef, Target};
use toolstack::protocol::RequestFile;
use toolstack::status::{self, DomainInfo, HostInfo, PrevSample, TopHost};
use toolstack::DomainConfig;
use xenstored::DomainHome;

/// Ended domains remembered for jobs that still wait on them.
const ENDED_KEPT: usize = 32;
/// Most bytes of the hypervisor console `xl dmesg` prints.
const DMESG_MAX: usize = 1 << 20;

/// One piece of a command's output, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Standard output.
    Out(Vec<u8>),
    /// Standard error.
    Err(Vec<u8>),
    /// A console is attached to this domain from here on.
    Console(DomId),
}

/// What a command printed, in order.
#[derive(Default)]
pub struct Output {
    chunks: Vec<Chunk>,
}

impl Output {
    /// Appends standard-output bytes.
    pub fn out(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        match self.chunks.last_mut() {
            Some(Chunk::Out(v)) => v.extend_from_slice(b),
            _ => self.chunks.push(Chunk::Out(b.to_vec())),
        }
    }

    /// Appends standard-error bytes.
    pub fn err(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        match self.chunks.last_mut() {
            Some(Chunk::Err(v)) => v.extend_from_slice(b),
            _ => self.chunks.push(Chunk::Err(b.to_vec())),
        }
    }

    /// Announces that the console of `id` is attached.
    pub fn console(&mut self, id: DomId) {
        self.chunks.push(Chunk::Console(id));
    }

    /// Takes what was printed so far.
    pub fn take(&mut self) -> Vec<Chunk> {
        core::mem::take(&mut self.chunks)
    }
}

/// `writeln!`-like helpers for [`Output`].
macro_rules! outln {
    ($o:expr, $($a:tt)*) => {{
        let mut s = alloc::format!($($a)*);
        s.push('\n');
        $o.out(s.as_bytes())
    }};
}
macro_rules! errln {
    ($o:expr, $($a:tt)*) => {{
        let mut s = alloc::format!($($a)*);
        s.push('\n');
        $o.err(s.as_bytes())
    }};
}

/// A kernel or ramdisk image: in dom0's tree (the boot archive) or sent
/// by the host.
#[derive(Clone)]
pub enum Blob {
    /// Part of the boot archive.
    Static(&'static [u8]),
    /// Sent with a request.
    Shared(Rc<Vec<u8>>),
}

impl Blob {
    fn bytes(&self) -> &[u8] {
        match self {
            Blob::Static(b) => b,
            Blob::Shared(v) => v,
        }
    }
}

/// A domU created by `xl create`.
pub struct Managed {
    /// Its id.
    pub id: DomId,
    /// Unique among all domains dom0 ever created (ids are reused).
    pub serial: u64,
    /// Its configuration (restarts build from it again).
    pub cfg: DomainConfig,
    /// Its UUID.
    pub uuid: [u8; 16],
    kernel: Blob,
    ramdisk: Option<Blob>,
    /// Its shutdown was seen and acted on.
    handled: bool,
}

/// A domain that is gone, for the jobs still waiting on it.
struct Ended {
    serial: u64,
    /// The shutdown reason, if it shut down (rather than being destroyed).
    reason: Option<u32>,
    /// Its console history at the end.
    log: ConsoleLog,
}

/// A command still running.
pub enum Job {
    /// Streaming a domain's console (`xl console`, `xl create -c`).
    Console {
        /// The domain.
        serial: u64,
        /// The console log position sent so far.
        pos: u64,
        /// The byte that detaches (the dom0 shell checks it).
        escape: u8,
        /// Input not yet accepted by the domain's ring.
        input: Vec<u8>,
    },
    /// `shutdown -w` / `reboot -w`: waiting for each domain.
    Wait {
        /// `(serial, id, shut down already)`.
        doms: Vec<(u64, DomId, bool)>,
        /// Until destroyed (`-ww`), not just shut down.
        death: bool,
    },
}

impl Job {
    /// The console escape byte, if this is a console session.
    pub fn escape(&self) -> Option<u8> {
        match self {
            Job::Console { escape, .. } => Some(*escape),
            Job::Wait { .. } => None,
        }
    }
}

/// What running a command led to.
pub enum Step {
    /// Finished with this exit status.
    Done(i32),
    /// Still running: poll it.
    Job(Job),
}

/// Everything dom0 manages.
pub struct Host {
    /// Domain building, consoles, events, the foreign-mapping window.
    pub ts: Toolstack,
    /// xenstored.
    pub store: Store,
    doms: Vec<Managed>,
    ended: VecDeque<Ended>,
    next_serial: u64,
    top_prev: Option<(Vec<DomainInfo>, u64)>,
    uuid_state: u64,
}

/// xl's name of a `SHUTDOWN_*` reason.
fn shutdown_name(code: u32) -> &'static str {
    match code {
        SHUTDOWN_poweroff => "poweroff",
        SHUTDOWN_reboot => "reboot",
        SHUTDOWN_suspend => "suspend",
        SHUTDOWN_crash => "crash",
        SHUTDOWN_watchdog => "watchdog",
        SHUTDOWN_soft_reset => "soft_reset",
        _ => "unknown",
    }
}

impl Host {
    /// Wraps the toolstack and the store.
    pub fn new(ts: Toolstack, store: Store) -> Host {
        let seed = rdtsc() ^ 0x9e37_79b9_7f4a_7c15;
        Host { ts, store, doms: Vec::new(), ended: VecDeque::new(), next_serial: 1, top_prev: None, uuid_state: seed }
    }

    /// Xen system time, ns.
    pub fn now(&self) -> u64 {
        self.ts.ev.now()
    }

    /// Ports worth waking for: `VIRQ_DOM_EXC`, consoles, store rings.
    pub fn ports(&self) -> Vec<pv_abi::Port> {
        let mut v = alloc::vec![self.ts.ev.dom_exc()];
        v.extend(self.ts.console_ports());
        v.extend(self.store.ports());
        v
    }

    /// A fresh random (version 4) UUID.
    fn new_uuid(&mut self) -> [u8; 16] {
        let mut u = [0u8; 16];
        for chunk in u.chunks_mut(8) {
            // xorshift64*, reseeded from the TSC.
            let mut x = self.uuid_state ^ rdtsc().rotate_left(17);
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.uuid_state = x;
            chunk.copy_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        u
    }

    /// Serves the domains: consoles, xenstore, and shutdowns (applying
    /// the `on_*` actions).
    pub fn service(&mut self) {
        if let Err(e) = self.ts.service_tolerant() {
            kprintln!("dom0: serving domains: {e}");
        }
        self.store.service(&mut self.ts.win, &self.ts.ev);
        self.lifecycle();
    }

    /// Acts on domains that shut down or vanished.
    fn lifecycle(&mut self) {
        let mut todo = Vec::new();
        for m in self.doms.iter().filter(|m| !m.handled) {
            match self.ts.domain(m.id) {
                Ok(d) if d.gone => todo.push((m.serial, None, true)),
                Ok(d) => {
                    if let Some(code) = d.shutdown {
                        todo.push((m.serial, Some(code), false));
                    }
                }
                Err(_) => todo.push((m.serial, None, true)),
            }
        }
        for (serial, code, gone) in todo {
            let Some(m) = self.doms.iter_mut().find(|m| m.serial == serial) else { continue };
            m.handled = true;
            let (id, name) = (m.id, m.cfg.name.clone());
            if gone {
                kprintln!("xl: domain {name} (d{}) has disappeared; cleaning up", id.0);
                self.forget(serial, None);
                continue;
            }
            let code = code.unwrap_or(SHUTDOWN_poweroff);
            self.store.domain_shutdown(id);
            let (key, action) = match code {
                SHUTDOWN_poweroff => ("on_poweroff", Some(m.cfg.on_poweroff)),
                SHUTDOWN_reboot => ("on_reboot", Some(m.cfg.on_reboot)),
                SHUTDOWN_crash => ("on_crash", Some(m.cfg.on_crash)),
                SHUTDOWN_watchdog => ("on_watchdog", Some(m.cfg.on_watchdog)),
                SHUTDOWN_soft_reset => ("on_soft_reset", Some(m.cfg.on_soft_reset)),
                SHUTDOWN_suspend => ("suspend", None),
                _ => ("unknown reason", Some(toolstack::ShutdownAction::Destroy)),
            };
            let Some(action) = action else {
                kprintln!("xl: domain {name} (d{}) has suspended", id.0);
                continue;
            };
            kprintln!(
                "xl: domain {name} (d{}) has shut down ({}): {key} = {}",
                id.0,
                shutdown_name(code),
                action.name()
            );
            match action.effective() {
                Effective::Preserve => {}
                Effective::Destroy => {
                    if let Err(e) = self.destroy_managed(serial, Some(code)) {
                        kprintln!("xl: destroying {name} (d{}): {e}", id.0);
                    }
                }
                Effective::Restart => {
                    let Some(m) = self.doms.iter().find(|m| m.serial == serial) else { continue };
                    let (cfg, uuid, kernel, ramdisk) = (m.cfg.clone(), m.uuid, m.kernel.clone(), m.ramdisk.clone());
                    if let Err(e) = self.destroy_managed(serial, Some(code)) {
                        kprintln!("xl: destroying {name} (d{}) for its restart: {e}", id.0);
                        continue;
                    }
                    match self.create(cfg, kernel, ramdisk, uuid, false) {
                        Ok(new) => kprintln!("xl: domain {name} restarted as d{}", new.0),
                        Err(e) => kprintln!("xl: restarting {name}: {e}"),
                    }
                }
            }
        }
    }

    /// Builds and starts a domain (unless `paused`); returns its id or
    /// the message to print.
    fn create(
        &mut self,
        mut cfg: DomainConfig,
        kernel: Blob,
        ramdisk: Option<Blob>,
        uuid: [u8; 16],
        paused: bool,
    ) -> Result<DomId, String> {
        if self.doms.iter().any(|m| m.cfg.name == cfg.name) || cfg.name == "Domain-0" {
            return Err(format!("libxl: error: Domain with name \"{}\" already exists.", cfg.name));
        }
        let mem_kib = cfg.memory_mib * 1024;
        let max_kib = cfg.maxmem_mib.max(cfg.memory_mib) * 1024;
        let free = xc::free_pages().map_err(|e| format!("{e}"))?;
        if cfg.memory_mib > free / 256 {
            return Err(status::not_enough_memory(cfg.memory_mib, free / 256));
        }
        let id = self.ts.create_with(&cfg.name, mem_kib, max_kib, cfg.maxvcpus).map_err(|e| format!("{e}"))?;
        if let Ok(d) = self.ts.domain_mut(id) {
            d.echo = false;
        }
        if let Err(e) = self.setup(id, &cfg, &kernel, ramdisk.as_ref(), &uuid, mem_kib, max_kib, paused) {
            self.store.release(&mut self.ts.win, &self.ts.ev, id);
            let _ = self.ts.destroy(id);
            return Err(format!("{e}"));
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        cfg.uuid = Some(uuid);
        self.doms.push(Managed { id, serial, cfg, uuid, kernel, ramdisk, handled: false });
        Ok(id)
    }

    /// Builds `id`, writes its xenstore home, introduces it, unpauses it.
    #[allow(clippy::too_many_arguments)]
    fn setup(
        &mut self,
        id: DomId,
        cfg: &DomainConfig,
        kernel: &Blob,
        ramdisk: Option<&Blob>,
        uuid: &[u8; 16],
        mem_kib: u64,
        max_kib: u64,
        paused: bool,
    ) -> crate::error::Result {
        let cmdline = cfg.cmdline.as_deref().unwrap_or("");
        let rd = ramdisk.map_or(&[][..], Blob::bytes);
        self.ts.build_image(id, &cfg.kernel, kernel.bytes(), rd, cmdline)?;
        let d = self.ts.domain(id)?;
        let (store_port, console_port) = (d.store_port(), d.console_port());
        let store_mfn = d.store_mfn.ok_or(Error::Bad("the kernel got no xenstore page, domain", id.0 as u64))?;
        let console = d.console_mfn.map(|m| (console_port, Mfn(m)));
        let uuid = format_uuid(uuid);
        let home = DomainHome {
            domid: id,
            name: &cfg.name,
            uuid: &uuid,
            max_mem_kib: max_kib,
            target_mem_kib: mem_kib,
            vcpus: cfg.vcpus,
            store_port,
            store_mfn: Mfn(store_mfn),
            console,
        };
        self.store.xsd.create_domain_home(&home).map_err(|e| Error::Hv("writing the xenstore home", e))?;
        self.store
            .introduce(&mut self.ts.win, &self.ts.ev, id, store_mfn, store_port)
            .map_err(|e| Error::Hv("introducing the domain to xenstored", e))?;
        if !paused {
            xc::unpause(id)?;
        }
        Ok(())
    }

    /// Destroys a managed domain and everything dom0 holds for it.
    fn destroy_managed(&mut self, serial: u64, reason: Option<u32>) -> crate::error::Result {
        let Some(m) = self.doms.iter().find(|m| m.serial == serial) else { return Ok(()) };
        let id = m.id;
        self.store.release(&mut self.ts.win, &self.ts.ev, id);
        let log = self.ts.domain(id).map(|d| d.log.clone()).unwrap_or_else(|_| ConsoleLog::new(1));
        let r = self.ts.destroy(id);
        self.remember(serial, reason, log);
        r
    }

    /// Forgets a domain that vanished.
    fn forget(&mut self, serial: u64, reason: Option<u32>) {
        let _ = self.destroy_managed(serial, reason);
    }

    fn remember(&mut self, serial: u64, reason: Option<u32>, log: ConsoleLog) {
        self.doms.retain(|m| m.serial != serial);
        if self.ended.len() == ENDED_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back(Ended { serial, reason, log });
    }

    /// Every domain the hypervisor has, with names from xenstore.
    pub fn domain_infos(&mut self) -> Result<Vec<DomainInfo>, Error> {
        let list = xc::domaininfolist()?;
        let mut v = Vec::with_capacity(list.len());
        for info in &list {
            let id = DomId(info.domain);
            let name = match self.store.xsd.read(&format!("/local/domain/{}/name", id.0)) {
                Ok(n) => String::from_utf8_lossy(&n).into_owned(),
                Err(_) => match self.doms.iter().find(|m| m.id == id) {
                    Some(m) => m.cfg.name.clone(),
                    None => String::from("(null)"),
                },
            };
            v.push(DomainInfo::from_getdomaininfo(info, &name));
        }
        Ok(v)
    }

    fn managed(&self, id: DomId) -> Option<&Managed> {
        self.doms.iter().find(|m| m.id == id)
    }

    /// Destroys everything (before dom0 powers off).
    pub fn destroy_all(&mut self) {
        let serials: Vec<u64> = self.doms.iter().map(|m| m.serial).collect();
        for s in serials {
            let _ = self.destroy_managed(s, None);
        }
    }
}

fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe { core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}

// ---- commands ---------------------------------------------------------------------

/// Runs one `xl` command line (`argv` after `xl`); `files` are what the
/// host sent with it (looked up before dom0's own tree).
pub fn run(host: &mut Host, argv: &[String], files: Vec<RequestFile>, out: &mut Output) -> Step {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let inv = match cli::parse_args(&args) {
        Ok(i) => i,
        Err(u) => {
            out.out(u.stdout.as_bytes());
            out.err(u.stderr.as_bytes());
            return Step::Done(u.status);
        }
    };
    match inv.command {
        Command::Help { command } => {
            out.out(cli::help(command.as_deref()).as_bytes());
            Step::Done(0)
        }
        Command::Create(c) => create(host, c, files, out),
        Command::Destroy { dom, force } => Step::Done(destroy(host, &dom, force || inv.force, out)),
        Command::List { long, verbose, doms } => Step::Done(list(host, long, verbose, &doms, out)),
        Command::Console { dom, num, escape } => console(host, &dom, num, escape, out),
        Command::Pause { dom } => Step::Done(pause(host, &dom, true, out)),
        Command::Unpause { dom } => Step::Done(pause(host, &dom, false, out)),
        Command::Shutdown { reboot, target, wait } => shutdown(host, reboot, &target, wait, out),
        Command::Info { item } => Step::Done(info(host, item.as_deref(), out)),
        Command::Dmesg { clear } => Step::Done(dmesg(clear, out)),
        Command::Top => Step::Done(top(host, out)),
        Command::Domid { name } => Step::Done(domid(host, &name, out)),
        Command::Domname { id } => Step::Done(domname(host, id, out)),
        Command::MemSet { dom, kib } => Step::Done(mem_set(host, &dom, kib, &argv[argv.len() - 1], out)),
    }
}

/// The id `dom` names, or xl's error printed.
fn find(host: &mut Host, dom: &DomRef, out: &mut Output) -> Option<DomId> {
    match host.domain_infos() {
        Ok(infos) => match status::find_domain(&infos, dom) {
            Ok(d) => Some(d.id),
            Err(msg) => {
                errln!(out, "{msg}");
                None
            }
        },
        Err(e) => {
            errln!(out, "xl: listing domains: {e}");
            None
        }
    }
}

/// Files the host sent, by the name it used.
type Sent = Vec<(String, Rc<Vec<u8>>)>;

/// A file named by the user: sent by the host under that exact name, or
/// in dom0's tree.
fn lookup(host: &Host, files: &Sent, name: &str) -> Option<Blob> {
    if let Some((_, data)) = files.iter().find(|(n, _)| n == name) {
        return Some(Blob::Shared(data.clone()));
    }
    host.ts.archive.file(&paths::resolve(name)).map(Blob::Static)
}

fn create(host: &mut Host, c: CreateArgs, files: Vec<RequestFile>, out: &mut Output) -> Step {
    let files: Sent = files.into_iter().map(|f| (f.name, Rc::new(f.data))).collect();
    let Some(text) = lookup(host, &files, &c.config) else {
        errln!(out, "Failed to read config file: {}: No such file or directory", c.config);
        return Step::Done(1);
    };
    let Ok(text) = core::str::from_utf8(text.bytes()) else {
        errln!(out, "Failed to read config file: {}: not UTF-8 text", c.config);
        return Step::Done(1);
    };
    if !c.quiet {
        errln!(out, "Parsing config from {}", c.config);
    }
    let extra: Vec<&str> = c.extra.iter().map(String::as_str).collect();
    let cfg = match DomainConfig::parse_with(&c.config, text, &extra) {
        Ok(cfg) => cfg,
        Err(e) => {
            errln!(out, "{e}");
            return Step::Done(1);
        }
    };
    for w in &cfg.warnings {
        errln!(out, "{w}");
    }
    if !cfg.disks.is_empty() || !cfg.vifs.is_empty() {
        errln!(
            out,
            "{}: disk and vif devices need block and network back-ends, which this dom0 does not have yet",
            c.config
        );
        return Step::Done(1);
    }
    let Some(kernel) = lookup(host, &files, &cfg.kernel) else {
        errln!(out, "xl: kernel '{}': no such file (not sent by the host, not in dom0's tree)", cfg.kernel);
        return Step::Done(1);
    };
    let ramdisk = match &cfg.ramdisk {
        None => None,
        Some(r) => match lookup(host, &files, r) {
            Some(b) => Some(b),
            None => {
                errln!(out, "xl: ramdisk '{r}': no such file (not sent by the host, not in dom0's tree)");
                return Step::Done(1);
            }
        },
    };
    let uuid = match cfg.uuid {
        Some(u) => u,
        None => host.new_uuid(),
    };
    let name = cfg.name.clone();
    match host.create(cfg, kernel, ramdisk, uuid, c.paused) {
        Ok(id) => {
            if c.console {
                attach(host, id, cli::DEFAULT_ESCAPE, out)
            } else {
                Step::Done(0)
            }
        }
        Err(msg) => {
            errln!(out, "{msg}");
            errln!(out, "xl: failed to create domain '{name}'");
            Step::Done(1)
        }
    }
}

fn destroy(host: &mut Host, dom: &DomRef, force: bool, out: &mut Output) -> i32 {
    let Some(id) = find(host, dom, out) else { return 1 };
    if id == DomId::DOM0 {
        if force {
            errln!(out, "xl: this dom0 cannot destroy itself; use `poweroff` at the dom0 shell");
        } else {
            errln!(
                out,
                "Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated \
                 hardware domain and toolstack.\n"
            );
        }
        return 1;
    }
    let r = match host.managed(id).map(|m| m.serial) {
        Some(serial) => host.destroy_managed(serial, None),
        // Not ours (another toolstack's): destroy it all the same.
        None => xc::destroydomain(id),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            errln!(out, "destroy failed: {e}");
            1
        }
    }
}

fn list(host: &mut Host, long: bool, verbose: bool, doms: &[DomRef], out: &mut Output) -> i32 {
    let infos = match host.domain_infos() {
        Ok(i) => i,
        Err(e) => {
            errln!(out, "libxl_list_domain failed: {e}");
            return 1;
        }
    };
    let mut chosen = Vec::new();
    for d in doms {
        match status::find_domain(&infos, d) {
            Ok(i) => chosen.push(i.clone()),
            Err(msg) => {
                errln!(out, "{msg}");
                return 1;
            }
        }
    }
    let shown = if doms.is_empty() { infos } else { chosen };
    if long {
        let entries: Vec<(DomId, &DomainConfig)> =
            shown.iter().filter_map(|d| host.managed(d.id).map(|m| (d.id, &m.cfg))).collect();
        out.out(status::format_list_long(&entries).as_bytes());
    } else {
        out.out(status::format_list(&shown, verbose).as_bytes());
    }
    0
}

fn attach(host: &mut Host, id: DomId, escape: u8, out: &mut Output) -> Step {
    let Some(m) = host.managed(id) else {
        errln!(out, "xl: domain {} has no console dom0 serves", id.0);
        return Step::Done(1);
    };
    let serial = m.serial;
    out.console(id);
    let mut job = Job::Console { serial, pos: 0, escape, input: Vec::new() };
    // History first, so `xl console dom < /dev/null` prints it.
    match poll(host, &mut job, out) {
        Some(st) => Step::Done(st),
        None => Step::Job(job),
    }
}

fn console(host: &mut Host, dom: &DomRef, num: u32, escape: u8, out: &mut Output) -> Step {
    let Some(id) = find(host, dom, out) else { return Step::Done(1) };
    if num != 0 {
        errln!(out, "xl: domain {}: only console 0 (the PV console) exists", id.0);
        return Step::Done(1);
    }
    if id == DomId::DOM0 {
        errln!(out, "xl: domain 0's console is the serial line dom0's shell runs on");
        return Step::Done(1);
    }
    attach(host, id, escape, out)
}

fn pause(host: &mut Host, dom: &DomRef, pause: bool, out: &mut Output) -> i32 {
    let Some(id) = find(host, dom, out) else { return 1 };
    let r = if pause { xc::pause(id) } else { xc::unpause(id) };
    match r {
        Ok(()) => 0,
        Err(e) => {
            errln!(out, "xl: {} domain {}: {e}", if pause { "pausing" } else { "unpausing" }, id.0);
            1
        }
    }
}

fn shutdown(host: &mut Host, reboot: bool, target: &Target, wait: u8, out: &mut Output) -> Step {
    let ids: Vec<DomId> = match target {
        Target::All => host.doms.iter().map(|m| m.id).collect(),
        Target::One(dom) => match find(host, dom, out) {
            Some(DomId::DOM0) => {
                errln!(out, "xl: dom0 does not watch control/shutdown; use `poweroff` at the dom0 shell");
                return Step::Done(1);
            }
            Some(id) => alloc::vec![id],
            None => return Step::Done(1),
        },
    };
    let word = if reboot { "reboot" } else { "poweroff" };
    let mut waits = Vec::new();
    for id in ids {
        errln!(out, "{} domain {}", if reboot { "Rebooting" } else { "Shutting down" }, id.0);
        // libxl__domain_pvcontrol_write: the guest watches this node.
        if let Err(e) = host.store.xsd.write(&format!("/local/domain/{}/control/shutdown", id.0), word.as_bytes()) {
            errln!(out, "{} failed (rc={})", if reboot { "reboot" } else { "shutdown" }, -e.0);
            return Step::Done(1);
        }
        if let Some(m) = host.managed(id) {
            waits.push((m.serial, id, false));
        }
    }
    if wait == 0 {
        return Step::Done(0);
    }
    errln!(out, "Waiting for {} domains", waits.len());
    let mut job = Job::Wait { doms: waits, death: wait > 1 };
    match poll(host, &mut job, out) {
        Some(st) => Step::Done(st),
        None => Step::Job(job),
    }
}

/// Polls a job: prints what it has to say; `Some(status)` when it ends.
pub fn poll(host: &mut Host, job: &mut Job, out: &mut Output) -> Option<i32> {
    match job {
        Job::Console { serial, pos, input, .. } => {
            if let Some(m) = host.doms.iter().find(|m| m.serial == *serial) {
                let mid = m.id;
                if let Ok(d) = host.ts.domain(mid) {
                    let mut buf = Vec::new();
                    let (next, _) = d.log.read_from(*pos, &mut buf);
                    *pos = next;
                    out.out(&buf);
                }
                if !input.is_empty() {
                    match host.ts.console_input(mid, input) {
                        Ok(n) => {
                            input.drain(..n);
                        }
                        Err(_) => input.clear(),
                    }
                }
                None
            } else {
                if let Some(e) = host.ended.iter().find(|e| e.serial == *serial) {
                    let mut buf = Vec::new();
                    e.log.read_from(*pos, &mut buf);
                    out.out(&buf);
                }
                Some(0)
            }
        }
        Job::Wait { doms, death } => {
            let mut pending = 0;
            for (serial, id, shut) in doms.iter_mut() {
                if *serial == 0 {
                    continue;
                }
                let live = host.doms.iter().find(|m| m.serial == *serial).map(|m| m.id);
                let reason = match live {
                    Some(lid) => host.ts.domain(lid).ok().and_then(|d| d.shutdown),
                    None => host.ended.iter().find(|e| e.serial == *serial).and_then(|e| e.reason),
                };
                if let (false, Some(r)) = (*shut, reason) {
                    errln!(out, "Domain {} has been shut down, reason code {r}", id.0);
                    *shut = true;
                    if *death {
                        errln!(out, "Domain {} continue waiting for death", id.0);
                    }
                }
                let done = if live.is_none() {
                    if *death || !*shut {
                        errln!(out, "Domain {} has been destroyed", id.0);
                    }
                    true
                } else {
                    *shut && !*death
                };
                if done {
                    *serial = 0;
                } else {
                    pending += 1;
                }
            }
            (pending == 0).then_some(0)
        }
    }
}

/// Console input for a job (ignored by other jobs): written into the
/// domain's ring at once as far as it fits, the rest as it drains.
pub fn input(host: &mut Host, job: &mut Job, bytes: &[u8]) {
    if let Job::Console { serial, input, .. } = job {
        // Bounded: a domain that does not read loses what overflows.
        let room = (64 * 1024usize).saturating_sub(input.len());
        input.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let Some(id) = host.doms.iter().find(|m| m.serial == *serial).map(|m| m.id) else { return };
        match host.ts.console_input(id, input) {
            Ok(n) => {
                input.drain(..n);
            }
            Err(_) => input.clear(),
        }
    }
}

fn info(host: &mut Host, item: Option<&str>, out: &mut Output) -> i32 {
    let pi = match hypercall::physinfo() {
        Ok(p) => p,
        Err(e) => {
            errln!(out, "libxl_get_physinfo failed: {e}");
            return 1;
        }
    };
    let (major, minor) = hypercall::xen_version();
    let extra = hypercall::xen_extraversion().unwrap_or_default();
    let mut caps = [0u8; 1024];
    let _ = hypercall::xen_capabilities(&mut caps);
    let mut cmdline = [0u8; 1024];
    let _ = hypercall::xen_commandline(&mut cmdline);
    let cap = pi.capabilities;
    let mut virt = Vec::new();
    for (bit, name) in [
        (XEN_SYSCTL_PHYSCAP_pv, "pv"),
        (XEN_SYSCTL_PHYSCAP_hvm, "hvm"),
        (XEN_SYSCTL_PHYSCAP_hap, "hap"),
        (XEN_SYSCTL_PHYSCAP_shadow, "shadow"),
        (XEN_SYSCTL_PHYSCAP_vmtrace, "vmtrace"),
        (XEN_SYSCTL_PHYSCAP_vpmu, "vpmu"),
        (XEN_SYSCTL_PHYSCAP_gnttab_v1, "gnttab-v1"),
        (XEN_SYSCTL_PHYSCAP_gnttab_v2, "gnttab-v2"),
    ] {
        if cap & bit != 0 {
            virt.push(name.to_string());
        }
    }
    let h = HostInfo {
        release: "dom0-rust".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        nr_cpus: pi.nr_cpus,
        max_cpu_id: pi.max_cpu_id,
        nr_nodes: pi.nr_nodes,
        cores_per_socket: pi.cores_per_socket,
        threads_per_core: pi.threads_per_core,
        cpu_khz: pi.cpu_khz,
        hw_caps: pi.hw_cap,
        virt_caps: virt,
        total_memory_mib: pi.total_pages / 256,
        free_memory_mib: pi.free_pages.saturating_sub(pi.outstanding_pages) / 256,
        outstanding_claims_mib: pi.outstanding_pages / 256,
        free_cpus: 0,
        xen_major: major as u32,
        xen_minor: minor as u32,
        xen_extra: cstr(&extra).to_string(),
        xen_caps: cstr(&caps).trim_end().to_string(),
        xen_pagesize: hypercall::xen_pagesize().map_or(4096, |p| p as u32),
        virt_start: hypercall::xen_platform_virt_start().unwrap_or(0xffff_8000_0000_0000),
        xen_commandline: cstr(&cmdline).to_string(),
        ..HostInfo::default()
    };
    let _ = host;
    out.out(status::format_info(&h, item).as_bytes());
    0
}

fn dmesg(clear: bool, out: &mut Output) -> i32 {
    let mut all = Vec::new();
    let mut index = 0u32;
    let mut buf = [0u8; 4096];
    while all.len() < DMESG_MAX {
        match xc::readconsole(index, &mut buf, false) {
            Ok((0, _)) => break,
            Ok((n, next)) => {
                all.extend_from_slice(&buf[..n]);
                index = next;
            }
            Err(e) => {
                errln!(out, "xl: reading the hypervisor console: {e}");
                return 1;
            }
        }
    }
    if clear {
        let _ = xc::readconsole(index, &mut [], true);
    }
    out.out(&all);
    0
}

fn top(host: &mut Host, out: &mut Output) -> i32 {
    let domains = match host.domain_infos() {
        Ok(d) => d,
        Err(e) => {
            errln!(out, "xl: listing domains: {e}");
            return 1;
        }
    };
    let pi = hypercall::physinfo().unwrap_or_default();
    let (major, minor) = hypercall::xen_version();
    let extra = hypercall::xen_extraversion().unwrap_or_default();
    let now = host.now();
    let th = TopHost {
        time: None,
        xen_version: format!("{major}.{minor}{}", cstr(&extra)),
        total_kib: pi.total_pages * 4,
        free_kib: pi.free_pages * 4,
        nr_cpus: pi.nr_cpus,
        cpu_mhz: u64::from(pi.cpu_khz) / 1000,
    };
    let prev = host.top_prev.as_ref().map(|(d, t)| PrevSample { domains: d, elapsed_ns: now.saturating_sub(*t) });
    out.out(status::format_top(&th, &domains, prev).as_bytes());
    host.top_prev = Some((domains, now));
    0
}

fn domid(host: &mut Host, name: &str, out: &mut Output) -> i32 {
    let found = host.domain_infos().ok().and_then(|v| v.into_iter().find(|d| d.name == name));
    match found {
        Some(d) => {
            outln!(out, "{}", d.id.0);
            0
        }
        None => {
            errln!(out, "Can't get domid of domain name '{name}', maybe this domain does not exist.");
            1
        }
    }
}

fn domname(host: &mut Host, id: DomId, out: &mut Output) -> i32 {
    let found = host.domain_infos().ok().and_then(|v| v.into_iter().find(|d| d.id == id));
    match found {
        Some(d) => {
            outln!(out, "{}", d.name);
            0
        }
        None => {
            errln!(out, "Can't get domain name of domain id '{}', maybe this domain does not exist.", id.0);
            1
        }
    }
}

/// `xl mem-set`: libxl_set_memory_target(enforce): the new target must
/// not exceed `memory/static-max`; `memory/target` is rewritten (the
/// guest's balloon driver watches it) and the hypervisor's limit becomes
/// target + 1 MiB (`LIBXL_MAXMEM_CONSTANT`).
fn mem_set(host: &mut Host, dom: &DomRef, kib: u64, text: &str, out: &mut Output) -> i32 {
    let Some(id) = find(host, dom, out) else { return 1 };
    let fail = |out: &mut Output| {
        errln!(out, "cannot set domid {} dynamic max memory to : {text}", id.0);
        1
    };
    if id == DomId::DOM0 {
        errln!(out, "libxl: error: dom0's memory is fixed at boot here (dom0_mem=)");
        return fail(out);
    }
    let home = format!("/local/domain/{}", id.0);
    let static_max = host
        .store
        .xsd
        .read(&format!("{home}/memory/static-max"))
        .ok()
        .and_then(|v| core::str::from_utf8(&v).ok().and_then(|s| s.parse::<u64>().ok()));
    let Some(static_max) = static_max else {
        errln!(out, "libxl: error: Domain {}:Cannot get memory info from {home}/memory/static-max", id.0);
        return fail(out);
    };
    if kib > static_max {
        errln!(out, "libxl: error: Domain {}:memory_dynamic_max must be less than or equal to memory_static_max", id.0);
        return fail(out);
    }
    if let Err(e) = xc::max_mem(id, kib + 1024) {
        errln!(out, "libxl: error: Domain {}:xc_domain_setmaxmem memkb={} failed: {e}", id.0, kib + 1024);
        return fail(out);
    }
    if let Err(e) = host.store.xsd.write(&format!("{home}/memory/target"), format!("{kib}").as_bytes()) {
        errln!(out, "libxl: error: Domain {}:writing memory/target: {e}", id.0);
        return fail(out);
    }
    0
}
