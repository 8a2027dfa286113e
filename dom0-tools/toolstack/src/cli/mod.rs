//! The `xl` command line: global options, subcommands with xl's names,
//! options and argument rules (GNU getopt style: options may follow
//! arguments, `-cp` combines flags, `--` ends options, long options may be
//! abbreviated), and xl's usage messages and help text.
//!
//! The same parser runs in dom0 (the shell's `xl`) and on the host (the
//! `xl` binary), so both accept exactly the same command lines. Parsing
//! never looks anything up: a [`DomRef`] is resolved by the executor.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use pv_abi::DomId;

#[cfg(test)]
mod tests;

/// Ctrl-]: xl's default console escape character.
pub const DEFAULT_ESCAPE: u8 = 0x1d;

/// A domain as named on the command line: all digits is an id, anything
/// else a name (libxl's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomRef {
    /// A domain id.
    Id(DomId),
    /// A domain name.
    Name(String),
}

impl DomRef {
    /// Reads a command-line domain qualifier.
    pub fn parse(s: &str) -> DomRef {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = s.parse::<u16>() {
                return DomRef::Id(DomId(id));
            }
        }
        DomRef::Name(s.to_string())
    }

    /// Whether this names the domain `(id, name)`.
    pub fn matches(&self, id: DomId, name: &str) -> bool {
        match self {
            DomRef::Id(i) => *i == id,
            DomRef::Name(n) => n == name,
        }
    }
}

impl fmt::Display for DomRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomRef::Id(id) => write!(f, "{}", id.0),
            DomRef::Name(n) => f.write_str(n),
        }
    }
}

/// `xl create`'s arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateArgs {
    /// The configuration file, as given.
    pub config: String,
    /// `key=value` settings after the file name (xl.cfg syntax each).
    pub extra: Vec<String>,
    /// `-c`: attach to the console once the domain is built.
    pub console: bool,
    /// `-p`: leave the domain paused.
    pub paused: bool,
    /// `-q`: no "Parsing config from ..." message.
    pub quiet: bool,
}

/// Which domains `shutdown`/`reboot` act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `-a`: every domain but dom0.
    All,
    /// One domain.
    One(DomRef),
}

/// A parsed `xl` subcommand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `create [-c] [-p] [-q] [-f FILE] <cfg> [key=value...]`
    Create(CreateArgs),
    /// `destroy [-f] <dom>`; `force` permits destroying dom0.
    Destroy {
        /// The domain.
        dom: DomRef,
        /// `-f`.
        force: bool,
    },
    /// `list [-l] [-v] [dom...]`
    List {
        /// `-l`: the domains' configurations (JSON).
        long: bool,
        /// `-v`: add UUID, shutdown reason code and security label columns.
        verbose: bool,
        /// Only these domains (all when empty).
        doms: Vec<DomRef>,
    },
    /// `console [-t pv] [-n N] [-e CHAR] <dom>`
    Console {
        /// The domain.
        dom: DomRef,
        /// `-n`: console number (0 is the primary PV console).
        num: u32,
        /// `-e`: the byte that detaches (default Ctrl-]).
        escape: u8,
    },
    /// `pause <dom>`
    Pause {
        /// The domain.
        dom: DomRef,
    },
    /// `unpause <dom>`
    Unpause {
        /// The domain.
        dom: DomRef,
    },
    /// `shutdown [-w] <-a|dom>` and `reboot [-w] <-a|dom>`
    Shutdown {
        /// `reboot` rather than `shutdown`.
        reboot: bool,
        /// The domain(s).
        target: Target,
        /// `-w`: wait until the domain(s) have shut down (`-ww`: until
        /// they are destroyed too, as xl).
        wait: u8,
    },
    /// `info [name]`: with a name, print only that item's value.
    Info {
        /// Filter (prefix of an item name).
        item: Option<String>,
    },
    /// `dmesg [-c]`
    Dmesg {
        /// `-c`: clear the buffer after printing it.
        clear: bool,
    },
    /// `top`: one screen of per-domain CPU and memory.
    Top,
    /// `domid <name>`
    Domid {
        /// The name.
        name: String,
    },
    /// `domname <id>`
    Domname {
        /// The id.
        id: DomId,
    },
    /// `mem-set <dom> <size>`
    MemSet {
        /// The domain.
        dom: DomRef,
        /// The new target in KiB.
        kib: u64,
    },
    /// `help [command]`, or `<command> -h`.
    Help {
        /// The command to explain.
        command: Option<String>,
    },
}

