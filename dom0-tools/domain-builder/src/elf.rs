//! The PV kernel image: ELF64 program headers and Xen ELF notes, checked
//! the way Xen's libelf checks them (`elf_xen_parse`,
//! `elf_xen_addr_calc_check`).

use alloc::vec::Vec;
use core::fmt;
use object::elf::{FileHeader64, ELFCLASS64, EM_X86_64, PT_LOAD, PT_NOTE};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;
use pv_abi::abi::elfnote::*;
use pv_abi::abi::features::FEATURE_NAMES;

/// Why a kernel image was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Not a little-endian ELF64 x86_64 file, or its headers are malformed.
    NotElf64(&'static str),
    /// No loadable segment.
    NoLoadSegments,
    /// A segment's file range lies outside the image.
    SegmentOutOfFile,
    /// A Xen note has the wrong size or encoding.
    BadNote(u32),
    /// The FEATURES note names a feature we do not know.
    UnknownFeature(alloc::string::String),
    /// The address arithmetic failed a check (message says which).
    BadAddresses(&'static str),
    /// No Xen notes at all: not a PV kernel.
    NotXenKernel,
    /// An x86 boot image (bzImage): its compressed ELF must be unpacked
    /// first (`cargo xtask` packs Debian's kernel as the ELF `vmlinux`).
    BzImage,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf64(why) => write!(f, "not an x86_64 ELF64 kernel: {why}"),
            ElfError::NoLoadSegments => write!(f, "kernel has no PT_LOAD segment"),
            ElfError::SegmentOutOfFile => write!(f, "kernel segment lies outside the file"),
            ElfError::BadNote(t) => write!(f, "malformed Xen ELF note type {t}"),
            ElfError::UnknownFeature(n) => write!(f, "FEATURES note names unknown feature '{n}'"),
            ElfError::BadAddresses(why) => write!(f, "kernel addresses rejected: {why}"),
            ElfError::NotXenKernel => write!(f, "kernel has no Xen ELF notes (not a PV kernel)"),
            ElfError::BzImage => {
                write!(f, "kernel is a bzImage: unpack its vmlinux first (e.g. the xz stream after the setup code)")
            }
        }
    }
}

/// A loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Physical address from the ELF (`p_paddr`).
    pub paddr: u64,
    /// Offset in the file.
    pub offset: u64,
    /// Bytes in the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero).
    pub memsz: u64,
}

/// XENFEAT bitmaps from the `FEATURES` string (`!name` = required) and the
/// `SUPPORTED_FEATURES` note.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Features the kernel can use.
    pub supported: u32,
    /// Features the kernel cannot run without.
    pub required: u32,
}

/// The raw Xen notes (`None`: note absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XenNotes<'a> {
    /// `ENTRY`
    pub entry: Option<u64>,
    /// `HYPERCALL_PAGE`
    pub hypercall_page: Option<u64>,
    /// `VIRT_BASE`
    pub virt_base: Option<u64>,
    /// `PADDR_OFFSET`
    pub paddr_offset: Option<u64>,
    /// `INIT_P2M`
    pub init_p2m: Option<u64>,
    /// `PHYS32_ENTRY` (PVH)
    pub phys32_entry: Option<u64>,
    /// `SUPPORTED_FEATURES` bitmap
    pub supported_features: Option<u32>,
    /// `FEATURES` parsed
    pub features: Features,
    /// `XEN_VERSION`
    pub xen_version: Option<&'a str>,
    /// `GUEST_OS`
    pub guest_os: Option<&'a str>,
    /// `LOADER`
    pub loader: Option<&'a str>,
    /// `PAE_MODE`
    pub pae_mode: Option<&'a str>,
    /// `MOD_START_PFN` non-zero
    pub mod_start_pfn: bool,
    /// Number of Xen notes seen
    pub count: usize,
}

