//! One exchange at a time: the host's [`Client`] and dom0's [`Server`].
//!
//! An exchange is identified by a session id the host chooses. Each side
//! numbers the frames it sends in the exchange from 0; the receiver checks
//! the numbers, so a frame lost to line noise is noticed instead of
//! silently corrupting a kernel image. Frames of other sessions (left over
//! from an `xl` that was killed) are ignored. A `REQUEST` frame with
//! sequence number 0 always starts a new exchange in dom0, abandoning any
//! exchange still running there (a console still attached, for example).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pv_abi::DomId;

use super::frame::{crc32, crc32_update, encode_frame, Decoder, Frame, MAX_PAYLOAD};
use super::{kind, ToDom0, ToHost};

/// A file the host sent with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFile {
    /// The path exactly as the command line or the config names it.
    pub name: String,
    /// Its content.
    pub data: Vec<u8>,
}

/// A complete request: the command line after `xl` and the files it needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Arguments, e.g. `["create", "-c", "hello.cfg"]`.
    pub argv: Vec<String>,
    /// Files named by the arguments or the config, read on the host.
    pub files: Vec<RequestFile>,
}

impl Request {
    /// A request without files.
    pub fn new<S: AsRef<str>>(argv: &[S]) -> Self {
        Request { argv: argv.iter().map(|s| s.as_ref().to_string()).collect(), files: Vec::new() }
    }

    /// The content of the file sent under `name` (the path as written in
    /// the command line or config). dom0 looks a path up here first, and
    /// only then in its own file tree.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|f| f.name == name).map(|f| f.data.as_slice())
    }
}

fn frame_to(out: &mut Vec<u8>, seq: &mut u16, session: u32, k: u8, payload: &[u8]) {
    encode_frame(k, *seq, session, payload, out);
    *seq = seq.wrapping_add(1);
}

/// What the host learns from dom0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// dom0 received the request intact and runs it.
    Accepted,
    /// Bytes for stdout.
    Stdout(Vec<u8>),
    /// Bytes for stderr.
    Stderr(Vec<u8>),
    /// A console is attached: forward input until the escape.
    Console(DomId),
    /// The command's exit status; the exchange is over.
    Exit(i32),
    /// Frames of the response were lost (output is incomplete).
    Lost {
        /// Frames missing.
        frames: u16,
    },
    /// A frame of this session that makes no sense.
    Malformed(String),
}

/// The host side of one exchange.
#[derive(Clone, Debug)]
pub struct Client {
    session: u32,
    tx_seq: u16,
    rx_seq: u16,
    done: bool,
    decoder: Decoder,
    /// Frames of other sessions that were ignored.
    pub stale_frames: u64,
}

impl Client {
    /// A client for the session id `session` (the caller picks one that
    /// differs from recent ones, e.g. from the time and process id).
    pub fn new(session: u32) -> Self {
        Client { session, tx_seq: 0, rx_seq: 0, done: false, decoder: Decoder::new(), stale_frames: 0 }
    }

    /// The session id.
    pub fn session(&self) -> u32 {
        self.session
    }

    /// Whether dom0's `EXIT` has arrived.
    pub fn finished(&self) -> bool {
        self.done
    }

