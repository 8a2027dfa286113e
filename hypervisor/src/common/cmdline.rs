//! The hypervisor command line (from `hvm_start_info`, i.e. QEMU `-append`).
//!
//! Options follow Xen's names and syntax where they exist:
//! `loglvl=<none|error|warning|info|debug|all>`, `dom0_mem=<size>` (Xen's
//! size syntax: a number with an optional `K`/`M`/`G`/`T` suffix, KiB when
//! none; `max:<size>` sets the ceiling only), `dom0=<path>` (dom0's kernel
//! inside the boot archive, default `boot/dom0`), `dom0_max_vcpus=<n>`
//! (1..=32, default 1), `dom0_args=<text>`
//! (dom0's command line, `+` for spaces), `noreboot`, and `guest=<path>`
//! ("boot one guest" mode, see `docs/`), `selftest=panic|fault` (crash on
//! purpose, for the tests of the crash paths). Unknown options are
//! reported and ignored, as Xen does.

use core::fmt;

/// Default dom0 kernel path inside the boot archive.
pub const DEFAULT_DOM0_PATH: &str = "boot/dom0";

/// Parsed options. Strings borrow from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmdline<'a> {
    /// Maximum log level.
    pub loglvl: log::LevelFilter,
    /// dom0's initial memory in bytes (`None`: the default).
    pub dom0_mem: Option<u64>,
    /// dom0's maximum memory in bytes.
    pub dom0_mem_max: Option<u64>,
    /// dom0's kernel in the boot archive.
    pub dom0_path: &'a str,
    /// vCPUs of dom0 (or the single guest); Xen's `dom0_max_vcpus`.
    pub dom0_max_vcpus: u32,
    /// dom0's command line (`+` stands for a space).
    pub dom0_args: Option<&'a str>,
    /// Exit instead of rebooting when dom0 asks for a reboot.
    pub noreboot: bool,
    /// Run this archive path as the only (unprivileged) guest.
    pub single_guest: Option<&'a str>,
    /// `selftest=panic|fault`: deliberately fail at boot (tests the
    /// hypervisor's crash paths).
    pub selftest: Option<&'a str>,
    /// Options we did not recognise (reported once at boot).
    pub unknown: [Option<&'a str>; 8],
}

/// A malformed option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdlineError<'a> {
    /// The offending `key=value` token.
    pub token: &'a str,
    /// What is wrong with it.
    pub why: &'static str,
}

impl fmt::Display for CmdlineError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "command line option '{}': {}", self.token, self.why)
    }
}

