//! `domu`: the unprivileged PV test kernel of the "many domains" scenarios.
//!
//! A dom0 toolstack builds it as a domU with a command line of
//! space-separated `key=value` pairs (`role=`, `peer=`, `port=`, `gref=`,
//! `count=`, `hold=`) and reads its PV console ring: every line starts with
//! `domu(<role>):`, the last one is `domu(<role>): PASS` (then
//! `SHUTDOWN_poweroff`) or `domu(<role>): FAIL: <reason>` (then
//! `SHUTDOWN_crash`). The roles and the wire protocol between two domUs are
//! specified in `docs/test-guests.md`; in short:
//!
//! - `tiny`: one line, power off (create/destroy cycles);
//! - `ping`/`pong`: event-channel round trips between two domUs, delivered
//!   through the real upcall path (event callback, 2-level scan, `iret`);
//! - `granter`/`mapper`: a page granted by one domU, mapped and copied into
//!   by the other (`GNTTABOP_map_grant_ref`, `unmap`, `copy`), the grant
//!   ended; with `hold=1` the mapper keeps its mapping until dom0 destroys
//!   it and the granter must survive that;
//! - `gntbench`: the mapper's work preceded by two timed loops against the
//!   granter's reference (map+unmap, and 4 KiB grant copies), for
//!   `cargo xtask bench`;
//! - `hostile`: operations an unprivileged domain must be refused, each
//!   checked against the exact answer of Xen 4.17;
//! - `spin`: a busy loop without hypercalls (preemption);
//! - `hello`: the guest of dom0's `xl` example configs: xenstore over its
//!   store ring, a tick line every second, `control/shutdown` obeyed
//!   (ignored with `hold=1`), console input echoed (see [`hello`]).
//!
//! Booted as dom0 (standalone check: real Xen passes no command line to
//! its dom0, so an empty command line means `tiny`), it prints through
//! `console_io` and ends the QEMU run through the debug-exit port.
//!
//! Memory: the console ring and everything the kernel maps for itself are
//! reached through [`SharedPage`] handles only (volatile and atomic
//! accesses), never through Rust references, because another domain or
//! the hypervisor writes them concurrently. The pages the kernel remaps
//! (shared_info, grant-table frames, the mapper's window) are dedicated
//! page-aligned statics of the image, so the bootstrap L1 tables cover them.
#![no_std]
#![no_main]

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::fmt::{self, Write as _};
use core::mem::offset_of;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use pv_abi::abi::arch_x86::{TrapInfo, FLAT_KERNEL_CS, MACH2PHYS_VIRT_START};
use pv_abi::abi::callback::CALLBACKTYPE_event;
use pv_abi::abi::domctl::{XEN_DOMCTL_getdomaininfo, XEN_DOMCTL_pausedomain, XEN_DOMCTL_unpausedomain, XenDomctl};
use pv_abi::abi::errno::{EINVAL, EPERM};
use pv_abi::abi::event_channel::{
    EVTCHNOP_alloc_unbound, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_ipi, EVTCHNSTAT_pirq,
    EVTCHNSTAT_unbound, EVTCHNSTAT_virq, EvtchnAllocUnbound,
};
use pv_abi::abi::grant_table::{
    GNTMAP_host_map, GNTST_bad_gntref, GNTST_general_error, GNTST_okay, GNTST_permission_denied,
    GNTTABOP_map_grant_ref, GNTTABOP_unmap_grant_ref, GTF_permit_access, GTF_reading, GTF_writing, GnttabCopy,
    GnttabCopyPtr, GnttabMapGrantRef, GnttabUnmapGrantRef, GNTTAB_NR_RESERVED_ENTRIES,
};
use pv_abi::abi::memory::XENMEM_populate_physmap;
use pv_abi::abi::sched::{SHUTDOWN_crash, SHUTDOWN_poweroff};
use pv_abi::abi::sysctl::{XEN_SYSCTL_physinfo, XenSysctl, XenSysctlPayload, XEN_SYSCTL_INTERFACE_VERSION};
use pv_abi::abi::xen::{
    hypercall as nr, MmuUpdate, StartInfo, VcpuInfo, VcpuTimeInfo, DOMID_FIRST_RESERVED, DOMID_SELF,
    MMU_NORMAL_PT_UPDATE, SIF_INITDOMAIN, UVMF_INVLPG, UVMF_LOCAL,
};
use pv_abi::console::Console;
use pv_abi::evtchn::{EventChannels, SharedInfo2l, NR_PORTS};
use pv_abi::gnttab::{self, LocalBuf, RemoteBuf, ENTRIES_PER_FRAME};
use pv_abi::hv::{Hypervisor, Xen};
use pv_abi::kernel::KERNEL_VIRT_BASE;
use pv_abi::ring::SharedPage;
use pv_abi::{hypercall, qemu_exit, DomId, Errno, GrantRef, Mfn, Port, PAGE_SIZE};
use test_guests::mem::pte;
use test_guests::rdtsc;

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(on_panic);

// ---- globals -------------------------------------------------------------------------

/// State the main flow shares with the asynchronous handlers of this
/// one-vCPU kernel: the event upcall, the fatal-exception handler and the
/// panic handler.
struct Global<T>(UnsafeCell<Option<T>>);

// SAFETY: the kernel runs on one vCPU, so "another thread" is only one of
// its handlers. Each global documents, at its declaration, why the main
// flow and the handlers never use two references to its content
// alternately.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    const fn new() -> Self {
        Global(UnsafeCell::new(None))
    }

    /// Stores the value.
    ///
    /// # Safety
    /// No reference obtained from [`get`](Self::get) or
    /// [`get_ref`](Self::get_ref) is live, and no handler that reads this
    /// global can run meanwhile.
    unsafe fn set(&self, v: T) {
        // SAFETY: exclusive access per the contract above.
        unsafe { *self.0.get() = Some(v) }
    }

    /// The value, mutably.
    ///
    /// # Safety
    /// The returned reference is the only live one while it is used.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> Option<&mut T> {
        // SAFETY: uniqueness per the contract above.
        unsafe { (*self.0.get()).as_mut() }
    }

    /// The value, shared.
    ///
    /// # Safety
    /// No mutable reference to the value is live while this one is used.
    unsafe fn get_ref(&self) -> Option<&T> {
        // SAFETY: per the contract above.
        unsafe { (*self.0.get()).as_ref() }
    }
}

/// `start_info`. Set once at entry, before any handler exists; read-only.
static SI: Global<&'static StartInfo> = Global::new();

/// The output sink. Used by the main flow and by the fatal-exception and
/// panic handlers, which never return into the code they interrupted: a
/// reference of the main flow that a handler supersedes is never used
/// again. The event upcall never prints.
static OUT: Global<Out> = Global::new();

/// The domain's `shared_info` as a 2-level event view (atomics only). Set
/// once, before the event callback is registered; only shared references
/// are ever taken afterwards.
static SHARED: Global<SharedInfo2l> = Global::new();

/// The event channels of vCPU 0. The main flow uses them only with
/// upcalls masked (see [`with_events`]); the upcall runs only while they
/// are unmasked, which happens only inside the `wait_*` functions, which
/// hold no reference to them. Xen masks upcalls when it enters the
/// callback, so the upcall does not nest.
static EVENTS: Global<Events> = Global::new();

type Events = EventChannels<Xen, 8>;

/// Events taken on the channel to the peer (counted by the upcall).
static RECEIVED: AtomicU64 = AtomicU64::new(0);

/// A page-aligned static whose virtual page the kernel remaps (or hands to
/// another domain). Never accessed through a Rust reference: only its
/// address is taken.
#[repr(C, align(4096))]
struct Pages<const N: usize>([[u8; 4096]; N]);

/// Upper bound on the grant-table frames the granter maps (grant
/// references below `4 * 512`).
const MAX_TABLE_FRAMES: usize = 4;

static mut SHARED_INFO_WIN: Pages<1> = Pages([[0; 4096]; 1]);
static mut GNTTAB_WIN: Pages<MAX_TABLE_FRAMES> = Pages([[0; 4096]; MAX_TABLE_FRAMES]);
static mut GRANT_PAGE: Pages<1> = Pages([[0; 4096]; 1]);
static mut MAP_WIN: Pages<1> = Pages([[0; 4096]; 1]);
static mut COPY_SRC: Pages<1> = Pages([[0; 4096]; 1]);
static mut COPY_DST: Pages<1> = Pages([[0; 4096]; 1]);

fn va<const N: usize>(p: *mut Pages<N>) -> u64 {
    p as u64
}

// ---- output ------------------------------------------------------------------------------

enum Sink {
    /// The domU's console ring (`start_info.console.domU`).
    Ring(Console<Xen>),
    /// `console_io` (dom0, or a domain without a console page).
    ConsoleIo,
}

struct Out {
    role: &'static str,
    sink: Sink,
    /// Booted as dom0 (standalone check): end the QEMU run ourselves.
    dom0: bool,
}

/// One output line, built whole so that it reaches the ring (and the back
/// end) in one piece; overlong lines are cut and marked `...`.
struct LineBuf {
    buf: [u8; 512],
    len: usize,
    cut: bool,
}

impl LineBuf {
    const ROOM: usize = 512 - 4;

    fn new() -> Self {
        LineBuf { buf: [0; 512], len: 0, cut: false }
    }

    fn finish(&mut self) -> &[u8] {
        if self.cut {
            self.buf[self.len..self.len + 3].copy_from_slice(b"...");
            self.len += 3;
        }
        self.buf[self.len] = b'\n';
        self.len += 1;
        &self.buf[..self.len]
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(Self::ROOM - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self.cut |= n < s.len();
        Ok(())
    }
}

fn out() -> Option<&'static mut Out> {
    // SAFETY: see `OUT`.
    unsafe { OUT.get() }
}

