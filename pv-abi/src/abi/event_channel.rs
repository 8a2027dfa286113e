//! `event_channel.h`: `event_channel_op` sub-commands (`EVTCHNOP_*`), their
//! argument structures, and the 2-level and FIFO event ABIs.
//!
//! Event channels are Xen's virtual interrupts: an event is one bit of
//! information, signalled by a 0->1 transition of a port's PENDING bit. The
//! 2-level ABI keeps those bits in `shared_info` (`evtchn_pending`,
//! `evtchn_mask`) and `vcpu_info`; the FIFO ABI uses guest-provided pages.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use crate::abi::xen::EVTCHN_2L_NR_CHANNELS;

/// `evtchn_port_t`: an event-channel port number.
pub type EvtchnPort = u32;

// ---- Sub-commands (`enum event_channel_op`) --------------------------------

/// Bind to a port of a remote domain; [`EvtchnBindInterdomain`].
pub const EVTCHNOP_bind_interdomain: u32 = 0;
/// Bind to a VIRQ; [`EvtchnBindVirq`].
pub const EVTCHNOP_bind_virq: u32 = 1;
/// Bind to a physical IRQ; [`EvtchnBindPirq`].
pub const EVTCHNOP_bind_pirq: u32 = 2;
/// Close a port; [`EvtchnClose`].
pub const EVTCHNOP_close: u32 = 3;
/// Notify the remote end; [`EvtchnSend`].
pub const EVTCHNOP_send: u32 = 4;
/// Query a port; [`EvtchnStatus`].
pub const EVTCHNOP_status: u32 = 5;
/// Allocate a port for a later interdomain bind; [`EvtchnAllocUnbound`].
pub const EVTCHNOP_alloc_unbound: u32 = 6;
/// Bind an IPI port; [`EvtchnBindIpi`].
pub const EVTCHNOP_bind_ipi: u32 = 7;
/// Choose which vCPU a port notifies; [`EvtchnBindVcpu`].
pub const EVTCHNOP_bind_vcpu: u32 = 8;
/// Unmask a port (and deliver a pending event); [`EvtchnUnmask`].
pub const EVTCHNOP_unmask: u32 = 9;
/// Close every port of a domain; [`EvtchnReset`].
pub const EVTCHNOP_reset: u32 = 10;
/// Initialise the FIFO ABI control block; [`EvtchnInitControl`].
pub const EVTCHNOP_init_control: u32 = 11;
/// Add a page to the FIFO event array; [`EvtchnExpandArray`].
pub const EVTCHNOP_expand_array: u32 = 12;
/// Set a port's FIFO priority; [`EvtchnSetPriority`].
pub const EVTCHNOP_set_priority: u32 = 13;

// ---- Argument structures ---------------------------------------------------

/// `struct evtchn_alloc_unbound` (`EVTCHNOP_alloc_unbound`): allocate a
/// port in domain `dom` and mark it as accepting interdomain bindings from
/// `remote_dom`. If the caller is unprivileged `dom` must be `DOMID_SELF`;
/// `remote_dom` may be `DOMID_SELF` (loopback).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnAllocUnbound {
    /// IN: the domain to allocate the port in.
    pub dom: u16,
    /// IN: the domain allowed to bind to it.
    pub remote_dom: u16,
    /// OUT: the new port.
    pub port: u32,
}
assert_layout!(EvtchnAllocUnbound, size = 8, dom @ 0, remote_dom @ 2, port @ 4);

/// `struct evtchn_bind_interdomain` (`EVTCHNOP_bind_interdomain`): connect
/// to `<remote_dom, remote_port>`, which must be unbound and accept the
/// caller; the new local port is always set pending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnBindInterdomain {
    /// IN: remote domain (may be `DOMID_SELF`).
    pub remote_dom: u16,
    /// Padding (implicit in C).
    pub _pad: u16,
    /// IN: remote port.
    pub remote_port: u32,
    /// OUT: the new local port.
    pub local_port: u32,
}
assert_layout!(EvtchnBindInterdomain, size = 12, remote_dom @ 0, _pad @ 2, remote_port @ 4,
    local_port @ 8);

/// `struct evtchn_bind_virq` (`EVTCHNOP_bind_virq`): bind a port to VIRQ
/// `virq` on vCPU `vcpu`. Global VIRQs must be bound on vCPU 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnBindVirq {
    /// IN: `VIRQ_*`.
    pub virq: u32,
    /// IN: vCPU to notify.
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: u32,
}
assert_layout!(EvtchnBindVirq, size = 12, virq @ 0, vcpu @ 4, port @ 8);

/// `BIND_PIRQ__WILL_SHARE`: the PIRQ may be shared with other domains.
pub const BIND_PIRQ__WILL_SHARE: u32 = 1;

/// `struct evtchn_bind_pirq` (`EVTCHNOP_bind_pirq`): bind a port to a
/// physical IRQ (privileged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnBindPirq {
    /// IN: the PIRQ.
    pub pirq: u32,
    /// IN: `BIND_PIRQ__*`.
    pub flags: u32,
    /// OUT: the new port.
    pub port: u32,
}
assert_layout!(EvtchnBindPirq, size = 12, pirq @ 0, flags @ 4, port @ 8);

