//! The xenstore ring transport: byte streams over the store ring page
//! ([`XenstoreDomainInterface`]), as Linux's `xenbus_comms.c` drives it.
//!
//! The page holds two 1024-byte rings. The domain produces requests into
//! `req` (it advances `req_prod`, xenstored advances `req_cons`) and
//! consumes replies and watch events from `rsp` (xenstored advances
//! `rsp_prod`, the domain `rsp_cons`). Indices are free-running `u32`s,
//! masked with `XENSTORE_RING_SIZE - 1` to address a byte, so a message
//! may wrap around the end of a ring, and messages longer than a ring are
//! streamed through it in pieces.
//!
//! Ordering (Linux's barriers, as atomics): the producer reads the
//! consumer index with `Acquire` before it writes bytes into the free
//! space, and publishes the bytes with a `Release` store of its producer
//! index; the consumer reads the producer index with `Acquire` before it
//! reads bytes, and frees the space with a `Release` store of its consumer
//! index after copying them out. After moving any byte the peer is
//! notified (an event-channel send); a spurious notification is harmless,
//! a missing one would hang the peer.
//!
//! A peer whose indices claim more than a ring's worth of bytes has
//! corrupted the page: every operation then fails with
//! `Protocol(RingIndex)` (Linux resets the indices instead; a domain cannot
//! resynchronise a stream it no longer trusts).
//!
//! [`XsRing`] serves either end: [`XsRing::domain`] for a guest's client,
//! [`XsRing::store`] for xenstored's side of a domain's page.
//!
//! This is the only module of `xenstore` with `unsafe` code: the shared
//! page is reached only through raw pointers, indices through
//! `AtomicU32::from_ptr`, bytes through volatile copies.

use super::{ProtocolError, XsError, XsTransport};
use crate::abi::io::xs_wire::{XenstoreDomainInterface, XENSTORE_RING_SIZE};
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicU32, Ordering};

const MASK: u32 = XENSTORE_RING_SIZE as u32 - 1;
const _: () = assert!(XENSTORE_RING_SIZE.is_power_of_two());

/// Which end of the page this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The domain: produces into `req`, consumes from `rsp`.
    Domain,
    /// xenstored: produces into `rsp`, consumes from `req`.
    Store,
}

/// One direction of the page, as raw pointers.
#[derive(Clone, Copy)]
struct Dir {
    buf: *mut u8,
    prod: *mut u32,
    cons: *mut u32,
}

/// A byte-stream transport over a store ring page.
///
/// `notify` is called after bytes were produced or consumed (send on the
/// store event channel); `wait` blocks until the peer may have made
/// progress (block on that event channel) and may fail, e.g. on a timeout.
pub struct XsRing<N, W> {
    out: Dir,
    inp: Dir,
    notify: N,
    wait: W,
}

impl<N: FnMut(), W: FnMut() -> Result<(), XsError>> XsRing<N, W> {
    /// The domain's end of its store page.
    ///
    /// # Safety
    /// `page` must point to a mapped, 4-byte-aligned
    /// `XenstoreDomainInterface`, valid for reads and writes for as long
    /// as the returned value (or anything moved out of it) is used. The
    /// only other party touching the page must be the peer, following the
    /// ring protocol: it writes only its own index (with atomic stores)
    /// and only bytes it owns under the indices. No other `XsRing` for the
    /// same end of the page may exist at the same time.
    pub unsafe fn domain(page: *mut XenstoreDomainInterface, notify: N, wait: W) -> Self {
        // SAFETY: forwarded from this function's contract.
        unsafe { Self::new(page, End::Domain, notify, wait) }
    }

    /// xenstored's end of a domain's store page.
    ///
    /// # Safety
    /// As for [`XsRing::domain`], with the roles swapped.
    pub unsafe fn store(page: *mut XenstoreDomainInterface, notify: N, wait: W) -> Self {
        // SAFETY: forwarded from this function's contract.
        unsafe { Self::new(page, End::Store, notify, wait) }
    }

