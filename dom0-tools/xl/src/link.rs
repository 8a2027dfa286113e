//! One exchange with dom0 over the unix socket: send the request, print
//! what comes back, forward the terminal during a console session, and
//! return dom0's exit status.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use toolstack::cli::Command;
use toolstack::protocol::{Client, ClientEvent, Request};

use crate::term::RawMode;

/// A session id unlikely to repeat between runs: time and process id.
fn new_session_id() -> u32 {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let x = t ^ (u64::from(std::process::id()) << 32) ^ (t >> 29);
    match (x as u32) ^ ((x >> 32) as u32) {
        0 => 1,
        id => id,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forwards stdin as console input until the escape byte or end of input,
/// then asks dom0 to detach.
fn forward_stdin(client: Arc<Mutex<Client>>, writer: Arc<Mutex<UnixStream>>, escape: u8) {
    thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let data = &buf[..n];
            let (input, stop) = match data.iter().position(|&b| b == escape) {
                Some(pos) => (&data[..pos], true),
                None => (data, false),
            };
            if !input.is_empty() {
                let bytes = lock(&client).encode_input(input);
                if lock(&writer).write_all(&bytes).is_err() {
                    return;
                }
            }
            if stop {
                break;
            }
        }
        let bytes = lock(&client).encode_detach();
        let _ = lock(&writer).write_all(&bytes);
    });
}

/// Runs `request` in dom0 behind `socket`; returns the exit status.
/// `timeout`: how long to wait, once the request is written, for dom0 to
/// acknowledge it (`None`: forever).
pub fn run(socket: &Path, timeout: Option<Duration>, request: &Request, command: &Command, verbose: bool) -> i32 {
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("xl: cannot connect to dom0 at {}: {}", socket.display(), e);
            eprintln!(
                "xl: is dom0 running? `cargo xtask run` serves xl on that socket; \
                 use --socket PATH or XL_SOCKET to name another"
            );
            return 1;
        }
    };
    let writer = match stream.try_clone() {
        Ok(w) => Arc::new(Mutex::new(w)),
        Err(e) => {
            eprintln!("xl: {}: {}", socket.display(), e);
            return 1;
        }
    };
    let client = Arc::new(Mutex::new(Client::new(new_session_id())));
    let bytes = match lock(&client).encode_request(request) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("xl: {}", e);
            return 1;
        }
    };

    // Write from a thread so dom0's answers are read meanwhile (it may
    // refuse a request before all of a large file has been sent).
    let sent = Arc::new(AtomicBool::new(false));
    {
        let (writer, sent) = (writer.clone(), sent.clone());
        let name = socket.display().to_string();
        thread::spawn(move || {
            let mut w = lock(&writer);
            match w.write_all(&bytes).and_then(|_| w.flush()) {
                Ok(()) => sent.store(true, Ordering::SeqCst),
                Err(e) => eprintln!("xl: writing to {}: {}", name, e),
            }
        });
    }

    let mut reader = stream;
    if reader.set_read_timeout(Some(Duration::from_millis(200))).is_err() {
        eprintln!("xl: {}: cannot set a read timeout", socket.display());
        return 1;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut accepted = false;
    let mut sent_at: Option<Instant> = None;
    let mut raw: Option<RawMode> = None;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    loop {
        if !accepted && sent.load(Ordering::SeqCst) {
            let since = *sent_at.get_or_insert_with(Instant::now);
            if let Some(t) = timeout {
                if since.elapsed() > t {
                    drop(raw);
                    eprintln!(
                        "xl: no answer from dom0 on {} within {} s (is dom0 up and serving xl?)",
                        socket.display(),
                        t.as_secs()
                    );
                    return 1;
                }
            }
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => {
                drop(raw);
                eprintln!("xl: dom0 closed the connection ({}) before the command finished", socket.display());
                return 1;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue
            }
            Err(e) => {
                drop(raw);
                eprintln!("xl: reading from {}: {}", socket.display(), e);
                return 1;
            }
        };
        let (events, junk) = {
            let mut c = lock(&client);
            let events = c.receive(&buf[..n]);
            (events, c.take_junk())
        };
        if verbose && !junk.is_empty() {
            let _ = stderr.lock().write_all(&junk);
        }
        for ev in events {
            match ev {
                ClientEvent::Accepted => accepted = true,
                ClientEvent::Stdout(d) => {
                    let mut o = stdout.lock();
                    let _ = o.write_all(&d);
                    let _ = o.flush();
                }
                ClientEvent::Stderr(d) => {
                    let _ = stderr.lock().write_all(&d);
                }
                ClientEvent::Console(_) => {
                    if raw.is_none() {
                        raw = Some(RawMode::enter());
                        forward_stdin(client.clone(), writer.clone(), command.escape());
                    }
                }
                ClientEvent::Exit(status) => {
                    drop(raw);
                    let _ = stdout.lock().flush();
                    return status;
                }
                ClientEvent::Lost { frames } => {
                    eprintln!("xl: warning: {} frame(s) of dom0's answer were lost on the line", frames);
                }
                ClientEvent::Malformed(m) => eprintln!("xl: warning: malformed frame from dom0: {}", m),
            }
        }
    }
}
