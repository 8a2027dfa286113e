//! Access to machine memory by frame number: the shared-page access module.
//!
//! On the hardware every RAM frame is mapped at `DIRECTMAP_VIRT_START +
//! maddr`; in host tests the "machine" is a plain buffer. Either way
//! [`PhysMem`] holds a base pointer and a frame count, checks every frame
//! number against it, and is the only place that turns a frame number into
//! a pointer. Frames shared with a guest (`shared_info`, rings, grant
//! frames) are read and written here with copies or atomics, never through
//! long-lived references.

use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};
use pv_abi::{Mfn, PAGE_SIZE};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Machine memory, reachable by frame number.
pub struct PhysMem {
    base: *mut u8,
    nr_frames: u64,
}

// SAFETY: the hypervisor runs on one CPU with interrupts off; PhysMem is
// only used from that context (host tests use one instance per test).
unsafe impl Send for PhysMem {}
// SAFETY: as above.
unsafe impl Sync for PhysMem {}

impl PhysMem {
    /// Memory of `nr_frames` frames starting at `base`.
    ///
    /// # Safety
    /// `base .. base + nr_frames * 4096` must be mapped read-write for the
    /// life of the returned value and not be accessed as Rust references
    /// elsewhere.
    pub const unsafe fn new(base: *mut u8, nr_frames: u64) -> Self {
        PhysMem { base, nr_frames }
    }

    /// Frames reachable.
    pub fn nr_frames(&self) -> u64 {
        self.nr_frames
    }

    fn ptr(&self, mfn: Mfn, off: usize, len: usize) -> *mut u8 {
        assert!(mfn.0 < self.nr_frames && off + len <= PAGE_SIZE, "frame access out of range: {mfn:?}+{off}");
        // SAFETY: in range by the assertion and the constructor's contract.
        unsafe { self.base.add(mfn.0 as usize * PAGE_SIZE + off) }
    }

    /// The virtual address of a frame (for the arch code that maps it).
    pub fn frame_addr(&self, mfn: Mfn) -> u64 {
        self.ptr(mfn, 0, PAGE_SIZE) as u64
    }

