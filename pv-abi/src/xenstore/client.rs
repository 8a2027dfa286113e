//! A blocking xenstore client over any [`XsTransport`].
//!
//! One request is outstanding at a time. Each gets a fresh `req_id`; a
//! reply with another id (a late answer to a request that timed out) is
//! dropped and counted, as Linux's `process_msg()` does. Watch events
//! that arrive while a reply is awaited, or while the client waits for
//! ring space, go to an internal queue and are returned by
//! [`XsClient::next_watch_event`] / [`XsClient::wait_watch_event`] in
//! arrival order.
//!
//! The event queue is bounded (`EVQ` bytes, default
//! [`DEFAULT_EVENT_QUEUE`]): another domain that writes a watched node in
//! a loop must not exhaust this one's memory (XSA-349). When it is full,
//! an event identical to one still queued is merged into it (a watch
//! event only says "look again"), and any other event is dropped and
//! counted in [`ClientStats::dropped_events`]; a caller that sees that
//! count move should re-read everything it watches.
//!
//! Replies are returned as slices into the client's receive buffer: they
//! borrow the client until the next call.

use super::wire::{
    decode_reply, parse_bool, parse_directory_part, parse_ok, parse_single, parse_tx_id, parse_watch_event,
    DirectoryPart, MsgReader, PermList, Reply, StrBuf, Strings,
};
use super::{Perm, ProtocolError, Request, TxId, WatchEvent, XsError, XsTransport};
use crate::abi::errno::{Errno, EAGAIN, ENOENT};
use crate::abi::io::xs_wire::{msg, XENSTORE_PAYLOAD_MAX};
use crate::types::{DomId, Mfn, Port};
use zerocopy::IntoBytes;

/// Default size of the watch-event queue, in bytes (each event costs its
/// payload plus 2).
pub const DEFAULT_EVENT_QUEUE: usize = 8192;

/// How many times [`XsClient::transaction`] retries a commit that failed
/// with `EAGAIN` before giving up with that error.
pub const MAX_TX_RETRIES: u32 = 64;

/// Longest value [`XsClient::write_fmt`] can format.
pub const FMT_MAX: usize = 256;

/// Counters of things the client dropped instead of failing on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Replies whose `req_id` matched no outstanding request.
    pub stray_replies: u64,
    /// Watch events with a malformed payload.
    pub malformed_events: u64,
    /// Watch events merged into an identical queued one (queue full).
    pub merged_events: u64,
    /// Watch events dropped because the queue was full.
    pub dropped_events: u64,
}

/// A bounded FIFO of raw watch-event payloads (`path\0token\0`), each
/// stored as a little-endian `u16` length and the bytes, contiguously.
struct EventQueue<const N: usize> {
    buf: [u8; N],
    head: usize,
    tail: usize,
    count: usize,
}

impl<const N: usize> EventQueue<N> {
    /// The largest event must fit.
    const ROOM: () = assert!(N >= 2 + XENSTORE_PAYLOAD_MAX, "event queue too small");

    const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::ROOM;
        EventQueue { buf: [0; N], head: 0, tail: 0, count: 0 }
    }

    fn entry_len(&self, at: usize) -> usize {
        u16::from_le_bytes([self.buf[at], self.buf[at + 1]]) as usize
    }

    /// Offsets of the queued entries, oldest first.
    fn offsets(&self) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.head;
        core::iter::from_fn(move || {
            if at >= self.tail {
                return None;
            }
            let here = at;
            at += 2 + self.entry_len(here);
            Some(here)
        })
    }

    fn payload(&self, at: usize) -> &[u8] {
        &self.buf[at + 2..at + 2 + self.entry_len(at)]
    }

    fn contains(&self, payload: &[u8]) -> bool {
        self.offsets().any(|at| self.payload(at) == payload)
    }

    /// Appends an entry; `false` if there is no room.
    fn push(&mut self, payload: &[u8]) -> bool {
        let need = 2 + payload.len();
        if self.tail + need > N && self.head > 0 {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        if self.tail + need > N {
            return false;
        }
        let len = (payload.len() as u16).to_le_bytes();
        self.buf[self.tail..self.tail + 2].copy_from_slice(&len);
        self.buf[self.tail + 2..self.tail + need].copy_from_slice(payload);
        self.tail += need;
        self.count += 1;
        true
    }

    /// The oldest entry whose token is `token` (any entry if `None`).
    fn find(&self, token: Option<&str>) -> Option<usize> {
        self.offsets().find(|&at| match token {
            None => true,
            Some(t) => parse_watch_event(self.payload(at)).is_ok_and(|e| e.token == t),
        })
    }

    /// Removes the entry at `at` (from [`Self::find`]), keeping the order
    /// of the others; its bytes stay valid until the next `push`.
    fn take(&mut self, at: usize) -> &[u8] {
        let total = 2 + self.entry_len(at);
        // Move the entry to the front, shifting the older ones after it.
        self.buf[self.head..at + total].rotate_right(total);
        let range = self.head + 2..self.head + total;
        self.head += total;
        self.count -= 1;
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
        &self.buf[range]
    }
}

