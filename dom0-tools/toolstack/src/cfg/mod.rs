//! Domain configuration files in xl.cfg(5) syntax, for the keys that apply
//! to 64-bit PV guests, read into a typed [`DomainConfig`].
//!
//! Unlike xl, which silently ignores keys it does not know, every key is
//! checked: a misspelt key, a key xl knows but this toolstack does not
//! implement, and a value of the wrong kind are errors naming the file and
//! line (`hello.cfg:3: unknown key 'memroy'`). A missing `name` or
//! `kernel` is an error naming the file.

pub mod disk;
pub mod syntax;
pub mod vif;

#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

pub use disk::DiskSpec;
pub use syntax::{Setting, Settings, Value};
pub use vif::VifSpec;

/// Source name used in errors for `key=value` arguments of `xl create`.
pub const COMMAND_LINE: &str = "command line";

/// Memory (MiB) a domain gets when neither `memory` nor `maxmem` is given
/// (libxl's default).
pub const DEFAULT_MEMORY_MIB: u64 = 32;

/// A configuration error, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// File name (or [`COMMAND_LINE`]).
    pub file: String,
    /// 1-based line, when the error is about a line.
    pub line: Option<u32>,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong in a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The text does not follow xl.cfg syntax.
    Syntax(String),
    /// A key neither xl nor this toolstack knows.
    UnknownKey(String),
    /// A key (or value) xl knows but this toolstack does not implement.
    Unsupported {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// A value of the wrong kind or out of range.
    BadValue {
        /// The key.
        key: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A required key is not set.
    Missing(&'static str),
    /// Settings that contradict each other.
    Inconsistent(String),
}

impl ConfigError {
    /// An error at `file:line`.
    pub fn at(file: &str, line: u32, kind: ConfigErrorKind) -> Self {
        ConfigError { file: file.to_string(), line: Some(line), kind }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file, line)?,
            None => write!(f, "{}: ", self.file)?,
        }
        match &self.kind {
            ConfigErrorKind::Syntax(m) | ConfigErrorKind::Inconsistent(m) => f.write_str(m),
            ConfigErrorKind::UnknownKey(k) => write!(f, "unknown key '{}'", k),
            ConfigErrorKind::Unsupported { key, reason } => write!(f, "{}: {}", key, reason),
            ConfigErrorKind::BadValue { key, message } => write!(f, "{}: {}", key, message),
            ConfigErrorKind::Missing(k) => write!(f, "missing required key '{}'", k),
        }
    }
}

/// What to do when a domain shuts down for a given reason (`on_poweroff`,
/// `on_reboot`, `on_crash`, `on_watchdog`, `on_soft_reset`). xl's names are
/// all accepted; [`ShutdownAction::effective`] says what this toolstack does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownAction {
    /// `destroy`: destroy the domain.
    Destroy,
    /// `restart`: destroy it and build it again from the same config.
    Restart,
    /// `rename-restart`: xl keeps the old domain under a new name and starts
    /// a new one; here: as `restart`.
    RenameRestart,
    /// `preserve`: leave the dead domain in place (state `s`) for inspection.
    Preserve,
    /// `coredump-destroy`: no core dumps here; as `destroy`.
    CoredumpDestroy,
    /// `coredump-restart`: no core dumps here; as `restart`.
    CoredumpRestart,
    /// `soft-reset`: not supported; as `restart`.
    SoftReset,
}

/// The three behaviours the toolstack implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effective {
    /// Destroy the domain.
    Destroy,
    /// Rebuild it from its config.
    Restart,
    /// Keep it, dead.
    Preserve,
}

