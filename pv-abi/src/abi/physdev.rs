//! `physdev.h`: `physdev_op` sub-commands (`PHYSDEVOP_*`) and their
//! argument structures. PV guests use the I/O privilege and IRQ operations
//! (`set_iopl`, `set_iobitmap`, `eoi`, `irq_status_query`,
//! `pirq_eoi_gmfn_v2`); dom0 also the PIRQ mapping and PCI operations.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

// ---- Sub-commands --------------------------------------------------------------

/// Obsolete since interface 0x00030202, unsupported by newer Xen.
pub const PHYSDEVOP_IRQ_UNMASK_NOTIFY: u32 = 4;
/// Query the status of an IRQ line; [`PhysdevIrqStatusQuery`].
pub const PHYSDEVOP_irq_status_query: u32 = 5;
/// Set the current vCPU's I/O privilege level; [`PhysdevSetIopl`].
pub const PHYSDEVOP_set_iopl: u32 = 6;
/// Set the current vCPU's I/O-port bitmap; [`PhysdevSetIobitmap`].
pub const PHYSDEVOP_set_iobitmap: u32 = 7;
/// Read an IO-APIC register; [`PhysdevApic`].
pub const PHYSDEVOP_apic_read: u32 = 8;
/// Write an IO-APIC register; [`PhysdevApic`].
pub const PHYSDEVOP_apic_write: u32 = 9;
/// Allocate a physical upcall vector for an IRQ line; [`PhysdevIrq`].
pub const PHYSDEVOP_alloc_irq_vector: u32 = 10;
/// Free a physical upcall vector; [`PhysdevIrq`].
pub const PHYSDEVOP_free_irq_vector: u32 = 11;
/// Notify end-of-interrupt; [`PhysdevEoi`].
pub const PHYSDEVOP_eoi: u32 = 12;
/// Map a GSI/MSI to a PIRQ; [`PhysdevMapPirq`].
pub const PHYSDEVOP_map_pirq: u32 = 13;
/// Unmap a PIRQ; [`PhysdevUnmapPirq`].
pub const PHYSDEVOP_unmap_pirq: u32 = 14;
/// Announce a PCI device; [`PhysdevManagePci`].
pub const PHYSDEVOP_manage_pci_add: u32 = 15;
/// Remove a PCI device; [`PhysdevManagePci`].
pub const PHYSDEVOP_manage_pci_remove: u32 = 16;
/// Register the PIRQ EOI bitmap page, also changing `PHYSDEVOP_eoi` to
/// unmask the event channel; [`PhysdevPirqEoiGmfn`].
pub const PHYSDEVOP_pirq_eoi_gmfn_v1: u32 = 17;
/// Restore MSI state; [`PhysdevRestoreMsi`].
pub const PHYSDEVOP_restore_msi: u32 = 19;
/// Announce a PCI device with extended information; [`PhysdevManagePciExt`].
pub const PHYSDEVOP_manage_pci_add_ext: u32 = 20;
/// Set up a GSI; [`PhysdevSetupGsi`].
pub const PHYSDEVOP_setup_gsi: u32 = 21;
/// Get a free PIRQ; [`PhysdevGetFreePirq`].
pub const PHYSDEVOP_get_free_pirq: u32 = 23;
/// Report a reserved MMCFG region; [`PhysdevPciMmcfgReserved`].
pub const PHYSDEVOP_pci_mmcfg_reserved: u32 = 24;
/// Add a PCI device; [`PhysdevPciDeviceAdd`].
pub const PHYSDEVOP_pci_device_add: u32 = 25;
/// Remove a PCI device; [`PhysdevPciDevice`].
pub const PHYSDEVOP_pci_device_remove: u32 = 26;
/// Restore MSI state of a device; [`PhysdevPciDevice`].
pub const PHYSDEVOP_restore_msi_ext: u32 = 27;
/// Register the PIRQ EOI bitmap page, keeping `PHYSDEVOP_eoi`'s semantics;
/// [`PhysdevPirqEoiGmfn`].
pub const PHYSDEVOP_pirq_eoi_gmfn_v2: u32 = 28;
/// Debug port operation; [`PhysdevDbgpOp`].
pub const PHYSDEVOP_dbgp_op: u32 = 29;
/// MSI-X MMIO resources of a device won't change; [`PhysdevPciDevice`].
pub const PHYSDEVOP_prepare_msix: u32 = 30;
/// MSI-X MMIO resources of a device may change; [`PhysdevPciDevice`].
pub const PHYSDEVOP_release_msix: u32 = 31;
/// `PHYSDEVOP_pirq_eoi_gmfn` (interface >= 0x00040200): the v2 operation.
pub const PHYSDEVOP_pirq_eoi_gmfn: u32 = PHYSDEVOP_pirq_eoi_gmfn_v2;

