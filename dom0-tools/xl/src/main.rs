//! `xl` on the host: runs an xl command in the dom0 of a running
//! `cargo xtask run`, talking to it over the QEMU character device's unix
//! socket with the protocol of [`toolstack::protocol`].
//!
//! ```text
//! xl [--socket PATH] [--timeout SECS] [-v] <subcommand> [args]
//! ```
//!
//! The command line is checked here with the same parser dom0 uses (usage
//! errors and `help` need no dom0). For `create`, the config file is read
//! and checked here, and it and the kernel and ramdisk it names are sent
//! along; a path that does not exist on the host is left for dom0 to find
//! in its own file tree. `console` and `create -c` forward the terminal
//! until Ctrl-] (or the `-e` escape), or until stdin ends.
//!
//! This binary owns only host I/O (files, socket, terminal); it must not
//! interpret commands beyond what the shared library does.

mod files;
mod link;
mod term;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use toolstack::cli::{help, parse_args, Command};

/// Default socket when neither `--socket` nor `XL_SOCKET` is given.
const DEFAULT_SOCKET: &str = "target/xl.sock";
/// Default wait for dom0 to acknowledge a request.
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Host-only options, before the xl arguments.
struct HostOpts {
    socket: PathBuf,
    timeout: Option<Duration>,
}

fn host_opts(args: &mut Vec<String>) -> Result<HostOpts, String> {
    let mut socket = std::env::var_os("XL_SOCKET").map(PathBuf::from);
    let mut timeout = Some(Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    while let Some(first) = args.first().cloned() {
        let (name, inline) = match first.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (first.clone(), None),
        };
        if name != "--socket" && name != "--timeout" {
            break;
        }
        args.remove(0);
        let value = match inline {
            Some(v) => v,
            None if !args.is_empty() => args.remove(0),
            None => return Err(format!("xl: {} needs a value", name)),
        };
        if name == "--socket" {
            socket = Some(PathBuf::from(value));
        } else {
            let secs: u64 = value.parse().map_err(|_| format!("xl: --timeout: not a number of seconds: {}", value))?;
            timeout = (secs > 0).then(|| Duration::from_secs(secs));
        }
    }
    Ok(HostOpts { socket: socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)), timeout })
}

fn run() -> i32 {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match host_opts(&mut args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{}", e);
            return 2;
        }
    };
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let inv = match parse_args(&argv) {
        Ok(inv) => inv,
        Err(u) => {
            print!("{}", u.stdout);
            eprint!("{}", u.stderr);
            let _ = std::io::stdout().flush();
            return u.status;
        }
    };
    if let Command::Help { command } = &inv.command {
        print!("{}", help(command.as_deref()));
        return 0;
    }
    let mut request = toolstack::protocol::Request::new(&argv);
    if let Command::Create(create) = &inv.command {
        match files::create_files(create, inv.verbose > 0) {
            Ok(f) => request.files = f,
            Err(e) => {
                eprint!("{}", e);
                return 1;
            }
        }
    }
    link::run(&opts.socket, opts.timeout, &request, &inv.command, inv.verbose > 0)
}

fn main() {
    let status = run();
    let _ = std::io::stdout().flush();
    std::process::exit(status);
}
