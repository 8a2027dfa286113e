//! The same pv-abi guest binary on Debian's real Xen 4.17 and on ours.

use qemu_tests::{artifact, qemu_exit, Outcome, Qemu};

#[test]
fn pvcheck_passes_on_real_xen() {
    let run = Qemu::real_xen(artifact("pvcheck")).run();
    run.expect(
        Outcome::Code(qemu_exit::TEST_PASS),
        &["pvcheck: Xen 4.17", "pvcheck: event channel OK", "pvcheck: grant copy OK", "pvcheck: PASS (0 skipped)"],
    );
}

#[test]
fn pvcheck_passes_on_ours() {
    let run = Qemu::hypervisor(artifact("pvcheck")).run();
    run.expect(
        Outcome::Code(qemu_exit::TEST_PASS),
        &["pvcheck: Xen 4.17-rust", "pvcheck: event channel OK", "pvcheck: grant copy OK", "pvcheck: PASS (0 skipped)"],
    );
}

/// The domU test kernel's self-contained role: an event channel to itself
/// answered from its upcall handler, and its own grant mapped, written,
/// unmapped and copied, as dom0 (its command line after the file name).
#[test]
fn domu_loopback_on_real_xen() {
    let module = format!("{} role=loopback count=1000", artifact("domu").display());
    let run = Qemu::real_xen(module).run();
    run.expect(Outcome::Code(qemu_exit::TEST_PASS), &["domu(loopback): PASS"]);
}

#[test]
fn domu_loopback_on_ours() {
    let run = Qemu::hypervisor(artifact("domu")).append("dom0_args=role=loopback+count=1000").run();
    run.expect(Outcome::Code(qemu_exit::TEST_PASS), &["domu(loopback): PASS"]);
}
