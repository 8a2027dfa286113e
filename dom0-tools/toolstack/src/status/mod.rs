//! Domain and host state as the executor reads it from the hypervisor, and
//! xl's output formats for it: `xl list` (libxl's `list_domains`), `xl
//! info` (`print_info`), `xl top` (one xentop screen) and `xl list -l`.
//!
//! Everything here is pure: the executor fills [`DomainInfo`] and
//! [`HostInfo`] (e.g. from `XEN_SYSCTL_getdomaininfolist` and
//! `XEN_SYSCTL_physinfo`), these functions return the text.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use pv_abi::abi::domctl::{
    XEN_DOMINF_blocked, XEN_DOMINF_dying, XEN_DOMINF_paused, XEN_DOMINF_running, XEN_DOMINF_shutdown,
    XenDomctlGetdomaininfo,
};
use pv_abi::abi::sched::SHUTDOWN_crash;
use pv_abi::DomId;

use crate::cfg::{format_uuid, DomainConfig};
use crate::cli::DomRef;

#[cfg(test)]
mod tests;

/// A domain's scheduling state, as `XEN_DOMINF_*` flags report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainState {
    /// A vCPU is running now.
    pub running: bool,
    /// All vCPUs are blocked waiting for events.
    pub blocked: bool,
    /// Paused by the toolstack.
    pub paused: bool,
    /// Shut down, with the guest's `SHUTDOWN_*` reason code.
    pub shutdown: Option<u32>,
    /// Being destroyed.
    pub dying: bool,
}

impl DomainState {
    /// From `xen_domctl_getdomaininfo.flags`.
    pub fn from_dominf_flags(flags: u32) -> Self {
        let shutdown = flags & XEN_DOMINF_shutdown != 0;
        DomainState {
            running: flags & XEN_DOMINF_running != 0,
            blocked: flags & XEN_DOMINF_blocked != 0,
            paused: flags & XEN_DOMINF_paused != 0,
            shutdown: shutdown.then_some((flags >> pv_abi::abi::domctl::XEN_DOMINF_shutdownshift) & 0xff),
            dying: flags & XEN_DOMINF_dying != 0,
        }
    }

    /// Shut down because it crashed.
    pub fn crashed(&self) -> bool {
        self.shutdown == Some(SHUTDOWN_crash)
    }

    /// xl list's six state letters, `rbpscd` positions: running, blocked,
    /// paused, shutdown, the shutdown reason (`-` poweroff, `r` reboot,
    /// `s` suspend, `c` crash, `w` watchdog, `S` soft reset, `?` other;
    /// `-` when not shut down) and dying.
    pub fn xl_letters(&self) -> String {
        const REASONS: &[u8] = b"-rscwS";
        let reason = match self.shutdown {
            None => '-',
            Some(r) => REASONS.get(r as usize).map_or('?', |&c| char::from(c)),
        };
        let flag = |on: bool, c: char| if on { c } else { '-' };
        let mut s = String::with_capacity(6);
        s.push(flag(self.running, 'r'));
        s.push(flag(self.blocked, 'b'));
        s.push(flag(self.paused, 'p'));
        s.push(flag(self.shutdown.is_some(), 's'));
        s.push(reason);
        s.push(flag(self.dying, 'd'));
        s
    }

    /// xentop's six state letters, in its order: dying, shutdown,
    /// blocked, crashed, paused, running (`dsbcpr`).
    pub fn xentop_letters(&self) -> String {
        let flag = |on: bool, c: char| if on { c } else { '-' };
        [
            flag(self.dying, 'd'),
            flag(self.shutdown.is_some(), 's'),
            flag(self.blocked, 'b'),
            flag(self.crashed(), 'c'),
            flag(self.paused, 'p'),
            flag(self.running, 'r'),
        ]
        .into_iter()
        .collect()
    }
}

/// One domain, as `xl list` and `xl top` show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainInfo {
    /// Name (dom0 is `Domain-0`).
    pub name: String,
    /// Domain id.
    pub id: DomId,
    /// Current memory, KiB (plus outstanding claims, as xl adds them).
    pub mem_kib: u64,
    /// Maximum memory, KiB; `None`: no limit.
    pub max_mem_kib: Option<u64>,
    /// vCPUs online.
    pub vcpus: u32,
    /// Scheduling state.
    pub state: DomainState,
    /// CPU time used, ns.
    pub cpu_time_ns: u64,
    /// The domain handle.
    pub uuid: [u8; 16],
}

