//! `cargo xtask`: build, run, test and benchmark the hypervisor.
//!
//! - `build`: the bare-metal binaries (hypervisor; dom0 and test guests)
//!   in two cargo invocations of their own (so feature unification cannot
//!   hand a kernel dependency `std`), with kernel-only codegen flags, into
//!   `target/kernel/release`, plus the boot archive `boot.cpio`.
//! - `run`: build, then boot the archive in QEMU with the serial console
//!   on this terminal (dom0's shell; piped stdin is typed line by line);
//!   exits 0 when dom0 powers off. COM2 is on the unix socket
//!   `target/xl.sock`, where dom0 serves the host's `xl`.
//! - `xl <args>`: the host `xl` against the socket of a running `run`.
//! - `test`: host unit tests, then the QEMU integration tests.
//!
//! Missing system packages (`qemu-system-x86`, `libxen-dev`) are installed
//! with apt-get when running as root; otherwise the command is printed.

use domain_builder::archive::writer::ArchiveWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xshell::{cmd, Shell};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Codegen flags for every bare-metal binary: no red zone (the hypervisor
/// takes exceptions on the current stack; a PV kernel gets bounce frames
/// pushed below its stack pointer).
const KERNEL_RUSTFLAGS: &str = "-Cno-redzone=yes";

/// Test guests packed into the archive under `boot/guests/`.
const GUESTS: &[&str] = &["enosys", "crash", "mmu", "traps", "cpuid", "hostile", "pvcheck", "bench", "domu"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn kernel_dir() -> PathBuf {
    root().join("target/kernel/release")
}

fn step(msg: &str) {
    eprintln!("\x1b[1m==> {msg}\x1b[0m");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("build") => build().map(|_| 0),
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]).map(|_| 0),
        Some("bench") => bench().map(|_| 0),
        Some("xl") => xl(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <build|run|test|bench|xl> [args]\n\n  build   build the hypervisor, dom0, test guests and the boot archive\n  run     build and boot in QEMU (serial on this terminal); extra args go to the hypervisor command line\n  xl      run the host xl against a running `cargo xtask run` (e.g. cargo xtask xl list)\n  test    host unit tests, then QEMU integration tests (including real Xen 4.17)\n  bench   instruction counts on our hypervisor and on real Xen 4.17, side by side");
            Ok(2)
        }
    };
    match r {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_root(sh: &Shell) -> bool {
    cmd!(sh, "id -u").quiet().read().map(|s| s.trim() == "0").unwrap_or(false)
}

/// Makes sure a system command exists, installing `package` with apt-get
/// when running as root.
fn ensure_tool(sh: &Shell, check: &str, package: &str) -> Result {
    let present = if check.starts_with('/') {
        Path::new(check).exists()
    } else {
        cmd!(sh, "which {check}").quiet().ignore_stdout().run().is_ok()
    };
    if present {
        return Ok(());
    }
    if !is_root(sh) {
        return Err(format!(
            "{check} is missing; install it with: sudo apt-get update && sudo apt-get install -y {package}"
        )
        .into());
    }
    step(&format!("installing {package} (apt-get)"));
    cmd!(sh, "apt-get update -q").run()?;
    cmd!(sh, "apt-get install -y -q {package}").env("DEBIAN_FRONTEND", "noninteractive").run()?;
    Ok(())
}

/// Debian's Xen 4.17 hypervisor, downloaded and unpacked under
/// `target/xen` (never installed on the host).
fn ensure_xen(sh: &Shell) -> Result<PathBuf> {
    let dir = root().join("target/xen");
    let elf = dir.join("xen-4.17.elf");
    if elf.exists() {
        return Ok(elf);
    }
    step("fetching Debian's xen-hypervisor-4.17-amd64 (apt-get download, dpkg -x)");
    fetch_deb(sh, &dir, "xen-hypervisor-4.17-amd64")?;
    let gz = dir.join("unpacked/boot/xen-4.17-amd64.gz");
    let bytes = cmd!(sh, "gzip -dc {gz}").output()?.stdout;
    std::fs::write(&elf, bytes)?;
    Ok(elf)
}

/// Downloads Debian package `pkg` into `dir` and unpacks it into
/// `dir/unpacked` (`apt-get download` + `dpkg -x`: nothing is installed).
/// Retries after `apt-get update` when running as root.
fn fetch_deb(sh: &Shell, dir: &Path, pkg: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let _cd = sh.push_dir(dir);
    if cmd!(sh, "apt-get download {pkg}").run().is_err() {
        if !is_root(sh) {
            return Err(format!("cannot download {pkg}; run: sudo apt-get update").into());
        }
        cmd!(sh, "apt-get update -q").run()?;
        cmd!(sh, "apt-get download {pkg}").run()?;
    }
    let deb = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or("no .deb after apt-get download")?;
    cmd!(sh, "dpkg -x {deb} unpacked").run()?;
    std::fs::remove_file(&deb)?;
    Ok(dir.join("unpacked"))
}

fn build() -> Result<PathBuf> {
    let sh = Shell::new()?;
    sh.change_dir(root());
    let target = root().join("target/kernel");
    step("building the hypervisor");
    cmd!(sh, "cargo build --release -p hypervisor")
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_ENCODED_RUSTFLAGS", KERNEL_RUSTFLAGS)
        .run()?;
    step("building dom0 and the test guests");
    cmd!(sh, "cargo build --release -p dom0 -p test-guests")
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_ENCODED_RUSTFLAGS", KERNEL_RUSTFLAGS)
        .run()?;
    step("packing the boot archive");
    let dir = kernel_dir();
    let archive = dir.join("boot.cpio");
    std::fs::write(&archive, base_archive()?.finish())?;
    build_dom0_xen(&sh, &dir)?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "    hypervisor {} KiB (ELF), boot archive {} KiB",
        size(&dir.join("hypervisor")) / 1024,
        size(&archive) / 1024
    );
    Ok(archive)
}

