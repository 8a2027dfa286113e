//! The front end: produces requests, consumes responses.

use super::shared::{Index, Sring};
use super::{
    need_notify, response_prod_overflow, shared_ring_init, LayoutError, NoFreeSlot, PeerError, RingIdx, RingSlot,
    SharedPage,
};
use core::sync::atomic::{fence, Ordering};

/// The front half of a ring (`struct __name##_front_ring`): the shared area
/// plus the front end's private `req_prod_pvt` and `rsp_cons`.
#[derive(Debug)]
pub struct FrontRing<Req, Rsp> {
    sring: Sring<Req, Rsp>,
    req_prod_pvt: RingIdx,
    rsp_cons: RingIdx,
}

impl<Req: RingSlot, Rsp: RingSlot> FrontRing<Req, Rsp> {
    /// `FRONT_RING_INIT`: private indices 0; the shared header is left
    /// as it is (see [`init_shared`](Self::init_shared)).
    pub fn new(page: SharedPage) -> Result<Self, LayoutError> {
        Self::attach(page, 0)
    }

    /// `FRONT_RING_ATTACH`: adopt a ring whose indices are at `idx`
    /// (`req_prod_pvt = rsp_cons = idx`), e.g. after resume. Nothing may be
    /// outstanding at `idx`: responses beyond it will be reported as
    /// [`PeerError::UnrequestedResponses`].
    pub fn attach(page: SharedPage, idx: RingIdx) -> Result<Self, LayoutError> {
        Ok(FrontRing { sring: Sring::new(page)?, req_prod_pvt: idx, rsp_cons: idx })
    }

    /// `XEN_FRONT_RING_INIT`: [`shared_ring_init`] then [`new`](Self::new).
    pub fn init_shared(page: SharedPage) -> Result<Self, LayoutError> {
        shared_ring_init(&page)?;
        Self::new(page)
    }

    /// Gives the shared area back.
    pub fn into_page(self) -> SharedPage {
        self.sring.into_page()
    }

    /// `RING_SIZE`: number of slots (a power of two).
    pub fn size(&self) -> u32 {
        self.sring.size()
    }

    /// Requests produced so far, pushed or not (`req_prod_pvt`).
    pub fn req_prod_pvt(&self) -> RingIdx {
        self.req_prod_pvt
    }

    /// Responses consumed so far (`rsp_cons`).
    pub fn rsp_cons(&self) -> RingIdx {
        self.rsp_cons
    }

    /// `RING_FREE_REQUESTS`: slots free for new requests.
    pub fn free_requests(&self) -> u32 {
        self.size().wrapping_sub(self.req_prod_pvt.wrapping_sub(self.rsp_cons))
    }

    /// `RING_FULL`: no slot is free for a request.
    pub fn is_full(&self) -> bool {
        self.free_requests() == 0
    }

    /// Writes `req` into the next free slot (`*RING_GET_REQUEST(r,
    /// r->req_prod_pvt++) = req`) and returns its index. The back end does
    /// not see it until [`push_requests`](Self::push_requests).
    pub fn produce_request(&mut self, req: Req) -> Result<RingIdx, NoFreeSlot> {
        if self.is_full() {
            return Err(NoFreeSlot);
        }
        let idx = self.req_prod_pvt;
        self.sring.write_req(idx, req);
        self.req_prod_pvt = idx.wrapping_add(1);
        Ok(idx)
    }

    /// `RING_PUSH_REQUESTS`: publish the produced requests.
    pub fn push_requests(&mut self) {
        // xen_wmb(): the back end must see the requests before the index.
        // A release store orders every earlier slot write before it; the
        // back end's acquire load of req_prod pairs with it.
        self.sring.index(Index::ReqProd).store(self.req_prod_pvt, Ordering::Release);
    }

