//! The bare-metal hypervisor binary: the library plus the runtime pieces
//! (`mem*`, panic shim) from `kernel-rt`.
#![no_std]
#![no_main]

use hypervisor::arch::x86_64::boot;

kernel_rt::panic_handler!(boot::panic);

/// Called by the PVH entry stub with the physical address of
/// `hvm_start_info`, on the boot stack, with paging and SSE enabled.
#[no_mangle]
extern "C" fn hv_start(hvm_start_info: u32) -> ! {
    boot::start(hvm_start_info as u64)
}