/// dom0's own files (`dom0-tools/dom0/etc`: the example xl configs),
/// packed under `etc/` so dom0 sees `/etc/xen/hello.cfg`.
fn pack_dom0_tree(w: &mut ArchiveWriter) -> Result {
    fn walk(w: &mut ArchiveWriter, dir: &Path, name: &str) -> Result {
        w.dir(name);
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let child = format!("{name}/{}", e.file_name().to_string_lossy());
            if e.file_type()?.is_dir() {
                walk(w, &e.path(), &child)?;
            } else {
                w.file(&child, &std::fs::read(e.path())?);
            }
        }
        Ok(())
    }
    walk(w, &root().join("dom0-tools/dom0/etc"), "etc")
}

/// Guest kernels compiled into `dom0-xen` (real Xen hands dom0 only its
/// own image, so the scenarios' guests travel inside it).
const DOM0_XEN_GUESTS: &[&str] = &["domu"];

/// Builds `dom0-xen`: dom0 with an archive of [`DOM0_XEN_GUESTS`] embedded
/// (see `dom0-tools/dom0/build.rs`), in a target directory of its own so
/// the plain dom0 is not rebuilt each time.
fn build_dom0_xen(sh: &Shell, dir: &Path) -> Result {
    step("building dom0-xen (dom0 with the guest kernels embedded, for real Xen)");
    let mut w = ArchiveWriter::new();
    w.dir("boot").dir("boot/guests");
    for g in DOM0_XEN_GUESTS {
        w.file(&format!("boot/guests/{g}"), &std::fs::read(dir.join(g))?);
    }
    let guests = dir.join("dom0-xen-guests.cpio");
    let bytes = w.finish();
    // Rewrite only on change: dom0's build script tracks the file.
    if std::fs::read(&guests).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&guests, bytes)?;
    }
    let target = root().join("target/kernel-xen");
    cmd!(sh, "cargo build --release -p dom0")
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_ENCODED_RUSTFLAGS", KERNEL_RUSTFLAGS)
        .env("DOM0_EMBED_ARCHIVE", &guests)
        .run()?;
    std::fs::copy(target.join("release/dom0"), dir.join("dom0-xen"))?;
    Ok(())
}

/// Where `cargo xtask run` puts COM2 (dom0's xl server) on the host.
fn xl_socket() -> PathBuf {
    root().join("target/xl.sock")
}

/// The boot archive's contents: dom0, the test guests, dom0's tree
/// (`etc/xen/*.cfg`).
fn base_archive() -> Result<ArchiveWriter> {
    let dir = kernel_dir();
    let mut w = ArchiveWriter::new();
    w.dir("boot").file("boot/dom0", &std::fs::read(dir.join("dom0"))?).dir("boot/guests");
    for g in GUESTS {
        w.file(&format!("boot/guests/{g}"), &std::fs::read(dir.join(g))?);
    }
    pack_dom0_tree(&mut w)?;
    Ok(w)
}

