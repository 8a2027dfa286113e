//! The xenstore client and the xenbus helper against an in-memory
//! xenstored, connected (a) directly in memory and (b) through the real
//! ring transport over a shared page that a server thread drains.
//!
//! The fake xenstored is a small model of Xen's: a tree of nodes with
//! values, permissions (owner + default access, per-domain entries) and
//! generation counts; relative paths under `/local/domain/<domid>`;
//! watches that fire on changes at or below the watched path (and once
//! when set); transactions that work on a snapshot and fail their commit
//! with `EAGAIN` when a node they read or wrote changed outside.

use pv_abi::abi::errno::*;
use pv_abi::abi::io::xenbus::XenbusState;
use pv_abi::abi::io::xs_wire::{msg, XenstoreDomainInterface, XsdSockmsg, XENSTORE_PAYLOAD_MAX, XENSTORE_RING_SIZE};
use pv_abi::xenbus::{self, XenbusEnd};
use pv_abi::xenstore::wire::{self, MsgReader};
use pv_abi::xenstore::{Access, Perm, ProtocolError, XsClient, XsError, XsRing, XsTransport};
use pv_abi::{DomId, Errno, Mfn, Port};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- the fake

fn frame(ty: u32, req_id: u32, tx_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + payload.len());
    for x in [ty, req_id, tx_id, payload.len() as u32] {
        v.extend_from_slice(&x.to_ne_bytes());
    }
    v.extend_from_slice(payload);
    v
}

#[derive(Clone, Debug)]
struct Node {
    value: Vec<u8>,
    perms: Vec<Perm>,
    gen: u64,
}

type Tree = BTreeMap<String, Node>;

struct Tx {
    base: Tree,
    cur: Tree,
    accessed: BTreeSet<String>,
}

struct Watch {
    wpath: String,
    abs: String,
    token: String,
}

struct Conn {
    domid: u16,
    watches: Vec<Watch>,
    txs: BTreeMap<u32, Tx>,
    reader: Box<MsgReader>,
    outbox: VecDeque<u8>,
    dead: bool,
}

struct Xenstored {
    tree: Tree,
    gen: u64,
    next_tx: u32,
    conns: Vec<Conn>,
    introduced: BTreeSet<u16>,
    /// Most bytes of names one DIRECTORY_PART reply carries.
    part_limit: usize,
    after_reply: Option<Vec<u8>>,
    requests: u64,
}

fn parent(p: &str) -> Option<&str> {
    if p == "/" || !p.starts_with('/') {
        return None;
    }
    let (head, _) = p.rsplit_once('/')?;
    Some(if head.is_empty() { "/" } else { head })
}

fn is_child(child: &str, parent: &str) -> bool {
    child == parent
        || (parent == "/" && child.starts_with('/'))
        || (child.len() > parent.len() && child.starts_with(parent) && child.as_bytes()[parent.len()] == b'/')
}

fn allowed(domid: u16, perms: &[Perm], write: bool) -> bool {
    if domid == 0 || perms[0].domid.0 == domid {
        return true;
    }
    let acc = perms[1..].iter().find(|p| p.domid.0 == domid).map_or(perms[0].access, |p| p.access);
    if write {
        acc.can_write()
    } else {
        acc.can_read()
    }
}

fn strings(p: &[u8]) -> Result<Vec<String>, i32> {
    match p.split_last() {
        None => Ok(vec![]),
        Some((&0, body)) => {
            body.split(|&b| b == 0).map(|s| String::from_utf8(s.to_vec()).map_err(|_| EINVAL)).collect()
        }
        Some(_) => Err(EINVAL),
    }
}

fn num(s: &str) -> Result<u64, i32> {
    s.parse().map_err(|_| EINVAL)
}

/// Operations on one view of the tree: the store, or a transaction's copy
/// (then every node touched is recorded for the commit-time check).
struct View<'a> {
    tree: &'a mut Tree,
    gen: &'a mut u64,
    acc: Option<&'a mut BTreeSet<String>>,
    changes: Vec<(String, bool)>,
    domid: u16,
}

impl View<'_> {
    fn touch(&mut self, p: &str) {
        if let Some(a) = self.acc.as_mut() {
            a.insert(p.to_owned());
        }
    }
    fn bump(&mut self) -> u64 {
        *self.gen += 1;
        *self.gen
    }
    fn need(&mut self, p: &str, write: bool) -> Result<(), i32> {
        self.touch(p);
        let n = self.tree.get(p).ok_or(ENOENT)?;
        if allowed(self.domid, &n.perms, write) {
            Ok(())
        } else {
            Err(EACCES)
        }
    }
    fn read(&mut self, p: &str) -> Result<Vec<u8>, i32> {
        self.need(p, false)?;
        Ok(self.tree[p].value.clone())
    }
    fn create(&mut self, p: &str) -> Result<(), i32> {
        let mut missing = vec![p.to_owned()];
        let mut anc = parent(p).ok_or(EINVAL)?.to_owned();
        loop {
            self.touch(&anc);
            if self.tree.contains_key(&anc) {
                break;
            }
            missing.push(anc.clone());
            anc = parent(&anc).ok_or(EINVAL)?.to_owned();
        }
        self.need(&anc, true)?;
        for m in missing.iter().rev() {
            let par = parent(m).unwrap().to_owned();
            let mut perms = self.tree[&par].perms.clone();
            perms[0].domid = DomId(self.domid);
            let g = self.bump();
            self.tree.insert(m.clone(), Node { value: vec![], perms, gen: g });
            let g = self.bump();
            self.tree.get_mut(&par).unwrap().gen = g;
            self.touch(m);
            self.changes.push((m.clone(), false));
        }
        Ok(())
    }
    fn write(&mut self, p: &str, v: &[u8]) -> Result<(), i32> {
        self.touch(p);
        if self.tree.contains_key(p) {
            self.need(p, true)?;
            self.changes.push((p.to_owned(), false));
        } else {
            self.create(p)?;
        }
        let g = self.bump();
        let n = self.tree.get_mut(p).unwrap();
        n.value = v.to_vec();
        n.gen = g;
        Ok(())
    }
    fn mkdir(&mut self, p: &str) -> Result<(), i32> {
        self.touch(p);
        if self.tree.contains_key(p) {
            return Ok(());
        }
        self.create(p)
    }
    fn rm(&mut self, p: &str) -> Result<(), i32> {
        self.touch(p);
        if !self.tree.contains_key(p) {
            let par = parent(p).ok_or(EINVAL)?;
            self.touch(par);
            return if self.tree.contains_key(par) { Ok(()) } else { Err(ENOENT) };
        }
        let par = parent(p).ok_or(EINVAL)?.to_owned();
        self.need(p, true)?;
        let doomed: Vec<String> = self.tree.keys().filter(|k| is_child(k, p)).cloned().collect();
        for k in doomed {
            self.touch(&k);
            self.tree.remove(&k);
        }
        let g = self.bump();
        self.touch(&par);
        self.tree.get_mut(&par).unwrap().gen = g;
        self.changes.push((p.to_owned(), true));
        Ok(())
    }
    fn children(&self, p: &str) -> Vec<String> {
        let prefix = if p == "/" { "/".to_owned() } else { format!("{p}/") };
        self.tree
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .filter_map(|k| {
                let rest = &k[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
            })
            .collect()
    }
    fn directory(&mut self, p: &str) -> Result<Vec<u8>, i32> {
        self.need(p, false)?;
        Ok(self.children(p).iter().flat_map(|c| format!("{c}\0").into_bytes()).collect())
    }
    fn directory_part(&mut self, p: &str, off: usize, limit: usize) -> Result<Vec<u8>, i32> {
        self.need(p, false)?;
        let list: Vec<u8> = self.children(p).iter().flat_map(|c| format!("{c}\0").into_bytes()).collect();
        if off > list.len() {
            return Err(EINVAL);
        }
        let mut out = format!("{}\0", self.tree[p].gen).into_bytes();
        let mut end = off;
        for name in list[off..].split_inclusive(|&b| b == 0) {
            if end > off && end - off + name.len() > limit {
                break;
            }
            end += name.len();
        }
        out.extend_from_slice(&list[off..end]);
        if end == list.len() {
            out.push(0);
        }
        Ok(out)
    }
    fn get_perms(&mut self, p: &str) -> Result<Vec<u8>, i32> {
        self.need(p, false)?;
        Ok(self.tree[p].perms.iter().map(|p| format!("{p}\0")).collect::<String>().into_bytes())
    }
    fn set_perms(&mut self, p: &str, perms: Vec<Perm>) -> Result<(), i32> {
        self.touch(p);
        let n = self.tree.get(p).ok_or(ENOENT)?;
        if self.domid != 0 && n.perms[0].domid.0 != self.domid {
            return Err(EACCES);
        }
        let g = self.bump();
        let n = self.tree.get_mut(p).unwrap();
        n.perms = perms;
        n.gen = g;
        self.changes.push((p.to_owned(), false));
        Ok(())
    }
}

