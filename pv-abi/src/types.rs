//! Newtypes for the numbers the ABI passes around, so a frame number can
//! never be confused with a domain id or a port (also in release builds).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

macro_rules! newtype {
    ($(#[$m:meta])* $name:ident($inner:ty)) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
        #[repr(transparent)]
        pub struct $name(pub $inner);

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
    };
}

newtype!(
    /// Machine frame number: a host-physical address >> 12 (`xen_pfn_t` as an MFN).
    Mfn(u64)
);
newtype!(
    /// Pseudo-physical frame number in a PV domain's own contiguous view.
    Pfn(u64)
);
newtype!(
    /// Guest frame number as passed to `memory_op` (for PV, equal to a PFN).
    Gfn(u64)
);
newtype!(
    /// Domain id (`domid_t`, xen.h).
    DomId(u16)
);
newtype!(
    /// Event-channel port (`evtchn_port_t`, event_channel.h).
    Port(u32)
);
newtype!(
    /// Grant reference (`grant_ref_t`, grant_table.h).
    GrantRef(u32)
);

impl Mfn {
    /// Machine address of the frame's first byte.
    pub const fn addr(self) -> u64 {
        self.0 << 12
    }
    /// The frame holding machine address `addr`.
    pub const fn containing(addr: u64) -> Self {
        Mfn(addr >> 12)
    }
}

impl Pfn {
    /// Pseudo-physical address of the frame's first byte.
    pub const fn addr(self) -> u64 {
        self.0 << 12
    }
}

impl DomId {
    /// `DOMID_SELF` (xen.h): the calling domain.
    pub const SELF: DomId = DomId(crate::abi::xen::DOMID_SELF);
    /// `DOMID_IO`: owner of I/O memory.
    pub const IO: DomId = DomId(crate::abi::xen::DOMID_IO);
    /// `DOMID_XEN`: owner of hypervisor frames shared with guests.
    pub const XEN: DomId = DomId(crate::abi::xen::DOMID_XEN);
    /// `DOMID_INVALID`.
    pub const INVALID: DomId = DomId(crate::abi::xen::DOMID_INVALID);
    /// The initial control domain.
    pub const DOM0: DomId = DomId(0);

    /// Whether this is an ordinary domain id (below `DOMID_FIRST_RESERVED`).
    pub const fn is_regular(self) -> bool {
        self.0 < crate::abi::xen::DOMID_FIRST_RESERVED
    }
}

/// Size of a page, and of a frame.
pub const PAGE_SIZE: usize = 4096;
/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;
