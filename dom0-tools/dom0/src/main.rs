//! dom0: the privileged PV kernel. It asks the hypervisor who it is,
//! prints a banner and, for now, powers off (the toolstack, xenstored and
//! the back-ends build on this).
#![no_std]
#![no_main]

use pv_abi::abi::features::XENFEAT_dom0;
use pv_abi::abi::xen::{cstr, StartInfo, SIF_INITDOMAIN, SIF_PRIVILEGED};
use pv_abi::{hypercall, kprintln};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = (1 << XENFEAT_dom0));
kernel_rt::panic_handler!(pv_abi::kernel::panic);

fn main(si: &'static StartInfo) -> ! {
    let (major, minor) = hypercall::xen_version();
    let extra = hypercall::xen_extraversion().unwrap_or_default();
    let mut caps = [0u8; 1024];
    let _ = hypercall::xen_capabilities(&mut caps);
    kprintln!("dom0: running on Xen {}.{}{} ({})", major, minor, cstr(&extra), cstr(&caps).trim_end());
    let privileged = si.flags & (SIF_PRIVILEGED | SIF_INITDOMAIN) == SIF_PRIVILEGED | SIF_INITDOMAIN;
    kprintln!(
        "dom0: start_info '{}': {} pages, privileged={}, boot archive {} KiB, cmdline '{}'",
        si.magic_str(),
        si.nr_pages,
        privileged,
        si.mod_len / 1024,
        si.cmdline()
    );
    kprintln!("dom0: powering off");
    hypercall::poweroff()
}
