//! A trap table for test guests: every handled vector records the frame
//! the hypervisor built (Xen's bounce frame) and resumes where the test
//! asked, through the `iret` hypercall.
//!
//! Stub entry stack (lowest first): `rcx r11 [error] rip cs rflags rsp
//! ss`. The stub saves all other registers, calls [`guest_trap`], pops
//! rcx/r11 and the error code, pushes the `iret` flags word (0) and jumps
//! to the hypercall page's `iret` slot, exactly as Linux's `xen_iret` does.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use pv_abi::abi::arch_x86::TrapInfo;
use pv_abi::abi::callback::CALLBACKTYPE_syscall;
use pv_abi::{hypercall, Errno};

global_asm!(
    r#"
.macro SAVE
    push %rax; push %rbx; push %rdx; push %rsi; push %rdi; push %rbp
    push %r8; push %r9; push %r10; push %r12; push %r13; push %r14; push %r15
.endm
.macro RESTORE
    pop %r15; pop %r14; pop %r13; pop %r12; pop %r10; pop %r9; pop %r8
    pop %rbp; pop %rdi; pop %rsi; pop %rdx; pop %rbx; pop %rax
.endm
.macro TSTUB vec, err
    .globl tstub_\vec
tstub_\vec:
    SAVE
    mov %rsp, %rdi
    mov $\vec, %esi
    mov $\err, %edx
    mov %rsp, %rbx
    and $-16, %rsp
    call guest_trap
    mov %rbx, %rsp
    RESTORE
    pop %rcx
    pop %r11
    .if \err
    add $8, %rsp
    .endif
    pushq $0
    jmp hypercall_page + 23 * 32
.endm
    .text
    TSTUB 0, 0
    TSTUB 1, 0
    TSTUB 3, 0
    TSTUB 4, 0
    TSTUB 6, 0
    TSTUB 7, 0
    TSTUB 13, 1
    TSTUB 14, 1
    TSTUB 128, 0
    TSTUB 256, 0
"#,
    options(att_syntax)
);

extern "C" {
    fn tstub_0();
    fn tstub_1();
    fn tstub_3();
    fn tstub_4();
    fn tstub_6();
    fn tstub_7();
    fn tstub_13();
    fn tstub_14();
    fn tstub_128();
    fn tstub_256();
}

/// What the last trap looked like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Vector (256 = syscall callback).
    pub vec: u64,
    /// Error code (0 if none).
    pub err: u64,
    /// rip in the frame.
    pub rip: u64,
    /// cs slot (upcall mask in bits 32..39).
    pub cs: u64,
    /// rflags in the frame.
    pub rflags: u64,
    /// rsp in the frame.
    pub rsp: u64,
    /// ss in the frame.
    pub ss: u64,
    /// rcx and r11 slots.
    pub rcx: u64,
    /// r11 slot.
    pub r11: u64,
    /// rax at the time of the trap.
    pub rax: u64,
    /// How many traps so far.
    pub count: u64,
}

const LOG_LEN: usize = 16;
static mut LOG: [Record; LOG_LEN] =
    [Record { vec: 0, err: 0, rip: 0, cs: 0, rflags: 0, rsp: 0, ss: 0, rcx: 0, r11: 0, rax: 0, count: 0 }; LOG_LEN];
static COUNT: AtomicU64 = AtomicU64::new(0);

/// Faulting addresses and where to resume after them: a trap whose frame
/// rip matches `FIXUPS[i].0` resumes at `FIXUPS[i].1`. Traps that report
/// the next instruction (`int3`, `int n`) need no entry.
pub static FIXUPS: [(AtomicU64, AtomicU64); 8] = [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 8];

/// Registers a fixup.
pub fn add_fixup(at: u64, resume: u64) {
    for (a, r) in &FIXUPS {
        if a.load(Ordering::Relaxed) == 0 {
            r.store(resume, Ordering::Relaxed);
            a.store(at, Ordering::Relaxed);
            return;
        }
    }
    panic!("too many fixups");
}

