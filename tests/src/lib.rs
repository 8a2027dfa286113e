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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

    /// Runs to completion with the serial console captured.
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