impl Command {
    /// Whether executing it attaches to a console (so the host tool
    /// forwards its terminal): `console` and `create -c`.
    pub fn attaches_console(&self) -> bool {
        matches!(self, Command::Console { .. } | Command::Create(CreateArgs { console: true, .. }))
    }

    /// The console escape byte the command uses.
    pub fn escape(&self) -> u8 {
        match self {
            Command::Console { escape, .. } => *escape,
            _ => DEFAULT_ESCAPE,
        }
    }
}

/// A whole `xl` command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// `-v` count (more verbose).
    pub verbose: u32,
    /// `-f`: force.
    pub force: bool,
    /// The subcommand.
    pub command: Command,
}

/// A command line xl refuses: print `stderr` to stderr, `stdout` (usually
/// help) to stdout, and exit with `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// Exit status (xl uses 2 for usage errors, 1 for bad values).
    pub status: i32,
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
}

impl UsageError {
    fn new(status: i32, stderr: String, stdout: String) -> Self {
        UsageError { status, stdout, stderr }
    }
}

struct CmdSpec {
    name: &'static str,
    desc: &'static str,
    usage: &'static str,
    options: Option<&'static str>,
    modifies: bool,
    getopt: &'static str,
    long: &'static [(&'static str, bool, char)],
    min_args: usize,
    max_args: Option<usize>,
}

const COMMANDS: &[CmdSpec] = &[
    CmdSpec {
        name: "create",
        desc: "Create a domain from config file <filename>",
        usage: "<ConfigFile> [options] [vars]",
        options: Some(
            "-c                      Connect to the console after the domain is created.\n\
             -f FILE, --defconfig=FILE\n                     Use the given configuration file.\n\
             -h                      Print this help.\n\
             -p                      Leave the domain paused after it is created.\n\
             -q, --quiet             Quiet.",
        ),
        modifies: true,
        getopt: "cf:pq",
        long: &[("defconfig", true, 'f'), ("quiet", false, 'q')],
        min_args: 0,
        max_args: None,
    },
    CmdSpec {
        name: "list",
        desc: "List information about all/some domains",
        usage: "[options] [Domain]\n",
        options: Some(
            "-l, --long              Output all VM details\n\
             -v, --verbose           Prints out UUIDs and security context",
        ),
        modifies: false,
        getopt: "lv",
        long: &[("long", false, 'l'), ("verbose", false, 'v')],
        min_args: 0,
        max_args: None,
    },
    CmdSpec {
        name: "destroy",
        desc: "Terminate a domain immediately",
        usage: "[options] <Domain>\n",
        options: Some("-f                      Permit destroying domain 0."),
        modifies: true,
        getopt: "f",
        long: &[],
        min_args: 1,
        max_args: Some(1),
    },
    CmdSpec {
        name: "shutdown",
        desc: "Issue a shutdown signal to a domain",
        usage: "[options] <-a|Domain>",
        options: Some(
            "-a, --all               Shutdown all guest domains.\n\
             -h                      Print this help.\n\
             -w, --wait              Wait for guest(s) to shutdown.\n",
        ),
        modifies: true,
        getopt: "aw",
        long: &[("all", false, 'a'), ("wait", false, 'w')],
        min_args: 0,
        max_args: Some(1),
    },
    CmdSpec {
        name: "reboot",
        desc: "Issue a reboot signal to a domain",
        usage: "[options] <-a|Domain>",
        options: Some(
            "-a, --all               Shutdown all guest domains.\n\
             -h                      Print this help.\n\
             -w, --wait              Wait for guest(s) to reboot.\n",
        ),
        modifies: true,
        getopt: "aw",
        long: &[("all", false, 'a'), ("wait", false, 'w')],
        min_args: 0,
        max_args: Some(1),
    },
    CmdSpec {
        name: "pause",
        desc: "Pause execution of a domain",
        usage: "<Domain>",
        options: None,
        modifies: true,
        getopt: "",
        long: &[],
        min_args: 1,
        max_args: Some(1),
    },
    CmdSpec {
        name: "unpause",
        desc: "Unpause a paused domain",
        usage: "<Domain>",
        options: None,
        modifies: true,
        getopt: "",
        long: &[],
        min_args: 1,
        max_args: Some(1),
    },
    CmdSpec {
        name: "console",
        desc: "Attach to domain's console",
        usage: "[options] <Domain>\n\
                -t <type>       console type, pv\n\
                -n <number>     console number\n\
                -e <escape>     escape character",
        options: None,
        modifies: false,
        getopt: "n:t:e:",
        long: &[],
        min_args: 1,
        max_args: Some(1),
    },
    CmdSpec {
        name: "info",
        desc: "Get information about Xen host",
        usage: "[item]",
        options: None,
        modifies: false,
        getopt: "",
        long: &[],
        min_args: 0,
        max_args: Some(1),
    },
    CmdSpec {
        name: "dmesg",
        desc: "Read and/or clear dmesg buffer",
        usage: "[-c]",
        options: Some("  -c                        Clear dmesg buffer as well as printing it"),
        modifies: false,
        getopt: "c",
        long: &[("clear", false, 'c')],
        min_args: 0,
        max_args: Some(0),
    },
    CmdSpec {
        name: "top",
        desc: "Monitor a host and the domains in real time",
        usage: "",
        options: None,
        modifies: false,
        getopt: "",
        long: &[],
        min_args: 0,
        max_args: Some(0),
    },
    CmdSpec {
        name: "domid",
        desc: "Convert a domain name to domain id",
        usage: "<DomainName>",
        options: None,
        modifies: false,
        getopt: "",
        long: &[],
        min_args: 1,
        max_args: Some(1),
    },
    CmdSpec {
        name: "domname",
        desc: "Convert a domain id to domain name",
        usage: "<DomainId>",
        options: None,
        modifies: false,
        getopt: "",
        long: &[],
        min_args: 1,
        max_args: Some(1),
    },
    CmdSpec {
        name: "mem-set",
        desc: "Set the current memory usage for a domain",
        usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
        options: None,
        modifies: true,
        getopt: "",
        long: &[],
        min_args: 2,
        max_args: Some(2),
    },
];

