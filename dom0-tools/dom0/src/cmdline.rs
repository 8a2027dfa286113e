//! dom0's command line: whitespace-separated `key=value` tokens (a bare
//! `key` has an empty value). The last occurrence of a key wins, as in
//! Xen's and Linux's parsers.
//!
//! Where it comes from: `start_info.cmd_line` (our hypervisor copies its
//! `dom0_args=` option there, `+` standing for spaces; real Xen the boot
//! module's string). When that is empty - real Xen booted with dom0 as a
//! bare module, as the tests do - dom0 looks for the same `dom0_args=`
//! option in Xen's own command line (`XENVER_commandline`); Xen ignores
//! the option it does not know. [`dom0_args`] extracts it.

use core::fmt;

/// A malformed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgError<'a> {
    /// The key.
    pub key: &'a str,
    /// Its value.
    pub value: &'a str,
    /// What was expected.
    pub expected: &'static str,
}

impl fmt::Display for ArgError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad value '{}' for '{}': expected {}", self.value, self.key, self.expected)
    }
}

/// A parsed command line (borrowing the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Args<'a> {
    text: &'a str,
}

impl<'a> Args<'a> {
    /// Wraps `text`.
    pub fn new(text: &'a str) -> Self {
        Args { text }
    }

    /// The whole text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The `(key, value)` tokens in order.
    pub fn tokens(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.text.split_ascii_whitespace().map(|t| t.split_once('=').unwrap_or((t, "")))
    }

    /// The value of the last `key=` token.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.tokens().filter(|(k, _)| *k == key).map(|(_, v)| v).last()
    }

    /// The value of `key` as a number (decimal, or hex with `0x`).
    pub fn number(&self, key: &'a str) -> Result<Option<u64>, ArgError<'a>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let parsed = match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        };
        parsed.map(Some).map_err(|_| ArgError { key, value: v, expected: "a number" })
    }
}

/// The value of the last `dom0_args=` token of a hypervisor command line,
/// with `+` turned into spaces, written into `buf` (truncated to fit).
pub fn dom0_args<'b>(hypervisor_cmdline: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let v = Args::new(hypervisor_cmdline).get("dom0_args")?;
    let n = v.len().min(buf.len());
    for (d, s) in buf.iter_mut().zip(v.bytes()) {
        *d = if s == b'+' { b' ' } else { s };
    }
    // Only ASCII '+' was replaced, so the bytes are UTF-8 up to the last
    // complete character that fit.
    match core::str::from_utf8(&buf[..n]) {
        Ok(s) => Some(s),
        Err(e) => core::str::from_utf8(&buf[..e.valid_up_to()]).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_last_wins() {
        let a = Args::new("  test=build count=5 verbose count=0x10 ");
        assert_eq!(a.get("test"), Some("build"));
        assert_eq!(a.get("verbose"), Some(""));
        assert_eq!(a.get("nope"), None);
        assert_eq!(a.number("count"), Ok(Some(16)));
        assert_eq!(a.number("nope"), Ok(None));
        assert_eq!(
            Args::new("count=ten").number("count"),
            Err(ArgError { key: "count", value: "ten", expected: "a number" })
        );
        assert_eq!(a.tokens().count(), 4);
    }

    #[test]
    fn dom0_args_from_the_hypervisor_cmdline() {
        let mut buf = [0u8; 64];
        let xen = "console=com1 dom0_mem=64M dom0_args=test=cycles+count=100 noreboot";
        assert_eq!(dom0_args(xen, &mut buf), Some("test=cycles count=100"));
        assert_eq!(dom0_args("console=com1", &mut buf), None);
        let mut small = [0u8; 4];
        assert_eq!(dom0_args("dom0_args=abcdef", &mut small), Some("abcd"));
        let mut three = [0u8; 3];
        assert_eq!(dom0_args("dom0_args=aé", &mut three), Some("aé"));
        let mut two = [0u8; 2];
        assert_eq!(dom0_args("dom0_args=aé", &mut two), Some("a"));
    }
}
