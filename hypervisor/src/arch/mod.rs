//! Architecture-specific code. Only x86_64 exists; `common` reaches it
//! through the names re-exported here.

pub mod x86_64;

pub use self::x86_64::pv::domain::{
    get_vcpu_context, hypercall_init, pin_writable, relinquish_vcpu, set_vcpu_context, unpin_all, unpin_writable,
};
pub use self::x86_64::pv::{hypercall_table, ArchHv, ArchVcpu};

/// The grant-table hooks into the PV MMU.
pub fn grant_mmu() -> &'static dyn crate::common::grant::GrantMmu {
    &self::x86_64::pv::grant::PV_GRANT_MMU
}