    /// The wire bytes of a request: `REQUEST`, then for each file `FILE`
    /// and its `DATA` in chunks of at most 64 KiB, then `END`. Fails if an
    /// argument is longer than 65535 bytes or the argv does not fit in
    /// one frame.
    pub fn encode_request(&mut self, req: &Request) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.encode_request_into(req, |chunk| out.extend_from_slice(chunk))?;
        Ok(out)
    }

    /// As [`Self::encode_request`], handing the bytes to `sink` a frame at
    /// a time (so a large kernel is never held twice).
    pub fn encode_request_into(&mut self, req: &Request, mut sink: impl FnMut(&[u8])) -> Result<(), String> {
        if req.argv.len() > usize::from(u16::MAX) {
            return Err("too many arguments".to_string());
        }
        if let Some(a) = req.argv.iter().find(|a| a.len() > usize::from(u16::MAX)) {
            return Err(format!("argument of {} bytes is too long", a.len()));
        }
        let (k, p) = ToDom0::Request { argv: req.argv.clone() }.to_payload();
        if p.len() > MAX_PAYLOAD {
            return Err("the arguments are too long".to_string());
        }
        let mut buf = Vec::new();
        self.tx_seq = 0;
        frame_to(&mut buf, &mut self.tx_seq, self.session, k, &p);
        sink(&buf);
        for f in &req.files {
            if f.name.len() > MAX_PAYLOAD - 12 {
                return Err("file name too long".to_string());
            }
            buf.clear();
            let (k, p) =
                ToDom0::File { name: f.name.clone(), size: f.data.len() as u64, crc: crc32(&f.data) }.to_payload();
            frame_to(&mut buf, &mut self.tx_seq, self.session, k, &p);
            sink(&buf);
            for chunk in f.data.chunks(MAX_PAYLOAD) {
                buf.clear();
                frame_to(&mut buf, &mut self.tx_seq, self.session, kind::DATA, chunk);
                sink(&buf);
            }
        }
        buf.clear();
        frame_to(&mut buf, &mut self.tx_seq, self.session, kind::END, &[]);
        sink(&buf);
        Ok(())
    }

    /// Wire bytes carrying console input.
    pub fn encode_input(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(MAX_PAYLOAD) {
            frame_to(&mut out, &mut self.tx_seq, self.session, kind::INPUT, chunk);
        }
        out
    }

    /// Wire bytes asking dom0 to leave the console.
    pub fn encode_detach(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        frame_to(&mut out, &mut self.tx_seq, self.session, kind::DETACH, &[]);
        out
    }

    /// Bytes outside frames seen so far (dom0's boot messages, noise).
    pub fn take_junk(&mut self) -> Vec<u8> {
        self.decoder.take_junk()
    }

    /// The decoder's counters.
    pub fn stats(&self) -> super::DecoderStats {
        self.decoder.stats()
    }

    /// Feeds bytes read from the line; returns what they say.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<ClientEvent> {
        let mut frames = Vec::new();
        self.decoder.push(bytes, &mut frames);
        let mut events = Vec::new();
        for f in frames {
            self.frame(f, &mut events);
        }
        events
    }

    fn frame(&mut self, f: Frame, events: &mut Vec<ClientEvent>) {
        if f.session != self.session || f.kind < 0x80 || self.done {
            self.stale_frames += 1;
            return;
        }
        if f.seq != self.rx_seq {
            events.push(ClientEvent::Lost { frames: f.seq.wrapping_sub(self.rx_seq) });
        }
        self.rx_seq = f.seq.wrapping_add(1);
        match ToHost::from_frame(f.kind, &f.payload) {
            Ok(Some(ToHost::Accepted)) => events.push(ClientEvent::Accepted),
            Ok(Some(ToHost::Stdout(d))) => events.push(ClientEvent::Stdout(d)),
            Ok(Some(ToHost::Stderr(d))) => events.push(ClientEvent::Stderr(d)),
            Ok(Some(ToHost::Console(id))) => events.push(ClientEvent::Console(id)),
            Ok(Some(ToHost::Exit(s))) => {
                self.done = true;
                events.push(ClientEvent::Exit(s));
            }
            Ok(None) => {}
            Err(e) => events.push(ClientEvent::Malformed(e.0)),
        }
    }
}

/// What dom0 has to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A new request started while another exchange was running: stop it
    /// (detach its console). Always followed, later, by the new request or
    /// its rejection.
    Abandoned,
    /// A complete, verified request: run it and answer with
    /// [`Server::stdout`]/[`Server::stderr`]/[`Server::console`] and finally
    /// [`Server::exit`]. (`ACCEPTED` has already been queued.)
    Request(Request),
    /// Console input for the attached console.
    Input(Vec<u8>),
    /// The host left the console: detach, then answer with `exit`.
    Detach,
    /// A request was damaged or too large; the server has already queued
    /// the error answer (stderr text and exit status 1). For logging.
    Rejected(String),
}

#[derive(Clone, Debug)]
enum Phase {
    Idle,
    Receiving {
        argv: Vec<String>,
        files: Vec<RequestFile>,
        current: Option<Incoming>,
        total: u64,
    },
    Running,
    /// Rejected: ignore the rest of this session.
    Discarding,
}

