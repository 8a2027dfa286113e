//! The xenstore wire format (`io/xs_wire.h`, Xen's `docs/misc/xenstore.txt`).
//!
//! Every message is an [`XsdSockmsg`] header followed by `len` payload
//! bytes, `len <= XENSTORE_PAYLOAD_MAX`, in both directions. Payloads are
//! NUL-terminated strings, except a `WRITE` value and a `READ` reply,
//! which are raw bytes with no terminator.
//!
//! | request | payload | reply payload |
//! |---|---|---|
//! | `READ` | `path\0` | value bytes |
//! | `WRITE` | `path\0` value | `OK\0` |
//! | `MKDIR`, `RM` | `path\0` | `OK\0` |
//! | `DIRECTORY` | `path\0` | `child\0`* |
//! | `DIRECTORY_PART` | `path\0offset\0` | `gen\0child\0`* (`\0` again at the end) |
//! | `GET_PERMS` | `path\0` | `perm\0`+ |
//! | `SET_PERMS` | `path\0perm\0`+ | `OK\0` |
//! | `WATCH`, `UNWATCH` | `path\0token\0` | `OK\0` |
//! | `TRANSACTION_START` | `\0` | `id\0` (decimal) |
//! | `TRANSACTION_END` | `T\0` or `F\0` | `OK\0` |
//! | `INTRODUCE` | `domid\0mfn\0port\0` | `OK\0` |
//! | `RELEASE` | `domid\0` | `OK\0` |
//! | `GET_DOMAIN_PATH` | `domid\0` | `path\0` |
//! | `IS_DOMAIN_INTRODUCED` | `domid\0` | `T\0` or `F\0` |
//! | `RESET_WATCHES` | `\0` | `OK\0` |
//!
//! Unsolicited `WATCH_EVENT`s carry `path\0token\0` with `req_id` 0, and
//! errors are `XS_ERROR` with `ENAME\0` (a name from `xsd_errors[]`).
//!
//! Everything here works on caller-provided buffers and never allocates.
//! A malformed message is an `Err`, never a panic: the payload comes from
//! another domain.

use super::{ProtocolError, XsError, XsTransport};
use crate::abi::errno::{Errno, E2BIG, EINVAL, ENAMETOOLONG, ENOBUFS};
use crate::abi::io::xs_wire::{
    msg, XsdSockmsg, XENSTORE_ABS_PATH_MAX, XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX, XSD_ERRORS,
};
use crate::types::{DomId, Mfn, Port};
use zerocopy::{FromBytes, IntoBytes};

/// Size of the [`XsdSockmsg`] header.
pub const HEADER_LEN: usize = core::mem::size_of::<XsdSockmsg>();

/// Largest message on the wire: header plus `XENSTORE_PAYLOAD_MAX`.
pub const MSG_MAX: usize = HEADER_LEN + XENSTORE_PAYLOAD_MAX;

/// A transaction id handed out by xenstored (never 0: 0 means "none").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxId(pub u32);

impl TxId {
    /// The header's `tx_id` for an optional transaction.
    pub const fn raw(tx: Option<TxId>) -> u32 {
        match tx {
            Some(t) => t.0,
            None => 0,
        }
    }
}

/// The access a permission entry grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `n`: no access.
    None,
    /// `r`: read only.
    Read,
    /// `w`: write only.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    /// The letter Xen uses for this access.
    pub const fn letter(self) -> u8 {
        match self {
            Access::None => b'n',
            Access::Read => b'r',
            Access::Write => b'w',
            Access::Both => b'b',
        }
    }
    /// Whether this access allows reading.
    pub const fn can_read(self) -> bool {
        matches!(self, Access::Read | Access::Both)
    }
    /// Whether this access allows writing.
    pub const fn can_write(self) -> bool {
        matches!(self, Access::Write | Access::Both)
    }
}

/// One permission entry, Xen's `<letter><domid>` (e.g. `r1`).
///
/// In a node's list the first entry names the owner (who always has full
/// access) and the access of every domain not listed later; later entries
/// grant their domain that access. Dom0 bypasses permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perm {
    /// What the domain may do.
    pub access: Access,
    /// The domain.
    pub domid: DomId,
}

impl Perm {
    /// A permission entry.
    pub const fn new(access: Access, domid: DomId) -> Self {
        Perm { access, domid }
    }

    /// Parses Xen's string form (`n0`, `r1`, `w2`, `b3`).
    pub fn parse(s: &str) -> Result<Perm, XsError> {
        let bad = XsError::Protocol(ProtocolError::BadPerm);
        let (&letter, digits) = s.as_bytes().split_first().ok_or(bad)?;
        let access = match letter {
            b'n' => Access::None,
            b'r' => Access::Read,
            b'w' => Access::Write,
            b'b' => Access::Both,
            _ => return Err(bad),
        };
        let domid = parse_dec(digits).filter(|&v| v <= u16::MAX as u64).ok_or(bad)?;
        Ok(Perm { access, domid: DomId(domid as u16) })
    }

