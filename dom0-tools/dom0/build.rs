//! Link dom0 as a PV kernel, and embed what the real-Xen variant carries.
//!
//! Real Xen hands dom0 exactly one boot module (dom0 itself), so the
//! variant of dom0 that runs on real Xen (`dom0-xen`, built by
//! `cargo xtask build`) carries the guest kernels inside its image:
//!
//! - `DOM0_EMBED_ARCHIVE`: path of a cpio newc archive (`boot/guests/*`)
//!   compiled into dom0 as its fallback boot archive;
//! - `DOM0_EMBED_CMDLINE`: a default command line, used when neither
//!   `start_info` nor Xen's `dom0_args=` option gives one.
//!
//! Without them (the dom0 in the boot archive) both are empty.
use std::path::PathBuf;

fn main() {
    kernel_link::link_pv_kernel();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=DOM0_EMBED_ARCHIVE");
    println!("cargo:rerun-if-env-changed=DOM0_EMBED_CMDLINE");
    let archive = match std::env::var_os("DOM0_EMBED_ARCHIVE") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            println!("cargo:rerun-if-changed={}", p.display());
            std::fs::read(&p).unwrap_or_else(|e| panic!("DOM0_EMBED_ARCHIVE {}: {e}", p.display()))
        }
        _ => Vec::new(),
    };
    write_if_changed(&out.join("embedded.cpio"), &archive);
    let cmdline = std::env::var("DOM0_EMBED_CMDLINE").unwrap_or_default();
    write_if_changed(&out.join("embedded_cmdline.txt"), cmdline.as_bytes());
}

/// Writes `data` unless the file already holds it (a new mtime would make
/// cargo recompile dom0 for nothing).
fn write_if_changed(path: &std::path::Path, data: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(data) {
        std::fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