    /// `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`: publish the produced requests
    /// and return whether the back end asked to be notified (its
    /// `req_event` lies in the range just published).
    pub fn push_requests_and_check_notify(&mut self) -> bool {
        // Only we write req_prod, so this is our last published value. A
        // hostile peer rewriting it can only change the notify decision.
        let old = self.sring.index(Index::ReqProd).load(Ordering::Relaxed);
        let new = self.req_prod_pvt;
        // xen_wmb(): requests before index (release store, as above).
        self.sring.index(Index::ReqProd).store(new, Ordering::Release);
        // xen_mb(): the store of req_prod must be globally visible before we
        // load req_event. Paired with the full fence in the back end's
        // final check (store req_event; fence; load req_prod), two SeqCst
        // fences guarantee at least one side sees the other's store: either
        // the back end sees our requests or we see its new req_event.
        fence(Ordering::SeqCst);
        let event = self.sring.index(Index::ReqEvent).load(Ordering::Relaxed);
        need_notify(old, new, event)
    }

    /// Reads `rsp_prod` once and validates it: it must lie in
    /// `[rsp_cons, req_prod_pvt]`.
    fn rsp_prod(&self) -> Result<RingIdx, PeerError> {
        // Acquire is xen_rmb() after reading the producer index: the
        // response slots are read only after the index that published them.
        let rsp_prod = self.sring.index(Index::RspProd).load(Ordering::Acquire);
        if response_prod_overflow(rsp_prod, self.rsp_cons, self.size()) {
            return Err(PeerError::ResponseProdOverflow { rsp_prod, rsp_cons: self.rsp_cons, size: self.size() });
        }
        if rsp_prod.wrapping_sub(self.rsp_cons) > self.req_prod_pvt.wrapping_sub(self.rsp_cons) {
            return Err(PeerError::UnrequestedResponses {
                rsp_prod,
                rsp_cons: self.rsp_cons,
                req_prod_pvt: self.req_prod_pvt,
            });
        }
        Ok(rsp_prod)
    }

    /// `RING_HAS_UNCONSUMED_RESPONSES`: responses published and not yet
    /// consumed, after validating the back end's `rsp_prod`.
    pub fn unconsumed_responses(&self) -> Result<u32, PeerError> {
        Ok(self.rsp_prod()?.wrapping_sub(self.rsp_cons))
    }

    /// `RING_RESPONSE_PROD_OVERFLOW` for this ring: could `rsp_prod` be a
    /// well-behaved back end's?
    pub fn response_prod_overflow(&self, rsp_prod: RingIdx) -> bool {
        response_prod_overflow(rsp_prod, self.rsp_cons, self.size())
    }

    /// `RING_GET_RESPONSE` + `RING_COPY_RESPONSE`: a copy of the response in
    /// slot `idx` (masked, so any index is memory-safe), read once. Prefer
    /// [`next_response`](Self::next_response), which checks `idx` is
    /// published.
    pub fn get_response(&self, idx: RingIdx) -> Rsp {
        self.sring.read_rsp(idx)
    }

    /// Consumes the next response if one is published: a copy of it, with
    /// `rsp_cons` advanced. `Ok(None)` when there is none.
    pub fn next_response(&mut self) -> Result<Option<Rsp>, PeerError> {
        if self.unconsumed_responses()? == 0 {
            return Ok(None);
        }
        let rsp = self.sring.read_rsp(self.rsp_cons);
        self.rsp_cons = self.rsp_cons.wrapping_add(1);
        Ok(Some(rsp))
    }

    /// `RING_FINAL_CHECK_FOR_RESPONSES`: call before sleeping. If no
    /// response is pending, asks for a notification on the very next one
    /// (`rsp_event = rsp_cons + 1`) and checks once more. `Ok(true)` means
    /// there is work: do not sleep.
    pub fn final_check_for_responses(&mut self) -> Result<bool, PeerError> {
        if self.unconsumed_responses()? != 0 {
            return Ok(true);
        }
        self.sring.index(Index::RspEvent).store(self.rsp_cons.wrapping_add(1), Ordering::Relaxed);
        // xen_mb(): rsp_event must be visible to the back end before we
        // re-read rsp_prod; pairs with the fence in the back end's
        // push_responses_and_check_notify (see push_requests_and_check_notify).
        fence(Ordering::SeqCst);
        Ok(self.unconsumed_responses()? != 0)
    }
}
