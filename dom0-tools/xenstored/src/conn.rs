//! Per-connection state: the input framer, the output queue, watches and
//! transactions.

use crate::txn::Txn;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use pv_abi::abi::errno::Errno;
use pv_abi::abi::io::xs_wire::{msg, XsdSockmsg};
use pv_abi::xenstore::wire::{decode_header, parse_watch_event, WatchEvent, HEADER_LEN};
use pv_abi::{Mfn, Port};

/// Splits a byte stream into messages. Bytes past the end of the current
/// message are never taken, so the rest stays in the ring until the
/// message has been handled.
#[derive(Default)]
pub(crate) struct Framer {
    buf: Vec<u8>,
    /// Payload length, once the header is in.
    len: Option<usize>,
}

impl Framer {
    /// Takes bytes of the current message; returns how many. `Err` when a
    /// header announces a payload over `XENSTORE_PAYLOAD_MAX`.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<usize, Errno> {
        let want = HEADER_LEN + self.len.unwrap_or(0);
        let n = (want - self.buf.len()).min(bytes.len());
        self.buf.extend_from_slice(&bytes[..n]);
        if self.len.is_none() && self.buf.len() == HEADER_LEN {
            let hdr = decode_header(&self.buf).map_err(|e| e.errno())?;
            self.len = Some(hdr.len as usize);
        }
        Ok(n)
    }

    /// The whole message, once complete; the framer is then empty again.
    pub(crate) fn take(&mut self) -> Option<(XsdSockmsg, Vec<u8>)> {
        let len = self.len?;
        if self.buf.len() != HEADER_LEN + len {
            return None;
        }
        let hdr = decode_header(&self.buf).ok()?;
        let payload = self.buf.split_off(HEADER_LEN);
        self.buf.clear();
        self.len = None;
        Some((hdr, payload))
    }
}

/// A registered watch.
#[derive(Clone, Debug)]
pub(crate) struct Watch {
    /// Absolute path or special name.
    pub path: String,
    pub token: String,
    /// Bytes of `path` to strip in events (relative watches).
    pub prefix_len: usize,
}

/// One message waiting to be sent to a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutMessage {
    /// The header (`len` is the payload length).
    pub hdr: XsdSockmsg,
    /// The payload.
    pub payload: Vec<u8>,
}

impl OutMessage {
    /// The message's bytes on the wire: header (native-endian, as the C
    /// struct) then payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN + self.payload.len());
        v.extend_from_slice(&self.hdr.ty.to_ne_bytes());
        v.extend_from_slice(&self.hdr.req_id.to_ne_bytes());
        v.extend_from_slice(&self.hdr.tx_id.to_ne_bytes());
        v.extend_from_slice(&self.hdr.len.to_ne_bytes());
        v.extend_from_slice(&self.payload);
        v
    }

    /// The watch event this message carries, if it is one.
    pub fn watch_event(&self) -> Option<WatchEvent<'_>> {
        if self.hdr.ty != msg::XS_WATCH_EVENT {
            return None;
        }
        parse_watch_event(&self.payload).ok()
    }

    fn is_event(&self) -> bool {
        self.hdr.ty == msg::XS_WATCH_EVENT
    }
}

/// Why a connection stopped being served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broken {
    /// A header announced a payload over `XENSTORE_PAYLOAD_MAX`: the byte
    /// stream cannot be framed any more (`XENSTORE_ERROR_PROTO`).
    Oversize,
}

/// Counters of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Requests processed.
    pub requests: u64,
    /// Requests answered with `XS_ERROR`.
    pub errors: u64,
    /// Watch events dropped: the pending-event bound was reached, or the
    /// event was longer than `XENSTORE_PAYLOAD_MAX`.
    pub dropped_events: u64,
}

pub(crate) struct Conn {
    pub mfn: Mfn,
    pub port: Port,
    input: Framer,
    out: VecDeque<OutMessage>,
    /// Bytes of the front message already handed out.
    out_off: usize,
    /// The front message's bytes (cached while it is being sent).
    front: Option<Vec<u8>>,
    /// Replies in `out` (the outstanding-request quota counts these).
    pub replies: u32,
    /// Watch events in `out`.
    pub events: u32,
    pub watches: Vec<Watch>,
    pub txs: BTreeMap<u32, Txn>,
    next_tx: u32,
    pub broken: Option<Broken>,
    pub shutdown: bool,
    pub stats: ConnStats,
}

impl Conn {
    pub(crate) fn new(mfn: Mfn, port: Port) -> Self {
        Conn {
            mfn,
            port,
            input: Framer::default(),
            out: VecDeque::new(),
            out_off: 0,
            front: None,
            replies: 0,
            events: 0,
            watches: Vec::new(),
            txs: BTreeMap::new(),
            next_tx: 1,
            broken: None,
            shutdown: false,
            stats: ConnStats::default(),
        }
    }

    /// Drops watches, transactions, queued output and partial input.
    pub(crate) fn reset(&mut self) {
        self.watches.clear();
        self.txs.clear();
        self.out.clear();
        self.out_off = 0;
        self.front = None;
        self.replies = 0;
        self.events = 0;
        self.input = Framer::default();
    }

    pub(crate) fn input(&mut self) -> &mut Framer {
        &mut self.input
    }

    /// A transaction id not in use (never 0).
    pub(crate) fn alloc_tx_id(&mut self) -> u32 {
        loop {
            let id = self.next_tx;
            self.next_tx = self.next_tx.wrapping_add(1);
            if id != 0 && !self.txs.contains_key(&id) {
                return id;
            }
        }
    }

    pub(crate) fn push(&mut self, m: OutMessage) {
        if m.is_event() {
            self.events += 1;
        } else {
            self.replies += 1;
        }
        self.out.push_back(m);
    }

    pub(crate) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Unsent bytes of the front message.
    pub(crate) fn output(&mut self) -> &[u8] {
        if self.front.is_none() {
            self.front = self.out.front().map(OutMessage::to_bytes);
        }
        match &self.front {
            Some(b) => &b[self.out_off..],
            None => &[],
        }
    }

    /// Marks `n` bytes of the front message sent (at most what
    /// [`Conn::output`] returned).
    pub(crate) fn consume(&mut self, n: usize) {
        let left = self.output().len();
        if left == 0 {
            return;
        }
        if n >= left {
            self.pop();
        } else {
            self.out_off += n;
        }
    }

    pub(crate) fn pop(&mut self) -> Option<OutMessage> {
        let m = self.out.pop_front()?;
        if m.is_event() {
            self.events -= 1;
        } else {
            self.replies -= 1;
        }
        self.out_off = 0;
        self.front = None;
        Some(m)
    }
}
