//! Guest memory access, as the hypercall handlers see it.
//!
//! An address a guest passes is an *allegation* ([`GuestPtr`]): it may be
//! unmapped, read-only, in the hypervisor's range, or change under us. It
//! is only ever dereferenced through a [`GuestMem`], which copies bytes in
//! or out and turns any fault into `-EFAULT` for the guest. A value read
//! from guest memory is copied once, then validated (never re-read).
//!
//! On the hardware the implementation is `arch::x86_64::guest_access`
//! (copy through the current guest page tables with fault fixups); host
//! tests use an in-memory mock.

use core::marker::PhantomData;
use pv_abi::abi::errno::{Errno, EFAULT};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Copies to and from the current guest's virtual memory.
pub trait GuestMem {
    /// Copies `dst.len()` bytes from guest address `src`.
    fn copy_from(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno>;
    /// Copies `src` to guest address `dst`.
    fn copy_to(&mut self, dst: u64, src: &[u8]) -> Result<(), Errno>;
}

/// A guest virtual address alleged to hold a `T` (or an array of them).
#[derive(Debug)]
pub struct GuestPtr<T> {
    addr: u64,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for GuestPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for GuestPtr<T> {}

impl<T: FromBytes + IntoBytes + Immutable> GuestPtr<T> {
    /// The pointer a guest passed in a register.
    pub fn new(addr: u64) -> Self {
        GuestPtr { addr, _t: PhantomData }
    }
    /// The raw address.
    pub fn addr(self) -> u64 {
        self.addr
    }
    /// Whether the guest passed NULL.
    pub fn is_null(self) -> bool {
        self.addr == 0
    }
    /// Element `i` of an array starting here (`-EFAULT` on overflow).
    pub fn at(self, i: u64) -> Result<Self, Errno> {
        let off = i.checked_mul(core::mem::size_of::<T>() as u64).ok_or(Errno(EFAULT))?;
        Ok(GuestPtr::new(self.addr.checked_add(off).ok_or(Errno(EFAULT))?))
    }
    /// Copies the value in.
    pub fn read(self, m: &mut impl GuestMem) -> Result<T, Errno> {
        let mut v = T::new_zeroed();
        m.copy_from(self.addr, v.as_mut_bytes())?;
        Ok(v)
    }
    /// Copies `v` out.
    pub fn write(self, m: &mut impl GuestMem, v: &T) -> Result<(), Errno> {
        m.copy_to(self.addr, v.as_bytes())
    }
}

/// A guest memory made of one flat buffer at a base address, for tests.
#[cfg(test)]
pub struct MockMem {
    /// Guest address of `bytes[0]`.
    pub base: u64,
    /// The memory.
    pub bytes: alloc::vec::Vec<u8>,
}

#[cfg(test)]
impl MockMem {
    /// `len` zero bytes at `base`.
    pub fn new(base: u64, len: usize) -> Self {
        MockMem { base, bytes: alloc::vec![0; len] }
    }
    fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        let off = addr.checked_sub(self.base).ok_or(Errno(EFAULT))? as usize;
        let end = off.checked_add(len).ok_or(Errno(EFAULT))?;
        if end > self.bytes.len() {
            return Err(Errno(EFAULT));
        }
        Ok(off..end)
    }
}

#[cfg(test)]
impl GuestMem for MockMem {
    fn copy_from(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno> {
        let r = self.range(src, dst.len())?;
        dst.copy_from_slice(&self.bytes[r]);
        Ok(())
    }
    fn copy_to(&mut self, dst: u64, src: &[u8]) -> Result<(), Errno> {
        let r = self.range(dst, src.len())?;
        self.bytes[r].copy_from_slice(src);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_and_faults() {
        let mut m = MockMem::new(0x1000, 64);
        let p = GuestPtr::<u64>::new(0x1008);
        p.write(&mut m, &0xdead_beef).unwrap();
        assert_eq!(p.read(&mut m).unwrap(), 0xdead_beef);
        assert_eq!(p.at(1).unwrap().addr(), 0x1010);
        assert_eq!(GuestPtr::<u64>::new(0x1040).read(&mut m), Err(Errno(EFAULT)));
        assert_eq!(GuestPtr::<u64>::new(u64::MAX).at(1).map(|p| p.addr()), Err(Errno(EFAULT)));
        assert_eq!(GuestPtr::<u64>::new(8).at(u64::MAX).map(|p| p.addr()), Err(Errno(EFAULT)));
        assert!(GuestPtr::<u64>::new(0).is_null());
    }
}