/// Parses a Xen size: digits (decimal or 0x hex) and an optional unit
/// `B`, `K`, `M`, `G`, `T` (case-insensitive); no unit means KiB.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, radix, unit) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => {
            let end = h.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(h.len());
            (&h[..end], 16, &h[end..])
        }
        None => {
            let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            (&s[..end], 10, &s[end..])
        }
    };
    if digits.is_empty() {
        return None;
    }
    let n = u64::from_str_radix(digits, radix).ok()?;
    let shift = match unit {
        "" | "k" | "K" => 10,
        "b" | "B" => 0,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

fn parse_level(s: &str) -> Option<log::LevelFilter> {
    Some(match s {
        "none" => log::LevelFilter::Off,
        "error" | "err" => log::LevelFilter::Error,
        "warning" | "warn" => log::LevelFilter::Warn,
        "info" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        "all" | "trace" => log::LevelFilter::Trace,
        _ => return None,
    })
}

impl<'a> Cmdline<'a> {
    /// Parses `s`. The first malformed value is an error; unknown keys are
    /// collected in `unknown`.
    pub fn parse(s: &'a str) -> Result<Self, CmdlineError<'a>> {
        let mut c = Cmdline {
            loglvl: log::LevelFilter::Info,
            dom0_mem: None,
            dom0_mem_max: None,
            dom0_path: DEFAULT_DOM0_PATH,
            dom0_max_vcpus: 1,
            dom0_args: None,
            noreboot: false,
            single_guest: None,
            selftest: None,
            unknown: [None; 8],
        };
        let mut nunknown = 0;
        for token in s.split_ascii_whitespace() {
            let (key, val) = match token.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (token, None),
            };
            let err = |why| CmdlineError { token, why };
            match (key, val) {
                ("loglvl", Some(v)) => {
                    // Xen accepts "lvl/rate-limited-lvl"; we take the first.
                    let v = v.split('/').next().unwrap_or(v);
                    c.loglvl = parse_level(v).ok_or(err("expected none|error|warning|info|debug|all"))?;
                }
                ("dom0_mem", Some(v)) => {
                    for part in v.split(',') {
                        if let Some(m) = part.strip_prefix("max:") {
                            c.dom0_mem_max = Some(parse_size(m).ok_or(err("bad size"))?);
                        } else {
                            c.dom0_mem = Some(parse_size(part).ok_or(err("bad size"))?);
                        }
                    }
                }
                ("dom0", Some(v)) if !v.is_empty() => c.dom0_path = v,
                ("dom0_max_vcpus", Some(v)) => {
                    // Xen also accepts "min-max"; the upper bound is what counts here.
                    let max = v.rsplit('-').next().unwrap_or(v);
                    c.dom0_max_vcpus = match max.parse() {
                        Ok(n @ 1..=32) => n,
                        _ => return Err(err("expected a vCPU count from 1 to 32")),
                    };
                }
                ("dom0_args", Some(v)) => c.dom0_args = Some(v),
                ("guest", Some(v)) if !v.is_empty() => c.single_guest = Some(v),
                ("noreboot", None) => c.noreboot = true,
                ("selftest", Some(v @ ("panic" | "fault"))) => c.selftest = Some(v),
                ("selftest", _) => return Err(err("expected panic|fault")),
                // Console options Xen users pass; our console is always COM1.
                ("console", _) | ("com1", _) | ("smap", _) | ("smep", _) => {}
                _ => {
                    if nunknown < c.unknown.len() {
                        c.unknown[nunknown] = Some(token);
                        nunknown += 1;
                    }
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_xen() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("512"), Some(512 << 10), "no unit means KiB");
        assert_eq!(parse_size("4096B"), Some(4096));
        assert_eq!(parse_size("0x100M"), Some(0x100 << 20));
        assert_eq!(parse_size("2T"), Some(2 << 40));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("12Q"), None);
        assert_eq!(parse_size("99999999999999999999M"), None);
        assert_eq!(parse_size("18446744073709551615M"), None, "overflow is refused");
    }

    #[test]
    fn options() {
        let c = Cmdline::parse(
            "console=com1 loglvl=debug dom0_mem=128M,max:256M noreboot dom0=boot/k dom0_args=a+b frob=1",
        )
        .unwrap();
        assert_eq!(c.loglvl, log::LevelFilter::Debug);
        assert_eq!(c.dom0_mem, Some(128 << 20));
        assert_eq!(c.dom0_mem_max, Some(256 << 20));
        assert!(c.noreboot);
        assert_eq!(c.dom0_path, "boot/k");
        assert_eq!(c.dom0_args, Some("a+b"));
        assert_eq!(c.unknown[0], Some("frob=1"));
        assert_eq!(c.single_guest, None);
        let d = Cmdline::parse("").unwrap();
        assert_eq!(d.dom0_path, DEFAULT_DOM0_PATH);
        assert_eq!(d.loglvl, log::LevelFilter::Info);
        assert_eq!(Cmdline::parse("loglvl=all/warning").unwrap().loglvl, log::LevelFilter::Trace);
    }

    #[test]
    fn vcpu_counts() {
        assert_eq!(Cmdline::parse("").unwrap().dom0_max_vcpus, 1);
        assert_eq!(Cmdline::parse("dom0_max_vcpus=4").unwrap().dom0_max_vcpus, 4);
        assert_eq!(Cmdline::parse("dom0_max_vcpus=1-2").unwrap().dom0_max_vcpus, 2);
        for bad in ["dom0_max_vcpus=0", "dom0_max_vcpus=33", "dom0_max_vcpus=x"] {
            assert_eq!(Cmdline::parse(bad).unwrap_err().token, bad);
        }
    }

    #[test]
    fn errors_name_the_token() {
        let e = Cmdline::parse("loglvl=loud").unwrap_err();
        assert_eq!(e.token, "loglvl=loud");
        let e = Cmdline::parse("dom0_mem=lots").unwrap_err();
        assert_eq!(e.token, "dom0_mem=lots");
        assert_eq!(format!("{e}"), "command line option 'dom0_mem=lots': bad size");
    }
}