impl Xenstored {
    fn new() -> Self {
        let mut s = Xenstored {
            tree: Tree::new(),
            gen: 0,
            next_tx: 1,
            conns: vec![],
            introduced: BTreeSet::new(),
            part_limit: 4000,
            after_reply: None,
            requests: 0,
        };
        let r0 = vec![Perm::new(Access::Read, DomId(0))];
        for p in ["/", "/local", "/local/domain"] {
            s.tree.insert(p.into(), Node { value: vec![], perms: r0.clone(), gen: 0 });
        }
        s.tree.insert(
            "/secret".into(),
            Node { value: b"s".to_vec(), perms: vec![Perm::new(Access::None, DomId(0))], gen: 0 },
        );
        s
    }

    fn connect(&mut self, domid: u16) -> usize {
        self.conns.push(Conn {
            domid,
            watches: vec![],
            txs: BTreeMap::new(),
            reader: Box::new(MsgReader::new()),
            outbox: VecDeque::new(),
            dead: false,
        });
        self.conns.len() - 1
    }

    /// Toolstack-style setup: a node with a value and permissions.
    fn put(&mut self, path: &str, value: &str, perms: &[Perm]) {
        let mut v = View { tree: &mut self.tree, gen: &mut self.gen, acc: None, changes: vec![], domid: 0 };
        v.write(path, value.as_bytes()).unwrap();
        v.set_perms(path, perms.to_vec()).unwrap();
    }

    fn abs(domid: u16, p: &str) -> Result<String, i32> {
        let ok_chars = p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-/_@".contains(&b));
        if p.is_empty() || !ok_chars || p.contains("//") || (p.len() > 1 && p.ends_with('/')) {
            return Err(EINVAL);
        }
        Ok(if p.starts_with('/') { p.to_owned() } else { format!("/local/domain/{domid}/{p}") })
    }

    fn input(&mut self, c: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.conns[c].dead {
            let n = match self.conns[c].reader.push(bytes) {
                Ok(n) => n,
                Err(_) => {
                    self.conns[c].dead = true;
                    return;
                }
            };
            bytes = &bytes[n..];
            let Some((h, p)) = self.conns[c].reader.message() else {
                if n == 0 {
                    return;
                }
                continue;
            };
            let p = p.to_vec();
            self.conns[c].reader.consume();
            self.handle(c, h, &p);
        }
    }

    fn handle(&mut self, c: usize, h: XsdSockmsg, p: &[u8]) {
        self.requests += 1;
        let out = match self.dispatch(c, &h, p) {
            Ok(v) => frame(h.ty, h.req_id, h.tx_id, &v),
            Err(e) => {
                let name = wire::error_name(Errno(e)).unwrap();
                frame(msg::XS_ERROR, h.req_id, h.tx_id, format!("{name}\0").as_bytes())
            }
        };
        self.conns[c].outbox.extend(out);
        if let Some(ev) = self.after_reply.take() {
            self.conns[c].outbox.extend(ev);
        }
    }

    fn with_view<R>(&mut self, c: usize, tx_id: u32, f: impl FnOnce(&mut View) -> Result<R, i32>) -> Result<R, i32> {
        let Xenstored { tree, gen, conns, .. } = self;
        let domid = conns[c].domid;
        let (r, changes) = if tx_id == 0 {
            let mut v = View { tree, gen, acc: None, changes: vec![], domid };
            let r = f(&mut v);
            (r, v.changes)
        } else {
            let tx = conns[c].txs.get_mut(&tx_id).ok_or(ENOENT)?;
            let mut v = View { tree: &mut tx.cur, gen, acc: Some(&mut tx.accessed), changes: vec![], domid };
            (f(&mut v), vec![])
        };
        for (p, rm) in changes {
            self.fire(&p, rm);
        }
        r
    }

    fn fire(&mut self, path: &str, rm: bool) {
        for conn in &mut self.conns {
            let home = format!("/local/domain/{}/", conn.domid);
            for w in &conn.watches {
                let hit = if is_child(path, &w.abs) {
                    path.to_owned()
                } else if rm && is_child(&w.abs, path) {
                    w.abs.clone()
                } else {
                    continue;
                };
                let shown = if w.wpath.starts_with('/') || w.wpath.starts_with('@') {
                    hit
                } else {
                    hit.strip_prefix(&home).unwrap_or(&hit).to_owned()
                };
                let ev = format!("{shown}\0{}\0", w.token);
                conn.outbox.extend(frame(msg::XS_WATCH_EVENT, 0, 0, ev.as_bytes()));
            }
        }
    }

    fn commit(&mut self, tx: Tx) -> Result<(), i32> {
        for p in &tx.accessed {
            if self.tree.get(p).map(|n| n.gen) != tx.base.get(p).map(|n| n.gen) {
                return Err(EAGAIN);
            }
        }
        for p in &tx.accessed {
            let (before, after) = (tx.base.get(p), tx.cur.get(p));
            let differs = match (before, after) {
                (Some(b), Some(a)) => b.value != a.value || b.perms != a.perms,
                (None, None) => false,
                _ => true,
            };
            match after {
                Some(n) => self.tree.insert(p.clone(), n.clone()),
                None => self.tree.remove(p),
            };
            if differs {
                self.fire(p, after.is_none());
            }
        }
        Ok(())
    }

