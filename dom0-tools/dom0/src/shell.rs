//! dom0 as a control domain: one loop that serves every domU (console
//! rings, xenstore rings, shutdowns and their `on_*` actions), runs a
//! `dom0#` shell on the serial console and serves the host's `xl` on
//! COM2.
//!
//! The shell reads what is typed on the serial line the way a Xen dom0
//! does: `CONSOLEIO_read` returns the bytes, `VIRQ_CONSOLE` signals that
//! some arrived. Commands: `xl <args>`, `ls [dir]`, `cat <file>` (dom0's
//! read-only tree, the boot archive), `help`, `poweroff` (also Ctrl-D on
//! an empty line: end of input). While `xl console` is attached, typed
//! bytes go to the domain until Ctrl-] (or the `-e` escape); while
//! `xl shutdown -w` waits, Ctrl-C stops waiting and other typing is kept
//! for the next prompt.
//!
//! The host's `xl` speaks [`toolstack::protocol`] over COM2 (see
//! [`crate::uart`]); its requests run through the same executor
//! ([`crate::xl`]) as the shell's, with the files it sent looked up
//! before dom0's own tree.
//!
//! dom0 sleeps in `SCHEDOP_poll` on `VIRQ_DOM_EXC`, `VIRQ_CONSOLE` and
//! its ends of every console and store channel, waking at least every
//! 10 ms to look at COM2 (it has no interrupt).

use crate::error::{Context, Error, Result};
use crate::events::Events;
use crate::heap;
use crate::mm::Mm;
use crate::store::Store;
use crate::toolstack::Toolstack;
use crate::uart::{Uart, COM2};
use crate::xc;
use crate::xl::{self, Chunk, Host, Job, Output, Step};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use dom0::lineedit::{split_words, Event, LineEditor};
use dom0::paths;
use domain_builder::archive::Archive;
use pv_abi::abi::features::{XENFEAT_dom0, XENFEAT_writable_page_tables};
use pv_abi::abi::xen::{StartInfo, VIRQ_CONSOLE};
use pv_abi::{hypercall, kprintln, Port};
use toolstack::protocol::{Server, ServerEvent};

/// Most heap pages dom0 maps for itself (256 MiB, bounded by its free
/// frames): console logs, xenstore, kernels sent by the host, and a
/// bzImage's unpacked kernel (Debian's is 64 MiB, plus the xz dictionary).
const MAX_HEAP_PAGES: u64 = 65536;
/// Frames left unmapped for window and table pages.
const SPARE_FRAMES: u64 = 64;
/// The shell's prompt.
pub const PROMPT: &str = "dom0# ";
/// Largest request (files included) the host may send.
const MAX_REQUEST_BYTES: u64 = 16 << 20;
/// How often dom0 looks at COM2 when nothing else wakes it.
const COM2_POLL_NS: u64 = 10_000_000;
/// After this long without a byte on COM2 dom0 stops reading it for now.
const RX_QUIET_NS: u64 = 1_000_000;
/// How long dom0 naps when the FIFO is empty while bytes are flowing.
const RX_NAP_NS: u64 = 50_000;
/// Longest stretch dom0 spends reading COM2 before serving domains again.
const RX_ROUND_NS: u64 = 50_000_000;

const HELP: &str = "\
dom0 shell commands:
  xl <subcommand> [args]   the toolstack (xl help: the subcommands)
  ls [dir]                 list dom0's read-only file tree (the boot archive)
  cat <file>               print a file of that tree
  help                     this text
  poweroff                 power the machine off (also Ctrl-D on an empty line)
Examples: xl create /etc/xen/hello.cfg; xl list; xl console hello (Ctrl-] detaches)
";

/// Sets dom0 up as the control domain, then runs its loop forever.
pub fn run(si: &'static StartInfo, archive: &'static [u8]) -> ! {
    let host = match setup(si, archive) {
        Ok(h) => h,
        Err(e) => {
            kprintln!("dom0: cannot start the toolstack: {e}");
            hypercall::crash()
        }
    };
    serve(host)
}

fn setup(si: &'static StartInfo, archive: &'static [u8]) -> Result<Host> {
    let mut mm = Mm::new(si)?;
    // Mapping the heap takes one L1 table per 512 pages, from the same frames.
    let free = mm.free_frames();
    let heap_pages = MAX_HEAP_PAGES.min(free.saturating_sub(SPARE_FRAMES + free / 256 + 1));
    if heap_pages < 256 {
        return Err(Error::Bad("dom0 has too few free frames for its heap", mm.free_frames()));
    }
    let (heap_va, heap_len) = mm.map_own_pages(heap_pages as usize)?;
    // SAFETY: `map_own_pages` just mapped these pages writable for dom0
    // alone; nothing else will ever use them.
    unsafe { heap::init(heap_va as *mut u8, heap_len) };
    let mut win = mm.new_window()?;
    let ev = Events::new(si, &mut win)?;
    // Booted as a bare kernel: an empty tree (the host's xl can still
    // send configs and kernels).
    let archive = if archive.is_empty() { paths::EMPTY_ARCHIVE } else { archive };
    let archive = Archive::new(archive).map_err(|e| Error::Msg(format!("{e}")))?;
    // As the scenarios: what Xen offers, less dom0's bit, plus the
    // writable page tables 64-bit PV always has.
    let features = (hypercall::xen_features(0).ctx("XENVER_get_features")? & !(1 << XENFEAT_dom0))
        | (1 << XENFEAT_writable_page_tables);
    kprintln!(
        "dom0: control domain: {} KiB heap, {} free host pages, xenstored up",
        heap_len / 1024,
        xc::free_pages()?
    );
    let ts = Toolstack { win, ev, archive, features, domains: Vec::new(), verbose: false };
    Ok(Host::new(ts, Store::new()))
}

