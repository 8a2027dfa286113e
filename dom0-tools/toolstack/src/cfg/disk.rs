//! `disk = [ 'DISKSPEC', ... ]` entries, per xl-disk-configuration(5):
//! comma-separated `key=value` pairs, flags and positional parameters
//! (`target, format, vdev, access`), `target=` last because it takes the
//! rest of the string, and the deprecated `phy:`/`file:` prefix forms.

use alloc::format;
use alloc::string::{String, ToString};

/// One virtual block device of a domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskSpec {
    /// Image file or block device (a path in dom0's tree); `None` only for
    /// an empty CD-ROM drive.
    pub target: Option<String>,
    /// Guest device name (`xvda`, `xvdb1`, `sda`, `hdc`, or a number).
    pub vdev: String,
    /// Read-only (`access=ro`/`r`, the default for a CD-ROM).
    pub readonly: bool,
    /// `devtype=cdrom` (or the `cdrom` flag).
    pub cdrom: bool,
    /// `backend=`: the back-end domain's name (default: dom0).
    pub backend: Option<String>,
    /// `backendtype=` (`phy`, `qdisk`, `standalone`, `tap`), if given.
    pub backendtype: Option<String>,
    /// `script=`: a block script that interprets the target.
    pub script: Option<String>,
    /// `discard` / `no-discard`, if given.
    pub discard: Option<bool>,
    /// The `direct-io-safe` flag.
    pub direct_io_safe: bool,
}

impl DiskSpec {
    /// Parses one DISKSPEC string. The error is the message only (the
    /// caller adds file, line and key).
    pub fn parse(spec: &str) -> Result<DiskSpec, String> {
        let mut d = DiskSpec::default();
        let mut target: Option<String> = None;
        let mut format: Option<String> = None;
        let mut vdev: Option<String> = None;
        let mut access: Option<String> = None;
        // Which positional slot the next bare parameter fills:
        // 0 target, 1 format, 2 vdev, 3 access.
        let mut slot = 0;
        let mut rest = spec;
        loop {
            let trimmed = rest.trim_start();
            if let Some(t) = trimmed.strip_prefix("target=") {
                // Takes the whole rest, commas and trailing spaces included.
                set_once(&mut target, "target", t)?;
                break;
            }
            let (token, tail) = match trimmed.find(',') {
                Some(i) => (&trimmed[..i], Some(&trimmed[i + 1..])),
                None => (trimmed, None),
            };
            let token = token.trim_end();
            if let Some((key, value)) = token.split_once('=') {
                let key = key.trim();
                match key {
                    "format" => set_once(&mut format, key, value)?,
                    "vdev" => set_once(&mut vdev, key, value)?,
                    "access" => set_once(&mut access, key, value)?,
                    "devtype" => match value {
                        "cdrom" => d.cdrom = true,
                        "" | "disk" => {}
                        other => return Err(format!("unknown devtype '{}' (supported: cdrom)", other)),
                    },
                    "backend" => d.backend = Some(value.to_string()),
                    "backendtype" => match value {
                        "phy" | "qdisk" | "standalone" | "tap" => d.backendtype = Some(value.to_string()),
                        other => return Err(format!("unknown backendtype '{}'", other)),
                    },
                    "script" => d.script = Some(value.to_string()),
                    other => return Err(format!("unknown disk parameter '{}'", other)),
                }
            } else {
                match token {
                    "cdrom" => d.cdrom = true,
                    "discard" => d.discard = Some(true),
                    "no-discard" => d.discard = Some(false),
                    "direct-io-safe" => d.direct_io_safe = true,
                    _ => {
                        // A positional parameter: fills the next unset slot.
                        while slot < 4 && slot_is_set(slot, &target, &format, &vdev, &access) {
                            slot += 1;
                        }
                        match slot {
                            0 => {
                                if let Some((fmt, path)) = deprecated_prefix(token) {
                                    // `phy:/dev/x,xvda,w`: the format is implied
                                    // and the next positional is the vdev.
                                    if format.is_none() {
                                        format = Some(fmt.to_string());
                                    }
                                    target = Some(path.to_string());
                                    slot = 2;
                                } else {
                                    target = Some(token.to_string());
                                    slot = 1;
                                }
                            }
                            1 => {
                                format = Some(token.to_string());
                                slot = 2;
                            }
                            2 => {
                                // Deprecated `xvdc:cdrom` suffix.
                                let v = match token.split_once(':') {
                                    Some((v, "cdrom")) => {
                                        d.cdrom = true;
                                        v
                                    }
                                    Some((v, "disk")) => v,
                                    _ => token,
                                };
                                vdev = Some(v.to_string());
                                slot = 3;
                            }
                            3 => {
                                access = Some(token.to_string());
                                slot = 4;
                            }
                            _ => return Err(format!("too many positional parameters at '{}'", token)),
                        }
                    }
                }
            }
            match tail {
                Some(t) => rest = t,
                None => break,
            }
        }

        match format.as_deref().unwrap_or("") {
            "" | "raw" => {}
            f @ ("qcow" | "qcow2" | "vhd" | "qed") => {
                return Err(format!("format '{}' is not supported here (only raw images)", f));
            }
            other => return Err(format!("unknown format '{}'", other)),
        }
        d.vdev = match vdev {
            Some(v) if !v.is_empty() => v,
            _ => return Err(format!("no vdev in '{}' (e.g. 'vdev=xvda')", spec)),
        };
        if vdev_number(&d.vdev).is_none() {
            return Err(format!("unknown virtual device '{}' (e.g. xvda, xvdb1, sda, hdc)", d.vdev));
        }
        d.readonly = match access.as_deref().unwrap_or("") {
            "" => d.cdrom,
            "ro" | "r" => true,
            "rw" | "w" => false,
            other => return Err(format!("unknown access '{}' (ro, r, rw or w)", other)),
        };
        d.target = target.filter(|t| !t.is_empty());
        if d.target.is_none() && !d.cdrom {
            return Err(format!("no target in '{}' (e.g. 'target=/path/to/image')", spec));
        }
        Ok(d)
    }

