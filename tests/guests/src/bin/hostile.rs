//! A hostile guest: targeted attacks on the hypervisor's checks, then a
//! storm of randomized hypercalls (bad pointers, bad frame numbers, bad
//! counts, bad sub-commands). The hypervisor must answer every one with an
//! error code (or a harmless success) and stay alive; at the end the guest
//! checks it can still make hypercalls and powers off, and the hypervisor's
//! frame audit runs.
//!
//! The storm only aims at things a guest may legitimately own without
//! harming itself: "own" frames it passes are sacrificial ones above its
//! bootstrap region, "valid" pointers point into a sacrificial buffer, and
//! calls that would end or block the guest on success (shutdown, block,
//! iret, switching its own page tables away) are left out.
#![no_std]
#![no_main]

use core::arch::asm;
use pv_abi::abi::arch_x86::{TrapInfo, SEGBASE_GS_USER_SEL};
use pv_abi::abi::errno::*;
use pv_abi::abi::xen::hypercall as nr;
use pv_abi::abi::xen::*;
use pv_abi::{hypercall, kprintln, DomId};
use test_guests::mem::{pte, Mem};
use test_guests::{check, check_eq, pass};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const NAME: &str = "hostile";

/// xorshift64*: deterministic, seedable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Things the storm may name.
struct Targets {
    /// Sacrificial frames (MFNs) the guest owns but never uses.
    own: [u64; 16],
    /// A sacrificial buffer (virtual), 2 pages.
    buf: u64,
    /// A sacrificial virtual page for update_va_mapping.
    va: u64,
    /// Kernel text (mapped read-only).
    text: u64,
    /// Highest machine frame.
    max_mfn: u64,
}

fn mfn(r: &mut Rng, t: &Targets) -> u64 {
    match r.below(8) {
        0..=2 => r.pick(&t.own),
        3 => r.below(0x200),                   // low memory and the hypervisor image
        4 => t.max_mfn + 1 + r.below(1 << 20), // beyond memory
        5 => r.next() >> 12,
        6 => r.below(t.max_mfn + 1) | 0x8000, // anyone's
        _ => u64::MAX >> r.below(20),
    }
}

fn ptr(r: &mut Rng, t: &Targets) -> u64 {
    match r.below(10) {
        0..=3 => t.buf + r.below(8192 - 64),
        4 => 0,
        5 => 0xffff_8000_0000_0000 + (r.next() & 0x7ff_ffff_ffff), // hypervisor range
        6 => 0x0000_8000_0000_0000 + (r.next() & 0xffff_ffff),     // non-canonical
        7 => t.text + r.below(4096),                               // read-only
        8 => 0x0000_00a0_0000_0000 + r.below(1 << 30),             // unmapped
        _ => r.next(),
    }
}

fn count(r: &mut Rng) -> u64 {
    match r.below(6) {
        0 => 0,
        1 => 1 + r.below(4),
        2 => 1 + r.below(64),
        3 => u32::MAX as u64,
        4 => (1 << 31) | r.below(1 << 31),
        _ => r.next(),
    }
}

fn word(r: &mut Rng, t: &Targets) -> u64 {
    match r.below(5) {
        0 => r.below(32),
        1 => mfn(r, t) << 12 | r.below(4096),
        2 => ptr(r, t),
        3 => count(r),
        _ => r.next(),
    }
}

/// Fills the sacrificial buffer with entries that look like requests.
fn scramble(r: &mut Rng, t: &Targets) {
    // SAFETY: the buffer is the guest's own sacrificial memory.
    let b = unsafe { core::slice::from_raw_parts_mut(t.buf as *mut u64, 1024) };
    for w in b.iter_mut() {
        *w = match r.below(4) {
            0 => (mfn(r, t) << 12) | (r.below(8) * 8) | r.below(3),
            1 => mfn(r, t) << 12 | pte::PAGE,
            2 => r.below(24),
            _ => r.next(),
        };
    }
}