impl ShutdownAction {
    /// xl's spelling.
    pub fn name(self) -> &'static str {
        match self {
            ShutdownAction::Destroy => "destroy",
            ShutdownAction::Restart => "restart",
            ShutdownAction::RenameRestart => "rename-restart",
            ShutdownAction::Preserve => "preserve",
            ShutdownAction::CoredumpDestroy => "coredump-destroy",
            ShutdownAction::CoredumpRestart => "coredump-restart",
            ShutdownAction::SoftReset => "soft-reset",
        }
    }

    /// Parses xl's spelling.
    pub fn from_name(s: &str) -> Option<Self> {
        [
            ShutdownAction::Destroy,
            ShutdownAction::Restart,
            ShutdownAction::RenameRestart,
            ShutdownAction::Preserve,
            ShutdownAction::CoredumpDestroy,
            ShutdownAction::CoredumpRestart,
            ShutdownAction::SoftReset,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }

    /// What this toolstack actually does.
    pub fn effective(self) -> Effective {
        match self {
            ShutdownAction::Destroy | ShutdownAction::CoredumpDestroy => Effective::Destroy,
            ShutdownAction::Restart
            | ShutdownAction::RenameRestart
            | ShutdownAction::CoredumpRestart
            | ShutdownAction::SoftReset => Effective::Restart,
            ShutdownAction::Preserve => Effective::Preserve,
        }
    }
}

/// A PV domain's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    /// `name`: the domain's name (required; unique among domains).
    pub name: String,
    /// `uuid`, if given (otherwise the toolstack makes one).
    pub uuid: Option<[u8; 16]>,
    /// `kernel`: path of the guest kernel (required).
    pub kernel: String,
    /// `ramdisk`: path of the initial ramdisk.
    pub ramdisk: Option<String>,
    /// The kernel command line: `cmdline`, or else `root=<root> <extra>`
    /// built from `root` and `extra` as xl does.
    pub cmdline: Option<String>,
    /// `memory`: initial memory in MiB (default: `maxmem`, else 32).
    pub memory_mib: u64,
    /// `maxmem`: the most memory the domain may balloon up to (default:
    /// `memory`).
    pub maxmem_mib: u64,
    /// `vcpus`: vCPUs online at start (default 1).
    pub vcpus: u32,
    /// `maxvcpus`: vCPUs the domain is built with (default `vcpus`).
    pub maxvcpus: u32,
    /// `on_poweroff` (default destroy).
    pub on_poweroff: ShutdownAction,
    /// `on_reboot` (default restart).
    pub on_reboot: ShutdownAction,
    /// `on_crash` (default destroy).
    pub on_crash: ShutdownAction,
    /// `on_watchdog` (default destroy).
    pub on_watchdog: ShutdownAction,
    /// `on_soft_reset` (default soft-reset, i.e. restart here).
    pub on_soft_reset: ShutdownAction,
    /// `disk`: virtual block devices.
    pub disks: Vec<DiskSpec>,
    /// `vif`: virtual network interfaces.
    pub vifs: Vec<VifSpec>,
    /// Things worth telling the user that are not errors (as xl prints
    /// them), e.g. `root`/`extra` ignored because `cmdline` is set.
    pub warnings: Vec<String>,
}

impl DomainConfig {
    /// Parses a configuration file's text. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<DomainConfig, ConfigError> {
        Self::parse_with(file, text, &[])
    }

    /// Parses a configuration file's text, then the `key=value` settings
    /// given after the file name on `xl create`'s command line (each one
    /// xl.cfg syntax, so strings are quoted: `'name="web2"'`), which
    /// override the file.
    pub fn parse_with(file: &str, text: &str, extra: &[&str]) -> Result<DomainConfig, ConfigError> {
        let mut settings = syntax::parse_settings(file, text)?;
        for (i, line) in extra.iter().enumerate() {
            let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
            syntax::parse_into(&mut settings, COMMAND_LINE, line, line_no)?;
        }
        Self::from_settings(file, &settings)
    }

    /// Interprets parsed settings. `file` names the configuration in
    /// errors that have no line (missing keys).
    pub fn from_settings(file: &str, settings: &Settings) -> Result<DomainConfig, ConfigError> {
        let mut b = Builder::default();
        for s in &settings.items {
            b.apply(s)?;
        }
        b.finish(file)
    }

    /// The files this configuration names that dom0 has to read to build
    /// the domain (kernel, then ramdisk): what `xl` on the host sends along.
    pub fn boot_files(&self) -> Vec<&str> {
        let mut v = alloc::vec![self.kernel.as_str()];
        v.extend(self.ramdisk.as_deref());
        v
    }
}