/// Memory dom0 gets when its archive carries Debian's Linux (~70 MiB of it
/// live in dom0's memory as its boot module), and the machine's.
const LINUX_DOM0_MEM: &str = "dom0_mem=256M";
const LINUX_MACHINE_MIB: u32 = 1024;

fn run(extra: &[String]) -> Result<i32> {
    use std::io::IsTerminal;
    let sh = Shell::new()?;
    ensure_tool(&sh, "qemu-system-x86_64", "qemu-system-x86")?;
    let mut archive = build()?;
    let mut append = extra.join(" ");
    let mut mem = None;
    // The north-star guest: Debian's Linux, `xl create /etc/xen/debian.cfg`.
    match build_linux_archive(&sh) {
        Ok(_) => {
            archive = kernel_dir().join("boot-linux.cpio");
            if !append.contains("dom0_mem=") {
                append = format!("{LINUX_DOM0_MEM} {append}");
            }
            mem = Some(LINUX_MACHINE_MIB);
        }
        Err(e) => eprintln!("xtask: no Linux guest in this run ({e}); /etc/xen/debian.cfg is absent"),
    }
    let socket = xl_socket();
    let mut q = qemu_tests::Qemu::hypervisor(archive).with_xl_socket(&socket);
    q.append = append.trim().to_string();
    if let Some(m) = mem {
        q.mem_mib = m;
    }
    step(&format!(
        "booting in QEMU (serial console below); the host's xl: `cargo xtask xl <args>` (socket {})",
        socket.display()
    ));
    let mut cmd = std::process::Command::new("qemu-system-x86_64");
    cmd.args(q.args()).args(["-serial", "stdio"]);
    let status = if std::io::stdin().is_terminal() { cmd.status()? } else { type_script(cmd)? };
    let _ = std::fs::remove_file(&socket);
    let outcome = match status.code() {
        Some(s) if s & 1 == 1 && s > 1 => qemu_tests::Outcome::Code((s >> 1) as u8),
        Some(s) => qemu_tests::Outcome::Status(s),
        None => qemu_tests::Outcome::Status(-1),
    };
    let code = outcome.exit_status();
    let why = match outcome {
        qemu_tests::Outcome::Code(c) => qemu_tests::qemu_exit::describe(qemu_tests::qemu_exit::qemu_status(c)),
        qemu_tests::Outcome::Status(s) => qemu_tests::qemu_exit::describe(s),
        qemu_tests::Outcome::Timeout => "timeout",
    };
    eprintln!("xtask: machine stopped: {why} (exit status {code})");
    Ok(code)
}

/// `cargo xtask run` with stdin not a terminal: types stdin into dom0's
/// shell a line at a time, each once the previous command is done (the
/// next `dom0# ` prompt appeared, or the console has been quiet for a
/// second: the prompt may stay in the hypervisor's line buffer), then
/// Ctrl-D (end of input: dom0 powers off).
fn type_script(mut cmd: std::process::Command) -> Result<std::process::ExitStatus> {
    use std::io::{BufRead, Read, Write};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::{Duration, Instant};
    const PROMPT: &[u8] = b"dom0# ";
    let mut child = cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn()?;
    let mut qin = child.stdin.take().ok_or("no stdin pipe")?;
    let mut qout = child.stdout.take().ok_or("no stdout pipe")?;
    // (prompts seen, time of the last output)
    let state = Arc::new((Mutex::new((0u64, Instant::now())), Condvar::new()));
    let seen = state.clone();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut tail: Vec<u8> = Vec::new();
        let mut out = std::io::stdout();
        while let Ok(n) = qout.read(&mut buf) {
            if n == 0 {
                break;
            }
            let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
            tail.extend_from_slice(&buf[..n]);
            let found = tail.windows(PROMPT.len()).filter(|w| *w == PROMPT).count() as u64;
            let keep = tail.len().min(PROMPT.len() - 1);
            tail.drain(..tail.len() - keep);
            let (m, cv) = &*seen;
            let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
            g.0 += found;
            g.1 = Instant::now();
            cv.notify_all();
        }
    });
    let wait_turn = |sent: u64| {
        let (m, cv) = &*state;
        let since = Instant::now();
        let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let quiet = g.1.elapsed() > Duration::from_secs(1) && since.elapsed() > Duration::from_secs(1);
            if g.0 > sent || quiet || since.elapsed() > Duration::from_secs(60) {
                return;
            }
            g = cv.wait_timeout(g, Duration::from_millis(100)).map(|r| r.0).unwrap_or_else(|p| p.into_inner().0);
        }
    };
    let mut sent = 0;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        wait_turn(sent);
        if qin.write_all(format!("{line}\r").as_bytes()).and_then(|()| qin.flush()).is_err() {
            break;
        }
        sent += 1;
    }
    wait_turn(sent);
    let _ = qin.write_all(b"\x04").and_then(|()| qin.flush());
    let status = child.wait()?;
    let _ = echo.join();
    Ok(status)
}

