//! Boot: from the PVH entry to the first guest instruction.
//!
//! 1. Serial console and log; `hvm_start_info`, command line, memory map,
//!    the boot module (all read through the boot stub's early direct map
//!    of the low 4 GiB).
//! 2. A bump allocator over RAM (skipping the image, the module and the
//!    boot structures) provides the frame table, the M2P table, the heap
//!    and the hypervisor's page tables, which replace the boot tables.
//! 3. The frame table accounts every frame; GDT/TSS/IDT and the syscall
//!    MSRs are loaded; the legacy PIC is masked.
//! 4. The first domain (dom0, or the single guest) is built from the
//!    module and entered in ring 3.

use super::cpu::{self, outb};
use super::descriptors;
use super::entry;
use super::heap;
use super::layout::*;
use super::mm::Mm;
use super::paging::{pte, Mapper};
use super::pv;
use super::serial::{Serial, SERIAL};
use super::traps::{self, HV};
use crate::common::cmdline::Cmdline;
use crate::common::console;
use crate::common::dom0::{self, BootImage, FirstDomain};
use crate::common::domain::Domains;
use crate::common::frame::{FrameTable, PageFlags, PageInfo, PageType};
use crate::common::m2p::M2p;
use crate::common::phys::PhysMem;
use crate::common::Hv;
use alloc::string::String;
use pv_abi::abi::arch_x86::CpuUserRegs;
use pv_abi::abi::elfnote::XEN_ELFNOTE_PHYS32_ENTRY;
use pv_abi::abi::hvm_start_info::*;
use pv_abi::{DomId, Mfn};

pv_abi::elfnote!(XEN_ELFNOTE_PHYS32_ENTRY, ".quad _start32");

extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __image_end: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

/// Reports a hypervisor panic and stops the machine (non-zero status).
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    console::print_fmt(format_args!("(XEN) PANIC: {info}\n(XEN) Hypervisor crashed: exiting\n"));
    cpu::qemu_exit(pv_abi::qemu_exit::HYPERVISOR_PANIC)
}

/// Stops with a message (bad boot input).
fn boot_fail(args: core::fmt::Arguments<'_>) -> ! {
    console::print_fmt(format_args!("(XEN) boot failed: {args}\n"));
    cpu::qemu_exit(pv_abi::qemu_exit::HYPERVISOR_PANIC)
}

/// A physical range `[start, end)`.
#[derive(Clone, Copy, Debug, Default)]
struct Range {
    start: u64,
    end: u64,
}

impl Range {
    fn overlaps(&self, o: &Range) -> bool {
        self.start < o.end && o.start < self.end
    }
}

const MAX_RANGES: usize = 32;

/// A small fixed list (no heap yet).
#[derive(Default)]
struct Ranges {
    r: [Range; MAX_RANGES],
    n: usize,
}

impl Ranges {
    fn push(&mut self, start: u64, end: u64) {
        let (start, end) = (start & !0xfff, (end + 0xfff) & !0xfff);
        if self.n > 0 && self.r[self.n - 1].end == start {
            self.r[self.n - 1].end = end;
            return;
        }
        if self.n == MAX_RANGES {
            boot_fail(format_args!("too many memory ranges"));
        }
        self.r[self.n] = Range { start, end };
        self.n += 1;
    }
    fn iter(&self) -> impl Iterator<Item = &Range> {
        self.r[..self.n].iter()
    }
    fn contains_page(&self, pa: u64) -> bool {
        let p = Range { start: pa, end: pa + 4096 };
        self.iter().any(|r| r.overlaps(&p))
    }
}

/// Hands out zeroed, physically contiguous frames from RAM below 4 GiB
/// before the frame table exists, remembering what it gave.
struct BootAlloc<'a> {
    ram: &'a Ranges,
    reserved: &'a Ranges,
    cursor: u64,
    given: Ranges,
}