    fn dispatch(&mut self, c: usize, h: &XsdSockmsg, p: &[u8]) -> Result<Vec<u8>, i32> {
        let domid = self.conns[c].domid;
        let ok = b"OK\0".to_vec();
        let dom0 = |d: u16| if d == 0 { Ok(()) } else { Err(EACCES) };
        match h.ty {
            msg::XS_READ | msg::XS_MKDIR | msg::XS_RM | msg::XS_DIRECTORY | msg::XS_GET_PERMS => {
                let [path] = <[String; 1]>::try_from(strings(p)?).map_err(|_| EINVAL)?;
                let path = Self::abs(domid, &path)?;
                let ty = h.ty;
                let ok2 = ok.clone();
                self.with_view(c, h.tx_id, move |v| match ty {
                    msg::XS_READ => v.read(&path),
                    msg::XS_MKDIR => v.mkdir(&path).map(|_| ok2),
                    msg::XS_RM => v.rm(&path).map(|_| ok2),
                    msg::XS_DIRECTORY => v.directory(&path),
                    _ => v.get_perms(&path),
                })
            }
            msg::XS_WRITE => {
                let nul = p.iter().position(|&b| b == 0).ok_or(EINVAL)?;
                let path = String::from_utf8(p[..nul].to_vec()).map_err(|_| EINVAL)?;
                let path = Self::abs(domid, &path)?;
                let value = p[nul + 1..].to_vec();
                self.with_view(c, h.tx_id, |v| v.write(&path, &value)).map(|_| ok)
            }
            msg::XS_DIRECTORY_PART => {
                let [path, off] = <[String; 2]>::try_from(strings(p)?).map_err(|_| EINVAL)?;
                let path = Self::abs(domid, &path)?;
                let off = num(&off)? as usize;
                let limit = self.part_limit;
                self.with_view(c, h.tx_id, |v| v.directory_part(&path, off, limit))
            }
            msg::XS_SET_PERMS => {
                let a = strings(p)?;
                let (path, perms) = a.split_first().ok_or(EINVAL)?;
                let path = Self::abs(domid, path)?;
                let perms: Vec<Perm> =
                    perms.iter().map(|s| Perm::parse(s).map_err(|_| EINVAL)).collect::<Result<_, _>>()?;
                if perms.is_empty() {
                    return Err(EINVAL);
                }
                self.with_view(c, h.tx_id, |v| v.set_perms(&path, perms)).map(|_| ok)
            }
            msg::XS_WATCH | msg::XS_UNWATCH => {
                let a = strings(p)?;
                let [wpath, token] = <[String; 2]>::try_from(a).map_err(|_| EINVAL)?;
                let abs = if wpath.starts_with('@') { wpath.clone() } else { Self::abs(domid, &wpath)? };
                let ws = &mut self.conns[c].watches;
                let at = ws.iter().position(|w| w.wpath == wpath && w.token == token);
                if h.ty == msg::XS_WATCH {
                    if at.is_some() {
                        return Err(EEXIST);
                    }
                    let ev = format!("{wpath}\0{token}\0");
                    self.after_reply = Some(frame(msg::XS_WATCH_EVENT, 0, 0, ev.as_bytes()));
                    ws.push(Watch { wpath, abs, token });
                } else {
                    ws.remove(at.ok_or(ENOENT)?);
                }
                Ok(ok)
            }
            msg::XS_TRANSACTION_START => {
                if h.tx_id != 0 || p != b"\0" {
                    return Err(EINVAL);
                }
                let id = self.next_tx;
                self.next_tx += 1;
                let tx = Tx { base: self.tree.clone(), cur: self.tree.clone(), accessed: BTreeSet::new() };
                self.conns[c].txs.insert(id, tx);
                Ok(format!("{id}\0").into_bytes())
            }
            msg::XS_TRANSACTION_END => {
                let tx = self.conns[c].txs.remove(&h.tx_id).ok_or(ENOENT)?;
                match p {
                    b"T\0" => self.commit(tx).map(|_| ok),
                    b"F\0" => Ok(ok),
                    _ => Err(EINVAL),
                }
            }
            msg::XS_INTRODUCE => {
                dom0(domid)?;
                let [d, mfn, port] = <[String; 3]>::try_from(strings(p)?).map_err(|_| EINVAL)?;
                let (d, _, _) = (num(&d)? as u16, num(&mfn)?, num(&port)?);
                self.introduced.insert(d);
                self.fire("@introduceDomain", false);
                Ok(ok)
            }
            msg::XS_RELEASE => {
                dom0(domid)?;
                let [d] = <[String; 1]>::try_from(strings(p)?).map_err(|_| EINVAL)?;
                if !self.introduced.remove(&(num(&d)? as u16)) {
                    return Err(ENOENT);
                }
                self.fire("@releaseDomain", false);
                Ok(ok)
            }
            msg::XS_GET_DOMAIN_PATH => {
                let [d] = <[String; 1]>::try_from(strings(p)?).map_err(|_| EINVAL)?;
                Ok(format!("/local/domain/{}\0", num(&d)?).into_bytes())
            }
            msg::XS_IS_DOMAIN_INTRODUCED => {
                dom0(domid)?;
                let [d] = <[String; 1]>::try_from(strings(p)?).map_err(|_| EINVAL)?;
                let yes = self.introduced.contains(&(num(&d)? as u16));
                Ok(if yes { b"T\0".to_vec() } else { b"F\0".to_vec() })
            }
            msg::XS_RESET_WATCHES => {
                self.conns[c].watches.clear();
                self.conns[c].txs.clear();
                Ok(ok)
            }
            _ => Err(ENOSYS),
        }
    }
}

struct Shared {
    store: Mutex<Xenstored>,
    cv: Condvar,
}

fn shared() -> Arc<Shared> {
    Arc::new(Shared { store: Mutex::new(Xenstored::new()), cv: Condvar::new() })
}

// ---------------------------------------------------------- transports

/// (a) Direct: bytes go straight into the fake, which answers at once;
/// `chunk` limits how much each send/recv moves, to exercise streaming.
struct Direct {
    sh: Arc<Shared>,
    conn: usize,
    chunk: usize,
}

fn direct(sh: &Arc<Shared>, domid: u16) -> XsClient<Direct> {
    direct_chunked(sh, domid, usize::MAX)
}

fn direct_chunked(sh: &Arc<Shared>, domid: u16, chunk: usize) -> XsClient<Direct> {
    let conn = sh.store.lock().unwrap().connect(domid);
    XsClient::new(Direct { sh: sh.clone(), conn, chunk })
}

