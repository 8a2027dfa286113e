//! # qemu-tests: booting the hypervisor in QEMU
//!
//! The harness every QEMU test (and `cargo xtask run`/`bench`) uses: find
//! the bare-metal artifacts `cargo xtask build` produced, start
//! `qemu-system-x86_64 -accel tcg` with the hypervisor as the PVH kernel
//! and a boot module, capture the serial console, enforce a timeout, and
//! decode the `isa-debug-exit` status (see `pv_abi::qemu_exit`).
//!
//! The tests in `tests/` need the artifacts: run them through
//! `cargo xtask test`, which builds everything first and points
//! [`KERNEL_DIR_ENV`] at the output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use pv_abi::qemu_exit;

/// Environment variable naming the directory with `hypervisor`, `dom0`,
/// the test guests and `boot.cpio`.
pub const KERNEL_DIR_ENV: &str = "PV_KERNEL_DIR";

/// The directory of bare-metal artifacts.
pub fn kernel_dir() -> PathBuf {
    match std::env::var_os(KERNEL_DIR_ENV) {
        Some(d) => PathBuf::from(d),
        None => {
            // Fall back to where `cargo xtask build` puts them.
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
            root.join("target/kernel/release")
        }
    }
}

/// Environment variable naming real Xen's hypervisor ELF (prepared by
/// `cargo xtask`: Debian's `xen-hypervisor-4.17-amd64`, unpacked, never
/// installed).
pub const XEN_ELF_ENV: &str = "PV_XEN_ELF";

/// Real Xen 4.17's ELF image; panics with a hint if it was not prepared.
pub fn xen_elf() -> PathBuf {
    let p = match std::env::var_os(XEN_ELF_ENV) {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("target/xen/xen-4.17.elf"),
    };
    assert!(p.exists(), "{} not found: run through `cargo xtask test` (it fetches Debian's Xen 4.17)", p.display());
    p
}

/// An artifact by name; panics with a hint if it was not built.
pub fn artifact(name: &str) -> PathBuf {
    let p = kernel_dir().join(name);
    assert!(
        p.exists(),
        "{} not found: run the QEMU tests through `cargo xtask test` (it builds the kernels)",
        p.display()
    );
    p
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The debug-exit code (`qemu_exit::*`).
    Code(u8),
    /// QEMU exited without a debug-exit code, with this status.
    Status(i32),
    /// Killed at the timeout.
    Timeout,
}

