//! Start-of-day scaffolding every PV kernel shares: the ELF notes the
//! domain builder reads, the hypercall page, the `_start` entry that moves
//! onto the kernel's own stack, a console writer and a panic reporter.
//!
//! A kernel declares itself with [`pv_kernel!`](crate::pv_kernel) and links
//! with `pv-abi/kernel-rt/pv-kernel.ld`, which places it at
//! [`KERNEL_VIRT_BASE`] with physical addresses equal to virtual ones (so
//! `PADDR_OFFSET == VIRT_BASE` and the builder maps the image 1:1 onto the
//! start of the domain's pseudo-physical memory).

use crate::hypercall;
use core::fmt;

/// Where PV kernels built on pv-abi are linked (Linux's `__START_KERNEL_map`).
pub const KERNEL_VIRT_BASE: u64 = 0xffff_ffff_8000_0000;

/// Declares a PV kernel: its ELF notes, its entry point and its boot stack.
///
/// ```ignore
/// pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 0);
/// fn main(si: &'static pv_abi::abi::xen::StartInfo) -> ! { ... }
/// ```
/// `features` is the `FEATURES` note text; `supported` the 32-bit
/// `SUPPORTED_FEATURES` bitmap (set bit `XENFEAT_dom0` to be bootable as
/// dom0 on real Xen).
#[macro_export]
macro_rules! pv_kernel {
    ($main:path, features = $features:literal, supported = $sup:expr $(,)?) => {
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_GUEST_OS, ".asciz \"pv-abi\"");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_GUEST_VERSION, ".asciz \"0.1\"");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_XEN_VERSION, ".asciz \"xen-3.0\"");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_LOADER, ".asciz \"generic\"");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_PAE_MODE, ".asciz \"yes\"");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_VIRT_BASE, ".quad {b}",
            b = const $crate::kernel::KERNEL_VIRT_BASE);
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_PADDR_OFFSET, ".quad {b}",
            b = const $crate::kernel::KERNEL_VIRT_BASE);
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_ENTRY, ".quad _start");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_HYPERCALL_PAGE, ".quad hypercall_page");
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_FEATURES, concat!(".asciz \"", $features, "\""));
        $crate::elfnote!($crate::abi::elfnote::XEN_ELFNOTE_SUPPORTED_FEATURES, ".long {s}",
            s = const ($sup) as u32);

        #[repr(C, align(16))]
        struct __PvStack([u8; 64 * 1024]);
        #[no_mangle]
        static mut __PV_BOOT_STACK: __PvStack = __PvStack([0; 64 * 1024]);

        // The hypercall page: `int3` until the hypervisor writes the stubs.
        core::arch::global_asm!(
            ".pushsection .text.hypercall_page, \"ax\", @progbits",
            ".balign 4096",
            ".globl hypercall_page",
            "hypercall_page:",
            ".fill 4096, 1, 0xcc",
            ".popsection",
            options(att_syntax),
        );

        core::arch::global_asm!(
            ".pushsection .text.entry, \"ax\", @progbits",
            ".globl _start",
            "_start:",
            // %rsi = start_info (virtual). Move to our own stack; keep the
            // ABI's 16-byte alignment at the call.
            "lea __PV_BOOT_STACK+{size}(%rip), %rsp",
            "mov %rsi, %rdi",
            "call {start}",
            "ud2",
            ".popsection",
            size = const 64 * 1024,
            start = sym __pv_kernel_start,
            options(att_syntax),
        );

        extern "C" fn __pv_kernel_start(si: *const $crate::abi::xen::StartInfo) -> ! {
            // SAFETY: the domain builder passes a mapped start_info that
            // stays mapped and is never freed.
            let si: &'static $crate::abi::xen::StartInfo = unsafe { &*si };
            $main(si)
        }
    };
}

/// The hypervisor console (`console_io` write) as a `fmt::Write` sink.
/// Real Xen accepts it from dom0 only; a domU writes its console ring.
pub struct HvConsole;

impl fmt::Write for HvConsole {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        hypercall::console_write(s.as_bytes()).map(|_| ()).map_err(|_| fmt::Error)
    }
}

/// Collects formatted output so that one `kprint!`/`kprintln!` reaches the
/// hypervisor as one `console_io` call (up to 256 bytes at a time): its
/// line is not split by other output.
pub struct LineBuf {
    buf: [u8; 256],
    len: usize,
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf { buf: [0; 256], len: 0 }
    }
}

impl LineBuf {
    /// Writes out what is collected.
    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = hypercall::console_write(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(self.buf.len()) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

/// Prints to the hypervisor console.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut b = $crate::kernel::LineBuf::default();
        let _ = write!(b, $($arg)*);
        b.flush();
    }};
}

/// Prints a line to the hypervisor console.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut b = $crate::kernel::LineBuf::default();
        let _ = writeln!(b, $($arg)*);
        b.flush();
    }};
}

/// Panic reporter for PV kernels: print, then `SHUTDOWN_crash`.
/// Hook it up with `kernel_rt::panic_handler!(pv_abi::kernel::panic)`.
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::kprintln!("PANIC: {}", info);
    hypercall::crash()
}
