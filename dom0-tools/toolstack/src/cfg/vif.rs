//! `vif = [ 'VIFSPEC', ... ]` entries, per xl-network-configuration(5):
//! comma-separated `key=value` pairs, every key optional.

use alloc::format;
use alloc::string::{String, ToString};

/// One virtual network interface of a domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VifSpec {
    /// `mac=`: the guest-side MAC address (default: chosen by the toolstack,
    /// `00:16:3e:xx:xx:xx` in Xen's OUI).
    pub mac: Option<[u8; 6]>,
    /// `bridge=` (or the deprecated `netdev=`): the dom0 bridge to join.
    pub bridge: Option<String>,
    /// `ip=`: space-separated addresses for the back-end's scripts.
    pub ip: Option<String>,
    /// `script=`: the hotplug script.
    pub script: Option<String>,
    /// `backend=`: the back-end domain's name (default: dom0).
    pub backend: Option<String>,
    /// `vifname=`: the back-end interface name.
    pub vifname: Option<String>,
    /// `model=` (emulated NIC model; meaningless for PV, kept).
    pub model: Option<String>,
    /// `rate=`: e.g. `10Mb/s`, kept as text.
    pub rate: Option<String>,
    /// `gatewaydev=`.
    pub gatewaydev: Option<String>,
    /// `mtu=`.
    pub mtu: Option<u32>,
}

impl VifSpec {
    /// Parses one VIFSPEC string. The error is the message only.
    pub fn parse(spec: &str) -> Result<VifSpec, String> {
        let mut v = VifSpec::default();
        for token in spec.split(',') {
            let token = token.trim();
            if token.is_empty() {
                continue;
            }
            let Some((key, value)) = token.split_once('=') else {
                return Err(format!("expected key=value, got '{}'", token));
            };
            let value = value.trim();
            let text = Some(value.to_string());
            match key.trim() {
                "mac" => v.mac = Some(parse_mac(value).ok_or_else(|| format!("invalid mac '{}'", value))?),
                "bridge" | "netdev" => v.bridge = text,
                "ip" => v.ip = text,
                "script" => v.script = text,
                "backend" => v.backend = text,
                "vifname" => v.vifname = text,
                "model" => v.model = text,
                "rate" => v.rate = text,
                "gatewaydev" => v.gatewaydev = text,
                "mtu" => v.mtu = Some(value.parse().map_err(|_| format!("invalid mtu '{}'", value))?),
                "type" => match value {
                    "vif" | "ioemu" => {}
                    other => return Err(format!("invalid type '{}' (vif or ioemu)", other)),
                },
                other => return Err(format!("unknown vif parameter '{}'", other)),
            }
        }
        Ok(v)
    }
}

/// `00:16:3e:12:34:56` (also with `-` separators).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split([':', '-']);
    for byte in mac.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}