impl BootAlloc<'_> {
    fn alloc(&mut self, pages: u64) -> u64 {
        let len = pages * 4096;
        loop {
            let Some(region) = self.ram.iter().find(|r| r.end > self.cursor && r.end - self.cursor.max(r.start) >= len)
            else {
                boot_fail(format_args!("out of memory allocating {pages} boot pages"))
            };
            let start = self.cursor.max(region.start);
            let want = Range { start, end: start + len };
            if let Some(clash) = self.reserved.iter().find(|r| r.overlaps(&want)) {
                self.cursor = clash.end;
                continue;
            }
            if want.end > 1 << 32 {
                boot_fail(format_args!("boot allocations must fit below 4 GiB"));
            }
            self.cursor = want.end;
            self.given.push(want.start, want.end);
            // SAFETY: the early direct map covers the low 4 GiB and this
            // range is RAM no one else uses.
            unsafe { core::ptr::write_bytes((DIRECTMAP_VIRT_START + start) as *mut u8, 0, len as usize) };
            return start;
        }
    }
}

fn early<T>(pa: u64) -> *mut T {
    (DIRECTMAP_VIRT_START + pa) as *mut T
}

static mut CMDLINE: [u8; 1024] = [0; 1024];
static mut DOM0_CMDLINE: [u8; 1024] = [0; 1024];