/// xl.cfg keys that xl knows and this toolstack deliberately does not
/// implement (PV-irrelevant, HVM-only, or not built yet).
const UNSUPPORTED_KEYS: &[&str] = &[
    "bootloader",
    "bootloader_args",
    "pvshim",
    "pvshim_path",
    "pvshim_cmdline",
    "pvshim_extra",
    "cpus",
    "cpus_soft",
    "cpu_weight",
    "cap",
    "pool",
    "vnuma",
    "pci",
    "pci_permissive",
    "pci_msitranslate",
    "pci_seize",
    "pci_power_mgmt",
    "gfx_passthru",
    "iomem",
    "ioports",
    "irqs",
    "dtdev",
    "vfb",
    "vkb",
    "vtpm",
    "vdispl",
    "vsnd",
    "p9",
    "pvcalls",
    "channel",
    "usbctrl",
    "usbdev",
    "serial",
    "vnc",
    "vnclisten",
    "sdl",
    "spice",
    "boot",
    "acpi",
    "apic",
    "pae",
    "hap",
    "nestedhvm",
    "viridian",
    "device_model_version",
    "device_model_override",
    "stdvga",
    "videoram",
    "e820_host",
    "max_grant_frames",
    "max_maptrack_frames",
    "max_grant_version",
    "driver_domain",
    "seclabel",
    "init_seclabel",
    "device_tree",
    "xen_platform_pci",
    "localtime",
    "rtc_timeoffset",
    "tsc_mode",
    "cpuid",
    "firmware",
    "bios",
    "vif2",
];

#[derive(Default)]
struct Builder {
    name: Option<String>,
    uuid: Option<[u8; 16]>,
    kernel: Option<String>,
    ramdisk: Option<String>,
    cmdline: Option<String>,
    root: Option<String>,
    extra: Option<String>,
    memory: Option<u64>,
    maxmem: Option<u64>,
    vcpus: Option<u32>,
    maxvcpus: Option<u32>,
    actions: [Option<ShutdownAction>; 5],
    disks: Vec<DiskSpec>,
    vifs: Vec<VifSpec>,
    warnings: Vec<String>,
}

/// Where a bad value is: file, line, key.
struct At<'a> {
    s: &'a Setting,
}

impl At<'_> {
    fn bad(&self, line: u32, message: String) -> ConfigError {
        ConfigError::at(&self.s.source, line, ConfigErrorKind::BadValue { key: self.s.key.clone(), message })
    }

    fn line(&self) -> u32 {
        self.s.value.line()
    }

    fn string(&self) -> Result<String, ConfigError> {
        match &self.s.value {
            Value::Atom { text, quoted: true, .. } => Ok(text.clone()),
            v @ Value::Atom { text, .. } => Err(self.bad(v.line(), format!("expected a quoted string, got {}", text))),
            v => Err(self.bad(v.line(), "expected a string, got a list".to_string())),
        }
    }

    /// An integer (a number token or a string holding one), in `min..=max`.
    fn integer(&self, min: u64, max: u64) -> Result<u64, ConfigError> {
        let v = &self.s.value;
        let Value::Atom { text, .. } = v else {
            return Err(self.bad(v.line(), "expected an integer, got a list".to_string()));
        };
        let n = syntax::parse_c_long(text)
            .ok_or_else(|| self.bad(v.line(), format!("expected an integer, got {}", v.describe())))?;
        u64::try_from(n)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.bad(v.line(), format!("{} is out of range ({}..={})", n, min, max)))
    }

    /// A list of strings, each with its line.
    fn string_list(&self) -> Result<Vec<(String, u32)>, ConfigError> {
        match &self.s.value {
            Value::List { items, .. } => items
                .iter()
                .map(|item| match item {
                    Value::Atom { text, quoted: true, line } => Ok((text.clone(), *line)),
                    other => Err(self.bad(other.line(), format!("expected a quoted string, got {}", other.describe()))),
                })
                .collect(),
            v => Err(self.bad(v.line(), format!("expected a list, got {}", v.describe()))),
        }
    }
}