    /// Writes the string form (no NUL) into `buf`; returns its length.
    fn encode(self, buf: &mut [u8; 6]) -> usize {
        buf[0] = self.access.letter();
        let mut d = [0; 20];
        let digits = dec(self.domid.0 as u64, &mut d);
        buf[1..1 + digits.len()].copy_from_slice(digits);
        1 + digits.len()
    }
}

impl core::fmt::Display for Perm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}{}", self.access.letter() as char, self.domid.0)
    }
}

/// A request, with the fields its payload carries. The transaction id and
/// request id go in the header ([`Request::header`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `XS_READ`: the value of a node.
    Read {
        /// Node.
        path: &'a str,
    },
    /// `XS_WRITE`: set a node's value, creating it and missing parents.
    Write {
        /// Node.
        path: &'a str,
        /// New value (raw bytes, sent without a terminator).
        value: &'a [u8],
    },
    /// `XS_MKDIR`: make sure a node exists.
    Mkdir {
        /// Node.
        path: &'a str,
    },
    /// `XS_RM`: remove a node and its subtree.
    Rm {
        /// Node.
        path: &'a str,
    },
    /// `XS_DIRECTORY`: the names of a node's children.
    Directory {
        /// Node.
        path: &'a str,
    },
    /// `XS_DIRECTORY_PART`: children from a byte offset into the list.
    DirectoryPart {
        /// Node.
        path: &'a str,
        /// Byte offset into the NUL-separated list of children.
        offset: u32,
    },
    /// `XS_GET_PERMS`: a node's permissions.
    GetPerms {
        /// Node.
        path: &'a str,
    },
    /// `XS_SET_PERMS`: replace a node's permissions (owner first).
    SetPerms {
        /// Node.
        path: &'a str,
        /// New list; must not be empty.
        perms: &'a [Perm],
    },
    /// `XS_WATCH`: report changes at or below `path` with `token`.
    Watch {
        /// Watched node (or `@introduceDomain`/`@releaseDomain`).
        path: &'a str,
        /// Caller's tag, echoed in every event.
        token: &'a str,
    },
    /// `XS_UNWATCH`: remove a watch.
    Unwatch {
        /// Watched node, as given to `Watch`.
        path: &'a str,
        /// Token, as given to `Watch`.
        token: &'a str,
    },
    /// `XS_TRANSACTION_START` (header `tx_id` must be 0).
    TransactionStart,
    /// `XS_TRANSACTION_END`: commit (`true`) or abort.
    TransactionEnd {
        /// `T` (commit) or `F` (abort).
        commit: bool,
    },
    /// `XS_INTRODUCE` (dom0 only): start serving a domain's store ring.
    Introduce {
        /// The domain.
        domid: DomId,
        /// Frame of its store ring page.
        mfn: Mfn,
        /// Its unbound store event channel.
        port: Port,
    },
    /// `XS_RELEASE` (dom0 only): stop serving a domain.
    Release {
        /// The domain.
        domid: DomId,
    },
    /// `XS_GET_DOMAIN_PATH`: `/local/domain/<domid>`.
    GetDomainPath {
        /// The domain.
        domid: DomId,
    },
    /// `XS_IS_DOMAIN_INTRODUCED`.
    IsDomainIntroduced {
        /// The domain.
        domid: DomId,
    },
    /// `XS_RESET_WATCHES`: drop all watches and transactions of the caller.
    ResetWatches,
}

/// Sink for payload pieces.
type Sink<'s> = &'s mut dyn FnMut(&[u8]) -> Result<(), XsError>;