// ---- IRQs and I/O privilege ---------------------------------------------------------

/// `struct physdev_eoi` (`PHYSDEVOP_eoi`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevEoi {
    /// IN: the IRQ.
    pub irq: u32,
}
assert_layout!(PhysdevEoi, size = 4, irq @ 0);

/// `struct physdev_pirq_eoi_gmfn` (`PHYSDEVOP_pirq_eoi_gmfn_v1`/`_v2`): a
/// page the hypervisor uses as a bit array, indexed by PIRQ, of "needs EOI".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevPirqEoiGmfn {
    /// IN: the page.
    pub gmfn: u64,
}
assert_layout!(PhysdevPirqEoiGmfn, size = 8, gmfn @ 0);

/// `_XENIRQSTAT_needs_eoi`: bit number of [`XENIRQSTAT_needs_eoi`].
pub const _XENIRQSTAT_needs_eoi: u32 = 0;
/// Call `PHYSDEVOP_eoi` when the IRQ has been serviced.
pub const XENIRQSTAT_needs_eoi: u32 = 1 << _XENIRQSTAT_needs_eoi;
/// `_XENIRQSTAT_shared`: bit number of [`XENIRQSTAT_shared`].
pub const _XENIRQSTAT_shared: u32 = 1;
/// The IRQ is shared by multiple guests.
pub const XENIRQSTAT_shared: u32 = 1 << _XENIRQSTAT_shared;

/// `struct physdev_irq_status_query` (`PHYSDEVOP_irq_status_query`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevIrqStatusQuery {
    /// IN: the IRQ.
    pub irq: u32,
    /// OUT: `XENIRQSTAT_*`.
    pub flags: u32,
}
assert_layout!(PhysdevIrqStatusQuery, size = 8, irq @ 0, flags @ 4);

/// `struct physdev_set_iopl` (`PHYSDEVOP_set_iopl`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevSetIopl {
    /// IN: the I/O privilege level (0-3).
    pub iopl: u32,
}
assert_layout!(PhysdevSetIopl, size = 4, iopl @ 0);

/// `struct physdev_set_iobitmap` (`PHYSDEVOP_set_iobitmap`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevSetIobitmap {
    /// IN: guest handle of the `uint8_t` bitmap (a set bit denies access).
    pub bitmap: u64,
    /// IN: number of ports the bitmap covers.
    pub nr_ports: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
}
assert_layout!(PhysdevSetIobitmap, size = 16, bitmap @ 0, nr_ports @ 8, _pad @ 12);

/// `struct physdev_apic` (`PHYSDEVOP_apic_read`, `PHYSDEVOP_apic_write`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevApic {
    /// IN: physical base of the IO-APIC.
    pub apic_physbase: u64,
    /// IN: register.
    pub reg: u32,
    /// IN (write) or OUT (read): value.
    pub value: u32,
}
assert_layout!(PhysdevApic, size = 16, apic_physbase @ 0, reg @ 8, value @ 12);

/// `struct physdev_irq` (`PHYSDEVOP_alloc_irq_vector`, `_free_irq_vector`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevIrq {
    /// IN: the IRQ.
    pub irq: u32,
    /// IN or OUT: the vector.
    pub vector: u32,
}
assert_layout!(PhysdevIrq, size = 8, irq @ 0, vector @ 4);

// ---- PIRQ mapping ------------------------------------------------------------------