impl XsTransport for Direct {
    fn send(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        let n = bytes.len().min(self.chunk);
        self.sh.store.lock().unwrap().input(self.conn, &bytes[..n]);
        self.sh.cv.notify_all();
        Ok(n)
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, XsError> {
        let mut s = self.sh.store.lock().unwrap();
        let out = &mut s.conns[self.conn].outbox;
        let n = buf.len().min(out.len()).min(self.chunk);
        for (d, b) in buf.iter_mut().zip(out.drain(..n)) {
            *d = b;
        }
        Ok(n)
    }
    fn wait(&mut self) -> Result<(), XsError> {
        let deadline = Instant::now() + TIMEOUT;
        let mut s = self.sh.store.lock().unwrap();
        while s.conns[self.conn].outbox.is_empty() {
            let left = deadline.checked_duration_since(Instant::now());
            let Some(left) = left else {
                return Err(XsError::Transport(Errno(ETIMEDOUT)));
            };
            s = self.sh.cv.wait_timeout(s, left).unwrap().0;
        }
        Ok(())
    }
}

/// An event channel between two threads: a pending flag and a condvar.
#[derive(Default)]
struct Event {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Event {
    fn notify(&self) {
        *self.pending.lock().unwrap() = true;
        self.cv.notify_all();
    }
    fn wait(&self, timeout: Duration) -> bool {
        let mut p = self.pending.lock().unwrap();
        if !*p {
            p = self.cv.wait_timeout(p, timeout).unwrap().0;
        }
        std::mem::take(&mut *p)
    }
}

#[derive(Clone, Copy)]
struct PagePtr(*mut XenstoreDomainInterface);
// SAFETY: the page is only reached through `XsRing` (atomic indices,
// bytes under the ring protocol) or after both ends stopped.
unsafe impl Send for PagePtr {}

fn new_page(start: u32) -> PagePtr {
    let page = Box::new(XenstoreDomainInterface {
        req: [0; XENSTORE_RING_SIZE],
        rsp: [0; XENSTORE_RING_SIZE],
        req_cons: start,
        req_prod: start,
        rsp_cons: start,
        rsp_prod: start,
        server_features: 0,
        connection: 0,
        error: 0,
    });
    PagePtr(Box::leak(page))
}

/// (b) The ring: a server thread serves one connection of the fake over
/// a shared page; the client uses the real `XsRing`.
struct RingServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), XsError>>>,
    page: PagePtr,
}

impl RingServer {
    fn finish(mut self) -> Result<(), XsError> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
    fn index(&self, f: fn(*mut XenstoreDomainInterface) -> *mut u32) -> u32 {
        // SAFETY: the page is leaked (never freed); the index is only
        // accessed atomically by both ends.
        unsafe { AtomicU32::from_ptr(f(self.page.0)).load(Ordering::Acquire) }
    }
}

impl Drop for RingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn ring_client(sh: &Arc<Shared>, domid: u16, start: u32) -> (XsClient<impl XsTransport>, RingServer) {
    let page = new_page(start);
    let conn = sh.store.lock().unwrap().connect(domid);
    let to_server = Arc::new(Event::default());
    let to_client = Arc::new(Event::default());
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (sh, to_server, to_client, stop) = (sh.clone(), to_server.clone(), to_client.clone(), stop.clone());
        std::thread::spawn(move || -> Result<(), XsError> {
            let page = page;
            // SAFETY: the page is leaked, so valid forever; this is the
            // only store end, the client the only domain end.
            let mut ring = unsafe { XsRing::store(page.0, || to_client.notify(), || Ok(())) };
            let mut buf = [0u8; 700];
            while !stop.load(Ordering::Relaxed) {
                let n = ring.recv(&mut buf)?;
                let mut s = sh.store.lock().unwrap();
                if n > 0 {
                    s.input(conn, &buf[..n]);
                    sh.cv.notify_all();
                }
                let out = &mut s.conns[conn].outbox;
                let mut m = 0;
                if !out.is_empty() {
                    m = ring.send(out.as_slices().0)?;
                    out.drain(..m);
                }
                drop(s);
                if n == 0 && m == 0 {
                    to_server.wait(Duration::from_millis(2));
                }
            }
            Ok(())
        })
    };
    // SAFETY: as above; this is the only domain end of the page.
    let ring = unsafe {
        XsRing::domain(
            page.0,
            move || to_server.notify(),
            move || {
                if to_client.wait(TIMEOUT) {
                    Ok(())
                } else {
                    Err(XsError::Transport(Errno(ETIMEDOUT)))
                }
            },
        )
    };
    (XsClient::new(ring), RingServer { stop, thread: Some(thread), page })
}

/// A scripted peer: replies are preloaded; nothing else ever arrives.
#[derive(Default)]
struct Script {
    incoming: VecDeque<u8>,
    sent: Vec<u8>,
}

impl Script {
    fn with(msgs: &[Vec<u8>]) -> XsClient<Script> {
        XsClient::new(Script { incoming: msgs.concat().into(), sent: vec![] })
    }
}