/// The serial-console shell.
struct Shell {
    editor: LineEditor,
    job: Option<Job>,
    /// Typed while a command ran; fed to the editor afterwards.
    typeahead: Vec<u8>,
    /// `VIRQ_CONSOLE`'s port, if the hypervisor has it.
    port: Option<Port>,
}

/// The host's `xl` on COM2.
struct Remote {
    uart: Uart,
    server: Server,
    job: Option<Job>,
}

fn write_console(bytes: &[u8]) {
    for chunk in bytes.chunks(1024) {
        let _ = hypercall::console_write(chunk);
    }
}

fn prompt() {
    write_console(PROMPT.as_bytes());
}

fn serve(mut host: Host) -> ! {
    let port = match hypercall::evtchn_bind_virq(VIRQ_CONSOLE, 0) {
        Ok(p) => {
            let _ = host.ts.ev.mask(p);
            Some(p)
        }
        Err(e) => {
            kprintln!("dom0: VIRQ_CONSOLE: {e}; polling for console input");
            None
        }
    };
    let mut remote = match Uart::probe(COM2) {
        Some(uart) => {
            kprintln!("dom0: xl server on COM2 (port {COM2:#x})");
            Some(Remote { uart, server: Server::new(MAX_REQUEST_BYTES), job: None })
        }
        None => {
            kprintln!("dom0: no UART at COM2 (port {COM2:#x}): the host's xl is not served");
            None
        }
    };
    let mut shell = Shell { editor: LineEditor::default(), job: None, typeahead: Vec::new(), port };
    kprintln!("dom0: type `help` for the commands");
    prompt();
    loop {
        host.service();
        shell_input(&mut host, &mut shell);
        shell_job(&mut host, &mut shell);
        if let Some(r) = remote.as_mut() {
            remote_io(&mut host, r);
        }
        let mut ports = host.ports();
        ports.extend(shell.port);
        ports.truncate(128);
        let now = host.now();
        let timeout = if remote.is_some() || shell.port.is_none() { COM2_POLL_NS } else { 1_000_000_000 };
        if let Err(e) = host.ts.ev.wait(&ports, now + timeout) {
            kprintln!("dom0: waiting for events: {e}");
        }
    }
}

// ---- the shell ----------------------------------------------------------------------

fn shell_input(host: &mut Host, shell: &mut Shell) {
    if let Some(p) = shell.port {
        host.ts.ev.take(p);
    }
    let mut buf = [0u8; 256];
    loop {
        let n = match hypercall::console_read(&mut buf) {
            Ok(n) => n.min(buf.len()),
            Err(_) => return,
        };
        if n == 0 {
            return;
        }
        for &b in &buf[..n] {
            shell_byte(host, shell, b);
        }
    }
}

fn shell_byte(host: &mut Host, shell: &mut Shell, b: u8) {
    if let Some(job) = shell.job.as_mut() {
        match job.escape() {
            Some(esc) if b == esc => {
                shell.job = None;
                write_console(b"\r\n");
                prompt();
            }
            Some(_) => xl::input(host, job, &[b]),
            None if b == 0x03 => {
                shell.job = None;
                write_console(b"^C\r\n");
                prompt();
            }
            None => shell.typeahead.push(b),
        }
        return;
    }
    let mut echo = Vec::new();
    let ev = shell.editor.feed(b, &mut echo);
    write_console(&echo);
    match ev {
        None => {}
        Some(Event::Interrupt) => prompt(),
        Some(Event::Eof) => power_off(host),
        Some(Event::Line(line)) => {
            execute(host, shell, &line);
            if shell.job.is_none() {
                prompt();
            }
        }
    }
}

/// Polls the shell's job; once none runs, types the typeahead.
fn shell_job(host: &mut Host, shell: &mut Shell) {
    if let Some(job) = shell.job.as_mut() {
        let mut out = Output::default();
        let done = xl::poll(host, job, &mut out);
        print_output(&mut out);
        if let Some(status) = done {
            shell.job = None;
            if status != 0 {
                kprintln!("(exit status {status})");
            }
            prompt();
        }
    }
    while shell.job.is_none() && !shell.typeahead.is_empty() {
        let b = shell.typeahead.remove(0);
        shell_byte(host, shell, b);
    }
}

fn print_output(out: &mut Output) {
    for c in out.take() {
        match c {
            Chunk::Out(b) | Chunk::Err(b) => write_console(&b),
            Chunk::Console(_) => {}
        }
    }
}

