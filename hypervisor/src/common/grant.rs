//! Grant tables, version 1 (Xen's `common/grant_table.c`).
//!
//! A domain shares a page by writing a v1 entry `{flags, domid, frame}` in
//! its grant table (frames the hypervisor allocates and the domain maps).
//! Another domain maps or copies that page by naming `(granter, ref)`.
//!
//! State on both sides:
//! - the granter's **active entry** per ref: who has it pinned, how many
//!   host/device mappings read-only and read-write, and the frame; while
//!   pinned the hypervisor keeps `GTF_reading` (and `GTF_writing` for
//!   writable pins) set in the shared entry, so the granter's
//!   `end_foreign_access` (a compare-and-swap on the flags) fails while
//!   the page is in use;
//! - the mapper's **maptrack** entry per mapping (the handle the guest
//!   unmaps with), recording the granter, ref, frame and where the
//!   host mapping (a PTE) lives.
//!
//! Each mapping holds a general reference on the frame (plus a writable
//! type reference if writable), so the page cannot be freed or become a
//! page table while mapped; a granter that dies leaves its mapped frames
//! to be freed when the last mapping goes. The PTE of a host mapping is
//! marked (`pte::GNTTAB`) and holds no references itself (as in Xen), so
//! only the grant code creates and removes it.
//!
//! Version 2 is refused with `-ENOSYS` (`set_version`), status frames
//! with `-EINVAL` (they exist only in v2), as Xen does with
//! `gnttab_max_version=1`.

use crate::common::Hv;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use pv_abi::abi::grant_table::*;
use pv_abi::{DomId, Mfn};

/// Entries per v1 grant frame.
pub const ENTRIES_PER_FRAME: u32 = 4096 / 8;
/// Default limit of grant frames per domain (Xen's `max_grant_frames`).
pub const DEFAULT_MAX_FRAMES: u32 = 64;
/// Default limit of maptrack entries per domain (Xen: 1024 frames of 256).
pub const DEFAULT_MAX_MAPTRACK: u32 = 1024 * 256;

/// `GNTST_*` status codes.
pub mod st {
    /// Success.
    pub const OKAY: i16 = 0;
    /// Anything else.
    pub const GENERAL_ERROR: i16 = -1;
    /// Unknown domain.
    pub const BAD_DOMAIN: i16 = -2;
    /// Ref out of range.
    pub const BAD_GNTREF: i16 = -3;
    /// Unknown handle.
    pub const BAD_HANDLE: i16 = -4;
    /// Bad virtual address.
    pub const BAD_VIRT_ADDR: i16 = -5;
    /// Bad device address.
    pub const BAD_DEV_ADDR: i16 = -6;
    /// No room for the mapping.
    pub const NO_DEVICE_SPACE: i16 = -7;
    /// Not allowed.
    pub const PERMISSION_DENIED: i16 = -8;
    /// Bad page.
    pub const BAD_PAGE: i16 = -9;
    /// Copy crosses a page.
    pub const BAD_COPY_ARG: i16 = -10;
    /// Address not mapped.
    pub const ADDRESS_TOO_BIG: i16 = -11;
    /// Try again.
    pub const EAGAIN: i16 = -12;
    /// Out of memory.
    pub const NO_SPACE: i16 = -13;
}

/// `GNTMAP_*` flags.
pub mod map {
    /// Device (DMA) mapping.
    pub const DEVICE_MAP: u32 = 1 << 0;
    /// Host (CPU) mapping.
    pub const HOST_MAP: u32 = 1 << 1;
    /// Read-only.
    pub const READONLY: u32 = 1 << 2;
    /// User-accessible mapping.
    pub const APPLICATION_MAP: u32 = 1 << 3;
    /// `host_addr` is the machine address of the PTE.
    pub const CONTAINS_PTE: u32 = 1 << 4;
}

/// Pin counter increments in [`Active::pin`] (Xen's `GNTPIN_*`).
pub mod pin {
    /// Host mapping, read-only.
    pub const HOST_RO: u32 = 1;
    /// Host mapping, read-write.
    pub const HOST_RW: u32 = 1 << 8;
    /// Device mapping, read-only.
    pub const DEV_RO: u32 = 1 << 16;
    /// Device mapping, read-write.
    pub const DEV_RW: u32 = 1 << 24;
    /// Any writable pin.
    pub const WRITE_MASK: u32 = 0xff00_ff00;
    /// A counter about to overflow.
    pub const OVERFLOW: u32 = 0x8080_8080;
}

/// The granter-side state of one ref.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Active {
    /// Pin counters.
    pub pin: u32,
    /// The domain holding the pins.
    pub domid: DomId,
    /// The pinned frame.
    pub frame: Mfn,
}

/// One mapping a domain holds of another's page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapTrack {
    /// The granter.
    pub dom: DomId,
    /// The ref.
    pub gref: u32,
    /// `GNTMAP_*` flags it was made with (host/device/readonly/pte).
    pub flags: u32,
    /// The frame.
    pub frame: Mfn,
    /// The PTE of the host mapping (L1 frame, index).
    pub pte: Option<(Mfn, usize)>,
}

/// A domain's grant table.
pub struct GrantTable {
    /// Shared v1 entry frames (hypervisor-allocated, owned by the domain).
    pub frames: Vec<Mfn>,
    /// Limit of `frames`.
    pub max_frames: u32,
    /// Active state per ref.
    pub active: Vec<Active>,
    /// Mappings this domain holds (`None`: free handle).
    pub maptrack: Vec<Option<MapTrack>>,
    /// Free maptrack handles.
    maptrack_free: Vec<u32>,
    /// Limit of maptrack entries.
    pub max_maptrack: u32,
}

