//! A test harness: domains talking to one `Xenstored` through bytes.
#![allow(dead_code)]

use pv_abi::abi::errno::Errno;
use pv_abi::abi::io::xs_wire::{msg, XsdSockmsg};
use pv_abi::xenstore::wire::{decode_header, parse_error, parse_watch_event, Request, TxId, HEADER_LEN};
use pv_abi::{DomId, Mfn, Port};
use std::collections::BTreeMap;
use xenstored::{Config, Xenstored};

pub const D0: u16 = 0;

/// One message from xenstored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub hdr: XsdSockmsg,
    pub payload: Vec<u8>,
}

/// Splits a byte stream into messages.
pub fn split(mut bytes: &[u8]) -> Vec<Msg> {
    let mut v = Vec::new();
    while !bytes.is_empty() {
        let hdr = decode_header(bytes).expect("header");
        let end = HEADER_LEN + hdr.len as usize;
        v.push(Msg { hdr, payload: bytes[HEADER_LEN..end].to_vec() });
        bytes = &bytes[end..];
    }
    v
}

/// Raw message bytes.
pub fn raw(ty: u32, req_id: u32, tx_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [ty, req_id, tx_id, payload.len() as u32] {
        v.extend_from_slice(&x.to_ne_bytes());
    }
    v.extend_from_slice(payload);
    v
}

pub type Reply = Result<Vec<u8>, i32>;

pub struct H {
    pub xs: Xenstored,
    /// Watch events each domain received, in order: (path, token).
    pub events: BTreeMap<u16, Vec<(String, String)>>,
    next_req: u32,
}

impl H {
    pub fn new() -> Self {
        Self::with(Config::default())
    }

    pub fn with(cfg: Config) -> Self {
        H { xs: Xenstored::new(cfg), events: BTreeMap::new(), next_req: 1 }
    }

    /// Introduces domains (ring frame 1000+d, port 10+d).
    pub fn intro(&mut self, doms: &[u16]) {
        for &d in doms {
            self.xs.introduce(DomId(d), Mfn(1000 + d as u64), Port(10 + d as u32)).unwrap();
        }
        self.drain();
    }

    /// Collects every domain's output; returns the non-event messages of `d`.
    pub fn drain_for(&mut self, d: u16) -> Vec<Msg> {
        let mut mine = Vec::new();
        let doms: Vec<DomId> = self.xs.connections().collect();
        for dom in doms {
            for m in split(&self.xs.take_output(dom)) {
                if m.hdr.ty == msg::XS_WATCH_EVENT {
                    assert_eq!((m.hdr.req_id, m.hdr.tx_id), (0, 0));
                    let e = parse_watch_event(&m.payload).expect("event payload");
                    self.events.entry(dom.0).or_default().push((e.path.into(), e.token.into()));
                } else if dom.0 == d {
                    mine.push(m);
                } else {
                    panic!("unexpected reply to d{}: {m:?}", dom.0);
                }
            }
        }
        mine
    }

    pub fn drain(&mut self) {
        self.drain_for(u16::MAX);
    }

    /// Sends raw bytes for `d`, returns its replies.
    pub fn feed(&mut self, d: u16, bytes: &[u8]) -> Vec<Msg> {
        let n = self.xs.feed(DomId(d), bytes).expect("feed");
        assert_eq!(n, bytes.len());
        self.drain_for(d)
    }

    /// Sends one raw message and returns its reply as Ok(payload)/Err(errno).
    pub fn raw(&mut self, d: u16, ty: u32, tx: u32, payload: &[u8]) -> Reply {
        let id = self.next_req;
        self.next_req += 1;
        let replies = self.feed(d, &raw(ty, id, tx, payload));
        assert_eq!(replies.len(), 1, "{replies:?}");
        let m = &replies[0];
        assert_eq!((m.hdr.req_id, m.hdr.tx_id), (id, tx));
        if m.hdr.ty == msg::XS_ERROR {
            Err(parse_error(&m.payload).expect("error name").0)
        } else {
            assert_eq!(m.hdr.ty, ty);
            Ok(m.payload.clone())
        }
    }

