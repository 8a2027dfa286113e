//! Writes a PV domain's start-of-day state into its memory.
//!
//! The caller provides the domain's frames through [`DomainMemory`] (the
//! hypervisor through its direct map, the dom0 toolstack through foreign
//! mappings) and afterwards makes the result live: it types and pins the
//! bootstrap page tables (the L4 is pinned, which installs the
//! hypervisor's own L4 slots), fills the hypercall page, and sets the
//! vCPU's registers from [`Built`].

use crate::elf::KernelParams;
use crate::layout::{Layout, LayoutError, LayoutInput};
use alloc::vec::Vec;
use core::fmt;
use pv_abi::abi::xen::{StartInfo, MAX_GUEST_CMDLINE};
use pv_abi::Mfn;
use zerocopy::{FromZeros, IntoBytes};

/// PTE bits the builder uses.
pub mod pte {
    /// Present.
    pub const PRESENT: u64 = 1 << 0;
    /// Writable.
    pub const RW: u64 = 1 << 1;
    /// User-accessible (PV kernels run in ring 3).
    pub const USER: u64 = 1 << 2;
    /// Accessed.
    pub const ACCESSED: u64 = 1 << 5;
    /// Dirty.
    pub const DIRTY: u64 = 1 << 6;
    /// A writable data page.
    pub const PAGE: u64 = PRESENT | RW | USER | ACCESSED | DIRTY;
    /// A bootstrap page-table page: read-only to the guest.
    pub const PAGE_RO: u64 = PRESENT | USER | ACCESSED;
    /// A non-leaf entry.
    pub const TABLE: u64 = PRESENT | RW | USER | ACCESSED | DIRTY;
}

/// `start_info.magic` for x86_64 PV.
pub const START_INFO_MAGIC: &str = "xen-3.0-x86_64";

/// The domain's memory, as the builder sees it.
///
/// Contract: every frame reads as zeroes before the build (new domains get
/// scrubbed frames), so the builder writes only what is non-zero.
pub trait DomainMemory {
    /// The machine frame backing pseudo-physical frame `pfn`.
    fn mfn(&self, pfn: u64) -> Mfn;
    /// Writes `data` at `offset` within frame `pfn` (never crossing the page).
    fn write(&mut self, pfn: u64, offset: usize, data: &[u8]) -> Result<(), BuildError>;
}

/// Why a build failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// See [`LayoutError`].
    Layout(LayoutError),
    /// The caller's memory refused a write (frame, reason).
    Memory(u64, &'static str),
    /// The kernel cannot run here (reason).
    Unsupported(&'static str),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Layout(e) => e.fmt(f),
            BuildError::Memory(pfn, why) => write!(f, "writing pfn {pfn:#x} failed: {why}"),
            BuildError::Unsupported(why) => write!(f, "kernel unsupported: {why}"),
        }
    }
}

impl From<LayoutError> for BuildError {
    fn from(e: LayoutError) -> Self {
        BuildError::Layout(e)
    }
}

/// What to build.
pub struct BuildConfig<'a> {
    /// The checked kernel.
    pub kernel: &'a KernelParams<'a>,
    /// The kernel's ELF bytes.
    pub image: &'a [u8],
    /// Initial ramdisk (may be empty).
    pub ramdisk: &'a [u8],
    /// Pages the domain owns.
    pub nr_pages: u64,
    /// Building dom0 (no xenstore/console pages; `SIF_INITDOMAIN` expected in `flags`).
    pub is_dom0: bool,
    /// Kernel command line.
    pub cmdline: &'a str,
    /// Machine address of the domain's shared-info page.
    pub shared_info_maddr: u64,
    /// `SIF_*` flags.
    pub flags: u32,
    /// domU: event channel of the xenstore ring.
    pub store_evtchn: u32,
    /// domU: event channel of the console ring.
    pub console_evtchn: u32,
    /// XENFEAT bits the hypervisor offers; required features outside it fail the build.
    pub host_features: u32,
}

/// What was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// The layout used.
    pub layout: Layout,
    /// Initial `%rip`.
    pub entry: u64,
    /// Initial `%rsp`.
    pub stack_top: u64,
    /// Initial `%rsi`: virtual address of `start_info`.
    pub start_info_va: u64,
    /// Pseudo-physical frame of the top-level (L4) table.
    pub l4_pfn: u64,
    /// Every bootstrap page-table frame with its level (1..=4).
    pub pt_frames: Vec<(u64, u8)>,
    /// Frame of the hypercall page, to be filled by the hypervisor.
    pub hypercall_page_pfn: Option<u64>,
    /// domU: frame of the xenstore ring.
    pub store_pfn: Option<u64>,
    /// domU: frame of the console ring.
    pub console_pfn: Option<u64>,
}