impl Request<'_> {
    /// The `XS_*` message type.
    pub const fn ty(&self) -> u32 {
        match self {
            Request::Read { .. } => msg::XS_READ,
            Request::Write { .. } => msg::XS_WRITE,
            Request::Mkdir { .. } => msg::XS_MKDIR,
            Request::Rm { .. } => msg::XS_RM,
            Request::Directory { .. } => msg::XS_DIRECTORY,
            Request::DirectoryPart { .. } => msg::XS_DIRECTORY_PART,
            Request::GetPerms { .. } => msg::XS_GET_PERMS,
            Request::SetPerms { .. } => msg::XS_SET_PERMS,
            Request::Watch { .. } => msg::XS_WATCH,
            Request::Unwatch { .. } => msg::XS_UNWATCH,
            Request::TransactionStart => msg::XS_TRANSACTION_START,
            Request::TransactionEnd { .. } => msg::XS_TRANSACTION_END,
            Request::Introduce { .. } => msg::XS_INTRODUCE,
            Request::Release { .. } => msg::XS_RELEASE,
            Request::GetDomainPath { .. } => msg::XS_GET_DOMAIN_PATH,
            Request::IsDomainIntroduced { .. } => msg::XS_IS_DOMAIN_INTRODUCED,
            Request::ResetWatches => msg::XS_RESET_WATCHES,
        }
    }

    /// Checks the fields a client must not send: empty paths, NULs inside
    /// paths or tokens, over-long paths, an empty permission list.
    pub fn validate(&self) -> Result<(), XsError> {
        match *self {
            Request::Read { path }
            | Request::Write { path, .. }
            | Request::Mkdir { path }
            | Request::Rm { path }
            | Request::Directory { path }
            | Request::DirectoryPart { path, .. }
            | Request::GetPerms { path } => check_path(path),
            Request::SetPerms { path, perms } => {
                check_path(path)?;
                if perms.is_empty() {
                    return Err(XsError::Invalid(Errno(EINVAL)));
                }
                Ok(())
            }
            Request::Watch { path, token } | Request::Unwatch { path, token } => {
                check_path(path)?;
                if token.as_bytes().contains(&0) {
                    return Err(XsError::Invalid(Errno(EINVAL)));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Feeds the payload to `out`, piece by piece (no buffer needed).
    /// Does not validate; see [`Request::header`].
    pub fn write_payload(&self, out: Sink<'_>) -> Result<(), XsError> {
        let mut d = [0u8; 20];
        match *self {
            Request::Read { path }
            | Request::Mkdir { path }
            | Request::Rm { path }
            | Request::Directory { path }
            | Request::GetPerms { path } => {
                out(path.as_bytes())?;
                out(b"\0")
            }
            Request::Write { path, value } => {
                out(path.as_bytes())?;
                out(b"\0")?;
                out(value)
            }
            Request::DirectoryPart { path, offset } => {
                out(path.as_bytes())?;
                out(b"\0")?;
                out(dec(offset as u64, &mut d))?;
                out(b"\0")
            }
            Request::SetPerms { path, perms } => {
                out(path.as_bytes())?;
                out(b"\0")?;
                for p in perms {
                    let mut b = [0u8; 6];
                    let n = p.encode(&mut b);
                    out(&b[..n])?;
                    out(b"\0")?;
                }
                Ok(())
            }
            Request::Watch { path, token } | Request::Unwatch { path, token } => {
                out(path.as_bytes())?;
                out(b"\0")?;
                out(token.as_bytes())?;
                out(b"\0")
            }
            Request::TransactionStart | Request::ResetWatches => out(b"\0"),
            Request::TransactionEnd { commit } => out(if commit { b"T\0" } else { b"F\0" }),
            Request::Introduce { domid, mfn, port } => {
                out(dec(domid.0 as u64, &mut d))?;
                out(b"\0")?;
                out(dec(mfn.0, &mut d))?;
                out(b"\0")?;
                out(dec(port.0 as u64, &mut d))?;
                out(b"\0")
            }
            Request::Release { domid } | Request::GetDomainPath { domid } | Request::IsDomainIntroduced { domid } => {
                out(dec(domid.0 as u64, &mut d))?;
                out(b"\0")
            }
        }
    }

    /// The payload length (not checked against the limit).
    pub fn payload_len(&self) -> usize {
        let mut n = 0usize;
        // Counting never fails.
        let _ = self.write_payload(&mut |b: &[u8]| {
            n += b.len();
            Ok(())
        });
        n
    }

    /// Validates the request and builds its header. A payload over
    /// `XENSTORE_PAYLOAD_MAX` is refused with `Invalid(E2BIG)`: xenstored
    /// would kill the connection.
    pub fn header(&self, req_id: u32, tx: Option<TxId>) -> Result<XsdSockmsg, XsError> {
        self.validate()?;
        let len = self.payload_len();
        if len > XENSTORE_PAYLOAD_MAX {
            return Err(XsError::Invalid(Errno(E2BIG)));
        }
        let tx_id = match self {
            // Not legal in a transaction (xenstore.txt); WATCH ignores it.
            Request::TransactionStart | Request::Watch { .. } | Request::Unwatch { .. } | Request::ResetWatches => 0,
            _ => TxId::raw(tx),
        };
        Ok(XsdSockmsg { ty: self.ty(), req_id, tx_id, len: len as u32 })
    }

    /// Encodes header and payload into `out`; returns the message length.
    /// `Invalid(ENOBUFS)` if `out` is too small.
    pub fn encode(&self, req_id: u32, tx: Option<TxId>, out: &mut [u8]) -> Result<usize, XsError> {
        let hdr = self.header(req_id, tx)?;
        let total = HEADER_LEN + hdr.len as usize;
        if out.len() < total {
            return Err(XsError::Invalid(Errno(ENOBUFS)));
        }
        out[..HEADER_LEN].copy_from_slice(hdr.as_bytes());
        let mut at = HEADER_LEN;
        self.write_payload(&mut |b: &[u8]| {
            out[at..at + b.len()].copy_from_slice(b);
            at += b.len();
            Ok(())
        })?;
        Ok(total)
    }
}

fn check_path(path: &str) -> Result<(), XsError> {
    if path.is_empty() || path.as_bytes().contains(&0) {
        return Err(XsError::Invalid(Errno(EINVAL)));
    }
    let max = if path.starts_with('/') { XENSTORE_ABS_PATH_MAX } else { XENSTORE_REL_PATH_MAX };
    if path.len() > max {
        return Err(XsError::Invalid(Errno(ENAMETOOLONG)));
    }
    Ok(())
}

/// Formats `v` in decimal into `buf`; returns the digits.
pub fn dec(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Parses an unsigned decimal (no sign, no spaces, at least one digit).
pub fn parse_dec(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add((c - b'0') as u64)
    })
}

/// Whether `ty` is a message type `xs_wire.h` defines (20, the removed
/// `XS_RESTRICT`, is not).
pub const fn is_known_type(ty: u32) -> bool {
    ty < msg::XS_TYPE_COUNT && ty != 20
}

/// Decodes a header. A `len` over `XENSTORE_PAYLOAD_MAX` is
/// `Protocol(Oversize)`: the stream can no longer be framed.
pub fn decode_header(bytes: &[u8]) -> Result<XsdSockmsg, XsError> {
    let bytes = bytes.get(..HEADER_LEN).ok_or(XsError::Protocol(ProtocolError::BadPayload))?;
    let hdr = XsdSockmsg::read_from_bytes(bytes).map_err(|_| XsError::Protocol(ProtocolError::BadPayload))?;
    if hdr.len as usize > XENSTORE_PAYLOAD_MAX {
        return Err(XsError::Protocol(ProtocolError::Oversize));
    }
    Ok(hdr)
}

/// A watch event: the changed node and the watch's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchEvent<'a> {
    /// The node that changed (relative if the watch was relative).
    pub path: &'a str,
    /// The token given to `XS_WATCH`.
    pub token: &'a str,
}

/// A message from xenstored, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A successful reply of type `ty`; parse `payload` per request type.
    Ok {
        /// `XS_*` type (the request's).
        ty: u32,
        /// Payload bytes.
        payload: &'a [u8],
    },
    /// `XS_ERROR`: the errno xenstored named.
    Error(Errno),
    /// `XS_WATCH_EVENT`.
    WatchEvent(WatchEvent<'a>),
}

/// Classifies a message from xenstored: errors are mapped back to an
/// [`Errno`] through `xsd_errors[]`, watch events are split, unknown types
/// and malformed error/event payloads are refused.
pub fn decode_reply<'a>(hdr: &XsdSockmsg, payload: &'a [u8]) -> Result<Reply<'a>, XsError> {
    if payload.len() != hdr.len as usize {
        return Err(XsError::Protocol(ProtocolError::BadPayload));
    }
    match hdr.ty {
        msg::XS_ERROR => Ok(Reply::Error(parse_error(payload)?)),
        msg::XS_WATCH_EVENT => Ok(Reply::WatchEvent(parse_watch_event(payload)?)),
        ty if is_known_type(ty) => Ok(Reply::Ok { ty, payload }),
        ty => Err(XsError::Protocol(ProtocolError::UnknownType(ty))),
    }
}