/// Issues hypercall `num` with raw arguments (through the hypercall page,
/// or a bare `syscall` beyond it).
fn raw(num: u64, a: [u64; 5]) -> i64 {
    if num < 128 {
        // SAFETY: hostile on purpose; the storm excludes calls that harm
        // this guest, everything else must be refused by the hypervisor.
        unsafe { hypercall::hypercall5(num as u32, a[0], a[1], a[2], a[3], a[4]) }
    } else {
        let ret: i64;
        // SAFETY: as above; a syscall in guest kernel mode is a hypercall.
        unsafe {
            asm!("syscall", inlateout("rax") num => ret, inout("rdi") a[0] => _, inout("rsi") a[1] => _,
                inout("rdx") a[2] => _, inout("r10") a[3] => _, inout("r8") a[4] => _, lateout("rcx") _, lateout("r11") _);
        }
        ret
    }
}

fn storm_one(r: &mut Rng, t: &Targets) -> Option<(u32, i64)> {
    let num = match r.below(20) {
        0 => 100 + r.below(1000),
        _ => r.below(56),
    };
    let mut a = [word(r, t), word(r, t), word(r, t), word(r, t), word(r, t)];
    match num as u32 {
        // Would end, block or derail this guest on success.
        nr::iret | nr::sched_op_compat | nr::fpu_taskswitch => return None,
        // Not block/poll (would wait), shutdown, or remote_shutdown (this
        // guest is privileged: it could shut itself down).
        nr::sched_op => a[0] = r.pick(&[0u64, 5, 6, 7, 99, u32::MAX as u64 + 1]),
        // Not VCPUOP_down (this vCPU would stop), register_vcpu_info or
        // register_runstate_memory_area (the hypervisor would then write
        // into whatever random memory of ours they name).
        nr::vcpu_op => a[0] = r.pick(&[0u64, 3, 4, 6, 7, 8, 9, 11, 12, 13, 99, u32::MAX as u64 + 1]),
        nr::set_debugreg => {
            a[0] = r.pick(&[0u64, 1, 2, 3, 4, 5, 6, 8, 99]);
        }
        nr::console_io if a[0] == 0 && a[2] >= t.buf && a[2] < t.buf + 8192 => {
            a[1] %= 16; // keep the serial quiet
        }
        nr::update_va_mapping => a[0] = r.pick(&[t.va, 0xffff_8000_0000_0000, 0x0000_8000_0000_1000, t.text, 0]),
        nr::mmu_update | nr::mmuext_op => {
            a[0] = ptr(r, t);
            a[1] = count(r);
            let junk = r.next();
            a[3] = r.pick(&[DOMID_SELF as u64, 0, 1, 5, 0x7ff1, 0x7ff2, 0x10_0000, junk]);
            if num as u32 == nr::mmuext_op && a[0] >= t.buf && a[0] < t.buf + 8192 {
                // Never switch our own base pointer away or unpin our tables:
                // those would succeed and kill this guest.
                // SAFETY: the sacrificial buffer.
                let ops = unsafe { core::slice::from_raw_parts_mut(t.buf as *mut MmuextOp, 8192 / 24) };
                for op in ops.iter_mut() {
                    if op.cmd == MMUEXT_NEW_BASEPTR || op.cmd == MMUEXT_SET_LDT {
                        op.cmd = MMUEXT_TLB_FLUSH_LOCAL;
                    }
                }
            }
        }
        nr::multicall => {
            // A batch in the sacrificial buffer, with the calls that would
            // end, block or derail this guest replaced.
            a[0] = t.buf;
            a[1] = r.below(64);
            // SAFETY: the sacrificial buffer, 8 KiB = 128 entries.
            let calls = unsafe { core::slice::from_raw_parts_mut(t.buf as *mut [u64; 8], 128) };
            for c in calls.iter_mut() {
                let op = c[0] as u32;
                let bad =
                    [nr::iret, nr::sched_op_compat, nr::fpu_taskswitch, nr::sched_op, nr::vcpu_op, nr::set_debugreg];
                if c[0] > u32::MAX as u64 || bad.contains(&op) || op == nr::mmuext_op || op == nr::console_io {
                    c[0] = nr::xen_version as u64;
                }
            }
        }
        nr::set_segment_base if a[0] == SEGBASE_GS_USER_SEL as u64 => {
            a[1] &= 0xffff;
        }
        nr::set_trap_table | nr::set_callbacks | nr::callback_op | nr::stack_switch => {}
        _ => {}
    }
    Some((num as u32, raw(num, a)))
}

/// `update_descriptor` on a sacrificial frame.
fn desc(ma: u64, d: u64) -> Result<u64, Errno> {
    // SAFETY: the frame is one of this test's sacrificial ones, not its GDT.
    unsafe { hypercall::update_descriptor(ma, d) }
}

