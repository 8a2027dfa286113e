//! # dom0: the host-testable part
//!
//! The dom0 kernel (`src/main.rs`) is a bare-metal PV kernel; the logic
//! here is pure, has no `unsafe` code and is tested on the host:
//!
//! - [`cmdline`]: dom0's `key=value` command line, and how the real-Xen
//!   variant finds its own options inside Xen's command line;
//! - [`conback`]: the console back-end's ring arithmetic and line
//!   assembly (what it prints as `[dN] <line>`).
#![cfg_attr(not(test), no_std)]

pub mod cmdline;
pub mod conback;
