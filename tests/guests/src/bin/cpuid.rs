//! CPUID through Xen's forced-emulation prefix: the hypervisor leaves
//! ("XenVMMXenVMM", version, hypercall-page MSR) and the PV-filtered
//! native leaves.
#![no_std]
#![no_main]

use core::arch::asm;
use pv_abi::abi::xen::StartInfo;
use pv_abi::kprintln;
use test_guests::{check, check_eq, pass};

pv_abi::pv_kernel!(main, features = "", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const NAME: &str = "cpuid";

/// CPUID with Xen's forced-emulation prefix (`ud2; "xen"; cpuid`), as
/// Linux's `xen_cpuid` issues it.
fn xen_cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let (a, b, c, d): (u32, u32, u32, u32);
    // SAFETY: the hypervisor emulates the sequence and skips it; rbx is
    // saved by hand because LLVM reserves it.
    unsafe {
        asm!(
            "mov {t:r}, rbx",
            "ud2",
            ".ascii \"xen\"",
            "cpuid",
            "xchg {t:r}, rbx",
            t = out(reg) b,
            inout("eax") leaf => a,
            inout("ecx") sub => c,
            out("edx") d,
        );
    }
    [a, b, c, d]
}

fn main(_si: &'static StartInfo) -> ! {
    let r = xen_cpuid(0x4000_0000, 0);
    let mut sig = [0u8; 12];
    for (i, w) in r[1..].iter().enumerate() {
        sig[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    check_eq!(NAME, &sig, b"XenVMMXenVMM", "hypervisor signature");
    check!(NAME, r[0] >= 0x4000_0002, "max hypervisor leaf {:#x}", r[0]);
    let v = xen_cpuid(0x4000_0001, 0)[0];
    check_eq!(NAME, v, (4 << 16) | 17, "version leaf");
    let hc = xen_cpuid(0x4000_0002, 0);
    check_eq!(NAME, (hc[0], hc[1]), (1, 0x4000_0000), "hypercall page leaf");
    let l1 = xen_cpuid(1, 0);
    check!(NAME, l1[2] & (1 << 31) != 0, "HYPERVISOR bit set");
    check_eq!(NAME, l1[3] & ((1 << 3) | (1 << 13)), 0, "PSE and PGE hidden");
    check_eq!(NAME, l1[2] & ((1 << 26) | (1 << 27)), 0, "XSAVE/OSXSAVE hidden");
    check!(NAME, l1[3] & (1 << 25) != 0, "SSE kept");
    let ext = xen_cpuid(0x8000_0001, 0);
    check_eq!(NAME, ext[3] & (1 << 26), 0, "1 GiB pages hidden");
    let vendor = xen_cpuid(0, 0);
    kprintln!("{NAME}: XenVMMXenVMM, version {}.{}, max basic leaf {:#x}", v >> 16, v & 0xffff, vendor[0]);
    pass(NAME)
}
