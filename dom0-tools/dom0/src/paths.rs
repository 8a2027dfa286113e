//! dom0's file tree: the boot archive, read-only, seen as `/`.
//!
//! `etc/xen/hello.cfg` in the archive is `/etc/xen/hello.cfg` at the
//! shell; the working directory is always `/`, so a relative path names
//! the same file as with a leading `/` (`xl create etc/xen/hello.cfg`).
//! Paths are resolved lexically (`.`, `..`, repeated `/`), as the archive
//! has no symbolic links.

use alloc::string::String;
use alloc::vec::Vec;

/// A cpio newc archive with nothing in it (only its `TRAILER!!!`): dom0's
/// tree when it was booted without a boot archive.
pub const EMPTY_ARCHIVE: &[u8] = b"070701\
00000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000B00000000\
TRAILER!!!\0\0\0\0";

/// The archive key of `path` (no leading `/`; empty for the root).
pub fn resolve(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The names directly inside directory `dir` (an archive key, `""` for
/// the root), given every archive entry name, sorted and without
/// duplicates; a name of a directory gets a trailing `/`. Directories
/// that exist only as prefixes of file names count too.
pub fn list_dir<'a>(names: impl Iterator<Item = (&'a str, bool)>, dir: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, is_dir) in names {
        let rest = if dir.is_empty() {
            name
        } else {
            match name.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
                Some(r) => r,
                None => continue,
            }
        };
        if rest.is_empty() {
            continue;
        }
        let entry = match rest.split_once('/') {
            Some((first, _)) => alloc::format!("{first}/"),
            None if is_dir => alloc::format!("{rest}/"),
            None => String::from(rest),
        };
        out.push(entry);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_lexically_from_the_root() {
        assert_eq!(resolve("/etc/xen/hello.cfg"), "etc/xen/hello.cfg");
        assert_eq!(resolve("etc//xen/./hello.cfg"), "etc/xen/hello.cfg");
        assert_eq!(resolve("/boot/../etc/xen/../../etc/xen/a"), "etc/xen/a");
        assert_eq!(resolve("../../x"), "x");
        assert_eq!(resolve("/"), "");
        assert_eq!(resolve(""), "");
    }

    #[test]
    fn the_empty_archive_is_an_archive() {
        let a = domain_builder::archive::Archive::new(EMPTY_ARCHIVE).unwrap();
        assert_eq!(a.entries().count(), 0);
        assert!(domain_builder::archive::is_archive(EMPTY_ARCHIVE));
    }

    #[test]
    fn directories_are_listed_from_entry_names() {
        let entries = [
            ("boot", true),
            ("boot/dom0", false),
            ("boot/guests", true),
            ("boot/guests/domu", false),
            ("etc/xen/hello.cfg", false),
            ("etc/xen/reboot.cfg", false),
        ];
        assert_eq!(list_dir(entries.iter().copied(), ""), ["boot/", "etc/"]);
        assert_eq!(list_dir(entries.iter().copied(), "boot"), ["dom0", "guests/"]);
        assert_eq!(list_dir(entries.iter().copied(), "etc/xen"), ["hello.cfg", "reboot.cfg"]);
        assert!(list_dir(entries.iter().copied(), "nope").is_empty());
        assert!(list_dir(entries.iter().copied(), "bo").is_empty());
    }
}