/// Maps an `XS_ERROR` payload (`ENAME\0`) to its errno.
pub fn parse_error(payload: &[u8]) -> Result<Errno, XsError> {
    let name = parse_single(payload)?;
    XSD_ERRORS
        .iter()
        .find(|(_, n)| *n == name)
        .map(|&(e, _)| Errno(e))
        .ok_or(XsError::Protocol(ProtocolError::UnknownError))
}

/// The `XS_ERROR` payload for an errno (for servers and tests); `None`
/// if the errno is not in `xsd_errors[]`.
pub fn error_name(errno: Errno) -> Option<&'static str> {
    XSD_ERRORS.iter().find(|(e, _)| *e == errno.0).map(|&(_, n)| n)
}

/// Splits a `WATCH_EVENT` payload (`path\0token\0`).
pub fn parse_watch_event(payload: &[u8]) -> Result<WatchEvent<'_>, XsError> {
    let mut s = Strings::new(payload)?;
    match (s.next(), s.next(), s.next()) {
        (Some(path), Some(token), None) => Ok(WatchEvent { path, token }),
        _ => Err(XsError::Protocol(ProtocolError::BadPayload)),
    }
}

/// Checks the `OK\0` reply of requests that return nothing.
pub fn parse_ok(payload: &[u8]) -> Result<(), XsError> {
    if payload == b"OK\0" {
        Ok(())
    } else {
        Err(XsError::Protocol(ProtocolError::BadPayload))
    }
}

/// A payload that is exactly one NUL-terminated UTF-8 string.
pub fn parse_single(payload: &[u8]) -> Result<&str, XsError> {
    let mut s = Strings::new(payload)?;
    match (s.next(), s.next()) {
        (Some(v), None) => Ok(v),
        _ => Err(XsError::Protocol(ProtocolError::BadPayload)),
    }
}