impl XsTransport for Script {
    fn send(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        self.sent.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, XsError> {
        let n = buf.len().min(self.incoming.len());
        for (d, b) in buf.iter_mut().zip(self.incoming.drain(..n)) {
            *d = b;
        }
        Ok(n)
    }
    fn wait(&mut self) -> Result<(), XsError> {
        Err(XsError::Transport(Errno(ETIMEDOUT)))
    }
}

// ---------------------------------------------------------------- helpers

fn store_err(e: i32) -> XsError {
    XsError::Store(Errno(e))
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> Vec<String> {
    it.map(str::to_owned).collect()
}

/// Gives domain `d` its home directory, as the toolstack does.
fn make_home(sh: &Arc<Shared>, d: u16) {
    let home = format!("/local/domain/{d}");
    sh.store.lock().unwrap().put(&home, "", &[Perm::new(Access::None, DomId(d)), Perm::new(Access::Read, DomId(0))]);
}

/// Every operation of the client, from domain 1's side.
fn exercise_all_ops<T: XsTransport, const Q: usize>(c: &mut XsClient<T, Q>) {
    let none = None;
    assert_eq!(c.get_domain_path(DomId(1)).unwrap(), "/local/domain/1");

    // write/read, relative and absolute, empty and binary values.
    c.write(none, "data/k", b"v1").unwrap();
    assert_eq!(c.read(none, "data/k").unwrap(), b"v1");
    assert_eq!(c.read(none, "/local/domain/1/data/k").unwrap(), b"v1");
    c.write(none, "data/empty", b"").unwrap();
    assert_eq!(c.read(none, "data/empty").unwrap(), b"");
    c.write(none, "data/bin", b"\x00\xff\x01").unwrap();
    assert_eq!(c.read(none, "data/bin").unwrap(), b"\x00\xff\x01");
    c.write_str(none, "data/s", "hello").unwrap();
    assert_eq!(c.read_str(none, "data/s").unwrap(), "hello");
    c.write_fmt(none, "data/n", format_args!("{}", 51712)).unwrap();
    assert_eq!(c.read_parse::<u32>(none, "data/n").unwrap(), 51712);
    assert_eq!(c.read_parse::<u32>(none, "data/s"), Err(XsError::Protocol(ProtocolError::BadValue)));
    // Large value: bigger than the ring, streamed in pieces.
    let big: Vec<u8> = (0..3500u32).map(|i| b'a' + (i % 26) as u8).collect();
    c.write(none, "data/big", &big).unwrap();
    assert_eq!(c.read(none, "data/big").unwrap(), &big[..]);

    // mkdir, directory, rm, exists.
    c.mkdir(none, "data/dir/sub").unwrap();
    c.mkdir(none, "data/dir").unwrap();
    assert!(c.exists(none, "data/dir/sub").unwrap());
    assert_eq!(names(c.directory(none, "data").unwrap()), ["big", "bin", "dir", "empty", "k", "n", "s"]);
    assert_eq!(names(c.directory(none, "data/dir/sub").unwrap()), Vec::<String>::new());
    c.rm(none, "data/dir").unwrap();
    assert!(!c.exists(none, "data/dir/sub").unwrap());
    assert!(!c.exists(none, "data/dir").unwrap());
    c.rm(none, "data/dir").unwrap(); // gone already, parent exists: fine
    assert_eq!(c.rm(none, "data/nope/x"), Err(store_err(ENOENT)));

    // directory_part, in several parts.
    for i in 0..20 {
        c.write_fmt(none, &format!("list/entry{i:02}"), format_args!("{i}")).unwrap();
    }
    let mut all = vec![];
    let mut off = 0;
    loop {
        let part = c.directory_part(none, "list", off).unwrap();
        all.extend(names(part.children.clone()));
        off += part.len;
        if part.done {
            break;
        }
    }
    assert_eq!(all, (0..20).map(|i| format!("entry{i:02}")).collect::<Vec<_>>());

    // Permissions.
    let owner = [Perm::new(Access::None, DomId(1)), Perm::new(Access::Read, DomId(0))];
    assert!(c.get_perms(none, "data/k").unwrap().eq(owner));
    let newp = [Perm::new(Access::Read, DomId(1)), Perm::new(Access::Both, DomId(2))];
    c.set_perms(none, "data/k", &newp).unwrap();
    assert!(c.get_perms(none, "data/k").unwrap().eq(newp));

    // Watches: the initial event, events below the path, relative paths.
    assert_eq!(c.next_watch_event().unwrap(), None);
    c.watch("data", "tok").unwrap();
    let e = c.wait_watch_event().unwrap();
    assert_eq!((e.path, e.token), ("data", "tok"));
    c.write(none, "data/k2", b"x").unwrap();
    let e = c.wait_watch_event().unwrap();
    assert_eq!((e.path, e.token), ("data/k2", "tok"));
    c.watch("/local/domain/1/data/k2", "abs").unwrap();
    c.rm(none, "data").unwrap();
    let mut got = vec![];
    while let Some(e) = c.next_watch_event().unwrap() {
        got.push((e.path.to_owned(), e.token.to_owned()));
    }
    assert_eq!(
        got,
        [
            ("/local/domain/1/data/k2".into(), "abs".into()), // initial
            ("data".into(), "tok".into()),
            ("/local/domain/1/data/k2".into(), "abs".into()), // parent removed
        ]
    );
    c.unwatch("data", "tok").unwrap();
    assert_eq!(c.unwatch("data", "tok"), Err(store_err(ENOENT)));
    c.write(none, "data/k3", b"y").unwrap();
    let e = c.next_watch_event().unwrap().map(|e| e.path.to_owned());
    assert_eq!(e, None, "no event after unwatch of the parent watch");
    c.reset_watches().unwrap();
    c.write(none, "data/k2", b"z").unwrap();
    assert_eq!(c.next_watch_event().unwrap(), None);

    // Transactions: invisible until committed; abort discards.
    let tx = c.transaction_start().unwrap();
    c.write(Some(tx), "txdata/a", b"1").unwrap();
    assert_eq!(c.read(Some(tx), "txdata/a").unwrap(), b"1");
    assert_eq!(c.read(none, "txdata/a"), Err(store_err(ENOENT)));
    c.transaction_end(tx, true).unwrap();
    assert_eq!(c.read(none, "txdata/a").unwrap(), b"1");
    let tx = c.transaction_start().unwrap();
    c.write(Some(tx), "txdata/a", b"2").unwrap();
    c.rm(Some(tx), "txdata").unwrap();
    c.transaction_end(tx, false).unwrap();
    assert_eq!(c.read(none, "txdata/a").unwrap(), b"1");
    assert_eq!(c.transaction_end(tx, true), Err(store_err(ENOENT)), "tx id is gone");
    let r = c.transaction(|c, tx| {
        let v = c.read(Some(tx), "txdata/a")?.to_vec();
        c.write(Some(tx), "txdata/b", &v)?;
        Ok(v.len())
    });
    assert_eq!(r, Ok(1));
    assert_eq!(c.read(none, "txdata/b").unwrap(), b"1");
    // An error inside the closure aborts and is returned.
    let r: Result<(), _> = c.transaction(|c, tx| {
        c.write(Some(tx), "txdata/c", b"1")?;
        c.read(Some(tx), "txdata/missing").map(|_| ())
    });
    assert_eq!(r, Err(store_err(ENOENT)));
    assert!(!c.exists(none, "txdata/c").unwrap());

    assert_eq!(c.stats(), Default::default());
}

// ---------------------------------------------------------------- tests

#[test]
fn every_operation_direct() {
    let sh = shared();
    make_home(&sh, 1);
    let mut c = direct(&sh, 1);
    exercise_all_ops(&mut c);
}

#[test]
fn every_operation_direct_in_small_pieces() {
    let sh = shared();
    make_home(&sh, 1);
    sh.store.lock().unwrap().part_limit = 40;
    let mut c = direct_chunked(&sh, 1, 7);
    exercise_all_ops(&mut c);
}

#[test]
fn every_operation_over_the_ring_across_the_index_wrap() {
    let sh = shared();
    make_home(&sh, 1);
    sh.store.lock().unwrap().part_limit = 40;
    let start = u32::MAX - 300;
    let (mut c, server) = ring_client(&sh, 1, start);
    exercise_all_ops(&mut c);
    drop(c);
    let req_prod = server.index(|p| index_ptr(p, 0));
    let rsp_cons = server.index(|p| index_ptr(p, 2));
    server.finish().unwrap();
    // Both free-running indices went past 2^32 and wrapped.
    assert!(req_prod < start, "req_prod {req_prod}");
    assert!(rsp_cons < start, "rsp_cons {rsp_cons}");
}

/// Address of `req_prod` (0), `req_cons` (1), `rsp_cons` (2) or
/// `rsp_prod` (3) without creating a reference.
fn index_ptr(p: *mut XenstoreDomainInterface, which: u8) -> *mut u32 {
    // SAFETY: `p` is a leaked, live page; `addr_of_mut!` creates no
    // reference.
    unsafe {
        match which {
            0 => std::ptr::addr_of_mut!((*p).req_prod),
            1 => std::ptr::addr_of_mut!((*p).req_cons),
            2 => std::ptr::addr_of_mut!((*p).rsp_cons),
            _ => std::ptr::addr_of_mut!((*p).rsp_prod),
        }
    }
}

#[test]
fn dom0_operations() {
    let sh = shared();
    let mut c = direct(&sh, 0);
    let mut u = direct(&sh, 5);
    c.watch("@introduceDomain", "intro").unwrap();
    c.watch("@releaseDomain", "rel").unwrap();
    assert_eq!(c.wait_watch_event().unwrap().token, "intro");
    assert_eq!(c.wait_watch_event().unwrap().token, "rel");
    assert!(!c.is_domain_introduced(DomId(5)).unwrap());
    c.introduce(DomId(5), Mfn(0x12345), Port(3)).unwrap();
    assert!(c.is_domain_introduced(DomId(5)).unwrap());
    let e = c.wait_watch_event().unwrap();
    assert_eq!((e.path, e.token), ("@introduceDomain", "intro"));
    c.release(DomId(5)).unwrap();
    assert!(!c.is_domain_introduced(DomId(5)).unwrap());
    assert_eq!(c.wait_watch_event_for("rel").unwrap().path, "@releaseDomain");
    assert_eq!(c.release(DomId(5)), Err(store_err(ENOENT)));
    // Only dom0 may.
    assert_eq!(u.introduce(DomId(6), Mfn(1), Port(1)), Err(store_err(EACCES)));
    assert_eq!(u.release(DomId(6)), Err(store_err(EACCES)));
    assert_eq!(u.get_domain_path(DomId(7)).unwrap(), "/local/domain/7");
}

#[test]
fn errors_map_to_errno() {
    let sh = shared();
    make_home(&sh, 1);
    let mut c = direct(&sh, 1);
    let mut d0 = direct(&sh, 0);
    assert_eq!(c.read(None, "missing"), Err(store_err(ENOENT)));
    assert_eq!(c.read(None, "/secret"), Err(store_err(EACCES)));
    assert_eq!(c.write(None, "/secret", b"x"), Err(store_err(EACCES)));
    assert_eq!(c.write(None, "/local/new", b"x"), Err(store_err(EACCES)), "/local is r0");
    assert_eq!(c.set_perms(None, "/secret", &[Perm::new(Access::Both, DomId(1))]), Err(store_err(EACCES)));
    assert_eq!(c.read(None, "bad//path"), Err(store_err(EINVAL)));
    assert_eq!(c.watch("data", "t").and(c.watch("data", "t")), Err(store_err(EEXIST)));
    // dom0 bypasses permissions.
    assert_eq!(d0.read(None, "/secret").unwrap(), b"s");
    // Granting access by a per-domain entry.
    d0.set_perms(None, "/secret", &[Perm::new(Access::None, DomId(0)), Perm::new(Access::Read, DomId(1))]).unwrap();
    assert_eq!(c.read(None, "/secret").unwrap(), b"s");
    assert_eq!(c.write(None, "/secret", b"x"), Err(store_err(EACCES)));
    // The errno a C caller sees.
    assert_eq!(Errno::from(store_err(EACCES)), Errno(EACCES));
    assert_eq!(XsError::Protocol(ProtocolError::MissingNul).errno(), Errno(EIO));
    // Errors do not break the connection.
    assert_eq!(c.broken(), None);
    c.write(None, "ok", b"1").unwrap();
}

#[test]
fn commit_conflict_is_eagain_and_the_helper_retries() {
    let sh = shared();
    make_home(&sh, 1);
    let mut c = direct(&sh, 1);
    let mut other = direct(&sh, 0);
    c.write(None, "cfg/a", b"1").unwrap();

    // A node read in the transaction changes outside it: EAGAIN.
    let tx = c.transaction_start().unwrap();
    assert_eq!(c.read(Some(tx), "cfg/a").unwrap(), b"1");
    other.write(None, "/local/domain/1/cfg/a", b"2").unwrap();
    c.write(Some(tx), "cfg/b", b"from-tx").unwrap();
    let r = c.transaction_end(tx, true);
    assert_eq!(r, Err(store_err(EAGAIN)));
    assert!(r.unwrap_err().is_store(EAGAIN));
    assert!(!c.exists(None, "cfg/b").unwrap(), "a failed commit changes nothing");

    // Unrelated outside writes do not conflict.
    let tx = c.transaction_start().unwrap();
    c.read(Some(tx), "cfg/a").unwrap();
    other.write(None, "/elsewhere", b"x").unwrap();
    c.write(Some(tx), "cfg/b", b"ok").unwrap();
    c.transaction_end(tx, true).unwrap();

    // The helper redoes the whole transaction.
    let mut attempts = 0;
    let r = c.transaction(|c, tx| {
        attempts += 1;
        let v: u32 = c.read_parse(Some(tx), "cfg/a")?;
        if attempts == 1 {
            other.write(None, "/local/domain/1/cfg/a", b"10")?;
        }
        c.write_fmt(Some(tx), "cfg/sum", format_args!("{}", v + 1))?;
        Ok(v)
    });
    assert_eq!(r, Ok(10));
    assert_eq!(attempts, 2);
    assert_eq!(c.read_str(None, "cfg/sum").unwrap(), "11");

    // A transaction that always conflicts gives up with EAGAIN.
    let mut n = 0;
    let r = c.transaction(|c, tx| {
        n += 1;
        c.read(Some(tx), "cfg/a")?;
        other.write(None, "/local/domain/1/cfg/a", format!("{n}").as_bytes())?;
        Ok(())
    });
    assert_eq!(r, Err(store_err(EAGAIN)));
    assert_eq!(n, pv_abi::xenstore::client::MAX_TX_RETRIES);
}

#[test]
fn watch_events_during_a_request_are_queued() {
    let sh = shared();
    make_home(&sh, 1);
    let mut c = direct(&sh, 1);
    let mut d0 = direct(&sh, 0);
    d0.mkdir(None, "/local/domain/1/a").unwrap();
    d0.mkdir(None, "/local/domain/1/b").unwrap();
    c.watch("a", "ta").unwrap();
    c.watch("b", "tb").unwrap();
    // Events sit in the stream before the reply to the next request.
    d0.write(None, "/local/domain/1/a/x", b"1").unwrap();
    d0.write(None, "/local/domain/1/b/y", b"2").unwrap();
    d0.write(None, "/local/domain/1/a/z", b"3").unwrap();
    // (The nodes dom0 created are its own: domain 1 may not read them.)
    assert_eq!(c.read(None, "a/x"), Err(store_err(EACCES)));
    assert_eq!(c.get_domain_path(DomId(1)).unwrap(), "/local/domain/1");
    assert_eq!(c.pending_watch_events(), 5);
    // Filtered by token; the others keep their order.
    let e = c.next_watch_event_for("tb").unwrap().unwrap();
    assert_eq!((e.path, e.token), ("b", "tb"));
    let e = c.wait_watch_event_for("tb").unwrap();
    assert_eq!(e.path, "b/y");
    let mut rest = vec![];
    while let Some(e) = c.next_watch_event().unwrap() {
        rest.push(e.path.to_owned());
    }
    assert_eq!(rest, ["a", "a/x", "a/z"]);
    // Blocking wait for an event produced by another thread.
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        d0.write(None, "/local/domain/1/a/late", b"4").unwrap();
    });
    assert_eq!(c.wait_watch_event().unwrap().path, "a/late");
    t.join().unwrap();
}