/// A blocking xenstore client; see the module documentation.
pub struct XsClient<T, const EVQ: usize = DEFAULT_EVENT_QUEUE> {
    transport: T,
    rx: MsgReader,
    /// `rx` holds the reply last returned to the caller.
    held: bool,
    events: EventQueue<EVQ>,
    next_req_id: u32,
    broken: Option<XsError>,
    stats: ClientStats,
}

impl<T: XsTransport, const EVQ: usize> XsClient<T, EVQ> {
    /// A client speaking over `transport`.
    pub fn new(transport: T) -> Self {
        XsClient {
            transport,
            rx: MsgReader::new(),
            held: false,
            events: EventQueue::new(),
            next_req_id: 1,
            broken: None,
            stats: ClientStats::default(),
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (e.g. to inspect a test fake).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// What the client dropped so far.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// The error that made the connection unusable, if any: the byte
    /// stream lost its framing (oversize header, corrupt ring indices, a
    /// request only partly sent). Every later call fails with it.
    pub fn broken(&self) -> Option<XsError> {
        self.broken
    }

    /// Watch events queued and not yet returned.
    pub fn pending_watch_events(&self) -> usize {
        self.events.count
    }

    fn check(&mut self) -> Result<(), XsError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        if self.held {
            self.rx.consume();
            self.held = false;
        }
        Ok(())
    }

    /// Records an error after which the stream cannot be trusted.
    fn fatal(&mut self, e: XsError) -> XsError {
        self.broken = Some(e);
        e
    }

    /// Queues a complete watch event from `rx` (or counts it).
    fn queue_event(&mut self) {
        if let Some((_, p)) = self.rx.message() {
            if parse_watch_event(p).is_err() {
                self.stats.malformed_events += 1;
            } else if !self.events.push(p) {
                if self.events.contains(p) {
                    self.stats.merged_events += 1;
                } else {
                    self.stats.dropped_events += 1;
                }
            }
        }
        self.rx.consume();
    }

    /// Reads every complete message the transport has without blocking;
    /// none of them answers an outstanding request.
    fn pump(&mut self) -> Result<(), XsError> {
        loop {
            match self.rx.fill(&mut self.transport) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(self.fatal(e)),
            }
            match self.rx.message() {
                Some((h, _)) if h.ty == msg::XS_WATCH_EVENT => self.queue_event(),
                _ => {
                    self.stats.stray_replies += 1;
                    self.rx.consume();
                }
            }
        }
    }

    /// Sends all of `bytes`, draining incoming messages and waiting while
    /// the transport is full (xenstored may need us to read before it can
    /// read more).
    fn send_all(&mut self, mut bytes: &[u8]) -> Result<(), XsError> {
        while !bytes.is_empty() {
            let n = self.transport.send(bytes)?;
            bytes = &bytes[n..];
            if n == 0 {
                self.pump()?;
                self.transport.wait()?;
            }
        }
        Ok(())
    }

