//! The `xl` binary against a fake dom0 over a real unix socket.

mod fake_dom0;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fake_dom0::{FakeDom0, Mode, BOOT_NOISE, DOM0_CONFIG, DOM0_KERNEL};
use toolstack::protocol::crc32;
use toolstack::status::format_list;

fn xl(socket: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("XL_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xl");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xl-e2e-{}-{}", std::process::id(), tag));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn no_dom0_is_a_clear_error_naming_the_socket() {
    let sock = std::env::temp_dir().join("xl-no-such-dom0.sock");
    let out = xl(&sock, &["list"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with(&format!("xl: cannot connect to dom0 at {}: ", sock.display())), "stderr: {}", err);
    assert!(err.contains("cargo xtask run"), "{}", err);
    assert!(out.stdout.is_empty());
}

#[test]
fn default_socket_comes_from_xl_socket() {
    let out = Command::new(env!("CARGO_BIN_EXE_xl"))
        .arg("list")
        .env("XL_SOCKET", "/nonexistent/xl-env.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/xl-env.sock"));
    let out = Command::new(env!("CARGO_BIN_EXE_xl"))
        .arg("list")
        .env_remove("XL_SOCKET")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("at target/xl.sock: "), "{}", text(&out.stderr));
}

#[test]
fn list_round_trip_skips_boot_noise() {
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["list"], b"");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), format_list(&fake_dom0::domains(), false));
    assert_eq!(out.status.code(), Some(0));
    let seen = dom0.seen();
    assert_eq!(seen.requests.len(), 1);
    assert_eq!(seen.requests[0].argv, ["list"]);
    assert!(seen.requests[0].files.is_empty());
}

#[test]
fn verbose_shows_the_line_noise() {
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["-v", "list", "hello"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains(&text(BOOT_NOISE)));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    assert_eq!(dom0.seen().requests[0].argv, ["-v", "list", "hello"]);
}

#[test]
fn dom0_errors_and_exit_status_pass_through() {
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["destroy", "foo"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "xl: no such domain 'foo'\n");
    assert!(out.stdout.is_empty());
    dom0.seen();

    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["domid", "hello"], b"");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "1\n".to_string()));
    dom0.seen();
}

#[test]
fn usage_errors_and_help_need_no_dom0() {
    let nowhere = Path::new("/nonexistent/xl.sock");
    let out = xl(nowhere, &["pause"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "'xl pause' requires at least 1 argument.\n\n");
    assert!(text(&out.stdout).starts_with("Usage: xl [-vtTf] pause <Domain>"));

    let out = xl(nowhere, &["help"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains(" console             Attach to domain's console\n"));

    let out = xl(nowhere, &["list", "-h"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("Usage: xl [-vtT] list [options] [Domain]"));

    let out = xl(nowhere, &["frob"], b"");
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(1), "command not implemented\n".to_string()));

    let out = xl(nowhere, &["mem-set", "hello", "12q"], b"");
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(1), "invalid memory size: 12q\n".to_string()));

    let out = Command::new(env!("CARGO_BIN_EXE_xl")).arg("--socket").output().unwrap();
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), "xl: --socket needs a value\n".to_string()));
}