/// Copies a NUL-terminated string from physical memory into `buf`.
fn read_cstr(pa: u64, buf: &'static mut [u8; 1024]) -> &'static str {
    if pa == 0 {
        return "";
    }
    let mut n = 0;
    while n < buf.len() - 1 {
        // SAFETY: the boot structures QEMU wrote are below 4 GiB.
        let c = unsafe { early::<u8>(pa + n as u64).read() };
        if c == 0 {
            break;
        }
        buf[n] = c;
        n += 1;
    }
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}

/// The boot path. Never returns: it ends by entering the first guest.
pub fn start(hsi_pa: u64) -> ! {
    Serial::init();
    console::init(&SERIAL, log::LevelFilter::Info);

    // SAFETY: QEMU passes a valid hvm_start_info below 4 GiB.
    let hsi: HvmStartInfo = unsafe { early::<HvmStartInfo>(hsi_pa).read_unaligned() };
    if hsi.magic != XEN_HVM_START_MAGIC_VALUE {
        boot_fail(format_args!("bad hvm_start_info magic {:#x}", hsi.magic));
    }
    // SAFETY: boot runs once, single-threaded; nothing else uses the buffer.
    let cmdline_str = read_cstr(hsi.cmdline_paddr, unsafe { &mut *core::ptr::addr_of_mut!(CMDLINE) });
    let cmdline = match Cmdline::parse(cmdline_str) {
        Ok(c) => c,
        Err(e) => boot_fail(format_args!("{e}")),
    };
    log::set_max_level(cmdline.loglvl);
    log::info!(
        "Xen-compatible PV hypervisor (Rust), Xen {}.{} ABI",
        crate::common::hypercall::XEN_MAJOR,
        crate::common::hypercall::XEN_MINOR
    );
    log::info!("Command line: {cmdline_str}");
    for u in cmdline.unknown.iter().flatten() {
        log::warn!("ignoring unknown option '{u}'");
    }

    // Memory map and boot structures.
    if hsi.version < 1 || hsi.memmap_entries == 0 {
        boot_fail(format_args!("no memory map in hvm_start_info (version {})", hsi.version));
    }
    let mut ram = Ranges::default();
    let mut reserved = Ranges::default();
    reserved.push(0, 0x10_0000);
    // SAFETY: the linker symbol's address is all we use.
    reserved.push(0x10_0000, XEN_PHYS_START + (sym(unsafe { &__image_end }) - XEN_VIRT_START));
    reserved.push(hsi_pa, hsi_pa + core::mem::size_of::<HvmStartInfo>() as u64);
    reserved.push(hsi.memmap_paddr, hsi.memmap_paddr + hsi.memmap_entries as u64 * 24);
    reserved.push(hsi.cmdline_paddr, hsi.cmdline_paddr + cmdline_str.len() as u64 + 1);
    let mut max_pa = 0;
    let mut e820 = [pv_abi::abi::memory::E820Entry::default(); 64];
    let mut n820 = 0;
    for i in 0..hsi.memmap_entries as u64 {
        // SAFETY: QEMU's memory map array, below 4 GiB.
        let e: HvmMemmapTableEntry =
            unsafe { early::<HvmMemmapTableEntry>(hsi.memmap_paddr + i * 24).read_unaligned() };
        log::info!(" {:#014x} - {:#014x} type {}", e.addr, e.addr + e.size, e.ty);
        if n820 < e820.len() && e.size != 0 {
            e820[n820] = pv_abi::abi::memory::E820Entry { addr: e.addr, size: e.size, ty: e.ty };
            n820 += 1;
        }
        if e.ty == XEN_HVM_MEMMAP_TYPE_RAM {
            let start = (e.addr + 0xfff) & !0xfff;
            let end = (e.addr + e.size) & !0xfff;
            if end > start {
                ram.push(start, end);
                max_pa = max_pa.max(end);
            }
        }
    }
    if hsi.nr_modules == 0 {
        boot_fail(format_args!("no boot module: pass the boot archive (or a PV kernel) with -initrd"));
    }
    // SAFETY: QEMU's module list, below 4 GiB.
    let module: HvmModlistEntry = unsafe { early::<HvmModlistEntry>(hsi.modlist_paddr).read_unaligned() };
    if hsi.nr_modules > 1 {
        log::warn!("{} boot modules; using the first", hsi.nr_modules);
    }
    reserved.push(hsi.modlist_paddr, hsi.modlist_paddr + 32 * hsi.nr_modules as u64);
    reserved.push(module.paddr, module.paddr + module.size);
    if module.cmdline_paddr != 0 {
        reserved.push(module.cmdline_paddr, module.cmdline_paddr + 1024);
    }
    let max_pfn = max_pa / 4096;
    log::info!(
        "RAM: {} MiB, max pfn {:#x}; boot module {} KiB at {:#x}",
        ram.iter().map(|r| r.end - r.start).sum::<u64>() >> 20,
        max_pfn,
        module.size >> 10,
        module.paddr
    );

    // Boot allocations.
    let mut ba = BootAlloc { ram: &ram, reserved: &reserved, cursor: 0x10_0000, given: Ranges::default() };
    let ft_pages = (max_pfn * 16).div_ceil(4096);
    let ft_pa = ba.alloc(ft_pages);
    let m2p_pages = (max_pfn * 8).div_ceil(4096);
    let m2p_pa = ba.alloc(m2p_pages);
    let total_ram: u64 = ram.iter().map(|r| r.end - r.start).sum();
    let heap_size = (total_ram / 16).clamp(4 << 20, 64 << 20);
    let heap_pa = ba.alloc(heap_size / 4096);
    let zero_page = ba.alloc(1);
    let gdt_page = ba.alloc(1);
    let l4_pa = ba.alloc(1);

    // The hypervisor's page tables.
    // SAFETY: the early direct map reaches every frame the boot allocator gives.
    let mut early_phys = unsafe { PhysMem::new(DIRECTMAP_VIRT_START as *mut u8, 1 << 20) };
    let l4 = Mfn(l4_pa >> 12);
    {
        let mut alloc_pt = || Mfn(ba.alloc(1) >> 12);
        let mut m = Mapper { phys: &mut early_phys, alloc: &mut alloc_pt };
        let g = pte::GLOBAL;
        // SAFETY: linker symbols; only their addresses are used.
        let (img, text_end, ro, ro_end, data, end) = unsafe {
            (
                sym(&__image_start),
                sym(&__text_end),
                sym(&__rodata_start),
                sym(&__rodata_end),
                sym(&__data_start),
                sym(&__image_end),
            )
        };
        let pa = |va: u64| va - XEN_VIRT_START + XEN_PHYS_START;
        m.map_range(l4, img, pa(img), (text_end - img + 0xfff) & !0xfff, g, false);
        m.map_range(l4, ro, pa(ro), (ro_end - ro + 0xfff) & !0xfff, g | pte::NX, false);
        m.map_range(l4, data, pa(data), end - data, g | pte::RW | pte::NX, false);
        for r in ram.iter() {
            let mut a = r.start & !0x1f_ffff;
            while a < r.end {
                if m.lookup(l4, DIRECTMAP_VIRT_START + a).is_none() {
                    m.map(l4, DIRECTMAP_VIRT_START + a, a, 2, g | pte::RW | pte::NX, false);
                }
                a += 0x20_0000;
            }
        }
        m.map_range(l4, RO_MPT_VIRT_START, m2p_pa, m2p_pages * 4096, g | pte::USER | pte::NX, true);
        m.map_range(l4, RDWR_MPT_VIRT_START, m2p_pa, m2p_pages * 4096, g | pte::RW | pte::NX, false);
        for p in 0..14 {
            m.map(l4, GDT_VIRT_START + p * 4096, zero_page, 1, pte::NX, false);
        }
        m.map(l4, GDT_VIRT_START + 14 * 4096, gdt_page, 1, pte::RW | pte::NX, false);
        // The local APIC, uncached.
        let apic = super::apic::phys_base();
        m.map(l4, APIC_VIRT, apic, 1, g | pte::RW | pte::PCD | pte::PWT | pte::NX, false);
    }
    // SAFETY: the new tables map the image, stack and direct map exactly
    // as the code currently running expects.
    unsafe {
        let mut cr4 = cpu::cr4() | (1 << 7); // PGE
        if cpu::cpuid(7, 0)[1] & (1 << 7) != 0 {
            cr4 |= 1 << 20; // SMEP: never execute guest pages in ring 0
        }
        cpu::write_cr3(l4_pa);
        cpu::write_cr4(cr4);
    }

    // SAFETY: the direct map now covers all RAM up to max_pa.
    let phys = unsafe { PhysMem::new(DIRECTMAP_VIRT_START as *mut u8, max_pfn) };
    // SAFETY: the heap range came from the boot allocator and is mapped.
    unsafe { heap::init((DIRECTMAP_VIRT_START + heap_pa) as *mut u8, heap_size as usize) };

    // The frame table: RAM not reserved or used at boot becomes free.
    // SAFETY: boot-allocated, mapped, exclusively ours.
    let pages: &'static mut [PageInfo] =
        unsafe { core::slice::from_raw_parts_mut((DIRECTMAP_VIRT_START + ft_pa) as *mut PageInfo, max_pfn as usize) };
    let mut frames = FrameTable::new(pages);
    // I/O memory exists up to the CPU's physical address width.
    let paddr_bits = match cpu::cpuid(0x8000_0000, 0)[0] >= 0x8000_0008 {
        true => (cpu::cpuid(0x8000_0008, 0)[0] & 0xff).clamp(32, 52) as u64,
        false => 36,
    };
    frames.max_io_mfn = 1 << (paddr_bits - 12);
    for r in ram.r[..ram.n].iter().rev() {
        for pfn in (r.start / 4096..r.end / 4096).rev() {
            let pa = pfn * 4096;
            if ba.given.contains_page(pa) || reserved.contains_page(pa) {
                continue;
            }
            let _ = frames.release_reserved(Mfn(pfn));
        }
    }
    for g in ba.given.iter() {
        for pfn in g.start / 4096..g.end / 4096 {
            let _ = frames.claim_reserved(Mfn(pfn));
        }
    }
    // The image is the hypervisor's too.
    // SAFETY: linker symbol address only.
    let img_end_pa = XEN_PHYS_START + (sym(unsafe { &__image_end }) - XEN_VIRT_START);
    for pfn in 0x100..img_end_pa / 4096 {
        let _ = frames.claim_reserved(Mfn(pfn));
    }
    // SAFETY: boot-allocated and mapped read-write at RDWR_MPT_VIRT_START.
    let m2p = M2p::new(unsafe { core::slice::from_raw_parts_mut(RDWR_MPT_VIRT_START as *mut u64, max_pfn as usize) });

    // SAFETY: once, with the GDT page mapped and reachable at its direct-map address.
    unsafe { descriptors::init((DIRECTMAP_VIRT_START + gdt_page) as *mut u64) };
    mask_pic();
    super::serial::Serial::enable_rx_irq();

    // Time: the TSC and the APIC timer measured against the PIT; the
    // wallclock from the RTC.
    let (tsc_hz, apic_hz) = match super::apic::init_and_calibrate() {
        Some(f) => (f.tsc_hz, f.apic_hz),
        None => {
            log::warn!("no PIT: assuming a 1 GHz TSC and APIC timer");
            (1_000_000_000, 1_000_000_000)
        }
    };
    let clock = crate::common::time::Clock::new(tsc_hz, cpu::rdtsc(), super::rtc::unix_seconds());
    log::info!(
        "TSC {}.{:03} MHz, APIC timer {}.{:03} MHz, wallclock {} s since the epoch",
        tsc_hz / 1_000_000,
        tsc_hz / 1000 % 1000,
        apic_hz / 1_000_000,
        apic_hz / 1000 % 1000,
        clock.wc_sec
    );

    let stats = frames.stats();
    log::info!(
        "Frames: {} total, {} free, {} hypervisor, {} reserved; heap {} MiB",
        stats.total,
        stats.free,
        stats.hypervisor,
        stats.reserved,
        heap_size >> 20
    );

    // The L1 that maps the per-CPU GDT/LDT area (created by the mapper above).
    let percpu_l1 = {
        let mut t = l4;
        for level in [4u8, 3, 2] {
            t = pte::mfn(phys.read_u64(t, super::paging::index(GDT_VIRT_START, level)));
        }
        t
    };
    *HV.lock() = Some(Hv {
        phys,
        frames,
        m2p,
        domains: Domains::default(),
        current: None,
        exit: None,
        cmdline: String::from(cmdline_str),
        hw: &super::hw::HW,
        arch: pv::ArchHv {
            idle_l4: l4,
            percpu_l1,
            zero_page: Mfn(zero_page >> 12),
            gdt_hv_page: Mfn(gdt_page >> 12),
            m2p_start: Mfn(m2p_pa >> 12),
            m2p_frames: m2p_pages,
            e820: e820[..n820].to_vec(),
            apic_hz,
            timer_armed: 0,
        },
        clock,
        sched: Default::default(),
    });

    match cmdline.selftest {
        Some("panic") => panic!("selftest: deliberate hypervisor panic"),
        // SAFETY: deliberately reads an unmapped hypervisor address to
        // exercise the fatal-exception path.
        Some("fault") => unsafe {
            core::ptr::read_volatile(0xffff_8100_dead_0000 as *const u64);
        },
        _ => {}
    }

    // The first domain.
    // SAFETY: the module is reserved RAM, mapped by the direct map.
    let module_bytes: &'static [u8] = unsafe {
        core::slice::from_raw_parts((DIRECTMAP_VIRT_START + module.paddr) as *const u8, module.size as usize)
    };
    let (path, privileged, id) = match cmdline.single_guest {
        Some(p) => (p, false, DomId(1)),
        None => (cmdline.dom0_path, true, DomId::DOM0),
    };
    let img = match dom0::find_kernel(module_bytes, path) {
        Ok(i) => i,
        Err(e) => boot_fail(format_args!("{e}")),
    };
    let args = match cmdline.dom0_args {
        Some(a) => a,
        // SAFETY: boot runs once; nothing else uses the buffer.
        None => read_cstr(module.cmdline_paddr, unsafe { &mut *core::ptr::addr_of_mut!(DOM0_CMDLINE) }),
    };
    let mut args_buf = String::from(args);
    args_buf = args_buf.replace('+', " ");
    build_and_enter(
        &img,
        &FirstDomain {
            id,
            privileged,
            mem: dom0::dom0_mem(&cmdline),
            vcpus: cmdline.dom0_max_vcpus,
            cmdline: &args_buf,
            // What the builder checks a kernel's required features against:
            // writable page tables are always provided to PV guests.
            host_features: crate::common::hypercall::features_for(privileged)
                | (1 << pv_abi::abi::features::XENFEAT_writable_page_tables),
        },
        Range { start: module.paddr & !0xfff, end: (module.paddr + module.size + 0xfff) & !0xfff },
    )
}

