//! The back end: consumes requests, produces responses.

use super::shared::{Index, Sring};
use super::{
    need_notify, request_cons_overflow, request_prod_overflow, LayoutError, NoFreeSlot, PeerError, RingIdx, RingSlot,
    SharedPage,
};
use core::sync::atomic::{fence, Ordering};

/// The back half of a ring (`struct __name##_back_ring`): the shared area
/// plus the back end's private `rsp_prod_pvt` and `req_cons`.
///
/// The front end is not trusted: its `req_prod` is read once per call,
/// validated against what the ring can hold, and a bad one is a
/// [`PeerError`] with nothing consumed.
#[derive(Debug)]
pub struct BackRing<Req, Rsp> {
    sring: Sring<Req, Rsp>,
    rsp_prod_pvt: RingIdx,
    req_cons: RingIdx,
}

impl<Req: RingSlot, Rsp: RingSlot> BackRing<Req, Rsp> {
    /// `BACK_RING_INIT`: private indices 0. Only the front end initialises
    /// the shared header.
    pub fn new(page: SharedPage) -> Result<Self, LayoutError> {
        Self::attach(page, 0)
    }

    /// `BACK_RING_ATTACH`: adopt a ring whose indices are at `idx`
    /// (`rsp_prod_pvt = req_cons = idx`).
    pub fn attach(page: SharedPage, idx: RingIdx) -> Result<Self, LayoutError> {
        Ok(BackRing { sring: Sring::new(page)?, rsp_prod_pvt: idx, req_cons: idx })
    }

    /// Gives the shared area back.
    pub fn into_page(self) -> SharedPage {
        self.sring.into_page()
    }

    /// `RING_SIZE`: number of slots (a power of two).
    pub fn size(&self) -> u32 {
        self.sring.size()
    }

    /// Responses produced so far, pushed or not (`rsp_prod_pvt`).
    pub fn rsp_prod_pvt(&self) -> RingIdx {
        self.rsp_prod_pvt
    }

    /// Requests consumed so far (`req_cons`).
    pub fn req_cons(&self) -> RingIdx {
        self.req_cons
    }

    /// `RING_REQUEST_CONS_OVERFLOW` for this ring: would consuming request
    /// `cons` leave no slot for its response?
    pub fn request_cons_overflow(&self, cons: RingIdx) -> bool {
        request_cons_overflow(cons, self.rsp_prod_pvt, self.size())
    }

    /// `RING_REQUEST_PROD_OVERFLOW` for this ring: is `req_prod` more than a
    /// well-behaved front end could have produced?
    pub fn request_prod_overflow(&self, req_prod: RingIdx) -> bool {
        request_prod_overflow(req_prod, self.rsp_prod_pvt, self.size())
    }

    /// Reads `req_prod` once and validates it: it must lie in
    /// `[req_cons, rsp_prod_pvt + size]`.
    fn req_prod(&self) -> Result<RingIdx, PeerError> {
        // Acquire is xen_rmb() after reading the producer index: the
        // request slots are read only after the index that published them.
        let req_prod = self.sring.index(Index::ReqProd).load(Ordering::Acquire);
        if self.request_prod_overflow(req_prod) {
            return Err(PeerError::RequestProdOverflow {
                req_prod,
                rsp_prod_pvt: self.rsp_prod_pvt,
                size: self.size(),
            });
        }
        if req_prod.wrapping_sub(self.rsp_prod_pvt) < self.req_cons.wrapping_sub(self.rsp_prod_pvt) {
            return Err(PeerError::RequestProdBehind { req_prod, req_cons: self.req_cons });
        }
        Ok(req_prod)
    }

    /// `RING_HAS_UNCONSUMED_REQUESTS`: requests that may be consumed now,
    /// `min(req_prod - req_cons, size - (req_cons - rsp_prod_pvt))` (never
    /// more than there are slots for their responses), after validating
    /// the front end's `req_prod`.
    pub fn unconsumed_requests(&self) -> Result<u32, PeerError> {
        let req = self.req_prod()?.wrapping_sub(self.req_cons);
        let rsp = self.size().wrapping_sub(self.req_cons.wrapping_sub(self.rsp_prod_pvt));
        Ok(req.min(rsp))
    }