    /// The Xen virtual device number of [`Self::vdev`] (xen-vbd-interface(7)),
    /// used as the device id under `device/vbd/`.
    pub fn devid(&self) -> u32 {
        // Validated in `parse`.
        vdev_number(&self.vdev).unwrap_or(0)
    }
}

fn set_once(slot: &mut Option<String>, key: &str, value: &str) -> Result<(), String> {
    if slot.as_deref().is_some_and(|v| !v.is_empty()) {
        return Err(format!("'{}' given twice", key));
    }
    *slot = Some(value.to_string());
    Ok(())
}

fn slot_is_set(slot: usize, t: &Option<String>, f: &Option<String>, v: &Option<String>, a: &Option<String>) -> bool {
    [t, f, v, a][slot].is_some()
}

/// `phy:/dev/x` and friends: returns the implied format and the path.
fn deprecated_prefix(token: &str) -> Option<(&'static str, &str)> {
    const PREFIXES: [(&str, &str); 8] = [
        ("tap:aio:", "raw"),
        ("tap:qcow2:", "qcow2"),
        ("tap:qcow:", "qcow"),
        ("tap:vhd:", "vhd"),
        ("phy:", "raw"),
        ("file:", "raw"),
        ("aio:", "raw"),
        ("raw:", "raw"),
    ];
    PREFIXES.iter().find_map(|(p, f)| token.strip_prefix(p).map(|rest| (*f, rest)))
}

/// The xen-vbd-interface(7) number of a virtual device name: `xvd*`
/// (major 202, or the extended form for disks past 15), `sd*` (major 8),
/// `hd[a-d]` (majors 3 and 22), `d<N>[p<M>]`, or a plain number.
pub fn vdev_number(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Some(n);
    }
    if let Some(rest) = name.strip_prefix('d') {
        let (disk, part) = match rest.split_once('p') {
            Some((d, p)) => (d.parse::<u32>().ok()?, p.parse::<u32>().ok()?),
            None => (rest.parse::<u32>().ok()?, 0),
        };
        return xvd_number(disk, part);
    }
    let (kind, rest) = ["xvd", "sd", "hd"].iter().find_map(|p| name.strip_prefix(p).map(|r| (*p, r)))?;
    let letters_end = rest.find(|c: char| !c.is_ascii_lowercase()).unwrap_or(rest.len());
    let (letters, digits) = rest.split_at(letters_end);
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    // Bijective base 26: a=0 .. z=25, aa=26 ...
    let mut disk: u32 = 0;
    for c in letters.bytes() {
        disk = disk * 26 + u32::from(c - b'a') + 1;
    }
    disk -= 1;
    let part = if digits.is_empty() {
        0
    } else if digits.starts_with('0') {
        return None;
    } else {
        digits.parse::<u32>().ok()?
    };
    match kind {
        "xvd" => xvd_number(disk, part),
        "sd" if disk < 16 && part < 16 => Some((8 << 8) | (disk << 4) | part),
        "hd" if disk < 2 && part < 64 => Some((3 << 8) | (disk << 6) | part),
        "hd" if disk < 4 && part < 64 => Some((22 << 8) | ((disk - 2) << 6) | part),
        _ => None,
    }
}

fn xvd_number(disk: u32, part: u32) -> Option<u32> {
    if disk < 16 && part < 16 {
        Some((202 << 8) | (disk << 4) | part)
    } else if disk < (1 << 20) && part < 256 {
        Some((1 << 28) | (disk << 8) | part)
    } else {
        None
    }
}
