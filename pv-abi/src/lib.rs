//! # pv-abi: Xen's public x86_64 PV ABI, and the guest library on top of it
//!
//! This crate is what PV kernels are built against, and what the hypervisor
//! and dom0 use for every structure they share with a guest. It owns:
//!
//! - [`abi`]: the raw ABI, bit for bit as in Xen 4.17's public headers,
//!   one module per header, each type `#[repr(C)]` with compile-time layout
//!   assertions and a conformance test against the real headers;
//! - [`types`]: newtypes (`Mfn`, `Pfn`, `DomId`, `Port`, `GrantRef`);
//! - [`hypercall`] (feature `guest`): the hypercall page, its ELF note and
//!   typed wrappers, for PV kernels only;
//! - [`kernel`] (feature `guest`): the start-of-day entry and ELF notes
//!   every PV kernel needs;
//! - [`qemu_exit`]: the exit-code protocol between this project's
//!   binaries and its QEMU test harness.
//!
//! It must never: allocate (it is `no_std` without `alloc` unless `std`),
//! depend on the hypervisor, or redeclare a type another module owns.
#![cfg_attr(not(feature = "std"), no_std)]

pub mod abi;
pub mod qemu_exit;
pub mod ring;
pub mod types;
pub mod xenbus;
pub mod xenstore;

#[cfg(feature = "guest")]
pub mod hypercall;
#[cfg(feature = "guest")]
pub mod kernel;

pub use abi::errno::Errno;
pub use types::{DomId, GrantRef, Gfn, Mfn, Pfn, Port, PAGE_SHIFT, PAGE_SIZE};