impl Default for GrantTable {
    fn default() -> Self {
        GrantTable {
            frames: Vec::new(),
            max_frames: DEFAULT_MAX_FRAMES,
            active: Vec::new(),
            maptrack: Vec::new(),
            maptrack_free: Vec::new(),
            max_maptrack: DEFAULT_MAX_MAPTRACK,
        }
    }
}

impl GrantTable {
    /// Number of refs.
    pub fn nr_entries(&self) -> u32 {
        self.frames.len() as u32 * ENTRIES_PER_FRAME
    }
    /// Mappings held.
    pub fn nr_maps(&self) -> usize {
        self.maptrack.iter().filter(|m| m.is_some()).count()
    }
    /// Refs of this domain someone holds pinned.
    pub fn nr_pinned(&self) -> usize {
        self.active.iter().filter(|a| a.pin != 0).count()
    }
    fn alloc_handle(&mut self, m: MapTrack) -> Option<u32> {
        if let Some(h) = self.maptrack_free.pop() {
            self.maptrack[h as usize] = Some(m);
            return Some(h);
        }
        if self.maptrack.len() as u32 >= self.max_maptrack {
            return None;
        }
        self.maptrack.push(Some(m));
        Some(self.maptrack.len() as u32 - 1)
    }
    fn free_handle(&mut self, h: u32) {
        self.maptrack[h as usize] = None;
        self.maptrack_free.push(h);
    }
}

/// The hooks grant operations need from the MMU (the arch layer's PV
/// page tables, or a model in tests).
pub trait GrantMmu {
    /// Takes the references a mapping holds: general, plus writable type
    /// if `!readonly`. Fails if the frame is not `owner`'s or cannot be
    /// writable (it is a page table or descriptor page).
    fn get_frame(&self, hv: &mut Hv, frame: Mfn, owner: DomId, readonly: bool) -> bool;
    /// Releases them.
    fn put_frame(&self, hv: &mut Hv, frame: Mfn, readonly: bool);
    /// Installs a host mapping of `frame` for `mapper` at `host_addr`
    /// (a linear address, or with `contains_pte` the PTE's machine
    /// address); returns where the PTE is.
    fn map_host(
        &self,
        hv: &mut Hv,
        mapper: DomId,
        host_addr: u64,
        contains_pte: bool,
        frame: Mfn,
        readonly: bool,
    ) -> Result<(Mfn, usize), i16>;
    /// Removes the host mapping of `frame` at `host_addr` (as given to
    /// unmap); checks it is that grant mapping.
    fn unmap_host(&self, hv: &mut Hv, mapper: DomId, host_addr: u64, contains_pte: bool, frame: Mfn)
        -> Result<(), i16>;
    /// Clears a host mapping found through the maptrack when its owner is
    /// dying (if the PTE still holds it).
    fn clear_host(&self, hv: &mut Hv, mapper: DomId, pte: (Mfn, usize), frame: Mfn);
}

// ---- shared entries ---------------------------------------------------------------

fn entry_loc(hv: &Hv, d: DomId, gref: u32) -> Option<(Mfn, usize)> {
    let gt = &hv.domains.get(d)?.grant;
    let f = *gt.frames.get((gref / ENTRIES_PER_FRAME) as usize)?;
    Some((f, (gref % ENTRIES_PER_FRAME) as usize * 8))
}

/// Reads a shared entry once: (flags, domid, frame).
pub fn read_entry(hv: &Hv, d: DomId, gref: u32) -> Option<(u16, u16, u32)> {
    let (f, off) = entry_loc(hv, d, gref)?;
    let w = hv.phys.atomic_u64(f, off).load(Ordering::Acquire);
    Some((w as u16, (w >> 16) as u16, (w >> 32) as u32))
}

/// Clears bits in a shared entry's flags.
fn clear_flags(hv: &Hv, d: DomId, gref: u32, bits: u16) {
    if let Some((f, off)) = entry_loc(hv, d, gref) {
        hv.phys.atomic_u16(f, off).fetch_and(!bits, Ordering::AcqRel);
    }
}

/// Pins `gref` of `granter` for `mapper` (Xen's `_set_status_v1` plus the
/// active-entry update): on the first pin the shared entry must permit
/// access to `mapper`, and `GTF_reading`/`GTF_writing` are set with a
/// compare-and-swap so a concurrent change by the granter is noticed.
fn pin(hv: &mut Hv, granter: DomId, mapper: DomId, gref: u32, readonly: bool, inc: u32) -> Result<Mfn, i16> {
    let gt = &hv.domains.get(granter).ok_or(st::BAD_DOMAIN)?.grant;
    if gref >= gt.nr_entries() {
        return Err(st::BAD_GNTREF);
    }
    let act = gt.active[gref as usize];
    if act.pin != 0 && (act.domid != mapper || act.pin & pin::OVERFLOW != 0) {
        return Err(st::GENERAL_ERROR);
    }
    let (f, off) = entry_loc(hv, granter, gref).ok_or(st::BAD_GNTREF)?;
    let word = hv.phys.atomic_u32(f, off);
    let mut cur = word.load(Ordering::Acquire);
    let mut tries = 0;
    loop {
        let (flags, domid) = (cur as u16, (cur >> 16) as u16);
        if act.pin == 0 && (flags & (GTF_type_mask | GTF_sub_page) != GTF_permit_access || domid != mapper.0) {
            return Err(st::GENERAL_ERROR);
        }
        let mut new = flags | GTF_reading;
        if !readonly {
            if flags & GTF_readonly != 0 {
                return Err(st::GENERAL_ERROR);
            }
            new |= GTF_writing;
        }
        let newv = (cur & 0xffff_0000) | new as u32;
        match word.compare_exchange(cur, newv, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(v) => {
                tries += 1;
                if tries == 4 {
                    return Err(st::GENERAL_ERROR);
                }
                cur = v;
            }
        }
    }
    let frame = if act.pin == 0 {
        let (_, _, frame) = read_entry(hv, granter, gref).ok_or(st::BAD_GNTREF)?;
        Mfn(frame as u64)
    } else {
        act.frame
    };
    // The entry's frame must be the granter's own page.
    if hv.frames.owner(frame) != crate::common::frame::Owner::Domain(granter) {
        unpin_flags(hv, granter, gref, act.pin);
        return Err(st::BAD_PAGE);
    }
    let a = &mut hv.domains.get_mut(granter).ok_or(st::BAD_DOMAIN)?.grant.active[gref as usize];
    a.pin += inc;
    a.domid = mapper;
    a.frame = frame;
    Ok(frame)
}