impl DomainInfo {
    /// From a `getdomaininfo` record (pages are 4 KiB) and the domain's name.
    pub fn from_getdomaininfo(info: &XenDomctlGetdomaininfo, name: &str) -> Self {
        DomainInfo {
            name: name.to_string(),
            id: DomId(info.domain),
            mem_kib: (info.tot_pages + info.outstanding_pages) * 4,
            max_mem_kib: (info.max_pages != u64::MAX).then_some(info.max_pages.saturating_mul(4)),
            vcpus: info.nr_online_vcpus,
            state: DomainState::from_dominf_flags(info.flags),
            cpu_time_ns: info.cpu_time,
            uuid: info.handle,
        }
    }
}

/// The first domain `dom` names, or xl's error for it:
/// `xl: no such domain 'foo'` (the executor prints it and exits 1).
pub fn find_domain<'a>(domains: &'a [DomainInfo], dom: &DomRef) -> Result<&'a DomainInfo, String> {
    domains.iter().find(|d| dom.matches(d.id, &d.name)).ok_or_else(|| no_such_domain(dom))
}

/// `xl: no such domain 'foo'`
pub fn no_such_domain(dom: &DomRef) -> String {
    format!("xl: no such domain '{}'", dom)
}

/// `not enough memory: asked 512 MiB, 120 MiB free`
pub fn not_enough_memory(asked_mib: u64, free_mib: u64) -> String {
    format!("not enough memory: asked {} MiB, {} MiB free", asked_mib, free_mib)
}

/// CPU time as xl prints it: `(float)cpu_time / 1e9` with `%8.1f`
/// (the `f32` rounding included, so the digits match xl's exactly).
fn cpu_seconds(ns: u64) -> f64 {
    f64::from(ns as f32) / 1e9
}

/// xl list's header line (including the newline).
pub const LIST_HEADER: &str = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n";

/// `xl list` / `xl list -v`: the header and one row per domain, in the
/// order given (xl lists by domain id).
pub fn format_list(domains: &[DomainInfo], verbose: bool) -> String {
    let mut s = String::new();
    s.push_str(LIST_HEADER.trim_end_matches('\n'));
    if verbose {
        s.push_str("   UUID                            Reason-Code\tSecurity Label");
    }
    s.push('\n');
    for d in domains {
        let _ = write!(
            s,
            "{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1}",
            d.name,
            d.id.0,
            d.mem_kib / 1024,
            d.vcpus,
            d.state.xl_letters(),
            cpu_seconds(d.cpu_time_ns)
        );
        if verbose {
            let _ = write!(s, " {}", format_uuid(&d.uuid));
            match d.state.shutdown {
                Some(r) => {
                    let _ = write!(s, " {:>8x}", r);
                }
                None => {
                    let _ = write!(s, " {:>8}", "-");
                }
            }
            let _ = write!(s, " {:>16}", "-");
        }
        s.push('\n');
    }
    s
}

/// What `xl info` prints. The executor fills what it knows; the defaults
/// are what a one-node, no-sharing host reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostInfo {
    /// `host`: node name.
    pub host: String,
    /// `release`: dom0 kernel release.
    pub release: String,
    /// `version`: dom0 kernel version string.
    pub version: String,
    /// `machine`.
    pub machine: String,
    /// `nr_cpus`.
    pub nr_cpus: u32,
    /// `max_cpu_id`.
    pub max_cpu_id: u32,
    /// `nr_nodes`.
    pub nr_nodes: u32,
    /// `cores_per_socket`.
    pub cores_per_socket: u32,
    /// `threads_per_core`.
    pub threads_per_core: u32,
    /// `cpu_mhz`, given in kHz (printed `MHz.kHz`).
    pub cpu_khz: u32,
    /// `hw_caps`.
    pub hw_caps: [u32; 8],
    /// `virt_caps`, e.g. `["pv", "gnttab-v1"]`.
    pub virt_caps: Vec<String>,
    /// `total_memory`, MiB.
    pub total_memory_mib: u64,
    /// `free_memory`, MiB (free minus outstanding claims).
    pub free_memory_mib: u64,
    /// `sharing_freed_memory`, MiB.
    pub sharing_freed_memory_mib: u64,
    /// `sharing_used_memory`, MiB.
    pub sharing_used_memory_mib: u64,
    /// `outstanding_claims`, MiB.
    pub outstanding_claims_mib: u64,
    /// `free_cpus`.
    pub free_cpus: u32,
    /// `xen_major`.
    pub xen_major: u32,
    /// `xen_minor`.
    pub xen_minor: u32,
    /// `xen_extra` (e.g. `.0`).
    pub xen_extra: String,
    /// `xen_caps`.
    pub xen_caps: String,
    /// `xen_scheduler`.
    pub xen_scheduler: String,
    /// `xen_pagesize`.
    pub xen_pagesize: u32,
    /// `platform_params`' `virt_start`.
    pub virt_start: u64,
    /// `xen_changeset`.
    pub xen_changeset: String,
    /// `xen_commandline`.
    pub xen_commandline: String,
    /// `cc_compiler`.
    pub cc_compiler: String,
    /// `cc_compile_by`.
    pub cc_compile_by: String,
    /// `cc_compile_domain`.
    pub cc_compile_domain: String,
    /// `cc_compile_date`.
    pub cc_compile_date: String,
    /// `build_id`.
    pub build_id: String,
}

