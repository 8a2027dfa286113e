//! Property test: random request sequences from several domains, checked
//! reply by reply and event by event against a small reference model, and
//! the whole store compared at the end.
//!
//! The model is written independently of the implementation: a flat map of
//! nodes with version counters, transactions as maps of first-seen copies,
//! node ownership counted by scanning. It shares only the rules (Xen's).

mod common;
use common::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::io::xs_wire::msg;
use pv_abi::xenstore::wire::error_name;
use pv_abi::{DomId, Errno};
use std::collections::BTreeMap;
use xenstored::{Access, Config, Perm, Xenstored};

// ---------------------------------------------------------------- rng

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

// ---------------------------------------------------------------- model

#[derive(Clone, Debug, PartialEq)]
struct MNode {
    value: Vec<u8>,
    perms: Vec<Perm>,
    children: Vec<String>,
    ver: u64,
}

impl MNode {
    fn owner(&self) -> u16 {
        self.perms[0].domid.0
    }
}

#[derive(Clone, Debug)]
struct Seen {
    base_ver: Option<u64>,
    base_owner: Option<u16>,
    view: Option<MNode>,
    modified: bool,
}

#[derive(Clone, Debug)]
struct Ev {
    path: String,
    exact: bool,
    vis: Vec<Vec<Perm>>,
}

#[derive(Default)]
struct MTx {
    seen: BTreeMap<String, Seen>,
    evs: Vec<Ev>,
}

#[derive(Default)]
struct MConn {
    watches: Vec<(String, String, usize)>,
    txs: BTreeMap<u32, MTx>,
    next_tx: u32,
}

struct Model {
    nodes: BTreeMap<String, MNode>,
    clock: u64,
    conns: BTreeMap<u16, MConn>,
    cfg: Config,
    /// Events produced by the last request, per domain.
    out: BTreeMap<u16, Vec<(String, String)>>,
}

type R<T> = Result<T, i32>;
/// A reply payload and the initial watch event to send after it.
type Done = (Vec<u8>, Option<(String, String)>);
/// path -> (value, perms, children)
type Dump = BTreeMap<String, (Vec<u8>, Vec<Perm>, Vec<String>)>;

fn parent(p: &str) -> Option<String> {
    if p == "/" {
        return None;
    }
    if p.starts_with('@') {
        return Some("/".into());
    }
    let i = p.rfind('/').unwrap();
    Some(if i == 0 { "/".into() } else { p[..i].into() })
}

fn base(p: &str) -> &str {
    &p[p.rfind('/').map_or(0, |i| i + 1)..]
}

fn join(p: &str, c: &str) -> String {
    if p == "/" {
        format!("/{c}")
    } else {
        format!("{p}/{c}")
    }
}

fn below(p: &str, w: &str) -> bool {
    if w == "/" {
        p.starts_with('/')
    } else {
        p == w || p.starts_with(&format!("{w}/"))
    }
}

/// (read, write, owner)
fn rights(d: u16, perms: &[Perm]) -> (bool, bool, bool) {
    if d == 0 || perms[0].domid.0 == d {
        return (true, true, true);
    }
    let a = perms[1..].iter().find(|p| p.domid.0 == d).unwrap_or(&perms[0]).access;
    (a.can_read(), a.can_write(), false)
}

fn too_many(limit: u32, n: usize) -> bool {
    limit != 0 && n > limit as usize
}

/// What an operation wants: read, or write (+ owner).
#[derive(Clone, Copy)]
enum Want {
    Read,
    Write,
    Owner,
}

struct Op<'a> {
    m: &'a mut Model,
    d: u16,
    tx: Option<u32>,
    evs: Vec<Ev>,
}