const MAX_MEMORY_MIB: u64 = 1 << 30;
const MAX_VCPUS: u64 = 4096;

impl Builder {
    fn apply(&mut self, s: &Setting) -> Result<(), ConfigError> {
        let at = At { s };
        let key = s.key.as_str();
        match key {
            "name" => {
                let name = at.string()?;
                check_name(&name).map_err(|m| at.bad(at.line(), m))?;
                self.name = Some(name);
            }
            "type" | "builder" => {
                let t = at.string()?;
                match (key, t.as_str()) {
                    ("type", "pv") | ("builder", "generic" | "linux") => {}
                    ("type", "hvm" | "pvh") | ("builder", "hvm") => {
                        return Err(ConfigError::at(
                            &s.source,
                            at.line(),
                            ConfigErrorKind::Unsupported {
                                key: key.to_string(),
                                reason: format!(
                                    "\"{}\" guests are not supported: this hypervisor runs PV guests only \
                                     (type = \"pv\")",
                                    t
                                ),
                            },
                        ))
                    }
                    ("type", _) => return Err(at.bad(at.line(), format!("expected \"pv\", got {:?}", t))),
                    _ => return Err(at.bad(at.line(), format!("expected \"generic\", got {:?}", t))),
                }
            }
            "kernel" => self.kernel = Some(non_empty(&at)?),
            "ramdisk" => self.ramdisk = Some(non_empty(&at)?),
            "cmdline" => self.cmdline = Some(at.string()?),
            "root" => self.root = Some(at.string()?),
            "extra" => self.extra = Some(at.string()?),
            "memory" => self.memory = Some(at.integer(1, MAX_MEMORY_MIB)?),
            "maxmem" => self.maxmem = Some(at.integer(1, MAX_MEMORY_MIB)?),
            "vcpus" => self.vcpus = Some(at.integer(1, MAX_VCPUS)? as u32),
            "maxvcpus" => self.maxvcpus = Some(at.integer(1, MAX_VCPUS)? as u32),
            "on_poweroff" | "on_reboot" | "on_crash" | "on_watchdog" | "on_soft_reset" => {
                let name = at.string()?;
                let action = ShutdownAction::from_name(&name).ok_or_else(|| {
                    at.bad(
                        at.line(),
                        format!(
                            "unknown action {:?} (destroy, restart, preserve, rename-restart, \
                             coredump-destroy, coredump-restart, soft-reset)",
                            name
                        ),
                    )
                })?;
                let slot = match key {
                    "on_poweroff" => 0,
                    "on_reboot" => 1,
                    "on_crash" => 2,
                    "on_watchdog" => 3,
                    _ => 4,
                };
                self.actions[slot] = Some(action);
            }
            "disk" => {
                self.disks.clear();
                for (spec, line) in at.string_list()? {
                    self.disks.push(DiskSpec::parse(&spec).map_err(|m| at.bad(line, m))?);
                }
            }
            "vif" => {
                self.vifs.clear();
                for (spec, line) in at.string_list()? {
                    self.vifs.push(VifSpec::parse(&spec).map_err(|m| at.bad(line, m))?);
                }
            }
            "uuid" => {
                let text = at.string()?;
                let uuid = parse_uuid(&text).ok_or_else(|| at.bad(at.line(), format!("invalid UUID {:?}", text)))?;
                self.uuid = Some(uuid);
            }
            k if UNSUPPORTED_KEYS.contains(&k) => {
                return Err(ConfigError::at(
                    &s.source,
                    s.line,
                    ConfigErrorKind::Unsupported {
                        key: k.to_string(),
                        reason: "this xl.cfg key is not supported by this toolstack".to_string(),
                    },
                ))
            }
            k => return Err(ConfigError::at(&s.source, s.line, ConfigErrorKind::UnknownKey(k.to_string()))),
        }
        Ok(())
    }

