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
    run.expect(Outcome::Code(qemu_exit::TEST_PASS), &["pvcheck: Xen 4.17-rust", "pvcheck: PASS"]);
}