/// xl's `cmdtable_lookup`: an exact name, or an unambiguous prefix.
fn lookup(name: &str) -> Option<&'static CmdSpec> {
    if let Some(c) = COMMANDS.iter().find(|c| c.name == name) {
        return Some(c);
    }
    let mut prefixed = COMMANDS.iter().filter(|c| c.name.starts_with(name));
    match (prefixed.next(), prefixed.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// The names of the subcommands this `xl` implements, in help order.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|c| c.name)
}

/// xl's help text: the command list for `None` or `help`, one command's
/// usage otherwise (goes to stdout).
pub fn help(command: Option<&str>) -> String {
    match command {
        None | Some("help") => {
            let mut s = String::from("Usage xl [-vftT] <subcommand> [args]\n\nxl full list of subcommands:\n\n");
            for c in COMMANDS {
                s.push_str(&format!(" {:<19} ", c.name));
                if c.name.len() > 19 {
                    s.push_str(&format!("\n {:<19} ", ""));
                }
                s.push_str(c.desc);
                s.push('\n');
            }
            s
        }
        Some(name) => match lookup(name) {
            Some(c) => {
                let mut s = format!(
                    "Usage: xl [-vtT{}] {} {}\n\n{}.\n\n",
                    if c.modifies { "f" } else { "" },
                    c.name,
                    c.usage,
                    c.desc
                );
                if let Some(o) = c.options {
                    s.push_str(&format!("Options:\n\n{}\n", o));
                }
                s
            }
            None => format!("command \"{}\" not implemented\n", name),
        },
    }
}

fn not_supported(opt: &str) -> UsageError {
    UsageError::new(2, format!("option `{}' not supported.\n", opt), String::new())
}

enum Opts {
    Help,
    Parsed { opts: Vec<(char, Option<String>)>, args: Vec<String> },
}