#[test]
fn watch_events_while_streaming_over_the_ring() {
    let sh = shared();
    make_home(&sh, 1);
    let (mut c, server) = ring_client(&sh, 1, u32::MAX - 5);
    let mut d0 = direct(&sh, 0);
    c.watch("w", "t").unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..50 {
            d0.write(None, &format!("/local/domain/1/w/n{i}"), b"v").unwrap();
        }
    });
    // Big requests and replies cross the 1 KiB ring while events arrive.
    let big = vec![b'q'; XENSTORE_PAYLOAD_MAX - 10];
    for _ in 0..5 {
        c.write(None, "big", &big).unwrap();
        assert_eq!(c.read(None, "big").unwrap().len(), big.len());
    }
    writer.join().unwrap();
    let mut seen = BTreeSet::new();
    while seen.len() < 51 {
        seen.insert(c.wait_watch_event().unwrap().path.to_owned());
    }
    assert!(seen.contains("w") && seen.contains("w/n49"));
    assert_eq!(c.stats(), Default::default());
    drop(c);
    server.finish().unwrap();
}

#[test]
fn oversize_requests_are_refused_client_side() {
    let mut c = Script::with(&[frame(msg::XS_READ, 1, 0, b"v")]);
    let big = vec![b'x'; XENSTORE_PAYLOAD_MAX];
    assert_eq!(c.write(None, "/k", &big), Err(XsError::Invalid(Errno(E2BIG))));
    let long = "a".repeat(3073);
    let long = format!("/{long}");
    assert_eq!(c.read(None, &long), Err(XsError::Invalid(Errno(ENAMETOOLONG))));
    assert_eq!(c.read(None, ""), Err(XsError::Invalid(Errno(EINVAL))));
    assert_eq!(c.watch("/a", "t\0"), Err(XsError::Invalid(Errno(EINVAL))));
    let long_value = "v".repeat(300);
    assert_eq!(c.write_fmt(None, "/k", format_args!("{long_value}")), Err(XsError::Invalid(Errno(ENOBUFS))));
    assert!(c.transport().sent.is_empty(), "nothing was sent");
    assert_eq!(c.broken(), None);
    // Refused requests use no request id; the next one gets id 1.
    assert_eq!(c.read(None, "/k").unwrap(), b"v");
    // The largest legal request goes out whole.
    let sh = shared();
    let mut d0 = direct_chunked(&sh, 0, 100);
    let fits = vec![b'y'; XENSTORE_PAYLOAD_MAX - "/k\0".len()];
    d0.write(None, "/k", &fits).unwrap();
    assert_eq!(d0.read(None, "/k").unwrap().len(), fits.len());
}