fn emit(line: &[u8]) {
    match out() {
        Some(Out { sink: Sink::Ring(c), .. }) => {
            // A corrupt back end leaves nowhere to report to.
            let _ = c.write(line);
        }
        // Release Xen refuses console_io from a domU; it is only the sink
        // before the ring is attached or when there is none.
        _ => {
            let _ = hypercall::console_write(line);
        }
    }
}

fn line(args: fmt::Arguments<'_>) {
    let role = out().map_or("?", |o| o.role);
    let mut b = LineBuf::new();
    let _ = write!(b, "domu({role}): {args}");
    emit(b.finish());
}

/// Prints one `domu(<role>): ...` line.
macro_rules! say {
    ($($a:tt)*) => { line(format_args!($($a)*)) };
}

/// Prints `domu(<role>): FAIL: ...` and crashes the domain.
macro_rules! fail {
    ($($a:tt)*) => { fail_with(format_args!($($a)*)) };
}

/// Gives the console back end a chance to take what is still in the ring
/// (bounded: a back end that never reads must not keep us alive).
fn flush() {
    if let Some(Out { sink: Sink::Ring(c), .. }) = out() {
        for _ in 0..256 {
            match c.unsent() {
                Ok(0) | Err(_) => break,
                Ok(_) => c.hv().sched_yield(),
            }
        }
    }
}

fn end(ok: bool) -> ! {
    flush();
    if out().is_some_and(|o| o.dom0) {
        test_guests::qemu_exit(if ok { qemu_exit::TEST_PASS } else { qemu_exit::TEST_FAIL });
    }
    let _ = hypercall::sched_shutdown(if ok { SHUTDOWN_poweroff } else { SHUTDOWN_crash });
    loop {
        core::hint::spin_loop();
    }
}

fn pass() -> ! {
    say!("PASS");
    end(true)
}

fn fail_with(why: fmt::Arguments<'_>) -> ! {
    say!("FAIL: {why}");
    end(false)
}

fn on_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fail!("panic: {info}")
}

/// Attaches the console ring: `start_info.console.domU.mfn` is a machine
/// frame inside the start-of-day mapping, found through the read-only M2P.
fn attach_console(si: &'static StartInfo) {
    let (mfn, port) = (si.console.mfn, Port(si.console.evtchn));
    let pfn = m2p(mfn);
    if pfn >= si.nr_pages || p2m(pfn) != mfn {
        fail!("console frame {mfn:#x} is not in this domain's P2M (M2P gives pfn {pfn:#x})");
    }
    let va = KERNEL_VIRT_BASE + pfn * PAGE_SIZE as u64;
    // SAFETY: the page is this domain's console ring, mapped writable by
    // the domain builder at its PFN's place in the start-of-day region;
    // only this handle (and the back end, another domain) accesses it.
    let page =
        unsafe { SharedPage::new(va as *mut u8, PAGE_SIZE) }.unwrap_or_else(|e| fail!("console page at {va:#x}: {e}"));
    let console = Console::new(Xen, page, port).unwrap_or_else(|e| fail!("console ring: {e}"));
    if let Some(o) = out() {
        o.sink = Sink::Ring(console);
    }
}

// ---- memory --------------------------------------------------------------------------

fn si() -> &'static StartInfo {
    // SAFETY: see `SI`.
    match unsafe { SI.get_ref() } {
        Some(si) => si,
        None => fail!("start_info used before it was recorded"),
    }
}

/// PFN -> MFN from the builder's P2M list.
fn p2m(pfn: u64) -> u64 {
    let si = si();
    if pfn >= si.nr_pages {
        fail!("pfn {pfn:#x} beyond the domain's {} pages", si.nr_pages);
    }
    // SAFETY: the builder maps the P2M list (nr_pages entries) at mfn_list
    // for the domain's lifetime; the index is in range.
    unsafe { (si.mfn_list as *const u64).add(pfn as usize).read_volatile() }
}

/// MFN -> PFN from the hypervisor's read-only M2P table.
fn m2p(mfn: u64) -> u64 {
    // SAFETY: the M2P is mapped read-only for PV guests at
    // MACH2PHYS_VIRT_START, one entry per machine frame; `mfn` is one of
    // ours (console page, image pages), so its entry is mapped.
    unsafe { (MACH2PHYS_VIRT_START as *const u64).add(mfn as usize).read_volatile() }
}

/// The machine frame behind a page of the kernel image (linked at
/// `KERNEL_VIRT_BASE` with PFN = (va - base) / 4096).
fn mfn_of(va: u64) -> Mfn {
    let pfn = (va - KERNEL_VIRT_BASE) / PAGE_SIZE as u64;
    let mfn = p2m(pfn);
    if m2p(mfn) != pfn {
        fail!("P2M gives mfn {mfn:#x} for pfn {pfn:#x} but the M2P says pfn {:#x}", m2p(mfn));
    }
    Mfn(mfn)
}

/// Maps machine frame `mfn` writable at `va` (a page of one of the
/// `Pages` statics).
///
/// # Safety
/// Nothing may access the page at `va` through Rust references.
unsafe fn map_at(va: u64, mfn: u64) -> Result<(), Errno> {
    // SAFETY: the caller vouches that `va` is a dedicated window.
    unsafe { hypercall::update_va_mapping(va, (mfn << 12) | pte::PAGE, UVMF_INVLPG | UVMF_LOCAL) }
}

/// A handle on one page of a `Pages` static (or on what is mapped there).
fn page(va: u64) -> SharedPage {
    // SAFETY: `va` is a page of a `Pages` static: mapped for the kernel's
    // lifetime and never referenced by Rust code; concurrent writers are
    // other domains or the hypervisor.
    unsafe { SharedPage::new(va as *mut u8, PAGE_SIZE) }.unwrap_or_else(|e| fail!("page at {va:#x}: {e}"))
}

// ---- page patterns ------------------------------------------------------------------

/// What the granter puts in its page.
const GRANTER: u64 = 0x6772_616e_7465_7221; // "granter!"
/// What the mapper writes through its mapping (first half of the page).
const MAPPED: u64 = 0x6d61_7070_6564_2121; // "mapped!!"
/// What the mapper's grant copy writes (second half of the page).
const COPIED: u64 = 0x636f_7069_6564_2121; // "copied!!"
/// What the mapper keeps in its own window page while a grant is mapped over it.
const MARKER: u64 = 0x7769_6e64_6f77_2121; // "window!!"

const WORDS: usize = PAGE_SIZE / 8;
const HALF: usize = WORDS / 2;

/// Word `i` of pattern `tag`: distinct at every offset, so a shifted or
/// partial copy shows.
fn pattern(tag: u64, i: usize) -> u64 {
    tag ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn fill(p: &SharedPage, words: core::ops::Range<usize>, tag: u64) {
    for i in words {
        p.write(i * 8, pattern(tag, i)).unwrap_or_else(|e| fail!("page write: {e}"));
    }
}

fn word(p: &SharedPage, i: usize) -> u64 {
    p.read::<u64>(i * 8).unwrap_or_else(|e| fail!("page read: {e}"))
}

/// The first word in `words` that does not hold `tag`'s pattern:
/// `(index, found, expected)`.
fn mismatch(p: &SharedPage, words: core::ops::Range<usize>, tag: u64) -> Option<(usize, u64, u64)> {
    words.map(|i| (i, word(p, i), pattern(tag, i))).find(|(_, got, want)| got != want)
}

fn expect_pattern(p: &SharedPage, words: core::ops::Range<usize>, tag: u64, what: &str) {
    if let Some((i, got, want)) = mismatch(p, words, tag) {
        fail!("{what}: word {i} is {got:#018x}, expected {want:#018x}");
    }
}

// ---- shared_info, time and the event upcall ---------------------------------------

/// Maps `shared_info` and masks upcalls (the default state of the main flow).
fn map_shared_info(si: &StartInfo) {
    let win = va(addr_of_mut!(SHARED_INFO_WIN));
    // SAFETY: SHARED_INFO_WIN is a dedicated window.
    unsafe { map_at(win, si.shared_info >> 12) }.unwrap_or_else(|e| fail!("mapping shared_info: {e}"));
    let view = SharedInfo2l::new(page(win)).unwrap_or_else(|e| fail!("shared_info: {e}"));
    let _ = view.set_upcall_mask(0, true);
    // SAFETY: set once, before any handler that reads SHARED exists.
    unsafe { SHARED.set(view) };
}

fn shared() -> &'static SharedInfo2l {
    // SAFETY: see `SHARED`.
    match unsafe { SHARED.get_ref() } {
        Some(s) => s,
        None => fail!("shared_info used before it was mapped"),
    }
}

fn mask_upcalls() {
    let _ = shared().set_upcall_mask(0, true);
}

/// Lets a pending upcall run now, then masks upcalls again (Linux
/// `xen_irq_enable` + `xen_irq_disable`).
fn deliver_pending() {
    let s = shared();
    let _ = s.set_upcall_mask(0, false);
    if s.upcall_pending(0).unwrap_or(false) {
        Xen.force_evtchn_callback();
    }
    let _ = s.set_upcall_mask(0, true);
}

/// Current system time (ns since boot) from vCPU 0's pvclock.
fn now_ns() -> u64 {
    tsc_to_ns(None)
}

/// System time at `tsc` (now if `None`), through vCPU 0's pvclock: Xen's
/// system time is one clock for every domain (a domU's own TSC may be
/// emulated with an offset, so raw TSC values are not comparable).
fn tsc_to_ns(at: Option<u64>) -> u64 {
    let p = shared().page();
    let base = offset_of!(VcpuInfo, time);
    let rd32 = |off: usize| p.read::<u32>(base + off).unwrap_or(0);
    let rd64 = |off: usize| p.read::<u64>(base + off).unwrap_or(0);
    loop {
        let v = rd32(offset_of!(VcpuTimeInfo, version));
        if v & 1 != 0 {
            continue;
        }
        let stamp = rd64(offset_of!(VcpuTimeInfo, tsc_timestamp));
        let system = rd64(offset_of!(VcpuTimeInfo, system_time));
        let mul = rd32(offset_of!(VcpuTimeInfo, tsc_to_system_mul));
        let shift = p.read::<i8>(base + offset_of!(VcpuTimeInfo, tsc_shift)).unwrap_or(0);
        let tsc = at.unwrap_or_else(rdtsc);
        if rd32(offset_of!(VcpuTimeInfo, version)) != v {
            continue;
        }
        let mut delta = tsc.wrapping_sub(stamp);
        delta = if shift >= 0 { delta << shift.min(63) } else { delta >> shift.unsigned_abs().min(63) };
        return system.wrapping_add(((delta as u128 * mul as u128) >> 32) as u64);
    }
}