/// GNU getopt_long as xl's `def_getopt` uses it (permuting, `-h` always
/// means help, unknown options are "not supported").
fn getopt(spec: &CmdSpec, argv: &[&str]) -> Result<Opts, UsageError> {
    let mut opts = Vec::new();
    let mut args = Vec::new();
    let mut i = 0;
    let takes_arg = |c: char| -> Option<bool> {
        let pos = spec.getopt.find(c)?;
        Some(spec.getopt[pos + c.len_utf8()..].starts_with(':'))
    };
    while i < argv.len() {
        let a = argv[i];
        i += 1;
        if a == "--" {
            args.extend(argv[i..].iter().map(|s| s.to_string()));
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let all = spec.long.iter().copied().chain(core::iter::once(("help", false, 'h')));
            let exact = all.clone().find(|(n, _, _)| *n == name);
            let found = exact.or_else(|| {
                let mut prefixed = all.filter(|(n, _, _)| n.starts_with(name));
                match (prefixed.next(), prefixed.next()) {
                    (Some(one), None) if !name.is_empty() => Some(one),
                    _ => None,
                }
            });
            let Some((_, has_arg, c)) = found else { return Err(not_supported(a)) };
            if c == 'h' {
                return Ok(Opts::Help);
            }
            let value = match (has_arg, inline) {
                (true, Some(v)) => Some(v.to_string()),
                (true, None) => match argv.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.to_string())
                    }
                    None => return Err(not_supported(a)),
                },
                (false, Some(_)) => return Err(not_supported(a)),
                (false, None) => None,
            };
            opts.push((c, value));
            continue;
        }
        match a.strip_prefix('-') {
            Some(shorts) if !shorts.is_empty() => {
                for (pos, c) in shorts.char_indices() {
                    if c == 'h' {
                        return Ok(Opts::Help);
                    }
                    match takes_arg(c) {
                        None => return Err(not_supported(&c.to_string())),
                        Some(false) => opts.push((c, None)),
                        Some(true) => {
                            let rest = &shorts[pos + c.len_utf8()..];
                            let value = if !rest.is_empty() {
                                rest.to_string()
                            } else if let Some(v) = argv.get(i) {
                                i += 1;
                                v.to_string()
                            } else {
                                return Err(not_supported(&c.to_string()));
                            };
                            opts.push((c, Some(value)));
                            break;
                        }
                    }
                }
            }
            _ => args.push(a.to_string()),
        }
    }
    Ok(Opts::Parsed { opts, args })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Parses a command line after the program name: global options
/// (`-v`, `-f`, `-t`, `-T`), the subcommand, its options and arguments.
pub fn parse_args(argv: &[&str]) -> Result<Invocation, UsageError> {
    let mut verbose = 0;
    let mut force = false;
    let mut i = 0;
    // Global options, getopt "+vftT": stop at the first non-option.
    while let Some(a) = argv.get(i) {
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty() && !a.starts_with("--")) else { break };
        for c in flags.chars() {
            match c {
                'v' => verbose += 1,
                'f' => force = true,
                't' | 'T' => {}
                _ => return Err(UsageError::new(1, "unknown global option\n".to_string(), String::new())),
            }
        }
        i += 1;
    }
    let Some(&name) = argv.get(i) else {
        return Err(UsageError::new(1, String::new(), help(None)));
    };
    let rest = &argv[i + 1..];
    let command = if name == "help" {
        Command::Help { command: rest.first().map(|s| s.to_string()) }
    } else {
        let Some(spec) = lookup(name) else {
            return Err(UsageError::new(1, "command not implemented\n".to_string(), String::new()));
        };
        parse_command(spec, rest)?
    };
    Ok(Invocation { verbose, force, command })
}