/// `cargo xtask xl <args>`: builds the host `xl` and runs it against the
/// socket of a running `cargo xtask run` (unless `XL_SOCKET` names
/// another), in the current directory (config paths are relative to it).
fn xl(args: &[String]) -> Result<i32> {
    let sh = Shell::new()?;
    sh.change_dir(root());
    cmd!(sh, "cargo build --quiet -p xl").quiet().run()?;
    let mut cmd = std::process::Command::new(root().join("target/debug/xl"));
    if std::env::var_os("XL_SOCKET").is_none() {
        cmd.arg("--socket").arg(xl_socket());
    }
    let status = cmd.args(args).status()?;
    Ok(status.code().unwrap_or(1))
}

/// Debian's stock Linux 6.1 kernel (`linux-image-amd64`'s current 6.1
/// package), downloaded and unpacked under `target/linux` (never
/// installed), its `vmlinux` extracted from the bzImage's xz payload.
fn ensure_linux(sh: &Shell) -> Result<PathBuf> {
    let dir = root().join("target/linux");
    let vmlinux = dir.join("vmlinux");
    if vmlinux.exists() {
        return Ok(vmlinux);
    }
    step("fetching Debian's Linux 6.1 kernel (apt-get download, dpkg -x)");
    ensure_tool(sh, "xz", "xz-utils")?;
    // The metapackage names the current kernel package.
    let find = |sh: &Shell| -> Option<String> {
        let deps = cmd!(sh, "apt-cache depends linux-image-amd64").quiet().ignore_stderr().read().ok()?;
        deps.lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .find(|p| p.starts_with("linux-image-6.1"))
            .map(str::to_string)
    };
    let pkg = match find(sh) {
        Some(p) => p,
        None if is_root(sh) => {
            cmd!(sh, "apt-get update -q").run()?;
            find(sh).ok_or("apt-cache does not know linux-image-amd64 (6.1) even after apt-get update")?
        }
        None => return Err("apt-cache does not know linux-image-amd64 (6.1): run sudo apt-get update".into()),
    };
    fetch_deb(sh, &dir, &pkg)?;
    let vmlinuz = debian_vmlinuz()?;
    // A bzImage carries its kernel as an xz stream after the setup code.
    let image = std::fs::read(&vmlinuz)?;
    let magic = [0xfd, b'7', b'z', b'X', b'Z', 0];
    let at = image.windows(6).position(|w| w == magic).ok_or("no xz stream in the bzImage")?;
    let xz = dir.join("payload.xz");
    std::fs::write(&xz, &image[at..])?;
    let out = cmd!(sh, "xz -dc --single-stream {xz}").output()?.stdout;
    if !out.starts_with(b"\x7fELF") {
        return Err("the bzImage payload is not an ELF vmlinux".into());
    }
    std::fs::write(&vmlinux, out)?;
    std::fs::remove_file(&xz)?;
    Ok(vmlinux)
}

