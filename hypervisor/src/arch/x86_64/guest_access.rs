//! Copies to and from the current guest's virtual memory: the only code
//! that dereferences a guest-supplied address.
//!
//! The hypervisor runs on the guest's page tables, so a guest virtual
//! address is used directly, after checking that the whole range is
//! canonical, does not wrap, and stays out of the hypervisor's range. A
//! fault (unmapped, or read-only with CR0.WP set) is caught by the
//! exception fixup on the copy instruction and reported as `-EFAULT`.

use super::entry::hv_copy_guest;
use super::layout::guest_range_ok;
use crate::common::guest_mem::GuestMem;
use pv_abi::abi::errno::{Errno, EFAULT};

/// The guest whose page tables are loaded.
pub struct CurrentGuest;

impl GuestMem for CurrentGuest {
    fn copy_from(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno> {
        if !guest_range_ok(src, dst.len() as u64) {
            return Err(Errno(EFAULT));
        }
        // SAFETY: `dst` is ours; `src` is a checked guest range whose faults
        // are fixed up by the exception table.
        match unsafe { hv_copy_guest(dst.as_mut_ptr(), src as *const u8, dst.len() as u64) } {
            0 => Ok(()),
            _ => Err(Errno(EFAULT)),
        }
    }

    fn copy_to(&mut self, dst: u64, src: &[u8]) -> Result<(), Errno> {
        if !guest_range_ok(dst, src.len() as u64) {
            return Err(Errno(EFAULT));
        }
        // SAFETY: as above, in the other direction.
        match unsafe { hv_copy_guest(dst as *mut u8, src.as_ptr(), src.len() as u64) } {
            0 => Ok(()),
            _ => Err(Errno(EFAULT)),
        }
    }
}