/// Clears `GTF_writing`/`GTF_reading` as far as the pins `pins` no longer
/// need them.
fn unpin_flags(hv: &Hv, granter: DomId, gref: u32, pins: u32) {
    if pins & pin::WRITE_MASK == 0 {
        clear_flags(hv, granter, gref, GTF_writing);
    }
    if pins == 0 {
        clear_flags(hv, granter, gref, GTF_reading);
    }
}

/// Drops a pin of `inc` from `gref` of `granter`.
fn unpin(hv: &mut Hv, granter: DomId, gref: u32, inc: u32) {
    let Some(d) = hv.domains.get_mut(granter) else { return };
    let Some(a) = d.grant.active.get_mut(gref as usize) else { return };
    a.pin = a.pin.saturating_sub(inc);
    let pins = a.pin;
    unpin_flags(hv, granter, gref, pins);
}

// ---- operations ---------------------------------------------------------------------

/// `GNTTABOP_setup_table`: grows `d`'s table to `nr_frames` frames and
/// returns them all. The new frames are zeroed, owned by `d` and marked
/// hypervisor-allocated.
pub fn setup_table(hv: &mut Hv, d: DomId, nr_frames: u32) -> Result<Vec<Mfn>, i16> {
    let dom = hv.domains.get(d).ok_or(st::BAD_DOMAIN)?;
    if nr_frames > dom.grant.max_frames {
        return Err(st::GENERAL_ERROR);
    }
    while (hv.domains.get(d).ok_or(st::BAD_DOMAIN)?.grant.frames.len() as u32) < nr_frames {
        let m = crate::common::dom0::alloc_zeroed(hv, crate::common::frame::Owner::Domain(d)).ok_or(st::NO_SPACE)?;
        if let Some(pi) = hv.frames.get_mut(m) {
            pi.set_flags(pi.flags() | crate::common::frame::PageFlags::XEN_HEAP);
        }
        let gt = &mut hv.domains.get_mut(d).ok_or(st::BAD_DOMAIN)?.grant;
        gt.frames.push(m);
        gt.active.resize(gt.frames.len() * ENTRIES_PER_FRAME as usize, Active::default());
    }
    let gt = &hv.domains.get(d).ok_or(st::BAD_DOMAIN)?.grant;
    Ok(gt.frames[..nr_frames as usize].to_vec())
}

/// What `GNTTABOP_map_grant_ref` returns on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The maptrack handle.
    pub handle: u32,
    /// The frame's machine address (`dev_bus_addr`).
    pub dev_bus_addr: u64,
}

/// `GNTTABOP_map_grant_ref` by `mapper`.
pub fn map_grant_ref(
    hv: &mut Hv,
    mmu: &dyn GrantMmu,
    mapper: DomId,
    granter: DomId,
    gref: u32,
    flags: u32,
    host_addr: u64,
) -> Result<Mapped, i16> {
    if flags & (map::DEVICE_MAP | map::HOST_MAP) == 0 {
        return Err(st::BAD_GNTREF);
    }
    if hv.domains.get(granter).is_none_or(|g| g.is_dying()) {
        return Err(st::BAD_DOMAIN);
    }
    let readonly = flags & map::READONLY != 0;
    let mut inc = 0;
    if flags & map::HOST_MAP != 0 {
        inc += if readonly { pin::HOST_RO } else { pin::HOST_RW };
    }
    if flags & map::DEVICE_MAP != 0 {
        inc += if readonly { pin::DEV_RO } else { pin::DEV_RW };
    }
    let frame = pin(hv, granter, mapper, gref, readonly, inc)?;
    let undo = |hv: &mut Hv| unpin(hv, granter, gref, inc);
    if !mmu.get_frame(hv, frame, granter, readonly) {
        undo(hv);
        return Err(st::GENERAL_ERROR);
    }
    let mut pte = None;
    if flags & map::HOST_MAP != 0 {
        match mmu.map_host(hv, mapper, host_addr, flags & map::CONTAINS_PTE != 0, frame, readonly) {
            Ok(p) => pte = Some(p),
            Err(e) => {
                mmu.put_frame(hv, frame, readonly);
                undo(hv);
                return Err(e);
            }
        }
    }
    let m = MapTrack { dom: granter, gref, flags, frame, pte };
    let handle = hv.domains.get_mut(mapper).and_then(|d| d.grant.alloc_handle(m));
    match handle {
        Some(handle) => Ok(Mapped { handle, dev_bus_addr: frame.addr() }),
        None => {
            if pte.is_some() {
                let _ = mmu.unmap_host(hv, mapper, host_addr, flags & map::CONTAINS_PTE != 0, frame);
            }
            mmu.put_frame(hv, frame, readonly);
            undo(hv);
            Err(st::NO_SPACE)
        }
    }
}