/// The `TRANSACTION_START` reply: a nonzero decimal id.
pub fn parse_tx_id(payload: &[u8]) -> Result<TxId, XsError> {
    let s = parse_single(payload)?;
    match parse_dec(s.as_bytes()) {
        Some(v) if v != 0 && v <= u32::MAX as u64 => Ok(TxId(v as u32)),
        _ => Err(XsError::Protocol(ProtocolError::BadNumber)),
    }
}

/// A `T\0`/`F\0` reply.
pub fn parse_bool(payload: &[u8]) -> Result<bool, XsError> {
    match payload {
        b"T\0" => Ok(true),
        b"F\0" => Ok(false),
        _ => Err(XsError::Protocol(ProtocolError::BadPayload)),
    }
}

/// A validated run of NUL-terminated UTF-8 strings (e.g. a `DIRECTORY`
/// reply); iterating yields each string without its NUL. An empty payload
/// holds no strings.
#[derive(Clone, Debug)]
pub struct Strings<'a> {
    rest: Option<core::str::Split<'a, char>>,
}

impl<'a> Strings<'a> {
    /// Validates `payload`: empty, or UTF-8 ending in NUL.
    pub fn new(payload: &'a [u8]) -> Result<Self, XsError> {
        if payload.is_empty() {
            return Ok(Strings { rest: None });
        }
        let s = core::str::from_utf8(payload).map_err(|_| XsError::Protocol(ProtocolError::BadUtf8))?;
        let body = s.strip_suffix('\0').ok_or(XsError::Protocol(ProtocolError::MissingNul))?;
        Ok(Strings { rest: Some(body.split('\0')) })
    }
}

impl<'a> Iterator for Strings<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        self.rest.as_mut()?.next()
    }
}

/// One `DIRECTORY_PART` reply.
#[derive(Clone, Debug)]
pub struct DirectoryPart<'a> {
    /// The node's generation count: equal across parts means the list did
    /// not change between them (restart from offset 0 otherwise).
    pub generation: &'a str,
    /// The children names in this part.
    pub children: Strings<'a>,
    /// Bytes of the list this part covers: add to the offset for the next.
    pub len: u32,
    /// Whether this part ends the list.
    pub done: bool,
}

/// Parses a `DIRECTORY_PART` reply (`gen\0child\0...`, with one more
/// `\0` after the last child of the list).
pub fn parse_directory_part(payload: &[u8]) -> Result<DirectoryPart<'_>, XsError> {
    let bad = XsError::Protocol(ProtocolError::BadPayload);
    Strings::new(payload)?;
    let gen_end = payload.iter().position(|&b| b == 0).ok_or(bad)?;
    let generation = core::str::from_utf8(&payload[..gen_end]).map_err(|_| bad)?;
    if generation.is_empty() {
        return Err(bad);
    }
    let mut list = &payload[gen_end + 1..];
    let done = list.is_empty() || list.ends_with(b"\0\0") || list == b"\0";
    if done && !list.is_empty() {
        list = &list[..list.len() - 1];
    }
    let children = Strings::new(list)?;
    if children.clone().any(str::is_empty) {
        return Err(bad);
    }
    Ok(DirectoryPart { generation, children, len: list.len() as u32, done })
}

/// A validated `GET_PERMS` reply: one or more permission entries, owner
/// first.
#[derive(Clone, Debug)]
pub struct PermList<'a> {
    strings: Strings<'a>,
}

impl<'a> PermList<'a> {
    /// Validates a `GET_PERMS` payload.
    pub fn new(payload: &'a [u8]) -> Result<Self, XsError> {
        let strings = Strings::new(payload)?;
        let mut n = 0;
        for s in strings.clone() {
            Perm::parse(s)?;
            n += 1;
        }
        if n == 0 {
            return Err(XsError::Protocol(ProtocolError::BadPayload));
        }
        Ok(PermList { strings })
    }
}

impl Iterator for PermList<'_> {
    type Item = Perm;
    fn next(&mut self) -> Option<Perm> {
        // Every entry was validated in `new`.
        self.strings.next().and_then(|s| Perm::parse(s).ok())
    }
}

/// Reassembles whole messages from a transport's byte stream, one at a
/// time, in a fixed `MSG_MAX` buffer. Reads never go past the end of the
/// current message, so nothing of the next one is consumed early.
pub struct MsgReader {
    buf: [u8; MSG_MAX],
    have: usize,
}

impl Default for MsgReader {
    fn default() -> Self {
        Self::new()
    }
}

impl MsgReader {
    /// An empty reader.
    pub const fn new() -> Self {
        MsgReader { buf: [0; MSG_MAX], have: 0 }
    }

