//! dom0 as a control domain, driven from the host: each test boots our
//! hypervisor with dom0 (xenstored, console back-end, the `xl` executor)
//! and COM2 on a unix socket, and runs the host `xl` binary against it,
//! as a user of `cargo xtask run` + `cargo xtask xl` would.
//!
//! The guests are the `domu` test kernel in its `hello` role, from the
//! example configs in dom0's tree (`/etc/xen/*.cfg`): it talks to
//! xenstored, prints `tick <n>` every second, echoes console input and
//! obeys `control/shutdown` (`hold=1`: ignores it).

use qemu_tests::{XlHost, XlRun};
use std::time::{Duration, Instant};

/// One row of `xl list`: (name, id, MiB, vCPUs, state letters, seconds).
#[derive(Clone, Debug, PartialEq)]
struct Row {
    name: String,
    id: u16,
    mem: u64,
    vcpus: u32,
    state: String,
    time: f64,
}

fn rows(list: &XlRun) -> Vec<Row> {
    let mut lines = list.stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("Name") && header.contains("Time(s)"), "not xl list output: {list:?}");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 6, "bad xl list row {l:?}");
            Row {
                name: f[0].into(),
                id: f[1].parse().unwrap(),
                mem: f[2].parse().unwrap(),
                vcpus: f[3].parse().unwrap(),
                state: f[4].into(),
                time: f[5].parse().unwrap(),
            }
        })
        .collect()
}

fn list(h: &XlHost) -> Vec<Row> {
    rows(&h.xl(&["list"]).ok())
}

fn row(h: &XlHost, name: &str) -> Option<Row> {
    list(h).into_iter().find(|r| r.name == name)
}

/// `xl info free_memory`, MiB.
fn free_mib(h: &XlHost) -> u64 {
    let r = h.xl(&["info", "free_memory"]).ok();
    r.stdout.trim().parse().unwrap_or_else(|_| panic!("free_memory: {r:?}"))
}