impl Op<'_> {
    fn priv_(&self) -> bool {
        self.d == 0
    }

    fn canon(&self, raw: &str, special: bool) -> R<(String, usize)> {
        let ok = !raw.is_empty() && raw.bytes().all(|c| c.is_ascii_alphanumeric() || b"-/_@".contains(&c));
        if !ok || (raw.starts_with('@') && !special) {
            return Err(EINVAL);
        }
        let (p, pre) = if raw.starts_with('/') || raw.starts_with('@') {
            (raw.to_string(), 0)
        } else {
            let home = format!("/local/domain/{}", self.d);
            (format!("{home}/{raw}"), home.len() + 1)
        };
        if (p.ends_with('/') && p != "/") || p.contains("//") {
            return Err(EINVAL);
        }
        Ok((p, pre))
    }

    fn get(&mut self, p: &str) -> R<Option<MNode>> {
        let priv_ = self.priv_();
        let Some(id) = self.tx else { return Ok(self.m.nodes.get(p).cloned()) };
        let limit = self.m.cfg.max_transaction_nodes;
        let global = self.m.nodes.get(p).cloned();
        let tx = self.m.conns.get_mut(&self.d).unwrap().txs.get_mut(&id).unwrap();
        if !tx.seen.contains_key(p) {
            if !priv_ && too_many(limit, tx.seen.len() + 1) {
                return Err(ENOSPC);
            }
            let s = Seen {
                base_ver: global.as_ref().map(|n| n.ver),
                base_owner: global.as_ref().map(MNode::owner),
                view: global,
                modified: false,
            };
            tx.seen.insert(p.into(), s);
        }
        Ok(tx.seen[p].view.clone())
    }

    fn set(&mut self, p: &str, n: Option<MNode>) {
        self.m.clock += 1;
        let n = n.map(|mut n| {
            n.ver = self.m.clock;
            n
        });
        match self.tx {
            None => match n {
                Some(n) => {
                    self.m.nodes.insert(p.into(), n);
                }
                None => {
                    self.m.nodes.remove(p);
                }
            },
            Some(id) => {
                let tx = self.m.conns.get_mut(&self.d).unwrap().txs.get_mut(&id).unwrap();
                let s = tx.seen.get_mut(p).expect("accessed before modified");
                s.view = n;
                s.modified = true;
            }
        }
    }

    fn owned(&self) -> i64 {
        let global = self.m.nodes.values().filter(|n| n.owner() == self.d).count() as i64;
        match self.tx {
            None => global,
            Some(id) => {
                let tx = &self.m.conns[&self.d].txs[&id];
                global + tx_delta(tx, self.d)
            }
        }
    }

    fn size_ok(&self, size: usize) -> R<()> {
        if !self.priv_() && too_many(self.m.cfg.max_node_size, size) {
            Err(ENOSPC)
        } else {
            Ok(())
        }
    }

    fn lookup(&mut self, p: &str, want: Want) -> R<Option<MNode>> {
        let d = self.d;
        if let Some(n) = self.get(p)? {
            let (r, w, o) = rights(d, &n.perms);
            let ok = match want {
                Want::Read => r,
                Want::Write => w,
                Want::Owner => w && o,
            };
            return if ok { Ok(Some(n)) } else { Err(EACCES) };
        }
        let mut at = p.to_string();
        while let Some(par) = parent(&at) {
            if let Some(n) = self.get(&par)? {
                let (r, w, o) = rights(d, &n.perms);
                let ok = match want {
                    Want::Read => r,
                    Want::Write => w,
                    Want::Owner => w || o,
                };
                return if ok { Ok(None) } else { Err(EACCES) };
            }
            at = par;
        }
        unreachable!()
    }

    fn create(&mut self, p: &str, value: &[u8]) -> R<()> {
        let mut missing = vec![p.to_string()];
        let mut anc = parent(p).unwrap();
        while self.get(&anc)?.is_none() {
            missing.push(anc.clone());
            anc = parent(&anc).unwrap();
        }
        let mut a = self.get(&anc)?.unwrap();
        let mut perms = a.perms.clone();
        if !self.priv_() {
            perms[0].domid = DomId(self.d);
            if too_many(self.m.cfg.max_nodes, self.owned() as usize + missing.len()) {
                return Err(ENOSPC);
            }
        }
        self.size_ok(value.len())?;
        for i in 1..missing.len() {
            self.size_ok(base(&missing[i - 1]).len() + 1)?;
        }
        let top = missing.last().unwrap().clone();
        self.size_ok(a.value.len() + a.children.iter().map(|c| c.len() + 1).sum::<usize>() + base(&top).len() + 1)?;
        a.children.push(base(&top).into());
        self.set(&anc, Some(a));
        for i in (0..missing.len()).rev() {
            let mut n = MNode { value: vec![], perms: perms.clone(), children: vec![], ver: 0 };
            if i == 0 {
                n.value = value.to_vec();
            } else {
                n.children.push(base(&missing[i - 1]).into());
            }
            self.get(&missing[i])?; // already accessed; keeps `set` simple
            self.set(&missing[i], Some(n));
        }
        self.evs.push(Ev { path: p.into(), exact: false, vis: vec![perms] });
        Ok(())
    }

    fn read(&mut self, raw: &str) -> R<Vec<u8>> {
        let (p, _) = self.canon(raw, false)?;
        self.lookup(&p, Want::Read)?.map(|n| n.value).ok_or(ENOENT)
    }

    fn write(&mut self, raw: &str, v: &[u8]) -> R<()> {
        let (p, _) = self.canon(raw, false)?;
        match self.lookup(&p, Want::Write)? {
            Some(mut n) => {
                self.size_ok(v.len() + n.children.iter().map(|c| c.len() + 1).sum::<usize>())?;
                n.value = v.to_vec();
                let vis = vec![n.perms.clone()];
                self.set(&p, Some(n));
                self.evs.push(Ev { path: p, exact: false, vis });
                Ok(())
            }
            None => self.create(&p, v),
        }
    }

    fn mkdir(&mut self, raw: &str) -> R<()> {
        let (p, _) = self.canon(raw, false)?;
        match self.lookup(&p, Want::Write)? {
            Some(_) => Ok(()),
            None => self.create(&p, &[]),
        }
    }

    fn rm(&mut self, raw: &str) -> R<()> {
        let (p, _) = self.canon(raw, false)?;
        let Some(node) = self.lookup(&p, Want::Write)? else {
            let par = parent(&p).unwrap();
            return if self.get(&par)?.is_some() { Ok(()) } else { Err(ENOENT) };
        };
        let Some(par) = parent(&p) else { return Err(EINVAL) };
        let mut pn = self.get(&par)?.ok_or(ENOENT)?;
        let mut order = vec![];
        let mut stack = vec![(p.clone(), node, pn.perms.clone())];
        while let Some((q, n, pp)) = stack.pop() {
            for c in &n.children {
                let cq = join(&q, c);
                if let Some(cn) = self.get(&cq)? {
                    stack.push((cq, cn, n.perms.clone()));
                }
            }
            order.push((q, n.perms, pp));
        }
        for (q, perms, pp) in order.into_iter().rev() {
            self.set(&q, None);
            let exact = q != p;
            self.evs.push(Ev { path: q, exact, vis: vec![perms, pp] });
        }
        pn.children.retain(|c| c != base(&p));
        self.set(&par, Some(pn));
        Ok(())
    }

    fn dir(&mut self, raw: &str) -> R<Vec<String>> {
        let (p, _) = self.canon(raw, false)?;
        self.lookup(&p, Want::Read)?.map(|n| n.children).ok_or(ENOENT)
    }

    fn get_perms(&mut self, raw: &str) -> R<Vec<Perm>> {
        let (p, _) = self.canon(raw, true)?;
        self.lookup(&p, Want::Read)?.map(|n| n.perms).ok_or(ENOENT)
    }

    fn set_perms(&mut self, raw: &str, perms: &[Perm]) -> R<()> {
        if !self.priv_() && too_many(self.m.cfg.max_perms, perms.len()) {
            return Err(ENOSPC);
        }
        let (p, _) = self.canon(raw, true)?;
        let mut n = self.lookup(&p, Want::Owner)?.ok_or(ENOENT)?;
        if !self.priv_() && perms[0].domid != n.perms[0].domid {
            return Err(EPERM);
        }
        let vis = vec![n.perms.clone(), perms.to_vec()];
        n.perms = perms.to_vec();
        self.set(&p, Some(n));
        self.evs.push(Ev { path: p, exact: false, vis });
        Ok(())
    }
}