/// If non-zero, the next syscall callback resumes at the frame given by
/// `RESUME_FRAME` = (rip, cs, rsp, ss) (used to come back to kernel mode
/// from a user-mode system call).
pub static RESUME_FRAME: [AtomicU64; 4] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Called by the stubs with the saved registers (13 words) and the frame.
#[no_mangle]
extern "C" fn guest_trap(saved: *mut u64, vec: u32, has_err: u32) {
    // SAFETY: the stub passes its stack: 13 saved registers then the frame.
    let frame = unsafe { saved.add(13) };
    // SAFETY: as above; reads within the frame.
    let w = |i: usize| unsafe { frame.add(i).read() };
    let e = has_err as usize;
    let count = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
    let r = Record {
        vec: vec as u64,
        err: if e == 1 { w(2) } else { 0 },
        rcx: w(0),
        r11: w(1),
        rip: w(2 + e),
        cs: w(3 + e),
        rflags: w(4 + e),
        rsp: w(5 + e),
        ss: w(6 + e),
        // SAFETY: rax was pushed first: the highest of the 13 saved words.
        rax: unsafe { saved.add(12).read() },
        count,
    };
    // SAFETY: single vCPU; traps do not nest in these tests.
    unsafe { core::ptr::addr_of_mut!(LOG[(count as usize - 1) % LOG_LEN]).write(r) };
    for (a, res) in &FIXUPS {
        if a.load(Ordering::Relaxed) == r.rip && r.rip != 0 {
            // SAFETY: rewrites the rip slot of our own frame.
            unsafe { frame.add(2 + e).write(res.load(Ordering::Relaxed)) };
        }
    }
    let rf = if vec == 256 { RESUME_FRAME[0].swap(0, Ordering::Relaxed) } else { 0 };
    if rf != 0 {
        // SAFETY: rewrites rip, cs, rsp, ss of our own frame.
        unsafe {
            frame.add(2 + e).write(rf);
            frame.add(3 + e).write(RESUME_FRAME[1].load(Ordering::Relaxed));
            frame.add(5 + e).write(RESUME_FRAME[2].load(Ordering::Relaxed));
            frame.add(6 + e).write(RESUME_FRAME[3].load(Ordering::Relaxed));
        }
    }
}

/// Traps taken so far.
pub fn count() -> u64 {
    COUNT.load(Ordering::Relaxed)
}

/// The `n`th trap (1-based; the last 16 are kept).
pub fn record(n: u64) -> Record {
    // SAFETY: single vCPU, read between traps.
    unsafe { core::ptr::addr_of!(LOG[(n as usize - 1) % LOG_LEN]).read() }
}

/// The last trap.
pub fn last() -> Record {
    record(count().max(1))
}

/// Installs the trap table (events masked on entry, as Linux does; `#BP`,
/// `#OF` and `int $0x80` usable from user mode) and the syscall callback.
pub fn install() -> Result<(), Errno> {
    let e = |vector: u8, dpl: u8, f: unsafe extern "C" fn()| TrapInfo {
        vector,
        flags: dpl | 4,
        cs: pv_abi::abi::arch_x86::FLAT_KERNEL_CS,
        _pad: 0,
        address: f as usize as u64,
    };
    let table = [
        e(0, 0, tstub_0),
        e(1, 0, tstub_1),
        e(3, 3, tstub_3),
        e(4, 3, tstub_4),
        e(6, 0, tstub_6),
        e(7, 0, tstub_7),
        e(13, 0, tstub_13),
        e(14, 0, tstub_14),
        e(0x80, 3, tstub_128),
        TrapInfo::default(),
    ];
    hypercall::set_trap_table(&table)?;
    hypercall::register_callback(CALLBACKTYPE_syscall, tstub_256 as *const () as u64, true)?;
    Ok(())
}
