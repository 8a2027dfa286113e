//! Unpacking an x86 boot image (bzImage) into the ELF kernel inside it,
//! as libxc's `xc_dom_bzimageloader` does: Debian ships its kernel as a
//! bzImage whose protected-mode part carries the ELF `vmlinux` compressed
//! with xz (with the x86 BCJ filter), followed by its uncompressed size.
//!
//! Layout (Documentation/x86/boot.rst): the setup header at 0x1f1 gives
//! `setup_sects` (the protected-mode code starts at `(setup_sects + 1) *
//! 512`), the "HdrS" signature at 0x202, the protocol version at 0x206,
//! and from version 2.08 `payload_offset`/`payload_length` at 0x248/0x24c
//! (relative to the protected-mode code). The payload's last four bytes
//! are the unpacked size (the kernel build's `size_append`).
//!
//! Every field is checked against the image; a malformed image is an
//! error, never a panic; the output buffer is reserved fallibly.

use alloc::vec::Vec;
use core::fmt;

/// Largest kernel we unpack.
pub const MAX_UNPACKED: usize = 512 << 20;

/// Why an image could not be unpacked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BzError {
    /// No "HdrS" signature: not a bzImage.
    NotBzImage,
    /// Boot protocol older than 2.08 (no payload fields).
    OldProtocol(u16),
    /// A header field points outside the image.
    Truncated(&'static str),
    /// The payload is not xz (the format says which).
    Compression(&'static str),
    /// The unpacked size is zero or above [`MAX_UNPACKED`].
    BadSize(usize),
    /// Not enough memory for the unpacked kernel.
    NoMemory(usize),
    /// The xz stream is corrupt (the decoder's message).
    Xz(alloc::string::String),
    /// The stream ended before, or went beyond, the announced size.
    SizeMismatch {
        /// What the payload announced.
        announced: usize,
        /// What came out.
        got: usize,
    },
}

impl fmt::Display for BzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BzError::NotBzImage => write!(f, "not a bzImage (no HdrS signature)"),
            BzError::OldProtocol(v) => write!(f, "boot protocol {}.{:02} has no payload fields", v >> 8, v & 0xff),
            BzError::Truncated(what) => write!(f, "bzImage truncated: {what} lies outside the file"),
            BzError::Compression(what) => write!(f, "bzImage payload is {what}; only xz is supported"),
            BzError::BadSize(n) => write!(f, "bzImage announces an unpacked size of {n} bytes"),
            BzError::NoMemory(n) => write!(f, "not enough memory in dom0 to unpack {} MiB", n >> 20),
            BzError::Xz(e) => write!(f, "bzImage payload: {e}"),
            BzError::SizeMismatch { announced, got } => {
                write!(f, "bzImage payload unpacked to {got} bytes, not the {announced} announced")
            }
        }
    }
}

/// Whether `img` is a bzImage.
pub fn is_bzimage(img: &[u8]) -> bool {
    img.get(0x202..0x206) == Some(b"HdrS")
}

