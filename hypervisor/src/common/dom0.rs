//! Building the first domain from the boot module.
//!
//! The boot module is either a boot archive (cpio newc) holding dom0's
//! kernel at `dom0=<path>` (default `boot/dom0`), which then becomes
//! dom0's initrd as a whole, or a bare PV kernel ELF booted directly (as
//! Xen does with its first module). The same path builds the single guest
//! of "boot one guest" mode, unprivileged.

use crate::common::cmdline::Cmdline;
use crate::common::domain::{Domain, DomainState, VcpuState};
use crate::common::frame::{Owner, PageFlags};
use crate::common::phys::PhysMem;
use crate::common::Hv;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use domain_builder::archive::{self, Archive};
use domain_builder::build::{self, BuildConfig, BuildError, Built, DomainMemory};
use domain_builder::elf::{self, ElfError};
use pv_abi::abi::arch_x86::{FLAT_KERNEL_CS, FLAT_KERNEL_SS};
use pv_abi::abi::xen::{SIF_INITDOMAIN, SIF_PRIVILEGED};
use pv_abi::{DomId, Mfn, Pfn};

/// Default dom0 memory when `dom0_mem=` is not given.
pub const DEFAULT_DOM0_MEM: u64 = 64 << 20;

/// Why the first domain could not be built.
#[derive(Debug)]
pub enum BootError {
    /// The module is neither an archive nor an ELF.
    UnknownModule,
    /// The archive is malformed.
    Archive(archive::ArchiveError),
    /// The archive lacks the kernel.
    NoKernel(String),
    /// The kernel was refused.
    Elf(ElfError),
    /// Building failed.
    Build(BuildError),
    /// Not enough free memory.
    NoMemory {
        /// Bytes wanted.
        want: u64,
        /// Bytes free.
        free: u64,
    },
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::UnknownModule => write!(f, "boot module is neither a boot archive nor an ELF kernel"),
            BootError::Archive(e) => e.fmt(f),
            BootError::NoKernel(p) => write!(f, "boot archive has no file '{p}'"),
            BootError::Elf(e) => e.fmt(f),
            BootError::Build(e) => e.fmt(f),
            BootError::NoMemory { want, free } => {
                write!(f, "not enough memory: asked {} MiB, {} MiB free", want >> 20, free >> 20)
            }
        }
    }
}

/// What to boot, found in the module.
pub struct BootImage<'m> {
    /// Kernel ELF.
    pub kernel: &'m [u8],
    /// Initrd handed to the kernel (the whole archive, or nothing).
    pub ramdisk: &'m [u8],
}

/// Finds the kernel at `path` in `module`.
pub fn find_kernel<'m>(module: &'m [u8], path: &str) -> Result<BootImage<'m>, BootError> {
    if archive::is_archive(module) {
        let a = Archive::new(module).map_err(BootError::Archive)?;
        let kernel = a.file(path).ok_or_else(|| BootError::NoKernel(path.into()))?;
        Ok(BootImage { kernel, ramdisk: module })
    } else if module.starts_with(b"\x7fELF") {
        Ok(BootImage { kernel: module, ramdisk: &[] })
    } else {
        Err(BootError::UnknownModule)
    }
}

/// The builder's view of a domain being built by the hypervisor.
struct HvDomainMemory<'a> {
    phys: &'a mut PhysMem,
    p2m: &'a [Mfn],
}

impl DomainMemory for HvDomainMemory<'_> {
    fn mfn(&self, pfn: u64) -> Mfn {
        self.p2m[pfn as usize]
    }
    fn write(&mut self, pfn: u64, offset: usize, data: &[u8]) -> Result<(), BuildError> {
        let mfn = *self.p2m.get(pfn as usize).ok_or(BuildError::Memory(pfn, "beyond the domain"))?;
        self.phys.write(mfn, offset, data);
        Ok(())
    }
}

/// Allocates a zeroed frame for `owner`.
pub fn alloc_zeroed(hv: &mut Hv, owner: Owner) -> Option<Mfn> {
    let m = hv.frames.alloc(owner)?;
    hv.phys.zero(m);
    Some(m)
}

/// Parameters for [`build_first_domain`].
pub struct FirstDomain<'a> {
    /// The domain id (0 for dom0).
    pub id: DomId,
    /// dom0 (privileged) or the single guest.
    pub privileged: bool,
    /// Memory in bytes.
    pub mem: u64,
    /// vCPUs (only vCPU 0 starts; the kernel brings up the others).
    pub vcpus: u32,
    /// Kernel command line.
    pub cmdline: &'a str,
    /// XENFEAT bits the hypervisor offers.
    pub host_features: u32,
}