    /// Copies bytes out of a frame.
    pub fn read(&self, mfn: Mfn, off: usize, out: &mut [u8]) {
        let p = self.ptr(mfn, off, out.len());
        // SAFETY: `p` is valid for out.len() bytes (checked in `ptr`).
        unsafe { core::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) }
    }

    /// Copies bytes into a frame.
    pub fn write(&mut self, mfn: Mfn, off: usize, data: &[u8]) {
        let p = self.ptr(mfn, off, data.len());
        // SAFETY: `p` is valid for data.len() bytes (checked in `ptr`).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) }
    }

    /// Zeroes a frame.
    pub fn zero(&mut self, mfn: Mfn) {
        let p = self.ptr(mfn, 0, PAGE_SIZE);
        // SAFETY: `p` is valid for a page (checked in `ptr`).
        unsafe { core::ptr::write_bytes(p, 0, PAGE_SIZE) }
    }

    /// Copies one frame onto another.
    pub fn copy_frame(&mut self, dst: Mfn, src: Mfn) {
        let s = self.ptr(src, 0, PAGE_SIZE);
        let d = self.ptr(dst, 0, PAGE_SIZE);
        if s != d {
            // SAFETY: two distinct, valid, page-sized frames.
            unsafe { core::ptr::copy_nonoverlapping(s, d, PAGE_SIZE) }
        }
    }

    /// Copies `len` bytes between frames (the ranges may be in the same
    /// frame and overlap).
    pub fn copy_between(&mut self, dst: Mfn, doff: usize, src: Mfn, soff: usize, len: usize) {
        let s = self.ptr(src, soff, len);
        let d = self.ptr(dst, doff, len);
        // SAFETY: both ranges are valid for `len` bytes (checked in `ptr`);
        // `copy` allows overlap.
        unsafe { core::ptr::copy(s, d, len) }
    }

    /// Reads a `T` at `off` in a frame.
    pub fn read_obj<T: FromBytes + IntoBytes>(&self, mfn: Mfn, off: usize) -> T {
        let mut v = T::new_zeroed();
        self.read(mfn, off, v.as_mut_bytes());
        v
    }

    /// Writes a `T` at `off` in a frame.
    pub fn write_obj<T: IntoBytes + Immutable>(&mut self, mfn: Mfn, off: usize, v: &T) {
        self.write(mfn, off, v.as_bytes());
    }

    /// Entry `idx` of a frame viewed as 512 u64s.
    pub fn read_u64(&self, mfn: Mfn, idx: usize) -> u64 {
        self.atomic_u64(mfn, idx * 8).load(Ordering::Relaxed)
    }

    /// Sets entry `idx` of a frame viewed as 512 u64s.
    pub fn write_u64(&mut self, mfn: Mfn, idx: usize, v: u64) {
        self.atomic_u64(mfn, idx * 8).store(v, Ordering::Relaxed)
    }

    /// An atomic view of the u64 at `off` (8-aligned) in a frame, for words
    /// a guest may change concurrently (event bits, PTEs, grant flags).
    pub fn atomic_u64(&self, mfn: Mfn, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8));
        let p = self.ptr(mfn, off, 8) as *mut u64;
        // SAFETY: in range and 8-aligned (frames are page-aligned); atomics
        // may alias guest accesses to the same word.
        unsafe { AtomicU64::from_ptr(p) }
    }

    /// An atomic view of the u32 at `off` (4-aligned) in a frame.
    pub fn atomic_u32(&self, mfn: Mfn, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4));
        let p = self.ptr(mfn, off, 4) as *mut u32;
        // SAFETY: in range and 4-aligned; atomics may alias guest accesses.
        unsafe { AtomicU32::from_ptr(p) }
    }

    /// An atomic view of the u16 at `off` (2-aligned) in a frame.
    pub fn atomic_u16(&self, mfn: Mfn, off: usize) -> &AtomicU16 {
        assert!(off.is_multiple_of(2));
        let p = self.ptr(mfn, off, 2) as *mut u16;
        // SAFETY: in range and 2-aligned; atomics may alias guest accesses.
        unsafe { AtomicU16::from_ptr(p) }
    }

    /// An atomic view of the byte at `off` in a frame.
    pub fn atomic_u8(&self, mfn: Mfn, off: usize) -> &AtomicU8 {
        let p = self.ptr(mfn, off, 1);
        // SAFETY: in range; byte atomics have no alignment requirement.
        unsafe { AtomicU8::from_ptr(p) }
    }
}

/// A host-test machine: `n` zeroed frames (leaked for the test's life).
#[cfg(test)]
pub fn test_phys(n: u64) -> PhysMem {
    let v: &'static mut [u64] = alloc::vec![0u64; n as usize * 512].leak();
    // SAFETY: the leaked buffer lives forever and is used only through here.
    unsafe { PhysMem::new(v.as_mut_ptr() as *mut u8, n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_bounds_checked_and_separate() {
        let mut m = test_phys(4);
        m.write(Mfn(1), 4090, b"abcdef");
        let mut b = [0u8; 6];
        m.read(Mfn(1), 4090, &mut b);
        assert_eq!(&b, b"abcdef");
        m.write_u64(Mfn(2), 511, 7);
        assert_eq!(m.read_u64(Mfn(2), 511), 7);
        m.copy_frame(Mfn(3), Mfn(2));
        assert_eq!(m.read_u64(Mfn(3), 511), 7);
        m.zero(Mfn(3));
        assert_eq!(m.read_u64(Mfn(3), 511), 0);
        assert_eq!(m.read_u64(Mfn(0), 0), 0);
        assert!(std::panic::catch_unwind(|| test_phys(1).read_u64(Mfn(1), 0)).is_err());
    }
}