/// `GNTTABOP_unmap_grant_ref` by `mapper`: removes the host mapping at
/// `host_addr` (0: none) and the device mapping if `dev_bus_addr` names it.
pub fn unmap_grant_ref(
    hv: &mut Hv,
    mmu: &dyn GrantMmu,
    mapper: DomId,
    handle: u32,
    host_addr: u64,
    dev_bus_addr: u64,
) -> Result<(), i16> {
    let m = hv
        .domains
        .get(mapper)
        .and_then(|d| d.grant.maptrack.get(handle as usize).copied().flatten())
        .ok_or(st::BAD_HANDLE)?;
    let readonly = m.flags & map::READONLY != 0;
    let unmap_dev = dev_bus_addr != 0 && m.flags & map::DEVICE_MAP != 0;
    if dev_bus_addr != 0 && !unmap_dev {
        return Err(st::BAD_DEV_ADDR);
    }
    if unmap_dev && dev_bus_addr != m.frame.addr() {
        return Err(st::BAD_DEV_ADDR);
    }
    let unmap_host = host_addr != 0 && m.flags & map::HOST_MAP != 0;
    if host_addr != 0 && !unmap_host {
        return Err(st::GENERAL_ERROR);
    }
    if unmap_host {
        mmu.unmap_host(hv, mapper, host_addr, m.flags & map::CONTAINS_PTE != 0, m.frame)?;
    }
    let mut dec = 0;
    let mut flags = m.flags;
    if unmap_host {
        dec += if readonly { pin::HOST_RO } else { pin::HOST_RW };
        flags &= !map::HOST_MAP;
    }
    if unmap_dev {
        dec += if readonly { pin::DEV_RO } else { pin::DEV_RW };
        flags &= !map::DEVICE_MAP;
    }
    unpin(hv, m.dom, m.gref, dec);
    let gt = &mut hv.domains.get_mut(mapper).ok_or(st::BAD_HANDLE)?.grant;
    if flags & (map::HOST_MAP | map::DEVICE_MAP) == 0 {
        gt.free_handle(handle);
        mmu.put_frame(hv, m.frame, readonly);
    } else if let Some(Some(e)) = gt.maptrack.get_mut(handle as usize) {
        e.flags = flags;
        if unmap_host {
            e.pte = None;
        }
    }
    Ok(())
}

/// Releases every mapping `d` holds (it is dying): unpins the granters'
/// entries, clears the PTEs and drops the frame references.
pub fn release_mappings(hv: &mut Hv, mmu: &dyn GrantMmu, d: DomId) {
    let maps: Vec<(u32, MapTrack)> = match hv.domains.get(d) {
        Some(dom) => dom.grant.maptrack.iter().enumerate().filter_map(|(h, m)| m.map(|m| (h as u32, m))).collect(),
        None => return,
    };
    for (h, m) in maps {
        let readonly = m.flags & map::READONLY != 0;
        let mut dec = 0;
        if m.flags & map::HOST_MAP != 0 {
            dec += if readonly { pin::HOST_RO } else { pin::HOST_RW };
            if let Some(p) = m.pte {
                mmu.clear_host(hv, d, p, m.frame);
            }
        }
        if m.flags & map::DEVICE_MAP != 0 {
            dec += if readonly { pin::DEV_RO } else { pin::DEV_RW };
        }
        unpin(hv, m.dom, m.gref, dec);
        if let Some(dom) = hv.domains.get_mut(d) {
            dom.grant.free_handle(h);
        }
        mmu.put_frame(hv, m.frame, readonly);
    }
}

/// One side of a copy, resolved.
struct CopySide {
    frame: Mfn,
    /// The pin to drop afterwards (granter, ref, pin increment).
    pinned: Option<(DomId, u32, u32)>,
    readonly: bool,
}

fn copy_side(
    hv: &mut Hv,
    mmu: &dyn GrantMmu,
    caller: DomId,
    p: &GnttabCopyPtr,
    is_gref: bool,
    write: bool,
) -> Result<CopySide, i16> {
    if !is_gref {
        // A raw frame is always the caller's own (checked by `copy`).
        let frame = Mfn(p.u);
        if !mmu.get_frame(hv, frame, caller, !write) {
            return Err(st::BAD_PAGE);
        }
        return Ok(CopySide { frame, pinned: None, readonly: !write });
    }
    let dom = if p.domid == pv_abi::abi::xen::DOMID_SELF { caller } else { DomId(p.domid) };
    if hv.domains.get(dom).is_none_or(|g| g.is_dying()) {
        return Err(st::BAD_DOMAIN);
    }
    let gref = p.u as u32;
    if p.u > u32::MAX as u64 {
        return Err(st::BAD_GNTREF);
    }
    let inc = if write { pin::HOST_RW } else { pin::HOST_RO };
    let frame = pin(hv, dom, caller, gref, !write, inc)?;
    if !mmu.get_frame(hv, frame, dom, !write) {
        unpin(hv, dom, gref, inc);
        return Err(st::GENERAL_ERROR);
    }
    Ok(CopySide { frame, pinned: Some((dom, gref, inc)), readonly: !write })
}

fn release_side(hv: &mut Hv, mmu: &dyn GrantMmu, s: &CopySide) {
    mmu.put_frame(hv, s.frame, s.readonly);
    if let Some((d, gref, inc)) = s.pinned {
        unpin(hv, d, gref, inc);
    }
}

