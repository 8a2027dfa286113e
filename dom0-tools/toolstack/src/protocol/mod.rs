//! The host <-> dom0 xl protocol, over an 8-bit-clean byte stream (a QEMU
//! serial port whose other end is a unix socket on the host).
//!
//! Layers, bottom up:
//! - [`frame`]: start-of-frame `FF 58`, byte-stuffed body, header and
//!   payload CRC-32s; a decoder that skips junk (dom0's boot messages may
//!   share the line) and resynchronises;
//! - the messages each side sends ([`ToDom0`], [`ToHost`]), one per frame;
//! - [`session`]: a [`Client`] (the host `xl`) and a [`Server`] (dom0) that
//!   carry one exchange each: the host sends a request (argv and the files
//!   it names) and dom0 answers with stdout/stderr text, possibly a console
//!   session, and an exit status.
//!
//! Nothing here touches a device: bytes in, bytes and events out.
//! `docs/xl.md` is the byte-by-byte specification.

pub mod frame;
pub mod session;

#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use pv_abi::DomId;

pub use frame::{crc32, encode_frame, Decoder, DecoderStats, Frame, MAX_PAYLOAD};
pub use session::{Client, ClientEvent, Request, RequestFile, Server, ServerEvent};

/// Frame kinds. Host to dom0 are below `0x80`, dom0 to host `0x80` and up.
pub mod kind {
    /// Host: starts an exchange; payload: argv.
    pub const REQUEST: u8 = 0x01;
    /// Host: a file follows; payload: size u64, CRC-32 u32, name.
    pub const FILE: u8 = 0x02;
    /// Host: the next bytes of the current file.
    pub const DATA: u8 = 0x03;
    /// Host: the request is complete; run it. Empty payload.
    pub const END: u8 = 0x04;
    /// Host: console input bytes.
    pub const INPUT: u8 = 0x05;
    /// Host: leave the console (escape typed, or stdin closed). Empty.
    pub const DETACH: u8 = 0x06;
    /// Dom0: the request arrived intact and runs. Empty payload.
    pub const ACCEPTED: u8 = 0x80;
    /// Dom0: text for stdout (console output too).
    pub const STDOUT: u8 = 0x81;
    /// Dom0: text for stderr.
    pub const STDERR: u8 = 0x82;
    /// Dom0: console attached to a domain (payload: domid u16); the host
    /// now forwards its input as `INPUT` until it sends `DETACH`.
    pub const CONSOLE: u8 = 0x83;
    /// Dom0: the command finished; payload: exit status i32. Ends the
    /// exchange.
    pub const EXIT: u8 = 0x84;
}

/// A frame that does not hold the message its kind says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedFrame(pub String);

/// What the host sends to dom0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToDom0 {
    /// Start of an exchange: the command line (after `xl`).
    Request {
        /// The arguments.
        argv: Vec<String>,
    },
    /// Announces a file; its bytes follow in `Data` messages.
    File {
        /// The path as the command line or config names it.
        name: String,
        /// Total size.
        size: u64,
        /// CRC-32 of the whole content.
        crc: u32,
    },
    /// File content.
    Data(Vec<u8>),
    /// Request complete.
    End,
    /// Console input.
    Input(Vec<u8>),
    /// Leave the console.
    Detach,
}

/// What dom0 sends to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToHost {
    /// The request was received intact.
    Accepted,
    /// Standard output bytes.
    Stdout(Vec<u8>),
    /// Standard error bytes.
    Stderr(Vec<u8>),
    /// Console attached to this domain.
    Console(DomId),
    /// Exit status; the exchange is over.
    Exit(i32),
}

fn take<'a>(p: &mut &'a [u8], n: usize) -> Result<&'a [u8], MalformedFrame> {
    if p.len() < n {
        return Err(MalformedFrame(format!("payload ends early ({} of {} bytes)", p.len(), n)));
    }
    let (a, b) = p.split_at(n);
    *p = b;
    Ok(a)
}

