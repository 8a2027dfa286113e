//! The boot archive: a cpio "newc" (`070701`) archive.
//!
//! QEMU's PVH loader passes exactly one module, so everything dom0 needs
//! (its kernel, the guest kernels, `etc/xen/*.cfg`) travels in one archive.
//! The hypervisor finds dom0's kernel in it and hands the whole archive to
//! dom0 as its initrd; dom0 serves it as its read-only file tree.
//!
//! Format per entry: the 6-byte magic `070701`, thirteen 8-digit hex
//! fields (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
//! devminor, rdevmajor, rdevminor, namesize, check), the NUL-terminated
//! name padded to 4 bytes, the data padded to 4 bytes. The entry named
//! `TRAILER!!!` ends the archive.

use core::fmt;

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// `S_IFMT` bits of `mode`.
pub const S_IFMT: u32 = 0o170000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;

/// One entry of the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path inside the archive, without a leading `./` or `/`.
    pub name: &'a str,
    /// `st_mode`.
    pub mode: u32,
    /// File contents.
    pub data: &'a [u8],
}

impl Entry<'_> {
    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
}

/// Why an archive could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveError {
    /// An entry header does not start with `070701` (at byte offset).
    BadMagic(usize),
    /// A header field is not 8 hex digits (at byte offset).
    BadField(usize),
    /// The archive ends inside an entry (at byte offset).
    Truncated(usize),
    /// A name is not NUL-terminated UTF-8 (at byte offset).
    BadName(usize),
    /// No `TRAILER!!!` entry.
    NoTrailer,
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::BadMagic(o) => write!(f, "boot archive: bad cpio magic at byte {o}"),
            ArchiveError::BadField(o) => write!(f, "boot archive: bad header field at byte {o}"),
            ArchiveError::Truncated(o) => write!(f, "boot archive: truncated at byte {o}"),
            ArchiveError::BadName(o) => write!(f, "boot archive: bad file name at byte {o}"),
            ArchiveError::NoTrailer => write!(f, "boot archive: missing TRAILER!!! entry"),
        }
    }
}

/// Whether `data` starts like a newc archive.
pub fn is_archive(data: &[u8]) -> bool {
    data.len() >= HEADER_LEN && &data[..6] == MAGIC
}

/// A parsed archive: iterate it, or look a file up by name.
#[derive(Clone, Copy, Debug)]
pub struct Archive<'a> {
    data: &'a [u8],
}

impl<'a> Archive<'a> {
    /// Checks the whole archive once, so that iteration cannot fail later.
    pub fn new(data: &'a [u8]) -> Result<Self, ArchiveError> {
        let mut it = RawIter { data, off: 0 };
        loop {
            match it.next_entry()? {
                Some(_) => {}
                None => return Ok(Archive { data }),
            }
        }
    }

    /// The entries, in archive order, without the trailer.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'a>> + 'a {
        let mut it = RawIter { data: self.data, off: 0 };
        // `new` validated every entry, so errors cannot occur here.
        core::iter::from_fn(move || it.next_entry().ok().flatten())
    }

    /// The regular file at `path` (leading `/` or `./` ignored).
    pub fn file(&self, path: &str) -> Option<&'a [u8]> {
        let path = normalize(path);
        self.entries().find(|e| e.is_file() && e.name == path).map(|e| e.data)
    }
}

/// Strips a leading `./` or `/`s.
pub fn normalize(path: &str) -> &str {
    let p = path.strip_prefix("./").unwrap_or(path);
    p.trim_start_matches('/')
}

struct RawIter<'a> {
    data: &'a [u8],
    off: usize,
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

