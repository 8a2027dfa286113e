//! A guest built only on pv-abi that runs as dom0 on real Xen 4.17 and on
//! our hypervisor alike: xen_version, console_io, an event channel to
//! itself, grant-table setup and a self grant copy. It ends the run itself
//! through QEMU's debug-exit port (I/O privilege from `PHYSDEVOP_set_iopl`),
//! which works the same under both hypervisors.
//!
//! Anything our hypervisor does not implement yet (`-ENOSYS`) is reported
//! as `SKIP`, never hidden; on real Xen every check must pass.

#![no_std]
#![no_main]

use pv_abi::abi::errno::{Errno, ENOSYS};
use pv_abi::abi::event_channel::*;
use pv_abi::abi::grant_table::*;
use pv_abi::abi::xen::*;
use pv_abi::{hypercall, kprintln, qemu_exit, DomId, Port};
use test_guests::mem::{pte, Mem};

pv_abi::pv_kernel!(main, features = "!writable_page_tables", supported = 1 << pv_abi::abi::features::XENFEAT_dom0);
kernel_rt::panic_handler!(pv_abi::kernel::panic);

const NAME: &str = "pvcheck";

fn fail(what: &str, e: impl core::fmt::Debug) -> ! {
    kprintln!("{NAME}: FAIL: {what}: {e:?}");
    test_guests::qemu_exit(qemu_exit::TEST_FAIL)
}

/// `Ok(true)`: passed; `Ok(false)`: skipped (`-ENOSYS`).
type Step = Result<bool, (&'static str, Errno)>;

fn main(si: &'static StartInfo) -> ! {
    let (major, minor) = hypercall::xen_version();
    let extra = hypercall::xen_extraversion().unwrap_or_default();
    let mut caps = [0u8; 1024];
    let _ = hypercall::xen_capabilities(&mut caps);
    kprintln!("{NAME}: Xen {major}.{minor}{} '{}'", cstr(&extra), cstr(&caps).trim_end());
    if major < 4 || !cstr(&caps).contains("xen-3.0-x86_64") {
        fail("xen_version", (major, minor));
    }
    let feats = hypercall::xen_features(0).unwrap_or_else(|e| fail("XENVER_get_features", e));
    if feats & (1 << pv_abi::abi::features::XENFEAT_dom0) == 0 {
        fail("XENFEAT_dom0 not reported to dom0", feats);
    }
    kprintln!("{NAME}: console_io and xen_version OK (features {feats:#x})");

    let mut m = Mem::new(si);
    let mut skipped = 0;
    for (what, step) in [("event channel", evtchn(&m, si)), ("grant copy", grant(&mut m))] {
        match step {
            Ok(true) => kprintln!("{NAME}: {what} OK"),
            Ok(false) => {
                kprintln!("{NAME}: SKIP {what}: not implemented by this hypervisor (-ENOSYS)");
                skipped += 1;
            }
            Err((op, e)) => fail(op, e),
        }
    }
    kprintln!("{NAME}: PASS ({skipped} skipped)");
    test_guests::qemu_exit(qemu_exit::TEST_PASS)
}

fn cstr(b: &[u8]) -> &str {
    pv_abi::abi::xen::cstr(b)
}

fn skip_or<T>(r: Result<T, Errno>, op: &'static str) -> Result<Option<T>, (&'static str, Errno)> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Errno(ENOSYS)) => Ok(None),
        Err(e) => Err((op, e)),
    }
}