    /// # Safety
    /// See [`XsRing::domain`].
    unsafe fn new(page: *mut XenstoreDomainInterface, end: End, notify: N, wait: W) -> Self {
        let p = page;
        // SAFETY: the caller guarantees `page` points to a valid page;
        // `addr_of_mut!` only computes field addresses, creating no
        // reference to memory the peer writes concurrently.
        let (req, rsp) = unsafe {
            (
                Dir {
                    buf: addr_of_mut!((*p).req).cast::<u8>(),
                    prod: addr_of_mut!((*p).req_prod),
                    cons: addr_of_mut!((*p).req_cons),
                },
                Dir {
                    buf: addr_of_mut!((*p).rsp).cast::<u8>(),
                    prod: addr_of_mut!((*p).rsp_prod),
                    cons: addr_of_mut!((*p).rsp_cons),
                },
            )
        };
        let (out, inp) = match end {
            End::Domain => (req, rsp),
            End::Store => (rsp, req),
        };
        XsRing { out, inp, notify, wait }
    }

    /// The two indices of a direction, as atomics.
    fn indices(&self, d: Dir) -> (&AtomicU32, &AtomicU32) {
        // SAFETY: `prod` and `cons` point into the page, which the
        // constructor's contract keeps mapped while `self` exists (the
        // references borrow `self`); they are 4-byte aligned
        // (`XenstoreDomainInterface` is `repr(C)` with u32 fields at
        // multiples of 4); and both ends only access indices atomically,
        // as the contract requires of the peer.
        unsafe { (AtomicU32::from_ptr(d.prod), AtomicU32::from_ptr(d.cons)) }
    }

    /// Bytes in flight in a direction, checked against the ring size.
    fn used(prod: u32, cons: u32) -> Result<usize, XsError> {
        let used = prod.wrapping_sub(cons) as usize;
        if used > XENSTORE_RING_SIZE {
            Err(XsError::Protocol(ProtocolError::RingIndex))
        } else {
            Ok(used)
        }
    }

    /// Produces a prefix of `bytes` into the outgoing ring.
    fn produce(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        let (prod_a, cons_a) = self.indices(self.out);
        // Acquire: the bytes we overwrite below were copied out by the
        // peer before it published this consumer index.
        let cons = cons_a.load(Ordering::Acquire);
        let prod = prod_a.load(Ordering::Relaxed);
        let free = XENSTORE_RING_SIZE - Self::used(prod, cons)?;
        let n = free.min(bytes.len());
        if n == 0 {
            return Ok(0);
        }
        let start = (prod & MASK) as usize;
        let first = n.min(XENSTORE_RING_SIZE - start);
        for (i, &b) in bytes[..first].iter().enumerate() {
            // SAFETY: `start + i < XENSTORE_RING_SIZE`, inside `buf`; the
            // byte is in the free part of the ring, which the peer does
            // not read until the producer index below covers it.
            unsafe { self.out.buf.add(start + i).write_volatile(b) };
        }
        for (i, &b) in bytes[first..n].iter().enumerate() {
            // SAFETY: the wrapped part starts at offset 0 and has
            // `n - first < XENSTORE_RING_SIZE` bytes, so it stays inside
            // `buf` and inside the free space, as above.
            unsafe { self.out.buf.add(i).write_volatile(b) };
        }
        // Release: the peer sees the bytes before the new index.
        prod_a.store(prod.wrapping_add(n as u32), Ordering::Release);
        (self.notify)();
        Ok(n)
    }

    /// Consumes up to `buf.len()` bytes from the incoming ring.
    fn consume(&mut self, buf: &mut [u8]) -> Result<usize, XsError> {
        let (prod_a, cons_a) = self.indices(self.inp);
        // Acquire: the bytes below were written before this index.
        let prod = prod_a.load(Ordering::Acquire);
        let cons = cons_a.load(Ordering::Relaxed);
        let n = Self::used(prod, cons)?.min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let start = (cons & MASK) as usize;
        let first = n.min(XENSTORE_RING_SIZE - start);
        for (i, b) in buf[..first].iter_mut().enumerate() {
            // SAFETY: inside `buf` of the ring (`start + i <
            // XENSTORE_RING_SIZE`) and inside the part the peer published;
            // it does not write there until we free it below.
            *b = unsafe { self.inp.buf.add(start + i).read_volatile() };
        }
        for (i, b) in buf[first..n].iter_mut().enumerate() {
            // SAFETY: the wrapped part, from offset 0, as above.
            *b = unsafe { self.inp.buf.add(i).read_volatile() };
        }
        // Release: our reads of the bytes happen before the peer may
        // reuse the space.
        cons_a.store(cons.wrapping_add(n as u32), Ordering::Release);
        (self.notify)();
        Ok(n)
    }
}