fn tx_delta(tx: &MTx, d: u16) -> i64 {
    tx.seen
        .values()
        .map(|s| {
            let now = s.view.as_ref().is_some_and(|n| n.owner() == d) as i64;
            let was = (s.base_owner == Some(d)) as i64;
            now - was
        })
        .sum()
}

fn reply_ok(ty: u32, payload: Vec<u8>) -> (u32, Vec<u8>) {
    (ty, payload)
}

fn reply_err(e: i32) -> (u32, Vec<u8>) {
    let mut p = error_name(Errno(e)).unwrap().as_bytes().to_vec();
    p.push(0);
    (msg::XS_ERROR, p)
}

fn okp() -> Vec<u8> {
    b"OK\0".to_vec()
}

fn strs(v: &[String]) -> Vec<u8> {
    let mut p = vec![];
    for s in v {
        p.extend_from_slice(s.as_bytes());
        p.push(0);
    }
    p
}

/// Splits `p\0p\0...`; `None` if not NUL-terminated or not UTF-8.
fn split_strings(p: &[u8]) -> Option<Vec<String>> {
    if p.is_empty() {
        return Some(vec![]);
    }
    let s = std::str::from_utf8(p).ok()?;
    Some(s.strip_suffix('\0')?.split('\0').map(String::from).collect())
}