/// Debian's bzImage as shipped (`target/linux/unpacked/boot/vmlinuz-*`).
fn debian_vmlinuz() -> Result<PathBuf> {
    std::fs::read_dir(root().join("target/linux/unpacked/boot"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .ok_or_else(|| "no boot/vmlinuz-* in target/linux/unpacked".into())
}

/// The Linux test archive: `/init` (tests/linux/init.c, static, no libc)
/// and `boot/linux` (the vmlinux). Booted with `guest=boot/linux` or
/// `dom0=boot/linux`, the whole archive becomes Linux's initramfs.
fn build_linux_archive(sh: &Shell) -> Result<PathBuf> {
    let vmlinux = ensure_linux(sh)?;
    let dir = root().join("target/linux");
    let src = root().join("tests/linux/init.c");
    let init = dir.join("init");
    step("building the Linux test initramfs");
    cmd!(
        sh,
        "cc -static -nostdlib -O2 -fno-builtin -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-asynchronous-unwind-tables -o {init} {src}"
    )
    .run()?;
    let init = std::fs::read(&init)?;
    let vmlinux = std::fs::read(&vmlinux)?;
    // Linux alone (boot-one-guest mode or as dom0): the archive is its initramfs.
    let mut w = ArchiveWriter::new();
    w.executable("init", &init).dir("boot").file("boot/linux", &vmlinux);
    let archive = kernel_dir().join("linux.cpio");
    std::fs::write(&archive, w.finish())?;
    // Linux as a domU of our dom0: the boot archive plus the kernel, its
    // initramfs and /etc/xen/debian.cfg.
    let mut initrd = ArchiveWriter::new();
    initrd.executable("init", &init);
    let mut w = base_archive()?;
    w.file("boot/linux", &vmlinux)
        .file("boot/vmlinuz", &std::fs::read(debian_vmlinuz()?)?)
        .file("boot/linux-initrd.cpio", &initrd.finish())
        .file("etc/xen/debian.cfg", &std::fs::read(root().join("tests/linux/debian.cfg"))?)
        .file("etc/xen/debian-elf.cfg", &std::fs::read(root().join("tests/linux/debian-elf.cfg"))?);
    std::fs::write(kernel_dir().join("boot-linux.cpio"), w.finish())?;
    Ok(archive)
}

fn test(args: &[String]) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(root());
    ensure_tool(&sh, "qemu-system-x86_64", "qemu-system-x86")?;
    ensure_tool(&sh, "/usr/include/xen/xen.h", "libxen-dev")?;
    ensure_tool(&sh, "cc", "gcc")?;
    step("host tests");
    cmd!(sh, "cargo test --workspace --exclude qemu-tests {args...}").run()?;
    build()?;
    let xen = ensure_xen(&sh)?;
    build_linux_archive(&sh)?;
    step("QEMU integration tests");
    cmd!(sh, "cargo test -p qemu-tests {args...}")
        .env(qemu_tests::KERNEL_DIR_ENV, kernel_dir())
        .env(qemu_tests::XEN_ELF_ENV, xen)
        .run()?;
    Ok(())
}

/// One `BENCH <name> ... per_op=<n>` figure per line of guest output.
fn bench_figures(serial: &str) -> Vec<(String, f64)> {
    serial
        .lines()
        .filter_map(|l| l.split("BENCH ").nth(1))
        .filter_map(|l| {
            let name = l.split_whitespace().next()?.to_string();
            let per = l.split("per_op=").nth(1)?.split_whitespace().next()?.parse().ok()?;
            Some((name, per))
        })
        .collect()
}

/// dom0's `test=bench` scenario (see `docs/benchmarks.md`): 2000
/// event-channel round trips, 1000 grant map+unmap rounds and 1000 4 KiB
/// grant copies, 50 (+1 untimed) domain lifecycles of each kind.
const BENCH_SCENARIO: &str = "test=bench+events=2000+grants=1000+count=50";

/// One `bench: <name> <n>` figure per line of dom0's `test=bench` output.
fn scenario_figures(serial: &str) -> Vec<(String, f64)> {
    serial
        .lines()
        .filter_map(|l| l.split("bench: ").nth(1))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, per) = (w.next()?.to_string(), w.next()?.parse().ok()?);
            w.next().is_none().then_some((name, per))
        })
        .collect()
}

/// Runs dom0's bench scenario; a failed run is reported with the end of
/// its console (its figures, if any, still count). Returns the figures
/// and whether the run passed.
fn bench_scenario(q: qemu_tests::Qemu, on: &str, icount: bool) -> (Vec<(String, f64)>, bool) {
    let mut q = if icount { q.icount() } else { q };
    q.timeout = std::time::Duration::from_secs(300);
    let run = q.run();
    let ok = run.outcome == qemu_tests::Outcome::Code(qemu_tests::qemu_exit::TEST_PASS);
    eprintln!("    {on}: {:?} after {:.1} s", run.outcome, run.elapsed.as_secs_f64());
    if !ok {
        let lines: Vec<&str> = run.serial.lines().collect();
        eprintln!("    {on}: the bench scenario failed; end of its console:");
        for l in &lines[lines.len().saturating_sub(30)..] {
            eprintln!("      {l}");
        }
    }
    (scenario_figures(&run.serial), ok)
}

