//! Architecture-specific code. Only x86_64 exists; `common` reaches it
//! through the names re-exported here.

pub mod x86_64;

pub use self::x86_64::pv::{hypercall_table, ArchHv, ArchVcpu};
