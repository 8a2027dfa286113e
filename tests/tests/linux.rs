//! Debian's stock Linux 6.1 (`linux-image-amd64`, unmodified) on our
//! hypervisor: as the single unprivileged guest of the boot-one-guest mode
//! (its console ring served by the hypervisor) and as dom0 (console input
//! from the serial line through `CONSOLEIO_read`). The archive
//! `linux.cpio` (`/init` from tests/linux/init.c plus `boot/linux`) is
//! Linux's initramfs; `/init` prints from user space and powers off.
//!
//! `cargo xtask test` fetches the kernel (apt-get download) and builds the
//! archive; without it these tests say so and fail.

use qemu_tests::{artifact, qemu_exit, Outcome, Qemu};
use std::time::Duration;

fn linux(append: &str) -> Qemu {
    let mut q = Qemu::hypervisor(artifact("linux.cpio")).append(append);
    q.mem_mib = 1024;
    q.timeout = Duration::from_secs(180);
    q
}

/// Lines every successful boot prints, in order.
const BOOTED: &[&str] = &[
    "Linux version 6.1.",
    "Hypervisor detected: Xen PV",
    "Booting kernel on Xen",
    "Xen version: 4.17-rust",
    "xen:events: Using 2-level ABI",
    "clocksource: xen:",
    "installing Xen timer for CPU 0",
    "Grant tables using version 1 layout",
    "Run /init as init process",
    "init: hello from Linux userspace: Linux 6.1.",
    "init: PASS, powering off",
];

#[test]
fn linux_as_the_single_guest_reaches_user_space_and_powers_off() {
    // Two vCPUs: the second comes up through VCPUOP_initialise/up, IPIs
    // are event channels, both share the one physical CPU.
    let run = linux("guest=boot/linux dom0_mem=512M dom0_max_vcpus=2 dom0_args=console=hvc0").run();
    run.expect(Outcome::Code(qemu_exit::SUCCESS), BOOTED);
    assert!(run.serial.contains("smp: Brought up 1 node, 2 CPUs"), "{}", run.serial);
    assert!(run.serial.contains("(d1) "), "the guest is domain 1: {}", run.serial);
    assert!(!run.serial.contains("Kernel panic"), "{}", run.serial);
}

#[test]
fn linux_as_dom0_reads_the_serial_console_and_powers_off() {
    // The microvm machine describes a reduced-hardware ACPI platform, in
    // which Linux skips the paravirtual timer setup; dom0 runs without ACPI.
    let run = linux("dom0=boot/linux dom0_mem=512M dom0_args=console=hvc0+acpi=off+init.echo")
        .run_with(&[("init: type a line", "hello dom0\n")]);
    let mut expect = BOOTED.to_vec();
    expect.insert(expect.len() - 1, "init: read 'hello dom0'");
    run.expect(Outcome::Code(qemu_exit::SUCCESS), &expect);
    assert!(!run.serial.contains("Kernel panic"), "{}", run.serial);
}

/// The north-star path: our dom0's shell creates Debian's Linux as a PV
/// domU from `/etc/xen/debian.cfg` (xenstore, console back-end, the
/// toolstack's builder), `xl console` shows it reaching user space, and
/// `xl list` shows it shut down (on_poweroff = "preserve").
#[test]
fn linux_as_a_domu_created_by_xl_in_our_dom0() {
    let mut q = Qemu::hypervisor(artifact("boot-linux.cpio")).append("dom0_mem=256M");
    q.mem_mib = 1024;
    q.timeout = Duration::from_secs(180);
    let run = q.run_with(&[
        ("type `help`", "xl create /etc/xen/debian.cfg\r"),
        ("Parsing config from /etc/xen/debian.cfg", "xl console debian\r"),
        ("init: PASS, powering off", "\x1d"),
        ("has shut down (poweroff)", "xl list\r"),
        ("---s--", "poweroff\r"),
    ]);
    run.expect(
        Outcome::Code(qemu_exit::SUCCESS),
        &[
            "Linux version 6.1.",
            "Xen version: 4.17-rust",
            "Grant tables using version 1 layout",
            "Run /init as init process",
            "init: hello from Linux userspace: Linux 6.1.",
            "init: PASS, powering off",
        ],
    );
    let listed = run.serial.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 5 && f[0] == "debian" && f[2] == "256" && f[4] == "---s--"
    });
    assert!(listed, "xl list shows debian shut down with 256 MiB: {}", run.serial);
    assert!(!run.serial.contains("Kernel panic"), "{}", run.serial);
}