/// `MAP_PIRQ_TYPE_MSI`
pub const MAP_PIRQ_TYPE_MSI: i32 = 0x0;
/// `MAP_PIRQ_TYPE_GSI`
pub const MAP_PIRQ_TYPE_GSI: i32 = 0x1;
/// `MAP_PIRQ_TYPE_UNKNOWN`
pub const MAP_PIRQ_TYPE_UNKNOWN: i32 = 0x2;
/// `MAP_PIRQ_TYPE_MSI_SEG`: MSI with the PCI segment in `bus[31:16]`.
pub const MAP_PIRQ_TYPE_MSI_SEG: i32 = 0x3;
/// `MAP_PIRQ_TYPE_MULTI_MSI`: multi-vector MSI.
pub const MAP_PIRQ_TYPE_MULTI_MSI: i32 = 0x4;

/// `struct physdev_map_pirq` (`PHYSDEVOP_map_pirq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevMapPirq {
    /// The domain.
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad0: u16,
    /// IN: `MAP_PIRQ_TYPE_*`.
    pub ty: i32,
    /// IN: GSI or MSI index (ignored for `MULTI_MSI`).
    pub index: i32,
    /// IN or OUT: the PIRQ.
    pub pirq: i32,
    /// IN: PCI bus (high 16 bits: segment, for `MSI_SEG`/`MULTI_MSI`).
    pub bus: i32,
    /// IN: PCI device/function.
    pub devfn: i32,
    /// IN (also OUT for `MULTI_MSI`): MSI-X entry or vector count.
    pub entry_nr: i32,
    /// Padding (implicit in C).
    pub _pad1: u32,
    /// IN: MSI-X table base.
    pub table_base: u64,
}
assert_layout!(PhysdevMapPirq, size = 40, domid @ 0, _pad0 @ 2, ty @ 4, index @ 8, pirq @ 12,
    bus @ 16, devfn @ 20, entry_nr @ 24, _pad1 @ 28, table_base @ 32);

/// `struct physdev_unmap_pirq` (`PHYSDEVOP_unmap_pirq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevUnmapPirq {
    /// The domain.
    pub domid: u16,
    /// Padding (implicit in C).
    pub _pad: u16,
    /// IN: the PIRQ.
    pub pirq: i32,
}
assert_layout!(PhysdevUnmapPirq, size = 8, domid @ 0, _pad @ 2, pirq @ 4);

/// `struct physdev_setup_gsi` (`PHYSDEVOP_setup_gsi`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevSetupGsi {
    /// IN: the GSI.
    pub gsi: i32,
    /// IN: trigger mode.
    pub triggering: u8,
    /// IN: polarity.
    pub polarity: u8,
    /// Padding (implicit in C).
    pub _pad: u16,
}
assert_layout!(PhysdevSetupGsi, size = 8, gsi @ 0, triggering @ 4, polarity @ 5, _pad @ 6);

/// `struct physdev_get_free_pirq` (`PHYSDEVOP_get_free_pirq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevGetFreePirq {
    /// IN: `MAP_PIRQ_TYPE_GSI` or `MAP_PIRQ_TYPE_MSI`.
    pub ty: i32,
    /// OUT: a free PIRQ.
    pub pirq: u32,
}
assert_layout!(PhysdevGetFreePirq, size = 8, ty @ 0, pirq @ 4);

// ---- PCI -----------------------------------------------------------------------------

/// `struct physdev_manage_pci` (`PHYSDEVOP_manage_pci_add`, `_remove`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevManagePci {
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
}
assert_layout!(PhysdevManagePci, size = 2, bus @ 0, devfn @ 1);

/// `struct physdev_restore_msi` (`PHYSDEVOP_restore_msi`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevRestoreMsi {
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
}
assert_layout!(PhysdevRestoreMsi, size = 2, bus @ 0, devfn @ 1);

/// The anonymous `physfn` struct of [`PhysdevManagePciExt`] and
/// [`PhysdevPciDeviceAdd`]: the physical function of a virtual function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevPhysfn {
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
}
assert_layout!(PhysdevPhysfn, size = 2, bus @ 0, devfn @ 1);

