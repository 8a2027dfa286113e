//! `io/netif.h`: the PV network device protocol: transmit and receive
//! requests and responses, extra-info slots and their rings
//! (`DEFINE_RING_TYPES(netif_tx, ...)`, `DEFINE_RING_TYPES(netif_rx, ...)`),
//! and the optional control ring.
//!
//! Transmit (front end to back end): a packet is a [`NetifTxRequest`] with
//! `NETTXF_*` flags and the total size, optionally followed by
//! [`NetifExtraInfo`] slots (`NETTXF_extra_info`, then
//! `XEN_NETIF_EXTRA_FLAG_MORE`), then further fragments while
//! `NETTXF_more_data` is set. A tx slot is 12 octets.
//!
//! Receive (back end to front end): the front end posts
//! [`NetifRxRequest`]s (granted pages); the back end answers in the same
//! slots with [`NetifRxResponse`]s (`status` negative `NETIF_RSP_*` or the
//! fragment size), possibly followed by extra-info slots. An rx slot is 8
//! octets.
#![allow(non_upper_case_globals)]

use crate::abi::io::ring::const_ring_size;
use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XEN_NETIF_NR_SLOTS_MIN`: slots per packet every back end must accept.
pub const XEN_NETIF_NR_SLOTS_MIN: u32 = 18;
/// `XEN_NETIF_MAX_TX_SIZE`: the largest packet a tx request can describe.
pub const XEN_NETIF_MAX_TX_SIZE: u32 = 0xFFFF;

// ---- Transmit ---------------------------------------------------------------

/// `_NETTXF_csum_blank`: bit number of [`NETTXF_csum_blank`].
pub const _NETTXF_csum_blank: u16 = 0;
/// Protocol checksum field is blank in the packet (hardware offload).
pub const NETTXF_csum_blank: u16 = 1 << _NETTXF_csum_blank;
/// `_NETTXF_data_validated`: bit number of [`NETTXF_data_validated`].
pub const _NETTXF_data_validated: u16 = 1;
/// Packet data has been validated against the protocol checksum.
pub const NETTXF_data_validated: u16 = 1 << _NETTXF_data_validated;
/// `_NETTXF_more_data`: bit number of [`NETTXF_more_data`].
pub const _NETTXF_more_data: u16 = 2;
/// Packet continues in the next request descriptor.
pub const NETTXF_more_data: u16 = 1 << _NETTXF_more_data;
/// `_NETTXF_extra_info`: bit number of [`NETTXF_extra_info`].
pub const _NETTXF_extra_info: u16 = 3;
/// Packet is followed by extra descriptor(s).
pub const NETTXF_extra_info: u16 = 1 << _NETTXF_extra_info;

/// `struct netif_tx_request`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifTxRequest {
    /// Reference to the buffer page.
    pub gref: u32,
    /// Offset within the buffer page.
    pub offset: u16,
    /// `NETTXF_*`.
    pub flags: u16,
    /// Request identifier, echoed in the response.
    pub id: u16,
    /// Packet size in bytes (first fragment: the whole packet).
    pub size: u16,
}
assert_layout!(NetifTxRequest, size = 12, gref @ 0, offset @ 4, flags @ 6, id @ 8, size @ 10);

/// `struct netif_tx_response`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifTxResponse {
    /// The `id` of the transmit request.
    pub id: u16,
    /// `NETIF_RSP_*`.
    pub status: i16,
}
assert_layout!(NetifTxResponse, size = 4, id @ 0, status @ 2);

// ---- Extra info ----------------------------------------------------------------

/// `XEN_NETIF_EXTRA_TYPE_NONE`: never used, invalid.
pub const XEN_NETIF_EXTRA_TYPE_NONE: u8 = 0;
/// `XEN_NETIF_EXTRA_TYPE_GSO`: `u.gso`.
pub const XEN_NETIF_EXTRA_TYPE_GSO: u8 = 1;
/// `XEN_NETIF_EXTRA_TYPE_MCAST_ADD`: `u.mcast`.
pub const XEN_NETIF_EXTRA_TYPE_MCAST_ADD: u8 = 2;
/// `XEN_NETIF_EXTRA_TYPE_MCAST_DEL`: `u.mcast`.
pub const XEN_NETIF_EXTRA_TYPE_MCAST_DEL: u8 = 3;
/// `XEN_NETIF_EXTRA_TYPE_HASH`: `u.hash`.
pub const XEN_NETIF_EXTRA_TYPE_HASH: u8 = 4;
/// `XEN_NETIF_EXTRA_TYPE_MAX`.
pub const XEN_NETIF_EXTRA_TYPE_MAX: u8 = 5;
/// `_XEN_NETIF_EXTRA_FLAG_MORE`: bit number of [`XEN_NETIF_EXTRA_FLAG_MORE`].
pub const _XEN_NETIF_EXTRA_FLAG_MORE: u8 = 0;
/// Another extra-info slot follows.
pub const XEN_NETIF_EXTRA_FLAG_MORE: u8 = 1 << _XEN_NETIF_EXTRA_FLAG_MORE;
/// `XEN_NETIF_GSO_TYPE_NONE`
pub const XEN_NETIF_GSO_TYPE_NONE: u8 = 0;
/// `XEN_NETIF_GSO_TYPE_TCPV4`
pub const XEN_NETIF_GSO_TYPE_TCPV4: u8 = 1;
/// `XEN_NETIF_GSO_TYPE_TCPV6`
pub const XEN_NETIF_GSO_TYPE_TCPV6: u8 = 2;

/// `struct netif_extra_info`: an extra-info slot overlaying a tx request
/// or an rx response (8 octets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifExtraInfo {
    /// `XEN_NETIF_EXTRA_TYPE_*`.
    pub ty: u8,
    /// `XEN_NETIF_EXTRA_FLAG_*`.
    pub flags: u8,
    /// Type-specific data.
    pub u: NetifExtraInfoU,
}
assert_layout!(NetifExtraInfo, size = 8, ty @ 0, flags @ 1, u @ 2);

/// The union `netif_extra_info.u` (storage; see the accessors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifExtraInfoU {
    /// The union's bytes (`pad`).
    pub raw: [u16; 3],
}
assert_layout!(NetifExtraInfoU, size = 6, raw @ 0);

impl NetifExtraInfoU {
    /// `u.gso` (`XEN_NETIF_EXTRA_TYPE_GSO`).
    pub fn gso(&self) -> NetifExtraInfoGso {
        crate::abi::union_get(self)
    }
    /// Makes `u.gso` the active member.
    pub fn set_gso(&mut self, v: &NetifExtraInfoGso) {
        crate::abi::union_set(self, v)
    }
    /// `u.mcast` (`XEN_NETIF_EXTRA_TYPE_MCAST_*`).
    pub fn mcast(&self) -> NetifExtraInfoMcast {
        crate::abi::union_get(self)
    }
    /// Makes `u.mcast` the active member.
    pub fn set_mcast(&mut self, v: &NetifExtraInfoMcast) {
        crate::abi::union_set(self, v)
    }
    /// `u.hash` (`XEN_NETIF_EXTRA_TYPE_HASH`).
    pub fn hash(&self) -> NetifExtraInfoHash {
        crate::abi::union_get(self)
    }
    /// Makes `u.hash` the active member.
    pub fn set_hash(&mut self, v: &NetifExtraInfoHash) {
        crate::abi::union_set(self, v)
    }
}

/// `netif_extra_info.u.gso`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifExtraInfoGso {
    /// Maximum payload size of each segment (for TCP: the path MSS).
    pub size: u16,
    /// `XEN_NETIF_GSO_TYPE_*`.
    pub ty: u8,
    /// Future expansion.
    pub pad: u8,
    /// `XEN_NETIF_GSO_FEAT_*`.
    pub features: u16,
}
assert_layout!(NetifExtraInfoGso, size = 6, size @ 0, ty @ 2, pad @ 3, features @ 4);

/// `netif_extra_info.u.mcast`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifExtraInfoMcast {
    /// Address to add or remove.
    pub addr: [u8; 6],
}
assert_layout!(NetifExtraInfoMcast, size = 6, addr @ 0);

/// `netif_extra_info.u.hash`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifExtraInfoHash {
    /// Hash type (`_XEN_NETIF_CTRL_HASH_TYPE_*`).
    pub ty: u8,
    /// Algorithm (`XEN_NETIF_CTRL_HASH_ALGORITHM_*`).
    pub algorithm: u8,
    /// Hash value (LSB first).
    pub value: [u8; 4],
}
assert_layout!(NetifExtraInfoHash, size = 6, ty @ 0, algorithm @ 1, value @ 2);

// ---- Receive ------------------------------------------------------------------

/// `struct netif_rx_request`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifRxRequest {
    /// Echoed in the response.
    pub id: u16,
    /// Padding.
    pub pad: u16,
    /// Reference to the incoming granted frame.
    pub gref: u32,
}
assert_layout!(NetifRxRequest, size = 8, id @ 0, pad @ 2, gref @ 4);

/// `_NETRXF_data_validated`: bit number of [`NETRXF_data_validated`].
pub const _NETRXF_data_validated: u16 = 0;
/// Packet data has been validated against the protocol checksum.
pub const NETRXF_data_validated: u16 = 1 << _NETRXF_data_validated;
/// `_NETRXF_csum_blank`: bit number of [`NETRXF_csum_blank`].
pub const _NETRXF_csum_blank: u16 = 1;
/// Protocol checksum field is blank in the packet (hardware offload).
pub const NETRXF_csum_blank: u16 = 1 << _NETRXF_csum_blank;
/// `_NETRXF_more_data`: bit number of [`NETRXF_more_data`].
pub const _NETRXF_more_data: u16 = 2;
/// Packet continues in the next response.
pub const NETRXF_more_data: u16 = 1 << _NETRXF_more_data;
/// `_NETRXF_extra_info`: bit number of [`NETRXF_extra_info`].
pub const _NETRXF_extra_info: u16 = 3;
/// Packet is followed by extra descriptor(s).
pub const NETRXF_extra_info: u16 = 1 << _NETRXF_extra_info;
/// `_NETRXF_gso_prefix`: bit number of [`NETRXF_gso_prefix`].
pub const _NETRXF_gso_prefix: u16 = 4;
/// Packet has a GSO prefix (deprecated).
pub const NETRXF_gso_prefix: u16 = 1 << _NETRXF_gso_prefix;

/// `struct netif_rx_response`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifRxResponse {
    /// The `id` of the receive request.
    pub id: u16,
    /// Offset in the page of the start of the received data.
    pub offset: u16,
    /// `NETRXF_*`.
    pub flags: u16,
    /// Negative: `NETIF_RSP_*`; positive: bytes received.
    pub status: i16,
}
assert_layout!(NetifRxResponse, size = 8, id @ 0, offset @ 2, flags @ 4, status @ 6);

/// `NETIF_RSP_DROPPED`
pub const NETIF_RSP_DROPPED: i16 = -2;
/// `NETIF_RSP_ERROR`
pub const NETIF_RSP_ERROR: i16 = -1;
/// `NETIF_RSP_OKAY`
pub const NETIF_RSP_OKAY: i16 = 0;
/// `NETIF_RSP_NULL`: no response (used for auxiliary requests, e.g.
/// extra info).
pub const NETIF_RSP_NULL: i16 = 1;

// ---- Ring slots ------------------------------------------------------------------

/// `union netif_tx_sring_entry`: one tx ring slot (storage; see the
/// accessors). 12 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifTxSringEntry {
    /// The union's bytes.
    pub raw: [u32; 3],
}
assert_layout!(NetifTxSringEntry, size = 12, raw @ 0);

impl NetifTxSringEntry {
    /// Member `req`.
    pub fn req(&self) -> NetifTxRequest {
        crate::abi::union_get(self)
    }
    /// Makes `req` the active member.
    pub fn set_req(&mut self, v: &NetifTxRequest) {
        crate::abi::union_set(self, v)
    }
    /// Member `rsp`.
    pub fn rsp(&self) -> NetifTxResponse {
        crate::abi::union_get(self)
    }
    /// Makes `rsp` the active member.
    pub fn set_rsp(&mut self, v: &NetifTxResponse) {
        crate::abi::union_set(self, v)
    }
    /// The slot read as an extra-info descriptor.
    pub fn extra(&self) -> NetifExtraInfo {
        crate::abi::union_get(self)
    }
    /// Writes an extra-info descriptor into the slot.
    pub fn set_extra(&mut self, v: &NetifExtraInfo) {
        crate::abi::union_set(self, v)
    }
}

/// `union netif_rx_sring_entry`: one rx ring slot (storage; see the
/// accessors). 8 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NetifRxSringEntry {
    /// The union's bytes.
    pub raw: [u32; 2],
}
assert_layout!(NetifRxSringEntry, size = 8, raw @ 0);

impl NetifRxSringEntry {
    /// Member `req`.
    pub fn req(&self) -> NetifRxRequest {
        crate::abi::union_get(self)
    }
    /// Makes `req` the active member.
    pub fn set_req(&mut self, v: &NetifRxRequest) {
        crate::abi::union_set(self, v)
    }
    /// Member `rsp`.
    pub fn rsp(&self) -> NetifRxResponse {
        crate::abi::union_get(self)
    }
    /// Makes `rsp` the active member.
    pub fn set_rsp(&mut self, v: &NetifRxResponse) {
        crate::abi::union_set(self, v)
    }
    /// The slot read as an extra-info descriptor.
    pub fn extra(&self) -> NetifExtraInfo {
        crate::abi::union_get(self)
    }
    /// Writes an extra-info descriptor into the slot.
    pub fn set_extra(&mut self, v: &NetifExtraInfo) {
        crate::abi::union_set(self, v)
    }
}

/// Slots in a one-page tx ring (`__CONST_RING_SIZE(netif_tx, 4096)`).
pub const NET_TX_RING_SIZE: usize = const_ring_size(4096, core::mem::size_of::<NetifTxSringEntry>());
/// Slots in a one-page rx ring (`__CONST_RING_SIZE(netif_rx, 4096)`).
pub const NET_RX_RING_SIZE: usize = const_ring_size(4096, core::mem::size_of::<NetifRxSringEntry>());

// ---- Control ring ------------------------------------------------------------------

/// `_XEN_NETIF_CTRL_HASH_TYPE_IPV4`: bit number of [`XEN_NETIF_CTRL_HASH_TYPE_IPV4`].
pub const _XEN_NETIF_CTRL_HASH_TYPE_IPV4: u32 = 0;
/// Hash over the IPv4 source and destination addresses.
pub const XEN_NETIF_CTRL_HASH_TYPE_IPV4: u32 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
/// `_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP`
pub const _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP: u32 = 1;
/// Hash over IPv4 addresses and TCP ports.
pub const XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP: u32 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
/// `_XEN_NETIF_CTRL_HASH_TYPE_IPV6`
pub const _XEN_NETIF_CTRL_HASH_TYPE_IPV6: u32 = 2;
/// Hash over the IPv6 source and destination addresses.
pub const XEN_NETIF_CTRL_HASH_TYPE_IPV6: u32 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
/// `_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP`
pub const _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP: u32 = 3;
/// Hash over IPv6 addresses and TCP ports.
pub const XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP: u32 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
/// `XEN_NETIF_CTRL_HASH_ALGORITHM_NONE`: no hashing.
pub const XEN_NETIF_CTRL_HASH_ALGORITHM_NONE: u32 = 0;
/// `XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ`: Toeplitz hashing.
pub const XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ: u32 = 1;

/// `XEN_NETIF_CTRL_TYPE_INVALID`
pub const XEN_NETIF_CTRL_TYPE_INVALID: u16 = 0;
/// `XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS`
pub const XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS: u16 = 1;
/// `XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS`
pub const XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS: u16 = 2;
/// `XEN_NETIF_CTRL_TYPE_SET_HASH_KEY`
pub const XEN_NETIF_CTRL_TYPE_SET_HASH_KEY: u16 = 3;
/// `XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE`
pub const XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE: u16 = 4;
/// `XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE`
pub const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE: u16 = 5;
/// `XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING`
pub const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING: u16 = 6;
/// `XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM`
pub const XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM: u16 = 7;
/// `XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE`
pub const XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE: u16 = 8;
/// `XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING`
pub const XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING: u16 = 9;
/// `XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING`
pub const XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING: u16 = 10;

/// `XEN_NETIF_CTRL_STATUS_SUCCESS`
pub const XEN_NETIF_CTRL_STATUS_SUCCESS: u32 = 0;
/// `XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED`
pub const XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED: u32 = 1;
/// `XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER`
pub const XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER: u32 = 2;
/// `XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW`
pub const XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW: u32 = 3;

/// `_XEN_NETIF_CTRLF_GREF_readonly`: bit number of [`XEN_NETIF_CTRLF_GREF_readonly`].
pub const _XEN_NETIF_CTRLF_GREF_readonly: u16 = 0;
/// The grant is read-only.
pub const XEN_NETIF_CTRLF_GREF_readonly: u16 = 1 << _XEN_NETIF_CTRLF_GREF_readonly;

/// `struct xen_netif_ctrl_request`: a control-ring request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenNetifCtrlRequest {
    /// Request id, echoed in the response.
    pub id: u16,
    /// `XEN_NETIF_CTRL_TYPE_*`.
    pub ty: u16,
    /// Type-specific arguments.
    pub data: [u32; 3],
}
assert_layout!(XenNetifCtrlRequest, size = 16, id @ 0, ty @ 2, data @ 4);

/// `struct xen_netif_ctrl_response`: a control-ring response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenNetifCtrlResponse {
    /// The request's id.
    pub id: u16,
    /// The request's type.
    pub ty: u16,
    /// `XEN_NETIF_CTRL_STATUS_*`.
    pub status: u32,
    /// Type-specific result.
    pub data: u32,
}
assert_layout!(XenNetifCtrlResponse, size = 12, id @ 0, ty @ 2, status @ 4, data @ 8);

/// `struct xen_netif_gref`: an entry of the gref mapping table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenNetifGref {
    /// The grant reference.
    pub ref_: u32,
    /// `XEN_NETIF_CTRLF_GREF_*`.
    pub flags: u16,
    /// `XEN_NETIF_CTRL_STATUS_*`.
    pub status: u16,
}
assert_layout!(XenNetifGref, size = 8, ref_ @ 0, flags @ 4, status @ 6);
