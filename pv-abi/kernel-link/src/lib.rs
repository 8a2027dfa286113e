//! Build-script helper for the bare-metal binaries (hypervisor, dom0, test
//! guests): the one place that knows how they are linked on the stable
//! `x86_64-unknown-linux-gnu` toolchain. The arguments go to `bins` only,
//! so a package's lib and host tests link normally.

use std::path::Path;

/// The PV-kernel link script, shared by every PV kernel built on pv-abi.
pub fn pv_kernel_script() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel-rt/pv-kernel.ld").display().to_string()
}

/// Emits the link arguments for a bare-metal binary linked with `script`.
pub fn link_bins_with(script: &str) {
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,max-page-size=0x1000",
        "-Wl,-z,norelro",
        "-Wl,--gc-sections",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{script}");
    println!("cargo:rerun-if-changed={script}");
}

/// Emits the link arguments for a PV kernel.
pub fn link_pv_kernel() {
    link_bins_with(&pv_kernel_script());
}