fn u16_at(img: &[u8], at: usize, what: &'static str) -> Result<u16, BzError> {
    let b = img.get(at..at + 2).ok_or(BzError::Truncated(what))?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(img: &[u8], at: usize, what: &'static str) -> Result<u32, BzError> {
    let b = img.get(at..at + 4).ok_or(BzError::Truncated(what))?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The compressed payload (without the trailing size) and the unpacked size.
pub fn payload(img: &[u8]) -> Result<(&[u8], usize), BzError> {
    if !is_bzimage(img) {
        return Err(BzError::NotBzImage);
    }
    let version = u16_at(img, 0x206, "the protocol version")?;
    if version < 0x208 {
        return Err(BzError::OldProtocol(version));
    }
    let setup_sects = match *img.get(0x1f1).ok_or(BzError::Truncated("setup_sects"))? {
        0 => 4,
        n => n as usize,
    };
    let pm = (setup_sects + 1) * 512;
    let off = u32_at(img, 0x248, "payload_offset")? as usize;
    let len = u32_at(img, 0x24c, "payload_length")? as usize;
    let start = pm.checked_add(off).ok_or(BzError::Truncated("the payload"))?;
    let end = start.checked_add(len).ok_or(BzError::Truncated("the payload"))?;
    let p = img.get(start..end).ok_or(BzError::Truncated("the payload"))?;
    if p.len() < 4 + 6 {
        return Err(BzError::Truncated("the payload"));
    }
    let (stream, size) = p.split_at(p.len() - 4);
    match stream {
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => {}
        [0x1f, 0x8b, ..] => return Err(BzError::Compression("gzip")),
        [b'B', b'Z', b'h', ..] => return Err(BzError::Compression("bzip2")),
        [0x5d, 0, 0, ..] => return Err(BzError::Compression("lzma")),
        [0x02, 0x21, 0x4c, 0x18, ..] => return Err(BzError::Compression("lz4")),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => return Err(BzError::Compression("zstd")),
        _ => return Err(BzError::Compression("of an unknown format")),
    }
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    if size == 0 || size > MAX_UNPACKED {
        return Err(BzError::BadSize(size));
    }
    Ok((stream, size))
}

/// Unpacks the ELF kernel of bzImage `img`.
pub fn unpack(img: &[u8]) -> Result<Vec<u8>, BzError> {
    let (stream, size) = payload(img)?;
    let mut out = Vec::new();
    out.try_reserve_exact(size).map_err(|_| BzError::NoMemory(size))?;
    out.resize(size, 0);
    // The kernel's xz uses up to a 32 MiB dictionary; it grows as needed.
    let mut dec = xz4rust::XzDecoder::in_heap_with_alloc_dict_size(1 << 20, 64 << 20);
    let (mut ip, mut op) = (0, 0);
    loop {
        match dec.decode(&stream[ip..], &mut out[op..]) {
            Ok(xz4rust::XzNextBlockResult::NeedMoreData(i, o)) => {
                ip += i;
                op += o;
                if i == 0 && o == 0 {
                    // No progress: the input ended, or the output is full
                    // while the stream goes on.
                    return Err(BzError::SizeMismatch { announced: size, got: op });
                }
            }
            Ok(xz4rust::XzNextBlockResult::EndOfStream(_, o)) => {
                op += o;
                break;
            }
            Err(e) => return Err(BzError::Xz(alloc::format!("{e}"))),
        }
    }
    if op != size {
        return Err(BzError::SizeMismatch { announced: size, got: op });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::process::{Command, Stdio};
    use std::vec;

    /// `data` compressed as the kernel build does (xz, x86 BCJ, CRC32).
    fn kernel_xz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = Command::new("xz")
            .args(["--format=xz", "--check=crc32", "--x86", "--lzma2=dict=1MiB", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the xz tool (xz-utils; cargo xtask and .ci/run install it)");
        let mut stdin = child.stdin.take().unwrap();
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        out.stdout
    }

    /// A bzImage around `payload` (with its size appended).
    fn bzimage(payload: &[u8], size: u32) -> Vec<u8> {
        let setup_sects = 3u8;
        let pm = (setup_sects as usize + 1) * 512;
        let mut img = vec![0u8; pm + 64];
        img[0x1f1] = setup_sects;
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        img[0x248..0x24c].copy_from_slice(&64u32.to_le_bytes());
        img[0x24c..0x250].copy_from_slice(&(payload.len() as u32 + 4).to_le_bytes());
        img.extend_from_slice(payload);
        img.extend_from_slice(&size.to_le_bytes());
        img.extend_from_slice(b"trailing setup data is ignored");
        img
    }

    fn sample() -> Vec<u8> {
        // ELF-like bytes with x86 call/jmp opcodes for the BCJ filter to touch.
        let mut v = b"\x7fELF".to_vec();
        for i in 0..300_000u32 {
            v.extend_from_slice(&[0xe8, (i >> 3) as u8, 0, 0, 0, (i % 251) as u8, b'x']);
        }
        v
    }

    #[test]
    fn unpacks_what_the_kernel_build_packs() {
        let elf = sample();
        let img = bzimage(&kernel_xz(&elf), elf.len() as u32);
        assert!(is_bzimage(&img));
        assert_eq!(unpack(&img).unwrap(), elf);
    }

    #[test]
    fn refusals_are_errors_not_panics() {
        let elf = sample();
        let xz = kernel_xz(&elf);
        assert_eq!(unpack(&elf), Err(BzError::NotBzImage));
        // Announced size wrong either way.
        assert!(matches!(unpack(&bzimage(&xz, elf.len() as u32 - 1)), Err(BzError::SizeMismatch { .. })));
        assert!(matches!(unpack(&bzimage(&xz, elf.len() as u32 + 1)), Err(BzError::SizeMismatch { .. })));
        assert_eq!(unpack(&bzimage(&xz, 0)), Err(BzError::BadSize(0)));
        assert_eq!(unpack(&bzimage(&xz, u32::MAX)), Err(BzError::BadSize(u32::MAX as usize)));
        // Corrupt stream.
        let mut bad = xz.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        assert!(matches!(unpack(&bzimage(&bad, elf.len() as u32)), Err(BzError::Xz(_) | BzError::SizeMismatch { .. })));
        // Other compressions are named.
        assert_eq!(unpack(&bzimage(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0], 10)), Err(BzError::Compression("gzip")));
        // Every truncation.
        let img = bzimage(&xz, elf.len() as u32);
        for cut in [0, 0x203, 0x207, 0x24a, 0x24e, 0x900, img.len() - 40] {
            assert!(unpack(&img[..cut]).is_err(), "cut at {cut}");
        }
        // Old protocol.
        let mut old = img.clone();
        old[0x206..0x208].copy_from_slice(&0x206u16.to_le_bytes());
        assert_eq!(unpack(&old), Err(BzError::OldProtocol(0x206)));
    }
}