/// One `GNTTABOP_copy` entry by `caller`.
pub fn copy(hv: &mut Hv, mmu: &dyn GrantMmu, caller: DomId, op: &GnttabCopy) -> Result<(), i16> {
    let len = op.len as usize;
    // Xen: a side given as a frame (not a ref) must be DOMID_SELF.
    let src_gref = op.flags & GNTCOPY_source_gref != 0;
    let dst_gref = op.flags & GNTCOPY_dest_gref != 0;
    let self_ = pv_abi::abi::xen::DOMID_SELF;
    if (!src_gref && op.source.domid != self_) || (!dst_gref && op.dest.domid != self_) {
        return Err(st::PERMISSION_DENIED);
    }
    if op.source.offset as usize + len > 4096 || op.dest.offset as usize + len > 4096 {
        return Err(st::BAD_COPY_ARG);
    }
    let src = copy_side(hv, mmu, caller, &op.source, src_gref, false)?;
    let dst = match copy_side(hv, mmu, caller, &op.dest, dst_gref, true) {
        Ok(d) => d,
        Err(e) => {
            release_side(hv, mmu, &src);
            return Err(e);
        }
    };
    hv.phys.copy_between(dst.frame, op.dest.offset as usize, src.frame, op.source.offset as usize, len);
    release_side(hv, mmu, &dst);
    release_side(hv, mmu, &src);
    Ok(())
}

/// Frees a dying domain's grant frames and forgets its active entries
/// (pins others hold keep their frame references until unmapped).
pub fn release_table(hv: &mut Hv, d: DomId) -> Vec<Mfn> {
    match hv.domains.get_mut(d) {
        Some(dom) => {
            dom.grant.active.clear();
            core::mem::take(&mut dom.grant.frames)
        }
        None => Vec::new(),
    }
}

// ---- the hypercall ---------------------------------------------------------------------

use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use pv_abi::abi::errno::*;

/// Entries of a batched op handled per call before it continues itself.
const BATCH: u32 = 256;

fn resolve_dom<M: GuestMem>(ctx: &Ctx<'_, M>, dom: u16) -> Result<DomId, i16> {
    if dom == pv_abi::abi::xen::DOMID_SELF || dom == ctx.dom.0 {
        Ok(ctx.dom)
    } else if ctx.hv.domains.get(ctx.dom).is_some_and(|d| d.privileged) {
        ctx.hv.domains.get(DomId(dom)).map(|d| d.id).ok_or(st::BAD_DOMAIN)
    } else {
        Err(st::PERMISSION_DENIED)
    }
}

