//! # The hypervisor
//!
//! A Xen-compatible type-1 hypervisor for x86_64 PV guests. This library
//! holds all of it; `main.rs` only links it into the bare-metal binary.
//!
//! - [`common`]: arch-neutral logic (state, domains, frame table,
//!   hypercall dispatch, console), host-testable.
//! - [`arch`]: x86_64 boot, descriptor tables, entry/exit, paging, PV CPU
//!   and MMU. Modules with assembly are built only into the binary.
//!
//! `unsafe` lives in: `arch::x86_64::{entry, cpu, descriptors, boot,
//! traps, guest_access, heap}` (hardware and entry paths) and
//! `common::phys` (frame access); see `docs/unsafe.md`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arch;
pub mod common;