#[test]
fn malformed_replies_are_errors() {
    let bad = |p| Err(XsError::Protocol(p));
    // Missing NUL in a directory listing; the connection survives.
    let mut c = Script::with(&[frame(msg::XS_DIRECTORY, 1, 0, b"a\0b"), frame(msg::XS_READ, 2, 0, b"fine")]);
    assert_eq!(c.directory(None, "/d").map(|_| ()), bad(ProtocolError::MissingNul));
    assert_eq!(c.read(None, "/r").unwrap(), b"fine");

    // Unknown type, reply of another type, unknown error name, bad OK,
    // bad UTF-8, bad transaction id, unterminated error name.
    let mut c = Script::with(&[
        frame(99, 1, 0, b""),
        frame(msg::XS_WRITE, 2, 0, b"OK\0"),
        frame(msg::XS_ERROR, 3, 0, b"EWEIRD\0"),
        frame(msg::XS_WRITE, 4, 0, b"KO\0"),
        frame(msg::XS_DIRECTORY, 5, 0, b"\xff\0"),
        frame(msg::XS_TRANSACTION_START, 6, 0, b"zero\0"),
        frame(msg::XS_ERROR, 7, 0, b"ENOENT"),
        frame(msg::XS_GET_PERMS, 8, 0, b"q1\0"),
    ]);
    assert_eq!(c.read(None, "/a").map(|_| ()), bad(ProtocolError::UnknownType(99)));
    assert_eq!(c.read(None, "/a").map(|_| ()), bad(ProtocolError::UnexpectedType(msg::XS_WRITE)));
    assert_eq!(c.read(None, "/a").map(|_| ()), bad(ProtocolError::UnknownError));
    assert_eq!(c.write(None, "/a", b""), bad(ProtocolError::BadPayload));
    assert_eq!(c.directory(None, "/a").map(|_| ()), bad(ProtocolError::BadUtf8));
    assert_eq!(c.transaction_start().map(|_| ()), bad(ProtocolError::BadNumber));
    assert_eq!(c.read(None, "/a").map(|_| ()), bad(ProtocolError::MissingNul));
    assert_eq!(c.get_perms(None, "/a").map(|_| ()), bad(ProtocolError::BadPerm));
    assert_eq!(c.broken(), None);

    // Stray replies (wrong req_id) and malformed events are dropped and
    // counted; the matching reply is taken.
    let mut c = Script::with(&[
        frame(msg::XS_READ, 77, 0, b"stale"),
        frame(msg::XS_WATCH_EVENT, 0, 0, b"/p\0"),
        frame(msg::XS_WATCH_EVENT, 0, 0, b"/p\0tok\0"),
        frame(msg::XS_READ, 1, 0, b"mine"),
    ]);
    assert_eq!(c.read(None, "/a").unwrap(), b"mine");
    let s = c.stats();
    assert_eq!((s.stray_replies, s.malformed_events), (1, 1));
    assert_eq!(c.next_watch_event().unwrap().unwrap().token, "tok");

    // A reply that never comes: the transport's timeout, not a hang.
    let mut c = Script::with(&[]);
    assert_eq!(c.read(None, "/a"), Err(XsError::Transport(Errno(ETIMEDOUT))));
    assert_eq!(c.broken(), None);

    // A length over XENSTORE_PAYLOAD_MAX: framing is lost for good.
    let mut hdr = frame(msg::XS_READ, 1, 0, b"");
    hdr[12..16].copy_from_slice(&(XENSTORE_PAYLOAD_MAX as u32 + 1).to_ne_bytes());
    let mut c = Script::with(&[hdr, frame(msg::XS_READ, 2, 0, b"x")]);
    let oversize = XsError::Protocol(ProtocolError::Oversize);
    assert_eq!(c.read(None, "/a"), Err(oversize));
    assert_eq!(c.broken(), Some(oversize));
    assert_eq!(c.read(None, "/a"), Err(oversize));
}

