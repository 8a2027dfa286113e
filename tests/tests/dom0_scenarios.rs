//! dom0 as a toolstack: it builds, runs, serves and destroys domUs (the
//! `domu` test kernel) through Xen's public hypercalls, as libxl/libxc do.
//! Each scenario runs on real Xen 4.17 (`dom0-xen`, dom0 with the guest
//! kernels embedded; its options travel in Xen's `dom0_args=`) and on our
//! hypervisor (the boot archive; `dom0_args=` on our command line).

use qemu_tests::{artifact, qemu_exit, Outcome, Qemu, Run};

/// Runs dom0 scenario `args` (`+` for spaces) on real Xen.
fn on_real_xen(args: &str) -> Run {
    let q = Qemu::real_xen(artifact("dom0-xen"));
    let append = format!("{} dom0_args={args}", q.append);
    q.append(&append).run()
}

/// Runs dom0 scenario `args` on our hypervisor.
fn on_ours(args: &str) -> Run {
    Qemu::hypervisor(artifact("boot.cpio")).append(&format!("dom0_args={args}")).run()
}

/// The run passed, printed every string of `expect` (in any order: domUs
/// run concurrently) and reported no wrong check.
fn expect_pass(run: &Run, scenario: &str, expect: &[&str]) {
    let pass = format!("dom0: {scenario}: PASS");
    for e in expect.iter().copied().chain([pass.as_str()]) {
        assert!(run.serial.contains(e), "expected {e:?} in the console output; console:\n{}", run.serial);
    }
    for bad in ["FAIL", "WRONG", "PANIC"] {
        assert!(!run.serial.contains(bad), "{bad:?} in the console output; console:\n{}", run.serial);
    }
    assert_eq!(run.outcome, Outcome::Code(qemu_exit::TEST_PASS), "unexpected end of run; console:\n{}", run.serial);
}

const BUILD: &[&str] = &["[d1] domu(tiny): PASS", "dom0: build: d1 (2048 pages) built, ran, powered off, destroyed"];
const PINGPONG: &[&str] = &[
    "domu(ping): 10000 round trips",
    "domu(ping): PASS",
    "domu(pong): answered 10000 events",
    "domu(pong): PASS",
    "dom0: pingpong: d1 and d2 exchanged 10000 events",
];
const GRANT: &[&str] = &[
    "domu(mapper): mapped d1's gref 8",
    "domu(mapper): copied into the grant and back",
    "domu(mapper): PASS",
    "domu(granter): d2 wrote the page through its mapping and by grant copy",
    "domu(granter): PASS",
];
const HOSTILE: &[&str] = &[
    "dom0: hostile: getdomaininfo of a nonexistent domain -> -ESRCH",
    "dom0: hostile: domctl with a stale interface version -> -EACCES",
    "dom0: hostile: writable mapping of the domU's pinned L4 -> -EBUSY",
    "dom0: hostile: mapping a frame of dom0 as the domU's -> -EBUSY",
    "checks refused as Xen 4.17 does",
    "domu(hostile): PASS",
];
const SPIN: &[&str] = &[
    "domu(spin): spinning without hypercalls",
    "domu(ping): PASS",
    "domu(pong): PASS",
    "dom0: spin: ping-pong finished beside spinner d1",
];
const DESTROY_LIVE: &[&str] = &[
    "domu(mapper): holding",
    "dom0: destroy-live: d2 destroyed while mapping; d1's port 3 is unbound again",
    "domu(granter): survived d2: its mapping was released",
    "domu(granter): PASS",
];
const CYCLES: &[&str] = &["dom0: cycles: 1000 create/run/destroy cycles", "free pages"];

#[test]
fn build_on_real_xen() {
    expect_pass(&on_real_xen("test=build"), "build", BUILD);
}

#[test]
fn pingpong_on_real_xen() {
    expect_pass(&on_real_xen("test=pingpong"), "pingpong", PINGPONG);
}

#[test]
fn grant_on_real_xen() {
    expect_pass(&on_real_xen("test=grant"), "grant", GRANT);
}

#[test]
fn hostile_on_real_xen() {
    expect_pass(&on_real_xen("test=hostile"), "hostile", HOSTILE);
}

#[test]
fn spin_on_real_xen() {
    expect_pass(&on_real_xen("test=spin"), "spin", SPIN);
}

#[test]
fn destroy_live_on_real_xen() {
    expect_pass(&on_real_xen("test=destroy-live"), "destroy-live", DESTROY_LIVE);
}

#[test]
fn cycles_on_real_xen() {
    expect_pass(&on_real_xen("test=cycles+count=1000"), "cycles", CYCLES);
}

/// A scenario failure is reported as such (line and exit status).
#[test]
fn unknown_scenario_fails_on_real_xen() {
    let run = on_real_xen("test=nonsense");
    run.expect(Outcome::Code(qemu_exit::TEST_FAIL), &["dom0: nonsense: FAIL: unknown scenario 'nonsense'"]);
}

#[test]
fn build_on_ours() {
    expect_pass(&on_ours("test=build"), "build", BUILD);
}

#[test]
fn pingpong_on_ours() {
    expect_pass(&on_ours("test=pingpong"), "pingpong", PINGPONG);
}

#[test]
fn grant_on_ours() {
    expect_pass(&on_ours("test=grant"), "grant", GRANT);
}

#[test]
fn hostile_on_ours() {
    expect_pass(&on_ours("test=hostile"), "hostile", HOSTILE);
}

#[test]
fn spin_on_ours() {
    expect_pass(&on_ours("test=spin"), "spin", SPIN);
}

#[test]
fn destroy_live_on_ours() {
    expect_pass(&on_ours("test=destroy-live"), "destroy-live", DESTROY_LIVE);
}

#[test]
fn cycles_on_ours() {
    expect_pass(&on_ours("test=cycles+count=1000"), "cycles", CYCLES);
}

/// Also shows that dom0's memory setup (its own L1 tables pinned and
/// hooked into its L2, the heap mapped) works on our hypervisor: the
/// scenario name is checked with the heap in place.
#[test]
fn unknown_scenario_fails_on_ours() {
    let run = on_ours("test=nonsense");
    run.expect(Outcome::Code(qemu_exit::TEST_FAIL), &["dom0: nonsense: FAIL: unknown scenario 'nonsense'"]);
}

/// `cargo xtask bench`'s scenario still runs (with small counts) and
/// prints every figure it reports.
const BENCH: &[&str] = &[
    "bench: evtchn_round_trip ",
    "bench: grant_map_unmap ",
    "bench: grant_copy_4k ",
    "bench: create_to_first_instruction_ns ",
    "bench: domain_create_run_destroy ",
    "bench: domain_create_destroy ",
];

#[test]
fn bench_scenario_on_ours() {
    expect_pass(&on_ours("test=bench+count=2+events=100+grants=50"), "bench", BENCH);
}

#[test]
fn bench_scenario_on_real_xen() {
    expect_pass(&on_real_xen("test=bench+count=2+events=100+grants=50"), "bench", BENCH);
}