/// Runs `count` entries of `T` at `uop` through `one`, which returns the
/// entry to write back; continues itself after [`BATCH`].
fn batched<M: GuestMem, T: zerocopy::FromBytes + zerocopy::IntoBytes + zerocopy::Immutable>(
    ctx: &mut Ctx<'_, M>,
    cmd: u32,
    uop: u64,
    count: u32,
    mut one: impl FnMut(&mut Ctx<'_, M>, T) -> T,
) -> HcResult {
    let list = GuestPtr::<T>::new(uop);
    let limit = if ctx.preemptible { count.min(BATCH) } else { count };
    for i in 0..limit {
        let p = list.at(i as u64)?;
        let op = p.read(ctx.mem)?;
        let out = one(ctx, op);
        p.write(ctx.mem, &out)?;
    }
    if limit < count {
        return ctx.continuation(
            pv_abi::abi::xen::hypercall::grant_table_op,
            [cmd as u64, list.at(limit as u64)?.addr(), (count - limit) as u64, 0, 0],
        );
    }
    Ok(0)
}

/// `grant_table_op(cmd, uop, count)`.
pub fn do_grant_table_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, uop) = (a[0], a[1]);
    if cmd > u32::MAX as u64 || a[2] > u32::MAX as u64 {
        return Err(Errno(EINVAL));
    }
    let count = a[2] as u32;
    let mmu = crate::arch::grant_mmu();
    let caller = ctx.dom;
    match cmd as u32 {
        GNTTABOP_setup_table => {
            if count != 1 {
                return Err(Errno(EINVAL));
            }
            let p = GuestPtr::<GnttabSetupTable>::new(uop);
            let mut op = p.read(ctx.mem)?;
            op.status = match resolve_dom(ctx, op.dom) {
                Err(s) => s,
                Ok(d) => match setup_table(ctx.hv, d, op.nr_frames) {
                    Err(s) => s,
                    Ok(frames) => {
                        let list = GuestPtr::<u64>::new(op.frame_list);
                        let mut s = st::OKAY;
                        for (i, f) in frames.iter().enumerate() {
                            if list.at(i as u64).and_then(|e| e.write(ctx.mem, &f.0)).is_err() {
                                s = st::BAD_VIRT_ADDR;
                                break;
                            }
                        }
                        s
                    }
                },
            };
            p.write(ctx.mem, &op).map(|_| 0)
        }
        GNTTABOP_query_size => {
            if count != 1 {
                return Err(Errno(EINVAL));
            }
            let p = GuestPtr::<GnttabQuerySize>::new(uop);
            let mut op = p.read(ctx.mem)?;
            match resolve_dom(ctx, op.dom) {
                Err(s) => op.status = s,
                Ok(d) => {
                    let gt = &ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.grant;
                    op.nr_frames = gt.frames.len() as u32;
                    op.max_nr_frames = gt.max_frames;
                    op.status = st::OKAY;
                }
            }
            p.write(ctx.mem, &op).map(|_| 0)
        }
        GNTTABOP_map_grant_ref => batched::<M, GnttabMapGrantRef>(ctx, cmd as u32, uop, count, |ctx, mut op| {
            let granter = if op.dom == pv_abi::abi::xen::DOMID_SELF { caller } else { DomId(op.dom) };
            match map_grant_ref(ctx.hv, mmu, caller, granter, op.ref_, op.flags, op.host_addr) {
                Ok(m) => {
                    op.status = st::OKAY;
                    op.handle = m.handle;
                    op.dev_bus_addr = m.dev_bus_addr;
                }
                Err(s) => op.status = s,
            }
            op
        }),
        GNTTABOP_unmap_grant_ref => batched::<M, GnttabUnmapGrantRef>(ctx, cmd as u32, uop, count, |ctx, mut op| {
            op.status = match unmap_grant_ref(ctx.hv, mmu, caller, op.handle, op.host_addr, op.dev_bus_addr) {
                Ok(()) => st::OKAY,
                Err(s) => s,
            };
            op
        }),
        GNTTABOP_copy => batched::<M, GnttabCopy>(ctx, cmd as u32, uop, count, |ctx, mut op| {
            op.status = match copy(ctx.hv, mmu, caller, &op) {
                Ok(()) => st::OKAY,
                Err(s) => s,
            };
            op
        }),
        GNTTABOP_set_version => {
            let p = GuestPtr::<GnttabSetVersion>::new(uop);
            let op = p.read(ctx.mem)?;
            // The version in use is written back whatever happens (Xen).
            p.write(ctx.mem, &GnttabSetVersion { version: 1 })?;
            match op.version {
                1 => Ok(0),
                2 => Err(Errno(ENOSYS)),
                _ => Err(Errno(EINVAL)),
            }
        }
        GNTTABOP_get_version => {
            let p = GuestPtr::<GnttabGetVersion>::new(uop);
            let mut op = p.read(ctx.mem)?;
            if let Err(s) = resolve_dom(ctx, op.dom) {
                return Err(Errno(if s == st::PERMISSION_DENIED { EPERM } else { ESRCH }));
            }
            op.version = 1;
            p.write(ctx.mem, &op).map(|_| 0)
        }
        GNTTABOP_get_status_frames => {
            // Status frames exist only in version 2.
            let p = GuestPtr::<GnttabGetStatusFrames>::new(uop);
            let mut op = p.read(ctx.mem)?;
            op.status = st::GENERAL_ERROR;
            p.write(ctx.mem, &op).map(|_| 0)
        }
        _ => Err(Errno(ENOSYS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::domain::{Domain, DomainState};
    use crate::common::frame::Owner;
    use crate::common::testutil;
    use core::cell::RefCell;
    use std::collections::BTreeMap;

    extern crate std;

    /// A model MMU: counts references per frame and "PTEs" per address.
    #[derive(Default)]
    struct ModelMmu {
        refs: RefCell<BTreeMap<u64, (i32, i32)>>,
        ptes: RefCell<BTreeMap<(u16, u64), (Mfn, bool)>>,
        refuse_writable: RefCell<Vec<u64>>,
    }

    impl GrantMmu for ModelMmu {
        fn get_frame(&self, hv: &mut Hv, frame: Mfn, owner: DomId, readonly: bool) -> bool {
            if hv.frames.owner(frame) != Owner::Domain(owner) {
                return false;
            }
            if !readonly && self.refuse_writable.borrow().contains(&frame.0) {
                return false;
            }
            let mut r = self.refs.borrow_mut();
            let e = r.entry(frame.0).or_default();
            e.0 += 1;
            if !readonly {
                e.1 += 1;
            }
            true
        }
        fn put_frame(&self, _hv: &mut Hv, frame: Mfn, readonly: bool) {
            let mut r = self.refs.borrow_mut();
            let e = r.get_mut(&frame.0).expect("put of an unreferenced frame");
            e.0 -= 1;
            if !readonly {
                e.1 -= 1;
            }
            assert!(e.0 >= 0 && e.1 >= 0);
        }
        fn map_host(
            &self,
            _hv: &mut Hv,
            mapper: DomId,
            host_addr: u64,
            _contains_pte: bool,
            frame: Mfn,
            readonly: bool,
        ) -> Result<(Mfn, usize), i16> {
            if host_addr == 0 || host_addr & 0xfff != 0 {
                return Err(st::GENERAL_ERROR);
            }
            self.ptes.borrow_mut().insert((mapper.0, host_addr), (frame, readonly));
            Ok((Mfn(host_addr >> 12), 0))
        }
        fn unmap_host(&self, _hv: &mut Hv, mapper: DomId, host_addr: u64, _c: bool, frame: Mfn) -> Result<(), i16> {
            let mut p = self.ptes.borrow_mut();
            match p.get(&(mapper.0, host_addr)) {
                Some((f, _)) if *f == frame => {
                    p.remove(&(mapper.0, host_addr));
                    Ok(())
                }
                _ => Err(st::GENERAL_ERROR),
            }
        }
        fn clear_host(&self, _hv: &mut Hv, mapper: DomId, pte: (Mfn, usize), _frame: Mfn) {
            self.ptes.borrow_mut().remove(&(mapper.0, pte.0 .0 << 12));
        }
    }

    impl ModelMmu {
        fn refs(&self, f: Mfn) -> (i32, i32) {
            self.refs.borrow().get(&f.0).copied().unwrap_or_default()
        }
    }

    const A: DomId = DomId(1);
    const B: DomId = DomId(2);
    const C: DomId = DomId(3);

    fn world() -> (Hv, Mfn) {
        let mut hv = testutil::hv(128);
        for id in [0u16, 1, 2, 3] {
            let si = hv.frames.alloc(Owner::Domain(DomId(id))).unwrap();
            let mut d = Domain::new(DomId(id), id == 0, 1, si);
            d.state = DomainState::Running;
            hv.domains.insert(d);
        }
        setup_table(&mut hv, A, 1).unwrap();
        let page = hv.frames.alloc(Owner::Domain(A)).unwrap();
        (hv, page)
    }

    fn grant(hv: &mut Hv, gref: u32, to: DomId, frame: Mfn, flags: u16) {
        let (f, off) = entry_loc(hv, A, gref).unwrap();
        let w = flags as u64 | (to.0 as u64) << 16 | frame.0 << 32;
        hv.phys.atomic_u64(f, off).store(w, Ordering::Release);
    }

    /// The granter's `gnttab_end_foreign_access_ref`: succeeds only when
    /// no reading/writing bits are set.
    fn revoke(hv: &Hv, gref: u32) -> bool {
        let (f, off) = entry_loc(hv, A, gref).unwrap();
        let w = hv.phys.atomic_u16(f, off);
        let flags = w.load(Ordering::Acquire);
        if flags & (GTF_reading | GTF_writing) != 0 {
            return false;
        }
        w.compare_exchange(flags, 0, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    #[test]
    fn setup_table_limits_and_grows() {
        let (mut hv, _) = world();
        assert_eq!(setup_table(&mut hv, A, 1).unwrap().len(), 1);
        let f = setup_table(&mut hv, A, 3).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(hv.domains.get(A).unwrap().grant.nr_entries(), 3 * 512);
        assert_eq!(setup_table(&mut hv, A, DEFAULT_MAX_FRAMES + 1), Err(st::GENERAL_ERROR));
        assert_eq!(setup_table(&mut hv, DomId(9), 1), Err(st::BAD_DOMAIN));
        assert!(f.iter().all(|&m| hv.frames.owner(m) == Owner::Domain(A)));
    }

    #[test]
    fn map_write_unmap_and_the_flag_protocol() {
        let (mut hv, page) = world();
        let mmu = ModelMmu::default();
        grant(&mut hv, 8, B, page, GTF_permit_access);
        let m = map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP, 0x5000).unwrap();
        assert_eq!(m.dev_bus_addr, page.addr());
        let (flags, _, _) = read_entry(&hv, A, 8).unwrap();
        assert_eq!(flags, GTF_permit_access | GTF_reading | GTF_writing);
        assert_eq!(mmu.refs(page), (1, 1));
        // The granter cannot revoke while mapped.
        assert!(!revoke(&hv, 8));
        // A second, read-only mapping by the same domain.
        let m2 = map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP | map::READONLY, 0x6000).unwrap();
        assert_ne!(m.handle, m2.handle);
        assert_eq!(hv.domains.get(A).unwrap().grant.active[8].pin, pin::HOST_RW + pin::HOST_RO);
        // Unmap the writable one: GTF_writing goes, GTF_reading stays.
        unmap_grant_ref(&mut hv, &mmu, B, m.handle, 0x5000, 0).unwrap();
        assert_eq!(read_entry(&hv, A, 8).unwrap().0, GTF_permit_access | GTF_reading);
        assert!(!revoke(&hv, 8));
        assert_eq!(unmap_grant_ref(&mut hv, &mmu, B, m.handle, 0x5000, 0), Err(st::BAD_HANDLE));
        assert_eq!(unmap_grant_ref(&mut hv, &mmu, B, m2.handle, 0x7000, 0), Err(st::GENERAL_ERROR), "wrong address");
        unmap_grant_ref(&mut hv, &mmu, B, m2.handle, 0x6000, 0).unwrap();
        assert_eq!(read_entry(&hv, A, 8).unwrap().0, GTF_permit_access);
        assert_eq!(mmu.refs(page), (0, 0));
        assert!(revoke(&hv, 8), "free to revoke once unmapped");
        assert_eq!(hv.domains.get(B).unwrap().grant.nr_maps(), 0);
    }

    #[test]
    fn refusals() {
        let (mut hv, page) = world();
        let mmu = ModelMmu::default();
        grant(&mut hv, 8, B, page, GTF_permit_access);
        // Not granted to C.
        assert_eq!(map_grant_ref(&mut hv, &mmu, C, A, 8, map::HOST_MAP, 0x5000), Err(st::GENERAL_ERROR));
        // Out of range, no flags, unknown domain, bad address.
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 512, map::HOST_MAP, 0x5000), Err(st::BAD_GNTREF));
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 8, 0, 0x5000), Err(st::BAD_GNTREF));
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, DomId(9), 8, map::HOST_MAP, 0x5000), Err(st::BAD_DOMAIN));
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP, 0), Err(st::GENERAL_ERROR));
        assert_eq!(read_entry(&hv, A, 8).unwrap().0, GTF_permit_access, "failed maps leave no pins");
        assert_eq!(mmu.refs(page), (0, 0));
        // A read-only grant cannot be mapped writable.
        grant(&mut hv, 9, B, page, GTF_permit_access | GTF_readonly);
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 9, map::HOST_MAP, 0x5000), Err(st::GENERAL_ERROR));
        assert!(map_grant_ref(&mut hv, &mmu, B, A, 9, map::HOST_MAP | map::READONLY, 0x5000).is_ok());
        // A frame that is not the granter's.
        let other = hv.frames.alloc(Owner::Domain(C)).unwrap();
        grant(&mut hv, 10, B, other, GTF_permit_access);
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 10, map::HOST_MAP, 0x8000), Err(st::BAD_PAGE));
        assert_eq!(read_entry(&hv, A, 10).unwrap().0, GTF_permit_access);
        // A page that cannot be writable (say, a page table).
        let pt = hv.frames.alloc(Owner::Domain(A)).unwrap();
        mmu.refuse_writable.borrow_mut().push(pt.0);
        grant(&mut hv, 11, B, pt, GTF_permit_access);
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 11, map::HOST_MAP, 0x9000), Err(st::GENERAL_ERROR));
        assert_eq!(read_entry(&hv, A, 11).unwrap().0, GTF_permit_access);
    }

    #[test]
    fn a_granter_revoking_by_force_while_mapped_changes_nothing_for_the_hypervisor() {
        let (mut hv, page) = world();
        let mmu = ModelMmu::default();
        grant(&mut hv, 8, B, page, GTF_permit_access);
        let m = map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP, 0x5000).unwrap();
        // A misbehaving granter zeroes the entry anyway.
        grant(&mut hv, 8, DomId(0), Mfn(0), 0);
        // The mapping stays valid (the frame is still referenced) and the
        // mapper can still unmap; the hypervisor only clears its own bits.
        assert_eq!(mmu.refs(page), (1, 1));
        unmap_grant_ref(&mut hv, &mmu, B, m.handle, 0x5000, 0).unwrap();
        assert_eq!(mmu.refs(page), (0, 0));
        assert_eq!(read_entry(&hv, A, 8).unwrap().0, 0);
        // A new map now fails: the entry no longer permits access.
        assert_eq!(map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP, 0x5000), Err(st::GENERAL_ERROR));
    }

    #[test]
    fn only_one_domain_pins_a_ref_at_a_time() {
        let (mut hv, page) = world();
        let mmu = ModelMmu::default();
        grant(&mut hv, 8, B, page, GTF_permit_access);
        map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP, 0x5000).unwrap();
        // The granter re-targets the entry to C while B holds it.
        grant(&mut hv, 8, C, page, GTF_permit_access | GTF_reading | GTF_writing);
        assert_eq!(map_grant_ref(&mut hv, &mmu, C, A, 8, map::HOST_MAP, 0x5000), Err(st::GENERAL_ERROR));
    }

    #[test]
    fn copy_both_ways_and_its_checks() {
        let (mut hv, page) = world();
        let mmu = ModelMmu::default();
        let bpage = hv.frames.alloc(Owner::Domain(B)).unwrap();
        hv.phys.write(bpage, 100, b"from B");
        grant(&mut hv, 8, B, page, GTF_permit_access);
        let mut op = GnttabCopy {
            source: GnttabCopyPtr { u: bpage.0, domid: pv_abi::abi::xen::DOMID_SELF, offset: 100, _pad: 0 },
            dest: GnttabCopyPtr { u: 8, domid: A.0, offset: 7, _pad: 0 },
            len: 6,
            flags: GNTCOPY_dest_gref,
            status: 0,
            _pad: 0,
        };
        copy(&mut hv, &mmu, B, &op).unwrap();
        let mut got = [0u8; 6];
        hv.phys.read(page, 7, &mut got);
        assert_eq!(&got, b"from B");
        assert_eq!(read_entry(&hv, A, 8).unwrap().0, GTF_permit_access, "copy pins only for its duration");
        assert_eq!(mmu.refs(page), (0, 0));
        // And back from the grant.
        op.source = GnttabCopyPtr { u: 8, domid: A.0, offset: 7, _pad: 0 };
        op.dest = GnttabCopyPtr { u: bpage.0, domid: pv_abi::abi::xen::DOMID_SELF, offset: 0, _pad: 0 };
        op.flags = GNTCOPY_source_gref;
        copy(&mut hv, &mmu, B, &op).unwrap();
        hv.phys.read(bpage, 0, &mut got);
        assert_eq!(&got, b"from B");
        // Crossing a page, someone else's raw frame, a ref not granted.
        op.len = 4090;
        assert_eq!(copy(&mut hv, &mmu, B, &op), Err(st::BAD_COPY_ARG));
        op.len = 6;
        op.dest.domid = A.0;
        op.dest.u = page.0;
        assert_eq!(copy(&mut hv, &mmu, B, &op), Err(st::PERMISSION_DENIED));
        assert_eq!(
            copy(&mut hv, &mmu, C, &GnttabCopy { flags: GNTCOPY_source_gref, ..op }),
            Err(st::PERMISSION_DENIED)
        );
        op.dest = GnttabCopyPtr { u: bpage.0, domid: pv_abi::abi::xen::DOMID_SELF, offset: 0, _pad: 0 };
        assert_eq!(copy(&mut hv, &mmu, C, &op), Err(st::GENERAL_ERROR), "ref 8 is B's, not C's");
        assert_eq!(mmu.refs(page), (0, 0));
        assert_eq!(mmu.refs(bpage), (0, 0));
    }

    #[test]
    fn releasing_a_dying_mappers_mappings_unpins_the_granter() {
        let (mut hv, page) = world();
        let mmu = ModelMmu::default();
        grant(&mut hv, 8, B, page, GTF_permit_access);
        grant(&mut hv, 9, B, page, GTF_permit_access | GTF_readonly);
        map_grant_ref(&mut hv, &mmu, B, A, 8, map::HOST_MAP, 0x5000).unwrap();
        map_grant_ref(&mut hv, &mmu, B, A, 9, map::HOST_MAP | map::READONLY, 0x6000).unwrap();
        assert_eq!(mmu.refs(page), (2, 1));
        release_mappings(&mut hv, &mmu, B);
        assert_eq!(mmu.refs(page), (0, 0));
        assert!(mmu.ptes.borrow().is_empty());
        assert_eq!(read_entry(&hv, A, 8).unwrap().0, GTF_permit_access);
        assert_eq!(read_entry(&hv, A, 9).unwrap().0, GTF_permit_access | GTF_readonly);
        assert_eq!(hv.domains.get(A).unwrap().grant.nr_pinned(), 0);
    }
}
