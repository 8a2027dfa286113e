//! Frames on the byte stream: encoding, and a byte-at-a-time decoder that
//! skips junk and resynchronises on the next start-of-frame.
//!
//! On the wire a frame is the two-byte start-of-frame `FF 58`, then the
//! *body* with every `FF` byte sent as `FF 00` (byte stuffing), so `FF`
//! followed by anything but `00` never occurs inside a body and a new
//! start-of-frame is recognised wherever it appears, even in the middle of
//! a frame cut short. The body (before stuffing) is:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version, [`VERSION`] |
//! | 1 | 1 | kind (see [`super::kind`]) |
//! | 2 | 2 | sequence number, little-endian |
//! | 4 | 4 | session id, little-endian |
//! | 8 | 4 | payload length `n`, little-endian, at most [`MAX_PAYLOAD`] |
//! | 12 | 4 | CRC-32 of bytes 0..12, little-endian |
//! | 16 | n | payload |
//! | 16+n | 4 | CRC-32 of the payload, little-endian |

use alloc::vec::Vec;

/// Start of frame: `FF` then `X`.
pub const SOF: [u8; 2] = [0xff, b'X'];
/// The escape byte; `FF 00` in a body stands for one `FF`.
pub const ESC: u8 = 0xff;
/// Protocol version carried in every frame.
pub const VERSION: u8 = 1;
/// Body bytes before the payload.
pub const HEADER_LEN: usize = 16;
/// Largest payload of one frame.
pub const MAX_PAYLOAD: usize = 64 * 1024;
/// Junk kept for [`Decoder::take_junk`] before older junk is dropped.
const MAX_JUNK: usize = 64 * 1024;

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continues a CRC-32: `crc32_update(crc32(a), b) == crc32(a ++ b)`.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What the payload is (see [`super::kind`]).
    pub kind: u8,
    /// Sequence number within the session, per direction, from 0.
    pub seq: u16,
    /// Session id the host chose for the exchange.
    pub session: u32,
    /// The payload.
    pub payload: Vec<u8>,
}

fn push_stuffed(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == ESC {
            out.push(0);
        }
    }
}

/// Appends one frame's wire bytes to `out`.
///
/// # Panics
/// If `payload` is longer than [`MAX_PAYLOAD`] (callers split data).
pub fn encode_frame(kind: u8, seq: u16, session: u32, payload: &[u8], out: &mut Vec<u8>) {
    assert!(payload.len() <= MAX_PAYLOAD, "frame payload of {} bytes", payload.len());
    let mut header = [0u8; HEADER_LEN];
    header[0] = VERSION;
    header[1] = kind;
    header[2..4].copy_from_slice(&seq.to_le_bytes());
    header[4..8].copy_from_slice(&session.to_le_bytes());
    header[8..12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let hcrc = crc32(&header[..12]);
    header[12..16].copy_from_slice(&hcrc.to_le_bytes());
    out.reserve(SOF.len() + HEADER_LEN + payload.len() + payload.len() / 128 + 8);
    out.extend_from_slice(&SOF);
    push_stuffed(out, &header);
    push_stuffed(out, payload);
    push_stuffed(out, &crc32(payload).to_le_bytes());
}

/// What the decoder has seen, for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Good frames returned.
    pub frames: u64,
    /// Bytes outside frames (boot messages, line noise).
    pub junk_bytes: u64,
    /// Frames whose header was invalid (CRC, version, length).
    pub bad_headers: u64,
    /// Frames whose payload CRC was wrong.
    pub bad_payloads: u64,
    /// Frames cut short by a new start-of-frame or a bad escape.
    pub truncated: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between frames.
    Hunt,
    /// Between frames, after an `FF`.
    HuntEsc,
    /// In a body.
    Body,
    /// In a body, after an `FF`.
    BodyEsc,
}

/// Turns a byte stream back into frames. Junk between frames is kept (up
/// to 64 KiB) for [`Decoder::take_junk`]; damaged frames are dropped and
/// counted; decoding resumes at the next start-of-frame.
#[derive(Clone, Debug)]
pub struct Decoder {
    state: State,
    body: Vec<u8>,
    /// Total body length once the header is known.
    total: Option<usize>,
    junk: Vec<u8>,
    stats: DecoderStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder between frames.
    pub fn new() -> Self {
        Decoder { state: State::Hunt, body: Vec::new(), total: None, junk: Vec::new(), stats: DecoderStats::default() }
    }

    /// Counters so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// The junk bytes seen since the last call.
    pub fn take_junk(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.junk)
    }

    fn junk_byte(&mut self, b: u8) {
        self.stats.junk_bytes += 1;
        if self.junk.len() < MAX_JUNK {
            self.junk.push(b);
        }
    }

    fn start(&mut self) {
        self.body.clear();
        self.total = None;
        self.state = State::Body;
    }

    /// Feeds a slice, appending every completed frame to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for &b in bytes {
            if let Some(f) = self.feed(b) {
                out.push(f);
            }
        }
    }

    /// Feeds one byte; returns a frame when this byte completes one.
    pub fn feed(&mut self, b: u8) -> Option<Frame> {
        match self.state {
            State::Hunt => {
                if b == ESC {
                    self.state = State::HuntEsc;
                } else {
                    self.junk_byte(b);
                }
                None
            }
            State::HuntEsc => {
                if b == SOF[1] {
                    self.start();
                } else if b == ESC {
                    self.junk_byte(ESC);
                } else {
                    self.junk_byte(ESC);
                    self.junk_byte(b);
                    self.state = State::Hunt;
                }
                None
            }
            State::Body => {
                if b == ESC {
                    self.state = State::BodyEsc;
                    None
                } else {
                    self.body_byte(b)
                }
            }
            State::BodyEsc => {
                if b == 0 {
                    self.state = State::Body;
                    self.body_byte(ESC)
                } else if b == SOF[1] {
                    // A new frame begins: the current one was cut short.
                    self.stats.truncated += 1;
                    self.start();
                    None
                } else {
                    self.stats.truncated += 1;
                    self.state = State::Hunt;
                    if b == ESC {
                        self.state = State::HuntEsc;
                    } else {
                        self.junk_byte(b);
                    }
                    None
                }
            }
        }
    }

    fn body_byte(&mut self, b: u8) -> Option<Frame> {
        self.body.push(b);
        let len = self.body.len();
        if len == HEADER_LEN {
            let h = &self.body;
            let hcrc = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
            let n = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
            if h[0] != VERSION || hcrc != crc32(&h[..12]) || n > MAX_PAYLOAD {
                self.stats.bad_headers += 1;
                self.state = State::Hunt;
                return None;
            }
            self.total = Some(HEADER_LEN + n + 4);
        }
        if Some(len) != self.total {
            return None;
        }
        self.state = State::Hunt;
        let body = core::mem::take(&mut self.body);
        let payload = &body[HEADER_LEN..len - 4];
        let pcrc = u32::from_le_bytes([body[len - 4], body[len - 3], body[len - 2], body[len - 1]]);
        if pcrc != crc32(payload) {
            self.stats.bad_payloads += 1;
            self.body = body;
            self.body.clear();
            return None;
        }
        self.stats.frames += 1;
        let frame = Frame {
            kind: body[1],
            seq: u16::from_le_bytes([body[2], body[3]]),
            session: u32::from_le_bytes([body[4], body[5], body[6], body[7]]),
            payload: payload.to_vec(),
        };
        self.body = body;
        self.body.clear();
        Some(frame)
    }
}
