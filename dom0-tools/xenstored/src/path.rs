//! Xenstore path rules (`docs/misc/xenstore.txt`, Xen's `canonicalize()`).
//!
//! A path is absolute (`/a/b`), relative to the caller's home
//! `/local/domain/<domid>` (`a/b`), or, where allowed, a special watch name
//! (`@releaseDomain`). Characters are limited to `[A-Za-z0-9-/_@]`; `//`,
//! a trailing `/` (except the root) and the empty path are refused. An
//! absolute path is at most [`XENSTORE_ABS_PATH_MAX`] bytes; for an
//! unprivileged caller the part after a `/local/domain/<n>/` prefix is at
//! most `Config::max_path_len` (Xen's `path-max` quota, 2048) bytes.

use alloc::format;
use alloc::string::String;
use pv_abi::abi::errno::{Errno, EINVAL};
use pv_abi::abi::io::xs_wire::XENSTORE_ABS_PATH_MAX;
use pv_abi::DomId;

/// The `/local/domain` prefix of every domain's home.
pub const LOCAL_DOMAIN: &str = "/local/domain";

/// A domain's home, `/local/domain/<domid>` (what `GET_DOMAIN_PATH` returns).
pub fn domain_path(domid: DomId) -> String {
    format!("{LOCAL_DOMAIN}/{}", domid.0)
}

/// A checked, absolute (or special `@...`) path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canon {
    /// The absolute path (or the special name).
    pub path: String,
    /// Bytes to strip from the front to give the caller's relative form
    /// (`/local/domain/<id>/`), or 0 if the caller gave an absolute path.
    pub prefix_len: usize,
}

fn valid_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'_' | b'@')
}

/// Length of a leading `/local/domain/<n>/` (n: 1-5 digits), or 0.
fn local_prefix_len(path: &str) -> usize {
    let Some(rest) = path.strip_prefix("/local/domain/") else { return 0 };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=5).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'/') {
        "/local/domain/".len() + digits + 1
    } else {
        0
    }
}

/// Checks `raw` as sent by `dom` and makes it absolute. `allow_special`
/// admits `@...` names (watches and the permissions of special nodes).
/// `max_rel` limits the length after a `/local/domain/<n>/` prefix
/// (`None`: privileged caller, no limit but the absolute maximum).
pub fn canonicalize(dom: DomId, raw: &str, allow_special: bool, max_rel: Option<usize>) -> Result<Canon, Errno> {
    let inval = Errno(EINVAL);
    let bytes = raw.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(|&c| valid_char(c)) {
        return Err(inval);
    }
    if bytes[0] == b'@' && !allow_special {
        return Err(inval);
    }
    let (path, prefix_len) = if bytes[0] != b'/' && bytes[0] != b'@' {
        let home = domain_path(dom);
        let prefix_len = home.len() + 1;
        (format!("{home}/{raw}"), prefix_len)
    } else {
        (String::from(raw), 0)
    };
    if (path.ends_with('/') && path != "/") || path.contains("//") || path.len() > XENSTORE_ABS_PATH_MAX {
        return Err(inval);
    }
    if let Some(max) = max_rel {
        if path.len() - local_prefix_len(&path) > max {
            return Err(inval);
        }
    }
    Ok(Canon { path, prefix_len })
}

/// Whether `path` names a special node (`@...`).
pub fn is_special(path: &str) -> bool {
    path.starts_with('@')
}

/// The parent of a canonical path (`/` for top-level nodes and for
/// special names, as Xen's `get_parent()`); `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path[1..].rfind('/') {
        Some(i) => Some(&path[..i + 1]),
        None => Some("/"),
    }
}

/// The last component of a canonical path other than `/`.
pub fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// `parent/name`, handling the root.
pub fn child(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Whether `path` is `ancestor` or lies below it (xenstore.txt's
/// "child" relation; everything absolute is below `/`).
pub fn is_at_or_below(path: &str, ancestor: &str) -> bool {
    if ancestor == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(ancestor) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let d = DomId(3);
        assert_eq!(canonicalize(d, "/a/b", false, Some(2048)).unwrap(), Canon { path: "/a/b".into(), prefix_len: 0 });
        assert_eq!(canonicalize(d, "/", false, Some(2048)).unwrap().path, "/");
        let c = canonicalize(d, "device/vbd", false, Some(2048)).unwrap();
        assert_eq!(c.path, "/local/domain/3/device/vbd");
        assert_eq!(&c.path[c.prefix_len..], "device/vbd");
        assert_eq!(canonicalize(d, "@releaseDomain", true, Some(2048)).unwrap().path, "@releaseDomain");
        for bad in ["", "/a/", "a//b", "/a b", "/a\u{e9}", "/a.b", "@x", "//"] {
            assert_eq!(canonicalize(d, bad, false, Some(2048)), Err(Errno(EINVAL)), "{bad:?}");
        }
    }

    #[test]
    fn length_limits() {
        let long = "x".repeat(2048);
        assert!(canonicalize(DomId(3), &long, false, Some(2048)).is_ok());
        let longer = "x".repeat(2049);
        assert!(canonicalize(DomId(3), &longer, false, Some(2048)).is_err());
        assert!(canonicalize(DomId(3), &format!("/local/domain/7/{long}"), false, Some(2048)).is_ok());
        assert!(canonicalize(DomId(3), &format!("/{long}"), false, Some(2048)).is_err());
        assert!(canonicalize(DomId(0), &format!("/{long}"), false, None).is_ok());
        let huge = format!("/{}", "x".repeat(XENSTORE_ABS_PATH_MAX));
        assert!(canonicalize(DomId(0), &huge, false, None).is_err());
    }

    #[test]
    fn relations() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(parent("@releaseDomain"), Some("/"));
        assert_eq!(basename("/a/bc"), "bc");
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
        assert!(is_at_or_below("/a/b", "/a"));
        assert!(is_at_or_below("/a", "/a"));
        assert!(!is_at_or_below("/ab", "/a"));
        assert!(is_at_or_below("/ab", "/"));
        assert!(!is_at_or_below("@releaseDomain", "/"));
        assert!(is_at_or_below("@releaseDomain", "@releaseDomain"));
    }
}