#[test]
fn corrupt_ring_indices_are_detected() {
    let ring_err = XsError::Protocol(ProtocolError::RingIndex);
    let ok = || Ok(());
    // The peer claims 5000 reply bytes in a 1024-byte ring.
    let page = new_page(100);
    // SAFETY: the page is leaked and nobody else touches it yet.
    unsafe { (*page.0).rsp_prod = 5100 };
    // SAFETY: leaked page; the only end.
    let ring = unsafe { XsRing::domain(page.0, || (), ok) };
    let mut c: XsClient<_> = XsClient::new(ring);
    assert_eq!(c.read(None, "/a"), Err(ring_err));
    assert_eq!(c.broken(), Some(ring_err));
    assert_eq!(c.write(None, "/a", b""), Err(ring_err));

    // The peer's consumer index runs ahead of our producer index.
    let page = new_page(100);
    // SAFETY: as above.
    unsafe { (*page.0).req_cons = 110 };
    // SAFETY: as above.
    let ring = unsafe { XsRing::domain(page.0, || (), ok) };
    let mut c: XsClient<_> = XsClient::new(ring);
    assert_eq!(c.mkdir(None, "/a"), Err(ring_err));
}

#[test]
fn event_queue_is_bounded_and_counts_what_it_drops() {
    let sh = shared();
    let conn = sh.store.lock().unwrap().connect(0);
    let mut c: XsClient<Direct, 4200> = XsClient::new(Direct { sh: sh.clone(), conn, chunk: usize::MAX });
    let mut d0 = direct(&sh, 0);
    d0.mkdir(None, "/o").unwrap();
    c.watch("/o", "t").unwrap();
    for i in 0..600 {
        d0.write(None, &format!("/o/k{i}"), b"").unwrap();
    }
    for _ in 0..50 {
        d0.write(None, "/o/k0", b"again").unwrap();
    }
    let mut popped = 0;
    let mut paths = vec![];
    while let Some(e) = c.next_watch_event().unwrap() {
        popped += 1;
        paths.push(e.path.to_owned());
    }
    let s = c.stats();
    assert!(s.dropped_events > 0);
    assert_eq!(s.merged_events, 50);
    assert_eq!(popped + s.dropped_events + s.merged_events, 1 + 600 + 50);
    assert_eq!(paths[..3], ["/o", "/o/k0", "/o/k1"], "oldest kept, in order");
}

/// The vbd handshake of requirements §6.4: front end over the ring in
/// domain 1, back end in dom0 over the direct transport, each in its own
/// thread, through Connected and then Closing/Closed.
#[test]
fn xenbus_handshake_front_and_back() {
    use XenbusState::*;
    let sh = shared();
    make_home(&sh, 1);
    let fe_dir = "/local/domain/1/device/vbd/51712";
    let be_dir = "/local/domain/0/backend/vbd/1/51712";
    {
        let mut s = sh.store.lock().unwrap();
        let front = [Perm::new(Access::None, DomId(1)), Perm::new(Access::Read, DomId(0))];
        let back = [Perm::new(Access::None, DomId(0)), Perm::new(Access::Read, DomId(1))];
        s.put(fe_dir, "", &front);
        s.put(&format!("{fe_dir}/backend"), be_dir, &front);
        s.put(&format!("{fe_dir}/backend-id"), "0", &front);
        s.put(&format!("{fe_dir}/state"), "1", &front);
        s.put(be_dir, "", &back);
        s.put(&format!("{be_dir}/frontend"), fe_dir, &back);
        s.put(&format!("{be_dir}/frontend-id"), "1", &back);
        s.put(&format!("{be_dir}/state"), "1", &back);
    }

    let mut bc = direct(&sh, 0);
    let backend = std::thread::spawn(move || -> Result<Vec<XenbusState>, XsError> {
        let c = &mut bc;
        let mut be = XenbusEnd::backend(c, be_dir)?;
        assert_eq!((be.otherend(), be.otherend_id()), (fe_dir, DomId(1)));
        assert_eq!(be.state(), Initialising);
        be.write_keys(c, &[("max-ring-page-order", &0u32), ("feature-flush-cache", &1u32)])?;
        be.switch_state(c, InitWait)?;
        let mut seen = vec![be.wait_for_otherend(c, |s| matches!(s, Initialised | Connected))?];
        let ring_ref: u32 = be.read_otherend(c, None, "ring-ref")?;
        let port: u32 = be.read_otherend(c, None, "event-channel")?;
        assert_eq!((ring_ref, port), (8, 5));
        be.write_keys(c, &[("sectors", &2048u64), ("info", &0u32), ("sector-size", &512u32)])?;
        be.switch_state(c, Connected)?;
        seen.push(be.wait_for_otherend(c, |s| matches!(s, Closing | Closed))?);
        be.switch_state(c, Closing)?;
        seen.push(be.wait_for_otherend(c, |s| matches!(s, Closed | Unknown))?);
        be.switch_state(c, Closed)?;
        be.unwatch_otherend(c)?;
        Ok(seen)
    });

    let (mut fc, server) = ring_client(&sh, 1, u32::MAX - 100);
    let c = &mut fc;
    let mut fe = XenbusEnd::frontend(c, "device/vbd/51712").unwrap();
    assert_eq!((fe.otherend(), fe.otherend_id()), (be_dir, DomId(0)));
    assert_eq!(fe.state(), Initialising);
    assert_eq!(fe.wait_for_otherend(c, |s| s == InitWait).unwrap(), InitWait);
    let flush: u32 = fe.read_otherend(c, None, "feature-flush-cache").unwrap();
    assert_eq!(flush, 1);
    fe.write_keys(c, &[("ring-ref", &8u32), ("event-channel", &5u32), ("protocol", &"x86_64-abi")]).unwrap();
    fe.switch_state(c, Initialised).unwrap();
    assert_eq!(fe.wait_for_otherend(c, |s| s == Connected).unwrap(), Connected);
    let sectors: u64 = fe.read_otherend(c, None, "sectors").unwrap();
    assert_eq!(sectors, 2048);
    fe.switch_state(c, Connected).unwrap();
    assert_eq!(xenbus::read_state(c, None, fe.nodename()).unwrap(), Connected);
    // A transition the protocol forbids is refused before anything is sent.
    assert_eq!(fe.switch_state(c, InitWait), Err(XsError::Invalid(Errno(EINVAL))));
    // Shut down: front Closing, back follows, front Closed, back Closed.
    fe.switch_state(c, Closing).unwrap();
    assert_eq!(fe.wait_for_otherend(c, |s| s == Closing).unwrap(), Closing);
    fe.switch_state(c, Closed).unwrap();
    assert_eq!(fe.wait_for_otherend(c, |s| s == Closed).unwrap(), Closed);

    let seen = backend.join().unwrap().unwrap();
    assert!(matches!(seen[0], Initialised | Connected));
    assert_eq!(seen[1..], [Closing, Closed]);
    assert_eq!(xenbus::read_state(c, None, be_dir).unwrap(), Closed);
    assert_eq!(c.read_str(None, "device/vbd/51712/protocol").unwrap(), "x86_64-abi");
    assert_eq!(xenbus::read_state(c, None, "device/vbd/nothing").unwrap(), Unknown);
    // A removed device directory is not recreated by a state switch.
    sh.store.lock().unwrap().tree.retain(|k, _| !is_child(k, fe_dir));
    fe.switch_state(c, Initialising).unwrap_err();
    assert!(!c.exists(None, fe_dir).unwrap());
    drop(fc);
    server.finish().unwrap();
}
