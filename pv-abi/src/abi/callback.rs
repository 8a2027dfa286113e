//! `callback.h`: `callback_op` sub-commands (`CALLBACKOP_*`), callback
//! types (`CALLBACKTYPE_*`) and their argument structures. A 64-bit PV
//! kernel registers its event, failsafe and syscall entry points here.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// x86: callback for event delivery.
pub const CALLBACKTYPE_event: u16 = 0;
/// x86: failsafe callback when guest state cannot be restored by Xen.
pub const CALLBACKTYPE_failsafe: u16 = 1;
/// x86/64 hypervisor: syscall by a 64-bit guest application.
pub const CALLBACKTYPE_syscall: u16 = 2;
/// x86/32 hypervisor only (`supervisor_mode_kernel`); do not use.
pub const CALLBACKTYPE_sysenter_deprecated: u16 = 3;
/// x86: callback for NMI delivery.
pub const CALLBACKTYPE_nmi: u16 = 4;
/// x86: sysenter (64-bit hypervisor: 32-bit guest applications on Intel).
pub const CALLBACKTYPE_sysenter: u16 = 5;
/// x86/64 hypervisor: syscall by a 32-bit guest application on AMD.
pub const CALLBACKTYPE_syscall32: u16 = 7;

/// `_CALLBACKF_mask_events`: bit number of [`CALLBACKF_mask_events`].
pub const _CALLBACKF_mask_events: u16 = 0;
/// Disable event delivery during the callback (ignored for event and NMI
/// callbacks, which always disable it).
pub const CALLBACKF_mask_events: u16 = 1 << _CALLBACKF_mask_events;

/// Register a callback; [`CallbackRegister`].
pub const CALLBACKOP_register: u32 = 0;
/// Unregister a callback; [`CallbackUnregister`]. Not all callbacks can be
/// unregistered (`-EINVAL`).
pub const CALLBACKOP_unregister: u32 = 1;

/// `struct callback_register` (`CALLBACKOP_register`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CallbackRegister {
    /// `CALLBACKTYPE_*`.
    pub ty: u16,
    /// `CALLBACKF_*`.
    pub flags: u16,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// `xen_callback_t`: the entry point's address.
    pub address: u64,
}
assert_layout!(CallbackRegister, size = 16, ty @ 0, flags @ 2, _pad @ 4, address @ 8);

/// `struct callback_unregister` (`CALLBACKOP_unregister`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CallbackUnregister {
    /// `CALLBACKTYPE_*`.
    pub ty: u16,
    /// Unused.
    pub _unused: u16,
}
assert_layout!(CallbackUnregister, size = 4, ty @ 0, _unused @ 2);