impl Default for HostInfo {
    fn default() -> Self {
        HostInfo {
            host: "dom0".to_string(),
            release: String::new(),
            version: String::new(),
            machine: "x86_64".to_string(),
            nr_cpus: 1,
            max_cpu_id: 0,
            nr_nodes: 1,
            cores_per_socket: 1,
            threads_per_core: 1,
            cpu_khz: 0,
            hw_caps: [0; 8],
            virt_caps: alloc::vec!["pv".to_string()],
            total_memory_mib: 0,
            free_memory_mib: 0,
            sharing_freed_memory_mib: 0,
            sharing_used_memory_mib: 0,
            outstanding_claims_mib: 0,
            free_cpus: 0,
            xen_major: 4,
            xen_minor: 17,
            xen_extra: String::new(),
            xen_caps: "xen-3.0-x86_64".to_string(),
            xen_scheduler: "credit".to_string(),
            xen_pagesize: 4096,
            virt_start: 0xffff_8000_0000_0000,
            xen_changeset: String::new(),
            xen_commandline: String::new(),
            cc_compiler: String::new(),
            cc_compile_by: String::new(),
            cc_compile_domain: String::new(),
            cc_compile_date: String::new(),
            build_id: String::new(),
        }
    }
}

/// `xl info` (`item`: `xl info <item>`, which prints only the value of the
/// lines whose name starts with `item`, as xl does).
pub fn format_info(h: &HostInfo, item: Option<&str>) -> String {
    let caps = h.hw_caps.iter().map(|c| format!("{:08x}", c)).collect::<Vec<_>>().join(":");
    let virt: String = h.virt_caps.iter().map(|c| format!(" {}", c)).collect();
    let lines = [
        ("host", h.host.clone()),
        ("release", h.release.clone()),
        ("version", h.version.clone()),
        ("machine", h.machine.clone()),
        ("nr_cpus", h.nr_cpus.to_string()),
        ("max_cpu_id", h.max_cpu_id.to_string()),
        ("nr_nodes", h.nr_nodes.to_string()),
        ("cores_per_socket", h.cores_per_socket.to_string()),
        ("threads_per_core", h.threads_per_core.to_string()),
        ("cpu_mhz", format!("{}.{:03}", h.cpu_khz / 1000, h.cpu_khz % 1000)),
        ("hw_caps", caps),
        ("virt_caps", virt),
        ("total_memory", h.total_memory_mib.to_string()),
        ("free_memory", h.free_memory_mib.to_string()),
        ("sharing_freed_memory", h.sharing_freed_memory_mib.to_string()),
        ("sharing_used_memory", h.sharing_used_memory_mib.to_string()),
        ("outstanding_claims", h.outstanding_claims_mib.to_string()),
        ("free_cpus", h.free_cpus.to_string()),
        ("xen_major", h.xen_major.to_string()),
        ("xen_minor", h.xen_minor.to_string()),
        ("xen_extra", h.xen_extra.clone()),
        ("xen_version", format!("{}.{}{}", h.xen_major, h.xen_minor, h.xen_extra)),
        ("xen_caps", h.xen_caps.clone()),
        ("xen_scheduler", h.xen_scheduler.clone()),
        ("xen_pagesize", h.xen_pagesize.to_string()),
        ("platform_params", format!("virt_start={:#x}", h.virt_start)),
        ("xen_changeset", h.xen_changeset.clone()),
        ("xen_commandline", h.xen_commandline.clone()),
        ("cc_compiler", h.cc_compiler.clone()),
        ("cc_compile_by", h.cc_compile_by.clone()),
        ("cc_compile_domain", h.cc_compile_domain.clone()),
        ("cc_compile_date", h.cc_compile_date.clone()),
        ("build_id", h.build_id.clone()),
        ("xend_config_format", "4".to_string()),
    ];
    let mut s = String::new();
    for (name, value) in lines.iter() {
        // virt_caps is printed as "name              :%s" with each cap
        // carrying its own leading space.
        let line = if *name == "virt_caps" {
            format!("{:<23}:{}\n", name, value)
        } else {
            format!("{:<23}: {}\n", name, value)
        };
        match item {
            None => s.push_str(&line),
            Some(item) => {
                if line.starts_with(item) {
                    if let Some(colon) = line.find(':') {
                        if line[colon + 1..].starts_with(' ') {
                            s.push_str(&line[colon + 2..]);
                        }
                    }
                }
            }
        }
    }
    s
}