impl Model {
    fn fire(&mut self, evs: Vec<Ev>) {
        for e in evs {
            let mut vis = e.vis.clone();
            if let Some(n) = self.nodes.get(&e.path) {
                vis.push(n.perms.clone());
            }
            if !e.path.starts_with('@') {
                if let Some(n) = parent(&e.path).and_then(|p| self.nodes.get(&p)) {
                    vis.push(n.perms.clone());
                }
            }
            for (&d, c) in &self.conns {
                if d != 0 && !vis.iter().any(|p| rights(d, p).0) {
                    continue;
                }
                for (w, tok, pre) in &c.watches {
                    let hit = if e.exact { &e.path == w } else { below(&e.path, w) };
                    if hit {
                        self.out.entry(d).or_default().push((e.path[*pre..].to_string(), tok.clone()));
                    }
                }
            }
        }
    }

    /// One request; returns the reply (type, payload).
    fn request(&mut self, d: u16, ty: u32, tx_id: u32, payload: &[u8]) -> (u32, Vec<u8>) {
        self.out.clear();
        match self.request_inner(d, ty, tx_id, payload) {
            Ok((p, initial)) => {
                if let Some(ev) = initial {
                    self.out.entry(d).or_default().push(ev);
                }
                reply_ok(ty, p)
            }
            Err(e) => reply_err(e),
        }
    }

