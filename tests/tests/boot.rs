//! Foundation: the hypervisor boots, runs a PV kernel in ring 3, answers
//! its hypercalls, and ends the machine with the right status.

use qemu_tests::{artifact, qemu_exit, Outcome, Qemu};
use std::time::Duration;

/// Boots `q`, waits for dom0's shell, types `poweroff` at it (console
/// input: `CONSOLEIO_read` + `VIRQ_CONSOLE`) and returns the run.
fn poweroff_at_the_shell(q: Qemu) -> qemu_tests::Run {
    let mut r = q.spawn();
    r.wait_for("dom0: type `help` for the commands", Duration::from_secs(30));
    r.type_bytes(b"poweroff\r");
    r.finish()
}

#[test]
fn dom0_banner_shell_and_clean_poweroff_from_the_archive() {
    let run = poweroff_at_the_shell(Qemu::hypervisor(artifact("boot.cpio")));
    run.expect(
        Outcome::Code(qemu_exit::SUCCESS),
        &[
            "(XEN) Xen-compatible PV hypervisor",
            "\ndom0: running on Xen 4.17-rust (xen-3.0-x86_64)",
            "privileged=true",
            "xenstored up",
            "dom0# poweroff",
            "dom0: powering off",
            "(XEN) machine exit: Poweroff",
        ],
    );
    assert_eq!(run.outcome.exit_status(), 0);
}

#[test]
fn bare_elf_module_boots_as_dom0() {
    let run = poweroff_at_the_shell(Qemu::hypervisor(artifact("dom0")).append("dom0_args=hello+world"));
    run.expect(Outcome::Code(qemu_exit::SUCCESS), &["boot archive 0 KiB, cmdline 'hello world'", "powering off"]);
}

#[test]
fn unknown_hypercalls_get_enosys_and_the_guest_continues() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("dom0=boot/guests/enosys").run();
    run.expect(
        Outcome::Code(qemu_exit::SUCCESS),
        &["enosys: hypercall 11 -> -ENOSYS", "enosys: hypercall 1000 -> -ENOSYS", "enosys: PASS"],
    );
}

#[test]
fn a_crashing_guest_ends_the_run_nonzero() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("dom0=boot/guests/crash").run();
    run.expect(
        Outcome::Code(qemu_exit::GUEST_CRASH),
        &["crash: executing ud2", "crashing d0: no handler in the trap table for #UD", "domain 0 crashed"],
    );
    assert_ne!(run.outcome.exit_status(), 0);
}

#[test]
fn a_guest_reporting_a_crash_ends_the_run_nonzero() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("dom0=boot/guests/crash dom0_args=shutdown").run();
    run.expect(Outcome::Code(qemu_exit::GUEST_CRASH), &["crash: SCHEDOP_shutdown(crash)", "domain 0 crashed"]);
}

#[test]
fn hypervisor_panic_exits_nonzero() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("selftest=panic").run();
    run.expect(
        Outcome::Code(qemu_exit::HYPERVISOR_PANIC),
        &["(XEN) PANIC:", "selftest: deliberate hypervisor panic", "Hypervisor crashed"],
    );
}

#[test]
fn hypervisor_fault_prints_a_register_dump_and_exits_nonzero() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("selftest=fault").run();
    run.expect(
        Outcome::Code(qemu_exit::HYPERVISOR_PANIC),
        &[
            "FATAL: exception in hypervisor: #PF (vector 14)",
            "at rip 0xffff82d04",
            "rax ",
            "cr2 ffff8100dead0000",
            "Hypervisor crashed",
        ],
    );
}

#[test]
fn bad_command_line_is_refused_with_the_option_named() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("loglvl=loud").run();
    run.expect(Outcome::Code(qemu_exit::HYPERVISOR_PANIC), &["boot failed: command line option 'loglvl=loud'"]);
}

#[test]
fn missing_dom0_kernel_is_named() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("dom0=boot/nope").run();
    run.expect(Outcome::Code(qemu_exit::HYPERVISOR_PANIC), &["boot archive has no file 'boot/nope'"]);
}