global_asm!(
    r#"
    .pushsection .text, "ax", @progbits
    .globl domu_event_entry
    // Xen's event callback frame (create_bounce_frame):
    //   rcx r11 rip cs rflags rsp ss, rcx lowest; rcx and r11 themselves
    //   are garbage, their values are in the frame.
domu_event_entry:
    push %rax
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %rbp
    lea 64(%rsp), %rdi
    mov %rsp, %rbp
    sub $512, %rsp
    and $-16, %rsp
    fxsave64 (%rsp)
    cld
    call domu_upcall
    fxrstor64 (%rsp)
    mov %rbp, %rsp
    pop %rbp
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rax
    // HYPERVISOR_iret wants (rax r11 rcx flags rip cs rflags rsp ss):
    // the stub pushes rcx r11 rax; we leave flags = 0 (not in a syscall),
    // so Xen restores rcx and r11 and, from rflags.IF, the upcall mask.
    pop %rcx
    pop %r11
    pushq $0
    jmp hypercall_page + {iret}

.macro DOMU_FATAL vec, err
    .globl domu_trap_\vec
domu_trap_\vec:
    mov %rsp, %rdi
    mov $\vec, %esi
    mov $\err, %edx
    and $-16, %rsp
    call domu_fatal_trap
    ud2
.endm
    DOMU_FATAL 0, 0
    DOMU_FATAL 1, 0
    DOMU_FATAL 3, 0
    DOMU_FATAL 4, 0
    DOMU_FATAL 5, 0
    DOMU_FATAL 6, 0
    DOMU_FATAL 7, 0
    DOMU_FATAL 10, 1
    DOMU_FATAL 11, 1
    DOMU_FATAL 12, 1
    DOMU_FATAL 13, 1
    DOMU_FATAL 14, 1
    DOMU_FATAL 16, 0
    DOMU_FATAL 17, 1
    DOMU_FATAL 19, 0
    .popsection
"#,
    iret = const nr::iret as usize * nr::STUB_SIZE,
    options(att_syntax)
);

extern "C" {
    fn domu_event_entry();
    fn domu_trap_0();
    fn domu_trap_1();
    fn domu_trap_3();
    fn domu_trap_4();
    fn domu_trap_5();
    fn domu_trap_6();
    fn domu_trap_7();
    fn domu_trap_10();
    fn domu_trap_11();
    fn domu_trap_12();
    fn domu_trap_13();
    fn domu_trap_14();
    fn domu_trap_16();
    fn domu_trap_17();
    fn domu_trap_19();
}

/// The event upcall (Linux `xen_evtchn_do_upcall`), entered with upcalls
/// masked; `frame` is Xen's bounce frame.
#[no_mangle]
extern "C" fn domu_upcall(frame: *mut u64) {
    // SAFETY: see `EVENTS`: the main flow holds no reference while upcalls
    // can be delivered, and the upcall does not nest.
    match unsafe { EVENTS.get() } {
        Some(ev) => {
            ev.handle_events();
        }
        None => {
            // Not set up (cannot happen: the callback is registered after
            // EVENTS): return with upcalls masked (rflags.IF clear) rather
            // than being re-entered forever.
            // SAFETY: word 4 of the bounce frame is rflags.
            unsafe { *frame.add(4) &= !(1 << 9) };
        }
    }
}

/// A fatal exception: report it and crash. `frame` is Xen's bounce frame
/// `rcx r11 [error] rip cs rflags rsp ss`.
#[no_mangle]
extern "C" fn domu_fatal_trap(frame: *const u64, vec: u32, has_err: u32) -> ! {
    let e = has_err as usize;
    // SAFETY: the stub passes the frame Xen pushed; the error code is
    // there when `has_err` says so.
    let (err, rip) = unsafe { (if e == 1 { *frame.add(2) } else { 0 }, *frame.add(2 + e)) };
    let name = match vec {
        0 => "#DE",
        1 => "#DB",
        3 => "#BP",
        4 => "#OF",
        5 => "#BR",
        6 => "#UD",
        7 => "#NM",
        10 => "#TS",
        11 => "#NP",
        12 => "#SS",
        13 => "#GP",
        14 => "#PF",
        16 => "#MF",
        17 => "#AC",
        19 => "#XM",
        _ => "?",
    };
    // SAFETY: see `SHARED`; a shared reference only.
    let cr2 = match (vec, unsafe { SHARED.get_ref() }) {
        (14, Some(s)) => s.page().read::<u64>(offset_of!(VcpuInfo, arch)).unwrap_or(0),
        _ => 0,
    };
    fail!("exception {vec} ({name}) at rip {rip:#x}, error code {err:#x}, cr2 {cr2:#x}")
}

fn install_traps() {
    let e = |vector: u8, f: unsafe extern "C" fn()| TrapInfo {
        vector,
        // DPL 0, events masked on entry.
        flags: 4,
        cs: FLAT_KERNEL_CS,
        _pad: 0,
        address: f as usize as u64,
    };
    let table = [
        e(0, domu_trap_0),
        e(1, domu_trap_1),
        e(3, domu_trap_3),
        e(4, domu_trap_4),
        e(5, domu_trap_5),
        e(6, domu_trap_6),
        e(7, domu_trap_7),
        e(10, domu_trap_10),
        e(11, domu_trap_11),
        e(12, domu_trap_12),
        e(13, domu_trap_13),
        e(14, domu_trap_14),
        e(16, domu_trap_16),
        e(17, domu_trap_17),
        e(19, domu_trap_19),
        TrapInfo::default(),
    ];
    hypercall::set_trap_table(&table).unwrap_or_else(|e| fail!("set_trap_table: {e}"));
}

/// Sets up the event channels of vCPU 0 (every port masked until it gets
/// a handler) and registers the event callback.
fn init_events() {
    let win = va(addr_of_mut!(SHARED_INFO_WIN));
    let ev = Events::new(Xen, page(win), 0).unwrap_or_else(|e| fail!("event channels: {e}"));
    // SAFETY: upcalls are masked and the callback is not registered yet.
    unsafe { EVENTS.set(ev) };
    hypercall::register_callback(CALLBACKTYPE_event, domu_event_entry as *const () as u64, true)
        .unwrap_or_else(|e| fail!("CALLBACKOP_register(event): {e}"));
}

/// Runs `f` on the event channels; upcalls must be masked (the main
/// flow's default).
fn with_events<R>(f: impl FnOnce(&mut Events) -> R) -> R {
    if shared().upcall_mask(0) != Ok(true) {
        fail!("internal: event channels used with upcalls unmasked");
    }
    // SAFETY: see `EVENTS`: upcalls are masked, so the upcall cannot run
    // while this reference lives.
    match unsafe { EVENTS.get() } {
        Some(ev) => f(ev),
        None => fail!("internal: event channels used before init_events"),
    }
}

fn on_peer_event(_port: Port, _ctx: u64) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

fn received() -> u64 {
    RECEIVED.load(Ordering::SeqCst)
}

fn send(port: Port) {
    hypercall::evtchn_send(port).unwrap_or_else(|e| fail!("EVTCHNOP_send on port {}: {e}", port.0));
}

/// Blocks until `target` events have arrived from the peer.
fn wait_events(target: u64) {
    while received() < target {
        // Upcalls are masked here: an event that arrived since the check
        // has set evtchn_upcall_pending, and Xen's do_block (which unmasks
        // first) then returns at once. The upcall runs on the way back.
        if let Err(e) = hypercall::sched_block() {
            fail!("SCHEDOP_block: {e}");
        }
        mask_upcalls();
    }
}

/// Sleeps until `port` is pending or `ns` passed (`SCHEDOP_poll`; upcalls
/// stay masked while polling).
fn poll(port: Port, ns: u64) {
    let deadline = now_ns().saturating_add(ns);
    if let Err(e) = hypercall::sched_poll(&[port.0], deadline) {
        fail!("SCHEDOP_poll: {e}");
    }
}

/// Waits until `target` events have arrived, checking the channel's state
/// every 20 ms. `Err(status)` if the peer closed its end (it died).
fn wait_events_or_peer_gone(port: Port, target: u64) -> Result<(), u32> {
    loop {
        deliver_pending();
        if received() >= target {
            return Ok(());
        }
        let st = status(port);
        // An event the peer sent before it went away is pending by now.
        deliver_pending();
        if received() >= target {
            return Ok(());
        }
        if st.status != EVTCHNSTAT_interdomain {
            return Err(st.status);
        }
        poll(port, 20_000_000);
    }
}

fn status(port: Port) -> pv_abi::abi::event_channel::EvtchnStatus {
    hypercall::evtchn_status(DomId::SELF, port).unwrap_or_else(|e| fail!("EVTCHNOP_status of port {}: {e}", port.0))
}

fn status_name(s: u32) -> &'static str {
    match s {
        EVTCHNSTAT_closed => "closed",
        EVTCHNSTAT_unbound => "unbound",
        EVTCHNSTAT_interdomain => "interdomain",
        EVTCHNSTAT_pirq => "pirq",
        EVTCHNSTAT_virq => "virq",
        EVTCHNSTAT_ipi => "ipi",
        _ => "?",
    }
}