    fn request_inner(&mut self, d: u16, ty: u32, tx_id: u32, payload: &[u8]) -> R<Done> {
        let priv_ = d == 0;
        let store = [
            msg::XS_READ,
            msg::XS_WRITE,
            msg::XS_MKDIR,
            msg::XS_RM,
            msg::XS_DIRECTORY,
            msg::XS_GET_PERMS,
            msg::XS_SET_PERMS,
        ];
        if store.contains(&ty) {
            let tx = if tx_id == 0 {
                None
            } else if self.conns[&d].txs.contains_key(&tx_id) {
                Some(tx_id)
            } else {
                return Err(ENOENT);
            };
            let one = || -> R<String> {
                let v = split_strings(payload).ok_or(EINVAL)?;
                if v.len() != 1 {
                    return Err(EINVAL);
                }
                Ok(v[0].clone())
            };
            let mut op = Op { m: self, d, tx, evs: vec![] };
            let r = match ty {
                msg::XS_READ => one().and_then(|p| op.read(&p)),
                msg::XS_WRITE => {
                    let nul = payload.iter().position(|&b| b == 0).ok_or(EINVAL)?;
                    let p = std::str::from_utf8(&payload[..nul]).map_err(|_| EINVAL)?.to_string();
                    op.write(&p, &payload[nul + 1..]).map(|()| okp())
                }
                msg::XS_MKDIR => one().and_then(|p| op.mkdir(&p)).map(|()| okp()),
                msg::XS_RM => one().and_then(|p| op.rm(&p)).map(|()| okp()),
                msg::XS_DIRECTORY => one().and_then(|p| op.dir(&p)).map(|v| strs(&v)),
                msg::XS_GET_PERMS => one()
                    .and_then(|p| op.get_perms(&p))
                    .map(|v| strs(&v.iter().map(|p| p.to_string()).collect::<Vec<_>>())),
                msg::XS_SET_PERMS => {
                    let v = split_strings(payload).ok_or(EINVAL)?;
                    if v.len() < 2 {
                        return Err(EINVAL);
                    }
                    let perms = v[1..].iter().map(|s| Perm::parse(s).map_err(|_| EINVAL)).collect::<R<Vec<_>>>()?;
                    op.set_perms(&v[0], &perms).map(|()| okp())
                }
                _ => unreachable!(),
            };
            let evs = std::mem::take(&mut op.evs);
            match tx {
                Some(id) => {
                    let t = self.conns.get_mut(&d).unwrap().txs.get_mut(&id).unwrap();
                    for e in evs {
                        match t.evs.iter_mut().find(|x| x.path == e.path) {
                            Some(x) => {
                                x.exact &= e.exact;
                                for v in e.vis {
                                    if !x.vis.contains(&v) {
                                        x.vis.push(v);
                                    }
                                }
                            }
                            None => t.evs.push(e),
                        }
                    }
                }
                None => self.fire(evs),
            }
            return r.map(|p| (p, None));
        }
        match ty {
            msg::XS_WATCH | msg::XS_UNWATCH => {
                let v = split_strings(payload).ok_or(EINVAL)?;
                if v.len() != 2 {
                    return Err(EINVAL);
                }
                let op = Op { m: self, d, tx: None, evs: vec![] };
                let (p, pre) = op.canon(&v[0], true)?;
                let c = self.conns.get_mut(&d).unwrap();
                let pos = c.watches.iter().position(|(w, t, _)| *w == p && *t == v[1]);
                if ty == msg::XS_WATCH {
                    if pos.is_some() {
                        return Err(EEXIST);
                    }
                    if !priv_ && too_many(self.cfg.max_watches, c.watches.len() + 1) {
                        return Err(E2BIG);
                    }
                    c.watches.push((p.clone(), v[1].clone(), pre));
                    Ok((okp(), Some((p[pre..].to_string(), v[1].clone()))))
                } else {
                    c.watches.remove(pos.ok_or(ENOENT)?);
                    Ok((okp(), None))
                }
            }
            msg::XS_TRANSACTION_START => {
                let c = self.conns.get_mut(&d).unwrap();
                if tx_id != 0 {
                    return Err(if c.txs.contains_key(&tx_id) { EBUSY } else { ENOENT });
                }
                if !priv_ && too_many(self.cfg.max_transactions, c.txs.len() + 1) {
                    return Err(ENOSPC);
                }
                let id = loop {
                    c.next_tx += 1;
                    if !c.txs.contains_key(&c.next_tx) {
                        break c.next_tx;
                    }
                };
                c.txs.insert(id, MTx::default());
                Ok((format!("{id}\0").into_bytes(), None))
            }
            msg::XS_TRANSACTION_END => {
                let commit = match payload {
                    b"T\0" => true,
                    b"F\0" => false,
                    _ => return Err(EINVAL),
                };
                let tx = self.conns.get_mut(&d).unwrap().txs.remove(&tx_id).ok_or(ENOENT)?;
                if commit {
                    for (p, s) in &tx.seen {
                        if self.nodes.get(p).map(|n| n.ver) != s.base_ver {
                            return Err(EAGAIN);
                        }
                    }
                    let delta = tx_delta(&tx, d);
                    let global = self.nodes.values().filter(|n| n.owner() == d).count() as i64;
                    if !priv_ && delta > 0 && too_many(self.cfg.max_nodes, (global + delta) as usize) {
                        return Err(ENOSPC);
                    }
                    for (p, s) in tx.seen {
                        if !s.modified {
                            continue;
                        }
                        self.clock += 1;
                        match s.view {
                            Some(mut n) => {
                                n.ver = self.clock;
                                self.nodes.insert(p, n);
                            }
                            None => {
                                self.nodes.remove(&p);
                            }
                        }
                    }
                    self.fire(tx.evs);
                }
                Ok((okp(), None))
            }
            msg::XS_RELEASE => {
                assert!(priv_);
                let dom: u16 = std::str::from_utf8(payload).unwrap().trim_end_matches('\0').parse().unwrap();
                self.conns.remove(&dom).ok_or(ENOENT)?;
                self.release_nodes(dom);
                self.fire_special("@releaseDomain");
                Ok((okp(), None))
            }
            msg::XS_INTRODUCE => {
                assert!(priv_);
                let s = std::str::from_utf8(payload).unwrap();
                let dom: u16 = s.split('\0').next().unwrap().parse().unwrap();
                match self.conns.get_mut(&dom) {
                    Some(c) => {
                        c.watches.clear();
                        c.txs.clear();
                    }
                    None => {
                        self.conns.insert(dom, MConn::default());
                        self.fire_special("@introduceDomain");
                    }
                }
                Ok((okp(), None))
            }
            _ => unreachable!("generator sent {ty}"),
        }
    }

