//! A guest that crashes on purpose: by default with an unhandled `#UD`;
//! with command line `shutdown`, by reporting `SHUTDOWN_crash`. The run
//! must end with a non-zero status and a clear message.
#![no_std]
#![no_main]

use pv_abi::abi::xen::StartInfo;
use pv_abi::{hypercall, kprintln};

pv_abi::pv_kernel!(main, features = "", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

fn main(si: &'static StartInfo) -> ! {
    if si.cmdline() == "shutdown" {
        kprintln!("crash: SCHEDOP_shutdown(crash)");
        hypercall::crash()
    }
    kprintln!("crash: executing ud2");
    // SAFETY: deliberately raises #UD; nothing after it runs.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}