const PAGE: usize = 4096;

/// Writes `data` starting at pseudo-physical byte address `pa`.
fn write_at<M: DomainMemory>(mem: &mut M, mut pa: u64, mut data: &[u8]) -> Result<(), BuildError> {
    while !data.is_empty() {
        let off = (pa % PAGE as u64) as usize;
        let n = data.len().min(PAGE - off);
        mem.write(pa / PAGE as u64, off, &data[..n])?;
        pa += n as u64;
        data = &data[n..];
    }
    Ok(())
}

/// Writes a page of 512 entries, skipping it entirely when all zero.
fn write_table<M: DomainMemory>(mem: &mut M, pfn: u64, t: &[u64; 512]) -> Result<(), BuildError> {
    if t.iter().any(|&e| e != 0) {
        mem.write(pfn, 0, t.as_bytes())?;
    }
    Ok(())
}

/// Builds the domain.
pub fn build<M: DomainMemory>(mem: &mut M, cfg: &BuildConfig<'_>) -> Result<Built, BuildError> {
    let k = cfg.kernel;
    if k.features.required & !cfg.host_features != 0 {
        return Err(BuildError::Unsupported("it requires a feature this hypervisor does not offer"));
    }
    if cfg.is_dom0 && !k.dom0_capable() {
        return Err(BuildError::Unsupported("its SUPPORTED_FEATURES note lacks XENFEAT_dom0"));
    }
    let layout = Layout::compute(&LayoutInput {
        v_start: k.virt_base,
        kernel: (k.virt_kstart, k.virt_kend),
        ramdisk_len: cfg.ramdisk.len() as u64,
        nr_pages: cfg.nr_pages,
        is_dom0: cfg.is_dom0,
    })?;
    let v2p = |va: u64| va - layout.v_start;

    // Kernel segments; the rest of each segment (bss) is already zero.
    for s in &k.segments {
        let va = s.paddr.wrapping_add(k.virt_offset);
        let bytes = &cfg.image[s.offset as usize..(s.offset + s.filesz) as usize];
        write_at(mem, v2p(va), bytes)?;
    }
    if let Some((va, _)) = layout.ramdisk {
        write_at(mem, v2p(va), cfg.ramdisk)?;
    }

    // P2M list: entry i is the MFN of PFN i.
    let mut page = [0u64; 512];
    for chunk in 0..layout.p2m.1 {
        for (i, e) in page.iter_mut().enumerate() {
            let pfn = chunk * 512 + i as u64;
            *e = if pfn < cfg.nr_pages { mem.mfn(pfn).0 } else { 0 };
        }
        mem.write(layout.pfn(layout.p2m.0) + chunk, 0, page.as_bytes())?;
    }

    // start_info.
    let mut si = StartInfo::new_zeroed();
    si.magic[..START_INFO_MAGIC.len()].copy_from_slice(START_INFO_MAGIC.as_bytes());
    si.nr_pages = cfg.nr_pages;
    si.shared_info = cfg.shared_info_maddr;
    si.flags = cfg.flags;
    if let (Some(xs), Some(con)) = (layout.xenstore, layout.console) {
        si.store_mfn = mem.mfn(layout.pfn(xs)).0;
        si.store_evtchn = cfg.store_evtchn;
        si.console.mfn = mem.mfn(layout.pfn(con)).0;
        si.console.evtchn = cfg.console_evtchn;
    }
    si.pt_base = layout.pt.0;
    si.nr_pt_frames = layout.pt.1;
    si.mfn_list = layout.p2m.0;
    if let Some((va, len)) = layout.ramdisk {
        si.mod_start = va;
        si.mod_len = len;
    }
    let cl = cfg.cmdline.as_bytes();
    let n = cl.len().min(MAX_GUEST_CMDLINE - 1);
    si.cmd_line[..n].copy_from_slice(&cl[..n]);
    mem.write(layout.pfn(layout.start_info), 0, si.as_bytes())?;

    // Bootstrap page tables: L4, then the L3s, L2s and L1s, in that order.
    let [n1, n2, n3, _] = layout.pt_per_level;
    let l4_pfn = layout.pfn(layout.pt.0);
    let l3_base = l4_pfn + 1;
    let l2_base = l3_base + n3;
    let l1_base = l2_base + n2;
    let pt_end = l1_base + n1;
    let (vs, ve) = (layout.v_start, layout.v_end);
    let mut pt_frames = Vec::new();

    for t in 0..n1 {
        let mut tab = [0u64; 512];
        let base = ((vs >> 21) + t) << 21;
        for (i, e) in tab.iter_mut().enumerate() {
            let va = base + ((i as u64) << 12);
            if va < vs || va >= ve {
                continue;
            }
            let pfn = layout.pfn(va);
            let ro = (l4_pfn..pt_end).contains(&pfn);
            *e = mem.mfn(pfn).addr() | if ro { pte::PAGE_RO } else { pte::PAGE };
        }
        write_table(mem, l1_base + t, &tab)?;
        pt_frames.push((l1_base + t, 1));
    }
    // Upper levels: entry for each lower table whose range falls in this one.
    let mut link = |level: u8,
                    shift: u32,
                    count: u64,
                    base_pfn: u64,
                    child_shift: u32,
                    child_count: u64,
                    child_base: u64|
     -> Result<(), BuildError> {
        for t in 0..count {
            let mut tab = [0u64; 512];
            let my_first = if shift == 48 { 0 } else { (vs >> shift) + t };
            for c in 0..child_count {
                let child_va = ((vs >> child_shift) + c) << child_shift;
                if shift != 48 && child_va >> shift != my_first {
                    continue;
                }
                let idx = ((child_va >> child_shift) & 511) as usize;
                tab[idx] = mem.mfn(child_base + c).addr() | pte::TABLE;
            }
            write_table(mem, base_pfn + t, &tab)?;
            pt_frames.push((base_pfn + t, level));
        }
        Ok(())
    };
    link(2, 30, n2, l2_base, 21, n1, l1_base)?;
    link(3, 39, n3, l3_base, 30, n2, l2_base)?;
    link(4, 48, 1, l4_pfn, 39, n3, l3_base)?;

    let pfn_of = |va: u64| layout.pfn(va);
    Ok(Built {
        entry: k.virt_entry,
        stack_top: layout.stack_top(),
        start_info_va: layout.start_info,
        l4_pfn,
        pt_frames,
        hypercall_page_pfn: k.virt_hypercall.map(pfn_of),
        store_pfn: layout.xenstore.map(pfn_of),
        console_pfn: layout.console.map(pfn_of),
        layout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::{self, tests::*};
    use alloc::vec;
    use pv_abi::abi::xen::SIF_INITDOMAIN;
    use zerocopy::FromBytes;

    /// Frames in a Vec; MFN = PFN + 0x1000 (so PFN/MFN mix-ups show).
    struct Mem(Vec<[u8; 4096]>);
    impl DomainMemory for Mem {
        fn mfn(&self, pfn: u64) -> Mfn {
            Mfn(pfn + 0x1000)
        }
        fn write(&mut self, pfn: u64, off: usize, data: &[u8]) -> Result<(), BuildError> {
            let page = self.0.get_mut(pfn as usize).ok_or(BuildError::Memory(pfn, "no such frame"))?;
            page.get_mut(off..off + data.len()).ok_or(BuildError::Memory(pfn, "crosses page"))?.copy_from_slice(data);
            Ok(())
        }
    }
    impl Mem {
        fn u64_at(&self, pfn: u64, idx: usize) -> u64 {
            u64::from_le_bytes(self.0[pfn as usize][idx * 8..idx * 8 + 8].try_into().unwrap())
        }
        /// Walks the built tables like the MMU, from the L4 frame.
        fn translate(&self, l4_pfn: u64, va: u64) -> Option<(u64, u64)> {
            let mut pfn = l4_pfn;
            for shift in [39, 30, 21, 12] {
                let e = self.u64_at(pfn, ((va >> shift) & 511) as usize);
                if e & 1 == 0 {
                    return None;
                }
                let mfn = (e & 0x000f_ffff_ffff_f000) >> 12;
                pfn = mfn - 0x1000;
                if shift == 12 {
                    return Some((pfn, e & 0xfff));
                }
            }
            None
        }
    }

    #[test]
    fn builds_a_walkable_domain() {
        let code: Vec<u8> = (0..0x2000u32).map(|i| i as u8).collect();
        let img = make_elf(BASE, &code, 0x3000, &std_notes());
        let k = elf::parse(&img).unwrap();
        let nr_pages = 2048;
        let mut mem = Mem(vec![[0u8; 4096]; nr_pages]);
        let cfg = BuildConfig {
            kernel: &k,
            image: &img,
            ramdisk: b"RAMDISK!",
            nr_pages: nr_pages as u64,
            is_dom0: true,
            cmdline: "console=hvc0 loglevel=8",
            shared_info_maddr: 0xabc000,
            flags: SIF_INITDOMAIN,
            store_evtchn: 0,
            console_evtchn: 0,
            host_features: 0x1f,
        };
        let b = build(&mut mem, &cfg).unwrap();
        assert_eq!(b.entry, BASE + 0x10);
        assert_eq!(b.hypercall_page_pfn, Some(1));
        // The image is in place and bss stayed zero.
        assert_eq!(&mem.0[0][..16], &code[..16]);
        assert_eq!(mem.0[2], [0u8; 4096]);
        // start_info.
        let si = StartInfo::read_from_bytes(&mem.0[b.layout.pfn(b.start_info_va) as usize][..1168]).unwrap();
        assert_eq!(si.magic_str(), "xen-3.0-x86_64");
        assert_eq!(si.nr_pages, 2048);
        assert_eq!(si.shared_info, 0xabc000);
        assert_eq!(si.flags, SIF_INITDOMAIN);
        assert_eq!(si.cmdline(), "console=hvc0 loglevel=8");
        assert_eq!(si.pt_base, b.layout.pt.0);
        assert_eq!(si.nr_pt_frames, b.pt_frames.len() as u64);
        assert_eq!((si.mod_start, si.mod_len), (BASE + 0x3000, 8));
        // P2M list.
        let p2m_pfn = b.layout.pfn(si.mfn_list);
        assert_eq!(mem.u64_at(p2m_pfn, 0), 0x1000);
        assert_eq!(mem.u64_at(p2m_pfn + 3, 511), 0x1000 + 2047);
        // Every page of the region translates to its pfn; page tables read-only.
        let pt = b.layout.pfn(b.layout.pt.0)..b.layout.pfn(b.layout.pt.0) + b.layout.pt.1;
        for va in (b.layout.v_start..b.layout.v_end).step_by(4096) {
            let (pfn, flags) = mem.translate(b.l4_pfn, va).unwrap();
            assert_eq!(pfn, b.layout.pfn(va));
            assert_eq!(flags & pte::RW != 0, !pt.contains(&pfn), "va {va:#x}");
            assert_ne!(flags & pte::USER, 0);
        }
        assert_eq!(mem.translate(b.l4_pfn, b.layout.v_end), None);
        assert_eq!(mem.translate(b.l4_pfn, BASE - 4096), None);
        // The levels: 1 L4, 1 L3, 1 L2, 2 L1 for a 4 MiB region.
        let count = |l| b.pt_frames.iter().filter(|(_, x)| *x == l).count();
        assert_eq!([count(1), count(2), count(3), count(4)], [2, 1, 1, 1]);
        assert!(b.stack_top <= b.layout.v_end - 512 * 1024);
    }

    #[test]
    fn refuses_missing_features_and_dom0() {
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &std_notes());
        let k = elf::parse(&img).unwrap();
        let mut mem = Mem(vec![[0u8; 4096]; 1024]);
        let mut cfg = BuildConfig {
            kernel: &k,
            image: &img,
            ramdisk: &[],
            nr_pages: 1024,
            is_dom0: false,
            cmdline: "",
            shared_info_maddr: 0,
            flags: 0,
            store_evtchn: 1,
            console_evtchn: 2,
            host_features: 0, // writable_page_tables is required by std_notes
        };
        assert!(matches!(build(&mut mem, &cfg), Err(BuildError::Unsupported(_))));
        cfg.host_features = 1;
        let b = build(&mut mem, &cfg).unwrap();
        let si = StartInfo::read_from_bytes(&mem.0[b.layout.pfn(b.start_info_va) as usize][..1168]).unwrap();
        assert_eq!(si.store_mfn, 0x1000 + b.store_pfn.unwrap());
        assert_eq!((si.store_evtchn, si.console.evtchn), (1, 2));
        assert_eq!(si.console.mfn, 0x1000 + b.console_pfn.unwrap());

        let mut notes = std_notes();
        notes.push((pv_abi::abi::elfnote::XEN_ELFNOTE_SUPPORTED_FEATURES, 0u32.to_le_bytes().to_vec()));
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        let k = elf::parse(&img).unwrap();
        cfg.kernel = &k;
        cfg.image = &img;
        cfg.is_dom0 = true;
        assert_eq!(
            build(&mut mem, &cfg),
            Err(BuildError::Unsupported("its SUPPORTED_FEATURES note lacks XENFEAT_dom0"))
        );
    }
}