impl<N: FnMut(), W: FnMut() -> Result<(), XsError>> XsTransport for XsRing<N, W> {
    fn send(&mut self, bytes: &[u8]) -> Result<usize, XsError> {
        let mut done = 0;
        // At most two rounds: the peer may free space between them.
        while done < bytes.len() {
            let n = self.produce(&bytes[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, XsError> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.consume(&mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn wait(&mut self) -> Result<(), XsError> {
        (self.wait)()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    fn page(start: u32) -> Box<XenstoreDomainInterface> {
        Box::new(XenstoreDomainInterface {
            req: [0; XENSTORE_RING_SIZE],
            rsp: [0; XENSTORE_RING_SIZE],
            req_cons: start,
            req_prod: start,
            rsp_cons: start,
            rsp_prod: start,
            server_features: 0,
            connection: 0,
            error: 0,
        })
    }

    fn ok() -> Result<(), XsError> {
        Ok(())
    }

    #[test]
    fn bytes_land_at_masked_offsets_and_wrap() {
        let mut pg = page(u32::MAX - 2);
        let p: *mut XenstoreDomainInterface = &mut *pg;
        let mut notes = 0;
        {
            // SAFETY: `pg` outlives both rings; each end exists once.
            let mut dom = unsafe { XsRing::domain(p, || notes += 1, ok) };
            assert_eq!(dom.send(b"abcdef").unwrap(), 6);
        }
        assert_eq!(notes, 1);
        // SAFETY: reading the page while no ring is alive.
        let pgr = unsafe { &*p };
        assert_eq!(&pgr.req[1021..1024], b"abc");
        assert_eq!(&pgr.req[0..3], b"def");
        assert_eq!(pgr.req_prod, 3);
        // SAFETY: as above.
        let mut st = unsafe { XsRing::store(p, || (), ok) };
        let mut b = [0u8; 16];
        assert_eq!(st.recv(&mut b).unwrap(), 6);
        assert_eq!(&b[..6], b"abcdef");
        assert_eq!(st.recv(&mut b).unwrap(), 0);
    }

    #[test]
    fn full_ring_takes_a_prefix() {
        let mut pg = page(7);
        let p: *mut XenstoreDomainInterface = &mut *pg;
        // SAFETY: `pg` outlives both rings.
        let mut dom = unsafe { XsRing::domain(p, || (), ok) };
        // SAFETY: as above.
        let mut st = unsafe { XsRing::store(p, || (), ok) };
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        while got.len() < data.len() {
            let n = dom.send(&data[sent..]).unwrap();
            assert!(n <= XENSTORE_RING_SIZE);
            sent += n;
            let mut b = [0u8; 300];
            let m = st.recv(&mut b).unwrap();
            got.extend_from_slice(&b[..m]);
        }
        assert_eq!(got, data);
    }

    #[test]
    fn corrupt_indices_are_detected() {
        let mut pg = page(0);
        pg.rsp_prod = 2000;
        pg.req_cons = 5; // consumer ahead of producer
        let p: *mut XenstoreDomainInterface = &mut *pg;
        // SAFETY: `pg` outlives the ring.
        let mut dom = unsafe { XsRing::domain(p, || (), ok) };
        let mut b = [0u8; 4];
        let bad = Err(XsError::Protocol(ProtocolError::RingIndex));
        assert_eq!(dom.recv(&mut b), bad);
        assert_eq!(dom.send(b"x"), bad);
    }
}