    fn finish(mut self, file: &str) -> Result<DomainConfig, ConfigError> {
        let missing = |k| ConfigError { file: file.to_string(), line: None, kind: ConfigErrorKind::Missing(k) };
        let name = self.name.ok_or_else(|| missing("name"))?;
        let kernel = self.kernel.ok_or_else(|| missing("kernel"))?;
        let inconsistent =
            |m: String| ConfigError { file: file.to_string(), line: None, kind: ConfigErrorKind::Inconsistent(m) };

        let (memory_mib, maxmem_mib) = match (self.memory, self.maxmem) {
            (Some(m), Some(x)) => (m, x),
            (Some(m), None) => (m, m),
            (None, Some(x)) => (x, x),
            (None, None) => (DEFAULT_MEMORY_MIB, DEFAULT_MEMORY_MIB),
        };
        if maxmem_mib < memory_mib {
            return Err(inconsistent(format!("maxmem ({} MiB) is below memory ({} MiB)", maxmem_mib, memory_mib)));
        }
        let vcpus = self.vcpus.unwrap_or(1);
        let maxvcpus = self.maxvcpus.unwrap_or(vcpus);
        if maxvcpus < vcpus {
            return Err(inconsistent(format!("vcpus ({}) is above maxvcpus ({})", vcpus, maxvcpus)));
        }
        for (i, d) in self.disks.iter().enumerate() {
            if self.disks[..i].iter().any(|e| e.devid() == d.devid()) {
                return Err(inconsistent(format!("disk: virtual device '{}' is given twice", d.vdev)));
            }
        }

        let cmdline = match (self.cmdline, self.root, self.extra) {
            (Some(c), root, extra) => {
                if root.is_some() || extra.is_some() {
                    self.warnings.push("Warning: ignoring root= and extra= in favour of cmdline=".to_string());
                }
                Some(c)
            }
            (None, Some(r), Some(e)) => Some(format!("root={} {}", r, e)),
            (None, Some(r), None) => Some(format!("root={}", r)),
            (None, None, e) => e,
        };
        let [p, r, c, w, s] = self.actions;
        Ok(DomainConfig {
            name,
            uuid: self.uuid,
            kernel,
            ramdisk: self.ramdisk,
            cmdline,
            memory_mib,
            maxmem_mib,
            vcpus,
            maxvcpus,
            on_poweroff: p.unwrap_or(ShutdownAction::Destroy),
            on_reboot: r.unwrap_or(ShutdownAction::Restart),
            on_crash: c.unwrap_or(ShutdownAction::Destroy),
            on_watchdog: w.unwrap_or(ShutdownAction::Destroy),
            on_soft_reset: s.unwrap_or(ShutdownAction::SoftReset),
            disks: self.disks,
            vifs: self.vifs,
            warnings: self.warnings,
        })
    }
}

fn non_empty(at: &At<'_>) -> Result<String, ConfigError> {
    let s = at.string()?;
    if s.is_empty() {
        return Err(at.bad(at.line(), "expected a path, got an empty string".to_string()));
    }
    Ok(s)
}

/// A domain name must be usable in xenstore paths and in `xl` arguments:
/// not empty, not all digits (that reads as a domain id), no `/`, no
/// whitespace or control characters, at most 64 bytes.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name must not be empty".to_string());
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{:?} is all digits, which xl reads as a domain id", name));
    }
    if name.len() > 64 {
        return Err("the name is longer than 64 bytes".to_string());
    }
    if name.chars().any(|c| c == '/' || c.is_whitespace() || c.is_control()) {
        return Err(format!("{:?} contains '/', whitespace or a control character", name));
    }
    Ok(())
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex, either case).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = b.iter().copied().filter(|&c| c != b'-').collect();
    if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = core::str::from_utf8(&hex[2 * i..2 * i + 2]).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Formats a UUID as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lower case).
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{:02x}", b));
    }
    s
}