    /// Sends `req` and waits for its reply. On success the reply payload
    /// is in `rx` ([`Self::reply`]).
    fn request(&mut self, tx: Option<TxId>, req: &Request<'_>) -> Result<(), XsError> {
        self.check()?;
        let req_id = self.next_req_id;
        // Invalid requests are refused here, before anything is sent.
        let hdr = req.header(req_id, tx)?;
        self.next_req_id = match req_id.wrapping_add(1) {
            0 => 1,
            n => n,
        };
        let mut sent = self.send_all(hdr.as_bytes());
        if sent.is_ok() {
            sent = req.write_payload(&mut |b: &[u8]| self.send_all(b));
        }
        if let Err(e) = sent {
            // Part of a message may be on the wire: no way to resync.
            return Err(self.fatal(e));
        }
        loop {
            match self.rx.fill(&mut self.transport) {
                Ok(true) => {}
                Ok(false) => {
                    // A timeout here is not fatal: a late reply will be
                    // dropped as stray.
                    self.transport.wait()?;
                    continue;
                }
                Err(e) => return Err(self.fatal(e)),
            }
            let Some((h, p)) = self.rx.message() else {
                self.rx.consume();
                return Err(XsError::Protocol(ProtocolError::BadPayload));
            };
            if h.ty == msg::XS_WATCH_EVENT {
                self.queue_event();
                continue;
            }
            if h.req_id != req_id {
                self.stats.stray_replies += 1;
                self.rx.consume();
                continue;
            }
            let result = match decode_reply(&h, p) {
                Ok(Reply::Ok { ty, .. }) if ty == req.ty() => {
                    self.held = true;
                    return Ok(());
                }
                Ok(Reply::Ok { ty, .. }) => Err(XsError::Protocol(ProtocolError::UnexpectedType(ty))),
                Ok(Reply::Error(e)) => Err(XsError::Store(e)),
                Ok(Reply::WatchEvent(_)) => Err(XsError::Protocol(ProtocolError::BadPayload)),
                Err(e) => Err(e),
            };
            self.rx.consume();
            return result;
        }
    }

    /// The payload of the reply `request` just accepted.
    fn reply(&self) -> &[u8] {
        self.rx.message().map_or(&[], |(_, p)| p)
    }

    fn request_ok(&mut self, tx: Option<TxId>, req: &Request<'_>) -> Result<(), XsError> {
        self.request(tx, req)?;
        parse_ok(self.reply())
    }

    /// `XS_READ`: the value of `path` (raw bytes, no terminator).
    pub fn read(&mut self, tx: Option<TxId>, path: &str) -> Result<&[u8], XsError> {
        self.request(tx, &Request::Read { path })?;
        Ok(self.reply())
    }

    /// `XS_READ` of a UTF-8 value.
    pub fn read_str(&mut self, tx: Option<TxId>, path: &str) -> Result<&str, XsError> {
        let v = self.read(tx, path)?;
        core::str::from_utf8(v).map_err(|_| XsError::Protocol(ProtocolError::BadUtf8))
    }

    /// `XS_READ` of a value parsed with `FromStr` (e.g. a decimal number,
    /// as `xenbus_scanf("%d")`); a value that does not parse is
    /// `Protocol(BadValue)`.
    pub fn read_parse<V: core::str::FromStr>(&mut self, tx: Option<TxId>, path: &str) -> Result<V, XsError> {
        self.read_str(tx, path)?.parse().map_err(|_| XsError::Protocol(ProtocolError::BadValue))
    }

    /// Whether `path` exists (a read that fails with `ENOENT` says no).
    pub fn exists(&mut self, tx: Option<TxId>, path: &str) -> Result<bool, XsError> {
        match self.read(tx, path) {
            Ok(_) => Ok(true),
            Err(XsError::Store(Errno(ENOENT))) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `XS_WRITE`: sets `path` to `value`, creating it and its parents.
    pub fn write(&mut self, tx: Option<TxId>, path: &str, value: &[u8]) -> Result<(), XsError> {
        self.request_ok(tx, &Request::Write { path, value })
    }

    /// `XS_WRITE` of a string.
    pub fn write_str(&mut self, tx: Option<TxId>, path: &str, value: &str) -> Result<(), XsError> {
        self.write(tx, path, value.as_bytes())
    }

    /// `XS_WRITE` of a formatted value (`xenbus_printf`), up to
    /// [`FMT_MAX`] bytes (`Invalid(ENOBUFS)` beyond).
    pub fn write_fmt(&mut self, tx: Option<TxId>, path: &str, args: core::fmt::Arguments<'_>) -> Result<(), XsError> {
        let v = StrBuf::<FMT_MAX>::from_fmt(args)?;
        self.write(tx, path, v.as_bytes())
    }

    /// `XS_MKDIR`: makes sure `path` exists.
    pub fn mkdir(&mut self, tx: Option<TxId>, path: &str) -> Result<(), XsError> {
        self.request_ok(tx, &Request::Mkdir { path })
    }

    /// `XS_RM`: removes `path` and everything below it.
    pub fn rm(&mut self, tx: Option<TxId>, path: &str) -> Result<(), XsError> {
        self.request_ok(tx, &Request::Rm { path })
    }

    /// `XS_DIRECTORY`: the names of the children of `path`.
    pub fn directory(&mut self, tx: Option<TxId>, path: &str) -> Result<Strings<'_>, XsError> {
        self.request(tx, &Request::Directory { path })?;
        Strings::new(self.reply())
    }

    /// `XS_DIRECTORY_PART`: children from byte `offset` of the list, for
    /// lists longer than one payload (`XS_DIRECTORY` fails with `E2BIG`).
    pub fn directory_part(&mut self, tx: Option<TxId>, path: &str, offset: u32) -> Result<DirectoryPart<'_>, XsError> {
        self.request(tx, &Request::DirectoryPart { path, offset })?;
        parse_directory_part(self.reply())
    }

