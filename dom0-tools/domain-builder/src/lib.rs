//! # domain-builder: building x86_64 PV domains
//!
//! The one implementation of "turn a PV kernel ELF into a runnable domain",
//! shared by the hypervisor (which builds dom0 at boot) and the dom0
//! toolstack (which builds domUs through foreign mappings):
//!
//! - [`elf`]: parse the kernel's ELF64 image and its Xen ELF notes
//!   (`ENTRY`, `HYPERCALL_PAGE`, `VIRT_BASE`, `PADDR_OFFSET`, `FEATURES`,
//!   `SUPPORTED_FEATURES`, ...) into checked [`elf::KernelParams`];
//! - [`layout`]: compute Xen's start-of-day virtual layout (the
//!   "Start-of-day memory layout" comment in `xen.h`): kernel, initrd,
//!   P2M list, `start_info`, xenstore and console pages, bootstrap page
//!   tables, boot stack;
//! - [`build`]: write all of it into the domain's memory through the
//!   [`build::DomainMemory`] trait, so the caller decides how frames are
//!   reached (hypervisor direct map, or dom0 foreign mappings);
//! - [`archive`]: the boot archive (cpio "newc") that carries dom0's
//!   kernel, the guest kernels and their configs.
//!
//! Everything here is pure logic, tested on the host. It never touches
//! hardware and never trusts its input: a malformed kernel or archive is
//! an error, never a panic.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod archive;
pub mod build;
pub mod elf;
pub mod layout;
