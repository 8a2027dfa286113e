//! Link the bare-metal hypervisor binary with its own linker script (the
//! arguments apply to the `hypervisor` bin only, never to the lib or its
//! host tests) and generate the IDT entry stubs.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    kernel_link::link_bins_with(&format!("{dir}/link.ld"));
    write_vector_stubs();
    println!("cargo:rerun-if-changed=src/arch/x86_64/boot.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/entry.S");
}

/// Generates the 256 IDT entry stubs (16 bytes each). Vectors for which the
/// CPU pushes an error code only record the vector; the others push a zero
/// error code first, so every entry reaches `hv_common_entry` with the same
/// frame.
fn write_vector_stubs() {
    const HAS_ERROR_CODE: [u32; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
    let mut s = String::from(".text\n.balign 16\n.globl hv_vector_stubs\nhv_vector_stubs:\n");
    for v in 0..256u32 {
        s.push_str(".balign 16\n");
        if !HAS_ERROR_CODE.contains(&v) {
            s.push_str("pushq $0\n");
        }
        s.push_str(&format!("movl ${v}, 4(%rsp)\njmp hv_common_entry\n"));
    }
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/stubs.S"), s).unwrap();
}