fn u16_of(p: &mut &[u8]) -> Result<u16, MalformedFrame> {
    take(p, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_of(p: &mut &[u8]) -> Result<u32, MalformedFrame> {
    take(p, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn utf8(b: &[u8]) -> Result<String, MalformedFrame> {
    String::from_utf8(b.to_vec()).map_err(|_| MalformedFrame(String::from("text is not UTF-8")))
}

fn empty(kind: &str, p: &[u8]) -> Result<(), MalformedFrame> {
    if p.is_empty() {
        Ok(())
    } else {
        Err(MalformedFrame(format!("{} carries {} unexpected bytes", kind, p.len())))
    }
}

impl ToDom0 {
    /// The frame kind and payload.
    pub fn to_payload(&self) -> (u8, Vec<u8>) {
        match self {
            ToDom0::Request { argv } => {
                let mut p = Vec::new();
                p.extend_from_slice(&(argv.len() as u16).to_le_bytes());
                for a in argv {
                    p.extend_from_slice(&(a.len() as u16).to_le_bytes());
                    p.extend_from_slice(a.as_bytes());
                }
                (kind::REQUEST, p)
            }
            ToDom0::File { name, size, crc } => {
                let mut p = Vec::with_capacity(12 + name.len());
                p.extend_from_slice(&size.to_le_bytes());
                p.extend_from_slice(&crc.to_le_bytes());
                p.extend_from_slice(name.as_bytes());
                (kind::FILE, p)
            }
            ToDom0::Data(d) => (kind::DATA, d.clone()),
            ToDom0::End => (kind::END, Vec::new()),
            ToDom0::Input(d) => (kind::INPUT, d.clone()),
            ToDom0::Detach => (kind::DETACH, Vec::new()),
        }
    }

    /// Reads a host frame's message; `Ok(None)` for a kind this version
    /// does not know (ignored, for forward compatibility).
    pub fn from_frame(kind: u8, payload: &[u8]) -> Result<Option<ToDom0>, MalformedFrame> {
        let mut p = payload;
        Ok(Some(match kind {
            kind::REQUEST => {
                let argc = u16_of(&mut p)?;
                let mut argv = Vec::with_capacity(usize::from(argc));
                for _ in 0..argc {
                    let n = u16_of(&mut p)?;
                    argv.push(utf8(take(&mut p, usize::from(n))?)?);
                }
                empty("REQUEST", p)?;
                ToDom0::Request { argv }
            }
            kind::FILE => {
                let size = take(&mut p, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))?;
                let crc = u32_of(&mut p)?;
                ToDom0::File { name: utf8(p)?, size, crc }
            }
            kind::DATA => ToDom0::Data(p.to_vec()),
            kind::END => {
                empty("END", p)?;
                ToDom0::End
            }
            kind::INPUT => ToDom0::Input(p.to_vec()),
            kind::DETACH => {
                empty("DETACH", p)?;
                ToDom0::Detach
            }
            _ => return Ok(None),
        }))
    }
}

impl ToHost {
    /// The frame kind and payload.
    pub fn to_payload(&self) -> (u8, Vec<u8>) {
        match self {
            ToHost::Accepted => (kind::ACCEPTED, Vec::new()),
            ToHost::Stdout(d) => (kind::STDOUT, d.clone()),
            ToHost::Stderr(d) => (kind::STDERR, d.clone()),
            ToHost::Console(id) => (kind::CONSOLE, id.0.to_le_bytes().to_vec()),
            ToHost::Exit(s) => (kind::EXIT, s.to_le_bytes().to_vec()),
        }
    }

    /// Reads a dom0 frame's message; `Ok(None)` for an unknown kind.
    pub fn from_frame(kind: u8, payload: &[u8]) -> Result<Option<ToHost>, MalformedFrame> {
        let mut p = payload;
        Ok(Some(match kind {
            kind::ACCEPTED => {
                empty("ACCEPTED", p)?;
                ToHost::Accepted
            }
            kind::STDOUT => ToHost::Stdout(p.to_vec()),
            kind::STDERR => ToHost::Stderr(p.to_vec()),
            kind::CONSOLE => {
                let id = u16_of(&mut p)?;
                empty("CONSOLE", p)?;
                ToHost::Console(DomId(id))
            }
            kind::EXIT => {
                let s = u32_of(&mut p)? as i32;
                empty("EXIT", p)?;
                ToHost::Exit(s)
            }
            _ => return Ok(None),
        }))
    }
}