impl<'a> RawIter<'a> {
    fn field(&self, hdr: usize, idx: usize) -> Result<u32, ArchiveError> {
        let start = hdr + 6 + idx * 8;
        let bytes = &self.data[start..start + 8];
        let s = core::str::from_utf8(bytes).map_err(|_| ArchiveError::BadField(start))?;
        u32::from_str_radix(s, 16).map_err(|_| ArchiveError::BadField(start))
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ArchiveError> {
        let hdr = self.off;
        if hdr >= self.data.len() {
            return Err(ArchiveError::NoTrailer);
        }
        if self.data.len() - hdr < HEADER_LEN {
            return Err(ArchiveError::Truncated(hdr));
        }
        if &self.data[hdr..hdr + 6] != MAGIC {
            return Err(ArchiveError::BadMagic(hdr));
        }
        let mode = self.field(hdr, 1)?;
        let filesize = self.field(hdr, 6)? as usize;
        let namesize = self.field(hdr, 11)? as usize;
        let name_start = hdr + HEADER_LEN;
        let name_end = name_start.checked_add(namesize).ok_or(ArchiveError::Truncated(hdr))?;
        if namesize == 0 || name_end > self.data.len() {
            return Err(ArchiveError::Truncated(name_start));
        }
        let raw_name = &self.data[name_start..name_end];
        if raw_name[namesize - 1] != 0 {
            return Err(ArchiveError::BadName(name_start));
        }
        let name = core::str::from_utf8(&raw_name[..namesize - 1]).map_err(|_| ArchiveError::BadName(name_start))?;
        let data_start = align4(name_end);
        let data_end = data_start.checked_add(filesize).ok_or(ArchiveError::Truncated(hdr))?;
        if data_end > self.data.len() {
            return Err(ArchiveError::Truncated(data_start.min(self.data.len())));
        }
        if name == TRAILER {
            self.off = self.data.len();
            return Ok(None);
        }
        self.off = align4(data_end);
        Ok(Some(Entry { name: normalize(name), mode, data: &self.data[data_start..data_end] }))
    }
}

/// Writes newc archives (xtask, tests; dom0 may use it too).
pub mod writer {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    /// Builds an archive in memory.
    #[derive(Default)]
    pub struct ArchiveWriter {
        out: Vec<u8>,
        ino: u32,
    }

    impl ArchiveWriter {
        /// An empty archive.
        pub fn new() -> Self {
            Self::default()
        }

        fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
            self.ino += 1;
            let namesize = name.len() + 1;
            let fields = [self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, namesize as u32, 0];
            self.out.extend_from_slice(MAGIC);
            for f in fields {
                self.out.extend_from_slice(format!("{f:08x}").as_bytes());
            }
            self.out.extend_from_slice(name.as_bytes());
            self.out.push(0);
            while !self.out.len().is_multiple_of(4) {
                self.out.push(0);
            }
            self.out.extend_from_slice(data);
            while !self.out.len().is_multiple_of(4) {
                self.out.push(0);
            }
        }

        /// Adds a directory entry.
        pub fn dir(&mut self, name: &str) -> &mut Self {
            self.entry(normalize(name), S_IFDIR | 0o755, &[]);
            self
        }

        /// Adds a regular file.
        pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
            self.entry(normalize(name), S_IFREG | 0o644, data);
            self
        }

        /// Adds an executable regular file (mode 0755), e.g. an initramfs `/init`.
        pub fn executable(&mut self, name: &str, data: &[u8]) -> &mut Self {
            self.entry(normalize(name), S_IFREG | 0o755, data);
            self
        }

        /// Appends the trailer and returns the bytes.
        pub fn finish(mut self) -> Vec<u8> {
            self.entry(TRAILER, 0, &[]);
            self.out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::writer::ArchiveWriter;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = ArchiveWriter::new();
        w.dir("boot").file("boot/dom0", b"\x7fELF kernel").file("/etc/xen/hello.cfg", b"name = \"hello\"\n");
        w.finish()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        assert!(is_archive(&bytes));
        let a = Archive::new(&bytes).unwrap();
        let names: Vec<_> = a.entries().map(|e| e.name).collect();
        assert_eq!(names, ["boot", "boot/dom0", "etc/xen/hello.cfg"]);
        assert_eq!(a.file("boot/dom0"), Some(&b"\x7fELF kernel"[..]));
        assert_eq!(a.file("/etc/xen/hello.cfg"), Some(&b"name = \"hello\"\n"[..]));
        assert_eq!(a.file("./boot/dom0").map(|d| d.len()), Some(11));
        assert_eq!(a.file("boot"), None, "a directory is not a file");
        assert_eq!(a.file("missing"), None);
    }

    #[test]
    fn truncated_anywhere_is_an_error_not_a_panic() {
        let bytes = sample();
        for len in 0..bytes.len() {
            let r = Archive::new(&bytes[..len]);
            assert!(r.is_err(), "prefix of {len} bytes was accepted");
        }
    }

    #[test]
    fn bad_magic_and_fields() {
        let mut bytes = sample();
        bytes[0] = b'X';
        assert_eq!(Archive::new(&bytes).unwrap_err(), ArchiveError::BadMagic(0));
        let mut bytes = sample();
        bytes[6 + 6 * 8] = b'z'; // filesize field
        assert_eq!(Archive::new(&bytes).unwrap_err(), ArchiveError::BadField(54));
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let mut bytes = sample();
        // namesize of the first entry = ffffffff
        bytes[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"ffffffff");
        assert!(matches!(Archive::new(&bytes), Err(ArchiveError::Truncated(_))));
    }

    #[test]
    fn not_an_archive() {
        assert!(!is_archive(b"\x7fELF\x02\x01\x01"));
        assert_eq!(Archive::new(&[]).unwrap_err(), ArchiveError::NoTrailer);
    }
}