// ---- the channel protocol between two domUs --------------------------------------
//
// The binding side (pong, mapper) binds to the allocating side's port,
// discards the pending bit Xen sets on its new port at bind time, then
// sends "hello". The allocating side (ping, granter) waits until its port
// is bound by the peer, then for the hello. From there on each side sends
// one event and waits for one, so events never coalesce.

/// The allocating side: `port` is our own port, allocated by dom0 for
/// `peer`. Returns once the peer has bound it; the hello is then the
/// caller's first event.
fn accept(port: Port, peer: u16) {
    let pn = port.0;
    with_events(|ev| ev.set_handler(port, on_peer_event, 0)).unwrap_or_else(|e| fail!("handler for port {pn}: {e}"));
    let mut said = false;
    loop {
        let st = status(port);
        match st.status {
            EVTCHNSTAT_interdomain => {
                let i = st.u.interdomain();
                if i.dom != peer {
                    fail!("port {pn} is bound by d{}, not by the peer d{peer}", i.dom);
                }
                say!("port {pn} bound by d{peer} (its port {})", i.port);
                return;
            }
            EVTCHNSTAT_unbound => {
                let u = st.u.unbound();
                if u.dom != peer {
                    fail!("port {pn} was allocated for d{}, not for the peer d{peer}", u.dom);
                }
                if !said {
                    say!("waiting for d{peer} to bind port {pn}");
                    said = true;
                }
                let _ = hypercall::sched_yield();
            }
            s => fail!("port {pn} is {} (EVTCHNSTAT {s}), not a channel allocated for d{peer}", status_name(s)),
        }
    }
}

/// The binding side: binds to `<peer, rport>`, says hello, returns the
/// local port.
fn connect(peer: u16, rport: Port) -> Port {
    let local = with_events(|ev| {
        let local = ev.bind_interdomain(DomId(peer), rport)?;
        // Xen marks the new local port pending at bind time (in case
        // notifications were lost while unbound): not an event of the peer.
        ev.shared().test_and_clear_pending(local)?;
        ev.set_handler(local, on_peer_event, 0)?;
        Ok::<_, pv_abi::evtchn::EvtchnError>(local)
    })
    .unwrap_or_else(|e| fail!("EVTCHNOP_bind_interdomain to d{peer} port {}: {e}", rport.0));
    say!("bound to d{peer} port {} as local port {}", rport.0, local.0);
    send(local);
    local
}

// ---- command line --------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Tiny,
    Ping,
    Pong,
    Granter,
    Mapper,
    Hostile,
    Spin,
    Loopback,
    GntBench,
    Hello,
}

const ROLES: [(&str, Role); 10] = [
    ("tiny", Role::Tiny),
    ("ping", Role::Ping),
    ("pong", Role::Pong),
    ("granter", Role::Granter),
    ("mapper", Role::Mapper),
    ("hostile", Role::Hostile),
    ("spin", Role::Spin),
    ("loopback", Role::Loopback),
    ("gntbench", Role::GntBench),
    ("hello", Role::Hello),
];

/// Command-line keys; `role` first.
const KEYS: [&str; 6] = ["role", "peer", "port", "gref", "count", "hold"];

