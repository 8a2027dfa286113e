//! # hv: the hypervisor as the guest services see it
//!
//! [`Hypervisor`] is the small set of hypercalls the guest services
//! ([`evtchn`](crate::evtchn), [`gnttab`](crate::gnttab),
//! [`console`](crate::console)) need. Every service is generic over it, so
//! a PV kernel instantiates them with the zero-sized [`Xen`] (the real
//! hypercalls of [`crate::hypercall`]) and host tests with a model of the
//! hypervisor (`pv-abi/tests/services.rs` models two domains in one
//! process).
//!
//! The trait adds nothing to the ABI: each method is one hypercall with the
//! arguments and results of its `pv_abi::hypercall` wrapper, errors are the
//! hypervisor's `Errno`. Methods take `&self` because hypercalls do not
//! need exclusive access to anything on the guest side; a model with state
//! uses interior mutability.
//!
//! This module has no `unsafe` code.

use crate::abi::errno::Errno;
use crate::abi::event_channel::EvtchnStatus;
use crate::abi::grant_table::GnttabCopy;
use crate::hypercall;
use crate::types::{DomId, Port};

/// The result of one hypercall: its value, or the errno the hypervisor
/// returned.
pub type HvResult<T = ()> = Result<T, Errno>;

/// The hypercalls the guest services make.
///
/// Implemented by [`Xen`] for a PV kernel, by `&H` for any implementation
/// (so several services can share one hypervisor handle), and by test
/// models.
pub trait Hypervisor {
    /// `EVTCHNOP_alloc_unbound`: a new local port that `remote` may bind to.
    fn evtchn_alloc_unbound(&self, remote: DomId) -> HvResult<Port>;
    /// `EVTCHNOP_bind_interdomain`: connect a new local port to
    /// `<remote, remote_port>`. Xen sets the new local port pending.
    fn evtchn_bind_interdomain(&self, remote: DomId, remote_port: Port) -> HvResult<Port>;
    /// `EVTCHNOP_bind_virq`: a new port for `VIRQ_*` `virq` on `vcpu`.
    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> HvResult<Port>;
    /// `EVTCHNOP_bind_ipi`: a new port for IPIs to `vcpu`.
    fn evtchn_bind_ipi(&self, vcpu: u32) -> HvResult<Port>;
    /// `EVTCHNOP_bind_vcpu`: make `port` notify `vcpu`.
    fn evtchn_bind_vcpu(&self, port: Port, vcpu: u32) -> HvResult;
    /// `EVTCHNOP_send`: raise the remote end of `port` (the port itself for
    /// an IPI).
    fn evtchn_send(&self, port: Port) -> HvResult;
    /// `EVTCHNOP_close`: close `port`; an interdomain peer becomes unbound.
    fn evtchn_close(&self, port: Port) -> HvResult;
    /// `EVTCHNOP_unmask`: clear `port`'s mask bit and, if it is pending,
    /// re-raise it (selector bit and `evtchn_upcall_pending` of its vCPU).
    fn evtchn_unmask(&self, port: Port) -> HvResult;
    /// `EVTCHNOP_status` of `<dom, port>`.
    fn evtchn_status(&self, dom: DomId, port: Port) -> HvResult<EvtchnStatus>;
    /// Make the hypervisor deliver a pending upcall now. Any hypercall
    /// does (Xen checks for events on every return to the guest); Linux's
    /// `xen_force_evtchn_callback` uses `xen_version(0)`, and so does
    /// [`Xen`].
    fn force_evtchn_callback(&self);
    /// `GNTTABOP_setup_table` for `DOMID_SELF`: grow the grant table to
    /// `frames.len()` frames and write their frame numbers (MFNs for PV)
    /// into `frames`.
    fn gnttab_setup_table(&self, frames: &mut [u64]) -> HvResult;
    /// `GNTTABOP_query_size` for `DOMID_SELF`: `(current frames, maximum
    /// frames)`.
    fn gnttab_query_size(&self) -> HvResult<(u32, u32)>;
    /// `GNTTABOP_copy` of a batch. `Ok` means the batch was processed; each
    /// op's own `status` (`GNTST_*`) says whether it succeeded.
    fn gnttab_copy(&self, ops: &mut [GnttabCopy]) -> HvResult;
    /// `console_io(CONSOLEIO_write)`: the hypervisor's own console. Real
    /// Xen accepts it from dom0 only; a domU writes its console ring.
    fn console_io_write(&self, buf: &[u8]) -> HvResult;
    /// `SCHEDOP_yield`: let other vCPUs (e.g. a back end) run while this
    /// one waits for shared-memory progress.
    fn sched_yield(&self);
}