/// An interdomain channel from this domain to itself: sending on one end
/// sets the other end's pending bit in shared_info.
fn evtchn(m: &Mem, si: &StartInfo) -> Step {
    let Some(a) = skip_or(hypercall::evtchn_alloc_unbound(DomId::SELF), "EVTCHNOP_alloc_unbound")? else {
        return Ok(false);
    };
    let b = hypercall::evtchn_bind_interdomain(DomId::SELF, a).map_err(|e| ("EVTCHNOP_bind_interdomain", e))?;
    // Map shared_info to look at the bitmaps; mask both ports first.
    let va = m.v_end - 2 * 4096;
    // SAFETY: a padding page of the region becomes the shared_info mapping.
    unsafe { hypercall::update_va_mapping(va, si.shared_info | pte::PAGE, UVMF_INVLPG) }
        .map_err(|e| ("map shared_info", e))?;
    let word = |base: u64, p: Port| (va + base + (p.0 as u64 / 64) * 8) as *mut u64;
    let bit = |p: Port| 1u64 << (p.0 % 64);
    let (pending, mask) = (2048u64, 2560u64);
    // SAFETY: shared_info is mapped at `va`; the words are in it.
    unsafe {
        for p in [a, b] {
            *word(mask, p) |= bit(p);
            *word(pending, p) &= !bit(p);
        }
    }
    hypercall::evtchn_send(b).map_err(|e| ("EVTCHNOP_send", e))?;
    // SAFETY: as above.
    let (pa, pb) = unsafe { (*word(pending, a) & bit(a), *word(pending, b) & bit(b)) };
    if pa == 0 || pb != 0 {
        return Err(("send on one end must set the other end pending", Errno(0)));
    }
    let st = hypercall::evtchn_status(DomId::SELF, a).map_err(|e| ("EVTCHNOP_status", e))?;
    if st.status != EVTCHNSTAT_interdomain {
        return Err(("status of a bound port", Errno(st.status as i32)));
    }
    hypercall::evtchn_close(a).map_err(|e| ("EVTCHNOP_close", e))?;
    hypercall::evtchn_close(b).map_err(|e| ("EVTCHNOP_close", e))?;
    Ok(true)
}

/// Sets up a one-frame grant table, grants a page to itself, and copies
/// from the grant into another page with GNTTABOP_copy.
fn grant(m: &mut Mem) -> Step {
    let mut frames = [0u64; 1];
    let Some(()) = skip_or(hypercall::gnttab_setup_table(&mut frames), "GNTTABOP_setup_table")? else {
        return Ok(false);
    };
    let table_va = m.v_end - 3 * 4096;
    // SAFETY: maps the grant-table frame the hypervisor gave us.
    unsafe { hypercall::update_va_mapping(table_va, (frames[0] << 12) | pte::PAGE, UVMF_INVLPG) }
        .map_err(|e| ("map the grant table", e))?;
    let (src, dst) = (m.alloc(), m.alloc());
    m.with_page(src, |p| {
        for (i, w) in p.iter_mut().enumerate() {
            *w = 0x6772_616e_7400_0000 | i as u64;
        }
    })
    .map_err(|e| ("fill the source page", e))?;
    m.with_page(dst, |p| p.fill(0)).map_err(|e| ("clear the destination", e))?;
    let gref = 8u32;
    let entry = (table_va + gref as u64 * 8) as *mut GrantEntryV1;
    // SAFETY: entry 8 of our own grant table; flags written last (Xen's protocol).
    unsafe {
        (*entry).domid = 0; // the grantee: ourselves, dom0 (Xen wants the real id)
        (*entry).frame = m.mfn(src) as u32;
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
        core::ptr::write_volatile(&mut (*entry).flags, GTF_permit_access | GTF_readonly);
    }
    let mut op = <GnttabCopy as zerocopy::FromZeros>::new_zeroed();
    op.source = GnttabCopyPtr { u: gref as u64, domid: DOMID_SELF, offset: 0, _pad: 0 };
    op.dest = GnttabCopyPtr { u: m.mfn(dst), domid: DOMID_SELF, offset: 0, _pad: 0 };
    op.len = 4096;
    op.flags = GNTCOPY_source_gref;
    hypercall::gnttab_copy(core::slice::from_mut(&mut op)).map_err(|e| ("GNTTABOP_copy", e))?;
    if op.status != GNTST_okay {
        return Err(("GNTTABOP_copy status", Errno(op.status as i32)));
    }
    let same = m.with_page(dst, |p| p.iter().enumerate().all(|(i, w)| *w == 0x6772_616e_7400_0000 | i as u64));
    if same != Ok(true) {
        return Err(("copied data differs", Errno(0)));
    }
    // SAFETY: revoke: nobody maps it (a copy holds no mapping).
    unsafe { core::ptr::write_volatile(&mut (*entry).flags, 0) };
    Ok(true)
}
