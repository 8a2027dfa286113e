//! dom0: the privileged PV kernel. It asks the hypervisor who it is and
//! prints a banner. Without `test=` on its command line it becomes the
//! control domain ([`shell`]): xenstored, the console back-end, the `xl`
//! toolstack, a `dom0#` shell on the serial console and the host's `xl`
//! on COM2, until `poweroff`. With `test=<scenario>` it runs that
//! toolstack scenario (build, run and destroy domUs through Xen's public
//! hypercalls, serving their consoles), prints `dom0: <scenario>: PASS`
//! or `FAIL: <reason>` and ends the QEMU run with the matching status.
//!
//! The variant built with an embedded guest archive (`dom0-xen`, see
//! `build.rs`) runs the same scenarios on real Xen, which can hand dom0
//! nothing but its own image.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod error;
mod events;
mod heap;
mod mm;
mod scenarios;
mod shell;
mod store;
mod toolstack;
mod uart;
mod xc;
mod xl;

use dom0::{bzimage, cmdline, conback};
use domain_builder::archive;
use pv_abi::abi::features::XENFEAT_dom0;
use pv_abi::abi::xen::{cstr, StartInfo, SIF_INITDOMAIN, SIF_PRIVILEGED};
use pv_abi::{hypercall, kprintln, qemu_exit};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = (1 << XENFEAT_dom0));
kernel_rt::panic_handler!(pv_abi::kernel::panic);

/// Guest kernels compiled into the real-Xen variant (empty otherwise).
static EMBEDDED_ARCHIVE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded.cpio"));
/// The real-Xen variant's default command line (empty otherwise).
const EMBEDDED_CMDLINE: &str = include_str!(concat!(env!("OUT_DIR"), "/embedded_cmdline.txt"));

fn main(si: &'static StartInfo) -> ! {
    let (major, minor) = hypercall::xen_version();
    let extra = hypercall::xen_extraversion().unwrap_or_default();
    let mut caps = [0u8; 1024];
    let _ = hypercall::xen_capabilities(&mut caps);
    kprintln!("dom0: running on Xen {}.{}{} ({})", major, minor, cstr(&extra), cstr(&caps).trim_end());
    let privileged = si.flags & (SIF_PRIVILEGED | SIF_INITDOMAIN) == SIF_PRIVILEGED | SIF_INITDOMAIN;
    let mut xen_cmdline = [0u8; 1024];
    let mut buf = [0u8; 1024];
    let cmdline = effective_cmdline(si, &mut xen_cmdline, &mut buf);
    kprintln!(
        "dom0: start_info '{}': {} pages, privileged={}, boot archive {} KiB, cmdline '{}'",
        si.magic_str(),
        si.nr_pages,
        privileged,
        si.mod_len / 1024,
        cmdline
    );
    let args = cmdline::Args::new(cmdline);
    let Some(test) = args.get("test") else { shell::run(si, boot_archive(si)) };
    match scenarios::run(si, test, &args, boot_archive(si)) {
        Ok(()) => {
            kprintln!("dom0: {test}: PASS");
            exit_qemu(qemu_exit::TEST_PASS)
        }
        Err(e) => {
            kprintln!("dom0: {test}: FAIL: {e}");
            exit_qemu(qemu_exit::TEST_FAIL)
        }
    }
}

/// dom0's command line: `start_info`'s; if that is empty, the
/// `dom0_args=` option of the hypervisor's own command line (how tests
/// reach dom0 on real Xen); else the embedded default.
fn effective_cmdline<'a>(si: &'a StartInfo, xen: &'a mut [u8; 1024], buf: &'a mut [u8; 1024]) -> &'a str {
    let own = si.cmdline().trim();
    if !own.is_empty() {
        return own;
    }
    if hypercall::xen_commandline(xen).is_ok() {
        if let Some(a) = cmdline::dom0_args(cstr(&xen[..]), buf) {
            return a;
        }
    }
    EMBEDDED_CMDLINE.trim()
}

/// The archive of guest kernels: the boot module if it is one (our
/// hypervisor passes the whole boot archive), else the embedded one.
fn boot_archive(si: &StartInfo) -> &'static [u8] {
    if si.mod_start != 0 && si.mod_len > 0 {
        // SAFETY: the domain builder maps the boot module at `mod_start`,
        // `mod_len` bytes, in dom0's start-of-day region, for good; dom0
        // never writes it.
        let module = unsafe { core::slice::from_raw_parts(si.mod_start as *const u8, si.mod_len as usize) };
        if archive::is_archive(module) {
            return module;
        }
    }
    EMBEDDED_ARCHIVE
}

/// Ends the QEMU run with `code` through the debug-exit port (I/O
/// privilege from `PHYSDEVOP_set_iopl`, which both hypervisors grant
/// dom0); powers off if that does not stop the machine.
fn exit_qemu(code: u8) -> ! {
    let _ = hypercall::set_iopl(1);
    // SAFETY: with IOPL 1 in guest kernel mode the hypervisor lets dom0
    // reach the debug-exit port, and QEMU ends the run.
    unsafe { core::arch::asm!("out dx, al", in("dx") qemu_exit::PORT, in("al") code, options(nomem, nostack)) };
    hypercall::poweroff()
}