/// A checked PV kernel: its segments and where they go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelParams<'a> {
    /// The notes as found.
    pub notes: XenNotes<'a>,
    /// Loadable segments.
    pub segments: Vec<Segment>,
    /// `VIRT_BASE` (0 if absent).
    pub virt_base: u64,
    /// `virt_base - paddr_offset`: added to `p_paddr` to get a virtual address.
    pub virt_offset: u64,
    /// First virtual byte of the image.
    pub virt_kstart: u64,
    /// End (exclusive) of the image in memory.
    pub virt_kend: u64,
    /// Entry point.
    pub virt_entry: u64,
    /// Hypercall page, if the kernel wants one.
    pub virt_hypercall: Option<u64>,
    /// Features (the SUPPORTED_FEATURES bitmap is merged into `supported`).
    pub features: Features,
}

impl KernelParams<'_> {
    /// Whether the kernel may run as dom0: Xen only checks when the kernel
    /// has a `SUPPORTED_FEATURES` note, and then requires `XENFEAT_dom0`.
    pub fn dom0_capable(&self) -> bool {
        match self.notes.supported_features {
            None => true,
            Some(_) => self.features.supported & (1 << pv_abi::abi::features::XENFEAT_dom0) != 0,
        }
    }
}

fn numeric(ty: u32, desc: &[u8]) -> Result<u64, ElfError> {
    Ok(match desc.len() {
        1 => desc[0] as u64,
        2 => u16::from_le_bytes([desc[0], desc[1]]) as u64,
        4 => u32::from_le_bytes(desc.try_into().map_err(|_| ElfError::BadNote(ty))?) as u64,
        8 => u64::from_le_bytes(desc.try_into().map_err(|_| ElfError::BadNote(ty))?),
        _ => return Err(ElfError::BadNote(ty)),
    })
}

fn string(ty: u32, desc: &[u8]) -> Result<&str, ElfError> {
    let end = desc.iter().position(|&c| c == 0).unwrap_or(desc.len());
    core::str::from_utf8(&desc[..end]).map_err(|_| ElfError::BadNote(ty))
}

/// Parses a `FEATURES` string: `|`-separated names, `!` marks required.
pub fn parse_features(s: &str) -> Result<Features, ElfError> {
    let mut f = Features::default();
    for item in s.split('|').filter(|i| !i.is_empty()) {
        let (required, name) = match item.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, item),
        };
        let bit = FEATURE_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .ok_or_else(|| ElfError::UnknownFeature(name.into()))?;
        f.supported |= 1 << bit;
        if required {
            f.required |= 1 << bit;
        }
    }
    Ok(f)
}

/// Parses and checks a PV kernel image.
pub fn parse(data: &[u8]) -> Result<KernelParams<'_>, ElfError> {
    // The x86 boot protocol's "HdrS" signature at 0x202.
    if data.get(0x202..0x206) == Some(b"HdrS") {
        return Err(ElfError::BzImage);
    }
    let hdr = FileHeader64::<LE>::parse(data).map_err(|_| ElfError::NotElf64("bad ELF header"))?;
    if hdr.e_ident().class != ELFCLASS64 {
        return Err(ElfError::NotElf64("not ELF64"));
    }
    let endian = hdr.endian().map_err(|_| ElfError::NotElf64("not little-endian"))?;
    if hdr.e_machine(endian) != EM_X86_64 {
        return Err(ElfError::NotElf64("not x86_64"));
    }
    let phdrs = hdr.program_headers(endian, data).map_err(|_| ElfError::NotElf64("bad program headers"))?;

    let mut notes = XenNotes::default();
    let mut segments = Vec::new();
    for ph in phdrs {
        match ph.p_type(endian) {
            PT_LOAD => {
                let s = Segment {
                    paddr: ph.p_paddr(endian),
                    offset: ph.p_offset(endian),
                    filesz: ph.p_filesz(endian),
                    memsz: ph.p_memsz(endian),
                };
                let end = s.offset.checked_add(s.filesz).ok_or(ElfError::SegmentOutOfFile)?;
                if end > data.len() as u64 || s.filesz > s.memsz {
                    return Err(ElfError::SegmentOutOfFile);
                }
                if s.memsz > 0 {
                    segments.push(s);
                }
            }
            PT_NOTE => {
                let it = ph
                    .notes(endian, data)
                    .map_err(|_| ElfError::NotElf64("bad note segment"))?
                    .ok_or(ElfError::NotElf64("bad note segment"))?;
                for note in it {
                    let note = note.map_err(|_| ElfError::NotElf64("bad note"))?;
                    if note.name() != b"Xen" {
                        continue;
                    }
                    parse_note(&mut notes, note.n_type(endian).0, note.desc())?;
                }
            }
            _ => {}
        }
    }
    if notes.count == 0 {
        return Err(ElfError::NotXenKernel);
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadSegments);
    }
    let entry_elf = hdr.e_entry(endian);
    check(notes, segments, entry_elf)
}

