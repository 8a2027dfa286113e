//! `features.h`: XENFEAT_* bits reported by `XENVER_get_features` and
//! named in a kernel's `FEATURES`/`SUPPORTED_FEATURES` notes.
#![allow(non_upper_case_globals)]

/// Guest may write its own page tables (emulated by the hypervisor).
pub const XENFEAT_writable_page_tables: u32 = 0;
/// Guest may write its own descriptor tables.
pub const XENFEAT_writable_descriptor_tables: u32 = 1;
/// Guest kernel addresses are pseudo-physical (auto-translated).
pub const XENFEAT_auto_translated_physmap: u32 = 2;
/// Guest kernel runs in ring 0.
pub const XENFEAT_supervisor_mode_kernel: u32 = 3;
/// PAE page directories may live above 4 GiB.
pub const XENFEAT_pae_pgdir_above_4gb: u32 = 4;
/// `mmu_update` accepts `MMU_PT_UPDATE_PRESERVE_AD`.
pub const XENFEAT_mmu_pt_update_preserve_ad: u32 = 5;
/// x86: can the guest use the highest MFN bit?
pub const XENFEAT_highmem_assist: u32 = 6;
/// Grant mappings may use the PTE's available bits.
pub const XENFEAT_gnttab_map_avail_bits: u32 = 7;
/// HVM guest callback vector.
pub const XENFEAT_hvm_callback_vector: u32 = 8;
/// HVM guest safe PV clock.
pub const XENFEAT_hvm_safe_pvclock: u32 = 9;
/// HVM PIRQs.
pub const XENFEAT_hvm_pirqs: u32 = 10;
/// The domain is dom0 (features note: the kernel can run as dom0).
pub const XENFEAT_dom0: u32 = 11;
/// Grant mappings are 1:1 (ARM). Deprecated: commented out in the 4.17
/// header, so not checked by the layout test.
pub const XENFEAT_grant_map_identity: u32 = 12;
/// `XENMEM_get_vnumainfo` is supported.
pub const XENFEAT_memory_op_vnode_supported: u32 = 13;
/// ARM SMCCC.
pub const XENFEAT_ARM_SMCCC_supported: u32 = 14;
/// Linux: `linux_rsdp_unrestricted`.
pub const XENFEAT_linux_rsdp_unrestricted: u32 = 15;
/// Not direct-mapped (ARM).
pub const XENFEAT_not_direct_mapped: u32 = 16;
/// Direct-mapped domain (ARM).
pub const XENFEAT_direct_mapped: u32 = 17;
/// Number of 32-bit feature submaps (`XENVER_get_features` indices).
pub const XENFEAT_NR_SUBMAPS: u32 = 1;

/// Feature names as they appear in a `FEATURES` note, with their bits.
pub const FEATURE_NAMES: &[(&str, u32)] = &[
    ("writable_page_tables", XENFEAT_writable_page_tables),
    ("writable_descriptor_tables", XENFEAT_writable_descriptor_tables),
    ("auto_translated_physmap", XENFEAT_auto_translated_physmap),
    ("supervisor_mode_kernel", XENFEAT_supervisor_mode_kernel),
    ("pae_pgdir_above_4gb", XENFEAT_pae_pgdir_above_4gb),
    ("hvm_callback_vector", XENFEAT_hvm_callback_vector),
    ("dom0", XENFEAT_dom0),
];