    /// Bytes this message still needs in total (header, then payload).
    fn want(&self) -> Result<usize, XsError> {
        if self.have < HEADER_LEN {
            Ok(HEADER_LEN)
        } else {
            Ok(HEADER_LEN + decode_header(&self.buf)?.len as usize)
        }
    }

    /// Reads what the transport has, up to the end of the current message.
    /// `Ok(true)` once a whole message is buffered.
    pub fn fill<T: XsTransport + ?Sized>(&mut self, t: &mut T) -> Result<bool, XsError> {
        loop {
            let want = self.want()?;
            if self.have >= HEADER_LEN && self.have == want {
                return Ok(true);
            }
            let n = t.recv(&mut self.buf[self.have..want])?;
            if n == 0 {
                return Ok(false);
            }
            if n > want - self.have {
                return Err(XsError::Transport(Errno(crate::abi::errno::EIO)));
            }
            self.have += n;
        }
    }

    /// Feeds bytes from a slice (for servers that already hold them);
    /// returns how many were taken.
    pub fn push(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        let mut taken = 0;
        while taken < bytes.len() {
            let want = self.want()?;
            if self.have >= HEADER_LEN && self.have == want {
                break;
            }
            let n = (want - self.have).min(bytes.len() - taken);
            self.buf[self.have..self.have + n].copy_from_slice(&bytes[taken..taken + n]);
            self.have += n;
            taken += n;
        }
        Ok(taken)
    }

    /// The buffered message, once complete.
    pub fn message(&self) -> Option<(XsdSockmsg, &[u8])> {
        if self.have < HEADER_LEN {
            return None;
        }
        let hdr = decode_header(&self.buf).ok()?;
        let end = HEADER_LEN + hdr.len as usize;
        (self.have == end).then(|| (hdr, &self.buf[HEADER_LEN..end]))
    }

    /// Drops the buffered message (or partial message).
    pub fn consume(&mut self) {
        self.have = 0;
    }
}

/// A fixed-capacity string, for building paths and formatting values
/// without an allocator. Writing past the capacity fails and leaves the
/// contents as they were.
#[derive(Clone)]
pub struct StrBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for StrBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> StrBuf<N> {
    /// An empty string.
    pub const fn new() -> Self {
        StrBuf { buf: [0; N], len: 0 }
    }

    /// Formats `args`; `Invalid(ENOBUFS)` if it does not fit.
    pub fn from_fmt(args: core::fmt::Arguments<'_>) -> Result<Self, XsError> {
        let mut s = Self::new();
        core::fmt::Write::write_fmt(&mut s, args).map_err(|_| XsError::Invalid(Errno(ENOBUFS)))?;
        Ok(s)
    }

    /// `dir/key` (or `key` if `dir` is empty), as xenbus builds node paths.
    pub fn join(dir: &str, key: &str) -> Result<Self, XsError> {
        if dir.is_empty() {
            Self::from_fmt(format_args!("{key}"))
        } else {
            Self::from_fmt(format_args!("{dir}/{key}"))
        }
    }

    /// The contents.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so this cannot fail.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> core::fmt::Write for StrBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).filter(|&e| e <= N).ok_or(core::fmt::Error)?;
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> core::ops::Deref for StrBuf<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> core::fmt::Debug for StrBuf<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> core::fmt::Display for StrBuf<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::errno::{EACCES, EAGAIN, ENOENT};

    fn enc(r: Request<'_>, tx: Option<TxId>) -> ([u8; MSG_MAX], usize) {
        let mut b = [0u8; MSG_MAX];
        let n = r.encode(7, tx, &mut b).unwrap();
        (b, n)
    }

    fn payload(r: Request<'_>) -> ([u8; MSG_MAX], usize) {
        enc(r, None)
    }

