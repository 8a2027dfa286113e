//! Unknown and unimplemented hypercall numbers return -ENOSYS, and the
//! guest keeps running afterwards.
#![no_std]
#![no_main]

use pv_abi::abi::errno::{Errno, ENOSYS};
use pv_abi::abi::xen::{hypercall as nr, StartInfo};
use pv_abi::{hypercall, kprintln};
use test_guests::{check, pass};

pv_abi::pv_kernel!(main, features = "", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const NAME: &str = "enosys";

fn main(_si: &'static StartInfo) -> ! {
    // 11 is a hole in Xen's table; 48.. are arch slots; 56+ is past the
    // table, and page slot 127 is the last stub. 1000 is out of range
    // altogether (issued with a raw syscall, as the page has 128 slots).
    for num in [11u32, nr::xenoprof_op, nr::arch_7, 56, 127] {
        // SAFETY: a hypercall that does not exist touches no memory.
        let r = unsafe { hypercall::raw(num, [0; 5]) };
        kprintln!("{NAME}: hypercall {num} -> {}", fmt(r));
        check!(NAME, r == Err(Errno(ENOSYS)), "hypercall {num} returned {r:?}");
    }
    let r = raw_syscall(1000);
    kprintln!("{NAME}: hypercall 1000 -> {}", fmt(r));
    check!(NAME, r == Err(Errno(ENOSYS)), "hypercall 1000 returned {r:?}");
    // Still alive and still served.
    let (major, _) = hypercall::xen_version();
    check!(NAME, major >= 3, "xen_version after ENOSYS gave {major}");
    pass(NAME)
}

fn fmt(r: Result<u64, Errno>) -> &'static str {
    match r {
        Err(Errno(ENOSYS)) => "-ENOSYS",
        Err(_) => "other error",
        Ok(_) => "success",
    }
}

/// A hypercall number beyond the hypercall page: issue `syscall` directly,
/// as Linux does.
fn raw_syscall(num: u64) -> Result<u64, Errno> {
    let ret: i64;
    // SAFETY: a syscall in guest kernel mode is a hypercall; this number
    // does not exist and touches no memory. rcx/r11 are clobbered by syscall.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") num as i64 => ret, lateout("rcx") _, lateout("r11") _,
            lateout("rdi") _, lateout("rsi") _, lateout("rdx") _, lateout("r10") _, lateout("r8") _);
    }
    Errno::from_ret(ret)
}