fn parse_note<'a>(n: &mut XenNotes<'a>, ty: u32, desc: &'a [u8]) -> Result<(), ElfError> {
    n.count += 1;
    match ty {
        XEN_ELFNOTE_ENTRY => n.entry = Some(numeric(ty, desc)?),
        XEN_ELFNOTE_HYPERCALL_PAGE => n.hypercall_page = Some(numeric(ty, desc)?),
        XEN_ELFNOTE_VIRT_BASE => n.virt_base = Some(numeric(ty, desc)?),
        XEN_ELFNOTE_PADDR_OFFSET => n.paddr_offset = Some(numeric(ty, desc)?),
        XEN_ELFNOTE_INIT_P2M => n.init_p2m = Some(numeric(ty, desc)?),
        XEN_ELFNOTE_PHYS32_ENTRY => n.phys32_entry = Some(numeric(ty, desc)?),
        XEN_ELFNOTE_MOD_START_PFN => n.mod_start_pfn = numeric(ty, desc)? != 0,
        XEN_ELFNOTE_SUPPORTED_FEATURES => {
            n.supported_features = Some(numeric(ty, desc)? as u32);
        }
        XEN_ELFNOTE_FEATURES => {
            let f = parse_features(string(ty, desc)?)?;
            n.features.supported |= f.supported;
            n.features.required |= f.required;
        }
        XEN_ELFNOTE_XEN_VERSION => n.xen_version = Some(string(ty, desc)?),
        XEN_ELFNOTE_GUEST_OS => n.guest_os = Some(string(ty, desc)?),
        XEN_ELFNOTE_LOADER => n.loader = Some(string(ty, desc)?),
        XEN_ELFNOTE_PAE_MODE => n.pae_mode = Some(string(ty, desc)?),
        _ => {} // informational notes we do not need
    }
    Ok(())
}

