//! PV CPU and MMU virtualization, driven by test guests booted as dom0.

use qemu_tests::{artifact, qemu_exit, Outcome, Qemu};

fn guest(name: &str, args: &str) -> qemu_tests::Run {
    let mut append = format!("dom0=boot/guests/{name}");
    if !args.is_empty() {
        append.push_str(&format!(" dom0_args={args}"));
    }
    Qemu::hypervisor(artifact("boot.cpio")).append(&append).run()
}

#[test]
fn mmu_new_l4_mappings_and_every_refusal() {
    guest("mmu", "").expect(
        Outcome::Code(qemu_exit::SUCCESS),
        &["mmu: running on a new L4, TEST_VA reads 0x5a5a5a5a5a5a5a5a", "mmu: PASS", "frame audit OK"],
    );
}

#[test]
fn exceptions_syscalls_and_fpu_state() {
    guest("traps", "").expect(
        Outcome::Code(qemu_exit::SUCCESS),
        &[
            "traps: kernel mode: #DE #UD #BP #PF int $0x80 delivered with Xen's frames",
            "traps: user mode: int $0x80 #BP #PF and syscall delivered; back in kernel mode",
            "traps: FPU/SSE state survived",
            "traps: #NM after fpu_taskswitch(1), once",
            "traps: PASS",
        ],
    );
}

#[test]
fn cpuid_through_the_forced_emulation_prefix() {
    guest("cpuid", "").expect(Outcome::Code(qemu_exit::SUCCESS), &["cpuid: XenVMMXenVMM, version 4.17", "cpuid: PASS"]);
}

#[test]
fn a_hostile_guest_cannot_hurt_the_hypervisor() {
    for seed in ["1", "20261126"] {
        let run = guest("hostile", seed);
        run.expect(
            Outcome::Code(qemu_exit::SUCCESS),
            &["hostile: targeted attacks refused", "hostile: storm of 100000", "hostile: PASS", "frame audit OK"],
        );
        assert!(!run.serial.contains("FATAL"), "{}", run.serial);
    }
}

/// The same storm from an unprivileged guest (boot-one-guest mode): every
/// privileged operation must be refused too.
#[test]
fn a_hostile_unprivileged_guest_cannot_hurt_the_hypervisor() {
    let run = Qemu::hypervisor(artifact("boot.cpio")).append("guest=boot/guests/hostile dom0_args=7").run();
    run.expect(
        Outcome::Code(qemu_exit::SUCCESS),
        &["(d1) hostile: targeted attacks refused", "hostile: storm of 100000", "hostile: PASS", "frame audit OK"],
    );
    assert!(!run.serial.contains("FATAL"), "{}", run.serial);
}