#[test]
fn create_sends_the_config_and_an_8_mib_kernel() {
    let dir = temp_dir("create");
    let kernel: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.join("hello.elf"), &kernel).unwrap();
    let ramdisk = dir.join("initrd.img");
    std::fs::write(&ramdisk, b"ramdisk bytes \xff\xff").unwrap();
    let cfg = dir.join("hello.cfg");
    std::fs::write(
        &cfg,
        format!(
            "# test guest\nname = \"hello\"\nkernel = \"hello.elf\"  # relative to the config\n\
             ramdisk = '{}'\nmemory = 64\n",
            ramdisk.display()
        ),
    )
    .unwrap();

    let dom0 = FakeDom0::start(Mode::Normal);
    let cfg_arg = cfg.display().to_string();
    let out = xl(&dom0.path, &["create", &cfg_arg, "memory=96"], b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), format!("Parsing config from {}\n", cfg_arg));
    assert_eq!(
        text(&out.stdout),
        format!(
            "created 'hello' with 96 MiB\nhello.elf: {} bytes, crc {:08x}\n{}: 16 bytes, crc {:08x}\n",
            kernel.len(),
            crc32(&kernel),
            ramdisk.display(),
            crc32(b"ramdisk bytes \xff\xff")
        )
    );
    let seen = dom0.seen();
    let req = &seen.requests[0];
    assert_eq!(req.argv, ["create", cfg_arg.as_str(), "memory=96"]);
    let names: Vec<&str> = req.files.iter().map(|f| f.name.as_str()).collect();
    let ramdisk_name = ramdisk.display().to_string();
    assert_eq!(names, [cfg_arg.as_str(), "hello.elf", ramdisk_name.as_str()]);
    assert_eq!(req.file("hello.elf"), Some(kernel.as_slice()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn create_with_a_bad_config_fails_on_the_host() {
    let dir = temp_dir("badcfg");
    let cfg = dir.join("hello.cfg");
    std::fs::write(&cfg, "name = 'hello'\nkernel = 'k'\nmemroy = 128\n").unwrap();
    let cfg_arg = cfg.display().to_string();
    // No dom0 at all: the error comes before any connection.
    let out = xl(Path::new("/nonexistent/xl.sock"), &["create", &cfg_arg], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("Parsing config from {0}\n{0}:3: unknown key 'memroy'\n", cfg_arg));
    let out = xl(Path::new("/nonexistent/xl.sock"), &["create", "-q", &cfg_arg], b"");
    assert_eq!(text(&out.stderr), format!("{}:3: unknown key 'memroy'\n", cfg_arg));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn create_of_a_dom0_path_sends_no_files() {
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["create", DOM0_CONFIG.0], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "created 'hello' with 32 MiB\n{}: {} bytes, crc {:08x}\n",
            DOM0_KERNEL.0,
            DOM0_KERNEL.1.len(),
            crc32(DOM0_KERNEL.1)
        )
    );
    assert!(dom0.seen().requests[0].files.is_empty());
}

#[test]
fn console_forwards_input_until_end_of_input() {
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["console", "hello"], b"root\r");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "console of hello\r\n[root\r]\r\n");
    let seen = dom0.seen();
    assert_eq!(seen.input, b"root\r");
    assert!(seen.detached);
}

#[test]
fn console_stops_at_the_escape_character() {
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["console", "1"], b"ls\x1dnot sent");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "console of hello\r\n[ls]\r\n");
    let seen = dom0.seen();
    assert_eq!(seen.input, b"ls");
    assert!(seen.detached);

    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["console", "-e", "^a", "hello"], b"ab\x1dc\x01never");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(dom0.seen().input, b"ab\x1dc");
}

#[test]
fn create_c_attaches_the_console() {
    let dir = temp_dir("createc");
    std::fs::write(dir.join("k"), b"kernel").unwrap();
    let cfg = dir.join("c.cfg");
    std::fs::write(&cfg, "name='c'\nkernel='k'\n").unwrap();
    let dom0 = FakeDom0::start(Mode::Normal);
    let out = xl(&dom0.path, &["create", "-c", &cfg.display().to_string()], b"hi");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("created 'c' with 32 MiB\nk: 6 bytes, crc {:08x}\n[hi]\r\n", crc32(b"kernel"))
    );
    assert_eq!(dom0.seen().input, b"hi");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_silent_dom0_times_out() {
    let dom0 = FakeDom0::start(Mode::Silent);
    let out = xl(&dom0.path, &["--timeout", "1", "list"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("xl: no answer from dom0 on {} within 1 s (is dom0 up and serving xl?)\n", dom0.path.display())
    );
    assert_eq!(dom0.seen().requests[0].argv, ["list"]);
}

#[test]
fn a_dom0_that_hangs_up_is_reported() {
    let dom0 = FakeDom0::start(Mode::Hangup);
    let path = dom0.path.clone();
    let out = xl(&path, &["info"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("xl: dom0 closed the connection ({}) before the command finished\n", path.display())
    );
    assert_eq!(dom0.seen().requests[0].argv, ["info"]);
}
