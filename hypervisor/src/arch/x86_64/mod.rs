//! x86_64: boot, descriptor tables, entry/exit, paging, the PV MMU and
//! CPU virtualization.
//!
//! Modules that contain assembly or touch hardware are compiled only into
//! the bare-metal binary (`cfg(not(test))`); the logic they use (page-table
//! entry checks, layouts, trap-frame construction) lives in modules the host
//! tests reach.

pub mod emul;
pub mod layout;
pub mod mm;
pub mod paging;
pub mod pv;

#[cfg(not(test))]
pub mod apic;
#[cfg(not(test))]
pub mod boot;
#[cfg(not(test))]
pub mod cpu;
#[cfg(not(test))]
pub mod descriptors;
#[cfg(not(test))]
pub mod entry;
#[cfg(not(test))]
pub mod guest_access;
#[cfg(not(test))]
pub mod heap;
#[cfg(not(test))]
pub mod hw;
#[cfg(not(test))]
pub mod rtc;
#[cfg(not(test))]
pub mod serial;
#[cfg(not(test))]
pub mod traps;
