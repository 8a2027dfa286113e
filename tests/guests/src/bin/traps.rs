//! Exceptions and system calls, as a PV guest sees them: `#DE`, `#UD`,
//! `int3`, `#PF` (with CR2 in `vcpu_info`), `int $0x80`, from guest kernel
//! and guest user mode, with Xen's bounce frame; a user-mode `syscall`
//! round trip through the syscall callback; FPU/SSE state that survives
//! hypercalls, traps and the hypervisor's own SSE use; `#NM` after
//! `fpu_taskswitch`.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use pv_abi::abi::arch_x86::*;
use pv_abi::abi::xen::*;
use pv_abi::{hypercall, kprintln};
use test_guests::mem::{pte, Mem};
use test_guests::traps::{self, add_fixup, count, record, Record, RESUME_FRAME};
use test_guests::{check, check_eq, fail, pass};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const NAME: &str = "traps";
const UNMAPPED: u64 = 0x0000_0090_0000_0000;

// Faulting instructions, each followed by a `ret`; labels mark where the
// fault is reported and where to resume.
global_asm!(
    r#"
    .text
    .globl de_at, de_after, ud_at, ud_after, bp_at, bp_after, pf_at, pf_after, int80_at, int80_after
de_at:      div %rcx
de_after:   ret
ud_at:      ud2
ud_after:   ret
bp_at:      int3
bp_after:   ret
pf_at:      movq (%rdi), %rax
pf_after:   ret
int80_at:   int $0x80
int80_after: ret

    /* User mode: int $0x80, int3, a user page fault, then syscall. */
    .globl user_entry, user_int80_after, user_bp_after, user_pf_at, user_pf_after, user_syscall_after
user_entry:
            int $0x80
user_int80_after:
            int3
user_bp_after:
            nop
user_pf_at: movq (%rdi), %rax
user_pf_after:
            mov $42, %eax
            syscall
user_syscall_after:
            ud2
"#,
    options(att_syntax)
);

macro_rules! labels {
    ($($n:ident),*) => {
        mod syms {
            extern "C" {
                $(pub static $n: u8;)*
            }
        }
        /// Addresses of the labels above.
        mod l {
            $(pub fn $n() -> u64 {
                &raw const super::syms::$n as u64
            })*
        }
    };
}
labels!(
    de_at,
    de_after,
    ud_at,
    ud_after,
    bp_at,
    bp_after,
    pf_at,
    pf_after,
    int80_at,
    int80_after,
    user_entry,
    user_int80_after,
    user_bp_after,
    user_pf_at,
    user_pf_after,
    user_syscall_after
);

/// Calls the instruction sequence at `at` (it ends in `ret`).
fn trigger(at: u64, rdi: u64, rcx: u64) {
    // SAFETY: one of the labelled sequences above; faults resume through
    // the fixups at the `ret`. rax/rdx are clobbered (div, mov).
    unsafe {
        asm!("call {f}", f = in(reg) at, in("rdi") rdi, inout("rcx") rcx => _, out("rax") _, out("rdx") _);
    }
}

fn expect(n: u64, vec: u64, rip: u64, user: bool, err: u64) -> Record {
    let t = record(n);
    check_eq!(NAME, t.count, n, "trap {n} recorded");
    check_eq!(NAME, t.vec, vec, "trap {n}: vector");
    check_eq!(NAME, t.rip, rip, "vector {vec}: rip in the frame");
    check_eq!(NAME, t.err, err, "vector {vec}: error code");
    let cs = if user { FLAT_USER_CS } else { FLAT_KERNEL_CS & !3 };
    check_eq!(NAME, t.cs & 0xffff, cs as u64, "vector {vec}: cs (RPL tells the guest mode)");
    check_eq!(NAME, (t.cs >> 32) & 0xff, 0, "vector {vec}: saved upcall mask");
    check!(NAME, t.rflags & 0x200 != 0, "vector {vec}: IF set in the saved flags (events were unmasked)");
    t
}