impl Role {
    fn name(self) -> &'static str {
        ROLES.iter().find(|(_, r)| *r == self).map_or("?", |(n, _)| n)
    }

    /// The keys besides `role` this role takes, and whether each is required.
    fn keys(self) -> &'static [(&'static str, bool)] {
        match self {
            Role::Tiny | Role::Spin => &[],
            Role::Ping | Role::Pong => &[("peer", true), ("port", true), ("count", false)],
            Role::Loopback => &[("count", false)],
            Role::Granter | Role::Hostile => &[("peer", true), ("port", true), ("gref", true)],
            Role::Mapper => &[("peer", true), ("port", true), ("gref", true), ("hold", false)],
            Role::GntBench => &[("peer", true), ("port", true), ("gref", true), ("count", false)],
            Role::Hello => &[("hold", false)],
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Args {
    role: Role,
    peer: u16,
    port: Port,
    gref: u32,
    count: u64,
    hold: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArgError<'a> {
    NoRole,
    UnknownRole(&'a str),
    NotKeyValue(&'a str),
    UnknownKey(&'a str),
    Duplicate(&'a str),
    NotForRole(&'a str),
    Missing(&'static str),
    BadValue { key: &'static str, value: &'a str, want: &'static str },
}

impl fmt::Display for ArgError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArgError::NoRole => write!(f, "no role= given"),
            ArgError::UnknownRole(r) => {
                write!(f, "unknown role {r:?} (roles:")?;
                for (n, _) in ROLES {
                    write!(f, " {n}")?;
                }
                write!(f, ")")
            }
            ArgError::NotKeyValue(t) => write!(f, "{t:?} is not key=value"),
            ArgError::UnknownKey(k) => write!(f, "unknown key {k:?} (keys: role peer port gref count hold)"),
            ArgError::Duplicate(k) => write!(f, "{k}= given twice"),
            ArgError::NotForRole(k) => write!(f, "{k}= does not apply to this role"),
            ArgError::Missing(k) => write!(f, "{k}= is required for this role"),
            ArgError::BadValue { key, value, want } => write!(f, "{key}={value}: expected {want}"),
        }
    }
}

/// A decimal or `0x` hexadecimal number.
fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The `role=` value as written, for the line prefix of an error.
fn role_text(cmdline: &str) -> Option<&str> {
    cmdline.split_ascii_whitespace().find_map(|t| t.strip_prefix("role="))
}

fn parse(cmdline: &str) -> Result<Args, ArgError<'_>> {
    let mut vals: [Option<&str>; KEYS.len()] = [None; KEYS.len()];
    for tok in cmdline.split_ascii_whitespace() {
        let (k, v) = tok.split_once('=').ok_or(ArgError::NotKeyValue(tok))?;
        let i = KEYS.iter().position(|&x| x == k).ok_or(ArgError::UnknownKey(k))?;
        if vals[i].is_some() {
            return Err(ArgError::Duplicate(k));
        }
        vals[i] = Some(v);
    }
    let mut args = Args { role: Role::Tiny, peer: 0, port: Port(0), gref: 0, count: 10_000, hold: false };
    if vals.iter().all(Option::is_none) {
        // Real Xen gives its dom0 no command line: the standalone check.
        return Ok(args);
    }
    let role = vals[0].ok_or(ArgError::NoRole)?;
    args.role = ROLES.iter().find(|(n, _)| *n == role).map(|&(_, r)| r).ok_or(ArgError::UnknownRole(role))?;
    let takes = args.role.keys();
    for (i, key) in KEYS.iter().enumerate().skip(1) {
        let known = takes.iter().find(|(k, _)| k == key);
        match (vals[i], known) {
            (Some(_), None) => return Err(ArgError::NotForRole(key)),
            (None, Some(&(k, true))) => return Err(ArgError::Missing(k)),
            _ => {}
        }
    }
    let get = |i: usize, key: &'static str, want: &'static str, ok: &dyn Fn(u64) -> bool| match vals[i] {
        None => Ok(None),
        Some(v) => match number(v) {
            Some(n) if ok(n) => Ok(Some(n)),
            _ => Err(ArgError::BadValue { key, value: v, want }),
        },
    };
    let reserved = DOMID_FIRST_RESERVED as u64;
    if let Some(n) = get(1, "peer", "a domain id below 0x7ff0", &|n| n < reserved)? {
        args.peer = n as u16;
    }
    if let Some(n) = get(2, "port", "an event-channel port in 1..4096", &|n| n > 0 && n < NR_PORTS as u64)? {
        args.port = Port(n as u32);
    }
    if let Some(n) = get(3, "gref", "a 32-bit grant reference", &|n| n <= u32::MAX as u64)? {
        args.gref = n as u32;
    }
    if let Some(n) = get(4, "count", "a count of at least 1", &|n| n >= 1)? {
        args.count = n;
    }
    if let Some(n) = get(5, "hold", "0 or 1", &|n| n <= 1)? {
        args.hold = n == 1;
    }
    Ok(args)
}

// ---- entry -------------------------------------------------------------------------------

fn main(si: &'static StartInfo) -> ! {
    // When this kernel started (dom0's `xl create` benchmark compares it,
    // as system time, with its own clock).
    let entry_tsc = rdtsc();
    // SAFETY: first thing at entry; no handler exists yet.
    unsafe { SI.set(si) };
    let cmdline = si.cmdline();
    let parsed = parse(cmdline);
    let role = match &parsed {
        Ok(a) => a.role.name(),
        Err(_) => role_text(cmdline).unwrap_or("?"),
    };
    let dom0 = si.flags & SIF_INITDOMAIN != 0;
    // SAFETY: no handler exists yet.
    unsafe { OUT.set(Out { role, sink: Sink::ConsoleIo, dom0 }) };
    // dom0's `console` fields describe its VGA console, not a ring.
    if !dom0 && si.console.mfn != 0 {
        attach_console(si);
    }
    map_shared_info(si);
    install_traps();
    let args = match parsed {
        Ok(a) => a,
        Err(e) => fail!("bad command line {cmdline:?}: {e}"),
    };
    match args.role {
        Role::Tiny => {
            say!("{} ns at entry", tsc_to_ns(Some(entry_tsc)));
            pass()
        }
        Role::Spin => spin(),
        Role::Ping => ping(&args),
        Role::Pong => pong(&args),
        Role::Granter => granter(&args),
        Role::Mapper => mapper(&args),
        Role::Hostile => hostile(&args),
        Role::Loopback => loopback(&args),
        Role::GntBench => gntbench(&args),
        Role::Hello => hello(&args),
    }
}

// ---- roles ---------------------------------------------------------------------------------

fn spin() -> ! {
    say!("spinning without hypercalls");
    flush();
    loop {
        core::hint::spin_loop();
    }
}

fn ping(a: &Args) -> ! {
    init_events();
    accept(a.port, a.peer);
    wait_events(1);
    say!("hello from d{}: {} round trips", a.peer, a.count);
    // dom0 relays that line now, not while we count. Then only the middle
    // rounds are timed: the first ones warm up, and after its last answer
    // the peer goes on to print and shut down, which is work inside our
    // window if it is not preempted.
    flush();
    let edge = if a.count > 4 * WARM_UP { WARM_UP } else { 0 };
    let (mut t0, mut t1) = (rdtsc(), 0);
    for i in 0..a.count {
        if i == edge {
            t0 = rdtsc();
        }
        send(a.port);
        wait_events(2 + i);
        if i + 1 == a.count - edge {
            t1 = rdtsc();
        }
    }
    let per = (t1 - t0) / (a.count - 2 * edge);
    let got = received();
    if got != 1 + a.count {
        fail!("{got} events from d{} for {} pings and a hello: it answered more than once", a.peer, a.count);
    }
    say!("{} round trips, {per} tsc/round trip", a.count);
    pass()
}

fn pong(a: &Args) -> ! {
    init_events();
    let local = connect(a.peer, a.port);
    for i in 0..a.count {
        wait_events(1 + i);
        send(local);
    }
    say!("answered {} events from d{}", a.count, a.peer);
    pass()
}

/// The granter's view of its own v1 grant table.
struct Table {
    frames: [Option<SharedPage>; MAX_TABLE_FRAMES],
}

impl Table {
    /// `GNTTABOP_setup_table` with enough frames for `gref`, each mapped
    /// at its page of `GNTTAB_WIN` (on PV, Xen returns MFNs).
    fn setup(gref: u32) -> Table {
        let need = (gref / ENTRIES_PER_FRAME + 1) as usize;
        let (_, max) = hypercall::gnttab_query_size().unwrap_or_else(|e| fail!("GNTTABOP_query_size: {e}"));
        if need > MAX_TABLE_FRAMES || need > max as usize {
            fail!("gref {gref} needs {need} grant-table frames; this kernel maps {MAX_TABLE_FRAMES}, Xen allows {max}");
        }
        let mut list = [0u64; MAX_TABLE_FRAMES];
        hypercall::gnttab_setup_table(&mut list[..need])
            .unwrap_or_else(|e| fail!("GNTTABOP_setup_table({need} frames): {e}"));
        let base = va(addr_of_mut!(GNTTAB_WIN));
        let mut t = Table { frames: [const { None }; MAX_TABLE_FRAMES] };
        for (i, &mfn) in list[..need].iter().enumerate() {
            let at = base + (i * PAGE_SIZE) as u64;
            // SAFETY: a page of the dedicated GNTTAB_WIN window.
            unsafe { map_at(at, mfn) }.unwrap_or_else(|e| fail!("mapping grant-table frame {i} ({mfn:#x}): {e}"));
            t.frames[i] = Some(page(at));
        }
        t
    }

    /// The entry's first word: `flags | domid << 16` (Xen updates the two
    /// together with a 32-bit cmpxchg).
    fn head(&self, gref: u32) -> &AtomicU32 {
        self.word(gref, 0)
    }

    fn word(&self, gref: u32, off: usize) -> &AtomicU32 {
        let f = (gref / ENTRIES_PER_FRAME) as usize;
        let at = (gref % ENTRIES_PER_FRAME) as usize * 8 + off;
        match self.frames.get(f).and_then(Option::as_ref).map(|p| p.atomic_u32(at)) {
            Some(Ok(w)) => w,
            _ => fail!("internal: grant entry {gref} is not mapped"),
        }
    }

    fn flags(&self, gref: u32) -> u16 {
        self.head(gref).load(Ordering::SeqCst) as u16
    }

    /// `gnttab_update_entry_v1`: frame first, then domid and flags.
    fn grant(&self, gref: u32, dom: u16, frame: u32) {
        self.word(gref, 4).store(frame, Ordering::Relaxed);
        self.head(gref).store(GTF_permit_access as u32 | (dom as u32) << 16, Ordering::Release);
    }

    /// Ends access (`gnttab_end_foreign_access_ref_v1`): clears the flags
    /// unless Xen marks the entry in use. `Err(flags)` if it does.
    fn end_access(&self, gref: u32) -> Result<(), u16> {
        let head = self.head(gref);
        let mut cur = head.load(Ordering::SeqCst);
        loop {
            if cur as u16 & (GTF_reading | GTF_writing) != 0 {
                return Err(cur as u16);
            }
            match head.compare_exchange(cur, cur & 0xffff_0000, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }
}

fn granter(a: &Args) -> ! {
    let (peer, port, gref) = (a.peer, a.port, a.gref);
    if gref < GNTTAB_NR_RESERVED_ENTRIES {
        fail!("gref {gref} is reserved (references below {GNTTAB_NR_RESERVED_ENTRIES} belong to the toolstack)");
    }
    init_events();
    let table = Table::setup(gref);
    let flags = table.flags(gref);
    if flags != 0 {
        fail!("grant entry {gref} is already in use (flags {flags:#x})");
    }
    let gp = va(addr_of_mut!(GRANT_PAGE));
    let data = page(gp);
    fill(&data, 0..WORDS, GRANTER);
    let frame = mfn_of(gp);
    let frame32 = u32::try_from(frame.0).unwrap_or_else(|_| fail!("frame {frame} does not fit a v1 grant entry"));
    table.grant(gref, peer, frame32);
    say!("granted frame {frame} to d{peer} as gref {gref}");

    accept(port, peer);
    if let Err(s) = wait_events_or_peer_gone(port, 1) {
        fail!("d{peer} went away before saying hello (port {} is {})", port.0, status_name(s));
    }
    send(port);
    say!("told d{peer} the grant is ready");

    // Done, or the peer dies holding the mapping (mapper with hold=1).
    match wait_events_or_peer_gone(port, 2) {
        Ok(()) => {
            let flags = table.flags(gref);
            if flags & (GTF_reading | GTF_writing) != 0 {
                fail!("d{peer} said done but entry {gref} is still in use (flags {flags:#x})");
            }
            expect_pattern(&data, 0..HALF, MAPPED, "first half (written through the mapping)");
            expect_pattern(&data, HALF..WORDS, COPIED, "second half (written by GNTTABOP_copy)");
            table.end_access(gref).unwrap_or_else(|f| fail!("ending access to gref {gref}: flags {f:#x}"));
            say!("d{peer} wrote the page through its mapping and by grant copy; access ended");
            pass()
        }
        Err(s) => survive(&table, &data, peer, port, gref, s),
    }
}

/// The peer died before saying done: Xen must release its mapping; then
/// the grant can end and our page must hold nothing but the two domains'
/// patterns.
fn survive(table: &Table, data: &SharedPage, peer: u16, port: Port, gref: u32, st: u32) -> ! {
    let flags = table.flags(gref);
    say!("d{peer} is gone (port {} is {}); entry {gref} flags {flags:#x}", port.0, status_name(st));
    let deadline = now_ns().saturating_add(30_000_000_000);
    while table.flags(gref) & (GTF_reading | GTF_writing) != 0 {
        if now_ns() > deadline {
            fail!("Xen did not release d{peer}'s mapping of gref {gref} within 30 s (flags {:#x})", table.flags(gref));
        }
        poll(port, 10_000_000);
    }
    let (mut ours, mut theirs) = (0, 0);
    for i in 0..WORDS {
        let w = word(data, i);
        if w == pattern(GRANTER, i) {
            ours += 1;
        } else if w == pattern(if i < HALF { MAPPED } else { COPIED }, i) {
            theirs += 1;
        } else {
            fail!("word {i} of the granted page is {w:#018x}: neither our pattern nor the peer's");
        }
    }
    table.end_access(gref).unwrap_or_else(|f| fail!("ending access to gref {gref}: flags {f:#x}"));
    say!("survived d{peer}: its mapping was released, page intact ({ours} words ours, {theirs} written by it), access ended");
    pass()
}

fn gntst(s: i16) -> &'static str {
    const NAMES: [&str; 14] = [
        "GNTST_okay",
        "GNTST_general_error",
        "GNTST_bad_domain",
        "GNTST_bad_gntref",
        "GNTST_bad_handle",
        "GNTST_bad_virt_addr",
        "GNTST_bad_dev_addr",
        "GNTST_no_device_space",
        "GNTST_permission_denied",
        "GNTST_bad_page",
        "GNTST_bad_copy_arg",
        "GNTST_address_too_big",
        "GNTST_eagain",
        "GNTST_no_space",
    ];
    NAMES.get(s.unsigned_abs() as usize).filter(|_| s <= 0).copied().unwrap_or("GNTST_?")
}

fn mapper(a: &Args) -> ! {
    let (peer, gref) = (a.peer, a.gref);
    init_events();
    let win = Window::prepare();
    let local = connect(peer, a.port);
    wait_events(1);
    say!("d{peer} says the grant is ready");
    let handle = win.map_and_check(peer, gref);
    say!("mapped d{peer}'s gref {gref} at {:#x} (handle {handle}), its pattern is there", win.va);
    if a.hold {
        say!("holding");
        flush();
        loop {
            // Nothing wakes us for good: dom0 destroys this domain.
            let _ = hypercall::sched_block();
        }
    }
    win.write_and_unmap(handle);
    say!("wrote the first half through the mapping, unmapped, window restored");
    copy_in_and_back(peer, gref);
    say!("copied into the grant and back: both halves as written");
    send(local);
    pass()
}

/// The mapper's window: a page of its own (`MAP_WIN`) over which it maps
/// the peer's grant. Its own frame carries [`MARKER`], which must be there
/// again once the grant is unmapped and the frame mapped back.
struct Window {
    va: u64,
    own: Mfn,
}

impl Window {
    fn prepare() -> Window {
        let va = va(addr_of_mut!(MAP_WIN));
        fill(&page(va), 0..WORDS, MARKER);
        Window { va, own: mfn_of(va) }
    }

    /// `GNTTABOP_map_grant_ref` of `<dom, gref>` over the window, for the
    /// host, read-write. The window's own mapping is removed first (with
    /// a TLB flush): Xen writes the grant's PTE without flushing, as Linux
    /// only maps grants where nothing was mapped. If the map fails, the
    /// window's own frame is mapped back.
    fn map(&self, dom: u16, gref: u32) -> GnttabMapGrantRef {
        // SAFETY: unmaps the dedicated window; nothing refers to it.
        unsafe { hypercall::update_va_mapping(self.va, 0, UVMF_INVLPG | UVMF_LOCAL) }
            .unwrap_or_else(|e| fail!("unmapping the window: {e}"));
        let mut op = GnttabMapGrantRef {
            host_addr: self.va,
            flags: GNTMAP_host_map,
            ref_: gref,
            dom,
            status: GNTST_general_error,
            handle: 0,
            dev_bus_addr: 0,
        };
        // SAFETY: maps over the dedicated, now empty, window.
        let r = unsafe { hypercall::grant_table_op(GNTTABOP_map_grant_ref, core::slice::from_mut(&mut op)) };
        if r.is_err() || op.status != GNTST_okay {
            self.restore();
        }
        if let Err(e) = r {
            fail!("GNTTABOP_map_grant_ref: {e}");
        }
        op
    }

    /// Maps the window's own frame back.
    fn restore(&self) {
        // SAFETY: the window's own frame goes back where it was.
        unsafe { map_at(self.va, self.own.0) }.unwrap_or_else(|e| fail!("restoring the window mapping: {e}"));
    }

    /// `GNTTABOP_unmap_grant_ref` of the grant mapped over the window (Xen
    /// clears the PTE and flushes), then maps the window's own frame back.
    fn unmap(&self, handle: u32) {
        let mut op =
            GnttabUnmapGrantRef { host_addr: self.va, dev_bus_addr: 0, handle, status: GNTST_general_error, _pad: 0 };
        // SAFETY: removes the grant mapping from the dedicated window.
        unsafe { hypercall::grant_table_op(GNTTABOP_unmap_grant_ref, core::slice::from_mut(&mut op)) }
            .unwrap_or_else(|e| fail!("GNTTABOP_unmap_grant_ref: {e}"));
        if op.status != GNTST_okay {
            fail!("GNTTABOP_unmap_grant_ref: {}", gntst(op.status));
        }
        self.restore();
    }

    /// Maps `<dom, gref>` over the window and checks it holds the
    /// granter's pattern; returns the map handle.
    fn map_and_check(&self, dom: u16, gref: u32) -> u32 {
        let op = self.map(dom, gref);
        if op.status != GNTST_okay {
            fail!("GNTTABOP_map_grant_ref of d{dom} gref {gref}: {}", gntst(op.status));
        }
        if let Some((i, got, want)) = mismatch(&page(self.va), 0..WORDS, GRANTER) {
            self.unmap(op.handle);
            fail!("mapped gref {gref} of d{dom}: word {i} is {got:#018x}, expected {want:#018x}");
        }
        op.handle
    }

    /// Writes [`MAPPED`] over the first half of the mapped grant, unmaps
    /// it and checks the window's own page is back, untouched.
    fn write_and_unmap(&self, handle: u32) {
        fill(&page(self.va), 0..HALF, MAPPED);
        self.unmap(handle);
        expect_pattern(&page(self.va), 0..WORDS, MARKER, "window page after unmapping the grant");
    }
}

/// `GNTTABOP_copy` of our [`COPIED`] page into the second half of
/// `<dom, gref>`, then of the whole grant back into a page of ours, which
/// must then hold [`MAPPED`] and [`COPIED`] halves.
fn copy_in_and_back(dom: u16, gref: u32) {
    let (src_va, dst_va) = (va(addr_of_mut!(COPY_SRC)), va(addr_of_mut!(COPY_DST)));
    let (src, dst) = (page(src_va), page(dst_va));
    fill(&src, 0..WORDS, COPIED);
    fill(&dst, 0..WORDS, MARKER);
    let remote = |offset: usize| RemoteBuf { dom: DomId(dom), gref: GrantRef(gref), offset: offset as u16 };
    let local = |v: u64, offset: usize| LocalBuf { frame: mfn_of(v), offset: offset as u16 };
    let half = (HALF * 8) as u16;
    let mut ops = [
        gnttab::copy_to_grant(local(src_va, HALF * 8), remote(HALF * 8), half),
        gnttab::copy_from_grant(remote(0), local(dst_va, 0), PAGE_SIZE as u16),
    ]
    .map(|op| op.unwrap_or_else(|e| fail!("grant copy op: {e}")));
    for (i, op) in ops.iter_mut().enumerate() {
        if let Err(e) = gnttab::grant_copy(&Xen, core::slice::from_mut(op)) {
            fail!("GNTTABOP_copy {} d{dom}'s gref {gref}: {e} (status {})", ["into", "out of"][i], gntst(op.status));
        }
    }
    expect_pattern(&dst, 0..HALF, MAPPED, "copied-back first half");
    expect_pattern(&dst, HALF..WORDS, COPIED, "copied-back second half");
}

// ---- grant benchmark -------------------------------------------------------------------

/// Untimed rounds before each timed loop of [`gntbench`]; [`ping`] also
/// leaves this many untimed at the end.
const WARM_UP: u64 = 16;

/// rdtsc cycles (instructions under QEMU `-icount shift=0`) per call of
/// `op`, over `count` calls after [`WARM_UP`] untimed ones.
fn timed(count: u64, mut op: impl FnMut()) -> u64 {
    for _ in 0..WARM_UP {
        op();
    }
    let t0 = rdtsc();
    for _ in 0..count {
        op();
    }
    (rdtsc() - t0) / count
}

/// The mapper (without `hold`), with two timed loops between "ready" and
/// its own checks: `count` rounds of `GNTTABOP_map_grant_ref` +
/// `GNTTABOP_unmap_grant_ref` of `<peer, gref>` (one op per hypercall,
/// host mapping, read-write, at the window's empty PTE), then `count`
/// `GNTTABOP_copy`s of the whole granted page into a page of ours.
fn gntbench(a: &Args) -> ! {
    let (peer, gref, n) = (a.peer, a.gref, a.count);
    init_events();
    let win = Window::prepare();
    let local = connect(peer, a.port);
    wait_events(1);
    say!("d{peer} says the grant is ready");
    // Untimed: the grant maps and holds the granter's page.
    let handle = win.map_and_check(peer, gref);
    win.unmap(handle);
    // dom0 relays our lines (and the granter's) now, not while we count;
    // the results are printed after both loops.
    flush();

    // SAFETY: unmaps the dedicated window; nothing refers to it.
    unsafe { hypercall::update_va_mapping(win.va, 0, UVMF_INVLPG | UVMF_LOCAL) }
        .unwrap_or_else(|e| fail!("unmapping the window: {e}"));
    let per_map = timed(n, || {
        let mut op = GnttabMapGrantRef {
            host_addr: win.va,
            flags: GNTMAP_host_map,
            ref_: gref,
            dom: peer,
            status: GNTST_general_error,
            handle: 0,
            dev_bus_addr: 0,
        };
        // SAFETY: maps over the dedicated window, whose PTE is empty.
        let r = unsafe { hypercall::grant_table_op(GNTTABOP_map_grant_ref, core::slice::from_mut(&mut op)) };
        if r.is_err() || op.status != GNTST_okay {
            win.restore();
            fail!("GNTTABOP_map_grant_ref of d{peer} gref {gref}: {} ({})", gntst(op.status), show(r.map(|_| 0)));
        }
        let mut un = GnttabUnmapGrantRef {
            host_addr: win.va,
            dev_bus_addr: 0,
            handle: op.handle,
            status: GNTST_general_error,
            _pad: 0,
        };
        // SAFETY: removes that mapping again, leaving the PTE empty.
        let r = unsafe { hypercall::grant_table_op(GNTTABOP_unmap_grant_ref, core::slice::from_mut(&mut un)) };
        if r.is_err() || un.status != GNTST_okay {
            fail!("GNTTABOP_unmap_grant_ref: {} ({})", gntst(un.status), show(r.map(|_| 0)));
        }
    });
    win.restore();
    expect_pattern(&page(win.va), 0..WORDS, MARKER, "window page after the map+unmap loop");

    let dst_va = va(addr_of_mut!(COPY_DST));
    let dst = page(dst_va);
    fill(&dst, 0..WORDS, MARKER);
    let op = gnttab::copy_from_grant(
        RemoteBuf { dom: DomId(peer), gref: GrantRef(gref), offset: 0 },
        LocalBuf { frame: mfn_of(dst_va), offset: 0 },
        PAGE_SIZE as u16,
    )
    .unwrap_or_else(|e| fail!("grant copy op: {e}"));
    let per_copy = timed(n, || {
        let mut c = op;
        let r = hypercall::gnttab_copy(core::slice::from_mut(&mut c));
        if r.is_err() || c.status != GNTST_okay {
            fail!("GNTTABOP_copy out of d{peer}'s gref {gref}: {} ({})", gntst(c.status), show(r.map(|_| 0)));
        }
    });
    expect_pattern(&dst, 0..WORDS, GRANTER, "page copied out of the grant");
    say!("{n} map+unmap of d{peer}'s gref {gref}: {per_map} tsc/map+unmap");
    say!("{n} copies of 4096 bytes from d{peer}'s gref {gref}: {per_copy} tsc/copy");

    // Then what the mapper does, so that the granter's checks hold.
    let handle = win.map_and_check(peer, gref);
    win.write_and_unmap(handle);
    copy_in_and_back(peer, gref);
    say!("wrote through the mapping and copied into the grant and back");
    send(local);
    pass()
}

// ---- loopback --------------------------------------------------------------------------

/// Set by [`echo`] when its reply failed.
static ECHO_ERR: AtomicU64 = AtomicU64::new(0);

/// The far end of the loopback channel: answers each event from the
/// upcall itself.
fn echo(port: Port, _ctx: u64) {
    if let Err(e) = hypercall::evtchn_send(port) {
        ECHO_ERR.store(e.0 as u64, Ordering::SeqCst);
        // Wake the waiting main flow so that it reports the error.
        RECEIVED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Both ends of the interdomain machinery inside one domain (any domain,
/// dom0 included): a channel to itself answered from the upcall, and its
/// own grant mapped, written, unmapped and copied through. This is what
/// the two-domain roles do, checkable on real Xen with nothing but this
/// kernel as dom0.
fn loopback(a: &Args) -> ! {
    init_events();
    let (near, me) = with_events(|ev| ev.alloc_unbound(DomId::SELF))
        .map(|p| (p, status(p).u.unbound().dom))
        .unwrap_or_else(|e| fail!("EVTCHNOP_alloc_unbound(DOMID_SELF): {e}"));
    say!("this is d{me}");
    with_events(|ev| {
        let far = ev.bind_interdomain(DomId::SELF, near)?;
        ev.shared().test_and_clear_pending(far)?;
        ev.set_handler(far, echo, 0)?;
        ev.set_handler(near, on_peer_event, 0)
    })
    .unwrap_or_else(|e| fail!("loopback channel: {e}"));
    let t0 = rdtsc();
    for i in 0..a.count {
        send(near);
        wait_events(1 + i);
        let e = ECHO_ERR.load(Ordering::SeqCst);
        if e != 0 {
            fail!("echo from the upcall: EVTCHNOP_send: {}", Errno(e as i32));
        }
    }
    let per = (rdtsc() - t0) / a.count;
    say!("{} loopback round trips through the upcall, {per} tsc/round trip", a.count);

    let gref = GNTTAB_NR_RESERVED_ENTRIES;
    let table = Table::setup(gref);
    let gp = va(addr_of_mut!(GRANT_PAGE));
    let data = page(gp);
    fill(&data, 0..WORDS, GRANTER);
    let frame = u32::try_from(mfn_of(gp).0).unwrap_or_else(|_| fail!("frame does not fit a v1 grant entry"));
    table.grant(gref, me, frame);
    let win = Window::prepare();
    let handle = win.map_and_check(me, gref);
    let flags = table.flags(gref);
    if flags & (GTF_reading | GTF_writing) != GTF_reading | GTF_writing {
        fail!("while mapped r/w, entry {gref} has flags {flags:#x}: Xen must set GTF_reading|GTF_writing");
    }
    win.write_and_unmap(handle);
    let flags = table.flags(gref);
    if flags & (GTF_reading | GTF_writing) != 0 {
        fail!("after the unmap, entry {gref} still has flags {flags:#x}");
    }
    copy_in_and_back(me, gref);
    expect_pattern(&data, 0..HALF, MAPPED, "granted page, first half");
    expect_pattern(&data, HALF..WORDS, COPIED, "granted page, second half");
    table.end_access(gref).unwrap_or_else(|f| fail!("ending access to gref {gref}: flags {f:#x}"));
    say!("own grant {gref} mapped, written, unmapped, copied into and out of; access ended");
    pass()
}

// ---- hostile -------------------------------------------------------------------------------

/// Tally of the hostile checks.
struct Checks {
    total: u32,
    wrong: u32,
    first_wrong: &'static str,
}

impl Checks {
    fn check(&mut self, name: &'static str, got: fmt::Arguments<'_>, expected: &str, ok: bool) {
        self.total += 1;
        if !ok {
            self.wrong += 1;
            if self.wrong == 1 {
                self.first_wrong = name;
            }
        }
        say!("check {name}: {got} (Xen 4.17: {expected}): {}", if ok { "ok" } else { "WRONG" });
    }
}

fn show(r: Result<u64, Errno>) -> impl fmt::Display {
    struct S(Result<u64, Errno>);
    impl fmt::Display for S {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0 {
                Ok(v) => write!(f, "returned {v}"),
                Err(e) => write!(f, "{e}"),
            }
        }
    }
    S(r)
}

fn hostile(a: &Args) -> ! {
    let (peer, port, gref) = (a.peer, a.port, a.gref);
    if si().flags & SIF_INITDOMAIN != 0 || si().flags & pv_abi::abi::xen::SIF_PRIVILEGED != 0 {
        fail!("hostile must run unprivileged: a privileged domain may do all of this");
    }
    let mut c = Checks { total: 0, wrong: 0, first_wrong: "" };
    let win = Window::prepare();

    // Grant map of a reference not granted to us: Xen 4.17's map_grant_ref
    // answers GNTST_bad_gntref beyond the peer's table and
    // GNTST_general_error for an entry that does not permit us.
    let op = win.map(peer, gref);
    if op.status == GNTST_okay {
        win.unmap(op.handle);
    }
    let not_granted = [GNTST_general_error, GNTST_bad_gntref];
    c.check(
        "map-not-granted",
        format_args!("map of d{peer} gref {gref}: {}", gntst(op.status)),
        "GNTST_general_error, or GNTST_bad_gntref beyond its table",
        not_granted.contains(&op.status),
    );
    let op = win.map(peer, u32::MAX);
    if op.status == GNTST_okay {
        win.unmap(op.handle);
    }
    c.check(
        "map-bad-ref",
        format_args!("map of d{peer} gref {:#x}: {}", u32::MAX, gntst(op.status)),
        "GNTST_bad_gntref",
        op.status == GNTST_bad_gntref,
    );

    // Grant copy out of the same reference: same rules
    // (acquire_grant_for_copy).
    let dst = mfn_of(va(addr_of_mut!(COPY_DST)));
    let mut cp = gnttab::copy_from_grant(
        RemoteBuf { dom: DomId(peer), gref: GrantRef(gref), offset: 0 },
        LocalBuf { frame: dst, offset: 0 },
        64,
    )
    .unwrap_or_else(|e| fail!("grant copy op: {e}"));
    let r = hypercall::gnttab_copy(core::slice::from_mut(&mut cp));
    c.check(
        "copy-not-granted",
        format_args!("copy from d{peer} gref {gref}: {} ({})", gntst(cp.status), show(r)),
        "GNTST_general_error, or GNTST_bad_gntref beyond its table",
        r.is_ok() && not_granted.contains(&cp.status),
    );
    // Copy naming a frame of another domain instead of a grant: only
    // DOMID_SELF may be named by frame (gnttab_copy_lock_domain).
    let mut cp = GnttabCopy {
        source: GnttabCopyPtr { u: dst.0, domid: peer, offset: 0, _pad: 0 },
        dest: GnttabCopyPtr { u: dst.0, domid: DOMID_SELF, offset: 0, _pad: 0 },
        len: 64,
        flags: 0,
        status: GNTST_okay,
        _pad: 0,
    };
    let r = hypercall::gnttab_copy(core::slice::from_mut(&mut cp));
    c.check(
        "copy-by-frame",
        format_args!("copy from d{peer} by frame: {} ({})", gntst(cp.status), show(r)),
        "GNTST_permission_denied",
        r.is_ok() && cp.status == GNTST_permission_denied,
    );

    // Binding to a port of the peer that was not allocated for us.
    let r = hypercall::evtchn_bind_interdomain(DomId(peer), port);
    if let Ok(p) = r {
        let _ = hypercall::evtchn_close(p);
    }
    c.check(
        "bind-not-ours",
        format_args!("bind to d{peer} port {}: {}", port.0, show(r.map(|p| p.0 as u64))),
        "-EINVAL",
        r == Err(Errno(EINVAL)),
    );

    // Allocating a port in another domain (XSM_TARGET).
    let mut au = EvtchnAllocUnbound { dom: peer, remote_dom: DOMID_SELF, port: 0 };
    let r = hypercall::evtchn_op(EVTCHNOP_alloc_unbound, &mut au);
    c.check("alloc-in-other", format_args!("alloc_unbound in d{peer}: {}", show(r)), "-EPERM", r == Err(Errno(EPERM)));

    // domctl (XSM_XS_PRIV / XSM_PRIV) and sysctl (XSM_PRIV).
    let r = domctl(XEN_DOMCTL_getdomaininfo, peer);
    c.check("domctl-getinfo", format_args!("getdomaininfo d{peer}: {}", show(r)), "-EPERM", r == Err(Errno(EPERM)));
    let r = domctl(XEN_DOMCTL_pausedomain, peer);
    if r.is_ok() {
        let _ = domctl(XEN_DOMCTL_unpausedomain, peer);
    }
    c.check("domctl-pause", format_args!("pausedomain d{peer}: {}", show(r)), "-EPERM", r == Err(Errno(EPERM)));
    let r = sysctl_physinfo();
    c.check("sysctl-physinfo", format_args!("physinfo: {}", show(r)), "-EPERM", r == Err(Errno(EPERM)));

    // populate_physmap for another domain: the reservation ops return the
    // number of extents done, and Xen 4.17 returns 0 (not -EPERM) when
    // xsm_memory_adjust_reservation refuses.
    let mut extents = [0xf_0000u64];
    let r = hypercall::reservation(XENMEM_populate_physmap, DomId(peer), &mut extents, 0);
    c.check(
        "populate-other",
        format_args!("populate_physmap of 1 extent for d{peer}: {}", show(r)),
        "0 extents done",
        r == Ok(0),
    );

    // mmu_update with the peer as page owner (xsm_mmu_update refuses before
    // the request is looked at). The request would rewrite our own L4 slot
    // of the kernel mapping with its current value: harmless if wrongly
    // accepted.
    let l4_slot = (KERNEL_VIRT_BASE >> 39) & 511;
    let l4_mfn = mfn_of(si().pt_base);
    // SAFETY: the bootstrap L4 is mapped (read-only) at pt_base.
    let cur = unsafe { (si().pt_base as *const u64).add(l4_slot as usize).read_volatile() };
    let req = MmuUpdate { ptr: (l4_mfn.0 << 12) + l4_slot * 8 + MMU_NORMAL_PT_UPDATE as u64, val: cur };
    // SAFETY: rewrites one L4 entry with the value it holds.
    let r = unsafe { hypercall::mmu_update(core::slice::from_ref(&req), DomId(peer)) };
    c.check(
        "mmu-update-foreign",
        format_args!(
            "mmu_update with foreigndom d{peer}: {}",
            match r {
                Ok(()) => show(Ok(0)),
                Err((_, e)) => show(Err(e)),
            }
        ),
        "-EPERM, nothing done",
        r == Err((0, Errno(EPERM))),
    );

    // Shutting another domain down (XSM_DM_PRIV).
    let r = hypercall::sched_remote_shutdown(DomId(peer), SHUTDOWN_poweroff);
    c.check("remote-shutdown", format_args!("remote_shutdown d{peer}: {}", show(r)), "-EPERM", r == Err(Errno(EPERM)));

    if c.wrong != 0 {
        fail!("{} of {} checks wrong (first: {})", c.wrong, c.total, c.first_wrong);
    }
    say!("all {} checks refused as Xen 4.17 does", c.total);
    pass()
}

/// A `domctl` without payload on `dom` (raw: the privileged wrappers are
/// dom0's business).
fn domctl(cmd: u32, dom: u16) -> Result<u64, Errno> {
    let mut op = XenDomctl::without_payload(cmd, dom);
    // SAFETY: `op` is a live xen_domctl without guest handles.
    Errno::from_ret(unsafe { hypercall::hypercall1(nr::domctl, &mut op as *mut XenDomctl as u64) })
}

/// `XEN_SYSCTL_physinfo` (raw, as [`domctl`]).
fn sysctl_physinfo() -> Result<u64, Errno> {
    let mut op = XenSysctl {
        cmd: XEN_SYSCTL_physinfo,
        interface_version: XEN_SYSCTL_INTERFACE_VERSION,
        u: XenSysctlPayload::default(),
    };
    // SAFETY: `op` is a live xen_sysctl; physinfo has no guest handles
    // (the cpu_to_node handle is zero).
    Errno::from_ret(unsafe { hypercall::hypercall1(nr::sysctl, &mut op as *mut XenSysctl as u64) })
}

// ---- hello: the guest of dom0's xl examples -------------------------------------------

/// How often `hello` prints its tick line.
const HELLO_TICK_NS: u64 = 1_000_000_000;
/// The token of `hello`'s `control/shutdown` watch.
const HELLO_TOKEN: &str = "shutdown";
/// How long `hello` waits for one xenstored answer.
const HELLO_XS_TIMEOUT_NS: u64 = 5_000_000_000;

/// Clears `port`'s pending bit; whether it was set (upcalls stay masked:
/// `hello` sleeps in `SCHEDOP_poll`).
fn take_pending(port: Port) -> bool {
    shared().test_and_clear_pending(port).unwrap_or(false)
}

/// The guest the example configs of dom0's `xl` run (`/etc/xen/*.cfg`).
///
/// It talks to xenstored over its store ring (`start_info.store_mfn`, a
/// page of the start-of-day mapping, and `store_evtchn`) with pv-abi's
/// client: reads its `name` and `domid`, shows its permissions hold
/// (writing its own `data/hello` works; writing its read-only `name` and
/// dom0's `/local/domain/0/name` is refused with `EACCES`), and watches
/// `control/shutdown`. Then it prints `tick <n>` every second, echoes
/// console input lines (`console input: <line>`), and obeys
/// `control/shutdown` as Linux does (clears the node, then `poweroff` or
/// `halt` → `SHUTDOWN_poweroff`, `reboot` → `SHUTDOWN_reboot`); with
/// `hold=1` it says it ignores the request and keeps running (for
/// `xl destroy`).
fn hello(a: &Args) -> ! {
    let si = si();
    let (mfn, store) = (si.store_mfn, Port(si.store_evtchn));
    let pfn = m2p(mfn);
    if pfn >= si.nr_pages || p2m(pfn) != mfn {
        fail!("store frame {mfn:#x} is not in this domain's P2M (M2P gives pfn {pfn:#x})");
    }
    let page = (KERNEL_VIRT_BASE + pfn * PAGE_SIZE as u64) as *mut pv_abi::abi::io::xs_wire::XenstoreDomainInterface;
    let notify = move || {
        let _ = hypercall::evtchn_send(store);
    };
    // Sleeps until xenstored signals (a poll may also end early: Xen
    // wakes a vCPU polling several ports on any event).
    let wait = move || {
        let deadline = now_ns().saturating_add(HELLO_XS_TIMEOUT_NS);
        while !take_pending(store) {
            if now_ns() >= deadline {
                return Err(pv_abi::xenstore::XsError::Transport(Errno(pv_abi::abi::errno::ETIMEDOUT)));
            }
            if let Err(e) = hypercall::sched_poll(&[store.0], deadline) {
                fail!("SCHEDOP_poll on the store channel: {e}");
            }
        }
        Ok(())
    };
    // SAFETY: the store page is this domain's, mapped writable by the
    // builder at its PFN's place in the start-of-day region; only this
    // client (and xenstored in dom0, following the ring protocol) touch it.
    let ring = unsafe { pv_abi::xenstore::XsRing::domain(page, notify, wait) };
    let mut xs: pv_abi::xenstore::XsClient<_> = pv_abi::xenstore::XsClient::new(ring);

    let mut name = [0u8; 64];
    let n = match xs.read(None, "name") {
        Ok(v) => {
            let n = v.len().min(name.len());
            name[..n].copy_from_slice(&v[..n]);
            n
        }
        Err(e) => fail!("xenstore read name: {e}"),
    };
    let name = core::str::from_utf8(&name[..n]).unwrap_or("?");
    let domid: u16 = xs.read_parse(None, "domid").unwrap_or_else(|e| fail!("xenstore read domid: {e}"));
    say!("d{domid} '{name}' is up{}", if a.hold { "; it ignores control/shutdown" } else { "" });
    xs.write(None, "data/hello", b"1").unwrap_or_else(|e| fail!("xenstore write data/hello (its own): {e}"));
    for path in ["name", "/local/domain/0/name"] {
        match xs.write(None, path, b"mine") {
            Err(e) if e.is_store(pv_abi::abi::errno::EACCES) => say!("xenstore: write to {path} refused: EACCES"),
            Err(e) => fail!("xenstore write {path}: {e}, expected EACCES"),
            Ok(()) => fail!("xenstore write {path} succeeded: the store ignores permissions"),
        }
    }
    xs.watch("control/shutdown", HELLO_TOKEN).unwrap_or_else(|e| fail!("xenstore watch control/shutdown: {e}"));
    say!("watching control/shutdown");
    flush();

    let console = match out() {
        Some(Out { sink: Sink::Ring(c), .. }) => Some(c.port()),
        _ => None,
    };
    let mut input = [0u8; 128];
    let mut line_len = 0usize;
    let mut tick = 0u64;
    let mut next_tick = now_ns();
    loop {
        take_pending(store);
        if let Some(p) = console {
            take_pending(p);
        }
        let now = now_ns();
        if now >= next_tick {
            say!("tick {tick}");
            tick += 1;
            next_tick = now.saturating_add(HELLO_TICK_NS);
        }
        let mut fired = false;
        loop {
            match xs.next_watch_event_for(HELLO_TOKEN) {
                Ok(Some(_)) => fired = true,
                Ok(None) => break,
                Err(e) => fail!("xenstore watch events: {e}"),
            }
        }
        if fired {
            hello_control(&mut xs, a.hold);
        }
        // Console input, echoed a line at a time.
        let mut buf = [0u8; 64];
        let got = match out() {
            Some(Out { sink: Sink::Ring(c), .. }) => c.read(&mut buf).unwrap_or(0),
            _ => 0,
        };
        for &b in &buf[..got] {
            if b == b'\r' || b == b'\n' {
                if line_len > 0 {
                    let l = core::str::from_utf8(&input[..line_len]).unwrap_or("?");
                    say!("console input: {l}");
                    line_len = 0;
                }
            } else if line_len < input.len() && (0x20..0x7f).contains(&b) {
                input[line_len] = b;
                line_len += 1;
            }
        }
        let mut ports = [store.0, 0];
        let np = match console {
            Some(p) => {
                ports[1] = p.0;
                2
            }
            None => 1,
        };
        if let Err(e) = hypercall::sched_poll(&ports[..np], next_tick) {
            fail!("SCHEDOP_poll: {e}");
        }
    }
}

/// `control/shutdown` changed: act on its value as Linux's
/// `shutdown_handler` does.
fn hello_control<T: pv_abi::xenstore::XsTransport>(xs: &mut pv_abi::xenstore::XsClient<T>, hold: bool) {
    let mut v = [0u8; 32];
    let n = match xs.read(None, "control/shutdown") {
        Ok(r) => {
            let n = r.len().min(v.len());
            v[..n].copy_from_slice(&r[..n]);
            n
        }
        Err(e) => fail!("xenstore read control/shutdown: {e}"),
    };
    let what = core::str::from_utf8(&v[..n]).unwrap_or("?");
    if what.is_empty() {
        return;
    }
    // Acknowledge, as Linux does (it clears the node).
    xs.write(None, "control/shutdown", b"").unwrap_or_else(|e| fail!("xenstore clear control/shutdown: {e}"));
    let reason = match what {
        "poweroff" | "halt" => SHUTDOWN_poweroff,
        "reboot" => pv_abi::abi::sched::SHUTDOWN_reboot,
        other => {
            say!("control/shutdown = {other}: not supported, ignored");
            return;
        }
    };
    if hold {
        say!("control/shutdown = {what}: ignored (hold=1)");
        return;
    }
    say!("control/shutdown = {what}: {}", if reason == SHUTDOWN_poweroff { "powering off" } else { "rebooting" });
    flush();
    let _ = hypercall::sched_shutdown(reason);
    loop {
        core::hint::spin_loop();
    }
}
