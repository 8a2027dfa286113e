//! # pv-abi: Xen's public x86_64 PV ABI, and the guest library on top of it
//!
//! This crate is what PV kernels are built against, and what the hypervisor
//! and dom0 use for every structure they share with a guest. It owns:
//!
//! - [`abi`]: the raw ABI, bit for bit as in Xen 4.17's public headers,
//!   one module per header, each type `#[repr(C)]` with compile-time layout
//!   assertions and a conformance test against the real headers;
//! - [`types`]: newtypes (`Mfn`, `Pfn`, `DomId`, `Port`, `GrantRef`);
//! - [`hypercall`]: typed hypercall wrappers (calls through the hypercall
//!   page; only meaningful inside a PV kernel);
//! - [`kernel`]: the start-of-day entry, hypercall page and ELF notes
//!   every PV kernel declares with `pv_kernel!`;
//! - [`qemu_exit`]: the exit-code protocol between this project's
//!   binaries and its QEMU test harness.
//!
//! It is always `no_std` (host tools use it as is), so a bare-metal binary
//! never pulls in `std` through it whatever features are unified. It must
//! never depend on the hypervisor or redeclare a type another module owns.
#![cfg_attr(not(test), no_std)]

pub mod abi;
pub mod console;
pub mod evtchn;
pub mod gnttab;
pub mod hv;
pub mod qemu_exit;
pub mod ring;
pub mod types;
pub mod xenbus;
pub mod xenstore;

pub mod hypercall;
pub mod kernel;

pub use abi::errno::Errno;
pub use types::{DomId, Gfn, GrantRef, Mfn, Pfn, Port, PAGE_SHIFT, PAGE_SIZE};
