//! dom0's error type: what failed, and the hypervisor's answer or the bad
//! value. Every failure ends as a `FAIL: <reason>` line, never a panic.

use alloc::string::String;
use core::fmt;
use pv_abi::Errno;

/// Why an operation failed.
#[derive(Debug)]
pub enum Error {
    /// The hypervisor refused `what` with this errno.
    Hv(&'static str, Errno),
    /// A value is not what it must be (what, value).
    Bad(&'static str, u64),
    /// Anything else, spelled out (needs the heap).
    Msg(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Hv(what, e) => write!(f, "{what}: {e}"),
            Error::Bad(what, v) => write!(f, "{what} ({v:#x})"),
            Error::Msg(m) => f.write_str(m),
        }
    }
}

/// Result of a dom0 operation.
pub type Result<T = ()> = core::result::Result<T, Error>;

/// Tags a hypercall result with what was attempted.
pub trait Context<T> {
    /// `Err(errno)` becomes `Error::Hv(what, errno)`.
    fn ctx(self, what: &'static str) -> Result<T>;
}

impl<T> Context<T> for core::result::Result<T, Errno> {
    fn ctx(self, what: &'static str) -> Result<T> {
        self.map_err(|e| Error::Hv(what, e))
    }
}

/// `return Err(Error::Msg(format!(...)))`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(crate::error::Error::Msg(alloc::format!($($arg)*)))
    };
}
