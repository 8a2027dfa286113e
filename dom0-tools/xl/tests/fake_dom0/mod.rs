//! A small in-process stand-in for dom0's xl server, for testing the `xl`
//! binary end to end over a real unix socket. It speaks the real protocol
//! (toolstack's `Server`), prints boot noise on the line first, answers a
//! few commands from fixed state, and records what it received.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use toolstack::cli::{parse_args, Command, DomRef};
use toolstack::protocol::{crc32, Request, Server, ServerEvent};
use toolstack::status::{find_domain, format_info, format_list, DomainInfo, DomainState, HostInfo};
use toolstack::{DomId, DomainConfig};

/// The noise dom0 prints on the shared line before serving.
pub const BOOT_NOISE: &[u8] = b"dom0: running on Xen 4.17\r\n";

/// The config dom0 has in its own file tree.
pub const DOM0_CONFIG: (&str, &str) = ("/etc/xen/hello.cfg", "name = 'hello'\nkernel = '/boot/hello'\n");
/// The kernel dom0 has in its own file tree.
pub const DOM0_KERNEL: (&str, &[u8]) = ("/boot/hello", b"\x7fELF in the boot archive");

/// How the fake behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answer commands.
    Normal,
    /// Read requests, never answer.
    Silent,
    /// Close the connection as soon as a request is complete.
    Hangup,
}

/// What the fake saw during one connection.
#[derive(Debug, Default)]
pub struct Seen {
    /// The requests, in order.
    pub requests: Vec<Request>,
    /// Console input received.
    pub input: Vec<u8>,
    /// Whether a detach arrived.
    pub detached: bool,
}

/// A fake dom0 serving one connection on a fresh socket.
pub struct FakeDom0 {
    /// The socket path.
    pub path: PathBuf,
    seen: mpsc::Receiver<Seen>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn domains() -> Vec<DomainInfo> {
    vec![
        DomainInfo {
            name: "Domain-0".into(),
            id: DomId(0),
            mem_kib: 512 * 1024,
            max_mem_kib: None,
            vcpus: 1,
            state: DomainState { running: true, ..Default::default() },
            cpu_time_ns: 3_210_000_000,
            uuid: [0; 16],
        },
        DomainInfo {
            name: "hello".into(),
            id: DomId(1),
            mem_kib: 128 * 1024,
            max_mem_kib: Some(128 * 1024),
            vcpus: 1,
            state: DomainState { blocked: true, ..Default::default() },
            cpu_time_ns: 100_000_000,
            uuid: [1; 16],
        },
    ]
}

fn file(req: &Request, name: &str) -> Option<Vec<u8>> {
    req.file(name).map(<[u8]>::to_vec).or_else(|| {
        if name == DOM0_CONFIG.0 {
            Some(DOM0_CONFIG.1.as_bytes().to_vec())
        } else if name == DOM0_KERNEL.0 {
            Some(DOM0_KERNEL.1.to_vec())
        } else {
            None
        }
    })
}

impl FakeDom0 {
    /// Listens on a new socket; serves one connection in a thread.
    pub fn start(mode: Mode) -> FakeDom0 {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("xl-fake-{}-{}.sock", std::process::id(), n));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else { return };
            let mut seen = Seen::default();
            let mut server = Server::default();
            let _ = stream.write_all(BOOT_NOISE);
            let mut buf = [0u8; 65536];
            let mut console: Option<DomId> = None;
            loop {
                let n = match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut reply = Vec::new();
                let events = server.receive(&buf[..n], &mut reply);
                for ev in events {
                    match ev {
                        ServerEvent::Request(req) => {
                            seen.requests.push(req.clone());
                            match mode {
                                Mode::Silent => reply.clear(),
                                Mode::Hangup => {
                                    tx.send(seen).ok();
                                    return;
                                }
                                Mode::Normal => {
                                    let (out, attach) = run(&mut server, &req);
                                    reply.extend(out);
                                    console = attach;
                                }
                            }
                        }
                        ServerEvent::Input(d) if console.is_some() => {
                            seen.input.extend_from_slice(&d);
                            let mut echo = b"[".to_vec();
                            echo.extend_from_slice(&d);
                            echo.push(b']');
                            reply.extend(server.stdout(&echo));
                        }
                        ServerEvent::Detach => {
                            seen.detached = true;
                            console = None;
                            reply.extend(server.stdout(b"\r\n"));
                            reply.extend(server.exit(0));
                        }
                        _ => {}
                    }
                }
                if !reply.is_empty() && stream.write_all(&reply).is_err() {
                    break;
                }
            }
            tx.send(seen).ok();
        });
        FakeDom0 { path, seen: rx }
    }

    /// What the fake saw (waits for the connection to end).
    pub fn seen(self) -> Seen {
        let s = self.seen.recv_timeout(Duration::from_secs(30)).expect("fake dom0 finished");
        let _ = std::fs::remove_file(&self.path);
        s
    }
}

