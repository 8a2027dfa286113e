//! dom0's heap: `alloc` (Vec, String, BTreeMap) for the toolstack.
//!
//! The memory is dom0's own frames above its start-of-day region (the
//! builder maps only `[VIRT_BASE, v_end)`; the rest of dom0's frames are
//! free and unmapped). [`crate::mm`] maps them right after `v_end` through
//! L1 tables dom0 builds, pins and hooks into its own L2 (the same
//! machinery as the foreign-mapping window), so the heap costs no image
//! space and grows with dom0's memory, which a `.bss` array would not.
//! Until [`init`] runs every allocation fails (and panics).

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;

/// The global allocator.
pub struct Dom0Heap(Mutex<Heap>);

#[global_allocator]
static HEAP: Dom0Heap = Dom0Heap(Mutex::new(Heap::empty()));

/// Gives the heap its memory.
///
/// # Safety
/// Once; `[start, start + size)` is mapped writable, unused and stays the
/// heap's.
pub unsafe fn init(start: *mut u8, size: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.0.lock().init(start, size) }
}

/// Bytes in use and free.
pub fn usage() -> (usize, usize) {
    let h = HEAP.0.lock();
    (h.used(), h.free())
}

// SAFETY: allocations come from the linked-list heap under a lock. dom0
// runs one vCPU with event upcalls masked (it polls), so no allocation
// ever re-enters from an interrupt-like context.
unsafe impl GlobalAlloc for Dom0Heap {
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