/// Builds the first domain: allocates its memory and shared-info page,
/// runs the domain builder, records the M2P, and prepares vCPU 0. Returns
/// the builder's result and the domain's P2M; the arch layer then validates
/// the page tables and fills the hypercall page.
pub fn build_first_domain(
    hv: &mut Hv,
    img: &BootImage<'_>,
    p: &FirstDomain<'_>,
) -> Result<(Built, Vec<Mfn>), BootError> {
    let kernel = elf::parse(img.kernel).map_err(BootError::Elf)?;
    let nr_pages = p.mem / 4096;
    let free = hv.frames.stats().free;
    if nr_pages + 1 > free {
        return Err(BootError::NoMemory { want: p.mem, free: free * 4096 });
    }
    let owner = Owner::Domain(p.id);
    let shared_info = alloc_zeroed(hv, owner).ok_or(BootError::NoMemory { want: p.mem, free: 0 })?;
    if let Some(pi) = hv.frames.get_mut(shared_info) {
        pi.set_flags(PageFlags::XEN_HEAP);
    }
    let mut p2m = Vec::with_capacity(nr_pages as usize);
    for pfn in 0..nr_pages {
        let m = alloc_zeroed(hv, owner).ok_or(BootError::NoMemory { want: p.mem, free: 0 })?;
        hv.m2p.set(m, Some(Pfn(pfn)));
        p2m.push(m);
    }
    let flags = if p.privileged { SIF_PRIVILEGED | SIF_INITDOMAIN } else { 0 };
    let cfg = BuildConfig {
        kernel: &kernel,
        image: img.kernel,
        ramdisk: img.ramdisk,
        nr_pages,
        is_dom0: p.privileged,
        cmdline: p.cmdline,
        shared_info_maddr: shared_info.addr(),
        flags,
        store_evtchn: 0,
        // The single guest's console ring is served by the hypervisor on
        // its first port (allocated below, once the domain exists).
        console_evtchn: if p.privileged { 0 } else { 1 },
        host_features: p.host_features,
    };
    let built = build::build(&mut HvDomainMemory { phys: &mut hv.phys, p2m: &p2m }, &cfg).map_err(BootError::Build)?;

    let mut d = Domain::new(p.id, p.privileged, p.vcpus.max(1), shared_info);
    d.tot_pages = nr_pages;
    d.max_pages = nr_pages;
    d.state = DomainState::Running;
    let v = &mut d.vcpus[0];
    v.state = VcpuState::Runnable;
    v.regs.rip = built.entry;
    v.regs.rsp = built.stack_top;
    v.regs.rsi = built.start_info_va;
    v.regs.cs = FLAT_KERNEL_CS;
    v.regs.ss = FLAT_KERNEL_SS;
    v.regs.rflags = 0x202; // IF (the guest always runs with interrupts on) | bit 1
    v.arch.kernel_mode = true;
    v.arch.cr3_kernel = p2m[built.l4_pfn as usize];
    // Events are masked at start of day, on every vCPU.
    let off = core::mem::offset_of!(pv_abi::abi::xen::VcpuInfo, evtchn_upcall_mask);
    for i in 0..p.vcpus.max(1) as usize {
        hv.phys.write(shared_info, i * 64 + off, &[1]);
    }
    hv.domains.insert(d);
    crate::common::time::update_wallclock(hv, shared_info);
    if let (false, Some(pfn)) = (p.privileged, built.console_pfn) {
        let port = crate::common::event::alloc_hypervisor_port(hv, p.id)
            .map_err(|_| BootError::NoMemory { want: 0, free: 0 })?;
        debug_assert_eq!(port.0, 1);
        if let Some(d) = hv.domains.get_mut(p.id) {
            d.console_ring = Some((p2m[pfn as usize], port.0));
        }
    }
    Ok((built, p2m))
}

/// dom0's memory from the command line: `dom0_mem` (default 64 MiB), not
/// above `max:`.
pub fn dom0_mem(c: &Cmdline<'_>) -> u64 {
    let mut m = c.dom0_mem.unwrap_or(DEFAULT_DOM0_MEM);
    if let Some(max) = c.dom0_mem_max {
        m = m.min(max);
    }
    m & !0xfff
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain_builder::archive::writer::ArchiveWriter;

    #[test]
    fn finds_kernel_in_archive_or_bare() {
        let mut w = ArchiveWriter::new();
        w.file("boot/dom0", b"\x7fELFkernel");
        let a = w.finish();
        let img = find_kernel(&a, "boot/dom0").unwrap();
        assert_eq!(img.kernel, b"\x7fELFkernel");
        assert_eq!(img.ramdisk.len(), a.len());
        assert!(matches!(find_kernel(&a, "boot/x"), Err(BootError::NoKernel(_))));
        let bare = b"\x7fELF....";
        let img = find_kernel(bare, "boot/dom0").unwrap();
        assert_eq!((img.kernel.len(), img.ramdisk.len()), (8, 0));
        assert!(matches!(find_kernel(b"junk", "x"), Err(BootError::UnknownModule)));
        assert!(matches!(find_kernel(&a[..200], "boot/dom0"), Err(BootError::Archive(_))));
    }

    #[test]
    fn dom0_mem_rules() {
        let c = Cmdline::parse("").unwrap();
        assert_eq!(dom0_mem(&c), DEFAULT_DOM0_MEM);
        let c = Cmdline::parse("dom0_mem=32M").unwrap();
        assert_eq!(dom0_mem(&c), 32 << 20);
        let c = Cmdline::parse("dom0_mem=max:16M").unwrap();
        assert_eq!(dom0_mem(&c), 16 << 20);
    }
}
