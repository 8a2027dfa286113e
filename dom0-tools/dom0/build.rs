//! Link dom0 as a PV kernel (see pv-abi/kernel-rt/pv-kernel.ld).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    for arg in ["-nostartfiles", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,-z,max-page-size=0x1000", "-Wl,-z,norelro"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/../../pv-abi/kernel-rt/pv-kernel.ld");
    println!("cargo:rerun-if-changed=../../pv-abi/kernel-rt/pv-kernel.ld");
}