/// Runs one command; returns the answer bytes and the console attached, if any.
fn run(server: &mut Server, req: &Request) -> (Vec<u8>, Option<DomId>) {
    let argv: Vec<&str> = req.argv.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let doms = domains();
    let cmd = match parse_args(&argv) {
        Ok(inv) => inv.command,
        Err(u) => {
            out.extend(server.stdout(u.stdout.as_bytes()));
            out.extend(server.stderr(u.stderr.as_bytes()));
            out.extend(server.exit(u.status));
            return (out, None);
        }
    };
    let fail = |server: &mut Server, out: &mut Vec<u8>, msg: String| {
        out.extend(server.stderr(format!("{}\n", msg).as_bytes()));
        out.extend(server.exit(1));
    };
    match cmd {
        Command::List { doms: want, verbose, .. } => {
            let mut shown = Vec::new();
            for d in &want {
                match find_domain(&doms, d) {
                    Ok(d) => shown.push(d.clone()),
                    Err(e) => {
                        fail(server, &mut out, e);
                        return (out, None);
                    }
                }
            }
            let list = if want.is_empty() { doms.clone() } else { shown };
            out.extend(server.stdout(format_list(&list, verbose).as_bytes()));
            out.extend(server.exit(0));
        }
        Command::Info { item } => {
            out.extend(server.stdout(format_info(&HostInfo::default(), item.as_deref()).as_bytes()));
            out.extend(server.exit(0));
        }
        Command::Destroy { dom, .. } => match find_domain(&doms, &dom) {
            Ok(_) => out.extend(server.exit(0)),
            Err(e) => fail(server, &mut out, e),
        },
        Command::Create(args) => {
            let Some(text) = file(req, &args.config) else {
                fail(
                    server,
                    &mut out,
                    format!("Failed to read config file: {}: No such file or directory", args.config),
                );
                return (out, None);
            };
            out.extend(server.stderr(format!("Parsing config from {}\n", args.config).as_bytes()));
            let extra: Vec<&str> = args.extra.iter().map(String::as_str).collect();
            let cfg = match DomainConfig::parse_with(&args.config, &String::from_utf8_lossy(&text), &extra) {
                Ok(c) => c,
                Err(e) => {
                    fail(server, &mut out, e.to_string());
                    return (out, None);
                }
            };
            let mut report = format!("created '{}' with {} MiB\n", cfg.name, cfg.memory_mib);
            for f in cfg.boot_files() {
                match file(req, f) {
                    Some(d) => report.push_str(&format!("{}: {} bytes, crc {:08x}\n", f, d.len(), crc32(&d))),
                    None => {
                        fail(server, &mut out, format!("xl: cannot read '{}'", f));
                        return (out, None);
                    }
                }
            }
            out.extend(server.stdout(report.as_bytes()));
            if args.console {
                out.extend(server.console(DomId(1)));
                return (out, Some(DomId(1)));
            }
            out.extend(server.exit(0));
        }
        Command::Console { dom, .. } => match find_domain(&doms, &dom) {
            Ok(d) => {
                out.extend(server.console(d.id));
                out.extend(server.stdout(format!("console of {}\r\n", d.name).as_bytes()));
                return (out, Some(d.id));
            }
            Err(e) => fail(server, &mut out, e),
        },
        Command::Domid { name } => match find_domain(&doms, &DomRef::Name(name.clone())) {
            Ok(d) => {
                out.extend(server.stdout(format!("{}\n", d.id.0).as_bytes()));
                out.extend(server.exit(0));
            }
            Err(_) => fail(
                server,
                &mut out,
                format!("Can't get domid of domain name '{}', maybe this domain does not exist.", name),
            ),
        },
        _ => fail(server, &mut out, "fake dom0: not implemented".into()),
    }
    (out, None)
}