    fn fire_special(&mut self, name: &str) {
        let perms = self.nodes[name].perms.clone();
        self.fire(vec![Ev { path: name.into(), exact: false, vis: vec![perms] }]);
    }

    fn release_nodes(&mut self, dom: u16) {
        let mut remove = vec![];
        let mut fix = vec![];
        let mut stack: Vec<String> = vec!["/".into(), "@introduceDomain".into(), "@releaseDomain".into()];
        while let Some(p) = stack.pop() {
            let Some(n) = self.nodes.get(&p) else { continue };
            let owned = n.owner() == dom;
            if owned && p != "/" && !p.starts_with('@') {
                remove.push(p);
                continue;
            }
            if owned || n.perms[1..].iter().any(|e| e.domid.0 == dom) {
                fix.push(p.clone());
            }
            if !p.starts_with('@') {
                stack.extend(n.children.iter().map(|c| join(&p, c)));
            }
        }
        for p in remove {
            let mut op = Op { m: self, d: 0, tx: None, evs: vec![] };
            op.rm(&p).unwrap();
            let evs = op.evs;
            self.fire(evs);
        }
        for p in fix {
            if let Some(mut n) = self.nodes.get(&p).cloned() {
                if n.perms[0].domid.0 == dom {
                    n.perms[0].domid = DomId(0);
                }
                let owner = n.perms[0];
                n.perms.retain(|e| e.domid.0 != dom);
                if n.perms.first() != Some(&owner) {
                    n.perms.insert(0, owner);
                }
                self.clock += 1;
                n.ver = self.clock;
                self.nodes.insert(p, n);
            }
        }
    }
}

// ---------------------------------------------------------------- driver

fn snapshot(xs: &Xenstored) -> Dump {
    xs.nodes().map(|(p, n)| (p.to_string(), (n.value().to_vec(), n.perms().to_vec(), n.children().to_vec()))).collect()
}

fn model_snapshot(m: &Model) -> Dump {
    m.nodes.iter().map(|(p, n)| (p.clone(), (n.value.clone(), n.perms.clone(), n.children.clone()))).collect()
}