fn parse_command(spec: &'static CmdSpec, argv: &[&str]) -> Result<Command, UsageError> {
    let usage = |stderr: String| UsageError::new(2, stderr, help(Some(spec.name)));
    // xl create: a first argument that is no option and no setting is the file.
    let (mut config, argv) = match argv.first() {
        Some(a) if spec.name == "create" && !a.starts_with('-') && !a.contains('=') => {
            (Some(a.to_string()), &argv[1..])
        }
        _ => (None, argv),
    };
    let (opts, args) = match getopt(spec, argv)? {
        Opts::Help => return Ok(Command::Help { command: Some(spec.name.to_string()) }),
        Opts::Parsed { opts, args } => (opts, args),
    };
    if args.len() < spec.min_args {
        return Err(usage(format!(
            "'xl {}' requires at least {} argument{}.\n\n",
            spec.name,
            spec.min_args,
            plural(spec.min_args)
        )));
    }
    if let Some(max) = spec.max_args {
        if args.len() > max {
            return Err(usage(format!("'xl {}' takes at most {} argument{}.\n\n", spec.name, max, plural(max))));
        }
    }
    let has = |c: char| opts.iter().filter(|(o, _)| *o == c).count();
    let value = |c: char| opts.iter().rev().find(|(o, _)| *o == c).and_then(|(_, v)| v.clone());
    let dom = |i: usize| DomRef::parse(&args[i]);

    Ok(match spec.name {
        "create" => {
            if let Some(f) = value('f') {
                config = Some(f);
            }
            let mut extra = Vec::new();
            for a in &args {
                if a.contains('=') {
                    extra.push(a.clone());
                } else if config.is_none() {
                    config = Some(a.clone());
                } else {
                    return Err(UsageError::new(2, String::new(), help(Some("create"))));
                }
            }
            let Some(config) = config else {
                return Err(usage("Config file not specified\n\n".to_string()));
            };
            Command::Create(CreateArgs {
                config,
                extra,
                console: has('c') > 0,
                paused: has('p') > 0,
                quiet: has('q') > 0,
            })
        }
        "list" => Command::List {
            long: has('l') > 0,
            verbose: has('v') > 0,
            doms: args.iter().map(|a| DomRef::parse(a)).collect(),
        },
        "destroy" => Command::Destroy { dom: dom(0), force: has('f') > 0 },
        "shutdown" | "reboot" => {
            let target = match (has('a') > 0, args.first()) {
                (true, None) => Target::All,
                (false, Some(a)) => Target::One(DomRef::parse(a)),
                (true, Some(_)) => return Err(usage("Use either -a or a domain, not both.\n\n".to_string())),
                (false, None) => {
                    return Err(UsageError::new(
                        1,
                        "You must specify -a or a domain id.\n\n".to_string(),
                        String::new(),
                    ))
                }
            };
            Command::Shutdown { reboot: spec.name == "reboot", target, wait: has('w').min(2) as u8 }
        }
        "pause" => Command::Pause { dom: dom(0) },
        "unpause" => Command::Unpause { dom: dom(0) },
        "console" => {
            if let Some(t) = value('t') {
                if t != "pv" {
                    return Err(UsageError::new(1, "console type supported are: pv\n".to_string(), String::new()));
                }
            }
            let num = match value('n') {
                None => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| UsageError::new(1, format!("invalid console number: {}\n", n), String::new()))?,
            };
            let escape = match value('e') {
                None => DEFAULT_ESCAPE,
                Some(e) => parse_escape(&e)
                    .ok_or_else(|| UsageError::new(1, format!("Invalid escape character: {}\n", e), String::new()))?,
            };
            Command::Console { dom: dom(0), num, escape }
        }
        "info" => Command::Info { item: args.first().cloned() },
        "dmesg" => Command::Dmesg { clear: has('c') > 0 },
        "top" => Command::Top,
        "domid" => Command::Domid { name: args[0].clone() },
        "domname" => {
            let id = args[0]
                .parse::<u16>()
                .ok()
                .filter(|_| args[0].bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| UsageError::new(1, "Invalid domain id.\n\n".to_string(), String::new()))?;
            Command::Domname { id: DomId(id) }
        }
        "mem-set" => {
            let kib = parse_mem_size_kb(&args[1])
                .ok_or_else(|| UsageError::new(1, format!("invalid memory size: {}\n", args[1]), String::new()))?;
            Command::MemSet { dom: dom(0), kib }
        }
        _ => unreachable!("every command in COMMANDS is handled"),
    })
}

/// xl's memory size syntax (`parse_mem_size_kb`): a decimal number with an
/// optional one-letter suffix `b` (bytes), `k` (KiB), `m` (MiB, the
/// default), `g` (GiB) or `t` (TiB), either case. Returns KiB.
pub fn parse_mem_size_kb(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits_end);
    let n: u64 = num.parse().ok()?;
    let kib = match suffix.to_ascii_lowercase().as_str() {
        "" | "m" => n.checked_mul(1 << 10)?,
        "t" => n.checked_mul(1 << 30)?,
        "g" => n.checked_mul(1 << 20)?,
        "k" => n,
        "b" => n >> 10,
        _ => return None,
    };
    Some(kib)
}

/// xenconsole's `-e` rule: `^X` is the control character, a single
/// character is itself.
pub fn parse_escape(s: &str) -> Option<u8> {
    match s.as_bytes() {
        [b'^', c] => Some(c & 0x1f),
        [c] => Some(*c),
        _ => None,
    }
}