#[derive(Clone, Debug)]
struct Incoming {
    name: String,
    size: u64,
    crc: u32,
    running_crc: u32,
    data: Vec<u8>,
}

/// Default limit on a request's total file bytes.
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 256 * 1024 * 1024;

/// dom0's side: assembles requests, hands out events, encodes answers.
#[derive(Clone, Debug)]
pub struct Server {
    decoder: Decoder,
    phase: Phase,
    session: u32,
    rx_seq: u16,
    tx_seq: u16,
    max_request_bytes: u64,
    /// Frames ignored (other sessions, wrong direction, unknown kinds).
    pub ignored_frames: u64,
}

impl Default for Server {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_REQUEST_BYTES)
    }
}

impl Server {
    /// A server accepting requests whose files total at most
    /// `max_request_bytes`.
    pub fn new(max_request_bytes: u64) -> Self {
        Server {
            decoder: Decoder::new(),
            phase: Phase::Idle,
            session: 0,
            rx_seq: 0,
            tx_seq: 0,
            max_request_bytes,
            ignored_frames: 0,
        }
    }

    /// Whether a request is being run (between `Request` and [`Self::exit`]).
    pub fn running(&self) -> bool {
        matches!(self.phase, Phase::Running)
    }

    /// The decoder's counters.
    pub fn stats(&self) -> super::DecoderStats {
        self.decoder.stats()
    }

    /// Bytes outside frames seen so far.
    pub fn take_junk(&mut self) -> Vec<u8> {
        self.decoder.take_junk()
    }

    /// Feeds bytes read from the line. Answers the server produces by
    /// itself (`ACCEPTED`, rejections) are appended to `reply`, which the
    /// caller writes to the line.
    pub fn receive(&mut self, bytes: &[u8], reply: &mut Vec<u8>) -> Vec<ServerEvent> {
        let mut frames = Vec::new();
        self.decoder.push(bytes, &mut frames);
        let mut events = Vec::new();
        for f in frames {
            self.frame(f, reply, &mut events);
        }
        events
    }

    fn reject(&mut self, reason: String, reply: &mut Vec<u8>, events: &mut Vec<ServerEvent>) {
        let text = format!("xl: {}\n", reason);
        frame_to(reply, &mut self.tx_seq, self.session, kind::STDERR, text.as_bytes());
        frame_to(reply, &mut self.tx_seq, self.session, kind::EXIT, &1i32.to_le_bytes());
        self.phase = Phase::Discarding;
        events.push(ServerEvent::Rejected(reason));
    }