impl Outcome {
    /// Whether the machine powered off cleanly.
    pub fn success(self) -> bool {
        self == Outcome::Code(qemu_exit::SUCCESS)
    }
    /// The exit status a command-line user should see: 0 for a clean
    /// poweroff, otherwise non-zero.
    pub fn exit_status(self) -> i32 {
        match self {
            Outcome::Code(qemu_exit::SUCCESS) => 0,
            Outcome::Code(c) => c as i32,
            Outcome::Status(0) => 1,
            Outcome::Status(s) => s,
            Outcome::Timeout => 124,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    /// How it ended.
    pub outcome: Outcome,
    /// Everything the serial console printed.
    pub serial: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Run {
    /// Asserts the run ended with `outcome` and printed every string in
    /// `expect` (in order); on failure shows the console.
    pub fn expect(&self, outcome: Outcome, expect: &[&str]) {
        let mut at = 0;
        for e in expect {
            match self.serial[at..].find(e) {
                Some(i) => at += i + e.len(),
                None => panic!("expected {e:?} in the console output (after byte {at}); console:\n{}", self.serial),
            }
        }
        assert_eq!(self.outcome, outcome, "unexpected end of run; console:\n{}", self.serial);
    }
}

/// A QEMU invocation.
#[derive(Clone, Debug)]
pub struct Qemu {
    /// The PVH kernel (the hypervisor, or real Xen).
    pub kernel: PathBuf,
    /// The boot module.
    pub module: PathBuf,
    /// Kernel command line (`-append`).
    pub append: String,
    /// Memory in MiB.
    pub mem_mib: u32,
    /// Machine type (`microvm` boots fastest).
    pub machine: String,
    /// Exact instruction counting (`-icount shift=0,sleep=off -rtc clock=vm`).
    pub icount: bool,
    /// Extra arguments.
    pub extra: Vec<String>,
    /// Kill after this long.
    pub timeout: Duration,
}

impl Qemu {
    /// Our hypervisor booting `module`.
    pub fn hypervisor(module: impl Into<PathBuf>) -> Self {
        Qemu {
            kernel: artifact("hypervisor"),
            module: module.into(),
            append: String::new(),
            mem_mib: 256,
            machine: "microvm".into(),
            icount: false,
            extra: Vec::new(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Real Xen 4.17 booting `module` as its dom0 (`-M pc`: Xen does not
    /// boot on microvm). Under QEMU 7.2 TCG Xen needs `smap=0`.
    pub fn real_xen(module: impl Into<PathBuf>) -> Self {
        Qemu {
            kernel: xen_elf(),
            module: module.into(),
            append: "console=com1 dom0_mem=64M smap=0 noreboot".into(),
            mem_mib: 512,
            machine: "pc".into(),
            icount: false,
            extra: vec!["-cpu".into(), "max".into()],
            timeout: Duration::from_secs(120),
        }
    }

    /// Exact instruction counting.
    pub fn icount(mut self) -> Self {
        self.icount = true;
        self
    }

    /// Sets the command line.
    pub fn append(mut self, s: &str) -> Self {
        self.append = s.into();
        self
    }

    /// Adds COM2 (16550 at port 0x2f8, IRQ 3) connected to a unix socket
    /// QEMU listens on at `socket` (created at start, replacing a stale
    /// one): dom0 serves the host's `xl` there.
    pub fn with_xl_socket(mut self, socket: &Path) -> Self {
        let _ = std::fs::remove_file(socket);
        self.extra.extend(xl_serial_args(socket));
        self
    }

    /// Starts QEMU in the background, serial console captured; see
    /// [`Running`].
    pub fn spawn(&self) -> Running {
        let child = Command::new("qemu-system-x86_64")
            .args(self.args())
            .args(["-serial", "stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start qemu-system-x86_64 (cargo xtask installs it)");
        Running::new(child, self.timeout)
    }

    /// Runs to completion with `input` typed on the serial console (after
    /// which the console input stays open, with nothing more to read).
    pub fn run_with_input(&self, input: &[u8]) -> Run {
        let mut r = self.spawn();
        r.type_bytes(input);
        r.finish()
    }

    /// The full argument list.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-M".into(),
            self.machine.clone(),
            "-accel".into(),
            "tcg".into(),
            "-m".into(),
            format!("{}M", self.mem_mib),
            "-nodefaults".into(),
            "-no-reboot".into(),
            "-display".into(),
            "none".into(),
            "-kernel".into(),
            self.kernel.display().to_string(),
            "-initrd".into(),
            self.module.display().to_string(),
            "-device".into(),
            "isa-debug-exit,iobase=0xf4,iosize=0x04".into(),
        ];
        if !self.append.is_empty() {
            a.push("-append".into());
            a.push(self.append.clone());
        }
        if self.icount {
            a.extend(["-icount", "shift=0,sleep=off", "-rtc", "base=2024-01-01T00:00:00,clock=vm"].map(String::from));
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Runs to completion with the serial console captured (and nothing
    /// to read on it).
    pub fn run(&self) -> Run {
        self.run_with(&[])
    }

    /// Runs to completion with the serial console captured, typing on the
    /// serial line: for each `(wait_for, input)`, once the console has
    /// printed `wait_for`, `input` is sent.
    pub fn run_with(&self, script: &[(&str, &str)]) -> Run {
        use std::io::Write;
        use std::sync::{Arc, Mutex};
        let start = Instant::now();
        let mut child = Command::new("qemu-system-x86_64")
            .args(self.args())
            .args(["-serial", "stdio"])
            .stdin(if script.is_empty() { Stdio::null() } else { Stdio::piped() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start qemu-system-x86_64 (cargo xtask installs it)");
        let mut out = child.stdout.take().unwrap();
        let mut stdin = child.stdin.take();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let mut step = 0;
        let outcome = loop {
            if step < script.len() {
                let (wait_for, input) = script[step];
                let printed = String::from_utf8_lossy(&seen.lock().unwrap()).contains(wait_for);
                if printed {
                    if let Some(i) = stdin.as_mut() {
                        let _ = i.write_all(input.as_bytes());
                        let _ = i.flush();
                    }
                    step += 1;
                }
            }
            if let Some(st) = child.try_wait().expect("wait for qemu") {
                let s = st.code().unwrap_or(-1);
                break match s {
                    s if s & 1 == 1 && s > 1 => Outcome::Code((s >> 1) as u8),
                    s => Outcome::Status(s),
                };
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break Outcome::Timeout;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        drop(stdin);
        let _ = reader.join();
        let mut serial = String::from_utf8_lossy(&seen.lock().unwrap()).replace('\r', "");
        if let Some(mut e) = child.stderr.take() {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            if !s.trim().is_empty() {
                serial.push_str("\n[qemu stderr] ");
                serial.push_str(&s);
            }
        }
        Run { outcome, serial, elapsed: start.elapsed() }
    }
}

/// QEMU arguments for COM2 on a unix socket (`server=on,wait=off`: QEMU
/// listens, does not wait for a client, and drops output while none is
/// connected). `-M microvm` has an ISA bus for it.
pub fn xl_serial_args(socket: &Path) -> Vec<String> {
    vec![
        "-chardev".into(),
        format!("socket,id=xl,path={},server=on,wait=off", socket.display()),
        "-device".into(),
        "isa-serial,chardev=xl,iobase=0x2f8,irq=3".into(),
    ]
}

/// A QEMU started with [`Qemu::spawn`]: its serial console is collected
/// as it arrives (wait for text with [`Running::wait_for`]), input can be
/// typed into it, and it is killed when dropped.
pub struct Running {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    serial: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    start: Instant,
    timeout: Duration,
}

impl Running {
    fn new(mut child: Child, timeout: Duration) -> Running {
        let mut out = child.stdout.take().expect("piped stdout");
        let serial = Arc::new(Mutex::new(Vec::new()));
        let sink = serial.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => sink.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]),
                }
            }
        });
        let stdin = child.stdin.take();
        Running { child: Some(child), stdin, serial, reader: Some(reader), start: Instant::now(), timeout }
    }

    /// The serial console so far (`\r` removed).
    pub fn serial(&self) -> String {
        let bytes = self.serial.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).replace('\r', "")
    }

    /// Waits until the console contains `text` (after byte `from`);
    /// returns the byte offset just past it. Panics with the console
    /// after `timeout` or if QEMU ends first.
    pub fn wait_for_from(&mut self, text: &str, from: usize, timeout: Duration) -> usize {
        let t0 = Instant::now();
        loop {
            let s = self.serial();
            if let Some(i) = s.get(from..).and_then(|rest| rest.find(text)) {
                return from + i + text.len();
            }
            let exited = self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || t0.elapsed() > timeout {
                let why = if exited { "QEMU exited" } else { "timed out" };
                panic!("{why} waiting for {text:?} on the console; console:\n{}", self.serial());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Running::wait_for_from`] from the start of the console.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> usize {
        self.wait_for_from(text, 0, timeout)
    }

    /// Types bytes on the serial console.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        if let Some(i) = self.stdin.as_mut() {
            let _ = i.write_all(bytes).and_then(|()| i.flush());
        }
    }

    /// Waits for QEMU to end (killing it at the timeout given to the
    /// [`Qemu`], counted from its start) and returns the run.
    pub fn finish(mut self) -> Run {
        let mut child = self.child.take().expect("running");
        let outcome = loop {
            if let Some(st) = child.try_wait().expect("wait for qemu") {
                let s = st.code().unwrap_or(-1);
                break match s {
                    s if s & 1 == 1 && s > 1 => Outcome::Code((s >> 1) as u8),
                    s => Outcome::Status(s),
                };
            }
            if self.start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break Outcome::Timeout;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let mut serial = self.serial();
        if let Some(mut e) = child.stderr.take() {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            if !s.trim().is_empty() {
                serial.push_str("\n[qemu stderr] ");
                serial.push_str(&s);
            }
        }
        Run { outcome, serial, elapsed: self.start.elapsed() }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Environment variable naming the host `xl` binary (`cargo xtask test`
/// sets it); without it the tests build it with `cargo build -p xl`.
pub const XL_BIN_ENV: &str = "PV_XL_BIN";

/// The host `xl` binary.
pub fn xl_binary() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os(XL_BIN_ENV) {
            return PathBuf::from(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--quiet", "-p", "xl"])
            .current_dir(root)
            .status()
            .expect("cannot run cargo to build the host xl");
        assert!(st.success(), "building the host xl failed");
        root.join("target/debug/xl")
    })
    .clone()
}

/// What one run of the host `xl` printed.
#[derive(Debug)]
pub struct XlRun {
    /// Its exit status (-1: killed at the timeout).
    pub status: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl XlRun {
    /// Asserts it exited 0; returns it.
    pub fn ok(self) -> XlRun {
        assert_eq!(self.status, 0, "xl failed: {self:?}");
        self
    }

    /// Asserts it failed (exit status 1) saying `msg` on stderr.
    pub fn fails_with(self, msg: &str) -> XlRun {
        assert_eq!(self.status, 1, "expected xl to fail with {msg:?}: {self:?}");
        assert!(self.stderr.contains(msg), "expected {msg:?} on stderr: {self:?}");
        self
    }
}

/// Our hypervisor and dom0 running in QEMU with COM2 on a socket, for
/// driving dom0 with the host `xl` ([`XlHost::xl`]). QEMU is killed
/// when it is dropped.
pub struct XlHost {
    /// The QEMU run (its serial console: the hypervisor's and dom0's).
    pub qemu: Running,
    /// The socket of COM2.
    pub socket: PathBuf,
}

impl XlHost {
    /// Boots the boot archive (dom0 runs its shell and xl server) and
    /// waits until dom0 serves xl.
    pub fn boot() -> XlHost {
        XlHost::boot_with(Qemu::hypervisor(artifact("boot.cpio")))
    }

    /// As [`XlHost::boot`] with a QEMU set up by the caller.
    pub fn boot_with(q: Qemu) -> XlHost {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = std::env::temp_dir().join(format!("qemu-tests-xl-{}-{n}.sock", std::process::id()));
        let mut q = q.with_xl_socket(&socket);
        q.timeout = Duration::from_secs(600);
        let mut qemu = q.spawn();
        qemu.wait_for("xl server on COM2", Duration::from_secs(60));
        XlHost { qemu, socket }
    }

    /// Runs the host `xl` with `args` (stdin empty).
    pub fn xl(&self, args: &[&str]) -> XlRun {
        self.xl_in(args, b"", None)
    }

    /// Runs the host `xl` with `args`, `input` on its stdin, in directory
    /// `dir` (the current one if `None`); kills it after 60 s.
    pub fn xl_in(&self, args: &[&str], input: &[u8], dir: Option<&Path>) -> XlRun {
        let mut cmd = Command::new(xl_binary());
        cmd.arg("--socket").arg(&self.socket).arg("--timeout").arg("30").args(args);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the host xl");
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(input);
        }
        let collect = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut s = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut s);
                }
                String::from_utf8_lossy(&s).into_owned()
            })
        };
        let out = collect(child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>));
        let err = collect(child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>));
        let t0 = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait for xl") {
                break st.code().unwrap_or(-1);
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                break -1;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        XlRun { status, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
    }
}

impl Drop for XlHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}