    #[test]
    fn payloads_match_xenstore_txt() {
        let d3 = DomId(3);
        let perms = [Perm::new(Access::None, DomId(0)), Perm::new(Access::Read, DomId(1))];
        let cases: &[(Request<'_>, &[u8])] = &[
            (Request::Read { path: "a/b" }, b"a/b\0"),
            (Request::Write { path: "/x", value: b"v1" }, b"/x\0v1"),
            (Request::Write { path: "/x", value: b"" }, b"/x\0"),
            (Request::Mkdir { path: "d" }, b"d\0"),
            (Request::Rm { path: "d" }, b"d\0"),
            (Request::Directory { path: "/" }, b"/\0"),
            (Request::DirectoryPart { path: "/l", offset: 120 }, b"/l\x00120\0"),
            (Request::GetPerms { path: "p" }, b"p\0"),
            (Request::SetPerms { path: "p", perms: &perms }, b"p\0n0\0r1\0"),
            (Request::Watch { path: "w", token: "tok" }, b"w\0tok\0"),
            (Request::Unwatch { path: "w", token: "tok" }, b"w\0tok\0"),
            (Request::TransactionStart, b"\0"),
            (Request::TransactionEnd { commit: true }, b"T\0"),
            (Request::TransactionEnd { commit: false }, b"F\0"),
            (Request::Introduce { domid: d3, mfn: Mfn(0x1234), port: Port(5) }, b"3\x004660\x005\0"),
            (Request::Release { domid: d3 }, b"3\0"),
            (Request::GetDomainPath { domid: d3 }, b"3\0"),
            (Request::IsDomainIntroduced { domid: d3 }, b"3\0"),
            (Request::ResetWatches, b"\0"),
        ];
        for (r, want) in cases {
            let (b, n) = payload(*r);
            let hdr = decode_header(&b).unwrap();
            assert_eq!(hdr.ty, r.ty());
            assert_eq!(hdr.req_id, 7);
            assert_eq!(hdr.len as usize, want.len(), "{r:?}");
            assert_eq!(&b[HEADER_LEN..n], *want, "{r:?}");
        }
    }

    #[test]
    fn tx_id_only_where_legal() {
        let tx = Some(TxId(9));
        assert_eq!(Request::Read { path: "a" }.header(1, tx).unwrap().tx_id, 9);
        assert_eq!(Request::TransactionEnd { commit: true }.header(1, tx).unwrap().tx_id, 9);
        assert_eq!(Request::TransactionStart.header(1, tx).unwrap().tx_id, 0);
        assert_eq!(Request::Watch { path: "a", token: "t" }.header(1, tx).unwrap().tx_id, 0);
    }

    #[test]
    fn bad_requests_are_refused() {
        let inval = Err(XsError::Invalid(Errno(EINVAL)));
        assert_eq!(Request::Read { path: "" }.header(1, None).map(|_| ()), inval);
        assert_eq!(Request::Read { path: "a\0b" }.header(1, None).map(|_| ()), inval);
        assert_eq!(Request::Watch { path: "a", token: "t\0" }.header(1, None).map(|_| ()), inval);
        assert_eq!(Request::SetPerms { path: "a", perms: &[] }.header(1, None).map(|_| ()), inval);
        let long = [b'a'; XENSTORE_REL_PATH_MAX + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(
            Request::Read { path: long }.header(1, None).map(|_| ()),
            Err(XsError::Invalid(Errno(ENAMETOOLONG)))
        );
        let big = [b'x'; XENSTORE_PAYLOAD_MAX];
        let r = Request::Write { path: "/a", value: &big };
        assert_eq!(r.header(1, None).map(|_| ()), Err(XsError::Invalid(Errno(E2BIG))));
        let fits = Request::Write { path: "/a", value: &big[..XENSTORE_PAYLOAD_MAX - 3] };
        assert_eq!(fits.header(1, None).unwrap().len as usize, XENSTORE_PAYLOAD_MAX);
        let mut small = [0u8; 20];
        assert_eq!(
            Request::Read { path: "/abcdef" }.encode(1, None, &mut small),
            Err(XsError::Invalid(Errno(ENOBUFS)))
        );
    }

    fn hdr(ty: u32, len: usize) -> XsdSockmsg {
        XsdSockmsg { ty, req_id: 1, tx_id: 0, len: len as u32 }
    }

    #[test]
    fn replies_decode() {
        let p = b"ENOENT\0";
        assert_eq!(decode_reply(&hdr(msg::XS_ERROR, p.len()), p), Ok(Reply::Error(Errno(ENOENT))));
        let p = b"EACCES\0";
        assert_eq!(decode_reply(&hdr(msg::XS_ERROR, p.len()), p), Ok(Reply::Error(Errno(EACCES))));
        let p = b"EAGAIN\0";
        assert_eq!(decode_reply(&hdr(msg::XS_ERROR, p.len()), p), Ok(Reply::Error(Errno(EAGAIN))));
        for &(e, n) in XSD_ERRORS {
            assert_eq!(error_name(Errno(e)), Some(n));
        }
        let p = b"EWHAT\0";
        assert_eq!(decode_reply(&hdr(msg::XS_ERROR, p.len()), p), Err(XsError::Protocol(ProtocolError::UnknownError)));
        let p = b"ENOENT";
        assert_eq!(decode_reply(&hdr(msg::XS_ERROR, p.len()), p), Err(XsError::Protocol(ProtocolError::MissingNul)));
        let p = b"/a/b\0tok\0";
        assert_eq!(
            decode_reply(&hdr(msg::XS_WATCH_EVENT, p.len()), p),
            Ok(Reply::WatchEvent(WatchEvent { path: "/a/b", token: "tok" }))
        );
        for p in [&b"/a/b\0tok"[..], b"/a\0", b"/a\0t\0x\0", b"\xff\0t\0"] {
            assert!(decode_reply(&hdr(msg::XS_WATCH_EVENT, p.len()), p).is_err(), "{p:?}");
        }
        assert_eq!(decode_reply(&hdr(20, 0), b""), Err(XsError::Protocol(ProtocolError::UnknownType(20))));
        assert_eq!(decode_reply(&hdr(99, 0), b""), Err(XsError::Protocol(ProtocolError::UnknownType(99))));
        assert_eq!(decode_reply(&hdr(msg::XS_READ, 3), b"abc"), Ok(Reply::Ok { ty: msg::XS_READ, payload: b"abc" }));
    }

    #[test]
    fn header_len_limit() {
        let mut b = [0u8; HEADER_LEN];
        b.copy_from_slice(hdr(msg::XS_READ, XENSTORE_PAYLOAD_MAX + 1).as_bytes());
        assert_eq!(decode_header(&b), Err(XsError::Protocol(ProtocolError::Oversize)));
        assert!(decode_header(&b[..10]).is_err());
    }

    #[test]
    fn payload_parsers() {
        assert_eq!(parse_ok(b"OK\0"), Ok(()));
        assert!(parse_ok(b"OK").is_err());
        assert_eq!(parse_tx_id(b"42\0"), Ok(TxId(42)));
        for p in [&b"0\0"[..], b"x\0", b"42", b"99999999999\0", b"\0"] {
            assert!(parse_tx_id(p).is_err(), "{p:?}");
        }
        assert_eq!(parse_bool(b"T\0"), Ok(true));
        assert_eq!(parse_bool(b"F\0"), Ok(false));
        assert!(parse_bool(b"X\0").is_err());
        let v: [&str; 0] = [];
        assert!(Strings::new(b"").unwrap().eq(v));
        assert!(Strings::new(b"a\0bc\0").unwrap().eq(["a", "bc"]));
        assert!(Strings::new(b"a\0bc").is_err());
        assert_eq!(Strings::new(b"a\xc3\0").err(), Some(XsError::Protocol(ProtocolError::BadUtf8)));
    }

    #[test]
    fn directory_part() {
        let p = parse_directory_part(b"17\0a\0bb\0").unwrap();
        assert_eq!(p.generation, "17");
        assert!(p.children.clone().eq(["a", "bb"]));
        assert_eq!((p.len, p.done), (5, false));
        let p = parse_directory_part(b"17\0c\0\0").unwrap();
        assert!(p.children.clone().eq(["c"]));
        assert_eq!((p.len, p.done), (2, true));
        let p = parse_directory_part(b"17\0\0").unwrap();
        assert_eq!((p.children.count(), p.done), (0, true));
        assert!(parse_directory_part(b"\0a\0").is_err());
        assert!(parse_directory_part(b"17\0a\0\0b\0").is_err());
        assert!(parse_directory_part(b"17").is_err());
    }

    #[test]
    fn perms_parse_and_format() {
        for (s, a, d) in [
            ("n0", Access::None, 0),
            ("r1", Access::Read, 1),
            ("w2", Access::Write, 2),
            ("b3", Access::Both, 3),
            ("b65535", Access::Both, 65535),
        ] {
            let p = Perm::parse(s).unwrap();
            assert_eq!(p, Perm::new(a, DomId(d)));
            let f = StrBuf::<8>::from_fmt(format_args!("{p}")).unwrap();
            assert_eq!(f.as_str(), s);
        }
        for s in ["", "x1", "r", "r-1", "r65536", "rr", "R1"] {
            assert_eq!(Perm::parse(s), Err(XsError::Protocol(ProtocolError::BadPerm)), "{s}");
        }
        let l = PermList::new(b"b1\0r0\0").unwrap();
        assert!(l.eq([Perm::new(Access::Both, DomId(1)), Perm::new(Access::Read, DomId(0))]));
        assert!(PermList::new(b"").is_err());
        assert!(PermList::new(b"b1\0q\0").is_err());
    }

    #[test]
    fn reader_reassembles_pieces() {
        let (b, n) = payload(Request::Write { path: "/k", value: b"value" });
        let mut r = MsgReader::new();
        let mut taken = 0;
        for chunk in b[..n].chunks(3) {
            assert!(r.message().is_none());
            taken += r.push(chunk).unwrap();
        }
        assert_eq!(taken, n);
        let (h, p) = r.message().unwrap();
        assert_eq!((h.ty, p), (msg::XS_WRITE, &b"/k\0value"[..]));
        // A complete message takes no more bytes until consumed.
        assert_eq!(r.push(b"more").unwrap(), 0);
        r.consume();
        assert!(r.message().is_none());
    }

    #[test]
    fn strbuf() {
        let p = StrBuf::<18>::join("device/vbd/1", "state").unwrap();
        assert_eq!(&*p, "device/vbd/1/state");
        assert!(StrBuf::<17>::join("device/vbd/1", "state").is_err());
        assert_eq!(StrBuf::<8>::join("", "k").unwrap().as_str(), "k");
        let mut d = [0; 20];
        assert_eq!(dec(0, &mut d), b"0");
        assert_eq!(dec(u64::MAX, &mut d), b"18446744073709551615");
        assert_eq!(parse_dec(b"18446744073709551616"), None);
    }
}
