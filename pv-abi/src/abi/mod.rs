//! The raw ABI: one module per Xen public header (Xen 4.17,
//! `/usr/include/xen`, interface version `0x00040e00`).
//!
//! Every struct is `#[repr(C)]` with explicit padding fields where C has
//! implicit padding, derives the zerocopy traits, and carries compile-time
//! size/offset assertions. Field and constant names follow the C names so a
//! reader can put the header beside the Rust (Rust keywords get a suffix or
//! the project's usual spelling: `type` is `ty`, `ref` is `ref_`, `in` is
//! `in_`). The layout conformance test (`pv-abi/tests/layout.rs`, described
//! in `docs/abi-layout.md`) compiles a C program against the installed
//! headers and compares every size, alignment, offset and constant with this
//! crate.
//!
//! ## C unions
//!
//! Rust unions cannot derive `IntoBytes`, `Debug` or `Eq`, so a C union is
//! mirrored in one of two ways:
//!
//! - a union whose members are all integers (or handles) becomes one plain
//!   integer field as wide as the widest member (e.g. `mmuext_op.arg1`);
//!   narrower members are its low bytes (x86 is little endian);
//! - any other union becomes a *storage* struct: a private-looking `raw`
//!   array with the union's size and alignment, plus typed accessors that
//!   read or write one member. Every member starts at offset 0, so each
//!   accessor is a byte copy of a member type that has its own Rust struct
//!   (and its own line in the conformance table). Writers zero the whole
//!   union first, so no stale bytes of another member leak.

pub mod arch_x86;
pub mod callback;
pub mod domctl;
pub mod elfnote;
pub mod errno;
pub mod event_channel;
pub mod features;
pub mod grant_table;
pub mod hvm_start_info;
pub mod io;
pub mod memory;
pub mod physdev;
pub mod sched;
pub mod sysctl;
pub mod vcpu;
pub mod version;
pub mod xen;

use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Asserts at compile time that a type has the given size and that each
/// listed field sits at the given offset.
#[macro_export]
macro_rules! assert_layout {
    ($t:ty, size = $size:expr $(, $field:ident @ $off:expr)* $(,)?) => {
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
        $(const _: () = assert!(core::mem::offset_of!($t, $field) == $off);)*
    };
}

/// Reads union member `T` from union storage `u` (members start at offset 0).
/// Fails to compile if `T` is larger than the union.
pub(crate) fn union_get<U: IntoBytes + Immutable, T: FromBytes>(u: &U) -> T {
    const { assert!(core::mem::size_of::<T>() <= core::mem::size_of::<U>()) };
    match T::read_from_prefix(u.as_bytes()) {
        Ok((v, _)) => v,
        Err(_) => unreachable!(),
    }
}

/// Makes `v` the active member of union storage `u`: zeroes the union, then
/// copies `v` to its start. Fails to compile if `T` is larger than the union.
pub(crate) fn union_set<U: FromBytes + IntoBytes, T: IntoBytes + Immutable>(u: &mut U, v: &T) {
    const { assert!(core::mem::size_of::<T>() <= core::mem::size_of::<U>()) };
    let bytes = u.as_mut_bytes();
    bytes.fill(0);
    bytes[..core::mem::size_of::<T>()].copy_from_slice(v.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::domctl::{
        XEN_DOMCTL_max_mem, XenDomctl, XenDomctlGetdomaininfo, XenDomctlMaxMem, XEN_DOMCTL_INTERFACE_VERSION,
        XEN_DOMCTL_PAYLOAD_OFFSET,
    };
    use super::event_channel::{EvtchnStatusInterdomain, EvtchnStatusU};
    use super::grant_table::{gntst_message, GNTST_bad_page, GNTST_okay};
    use zerocopy::IntoBytes;

    #[test]
    fn union_set_zeroes_the_other_members() {
        let mut u = EvtchnStatusU { raw: [0xffff_ffff; 2] };
        u.set_virq(7);
        assert_eq!(u.raw, [7, 0]);
        assert_eq!(u.virq(), 7);
        u.set_interdomain(&EvtchnStatusInterdomain { dom: 3, _pad: 0, port: 9 });
        assert_eq!(u.interdomain().port, 9);
        assert_eq!(u.unbound().dom, 3);
    }

    #[test]
    fn domctl_payload_sits_after_the_header() {
        let d = XenDomctl::new(XEN_DOMCTL_max_mem, 5, &XenDomctlMaxMem { max_memkb: 0x1122 });
        assert_eq!(d.interface_version, XEN_DOMCTL_INTERFACE_VERSION);
        let bytes = d.as_bytes();
        assert_eq!(&bytes[8..10], &5u16.to_le_bytes());
        let at = XEN_DOMCTL_PAYLOAD_OFFSET;
        assert_eq!(&bytes[at..at + 8], &0x1122u64.to_le_bytes());
        assert!(bytes[at + 8..].iter().all(|&b| b == 0));
        assert_eq!(d.u.get::<XenDomctlMaxMem>().max_memkb, 0x1122);
        let info: XenDomctlGetdomaininfo = d.u.get();
        assert_eq!(info.tot_pages, 0);
    }

    #[test]
    fn grant_status_messages() {
        assert_eq!(gntst_message(GNTST_okay), "okay");
        assert_eq!(gntst_message(GNTST_bad_page), "bad page");
        assert_eq!(gntst_message(-100), "unknown grant status");
        assert_eq!(gntst_message(5), "unknown grant status");
    }
}