fn main(si: &'static StartInfo) -> ! {
    let mut m = Mem::new(si);
    // Map shared_info: vcpu_info[0] holds the upcall mask and CR2.
    let si_va = m.v_end - 2 * 4096;
    // SAFETY: a padding page of the region becomes the shared_info mapping.
    unsafe { hypercall::update_va_mapping(si_va, si.shared_info | pte::PAGE, UVMF_INVLPG).unwrap() };
    // SAFETY: shared_info is mapped at si_va; vcpu_info[0] is at offset 0.
    let cr2 = || unsafe { core::ptr::read_volatile((si_va + 16) as *const u64) };
    // SAFETY: as above; byte 1 is evtchn_upcall_mask.
    unsafe { core::ptr::write_volatile((si_va + 1) as *mut u8, 0) };
    if let Err(e) = traps::install() {
        fail(NAME, format_args!("install: {e:?}"));
    }
    for (at, after) in [
        (l::de_at(), l::de_after()),
        (l::ud_at(), l::ud_after()),
        (l::pf_at(), l::pf_after()),
        (l::user_pf_at(), l::user_pf_after()),
    ] {
        add_fixup(at, after);
    }

    // Guest kernel mode.
    let n = count();
    trigger(l::de_at(), 0, 0);
    expect(n + 1, 0, l::de_at(), false, 0);
    trigger(l::ud_at(), 0, 0);
    expect(n + 2, 6, l::ud_at(), false, 0);
    trigger(l::bp_at(), 0, 0);
    expect(n + 3, 3, l::bp_after(), false, 0);
    trigger(l::pf_at(), UNMAPPED + 0x123, 0);
    expect(n + 4, 14, l::pf_at(), false, 0);
    check_eq!(NAME, cr2(), UNMAPPED + 0x123, "CR2 in vcpu_info");
    trigger(l::int80_at(), 0, 0);
    expect(n + 5, 0x80, l::int80_after(), false, 0);
    kprintln!("{NAME}: kernel mode: #DE #UD #BP #PF int $0x80 delivered with Xen's frames");

    // Guest user mode: a user L4 with the kernel's guest slots (this test
    // runs user code from the kernel image), a kernel stack for bounces.
    let user_l4 = m.alloc();
    // SAFETY: the boot L4 is mapped read-only at pt_base.
    let cur: [u64; 512] = unsafe { core::ptr::read(m.l4_va() as *const [u64; 512]) };
    m.with_page(user_l4, |p| {
        p.fill(0);
        for i in (0..256).chain(272..512) {
            p[i] = cur[i];
        }
    })
    .unwrap();
    // SAFETY: our own new table, pinned and installed as the user table.
    unsafe {
        hypercall::mmuext(MMUEXT_PIN_L4_TABLE, m.mfn(user_l4), 0).unwrap();
        hypercall::mmuext(MMUEXT_NEW_USER_BASEPTR, m.mfn(user_l4), 0).unwrap();
    }
    let kstack = m.v_end - 64 * 1024;
    let ustack = m.v_end - 128 * 1024;
    hypercall::stack_switch(FLAT_KERNEL_SS, kstack).unwrap();
    let n = count();
    // iret to user_entry; the user code traps three times and then makes
    // a system call, whose handler resumes at label 2 in kernel mode.
    // SAFETY: the frame enters user_entry on ustack; RESUME_FRAME brings
    // the syscall bounce back to label 2 with this stack pointer. Callee-
    // saved registers are untouched by the user code.
    unsafe {
        asm!(
            "lea rax, [rip + 2f]",
            "mov [{rf0}], rax",
            "mov qword ptr [{rf0} + 8], 0xe030",
            "mov [{rf0} + 16], rsp",
            "mov qword ptr [{rf0} + 24], 0xe02b",
            "push {ss}",
            "push {usp}",
            "push 0x202",
            "push {cs}",
            "push {uentry}",
            "push 0",
            "jmp hypercall_page + 23 * 32",
            "2:",
            rf0 = in(reg) RESUME_FRAME.as_ptr(),
            ss = in(reg) FLAT_USER_SS as u64,
            usp = in(reg) ustack,
            cs = in(reg) FLAT_USER_CS as u64,
            uentry = in(reg) l::user_entry(),
            in("rdi") UNMAPPED + 0x456,
            out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _, out("r8") _, out("r9") _,
            out("r10") _, out("r11") _,
        );
    }
    expect(n + 1, 0x80, l::user_int80_after(), true, 0);
    expect(n + 2, 3, l::user_bp_after(), true, 0);
    expect(n + 3, 14, l::user_pf_at(), true, 4);
    check_eq!(NAME, cr2(), UNMAPPED + 0x456, "user #PF: CR2");
    let sc = record(n + 4);
    check_eq!(NAME, sc.vec, 256, "syscall callback");
    check_eq!(NAME, sc.rax, 42, "syscall: rax arrives untouched");
    check_eq!(NAME, sc.rcx, l::user_syscall_after(), "syscall: rcx = user return address");
    check_eq!(NAME, sc.rip, l::user_syscall_after(), "syscall: frame rip");
    check!(NAME, sc.r11 & 0x200 != 0, "syscall: r11 = user rflags");
    check_eq!(NAME, sc.rsp, ustack, "syscall: frame rsp = user stack");
    check_eq!(NAME, sc.cs & 3, 3, "syscall from user mode: RPL 3");
    kprintln!("{NAME}: user mode: int $0x80 #BP #PF and syscall delivered; back in kernel mode");

    fpu_survives();
    nm_after_taskswitch();
    pass(NAME)
}

