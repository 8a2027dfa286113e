//! # dom0: the host-testable part
//!
//! The dom0 kernel (`src/main.rs`) is a bare-metal PV kernel; the logic
//! here is pure, has no `unsafe` code and is tested on the host:
//!
//! - [`bzimage`]: unpacking the ELF kernel from an x86 boot image (xz);
//! - [`cmdline`]: dom0's `key=value` command line, and how the real-Xen
//!   variant finds its own options inside Xen's command line;
//! - [`conback`]: the console back-end's ring arithmetic, line assembly
//!   (what it prints as `[dN] <line>`) and per-domain console history;
//! - [`lineedit`]: the dom0 shell's line editor and word splitting;
//! - [`paths`]: dom0's read-only file tree (the boot archive as `/`).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod bzimage;
pub mod cmdline;
pub mod conback;
pub mod lineedit;
pub mod paths;
