//! The raw ABI: one module per Xen public header (Xen 4.17,
//! `/usr/include/xen`, interface version `0x00040e00`).
//!
//! Every struct is `#[repr(C)]` with explicit padding fields where C has
//! implicit padding, derives the zerocopy traits, and carries compile-time
//! size/offset assertions. Field and constant names follow the C names so a
//! reader can put the header beside the Rust. The layout conformance test
//! (`pv-abi/tests/layout.rs`) compiles a C program against the installed
//! headers and compares every size, offset and constant with this crate.

pub mod arch_x86;
pub mod elfnote;
pub mod errno;
pub mod features;
pub mod hvm_start_info;
pub mod io;
pub mod sched;
pub mod vcpu;
pub mod version;
pub mod xen;

/// Asserts at compile time that a type has the given size and that each
/// listed field sits at the given offset.
#[macro_export]
macro_rules! assert_layout {
    ($t:ty, size = $size:expr $(, $field:ident @ $off:expr)* $(,)?) => {
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
        $(const _: () = assert!(core::mem::offset_of!($t, $field) == $off);)*
    };
}