/// Loads xmm0..15, makes hypercalls and has privileged instructions
/// emulated (the hypervisor's own code uses SSE on those paths), then
/// checks every register.
fn fpu_survives() {
    let mut input = [0u64; 32];
    for (i, v) in input.iter_mut().enumerate() {
        *v = 0x0101_0101_0101_0101u64.wrapping_mul(i as u64 + 1) ^ 0xa5a5_0000_0000_5a5a;
    }
    let mut output = [0u64; 32];
    // SAFETY: only xmm registers and the listed GPRs change; the
    // hypercall stub preserves rcx/r11; int3 resumes after itself.
    unsafe {
        asm!(
            "movdqu xmm0, [{i} + 0]", "movdqu xmm1, [{i} + 16]", "movdqu xmm2, [{i} + 32]", "movdqu xmm3, [{i} + 48]",
            "movdqu xmm4, [{i} + 64]", "movdqu xmm5, [{i} + 80]", "movdqu xmm6, [{i} + 96]", "movdqu xmm7, [{i} + 112]",
            "movdqu xmm8, [{i} + 128]", "movdqu xmm9, [{i} + 144]", "movdqu xmm10, [{i} + 160]", "movdqu xmm11, [{i} + 176]",
            "movdqu xmm12, [{i} + 192]", "movdqu xmm13, [{i} + 208]", "movdqu xmm14, [{i} + 224]", "movdqu xmm15, [{i} + 240]",
            "mov r12, 200",
            "3:",
            "xor edi, edi",
            "call hypercall_page + 17 * 32",   // xen_version
            "mov edi, 3",
            "lea rsi, [rip + {caps}]",
            "call hypercall_page + 17 * 32",   // XENVER_capabilities: copies out a string
            "mov ecx, 0x277",
            "rdmsr",                            // #GP, emulated by the hypervisor
            "dec r12",
            "jnz 3b",
            "movdqu [{o} + 0], xmm0", "movdqu [{o} + 16], xmm1", "movdqu [{o} + 32], xmm2", "movdqu [{o} + 48], xmm3",
            "movdqu [{o} + 64], xmm4", "movdqu [{o} + 80], xmm5", "movdqu [{o} + 96], xmm6", "movdqu [{o} + 112], xmm7",
            "movdqu [{o} + 128], xmm8", "movdqu [{o} + 144], xmm9", "movdqu [{o} + 160], xmm10", "movdqu [{o} + 176], xmm11",
            "movdqu [{o} + 192], xmm12", "movdqu [{o} + 208], xmm13", "movdqu [{o} + 224], xmm14", "movdqu [{o} + 240], xmm15",
            i = in(reg) input.as_ptr(),
            o = in(reg) output.as_mut_ptr(),
            caps = sym CAPS,
            out("rax") _, out("rcx") _, out("rdi") _, out("rsi") _, out("rdx") _, out("r10") _, out("r8") _, out("r12") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _, out("xmm5") _,
            out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
        );
    }
    check_eq!(NAME, output, input, "xmm0..15 after 400 hypercalls and 200 emulated rdmsr");
    kprintln!("{NAME}: FPU/SSE state survived 400 hypercalls and 200 emulated instructions");
}

static mut CAPS: [u8; 1024] = [0; 1024];

/// `fpu_taskswitch(1)` sets the virtual CR0.TS: the next FPU instruction
/// raises `#NM` once, and the hypervisor clears TS.
fn nm_after_taskswitch() {
    let n = count();
    hypercall::fpu_taskswitch(true).unwrap();
    let out: u64;
    // SAFETY: an SSE move; #NM is delivered and the instruction re-runs.
    unsafe { asm!("movq xmm0, {v}", "movq {o}, xmm0", v = in(reg) 77u64, o = out(reg) out, out("xmm0") _) };
    check_eq!(NAME, out, 77, "the SSE instruction completed after #NM");
    let t = record(n + 1);
    check_eq!(NAME, (count(), t.vec), (n + 1, 7), "exactly one #NM");
    kprintln!("{NAME}: #NM after fpu_taskswitch(1), once");
}