    /// `RING_GET_REQUEST` + `RING_COPY_REQUEST`: a copy of the request in
    /// slot `idx` (masked, so any index is memory-safe), read once, so the
    /// front end cannot change it after it is validated (XSA-155). Prefer
    /// [`next_request`](Self::next_request), which checks `idx` is
    /// published.
    pub fn get_request(&self, idx: RingIdx) -> Req {
        self.sring.read_req(idx)
    }

    /// Consumes the next request if one is published: a copy of it, with
    /// `req_cons` advanced. `Ok(None)` when there is none, or when every
    /// slot holds a request still waiting for its response.
    pub fn next_request(&mut self) -> Result<Option<Req>, PeerError> {
        if self.unconsumed_requests()? == 0 || self.request_cons_overflow(self.req_cons) {
            return Ok(None);
        }
        let req = self.sring.read_req(self.req_cons);
        self.req_cons = self.req_cons.wrapping_add(1);
        Ok(Some(req))
    }

    /// Writes `rsp` into the next response slot (`*RING_GET_RESPONSE(r,
    /// r->rsp_prod_pvt++) = rsp`) and returns its index. Fails if every
    /// consumed request already has a response: that slot may still be
    /// the front end's. The front end does not see it until
    /// [`push_responses`](Self::push_responses).
    pub fn produce_response(&mut self, rsp: Rsp) -> Result<RingIdx, NoFreeSlot> {
        if self.rsp_prod_pvt == self.req_cons {
            return Err(NoFreeSlot);
        }
        let idx = self.rsp_prod_pvt;
        self.sring.write_rsp(idx, rsp);
        self.rsp_prod_pvt = idx.wrapping_add(1);
        Ok(idx)
    }

    /// `RING_PUSH_RESPONSES`: publish the produced responses.
    pub fn push_responses(&mut self) {
        // xen_wmb(): the front end must see the responses before the index.
        // A release store orders every earlier slot write (and our earlier
        // reads of the request slots they reuse) before it; the front end's
        // acquire load of rsp_prod pairs with it.
        self.sring.index(Index::RspProd).store(self.rsp_prod_pvt, Ordering::Release);
    }

    /// `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`: publish the produced responses
    /// and return whether the front end asked to be notified (its
    /// `rsp_event` lies in the range just published).
    pub fn push_responses_and_check_notify(&mut self) -> bool {
        // Only we write rsp_prod; a hostile peer rewriting it can only
        // change the notify decision.
        let old = self.sring.index(Index::RspProd).load(Ordering::Relaxed);
        let new = self.rsp_prod_pvt;
        // xen_wmb(): responses before index (release store, as above).
        self.sring.index(Index::RspProd).store(new, Ordering::Release);
        // xen_mb(): rsp_prod visible before we load rsp_event. Pairs with the
        // fence in the front end's final check: with both SeqCst fences, the
        // front end sees our responses or we see its new rsp_event.
        fence(Ordering::SeqCst);
        let event = self.sring.index(Index::RspEvent).load(Ordering::Relaxed);
        need_notify(old, new, event)
    }

    /// `RING_FINAL_CHECK_FOR_REQUESTS`: call before sleeping. If no request
    /// is pending, asks for a notification on the very next one
    /// (`req_event = req_cons + 1`) and checks once more. `Ok(true)` means
    /// there is work: do not sleep.
    pub fn final_check_for_requests(&mut self) -> Result<bool, PeerError> {
        if self.unconsumed_requests()? != 0 {
            return Ok(true);
        }
        self.sring.index(Index::ReqEvent).store(self.req_cons.wrapping_add(1), Ordering::Relaxed);
        // xen_mb(): req_event must be visible to the front end before we
        // re-read req_prod; pairs with the fence in the front end's
        // push_requests_and_check_notify.
        fence(Ordering::SeqCst);
        Ok(self.unconsumed_requests()? != 0)
    }
}