fn mask_pic() {
    // Remap the 8259s to vectors 0x20..0x2f (away from exceptions), then
    // mask every line: the hypervisor uses the local APIC.
    for (port, v) in [
        (0x20, 0x11),
        (0xa0, 0x11),
        (0x21, 0x20),
        (0xa1, 0x28),
        (0x21, 4),
        (0xa1, 2),
        (0x21, 1),
        (0xa1, 1),
        // Only IRQ 4 (COM1, console input for dom0).
        (0x21, 0xef),
        (0xa1, 0xff),
    ] {
        outb(port, v);
    }
}

fn build_and_enter(img: &BootImage<'_>, p: &FirstDomain<'_>, module: Range) -> ! {
    let mut guard = HV.lock();
    let hv = guard.as_mut().expect("state");
    let (built, p2m) = match dom0::build_first_domain(hv, img, p) {
        Ok(b) => b,
        Err(e) => boot_fail(format_args!("building d{}: {e}", p.id.0)),
    };
    if let Some(pfn) = built.hypercall_page_pfn {
        hv.phys.write(p2m[pfn as usize], 0, &pv::hypercall_page());
    }
    // Start-of-day page tables: the L4 is pinned (validating the whole
    // tree and installing the hypervisor's slots) and referenced as CR3,
    // exactly as a guest's own MMUEXT_PIN_L4_TABLE + NEW_BASEPTR would.
    let l4 = p2m[built.l4_pfn as usize];
    {
        let mut m = Mm::of(hv, p.id);
        for _ in 0..2 {
            if let Err(e) = m.get_page_and_type(l4, p.id, PageType::L4) {
                boot_fail(format_args!("d{}: the builder's page tables failed validation ({e:?})", p.id.0));
            }
        }
        let pi = m.frames.get_mut(l4).expect("own frame");
        pi.set_flags(pi.flags() | PageFlags::PINNED);
    }
    // The module was copied into the domain; its frames are free now.
    for pfn in module.start / 4096..module.end / 4096 {
        let _ = hv.frames.release_reserved(Mfn(pfn));
    }
    log::info!(
        "d{}: {} MiB, entry {:#x}, start_info {:#x}, {} page-table frames; {} frames free",
        p.id.0,
        p.mem >> 20,
        built.entry,
        built.start_info_va,
        built.pt_frames.len(),
        hv.frames.stats().free
    );
    // SAFETY: the guest frame slot at the top of the stack is not in use
    // (boot runs below it) and becomes the frame the exit path pops.
    let regs = unsafe { &mut *(entry::guest_frame_addr() as *mut CpuUserRegs) };
    traps::switch_to(hv, regs, (p.id, 0));
    drop(guard);
    // SAFETY: the frame, CR3 and FPU pointer describe the new vCPU.
    unsafe { entry::hv_exit_to_guest() }
}
