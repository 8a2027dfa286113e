//! The hypervisor heap: a fixed region of RAM handed to
//! `linked_list_allocator` at boot; `alloc` (Box, Vec, BTreeMap) draws
//! from it. Domain memory never comes from here: guests get whole frames
//! from the frame table.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;

/// The global allocator.
pub struct KernelHeap(Mutex<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(Heap::empty()));

/// Gives the heap its memory.
///
/// # Safety
/// Once; `[start, start + size)` is mapped, unused and stays the heap's.
pub unsafe fn init(start: *mut u8, size: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.0.lock().init(start, size) }
}

/// Bytes in use and free.
pub fn usage() -> (usize, usize) {
    let h = HEAP.0.lock();
    (h.used(), h.free())
}

// SAFETY: allocations come from the linked-list heap under a lock; the
// hypervisor never allocates from interrupt context re-entrantly (it runs
// with interrupts off).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { self.0.lock().deallocate(p, layout) }
        }
    }
}