/// Host-wide figures for `xl top`'s summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopHost {
    /// Wall-clock time of day, if dom0 knows it: (hours, minutes, seconds).
    pub time: Option<(u8, u8, u8)>,
    /// Xen version string (`4.17.0`).
    pub xen_version: String,
    /// Total host memory, KiB.
    pub total_kib: u64,
    /// Free host memory, KiB.
    pub free_kib: u64,
    /// Physical CPUs.
    pub nr_cpus: u32,
    /// CPU frequency, MHz.
    pub cpu_mhz: u64,
}

/// A previous sample for `xl top`'s CPU(%): the domains then and the ns
/// elapsed since.
#[derive(Clone, Copy, Debug)]
pub struct PrevSample<'a> {
    /// Domains at the previous sample.
    pub domains: &'a [DomainInfo],
    /// Nanoseconds between the two samples.
    pub elapsed_ns: u64,
}

/// `part / whole * 100` as xentop computes it (doubles; 0 when `whole` is).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    part as f64 / whole as f64 * 100.0
}

/// `xl top`: one xentop screen (summary, header, one row per domain sorted
/// by name as xentop sorts by default; the names cut to 10 characters as
/// xentop does). The columns are xentop's first nine: NAME STATE CPU(sec)
/// CPU(%) MEM(k) MEM(%) MAXMEM(k) MAXMEM(%) VCPUS. CPU(%) is 0.0 without a
/// previous sample, as in xentop's first screen.
pub fn format_top(host: &TopHost, domains: &[DomainInfo], prev: Option<PrevSample<'_>>) -> String {
    let mut s = String::new();
    let time = match host.time {
        Some((h, m, sec)) => format!("{:02}:{:02}:{:02}", h, m, sec),
        None => "--:--:--".to_string(),
    };
    let _ = writeln!(s, "xentop - {}   Xen {}", time, host.xen_version);
    let (mut run, mut block, mut pause, mut crash, mut dying, mut shut) = (0, 0, 0, 0, 0, 0);
    for d in domains {
        let st = &d.state;
        if st.running {
            run += 1;
        } else if st.blocked {
            block += 1;
        } else if st.paused {
            pause += 1;
        } else if st.shutdown.is_some() {
            shut += 1;
        } else if st.crashed() {
            crash += 1;
        } else if st.dying {
            dying += 1;
        }
    }
    let _ = writeln!(
        s,
        "{} domains: {} running, {} blocked, {} paused, {} crashed, {} dying, {} shutdown ",
        domains.len(),
        run,
        block,
        pause,
        crash,
        dying,
        shut
    );
    let _ = writeln!(
        s,
        "Mem: {}k total, {}k used, {}k free    CPUs: {} @ {}MHz",
        host.total_kib,
        host.total_kib.saturating_sub(host.free_kib),
        host.free_kib,
        host.nr_cpus,
        host.cpu_mhz
    );
    let _ = writeln!(
        s,
        "{:>10} {:>6} {:>10} {:>6} {:>10} {:>6} {:>10} {:>9} {:>5}",
        "NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS"
    );
    let mut sorted: Vec<&DomainInfo> = domains.iter().collect();
    sorted.sort_by_key(|d| d.name.to_ascii_lowercase());
    for d in sorted {
        let name: String = d.name.chars().take(10).collect();
        // xentop: ((ns - old_ns) / 10.0) / elapsed_us.
        let cpu_pct = prev
            .and_then(|p| {
                let old = p.domains.iter().find(|o| o.id == d.id)?;
                let elapsed_us = (p.elapsed_ns / 1000) as f64;
                (elapsed_us > 0.0).then(|| d.cpu_time_ns.saturating_sub(old.cpu_time_ns) as f64 / 10.0 / elapsed_us)
            })
            .unwrap_or(0.0);
        let _ = write!(
            s,
            "{:>10} {:>6} {:>10} {:>6.1} {:>10} {:>6.1} ",
            name,
            d.state.xentop_letters(),
            d.cpu_time_ns / 1_000_000_000,
            cpu_pct,
            d.mem_kib,
            percent(d.mem_kib, host.total_kib),
        );
        let _ = match d.max_mem_kib {
            Some(m) => write!(s, "{:>10} {:>9.1}", m, percent(m, host.total_kib)),
            None => write!(s, "{:>10} {:>9}", "no limit", "n/a"),
        };
        let _ = writeln!(s, " {:>5}", d.vcpus);
    }
    s
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), json_str)
}