/// One `mmu_update` request the hypervisor is expected to refuse (or that
/// only touches the test's own sacrificial state).
fn mmu1(u: MmuUpdate, d: DomId) -> hypercall::BatchResult {
    // SAFETY: every request passed here is refused, or changes only
    // frames this test owns and never uses.
    unsafe { hypercall::mmu_update(&[u], d) }
}

fn main(si: &'static StartInfo) -> ! {
    let mut m = Mem::new(si);
    let mut own = [0u64; 16];
    for o in own.iter_mut() {
        let p = m.alloc();
        *o = m.mfn(p);
    }
    let buf_pfns = [m.alloc(), m.alloc()];
    // Map the sacrificial buffer at two padding pages of the region.
    let buf = m.v_end - 4 * 4096;
    for (i, p) in buf_pfns.iter().enumerate() {
        // SAFETY: padding pages of our bootstrap region.
        unsafe {
            hypercall::update_va_mapping(buf + i as u64 * 4096, (m.mfn(*p) << 12) | pte::PAGE, UVMF_INVLPG).unwrap()
        };
    }
    let t = Targets {
        own,
        buf,
        va: m.v_end - 6 * 4096,
        text: pv_abi::kernel::KERNEL_VIRT_BASE,
        max_mfn: hypercall::memory_op(pv_abi::abi::memory::XENMEM_maximum_ram_page, &mut 0u64).unwrap_or(0x10000),
    };
    targeted(&m, &t, si.flags & SIF_PRIVILEGED != 0);

    let seed = si.cmdline().trim().parse::<u64>().unwrap_or(0x5eed_1234_abcd_0001);
    let n: u64 = 100_000;
    let mut r = Rng(seed);
    let (mut ok, mut errs, mut skipped) = (0u64, [0u64; 128], 0u64);
    for i in 0..n {
        if i % 64 == 0 {
            scramble(&mut r, &t);
        }
        match storm_one(&mut r, &t) {
            None => skipped += 1,
            // Xen's convention: -1..-4095 are errors, anything else a value
            // (get_debugreg may return a kernel address, say).
            // get_debugreg returns a register value, which may be any
            // guest address.
            Some((num, ret)) if !(-4095..0).contains(&ret) || num == nr::get_debugreg => ok += 1,
            Some((_, ret)) if ret >= -127 => errs[(-ret) as usize] += 1,
            Some((num, ret)) => check!(NAME, false, "hypercall {num} returned {ret}, not a known errno"),
        }
        if (i + 1) % 25_000 == 0 {
            kprintln!("{NAME}: {} hypercalls issued", i + 1);
        }
    }
    kprintln!(
        "{NAME}: storm of {n} (seed {seed:#x}): {} ok, {} skipped, EINVAL {} EFAULT {} ENOSYS {} EPERM {} ESRCH {} other {}",
        ok,
        skipped,
        errs[EINVAL as usize],
        errs[EFAULT as usize],
        errs[ENOSYS as usize],
        errs[EPERM as usize],
        errs[ESRCH as usize],
        errs.iter().sum::<u64>() - errs[EINVAL as usize] - errs[EFAULT as usize] - errs[ENOSYS as usize]
            - errs[EPERM as usize] - errs[ESRCH as usize]
    );
    // Still alive and served correctly.
    check_eq!(NAME, hypercall::xen_version(), (4, 17), "xen_version after the storm");
    check_eq!(NAME, hypercall::current_reservation(DomId::SELF), Ok(si.nr_pages), "reservation unchanged");
    pass(NAME)
}