    fn frame(&mut self, f: Frame, reply: &mut Vec<u8>, events: &mut Vec<ServerEvent>) {
        if f.kind >= 0x80 {
            self.ignored_frames += 1;
            return;
        }
        if f.kind == kind::REQUEST && f.seq == 0 {
            if matches!(self.phase, Phase::Receiving { .. } | Phase::Running) {
                events.push(ServerEvent::Abandoned);
            }
            self.session = f.session;
            self.rx_seq = 1;
            self.tx_seq = 0;
            match ToDom0::from_frame(f.kind, &f.payload) {
                Ok(Some(ToDom0::Request { argv })) => {
                    self.phase = Phase::Receiving { argv, files: Vec::new(), current: None, total: 0 };
                }
                _ => self.reject("malformed request".to_string(), reply, events),
            }
            return;
        }
        if f.session != self.session || matches!(self.phase, Phase::Idle | Phase::Discarding) {
            self.ignored_frames += 1;
            return;
        }
        let lost = f.seq.wrapping_sub(self.rx_seq);
        self.rx_seq = f.seq.wrapping_add(1);
        let msg = match ToDom0::from_frame(f.kind, &f.payload) {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.ignored_frames += 1;
                return;
            }
            Err(e) => {
                if matches!(self.phase, Phase::Receiving { .. }) {
                    self.reject(format!("request damaged in transit ({})", e.0), reply, events);
                }
                return;
            }
        };
        if matches!(self.phase, Phase::Running) {
            // Lost input keystrokes cannot be recovered; keep going.
            match msg {
                ToDom0::Input(d) => events.push(ServerEvent::Input(d)),
                ToDom0::Detach => events.push(ServerEvent::Detach),
                _ => self.ignored_frames += 1,
            }
            return;
        }
        if lost != 0 {
            self.reject(format!("request damaged in transit ({} frame(s) lost); please retry", lost), reply, events);
            return;
        }
        if let Err(reason) = self.assemble(msg, reply, events) {
            self.reject(reason, reply, events);
        }
    }

    fn assemble(&mut self, msg: ToDom0, reply: &mut Vec<u8>, events: &mut Vec<ServerEvent>) -> Result<(), String> {
        let max = self.max_request_bytes;
        let Phase::Receiving { files, current, total, .. } = &mut self.phase else { return Ok(()) };
        match msg {
            ToDom0::File { name, size, crc } => {
                finish_file(current, files)?;
                *total = total.saturating_add(size);
                if *total > max {
                    return Err(format!(
                        "request too large: '{}' brings it to {} MiB, dom0 accepts at most {} MiB",
                        name,
                        total.div_ceil(1 << 20),
                        max >> 20
                    ));
                }
                let capacity = usize::try_from(size).map_err(|_| "file too large".to_string())?;
                *current = Some(Incoming { name, size, crc, running_crc: 0, data: Vec::with_capacity(capacity) });
            }
            ToDom0::Data(d) => {
                let Some(c) = current.as_mut() else {
                    return Err("request damaged in transit (data before any file)".to_string());
                };
                if c.data.len() as u64 + d.len() as u64 > c.size {
                    return Err(format!("request damaged in transit ('{}' longer than announced)", c.name));
                }
                c.running_crc = crc32_update(c.running_crc, &d);
                c.data.extend_from_slice(&d);
            }
            ToDom0::End => {
                finish_file(current, files)?;
                let Phase::Receiving { argv, files, .. } = core::mem::replace(&mut self.phase, Phase::Running) else {
                    return Ok(());
                };
                frame_to(reply, &mut self.tx_seq, self.session, kind::ACCEPTED, &[]);
                events.push(ServerEvent::Request(Request { argv, files }));
            }
            ToDom0::Request { .. } | ToDom0::Input(_) | ToDom0::Detach => {
                return Err("request damaged in transit (unexpected frame)".to_string());
            }
        }
        Ok(())
    }

    fn answer(&mut self, msg: ToHost) -> Vec<u8> {
        let (k, p) = msg.to_payload();
        let mut out = Vec::new();
        if p.is_empty() {
            frame_to(&mut out, &mut self.tx_seq, self.session, k, &[]);
        }
        for chunk in p.chunks(MAX_PAYLOAD) {
            frame_to(&mut out, &mut self.tx_seq, self.session, k, chunk);
        }
        out
    }

    /// Wire bytes of stdout text (any length; split into frames).
    pub fn stdout(&mut self, data: &[u8]) -> Vec<u8> {
        self.answer(ToHost::Stdout(data.to_vec()))
    }

    /// Wire bytes of stderr text.
    pub fn stderr(&mut self, data: &[u8]) -> Vec<u8> {
        self.answer(ToHost::Stderr(data.to_vec()))
    }

    /// Wire bytes announcing that the console of `domid` is attached.
    pub fn console(&mut self, domid: DomId) -> Vec<u8> {
        self.answer(ToHost::Console(domid))
    }

    /// Wire bytes ending the exchange with `status`.
    pub fn exit(&mut self, status: i32) -> Vec<u8> {
        let out = self.answer(ToHost::Exit(status));
        self.phase = Phase::Idle;
        out
    }
}

fn finish_file(current: &mut Option<Incoming>, files: &mut Vec<RequestFile>) -> Result<(), String> {
    let Some(c) = current.take() else { return Ok(()) };
    if c.data.len() as u64 != c.size {
        return Err(format!("request damaged in transit ('{}': {} of {} bytes arrived)", c.name, c.data.len(), c.size));
    }
    if c.running_crc != c.crc {
        return Err(format!("request damaged in transit ('{}' fails its checksum)", c.name));
    }
    files.push(RequestFile { name: c.name, data: c.data });
    Ok(())
}