/// Polls `xl console <dom>` (history only: stdin is empty) until it
/// contains `text`; returns the history.
fn console_until(h: &XlHost, dom: &str, text: &str, timeout: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let r = h.xl(&["console", dom]).ok();
        if r.stdout.contains(text) {
            return r.stdout;
        }
        assert!(t0.elapsed() < timeout, "{dom}'s console never said {text:?}; it says:\n{}", r.stdout);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running, unpaused domain: `r` or `b`, nothing else.
fn live(state: &str) -> bool {
    state.len() == 6 && state[2..].chars().all(|c| c == '-') && state[..2].chars().all(|c| "rb-".contains(c))
}

#[test]
fn create_list_console_and_destroy_from_dom0s_tree() {
    let h = XlHost::boot();
    let free0 = free_mib(&h);
    let r = h.xl(&["create", "/etc/xen/hello.cfg"]).ok();
    assert!(r.stderr.contains("Parsing config from /etc/xen/hello.cfg"), "{r:?}");
    let rows = list(&h);
    assert_eq!(rows[0].name, "Domain-0");
    assert_eq!((rows[0].id, rows[0].state.as_bytes()[0]), (0, b'r'), "{rows:?}");
    let hello = rows.iter().find(|r| r.name == "hello").unwrap_or_else(|| panic!("no hello in {rows:?}"));
    assert_eq!((hello.mem, hello.vcpus), (8, 1), "{hello:?}");
    assert!(hello.id > 0 && live(&hello.state), "{hello:?}");
    let id = hello.id.to_string();
    assert_eq!(h.xl(&["domid", "hello"]).ok().stdout.trim(), id);
    assert_eq!(h.xl(&["domname", &id]).ok().stdout.trim(), "hello");
    assert!(free_mib(&h) + 8 <= free0, "creating an 8 MiB domain freed nothing");

    // Its console: history, then input reaches it and it answers.
    let hist = console_until(&h, "hello", "tick 1", Duration::from_secs(20));
    assert!(hist.contains(&format!("domu(hello): d{id} 'hello' is up")), "{hist}");
    let r = h.xl_in(&["console", "hello"], b"ping from the host\n", None).ok();
    assert!(r.stdout.contains("'hello' is up"), "console history missing: {r:?}");
    console_until(&h, "hello", "domu(hello): console input: ping from the host", Duration::from_secs(20));

    // Errors as xl prints them.
    h.xl(&["create", "/etc/xen/hello.cfg"]).fails_with("Domain with name \"hello\" already exists");
    h.xl(&["list", "nosuch"]).fails_with("no such domain 'nosuch'");
    h.xl(&["destroy", "nosuch"]).fails_with("no such domain 'nosuch'");
    h.xl(&["create", "/etc/xen/nope.cfg"]).fails_with("Failed to read config file: /etc/xen/nope.cfg");
    let r = h.xl(&["create", "/etc/xen/hello.cfg", "name=\"huge\"", "memory=65536"]);
    let free = free_mib(&h);
    r.fails_with(&format!("not enough memory: asked 65536 MiB, {free} MiB free"));

    h.xl(&["destroy", "hello"]).ok();
    assert!(row(&h, "hello").is_none(), "hello still listed after destroy");
    assert_eq!(free_mib(&h), free0, "memory not back after destroy");
}

#[test]
fn a_domu_writing_outside_its_xenstore_permissions_is_refused() {
    let h = XlHost::boot();
    h.xl(&["create", "/etc/xen/hello.cfg"]).ok();
    let hist = console_until(&h, "hello", "watching control/shutdown", Duration::from_secs(20));
    // Its own data/ is writable (it stops with FAIL otherwise); its
    // read-only name and dom0's home are not.
    assert!(hist.contains("domu(hello): xenstore: write to name refused: EACCES"), "{hist}");
    assert!(hist.contains("domu(hello): xenstore: write to /local/domain/0/name refused: EACCES"), "{hist}");
    assert!(!hist.contains("FAIL"), "{hist}");
}

#[test]
fn pause_and_unpause_stop_and_resume_cpu_time() {
    let h = XlHost::boot();
    h.xl(&["create", "/etc/xen/hello.cfg", "name=\"spinner\"", "cmdline=\"role=spin\""]).ok();
    let t0 = Instant::now();
    let running = loop {
        let r = row(&h, "spinner").expect("spinner listed");
        if r.time >= 0.3 {
            break r;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the spinner gets no CPU time: {r:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!running.state.contains('p'), "{running:?}");
    h.xl(&["pause", "spinner"]).ok();
    let paused = row(&h, "spinner").unwrap();
    assert_eq!(&paused.state[2..3], "p", "{paused:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let still = row(&h, "spinner").unwrap();
    assert_eq!(still.time, paused.time, "CPU time moved while paused: {paused:?} then {still:?}");
    h.xl(&["unpause", "spinner"]).ok();
    let t0 = Instant::now();
    loop {
        let r = row(&h, "spinner").unwrap();
        if r.time > still.time {
            assert!(!r.state.contains('p'), "{r:?}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "CPU time does not resume: {still:?} then {r:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    h.xl(&["destroy", "spinner"]).ok();
}

#[test]
fn shutdown_wait_powers_the_guest_off() {
    let mut h = XlHost::boot();
    h.xl(&["create", "/etc/xen/hello.cfg"]).ok();
    // A twin kept after poweroff, to read what the guest saw.
    h.xl(&["create", "/etc/xen/hello.cfg", "name=\"keep\"", "on_poweroff=\"preserve\""]).ok();
    for dom in ["hello", "keep"] {
        console_until(&h, dom, "watching control/shutdown", Duration::from_secs(20));
    }
    let id = row(&h, "hello").unwrap().id;
    let r = h.xl(&["shutdown", "-w", "hello"]).ok();
    assert!(r.stderr.contains(&format!("Shutting down domain {id}")), "{r:?}");
    assert!(r.stderr.contains(&format!("Domain {id} has been shut down, reason code 0")), "{r:?}");
    assert!(row(&h, "hello").is_none(), "hello still listed after shutdown -w: {:?}", list(&h));
    h.qemu.wait_for(
        &format!("xl: domain hello (d{id}) has shut down (poweroff): on_poweroff = destroy"),
        Duration::from_secs(5),
    );

    h.xl(&["shutdown", "-w", "keep"]).ok();
    let keep = row(&h, "keep").expect("keep preserved");
    assert_eq!(keep.state, "---s--", "{keep:?}");
    let hist = h.xl(&["console", "keep"]).ok().stdout;
    assert!(hist.contains("domu(hello): control/shutdown = poweroff: powering off"), "{hist}");
    h.xl(&["destroy", "keep"]).ok();
    assert_eq!(list(&h).len(), 1, "only dom0 should be left");
}

#[test]
fn destroy_a_domu_that_ignores_shutdown() {
    let h = XlHost::boot();
    let free0 = free_mib(&h);
    h.xl(&["create", "/etc/xen/stubborn.cfg"]).ok();
    console_until(&h, "stubborn", "watching control/shutdown", Duration::from_secs(20));
    h.xl(&["shutdown", "stubborn"]).ok();
    console_until(&h, "stubborn", "control/shutdown = poweroff: ignored (hold=1)", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    let r = row(&h, "stubborn").expect("stubborn still there");
    assert!(live(&r.state), "{r:?}");
    h.xl(&["destroy", "stubborn"]).ok();
    assert!(row(&h, "stubborn").is_none());
    assert_eq!(free_mib(&h), free0, "memory not back after destroy");
}

#[test]
fn reboot_restarts_or_destroys_per_on_reboot() {
    let mut h = XlHost::boot();
    h.xl(&["create", "/etc/xen/restart.cfg"]).ok();
    h.xl(&["create", "/etc/xen/hello.cfg"]).ok();
    for dom in ["restart", "hello"] {
        console_until(&h, dom, "watching control/shutdown", Duration::from_secs(20));
    }
    let old = row(&h, "restart").unwrap();
    let r = h.xl(&["reboot", "-w", "restart"]).ok();
    assert!(r.stderr.contains(&format!("Domain {} has been shut down, reason code 1", old.id)), "{r:?}");
    h.qemu.wait_for("xl: domain restart (d", Duration::from_secs(5));
    h.qemu.wait_for("has shut down (reboot): on_reboot = restart", Duration::from_secs(5));
    h.qemu.wait_for("xl: domain restart restarted as d", Duration::from_secs(10));
    let new = row(&h, "restart").expect("restart is back");
    assert!(live(&new.state), "{new:?}");
    // A new instance: its console starts afresh.
    let hist = console_until(&h, "restart", "watching control/shutdown", Duration::from_secs(20));
    assert_eq!(hist.matches("'restart' is up").count(), 1, "{hist}");
    assert!(!hist.contains("rebooting"), "{hist}");

    // hello.cfg says on_reboot = "destroy".
    h.xl(&["reboot", "-w", "hello"]).ok();
    assert!(row(&h, "hello").is_none(), "{:?}", list(&h));
}

#[test]
fn twenty_domus_at_once_are_listed() {
    let h = XlHost::boot();
    let free0 = free_mib(&h);
    let names: Vec<String> = (0..20).map(|i| format!("guest{i:02}")).collect();
    for n in &names {
        h.xl(&["create", "-q", "/etc/xen/hello.cfg", &format!("name=\"{n}\""), "memory=4"]).ok();
    }
    let rows = list(&h);
    assert_eq!(rows.len(), 21, "{rows:?}");
    let mut ids: Vec<u16> = Vec::new();
    for n in &names {
        let r = rows.iter().find(|r| &r.name == n).unwrap_or_else(|| panic!("{n} not listed: {rows:?}"));
        assert_eq!((r.mem, r.vcpus), (4, 1), "{r:?}");
        assert!(live(&r.state), "{r:?}");
        ids.push(r.id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "ids not distinct: {rows:?}");
    assert!(ids.iter().all(|&i| i > 0));
    assert!(free_mib(&h) + 80 <= free0);
    // Each one's xenstore home holds its own name.
    let last = &names[19];
    console_until(&h, last, &format!("'{last}' is up"), Duration::from_secs(20));
    for n in &names {
        h.xl(&["destroy", n]).ok();
    }
    assert_eq!(list(&h).len(), 1);
    assert_eq!(free_mib(&h), free0, "memory not back after destroying 20 domains");
}

#[test]
fn configs_from_the_host_are_checked_and_sent() {
    let h = XlHost::boot();
    let dir = std::env::temp_dir().join(format!("qemu-tests-xl-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.cfg"), "name = \"bad\"\nkernel = \"/boot/guests/domu\"\nmemroy = 8\n").unwrap();
    let r = h.xl_in(&["create", "bad.cfg"], b"", Some(&dir));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.contains("bad.cfg:3: unknown key 'memroy'"), "{r:?}");
    // The kernel is not on the host, so dom0 takes it from its tree.
    std::fs::write(
        dir.join("mine.cfg"),
        "name = \"mine\"\nkernel = \"/boot/guests/domu\"\ncmdline = \"role=hello\"\nmemory = 4\n",
    )
    .unwrap();
    h.xl_in(&["create", "mine.cfg"], b"", Some(&dir)).ok();
    let mine = row(&h, "mine").expect("mine listed");
    assert_eq!(mine.mem, 4);
    console_until(&h, "mine", "'mine' is up", Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(&dir);
}