/// Deliberate attacks, each with the answer Xen gives.
fn targeted(m: &Mem, t: &Targets, privileged: bool) {
    let l4 = m.boot_l4_mfn();
    let uvm = |va: u64, v: u64| {
        // SAFETY: every one of these is refused.
        unsafe { hypercall::update_va_mapping(va, v, UVMF_INVLPG) }
    };
    let e = Err(Errno(EINVAL));
    // Xen's get_page_from_l1e answers -EBUSY for these.
    let busy = Err(Errno(EBUSY));
    check_eq!(NAME, uvm(t.va, (l4 << 12) | pte::PAGE), busy, "writable mapping of our own L4");
    check_eq!(NAME, uvm(t.va, (0x200 << 12) | pte::PAGE), busy, "map the hypervisor image");
    check_eq!(NAME, uvm(0xffff_8300_0000_0000, (t.own[0] << 12) | pte::PAGE), e, "map into the direct map");
    let up = MmuUpdate { ptr: (l4 << 12) + 261 * 8, val: (t.own[0] << 12) | pte::PAGE };
    check_eq!(NAME, mmu1(up, DomId::SELF), Err((0, Errno(EINVAL))), "write an L4 hypervisor slot");
    let up = MmuUpdate { ptr: (0x200 << 12) | MMU_NORMAL_PT_UPDATE as u64, val: 0 };
    check_eq!(NAME, mmu1(up, DomId::SELF), Err((0, Errno(EINVAL))), "write hypervisor memory");
    let up = MmuUpdate { ptr: (0x200 << 12) | MMU_MACHPHYS_UPDATE as u64, val: 5 };
    check_eq!(NAME, mmu1(up, DomId::SELF), Err((0, Errno(EINVAL))), "M2P entry of a hypervisor frame");
    // A privileged caller learns the domain does not exist; anyone else
    // may not name a foreign domain at all.
    let foreign = if privileged { ESRCH } else { EPERM };
    check_eq!(NAME, mmu1(up, DomId(5)), Err((0, Errno(foreign))), "foreign domain that does not exist");
    // A GDT frame holding a TSS descriptor is refused; all-zero is fine.
    let g = t.own[1];
    let tss = (0x0000_8900_0000_0067u64, 0u64);
    // SAFETY: writes into a sacrificial, ordinary frame.
    unsafe {
        hypercall::update_descriptor(g << 12, tss.0).err();
    }
    // SAFETY: refused: the frame has a TSS descriptor.
    let r = unsafe { hypercall::update_descriptor(g << 12, tss.0) };
    check_eq!(NAME, r, Err(Errno(EINVAL)), "a TSS descriptor");
    // A DPL-0 code segment is accepted with DPL 3.
    check_eq!(NAME, desc(g << 12, 0x00af_9b00_0000_ffff), Ok(0), "kernel code descriptor");
    // A long mmu_update batch is preempted and continued, not run in one go.
    let upds = [MmuUpdate { ptr: (t.own[2] << 12) | MMU_MACHPHYS_UPDATE as u64, val: 7 }; 4];
    let _ = upds;
    let big: &[MmuUpdate] =
        // SAFETY: the sacrificial buffer holds 512 requests of 16 bytes.
        unsafe { core::slice::from_raw_parts(t.buf as *const MmuUpdate, 512) };
    // SAFETY: the sacrificial buffer.
    unsafe {
        for (i, u) in core::slice::from_raw_parts_mut(t.buf as *mut MmuUpdate, 512).iter_mut().enumerate() {
            *u = MmuUpdate { ptr: (t.own[3 + i % 8] << 12) | MMU_MACHPHYS_UPDATE as u64, val: i as u64 };
        }
    }
    // SAFETY: M2P updates of our own sacrificial frames only.
    check_eq!(NAME, unsafe { hypercall::mmu_update(big, DomId::SELF) }, Ok(()), "512 M2P updates");
    let table = [TrapInfo { vector: 3, flags: 0, cs: 0, _pad: 0, address: 0x8000_0000_0000_0000 }, TrapInfo::default()];
    check_eq!(NAME, hypercall::set_trap_table(&table), Err(Errno(EINVAL)), "non-canonical trap handler");
    // A write watchpoint on a buffer the hypervisor then writes for us:
    // the hit happens in the hypervisor, which must shrug it off.
    check_eq!(NAME, hypercall::set_debugreg(0, t.buf), Ok(0), "watchpoint address");
    // L0, RW0 = write, LEN0 = 8 bytes.
    check_eq!(NAME, hypercall::set_debugreg(7, 0x401 | (0b1101 << 16)), Ok(0), "arm the watchpoint");
    // SAFETY: the sacrificial buffer takes the 16-byte extraversion.
    let r = unsafe { hypercall::hypercall2(nr::xen_version, pv_abi::abi::version::XENVER_extraversion as u64, t.buf) };
    check_eq!(NAME, r, 0, "a hypercall writing to the watched buffer");
    check_eq!(NAME, hypercall::set_debugreg(7, 0x400), Ok(0), "disarm");
    kprintln!("{NAME}: targeted attacks refused");
}