/// `struct physdev_manage_pci_ext` (`PHYSDEVOP_manage_pci_add_ext`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevManagePciExt {
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
    /// Padding (implicit in C).
    pub _pad0: u16,
    /// IN: is an extended function.
    pub is_extfn: u32,
    /// IN: is a virtual function.
    pub is_virtfn: u32,
    /// IN: its physical function (if `is_virtfn`).
    pub physfn: PhysdevPhysfn,
    /// Padding (implicit in C).
    pub _pad1: u16,
}
assert_layout!(PhysdevManagePciExt, size = 16, bus @ 0, devfn @ 1, _pad0 @ 2, is_extfn @ 4,
    is_virtfn @ 8, physfn @ 12, _pad1 @ 14);

/// `XEN_PCI_MMCFG_RESERVED`: the MMCFG region is reserved.
pub const XEN_PCI_MMCFG_RESERVED: u32 = 0x1;

/// `struct physdev_pci_mmcfg_reserved` (`PHYSDEVOP_pci_mmcfg_reserved`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevPciMmcfgReserved {
    /// Base address.
    pub address: u64,
    /// PCI segment.
    pub segment: u16,
    /// First bus.
    pub start_bus: u8,
    /// Last bus.
    pub end_bus: u8,
    /// `XEN_PCI_MMCFG_*`.
    pub flags: u32,
}
assert_layout!(PhysdevPciMmcfgReserved, size = 16, address @ 0, segment @ 8, start_bus @ 10,
    end_bus @ 11, flags @ 12);

/// `XEN_PCI_DEV_EXTFN`: extended function.
pub const XEN_PCI_DEV_EXTFN: u32 = 0x1;
/// `XEN_PCI_DEV_VIRTFN`: virtual function.
pub const XEN_PCI_DEV_VIRTFN: u32 = 0x2;
/// `XEN_PCI_DEV_PXM`: `optarr[0]` is the device's PXM domain.
pub const XEN_PCI_DEV_PXM: u32 = 0x4;

/// `struct physdev_pci_device_add` (`PHYSDEVOP_pci_device_add`), followed
/// by the optional parameters array `optarr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevPciDeviceAdd {
    /// IN: segment.
    pub seg: u16,
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
    /// IN: `XEN_PCI_DEV_*`.
    pub flags: u32,
    /// IN: the physical function (with `XEN_PCI_DEV_VIRTFN`).
    pub physfn: PhysdevPhysfn,
    /// Padding (implicit in C).
    pub _pad: u16,
    /// Optional parameters (flexible array): `[0]` is the PXM domain if
    /// `XEN_PCI_DEV_PXM`.
    pub optarr: [u32; 0],
}
assert_layout!(PhysdevPciDeviceAdd, size = 12, seg @ 0, bus @ 2, devfn @ 3, flags @ 4,
    physfn @ 8, _pad @ 10, optarr @ 12);

/// `struct physdev_pci_device` (`PHYSDEVOP_pci_device_remove`,
/// `_restore_msi_ext`, `_prepare_msix`, `_release_msix`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevPciDevice {
    /// IN: segment.
    pub seg: u16,
    /// IN: bus.
    pub bus: u8,
    /// IN: device/function.
    pub devfn: u8,
}
assert_layout!(PhysdevPciDevice, size = 4, seg @ 0, bus @ 2, devfn @ 3);

/// `PHYSDEVOP_DBGP_RESET_PREPARE`
pub const PHYSDEVOP_DBGP_RESET_PREPARE: u8 = 1;
/// `PHYSDEVOP_DBGP_RESET_DONE`
pub const PHYSDEVOP_DBGP_RESET_DONE: u8 = 2;
/// `PHYSDEVOP_DBGP_BUS_UNKNOWN`
pub const PHYSDEVOP_DBGP_BUS_UNKNOWN: u8 = 0;
/// `PHYSDEVOP_DBGP_BUS_PCI`
pub const PHYSDEVOP_DBGP_BUS_PCI: u8 = 1;

/// `struct physdev_dbgp_op` (`PHYSDEVOP_dbgp_op`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PhysdevDbgpOp {
    /// IN: `PHYSDEVOP_DBGP_RESET_*`.
    pub op: u8,
    /// IN: `PHYSDEVOP_DBGP_BUS_*`.
    pub bus: u8,
    /// IN: union `u` (its only member is `pci`).
    pub u: PhysdevPciDevice,
}
assert_layout!(PhysdevDbgpOp, size = 6, op @ 0, bus @ 1, u @ 2);