fn bench() -> Result {
    let sh = Shell::new()?;
    ensure_tool(&sh, "qemu-system-x86_64", "qemu-system-x86")?;
    build()?;
    let xen = ensure_xen(&sh)?;
    std::env::set_var(qemu_tests::XEN_ELF_ENV, &xen);
    std::env::set_var(qemu_tests::KERNEL_DIR_ENV, kernel_dir());
    let guest = kernel_dir().join("bench");
    step("bench on our hypervisor (QEMU -icount shift=0: rdtsc deltas are instruction counts)");
    let ours = qemu_tests::Qemu::hypervisor(&guest).icount().run();
    step("bench on real Xen 4.17 (same guest binary, same QEMU settings)");
    let theirs = qemu_tests::Qemu::real_xen(&guest).icount().run();
    let (mut a, mut b) = (bench_figures(&ours.serial), bench_figures(&theirs.serial));
    if a.is_empty() {
        return Err(format!("no figures from our hypervisor:\n{}", ours.serial).into());
    }
    let args = format!("dom0_args={BENCH_SCENARIO}");
    step(&format!("dom0 {args} on our hypervisor (domUs built by dom0's toolstack)"));
    let q = qemu_tests::Qemu::hypervisor(kernel_dir().join("boot.cpio")).append(&args);
    let (sa, ours_ok) = bench_scenario(q, "ours", true);
    step(&format!("dom0 {args} on real Xen 4.17 (dom0-xen: the same dom0 and domU kernels)"));
    let q = qemu_tests::Qemu::real_xen(kernel_dir().join("dom0-xen"));
    let append = format!("{} {args}", q.append);
    let (sb, _) = bench_scenario(q.append(&append), "Xen 4.17", true);
    a.extend(sa);
    b.extend(sb);
    println!("\n| instructions per operation | ours | Xen 4.17 | ours / Xen |");
    println!("|---|---:|---:|---:|");
    for (name, v) in &a {
        match b.iter().find(|(n, _)| n == name) {
            Some((_, x)) => println!("| {name} | {v:.0} | {x:.0} | {:.2} |", v / x),
            None => println!("| {name} | {v:.0} | n/a | |"),
        }
    }
    println!(
        "\n(guest-measured rdtsc deltas under `-icount shift=0,sleep=off -rtc clock=vm`; the first rows minus loop"
    );
    println!("overhead and including the guest's own instructions for the call, identical on both hypervisors; the");
    println!("rows from evtchn_round_trip on count every instruction the machine ran meanwhile: hypervisor, both");
    println!("domUs, dom0's toolstack. What each includes: docs/benchmarks.md)");
    // Wall clock: the same scenario without icount (QEMU's clock follows
    // the host's), shortened; the figure is `xl create`'s path to the
    // guest's first instruction in Xen system time.
    let args = "dom0_args=test=bench+count=20+events=200+grants=100";
    step("wall clock: the bench scenario without icount (create to first instruction)");
    let q = qemu_tests::Qemu::hypervisor(kernel_dir().join("boot.cpio")).append(args);
    let (wa, _) = bench_scenario(q, "ours", false);
    let q = qemu_tests::Qemu::real_xen(kernel_dir().join("dom0-xen"));
    let append = format!("{} {args}", q.append);
    let (wb, _) = bench_scenario(q.append(&append), "Xen 4.17", false);
    let wall = |v: &[(String, f64)]| v.iter().find(|(n, _)| n == "create_to_first_instruction_ns").map(|(_, x)| *x);
    if let (Some(x), Some(y)) = (wall(&wa), wall(&wb)) {
        println!("\n| wall clock (QEMU TCG on this machine) | ours | Xen 4.17 | ours / Xen |");
        println!("|---|---:|---:|---:|");
        println!("| create to the guest's first instruction, ms | {:.2} | {:.2} | {:.2} |", x / 1e6, y / 1e6, x / y);
    }
    if !ours_ok {
        return Err("dom0's bench scenario failed on our hypervisor".into());
    }
    Ok(())
}