fn gen_path(rng: &mut Rng) -> String {
    let comps = ["a", "b", "c"];
    let mut tail = String::new();
    let n = rng.below(4);
    for i in 0..n {
        if i > 0 {
            tail.push('/');
        }
        let c: &&str = rng.pick(&comps);
        tail.push_str(c);
    }
    match rng.below(10) {
        0..=5 => {
            let b = *rng.pick(&["/local/domain/1", "/local/domain/2", "/local/domain/3", "/shared", "/local/domain/0"]);
            if tail.is_empty() {
                b.to_string()
            } else {
                format!("{b}/{tail}")
            }
        }
        6 | 7 => {
            if tail.is_empty() {
                "a".into()
            } else {
                tail
            }
        }
        8 => {
            if tail.is_empty() {
                "/".into()
            } else {
                format!("/{tail}")
            }
        }
        _ => rng.pick(&["", "a//b", "/a/", "/a b", "@releaseDomain", "@introduceDomain", "@other"]).to_string(),
    }
}

fn gen_perms(rng: &mut Rng) -> Vec<String> {
    let n = 1 + rng.below(4);
    (0..n).map(|_| format!("{}{}", *rng.pick(&["n", "r", "w", "b"]), rng.below(5))).collect()
}

fn payload(parts: &[&str]) -> Vec<u8> {
    let mut p = vec![];
    for s in parts {
        p.extend_from_slice(s.as_bytes());
        p.push(0);
    }
    p
}