fn check<'a>(notes: XenNotes<'a>, segments: Vec<Segment>, entry_elf: u64) -> Result<KernelParams<'a>, ElfError> {
    let pstart = segments.iter().map(|s| s.paddr).min().ok_or(ElfError::NoLoadSegments)?;
    let mut pend = 0u64;
    for s in &segments {
        let e = s.paddr.checked_add(s.memsz).ok_or(ElfError::BadAddresses("segment wraps"))?;
        pend = pend.max(e);
    }
    let virt_base = notes.virt_base.unwrap_or(0);
    // As libelf: an absent PADDR_OFFSET means physical addresses are
    // virtual ones with VIRT_BASE already included.
    let paddr_offset = notes.paddr_offset.unwrap_or(virt_base);
    let virt_offset = virt_base.wrapping_sub(paddr_offset);
    let virt_kstart = pstart.wrapping_add(virt_offset);
    let virt_kend = pend.wrapping_add(virt_offset);
    if virt_kstart >= virt_kend {
        return Err(ElfError::BadAddresses("image is empty or wraps"));
    }
    if virt_kstart < virt_base {
        return Err(ElfError::BadAddresses("image starts below VIRT_BASE"));
    }
    let virt_entry = notes.entry.unwrap_or(entry_elf);
    if virt_entry < virt_kstart || virt_entry >= virt_kend {
        return Err(ElfError::BadAddresses("entry point outside the image"));
    }
    if let Some(hc) = notes.hypercall_page {
        if hc < virt_kstart || hc >= virt_kend || hc & 0xfff != 0 {
            return Err(ElfError::BadAddresses("hypercall page outside the image or unaligned"));
        }
    }
    let mut features = notes.features;
    if let Some(bits) = notes.supported_features {
        features.supported |= bits;
    }
    Ok(KernelParams {
        virt_hypercall: notes.hypercall_page,
        notes,
        segments,
        virt_base,
        virt_offset,
        virt_kstart,
        virt_kend,
        virt_entry,
        features,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec;

    /// Builds a minimal ELF64 x86_64 image: one PT_LOAD of `code` at
    /// `vaddr` (paddr == vaddr) and one PT_NOTE segment of `notes`.
    pub fn make_elf(vaddr: u64, code: &[u8], memsz: u64, notes: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut note_bytes = Vec::new();
        for (ty, desc) in notes {
            note_bytes.extend_from_slice(&4u32.to_le_bytes());
            note_bytes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
            note_bytes.extend_from_slice(&ty.to_le_bytes());
            note_bytes.extend_from_slice(b"Xen\0");
            note_bytes.extend_from_slice(desc);
            while !note_bytes.len().is_multiple_of(4) {
                note_bytes.push(0);
            }
        }
        let phoff = 64u64;
        let phnum = 2u64;
        let code_off = phoff + 56 * phnum;
        let note_off = code_off + code.len() as u64;
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // little endian
        f[6] = 1; // EV_CURRENT
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&vaddr.to_le_bytes()); // e_entry
        f[32..40].copy_from_slice(&phoff.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        f[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
        let ph = |ty: u32, off: u64, addr: u64, filesz: u64, memsz: u64, align: u64| {
            let mut p = vec![0u8; 56];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[4..8].copy_from_slice(&7u32.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&addr.to_le_bytes());
            p[24..32].copy_from_slice(&addr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p[48..56].copy_from_slice(&align.to_le_bytes());
            p
        };
        f.extend(ph(PT_LOAD.0, code_off, vaddr, code.len() as u64, memsz, 0x1000));
        f.extend(ph(PT_NOTE.0, note_off, 0, note_bytes.len() as u64, note_bytes.len() as u64, 4));
        f.extend_from_slice(code);
        f.extend(note_bytes);
        f
    }

    pub const BASE: u64 = 0xffff_ffff_8000_0000;

    pub fn std_notes() -> Vec<(u32, Vec<u8>)> {
        vec![
            (XEN_ELFNOTE_VIRT_BASE, BASE.to_le_bytes().to_vec()),
            (XEN_ELFNOTE_PADDR_OFFSET, BASE.to_le_bytes().to_vec()),
            (XEN_ELFNOTE_ENTRY, (BASE + 0x10).to_le_bytes().to_vec()),
            (XEN_ELFNOTE_HYPERCALL_PAGE, (BASE + 0x1000).to_le_bytes().to_vec()),
            (XEN_ELFNOTE_FEATURES, b"!writable_page_tables|pae_pgdir_above_4gb\0".to_vec()),
            (XEN_ELFNOTE_XEN_VERSION, b"xen-3.0\0".to_vec()),
            (XEN_ELFNOTE_GUEST_OS, b"test\0".to_vec()),
        ]
    }

    #[test]
    fn good_kernel() {
        let img = make_elf(BASE, &[0x90; 0x2000], 0x3000, &std_notes());
        let p = parse(&img).unwrap();
        assert_eq!(p.virt_kstart, BASE);
        assert_eq!(p.virt_kend, BASE + 0x3000);
        assert_eq!(p.virt_entry, BASE + 0x10);
        assert_eq!(p.virt_hypercall, Some(BASE + 0x1000));
        assert_eq!(p.notes.xen_version, Some("xen-3.0"));
        assert_eq!(p.notes.guest_os, Some("test"));
        assert_eq!(p.features.required, 1 << 0);
        assert_eq!(p.features.supported, (1 << 0) | (1 << 4));
        assert!(p.dom0_capable(), "no SUPPORTED_FEATURES note: Xen does not check");
        assert_eq!(p.segments, [Segment { paddr: BASE, offset: 176, filesz: 0x2000, memsz: 0x3000 }]);
    }

    #[test]
    fn linux_style_paddr_offset() {
        // Linux: VIRT_BASE 0xffffffff80000000, PADDR_OFFSET 0, paddr 16 MiB.
        let mut notes = std_notes();
        notes[1] = (XEN_ELFNOTE_PADDR_OFFSET, 0u64.to_le_bytes().to_vec());
        notes[2] = (XEN_ELFNOTE_ENTRY, (BASE + 0x100_0000).to_le_bytes().to_vec());
        notes[3] = (XEN_ELFNOTE_HYPERCALL_PAGE, (BASE + 0x100_1000).to_le_bytes().to_vec());
        let img = make_elf(0x100_0000, &[0x90; 0x2000], 0x2000, &notes);
        let p = parse(&img).unwrap();
        assert_eq!(p.virt_kstart, BASE + 0x100_0000);
        assert_eq!(p.virt_offset, BASE);
    }

    #[test]
    fn supported_features_note_and_dom0() {
        let mut notes = std_notes();
        notes.push((XEN_ELFNOTE_SUPPORTED_FEATURES, 0u32.to_le_bytes().to_vec()));
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        assert!(!parse(&img).unwrap().dom0_capable());
        let mut notes = std_notes();
        notes.push((XEN_ELFNOTE_SUPPORTED_FEATURES, (1u32 << 11).to_le_bytes().to_vec()));
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        assert!(parse(&img).unwrap().dom0_capable());
    }

    #[test]
    fn malformed_notes() {
        let mut notes = std_notes();
        notes.push((XEN_ELFNOTE_ENTRY, vec![1, 2, 3]));
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        assert_eq!(parse(&img).unwrap_err(), ElfError::BadNote(XEN_ELFNOTE_ENTRY));

        let mut notes = std_notes();
        notes[4] = (XEN_ELFNOTE_FEATURES, b"!warp_drive\0".to_vec());
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        assert_eq!(parse(&img).unwrap_err(), ElfError::UnknownFeature("warp_drive".into()));

        let mut notes = std_notes();
        notes[2] = (XEN_ELFNOTE_ENTRY, (BASE + 0x9000).to_le_bytes().to_vec());
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        assert!(matches!(parse(&img).unwrap_err(), ElfError::BadAddresses(_)));

        let mut notes = std_notes();
        notes[3] = (XEN_ELFNOTE_HYPERCALL_PAGE, (BASE + 0x800).to_le_bytes().to_vec());
        let img = make_elf(BASE, &[0; 0x2000], 0x2000, &notes);
        assert!(matches!(parse(&img).unwrap_err(), ElfError::BadAddresses(_)));
    }

    #[test]
    fn not_a_pv_kernel() {
        let img = make_elf(BASE, &[0; 16], 16, &[]);
        assert_eq!(parse(&img).unwrap_err(), ElfError::NotXenKernel);
        assert!(matches!(parse(b"\x7fELF").unwrap_err(), ElfError::NotElf64(_)));
        assert!(matches!(parse(&[]).unwrap_err(), ElfError::NotElf64(_)));
    }

    #[test]
    fn a_bzimage_is_named_as_such() {
        let mut img = vec![0u8; 0x400];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        let e = parse(&img).map(|_| ()).expect_err("refused");
        assert_eq!(e, ElfError::BzImage);
        assert!(e.to_string().contains("bzImage"));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let img = make_elf(BASE, &[0x90; 64], 64, &std_notes());
        for len in 0..img.len() {
            assert!(parse(&img[..len]).is_err(), "truncated image of {len} bytes accepted");
        }
    }

    #[test]
    fn segment_past_end_of_file() {
        let mut img = make_elf(BASE, &[0x90; 64], 64, &std_notes());
        // filesz of the PT_LOAD header = huge
        img[64 + 32..64 + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(parse(&img).unwrap_err(), ElfError::SegmentOutOfFile);
    }
}