impl<H: Hypervisor + ?Sized> Hypervisor for &H {
    fn evtchn_alloc_unbound(&self, remote: DomId) -> HvResult<Port> {
        (**self).evtchn_alloc_unbound(remote)
    }
    fn evtchn_bind_interdomain(&self, remote: DomId, remote_port: Port) -> HvResult<Port> {
        (**self).evtchn_bind_interdomain(remote, remote_port)
    }
    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> HvResult<Port> {
        (**self).evtchn_bind_virq(virq, vcpu)
    }
    fn evtchn_bind_ipi(&self, vcpu: u32) -> HvResult<Port> {
        (**self).evtchn_bind_ipi(vcpu)
    }
    fn evtchn_bind_vcpu(&self, port: Port, vcpu: u32) -> HvResult {
        (**self).evtchn_bind_vcpu(port, vcpu)
    }
    fn evtchn_send(&self, port: Port) -> HvResult {
        (**self).evtchn_send(port)
    }
    fn evtchn_close(&self, port: Port) -> HvResult {
        (**self).evtchn_close(port)
    }
    fn evtchn_unmask(&self, port: Port) -> HvResult {
        (**self).evtchn_unmask(port)
    }
    fn evtchn_status(&self, dom: DomId, port: Port) -> HvResult<EvtchnStatus> {
        (**self).evtchn_status(dom, port)
    }
    fn force_evtchn_callback(&self) {
        (**self).force_evtchn_callback()
    }
    fn gnttab_setup_table(&self, frames: &mut [u64]) -> HvResult {
        (**self).gnttab_setup_table(frames)
    }
    fn gnttab_query_size(&self) -> HvResult<(u32, u32)> {
        (**self).gnttab_query_size()
    }
    fn gnttab_copy(&self, ops: &mut [GnttabCopy]) -> HvResult {
        (**self).gnttab_copy(ops)
    }
    fn console_io_write(&self, buf: &[u8]) -> HvResult {
        (**self).console_io_write(buf)
    }
    fn sched_yield(&self) {
        (**self).sched_yield()
    }
}

/// The real hypervisor: every method is the [`crate::hypercall`] wrapper
/// of the same name. Only meaningful inside a PV kernel (a host process
/// has no hypercall page).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Xen;

impl Hypervisor for Xen {
    fn evtchn_alloc_unbound(&self, remote: DomId) -> HvResult<Port> {
        hypercall::evtchn_alloc_unbound(remote)
    }
    fn evtchn_bind_interdomain(&self, remote: DomId, remote_port: Port) -> HvResult<Port> {
        hypercall::evtchn_bind_interdomain(remote, remote_port)
    }
    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> HvResult<Port> {
        hypercall::evtchn_bind_virq(virq, vcpu)
    }
    fn evtchn_bind_ipi(&self, vcpu: u32) -> HvResult<Port> {
        hypercall::evtchn_bind_ipi(vcpu)
    }
    fn evtchn_bind_vcpu(&self, port: Port, vcpu: u32) -> HvResult {
        hypercall::evtchn_bind_vcpu(port, vcpu).map(drop)
    }
    fn evtchn_send(&self, port: Port) -> HvResult {
        hypercall::evtchn_send(port).map(drop)
    }
    fn evtchn_close(&self, port: Port) -> HvResult {
        hypercall::evtchn_close(port).map(drop)
    }
    fn evtchn_unmask(&self, port: Port) -> HvResult {
        hypercall::evtchn_unmask(port).map(drop)
    }
    fn evtchn_status(&self, dom: DomId, port: Port) -> HvResult<EvtchnStatus> {
        hypercall::evtchn_status(dom, port)
    }
    fn force_evtchn_callback(&self) {
        // Linux: `HYPERVISOR_xen_version(0, NULL)`. The value is irrelevant;
        // the return to the guest delivers the upcall.
        let _ = hypercall::xen_version();
    }
    fn gnttab_setup_table(&self, frames: &mut [u64]) -> HvResult {
        hypercall::gnttab_setup_table(frames)
    }
    fn gnttab_query_size(&self) -> HvResult<(u32, u32)> {
        hypercall::gnttab_query_size()
    }
    fn gnttab_copy(&self, ops: &mut [GnttabCopy]) -> HvResult {
        hypercall::gnttab_copy(ops).map(drop)
    }
    fn console_io_write(&self, buf: &[u8]) -> HvResult {
        hypercall::console_write(buf).map(drop)
    }
    fn sched_yield(&self) {
        // A failed yield only means we spin a little faster.
        let _ = hypercall::sched_yield();
    }
}
