//! Microbenchmarks in instructions, for `cargo xtask bench`. Runs as dom0
//! on our hypervisor and on real Xen alike; each figure is an rdtsc delta
//! (an exact instruction count under QEMU `-icount shift=0`) per
//! operation, minus the same loop without the operation.
//!
//! Prints one `BENCH <name> per_op=<n>` line per figure.
#![no_std]
#![no_main]

use core::arch::asm;
use core::ptr::addr_of_mut;
use pv_abi::abi::xen::*;
use pv_abi::{hypercall, kprintln, qemu_exit};
use test_guests::mem::{pte, Mem};
use test_guests::{rdtsc, traps};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const N: u64 = 10_000;

/// Instructions per call of `f`, minus the loop around it.
fn measure(mut f: impl FnMut()) -> f64 {
    let t0 = rdtsc();
    for _ in 0..N {
        // SAFETY: an empty asm statement keeps the loop.
        unsafe { asm!("", options(nomem, nostack)) };
    }
    let empty = rdtsc() - t0;
    let t0 = rdtsc();
    for _ in 0..N {
        f();
    }
    let total = rdtsc() - t0;
    (total.saturating_sub(empty)) as f64 / N as f64
}

fn report(name: &str, per: f64) {
    let (major, minor) = hypercall::xen_version();
    kprintln!("BENCH {name} xen={major}.{minor} per_op={per:.1}");
}

fn main(si: &'static StartInfo) -> ! {
    report(
        "null_hypercall",
        measure(|| {
            let _ = hypercall::xen_version();
        }),
    );

    // One L1 entry per mmu_update: remap a padding page of the region
    // between two frames.
    let mut m = Mem::new(si);
    let va = m.v_end - 8 * 4096;
    let (a, b) = (m.alloc(), m.alloc());
    let (ma, mb) = (m.mfn(a), m.mfn(b));
    let l1 = {
        // The region's L1 tables are the bootstrap ones: find the entry's
        // machine address through the guest's own (read-only) tables.
        let l4 = si.pt_base as *const u64;
        let idx = |lvl: u32| ((va >> (12 + 9 * (lvl - 1))) & 511) as usize;
        let ptov = |mfn: u64| -> *const u64 {
            // The bootstrap tables map every frame of the region at
            // VIRT_BASE + pfn * 4096; find the pfn through the M2P.
            let m2p = pv_abi::abi::arch_x86::MACH2PHYS_VIRT_START as *const u64;
            // SAFETY: the read-only M2P is mapped for every PV guest.
            let pfn = unsafe { m2p.add(mfn as usize).read() };
            (pv_abi::kernel::KERNEL_VIRT_BASE + pfn * 4096) as *const u64
        };
        // SAFETY: walking our own bootstrap tables, mapped read-only.
        unsafe {
            let l3 = (*l4.add(idx(4)) >> 12) & 0xff_ffff_ffff;
            let l2 = (*ptov(l3).add(idx(3)) >> 12) & 0xff_ffff_ffff;
            (*ptov(l2).add(idx(2)) >> 12) & 0xff_ffff_ffff
        }
    };
    let ptr = (l1 << 12) + ((va >> 12) & 511) * 8;
    let mut flip = false;
    report(
        "mmu_update_one_entry",
        measure(|| {
            flip = !flip;
            let val = (if flip { ma } else { mb } << 12) | pte::PAGE;
            // SAFETY: remaps an unused padding page of our region.
            let _ = unsafe { hypercall::mmu_update(&[MmuUpdate { ptr, val }], pv_abi::DomId::SELF) };
        }),
    );

    // A bounced exception: int3 -> guest handler -> iret hypercall.
    traps::install().unwrap();
    report(
        "bounced_exception",
        measure(|| {
            // SAFETY: int3 is delivered to our handler, which returns after it.
            unsafe { asm!("int3", options(nomem, nostack)) };
        }),
    );

    // Calibration, no hypervisor involved: under TCG icount each
    // iteration of a `rep` string instruction counts as one instruction,
    // so a 4 KiB copy costs 4096 as `rep movsb` and 512 as `rep movsq`
    // (how a hypervisor copies or clears pages shows in its figures).
    let (src, dst) = (addr_of_mut!(COPY_BUF) as u64, addr_of_mut!(COPY_BUF) as u64 + 4096);
    report(
        "guest_rep_movsb_4k",
        measure(|| {
            // SAFETY: copies the first page of COPY_BUF over its second; only
            // this code uses the buffer, through raw pointers.
            unsafe {
                asm!("rep movsb", inout("rcx") 4096u64 => _, inout("rsi") src => _, inout("rdi") dst => _,
                    options(nostack, preserves_flags))
            };
        }),
    );
    report(
        "guest_rep_movsq_4k",
        measure(|| {
            // SAFETY: as above, in 8-byte units.
            unsafe {
                asm!("rep movsq", inout("rcx") 512u64 => _, inout("rsi") src => _, inout("rdi") dst => _,
                    options(nostack, preserves_flags))
            };
        }),
    );
    test_guests::qemu_exit(qemu_exit::TEST_PASS)
}

/// Two pages for the copy calibration.
static mut COPY_BUF: [u8; 8192] = [0; 8192];
