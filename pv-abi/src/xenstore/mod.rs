//! # xenstore: the guest-side client of Xen's configuration store
//!
//! Three layers, each usable on its own:
//!
//! - [`wire`]: the `io/xs_wire.h` message format. Encodes requests and
//!   decodes replies, watch events and error names on caller-provided
//!   buffers; refuses malformed messages with an error, never a panic.
//! - [`ring`]: the transport over the store ring page
//!   ([`XenstoreDomainInterface`](crate::abi::io::xs_wire::XenstoreDomainInterface)),
//!   as Linux's `xenbus_comms.c` drives it. This is the only module here
//!   with `unsafe` code (shared-page access).
//! - [`client`]: a blocking client over any [`XsTransport`]: read, write,
//!   mkdir, rm, directory, permissions, watches (events that arrive while a
//!   reply is awaited are queued), transactions with a retry helper, and
//!   dom0's domain-management requests.
//!
//! The xenbus state machine that front and back ends run on top of this
//! is in [`crate::xenbus`].
//!
//! Nothing here allocates: every buffer is a fixed-size array inside the
//! client or one the caller passes, so the hypervisor, dom0 and the
//! smallest test guest can all link it without a global allocator.
//! Replies are returned as slices that borrow the client until its next
//! call; copy out what must outlive it.
//!
//! Errors say who is at fault ([`XsError`]): the store refused
//! ([`XsError::Store`]), the caller's request was invalid and was not sent
//! ([`XsError::Invalid`]), the peer broke the protocol
//! ([`XsError::Protocol`]), or the transport failed ([`XsError::Transport`]).

pub mod client;
pub mod ring;
pub mod wire;

pub use client::XsClient;
pub use ring::XsRing;
pub use wire::{Access, Perm, Request, TxId, WatchEvent};

use crate::abi::errno::{Errno, EIO};

/// What went wrong in a xenstore exchange, and whose fault it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XsError {
    /// xenstored refused the request: the errno named in its `XS_ERROR`
    /// reply (`ENOENT`, `EACCES`, `EAGAIN` on a conflicting commit, ...).
    Store(Errno),
    /// The caller's request cannot be sent and nothing was sent: payload
    /// over `XENSTORE_PAYLOAD_MAX` (`E2BIG`), an empty path or a NUL inside
    /// a path or token (`EINVAL`), a path over the length limit
    /// (`ENAMETOOLONG`), a state transition the xenbus protocol forbids
    /// (`EINVAL`), a value too long for a fixed buffer (`ENOBUFS`).
    Invalid(Errno),
    /// The peer broke the wire protocol; the request's outcome is unknown.
    Protocol(ProtocolError),
    /// The transport failed (e.g. `ETIMEDOUT` from its `wait`).
    Transport(Errno),
}

impl XsError {
    /// The errno a C caller would see: protocol violations become `EIO`.
    pub const fn errno(self) -> Errno {
        match self {
            XsError::Store(e) | XsError::Invalid(e) | XsError::Transport(e) => e,
            XsError::Protocol(_) => Errno(EIO),
        }
    }

    /// Whether xenstored answered with this errno.
    pub fn is_store(self, errno: i32) -> bool {
        self == XsError::Store(Errno(errno))
    }
}

impl From<XsError> for Errno {
    fn from(e: XsError) -> Errno {
        e.errno()
    }
}

impl core::fmt::Display for XsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            XsError::Store(e) => write!(f, "xenstored: {}", e.name()),
            XsError::Invalid(e) => write!(f, "invalid request: {}", e.name()),
            XsError::Protocol(p) => write!(f, "protocol violation: {p:?}"),
            XsError::Transport(e) => write!(f, "transport: {}", e.name()),
        }
    }
}

/// How the peer broke the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A header announced a payload over `XENSTORE_PAYLOAD_MAX`; the
    /// byte stream can no longer be framed, so the connection is dead.
    Oversize,
    /// A message type that is not in `xs_wire.h` (or not a reply).
    UnknownType(u32),
    /// A reply of another type than the request (not `XS_ERROR`).
    UnexpectedType(u32),
    /// A string that should end in NUL does not.
    MissingNul,
    /// A string that is not UTF-8.
    BadUtf8,
    /// A payload with the wrong number of fields or a wrong fixed text
    /// (e.g. not `OK\0`).
    BadPayload,
    /// An `XS_ERROR` reply naming an error not in `xsd_errors[]`.
    UnknownError,
    /// A number (transaction id, domid, ...) that does not parse.
    BadNumber,
    /// A permission string that is not `[nrwb]<domid>`.
    BadPerm,
    /// A xenbus node holds a value the xenbus protocol does not allow
    /// (e.g. `state` not a number 0..=8); the other end wrote it.
    BadValue,
    /// The ring indices claim more than a ring's worth of data: the peer
    /// corrupted the shared page.
    RingIndex,
}

/// The byte pipe between a client and xenstored.
///
/// `send` and `recv` never block: they move what fits now. `wait` blocks
/// until the peer may have made progress (an event-channel notification,
/// a condition variable, a poll interval), and may fail (a timeout).
pub trait XsTransport {
    /// Queues a prefix of `bytes`; returns how many were taken (0 when
    /// there is no room now).
    fn send(&mut self, bytes: &[u8]) -> Result<usize, XsError>;
    /// Copies up to `buf.len()` received bytes; `Ok(0)` when none are
    /// available now.
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, XsError>;
    /// Blocks until the peer may have produced or consumed something.
    fn wait(&mut self) -> Result<(), XsError>;
}

impl<T: XsTransport + ?Sized> XsTransport for &mut T {
    fn send(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        (**self).send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, XsError> {
        (**self).recv(buf)
    }
    fn wait(&mut self) -> Result<(), XsError> {
        (**self).wait()
    }
}