/// `xl list -l`: a JSON array with one `{"domid": .., "config": ..}` per
/// domain, shaped like libxl's domain configuration (`c_info`, `b_info`,
/// `disks`, `nics`, `on_*`), for the keys this toolstack has.
pub fn format_list_long(entries: &[(DomId, &DomainConfig)]) -> String {
    let mut s = String::from("[\n");
    for (i, (id, c)) in entries.iter().enumerate() {
        let uuid = c.uuid.as_ref().map(format_uuid);
        let _ = write!(
            s,
            "    {{\n        \"domid\": {},\n        \"config\": {{\n            \"c_info\": {{\n                \
             \"type\": \"pv\",\n                \"name\": {},\n                \"uuid\": {}\n            }},\n",
            id.0,
            json_str(&c.name),
            json_opt(uuid.as_deref())
        );
        let _ = write!(
            s,
            "            \"b_info\": {{\n                \"max_vcpus\": {},\n                \"avail_vcpus\": {},\n                \
             \"max_memkb\": {},\n                \"target_memkb\": {},\n                \"kernel\": {},\n                \
             \"cmdline\": {},\n                \"ramdisk\": {}\n            }},\n",
            c.maxvcpus,
            c.vcpus,
            c.maxmem_mib * 1024,
            c.memory_mib * 1024,
            json_str(&c.kernel),
            json_opt(c.cmdline.as_deref()),
            json_opt(c.ramdisk.as_deref())
        );
        s.push_str("            \"disks\": [");
        for (j, d) in c.disks.iter().enumerate() {
            let _ = write!(
                s,
                "{}\n                {{ \"pdev_path\": {}, \"vdev\": {}, \"format\": \"raw\", \"readwrite\": {}, \
                 \"is_cdrom\": {} }}",
                if j > 0 { "," } else { "" },
                json_opt(d.target.as_deref()),
                json_str(&d.vdev),
                u8::from(!d.readonly),
                u8::from(d.cdrom)
            );
        }
        s.push_str(if c.disks.is_empty() { "],\n" } else { "\n            ],\n" });
        s.push_str("            \"nics\": [");
        for (j, v) in c.vifs.iter().enumerate() {
            let mac =
                v.mac.map(|m| format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]));
            let _ = write!(
                s,
                "{}\n                {{ \"mac\": {}, \"bridge\": {}, \"ip\": {} }}",
                if j > 0 { "," } else { "" },
                json_opt(mac.as_deref()),
                json_opt(v.bridge.as_deref()),
                json_opt(v.ip.as_deref())
            );
        }
        s.push_str(if c.vifs.is_empty() { "],\n" } else { "\n            ],\n" });
        let _ = write!(
            s,
            "            \"on_poweroff\": \"{}\",\n            \"on_reboot\": \"{}\",\n            \
             \"on_watchdog\": \"{}\",\n            \"on_crash\": \"{}\",\n            \"on_soft_reset\": \"{}\"\n        \
             }}\n    }}{}\n",
            c.on_poweroff.name(),
            c.on_reboot.name(),
            c.on_watchdog.name(),
            c.on_crash.name(),
            c.on_soft_reset.name(),
            if i + 1 < entries.len() { "," } else { "" }
        );
    }
    s.push_str("]\n");
    s
}