fn execute(host: &mut Host, shell: &mut Shell, line: &str) {
    let words = match split_words(line) {
        Ok(w) => w,
        Err(e) => {
            kprintln!("dom0: {e}");
            return;
        }
    };
    let Some(cmd) = words.first() else { return };
    match cmd.as_str() {
        "xl" => {
            let mut out = Output::default();
            let step = xl::run(host, &words[1..], Vec::new(), &mut out);
            print_output(&mut out);
            match step {
                Step::Done(0) => {}
                Step::Done(status) => kprintln!("(exit status {status})"),
                Step::Job(j) => shell.job = Some(j),
            }
        }
        "help" => write_console(HELP.as_bytes()),
        "poweroff" => power_off(host),
        "ls" => ls(host, words.get(1).map_or("/", String::as_str)),
        "cat" => match words.get(1) {
            Some(f) => cat(host, f),
            None => kprintln!("cat: which file?"),
        },
        other => kprintln!("dom0: {other}: command not found (try `help`)"),
    }
}

fn ls(host: &Host, dir: &str) {
    let key = paths::resolve(dir);
    if !key.is_empty() && host.ts.archive.file(&key).is_some() {
        kprintln!("{dir}");
        return;
    }
    let names = paths::list_dir(host.ts.archive.entries().map(|e| (e.name, e.is_dir())), &key);
    if names.is_empty() {
        kprintln!("ls: {dir}: no such directory");
    }
    for n in names {
        kprintln!("{n}");
    }
}

fn cat(host: &Host, file: &str) {
    match host.ts.archive.file(&paths::resolve(file)) {
        Some(data) if core::str::from_utf8(data).is_ok() => write_console(data),
        Some(data) => kprintln!("cat: {file}: binary file ({} bytes)", data.len()),
        None => kprintln!("cat: {file}: no such file"),
    }
}

fn power_off(host: &mut Host) -> ! {
    host.destroy_all();
    kprintln!("dom0: powering off");
    hypercall::poweroff()
}

// ---- the host's xl ------------------------------------------------------------------

fn remote_io(host: &mut Host, r: &mut Remote) {
    let mut buf = [0u8; 1024];
    // While bytes flow, keep reading (QEMU refills the 16-byte FIFO only
    // as it is emptied, so sleeping between FIFOs would crawl); stop after
    // a quiet spell or a bounded round, so the domains are still served.
    let start = host.now();
    let mut last = start;
    let mut flowing = false;
    loop {
        let n = r.uart.read(&mut buf);
        if n == 0 && !flowing {
            break;
        }
        let now = host.now();
        if n == 0 {
            if now.saturating_sub(last) > RX_QUIET_NS || now.saturating_sub(start) > RX_ROUND_NS {
                break;
            }
            // Sleep a moment rather than hammer the UART: every access
            // is emulated, and QEMU refills the FIFO from its own thread.
            let _ = host.ts.ev.wait(&[], now + RX_NAP_NS);
            continue;
        }
        last = now;
        flowing = true;
        let mut reply = Vec::new();
        let events = r.server.receive(&buf[..n], &mut reply);
        send(host, r, &reply);
        for ev in events {
            remote_event(host, r, ev);
        }
    }
    if let Some(job) = r.job.as_mut() {
        let mut out = Output::default();
        let done = xl::poll(host, job, &mut out);
        send_output(host, r, &mut out);
        if let Some(status) = done {
            r.job = None;
            let bytes = r.server.exit(status);
            send(host, r, &bytes);
        }
    }
}

fn remote_event(host: &mut Host, r: &mut Remote, ev: ServerEvent) {
    match ev {
        ServerEvent::Abandoned => r.job = None,
        ServerEvent::Request(req) => {
            let mut out = Output::default();
            let step = xl::run(host, &req.argv, req.files, &mut out);
            send_output(host, r, &mut out);
            match step {
                Step::Done(status) => {
                    let bytes = r.server.exit(status);
                    send(host, r, &bytes);
                }
                Step::Job(j) => r.job = Some(j),
            }
        }
        ServerEvent::Input(data) => {
            if let Some(j) = r.job.as_mut() {
                xl::input(host, j, &data);
            }
        }
        ServerEvent::Detach => {
            if let Some(mut job) = r.job.take() {
                // What the domain printed up to now still goes out.
                let mut out = Output::default();
                let _ = xl::poll(host, &mut job, &mut out);
                send_output(host, r, &mut out);
                let bytes = r.server.exit(0);
                send(host, r, &bytes);
            }
        }
        ServerEvent::Rejected(why) => kprintln!("dom0: xl request from the host refused: {why}"),
    }
}

fn send_output(host: &Host, r: &mut Remote, out: &mut Output) {
    for c in out.take() {
        let bytes = match c {
            Chunk::Out(b) => r.server.stdout(&b),
            Chunk::Err(b) => r.server.stderr(&b),
            Chunk::Console(id) => r.server.console(id),
        };
        send(host, r, &bytes);
    }
}

fn send(host: &Host, r: &mut Remote, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let ev: &Events = &host.ts.ev;
    r.uart.write(bytes, || ev.now());
}
