//! `version.h`: `xen_version` sub-commands and their argument structures.
#![allow(non_upper_case_globals)]

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Returns `major << 16 | minor`; no argument.
pub const XENVER_version: u32 = 0;
/// Fills a [`XenExtraversion`].
pub const XENVER_extraversion: u32 = 1;
/// Fills a [`XenCompileInfo`].
pub const XENVER_compile_info: u32 = 2;
/// Fills a [`XenCapabilitiesInfo`].
pub const XENVER_capabilities: u32 = 3;
/// Fills a [`XenChangesetInfo`].
pub const XENVER_changeset: u32 = 4;
/// Fills a [`XenPlatformParameters`].
pub const XENVER_platform_parameters: u32 = 5;
/// Fills a [`XenFeatureInfo`].
pub const XENVER_get_features: u32 = 6;
/// Returns the page size; no argument.
pub const XENVER_pagesize: u32 = 7;
/// Fills a `xen_domain_handle_t` (16 bytes).
pub const XENVER_guest_handle: u32 = 8;
/// Fills a [`XenCommandline`].
pub const XENVER_commandline: u32 = 9;
/// Fills a `xen_build_id` (`len` IN, bytes OUT).
pub const XENVER_build_id: u32 = 10;

/// `xen_extraversion_t`, e.g. `".0"`.
pub type XenExtraversion = [u8; 16];
/// `XEN_EXTRAVERSION_LEN`
pub const XEN_EXTRAVERSION_LEN: usize = 16;
/// `xen_capabilities_info_t`, e.g. `"xen-3.0-x86_64 "`.
pub type XenCapabilitiesInfo = [u8; 1024];
/// `XEN_CAPABILITIES_INFO_LEN`
pub const XEN_CAPABILITIES_INFO_LEN: usize = 1024;
/// `xen_changeset_info_t`.
pub type XenChangesetInfo = [u8; 64];
/// `XEN_CHANGESET_INFO_LEN`
pub const XEN_CHANGESET_INFO_LEN: usize = 64;
/// `xen_commandline_t`.
pub type XenCommandline = [u8; 1024];
/// `xen_domain_handle_t` (a UUID).
pub type XenDomainHandle = [u8; 16];

/// `struct xen_compile_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenCompileInfo {
    /// Compiler.
    pub compiler: [u8; 64],
    /// Who compiled it.
    pub compile_by: [u8; 16],
    /// Build domain.
    pub compile_domain: [u8; 32],
    /// Date.
    pub compile_date: [u8; 32],
}
assert_layout!(XenCompileInfo, size = 144, compiler @ 0, compile_by @ 64,
    compile_domain @ 80, compile_date @ 112);

/// `struct xen_platform_parameters`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenPlatformParameters {
    /// Start of the hypervisor's virtual range.
    pub virt_start: u64,
}
assert_layout!(XenPlatformParameters, size = 8, virt_start @ 0);

/// `struct xen_feature_info`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenFeatureInfo {
    /// IN: which 32-bit submap to return.
    pub submap_idx: u32,
    /// OUT: the submap.
    pub submap: u32,
}
assert_layout!(XenFeatureInfo, size = 8, submap_idx @ 0, submap @ 4);

/// `struct xen_build_id` (`XENVER_build_id`): `len` IN (size of `buf`),
/// followed by the variable-length build id OUT. The hypercall returns
/// the number of bytes written (called with `len == 0`: the size needed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenBuildId {
    /// IN: size of `buf`.
    pub len: u32,
    /// OUT: the build id (flexible array).
    pub buf: [u8; 0],
}
assert_layout!(XenBuildId, size = 4, len @ 0, buf @ 4);