/// `struct evtchn_bind_ipi` (`EVTCHNOP_bind_ipi`): a port for IPIs to `vcpu`
/// (the binding cannot be changed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnBindIpi {
    /// IN: vCPU to notify.
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: u32,
}
assert_layout!(EvtchnBindIpi, size = 8, vcpu @ 0, port @ 4);

/// `struct evtchn_close` (`EVTCHNOP_close`): close a local port; the remote
/// end of an interdomain channel becomes unbound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnClose {
    /// IN: the local port.
    pub port: u32,
}
assert_layout!(EvtchnClose, size = 4, port @ 0);

/// `struct evtchn_send` (`EVTCHNOP_send`): send an event to the remote end
/// of the channel whose local end is `port`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnSend {
    /// IN: the local port.
    pub port: u32,
}
assert_layout!(EvtchnSend, size = 4, port @ 0);

/// `EVTCHNSTAT_closed`: channel is not in use.
pub const EVTCHNSTAT_closed: u32 = 0;
/// `EVTCHNSTAT_unbound`: channel is waiting for an interdomain connection.
pub const EVTCHNSTAT_unbound: u32 = 1;
/// `EVTCHNSTAT_interdomain`: channel is connected to a remote domain.
pub const EVTCHNSTAT_interdomain: u32 = 2;
/// `EVTCHNSTAT_pirq`: channel is bound to a physical IRQ line.
pub const EVTCHNSTAT_pirq: u32 = 3;
/// `EVTCHNSTAT_virq`: channel is bound to a virtual IRQ line.
pub const EVTCHNSTAT_virq: u32 = 4;
/// `EVTCHNSTAT_ipi`: channel is bound to a virtual IPI line.
pub const EVTCHNSTAT_ipi: u32 = 5;

/// `struct evtchn_status` (`EVTCHNOP_status`): the state of `<dom, port>`
/// (`dom` may be `DOMID_SELF`; others need privilege).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnStatus {
    /// IN: domain.
    pub dom: u16,
    /// Padding (implicit in C).
    pub _pad: u16,
    /// IN: port.
    pub port: u32,
    /// OUT: `EVTCHNSTAT_*`.
    pub status: u32,
    /// OUT: vCPU to which this channel is bound.
    pub vcpu: u32,
    /// OUT: details, by `status`.
    pub u: EvtchnStatusU,
}
assert_layout!(EvtchnStatus, size = 24, dom @ 0, _pad @ 2, port @ 4, status @ 8, vcpu @ 12,
    u @ 16);

/// The union `evtchn_status.u` (storage; see the accessors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnStatusU {
    /// The union's bytes.
    pub raw: [u32; 2],
}
assert_layout!(EvtchnStatusU, size = 8, raw @ 0);

impl EvtchnStatusU {
    /// `u.unbound` (`EVTCHNSTAT_unbound`).
    pub fn unbound(&self) -> EvtchnStatusUnbound {
        crate::abi::union_get(self)
    }
    /// Makes `u.unbound` the active member.
    pub fn set_unbound(&mut self, v: &EvtchnStatusUnbound) {
        crate::abi::union_set(self, v)
    }
    /// `u.interdomain` (`EVTCHNSTAT_interdomain`).
    pub fn interdomain(&self) -> EvtchnStatusInterdomain {
        crate::abi::union_get(self)
    }
    /// Makes `u.interdomain` the active member.
    pub fn set_interdomain(&mut self, v: &EvtchnStatusInterdomain) {
        crate::abi::union_set(self, v)
    }
    /// `u.pirq` (`EVTCHNSTAT_pirq`).
    pub fn pirq(&self) -> u32 {
        crate::abi::union_get(self)
    }
    /// Makes `u.pirq` the active member.
    pub fn set_pirq(&mut self, v: u32) {
        crate::abi::union_set(self, &v)
    }
    /// `u.virq` (`EVTCHNSTAT_virq`).
    pub fn virq(&self) -> u32 {
        crate::abi::union_get(self)
    }
    /// Makes `u.virq` the active member.
    pub fn set_virq(&mut self, v: u32) {
        crate::abi::union_set(self, &v)
    }
}

/// `evtchn_status.u.unbound`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnStatusUnbound {
    /// The domain allowed to bind.
    pub dom: u16,
}
assert_layout!(EvtchnStatusUnbound, size = 2, dom @ 0);

/// `evtchn_status.u.interdomain`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnStatusInterdomain {
    /// The remote domain.
    pub dom: u16,
    /// Padding (implicit in C).
    pub _pad: u16,
    /// The remote port.
    pub port: u32,
}
assert_layout!(EvtchnStatusInterdomain, size = 8, dom @ 0, _pad @ 2, port @ 4);

