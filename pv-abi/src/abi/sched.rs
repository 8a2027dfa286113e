//! `sched.h`: `sched_op` sub-commands, their arguments and shutdown reasons.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Voluntarily yield the CPU; no argument.
pub const SCHEDOP_yield: u32 = 0;
/// Block until an event is pending; no argument.
pub const SCHEDOP_block: u32 = 1;
/// Halt the calling domain; argument [`SchedShutdown`].
pub const SCHEDOP_shutdown: u32 = 2;
/// Block until one of a set of ports is pending; argument [`SchedPoll`].
pub const SCHEDOP_poll: u32 = 3;
/// Shut down another domain (privileged); argument [`SchedRemoteShutdown`].
pub const SCHEDOP_remote_shutdown: u32 = 4;
/// Latch a shutdown code without shutting down; argument [`SchedShutdown`].
pub const SCHEDOP_shutdown_code: u32 = 5;
/// Set up a watchdog; argument [`SchedWatchdog`].
pub const SCHEDOP_watchdog: u32 = 6;
/// Override the pinning of the calling vCPU; argument [`SchedPinOverride`].
pub const SCHEDOP_pin_override: u32 = 7;

/// Domain exited normally. Clean up and kill.
pub const SHUTDOWN_poweroff: u32 = 0;
/// Clean up, kill, and then restart.
pub const SHUTDOWN_reboot: u32 = 1;
/// Clean up, save suspend info, kill.
pub const SHUTDOWN_suspend: u32 = 2;
/// Tell the controller we've crashed.
pub const SHUTDOWN_crash: u32 = 3;
/// Restart because the watchdog expired.
pub const SHUTDOWN_watchdog: u32 = 4;
/// Soft reset: keep memory, rebuild.
pub const SHUTDOWN_soft_reset: u32 = 5;
/// Maximum valid shutdown reason.
pub const SHUTDOWN_MAX: u32 = 5;

/// `struct sched_shutdown`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SchedShutdown {
    /// `SHUTDOWN_*`.
    pub reason: u32,
}
assert_layout!(SchedShutdown, size = 4, reason @ 0);

/// `struct sched_poll`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SchedPoll {
    /// Guest handle of an `evtchn_port_t` array.
    pub ports: u64,
    /// Number of ports.
    pub nr_ports: u32,
    /// Padding.
    pub _pad: u32,
    /// Absolute system time to time out at (0: none).
    pub timeout: u64,
}
assert_layout!(SchedPoll, size = 24, ports @ 0, nr_ports @ 8, timeout @ 16);

/// `struct sched_remote_shutdown`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SchedRemoteShutdown {
    /// Remote domain id.
    pub domain_id: u16,
    /// Padding.
    pub _pad: u16,
    /// `SHUTDOWN_*`.
    pub reason: u32,
}
assert_layout!(SchedRemoteShutdown, size = 8, domain_id @ 0, reason @ 4);

/// `struct sched_watchdog`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SchedWatchdog {
    /// Watchdog id (0: new).
    pub id: u32,
    /// Timeout in seconds (0: destroy).
    pub timeout: u32,
}
assert_layout!(SchedWatchdog, size = 8, id @ 0, timeout @ 4);

/// `struct sched_pin_override`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SchedPinOverride {
    /// Physical CPU, or -1 to remove the override.
    pub pcpu: i32,
}
assert_layout!(SchedPinOverride, size = 4, pcpu @ 0);