fn run(seed: u64, steps: usize) {
    let cfg = Config {
        max_nodes: 14,
        max_watches: 3,
        max_transactions: 2,
        max_node_size: 24,
        max_perms: 3,
        max_transaction_nodes: 10,
        ..Default::default()
    };
    let mut xs = Xenstored::new(cfg);
    for d in 1..=3u16 {
        xs.introduce(DomId(d), pv_abi::Mfn(d as u64), pv_abi::Port(d as u32)).unwrap();
        let home = format!("/local/domain/{d}");
        xs.mkdir(&home).unwrap();
        xs.set_perms(&home, &[Perm::new(Access::None, DomId(d))]).unwrap();
    }
    xs.mkdir("/shared").unwrap();
    xs.set_perms(
        "/shared",
        &[Perm::new(Access::Read, DomId(0)), Perm::new(Access::Both, DomId(1)), Perm::new(Access::Write, DomId(2))],
    )
    .unwrap();
    for d in 0..=3u16 {
        xs.take_output(DomId(d));
    }
    let mut m = Model {
        nodes: xs
            .nodes()
            .map(|(p, n)| {
                let mn = MNode {
                    value: n.value().to_vec(),
                    perms: n.perms().to_vec(),
                    children: n.children().to_vec(),
                    ver: 0,
                };
                (p.to_string(), mn)
            })
            .collect(),
        clock: 0,
        conns: (0..=3).map(|d| (d, MConn::default())).collect(),
        cfg,
        out: BTreeMap::new(),
    };
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut stats: BTreeMap<String, usize> = BTreeMap::new();

    for step in 0..steps {
        let doms: Vec<u16> = m.conns.keys().copied().collect();
        let d = *rng.pick(&doms);
        let open: Vec<u32> = m.conns[&d].txs.keys().copied().collect();
        let tx = if !open.is_empty() && rng.chance(40) {
            *rng.pick(&open)
        } else if rng.chance(3) {
            99
        } else {
            0
        };
        let path = gen_path(&mut rng);
        let value: String = (0..rng.below(30)).map(|_| *rng.pick(&['x', 'y', 'z'])).collect();
        let token = rng.pick(&["t1", "t2"]).to_string();
        let (ty, tx_id, p) = match rng.below(100) {
            0..=14 => (msg::XS_READ, tx, payload(&[&path])),
            15..=34 => {
                let mut p = payload(&[&path]);
                p.extend_from_slice(value.as_bytes());
                (msg::XS_WRITE, tx, p)
            }
            35..=42 => (msg::XS_MKDIR, tx, payload(&[&path])),
            43..=52 => (msg::XS_RM, tx, payload(&[&path])),
            53..=60 => (msg::XS_DIRECTORY, tx, payload(&[&path])),
            61..=65 => (msg::XS_GET_PERMS, tx, payload(&[&path])),
            66..=73 => {
                let perms = gen_perms(&mut rng);
                let mut parts = vec![path.as_str()];
                parts.extend(perms.iter().map(String::as_str));
                (msg::XS_SET_PERMS, tx, payload(&parts))
            }
            74..=79 => (msg::XS_WATCH, 0, payload(&[&path, &token])),
            80..=82 => (msg::XS_UNWATCH, 0, payload(&[&path, &token])),
            83..=88 => (msg::XS_TRANSACTION_START, 0, b"\0".to_vec()),
            89..=97 => {
                let t = if open.is_empty() { 0 } else { *rng.pick(&open) };
                (msg::XS_TRANSACTION_END, t, if rng.chance(75) { b"T\0".to_vec() } else { b"F\0".to_vec() })
            }
            _ => {
                if d != 0 {
                    continue;
                }
                if m.conns.contains_key(&3) {
                    (msg::XS_RELEASE, 0, b"3\0".to_vec())
                } else {
                    (msg::XS_INTRODUCE, 0, b"3\x0077\x0033\0".to_vec())
                }
            }
        };
        let want = m.request(d, ty, tx_id, &p);
        let bytes = raw(ty, step as u32, tx_id, &p);
        assert_eq!(xs.feed(DomId(d), &bytes), Ok(bytes.len()));
        let mut got_events: BTreeMap<u16, Vec<(String, String)>> = BTreeMap::new();
        let mut got_reply = None;
        let conns: Vec<DomId> = xs.connections().collect();
        for dom in conns {
            for msg_ in split(&xs.take_output(dom)) {
                if msg_.hdr.ty == msg::XS_WATCH_EVENT {
                    let s = strings(&msg_.payload);
                    got_events.entry(dom.0).or_default().push((s[0].clone(), s[1].clone()));
                } else {
                    assert_eq!(dom.0, d, "reply to the wrong domain");
                    assert!(got_reply.is_none(), "two replies");
                    assert_eq!((msg_.hdr.req_id, msg_.hdr.tx_id), (step as u32, tx_id));
                    got_reply = Some((msg_.hdr.ty, msg_.payload));
                }
            }
        }
        let ctx =
            || format!("seed {seed} step {step}: d{d} type {ty} tx {tx_id} payload {:?}", String::from_utf8_lossy(&p));
        assert_eq!(got_reply.as_ref(), Some(&want), "{}", ctx());
        m.out.retain(|_, v| !v.is_empty());
        assert_eq!(got_events, m.out, "{}", ctx());
        let key = if want.0 == msg::XS_ERROR {
            format!("{ty}:{}", String::from_utf8_lossy(&want.1).trim_end_matches('\0'))
        } else {
            format!("{ty}:ok")
        };
        *stats.entry(key).or_default() += 1;
        if step % 64 == 0 {
            assert_eq!(snapshot(&xs), model_snapshot(&m), "{}", ctx());
        }
    }
    assert_eq!(snapshot(&xs), model_snapshot(&m), "seed {seed} final");
    for d in m.conns.keys() {
        let owned = m.nodes.values().filter(|n| n.owner() == *d).count() as u32;
        assert_eq!(xs.owned_nodes(DomId(*d)), owned);
    }
    // Make sure the interesting outcomes happen at all.
    if steps >= 2000 {
        for k in
            ["2:ok", "11:ok", "11:ENOSPC", "11:EACCES", "7:EAGAIN", "7:ok", "4:E2BIG", "6:ENOSPC", "13:ok", "14:EPERM"]
        {
            assert!(stats.get(k).copied().unwrap_or(0) > 0, "seed {seed}: never saw {k}: {stats:?}");
        }
    }
}

#[test]
fn random_sequences_match_model() {
    for seed in 1..=24 {
        run(seed, 3000);
    }
}