/// `struct evtchn_bind_vcpu` (`EVTCHNOP_bind_vcpu`): choose the vCPU a port
/// notifies (not for IPI and per-vCPU VIRQ ports; others default to vCPU 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnBindVcpu {
    /// IN: port.
    pub port: u32,
    /// IN: vCPU.
    pub vcpu: u32,
}
assert_layout!(EvtchnBindVcpu, size = 8, port @ 0, vcpu @ 4);

/// `struct evtchn_unmask` (`EVTCHNOP_unmask`): unmask a local port and
/// deliver a notification if an event is pending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnUnmask {
    /// IN: port.
    pub port: u32,
}
assert_layout!(EvtchnUnmask, size = 4, port @ 0);

/// `struct evtchn_reset` (`EVTCHNOP_reset`): close all event channels of
/// `dom` (and fall back to the 2-level ABI for `DOMID_SELF`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnReset {
    /// IN: domain (may be `DOMID_SELF`).
    pub dom: u16,
}
assert_layout!(EvtchnReset, size = 2, dom @ 0);

/// `struct evtchn_init_control` (`EVTCHNOP_init_control`): initialise the
/// FIFO control block of `vcpu`. Pending events are lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnInitControl {
    /// IN: frame of the control block.
    pub control_gfn: u64,
    /// IN: offset of the control block in the frame.
    pub offset: u32,
    /// IN: vCPU.
    pub vcpu: u32,
    /// OUT: number of link bits (`EVTCHN_FIFO_LINK_BITS`).
    pub link_bits: u8,
    /// Padding.
    pub _pad: [u8; 7],
}
assert_layout!(EvtchnInitControl, size = 24, control_gfn @ 0, offset @ 8, vcpu @ 12,
    link_bits @ 16, _pad @ 17);

/// `struct evtchn_expand_array` (`EVTCHNOP_expand_array`): add a page to
/// the FIFO event array.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnExpandArray {
    /// IN: frame of the new page.
    pub array_gfn: u64,
}
assert_layout!(EvtchnExpandArray, size = 8, array_gfn @ 0);

/// `struct evtchn_set_priority` (`EVTCHNOP_set_priority`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnSetPriority {
    /// IN: port.
    pub port: u32,
    /// IN: priority, `EVTCHN_FIFO_PRIORITY_MAX` (0, highest) to `_MIN` (15).
    pub priority: u32,
}
assert_layout!(EvtchnSetPriority, size = 8, port @ 0, priority @ 4);

// ---- FIFO ABI ---------------------------------------------------------------

/// `EVTCHN_FIFO_PRIORITY_MAX`: the highest priority.
pub const EVTCHN_FIFO_PRIORITY_MAX: u32 = 0;
/// `EVTCHN_FIFO_PRIORITY_DEFAULT`.
pub const EVTCHN_FIFO_PRIORITY_DEFAULT: u32 = 7;
/// `EVTCHN_FIFO_PRIORITY_MIN`: the lowest priority.
pub const EVTCHN_FIFO_PRIORITY_MIN: u32 = 15;
/// `EVTCHN_FIFO_MAX_QUEUES`: one queue per priority.
pub const EVTCHN_FIFO_MAX_QUEUES: usize = EVTCHN_FIFO_PRIORITY_MIN as usize + 1;

/// `event_word_t`: one FIFO event word.
pub type EventWord = u32;

/// `EVTCHN_FIFO_PENDING`: bit number of the PENDING bit in an event word.
pub const EVTCHN_FIFO_PENDING: u32 = 31;
/// `EVTCHN_FIFO_MASKED`: bit number of the MASKED bit.
pub const EVTCHN_FIFO_MASKED: u32 = 30;
/// `EVTCHN_FIFO_LINKED`: bit number of the LINKED bit.
pub const EVTCHN_FIFO_LINKED: u32 = 29;
/// `EVTCHN_FIFO_BUSY`: bit number of the BUSY bit.
pub const EVTCHN_FIFO_BUSY: u32 = 28;
/// `EVTCHN_FIFO_LINK_BITS`: width of the link field.
pub const EVTCHN_FIFO_LINK_BITS: u32 = 17;
/// `EVTCHN_FIFO_LINK_MASK`.
pub const EVTCHN_FIFO_LINK_MASK: u32 = (1 << EVTCHN_FIFO_LINK_BITS) - 1;
/// `EVTCHN_FIFO_NR_CHANNELS`: ports the FIFO ABI can address.
pub const EVTCHN_FIFO_NR_CHANNELS: u32 = 1 << EVTCHN_FIFO_LINK_BITS;

/// `struct evtchn_fifo_control_block`: per-vCPU FIFO queue heads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct EvtchnFifoControlBlock {
    /// Bitmap of queues with events ready.
    pub ready: u32,
    /// Reserved.
    pub _rsvd: u32,
    /// Head port of each priority queue.
    pub head: [u32; EVTCHN_FIFO_MAX_QUEUES],
}
assert_layout!(EvtchnFifoControlBlock, size = 72, ready @ 0, _rsvd @ 4, head @ 8);