    /// `XS_GET_PERMS`: the permissions of `path`, owner first.
    pub fn get_perms(&mut self, tx: Option<TxId>, path: &str) -> Result<PermList<'_>, XsError> {
        self.request(tx, &Request::GetPerms { path })?;
        PermList::new(self.reply())
    }

    /// `XS_SET_PERMS`: replaces the permissions of `path` (owner first).
    pub fn set_perms(&mut self, tx: Option<TxId>, path: &str, perms: &[Perm]) -> Result<(), XsError> {
        self.request_ok(tx, &Request::SetPerms { path, perms })
    }

    /// `XS_WATCH`: report changes at or below `path` as events carrying
    /// `token`. xenstored fires the watch once straight away.
    pub fn watch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        self.request_ok(None, &Request::Watch { path, token })
    }

    /// `XS_UNWATCH`. Events of this watch already queued stay queued.
    pub fn unwatch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        self.request_ok(None, &Request::Unwatch { path, token })
    }

    /// `XS_RESET_WATCHES`: drops all watches and transactions of this
    /// connection (and the events queued here).
    pub fn reset_watches(&mut self) -> Result<(), XsError> {
        self.request_ok(None, &Request::ResetWatches)?;
        self.events = EventQueue::new();
        Ok(())
    }

    /// The oldest queued watch event, after collecting what the transport
    /// already holds; `None` if there is none. Does not block.
    pub fn next_watch_event(&mut self) -> Result<Option<WatchEvent<'_>>, XsError> {
        self.next_event(None)
    }

    /// As [`Self::next_watch_event`], only events with `token` (others
    /// stay queued).
    pub fn next_watch_event_for(&mut self, token: &str) -> Result<Option<WatchEvent<'_>>, XsError> {
        self.next_event(Some(token))
    }

    /// Blocks until a watch event arrives and returns it.
    pub fn wait_watch_event(&mut self) -> Result<WatchEvent<'_>, XsError> {
        self.wait_event(None)
    }

    /// Blocks until a watch event with `token` arrives (others stay
    /// queued).
    pub fn wait_watch_event_for(&mut self, token: &str) -> Result<WatchEvent<'_>, XsError> {
        self.wait_event(Some(token))
    }

    fn next_event(&mut self, token: Option<&str>) -> Result<Option<WatchEvent<'_>>, XsError> {
        self.check()?;
        self.pump()?;
        match self.events.find(token) {
            Some(at) => parse_watch_event(self.events.take(at)).map(Some),
            None => Ok(None),
        }
    }

    fn wait_event(&mut self, token: Option<&str>) -> Result<WatchEvent<'_>, XsError> {
        self.check()?;
        loop {
            self.pump()?;
            if let Some(at) = self.events.find(token) {
                return parse_watch_event(self.events.take(at));
            }
            self.transport.wait()?;
        }
    }

    /// `XS_TRANSACTION_START`: a new transaction.
    pub fn transaction_start(&mut self) -> Result<TxId, XsError> {
        self.request(None, &Request::TransactionStart)?;
        parse_tx_id(self.reply())
    }

    /// `XS_TRANSACTION_END`: commit (`true`) or abort. A commit that
    /// conflicts with changes made outside the transaction fails with
    /// `Store(EAGAIN)`: redo the whole transaction.
    pub fn transaction_end(&mut self, tx: TxId, commit: bool) -> Result<(), XsError> {
        self.request_ok(Some(tx), &Request::TransactionEnd { commit })
    }

    /// Runs `f` in a transaction and commits it, redoing everything when
    /// the commit fails with `EAGAIN` (up to [`MAX_TX_RETRIES`] times). If
    /// `f` fails the transaction is aborted and `f`'s error returned.
    pub fn transaction<R>(&mut self, mut f: impl FnMut(&mut Self, TxId) -> Result<R, XsError>) -> Result<R, XsError> {
        let mut attempt = 1;
        loop {
            let tx = self.transaction_start()?;
            match f(self, tx) {
                Ok(r) => match self.transaction_end(tx, true) {
                    Ok(()) => return Ok(r),
                    Err(XsError::Store(Errno(EAGAIN))) if attempt < MAX_TX_RETRIES => attempt += 1,
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    // `f`'s error is the one to report; the abort only
                    // frees the transaction.
                    let _ = self.transaction_end(tx, false);
                    return Err(e);
                }
            }
        }
    }

    /// `XS_GET_DOMAIN_PATH`: `/local/domain/<domid>`.
    pub fn get_domain_path(&mut self, domid: DomId) -> Result<&str, XsError> {
        self.request(None, &Request::GetDomainPath { domid })?;
        parse_single(self.reply())
    }

    /// `XS_INTRODUCE` (dom0 only): xenstored starts serving `domid`'s ring
    /// at `mfn`, bound to its unbound event channel `port`.
    pub fn introduce(&mut self, domid: DomId, mfn: Mfn, port: Port) -> Result<(), XsError> {
        self.request_ok(None, &Request::Introduce { domid, mfn, port })
    }

    /// `XS_RELEASE` (dom0 only): xenstored stops serving `domid`.
    pub fn release(&mut self, domid: DomId) -> Result<(), XsError> {
        self.request_ok(None, &Request::Release { domid })
    }

    /// `XS_IS_DOMAIN_INTRODUCED`.
    pub fn is_domain_introduced(&mut self, domid: DomId) -> Result<bool, XsError> {
        self.request(None, &Request::IsDomainIntroduced { domid })?;
        parse_bool(self.reply())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(path: &str, token: &str, buf: &mut [u8; 64]) -> usize {
        let n = path.len() + token.len() + 2;
        buf[..path.len()].copy_from_slice(path.as_bytes());
        buf[path.len()] = 0;
        buf[path.len() + 1..n - 1].copy_from_slice(token.as_bytes());
        buf[n - 1] = 0;
        n
    }

    #[test]
    fn event_queue_fifo_filter_and_bounds() {
        let mut q = EventQueue::<{ 2 + XENSTORE_PAYLOAD_MAX }>::new();
        let mut b = [0u8; 64];
        for (p, t) in [("/a", "t1"), ("/b", "t2"), ("/c", "t1")] {
            let n = ev(p, t, &mut b);
            assert!(q.push(&b[..n]));
        }
        let at = q.find(Some("t2")).unwrap();
        assert_eq!(parse_watch_event(q.take(at)).unwrap().path, "/b");
        let at = q.find(None).unwrap();
        assert_eq!(parse_watch_event(q.take(at)).unwrap().path, "/a");
        assert!(q.find(Some("t2")).is_none());
        let at = q.find(Some("t1")).unwrap();
        assert_eq!(parse_watch_event(q.take(at)).unwrap().path, "/c");
        assert_eq!((q.count, q.head, q.tail), (0, 0, 0));
        // Fill to the brim, then compaction makes room again.
        let n = ev("/x", "t", &mut b);
        let mut pushed = 0;
        while q.push(&b[..n]) {
            pushed += 1;
        }
        assert_eq!(pushed, (2 + XENSTORE_PAYLOAD_MAX) / (2 + n));
        let at = q.find(None).unwrap();
        q.take(at);
        assert!(q.push(&b[..n]));
        assert!(!q.push(&b[..n]));
        assert!(q.contains(&b[..n]));
    }
}