    /// Sends a request (encoded by pv-abi's client code).
    pub fn req(&mut self, d: u16, tx: u32, r: Request<'_>) -> Reply {
        let mut buf = vec![0u8; 5000];
        let tx_id = (tx != 0).then_some(TxId(tx));
        let n = r.encode(0, tx_id, &mut buf).expect("encode");
        let hdr = decode_header(&buf).unwrap();
        self.raw(d, hdr.ty, hdr.tx_id, &buf[HEADER_LEN..n])
    }

    pub fn read(&mut self, d: u16, path: &str) -> Reply {
        self.req(d, 0, Request::Read { path })
    }
    pub fn read_tx(&mut self, d: u16, tx: u32, path: &str) -> Reply {
        self.req(d, tx, Request::Read { path })
    }
    pub fn write(&mut self, d: u16, path: &str, v: &str) -> Reply {
        self.req(d, 0, Request::Write { path, value: v.as_bytes() })
    }
    pub fn write_tx(&mut self, d: u16, tx: u32, path: &str, v: &str) -> Reply {
        self.req(d, tx, Request::Write { path, value: v.as_bytes() })
    }
    pub fn mkdir(&mut self, d: u16, path: &str) -> Reply {
        self.req(d, 0, Request::Mkdir { path })
    }
    pub fn rm(&mut self, d: u16, path: &str) -> Reply {
        self.req(d, 0, Request::Rm { path })
    }
    pub fn dir(&mut self, d: u16, path: &str) -> Result<Vec<String>, i32> {
        self.req(d, 0, Request::Directory { path }).map(|p| strings(&p))
    }
    pub fn get_perms(&mut self, d: u16, path: &str) -> Result<Vec<String>, i32> {
        self.req(d, 0, Request::GetPerms { path }).map(|p| strings(&p))
    }
    /// Sets perms given as strings ("b1", "r2", ...).
    pub fn set_perms(&mut self, d: u16, path: &str, perms: &[&str]) -> Reply {
        let mut p = path.as_bytes().to_vec();
        p.push(0);
        for s in perms {
            p.extend_from_slice(s.as_bytes());
            p.push(0);
        }
        self.raw(d, msg::XS_SET_PERMS, 0, &p)
    }
    pub fn watch(&mut self, d: u16, path: &str, token: &str) -> Reply {
        self.req(d, 0, Request::Watch { path, token })
    }
    pub fn unwatch(&mut self, d: u16, path: &str, token: &str) -> Reply {
        self.req(d, 0, Request::Unwatch { path, token })
    }
    /// Starts a transaction; returns its id.
    pub fn start(&mut self, d: u16) -> Result<u32, i32> {
        self.req(d, 0, Request::TransactionStart).map(|p| {
            let s = std::str::from_utf8(&p).unwrap();
            s.trim_end_matches('\0').parse().unwrap()
        })
    }
    pub fn end(&mut self, d: u16, tx: u32, commit: bool) -> Reply {
        self.raw(d, msg::XS_TRANSACTION_END, tx, if commit { b"T\0" } else { b"F\0" })
    }

    /// Takes the events `d` received so far.
    pub fn take_events(&mut self, d: u16) -> Vec<(String, String)> {
        self.drain();
        self.events.remove(&d).unwrap_or_default()
    }
}

impl Default for H {
    fn default() -> Self {
        Self::new()
    }
}

pub fn strings(p: &[u8]) -> Vec<String> {
    if p.is_empty() {
        return Vec::new();
    }
    let s = std::str::from_utf8(p).unwrap();
    let s = s.strip_suffix('\0').expect("NUL-terminated");
    s.split('\0').map(String::from).collect()
}

pub fn ok() -> Reply {
    Ok(b"OK\0".to_vec())
}

pub fn val(s: &str) -> Reply {
    Ok(s.as_bytes().to_vec())
}

pub fn err(e: i32) -> Reply {
    Err(e)
}

pub fn ev(path: &str, token: &str) -> (String, String) {
    (path.into(), token.into())
}

pub fn errno(e: i32) -> Errno {
    Errno(e)
}
