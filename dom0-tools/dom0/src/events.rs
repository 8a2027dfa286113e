//! dom0's event channels: waiting for domUs without spinning.
//!
//! dom0 is a single loop, so it takes events the way Linux's
//! `xen_poll_irq` does rather than through an upcall: its vCPU runs with
//! `evtchn_upcall_mask` set and every port it uses masked, and when idle
//! it blocks in `SCHEDOP_poll` on the ports it cares about (up to 128)
//! with a timeout. Xen wakes a poller when one of the polled ports becomes
//! pending whatever the masks say, and a masked port never raises an
//! upcall. So no event callback is needed; after waking, dom0 tests and
//! clears the PENDING bits of its ports in `shared_info` itself.
//! (`SCHEDOP_block` would not do: it re-enables event delivery, i.e.
//! upcalls, before blocking.)
//!
//! `VIRQ_DOM_EXC` (bound here) fires when a domain shuts down or its
//! destruction completes; dom0 then asks `XEN_DOMCTL_getdomaininfo`.

use crate::error::{Context, Error, Result};
use crate::mm::{Slot, Window};
use core::mem::offset_of;
use pv_abi::abi::xen::{SharedInfo, StartInfo, VcpuInfo, VcpuTimeInfo, VIRQ_DOM_EXC};
use pv_abi::evtchn::SharedInfo2l;
use pv_abi::ring::SharedPage;
use pv_abi::{hypercall, Port};

/// dom0's own `shared_info`, mapped, and its `VIRQ_DOM_EXC` port.
pub struct Events {
    shared: SharedInfo2l,
    _slot: Slot,
    dom_exc: Port,
}

impl Events {
    /// Maps `shared_info` into `win`, masks upcalls of vCPU 0 and binds
    /// `VIRQ_DOM_EXC`.
    pub fn new(si: &StartInfo, win: &mut Window) -> Result<Events> {
        let slot = win.map(pv_abi::DomId::DOM0, si.shared_info >> 12)?;
        // SAFETY: the slot maps dom0's shared_info page (4096 bytes) for as
        // long as dom0 runs (it is never unmapped); dom0 reaches it only
        // through this handle, atomically.
        let page = unsafe { SharedPage::new(win.va(slot), 4096) }.map_err(|_| Error::Bad("shared_info mapping", 0))?;
        let shared = SharedInfo2l::new(page).map_err(|_| Error::Bad("shared_info layout", 0))?;
        shared.set_upcall_mask(0, true).map_err(|_| Error::Bad("vcpu_info 0", 0))?;
        let dom_exc = hypercall::evtchn_bind_virq(VIRQ_DOM_EXC, 0).ctx("EVTCHNOP_bind_virq(VIRQ_DOM_EXC)")?;
        let ev = Events { shared, _slot: slot, dom_exc };
        ev.mask(dom_exc)?;
        Ok(ev)
    }

    /// The `VIRQ_DOM_EXC` port.
    pub fn dom_exc(&self) -> Port {
        self.dom_exc
    }

    /// Masks `port` (it will only ever wake a poll).
    pub fn mask(&self, port: Port) -> Result {
        self.shared.test_and_set_mask(port).map(drop).map_err(|_| Error::Bad("event channel port", port.0 as u64))
    }

    /// Whether `port` was pending; clears it.
    pub fn take(&self, port: Port) -> bool {
        self.shared.test_and_clear_pending(port).unwrap_or(false)
    }

    /// Blocks until one of `ports` is pending or system time `deadline`
    /// (ns) passes. Returns at once if one is pending already.
    pub fn wait(&self, ports: &[Port], deadline: u64) -> Result {
        let mut raw = [0u32; 128];
        if ports.len() > raw.len() {
            return Err(Error::Bad("too many ports to poll", ports.len() as u64));
        }
        for (r, p) in raw.iter_mut().zip(ports) {
            *r = p.0;
        }
        hypercall::sched_poll(&raw[..ports.len()], deadline).ctx("SCHEDOP_poll").map(drop)
    }

    /// Xen system time (ns since boot) from vCPU 0's pvclock.
    pub fn now(&self) -> u64 {
        let off = offset_of!(SharedInfo, vcpu_info) + offset_of!(VcpuInfo, time);
        loop {
            let Ok(t) = self.shared.page().read::<VcpuTimeInfo>(off) else { return 0 };
            let tsc = rdtsc();
            let Ok(again) = self.shared.page().read::<u32>(off) else { return 0 };
            if t.version & 1 == 1 || t.version != again {
                continue;
            }
            let mut delta = tsc.wrapping_sub(t.tsc_timestamp);
            if t.tsc_shift >= 0 {
                delta <<= t.tsc_shift;
            } else {
                delta >>= -t.tsc_shift;
            }
            return t.system_time.wrapping_add(((delta as u128 * t.tsc_to_system_mul as u128) >> 32) as u64);
        }
    }
}

fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the time-stamp counter (PV guests may).
    unsafe { core::arch::asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}
