//! `io/xs_wire.h`: the xenstore wire protocol: message header, message
//! types, error names, and the shared ring page between a domain and
//! xenstored.

use crate::assert_layout;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `enum xsd_sockmsg_type` values.
pub mod msg {
    /// `XS_CONTROL` (alias `XS_DEBUG`)
    pub const XS_CONTROL: u32 = 0;
    /// `XS_DEBUG`: old name of `XS_CONTROL`.
    pub const XS_DEBUG: u32 = XS_CONTROL;
    /// `XS_DIRECTORY`
    pub const XS_DIRECTORY: u32 = 1;
    /// `XS_READ`
    pub const XS_READ: u32 = 2;
    /// `XS_GET_PERMS`
    pub const XS_GET_PERMS: u32 = 3;
    /// `XS_WATCH`
    pub const XS_WATCH: u32 = 4;
    /// `XS_UNWATCH`
    pub const XS_UNWATCH: u32 = 5;
    /// `XS_TRANSACTION_START`
    pub const XS_TRANSACTION_START: u32 = 6;
    /// `XS_TRANSACTION_END`
    pub const XS_TRANSACTION_END: u32 = 7;
    /// `XS_INTRODUCE`
    pub const XS_INTRODUCE: u32 = 8;
    /// `XS_RELEASE`
    pub const XS_RELEASE: u32 = 9;
    /// `XS_GET_DOMAIN_PATH`
    pub const XS_GET_DOMAIN_PATH: u32 = 10;
    /// `XS_WRITE`
    pub const XS_WRITE: u32 = 11;
    /// `XS_MKDIR`
    pub const XS_MKDIR: u32 = 12;
    /// `XS_RM`
    pub const XS_RM: u32 = 13;
    /// `XS_SET_PERMS`
    pub const XS_SET_PERMS: u32 = 14;
    /// `XS_WATCH_EVENT`
    pub const XS_WATCH_EVENT: u32 = 15;
    /// `XS_ERROR`
    pub const XS_ERROR: u32 = 16;
    /// `XS_IS_DOMAIN_INTRODUCED`
    pub const XS_IS_DOMAIN_INTRODUCED: u32 = 17;
    /// `XS_RESUME`
    pub const XS_RESUME: u32 = 18;
    /// `XS_SET_TARGET`
    pub const XS_SET_TARGET: u32 = 19;
    /// `XS_RESET_WATCHES` (20 was `XS_RESTRICT`, removed)
    pub const XS_RESET_WATCHES: u32 = 21;
    /// `XS_DIRECTORY_PART`
    pub const XS_DIRECTORY_PART: u32 = 22;
    /// `XS_TYPE_COUNT`: number of valid types.
    pub const XS_TYPE_COUNT: u32 = 23;
    /// `XS_INVALID`
    pub const XS_INVALID: u32 = 0xffff;
}

/// `XS_WATCH_PATH`: index of the path in a watch event.
pub const XS_WATCH_PATH: u32 = 0;
/// `XS_WATCH_TOKEN`: index of the token in a watch event.
pub const XS_WATCH_TOKEN: u32 = 1;

/// `XS_WRITE_NONE` (legacy write flags).
pub const XS_WRITE_NONE: &str = "NONE";
/// `XS_WRITE_CREATE`
pub const XS_WRITE_CREATE: &str = "CREATE";
/// `XS_WRITE_CREATE_EXCL`
pub const XS_WRITE_CREATE_EXCL: &str = "CREATE|EXCL";

/// `xsd_errors[]`: the error names an `XS_ERROR` reply carries, with their
/// errno values.
pub const XSD_ERRORS: &[(i32, &str)] = {
    use crate::abi::errno::*;
    &[
        (EINVAL, "EINVAL"),
        (EACCES, "EACCES"),
        (EEXIST, "EEXIST"),
        (EISDIR, "EISDIR"),
        (ENOENT, "ENOENT"),
        (ENOMEM, "ENOMEM"),
        (ENOSPC, "ENOSPC"),
        (EIO, "EIO"),
        (ENOTEMPTY, "ENOTEMPTY"),
        (ENOSYS, "ENOSYS"),
        (EROFS, "EROFS"),
        (EBUSY, "EBUSY"),
        (EAGAIN, "EAGAIN"),
        (EISCONN, "EISCONN"),
        (E2BIG, "E2BIG"),
        (EPERM, "EPERM"),
    ]
};

/// `struct xsd_sockmsg`: the header of every message; followed by `len`
/// bytes of payload (NUL-separated strings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XsdSockmsg {
    /// `XS_*`.
    pub ty: u32,
    /// Request id, echoed in the reply.
    pub req_id: u32,
    /// Transaction id (0: none).
    pub tx_id: u32,
    /// Payload length.
    pub len: u32,
}
assert_layout!(XsdSockmsg, size = 16, ty @ 0, req_id @ 4, tx_id @ 8, len @ 12);

/// `XENSTORE_RING_SIZE`.
pub const XENSTORE_RING_SIZE: usize = 1024;
/// `XENSTORE_PAYLOAD_MAX`: violating this is very bad.
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// `XENSTORE_ABS_PATH_MAX`.
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// `XENSTORE_REL_PATH_MAX`.
pub const XENSTORE_REL_PATH_MAX: usize = 2048;
/// `XENSTORE_SERVER_FEATURE_RECONNECTION`.
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// `XENSTORE_SERVER_FEATURE_ERROR`.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;
/// `XENSTORE_CONNECTED`.
pub const XENSTORE_CONNECTED: u32 = 0;
/// `XENSTORE_RECONNECT`.
pub const XENSTORE_RECONNECT: u32 = 1;
/// `XENSTORE_ERROR_NONE`.
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// `XENSTORE_ERROR_COMM`.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// `XENSTORE_ERROR_RINGIDX`.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// `XENSTORE_ERROR_PROTO`.
pub const XENSTORE_ERROR_PROTO: u32 = 3;

/// `XENSTORE_RING_IDX`.
pub type XenstoreRingIdx = u32;

/// `struct xenstore_domain_interface`: the store ring page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenstoreDomainInterface {
    /// Requests to xenstored.
    pub req: [u8; XENSTORE_RING_SIZE],
    /// Replies and watch events.
    pub rsp: [u8; XENSTORE_RING_SIZE],
    /// xenstored's read index into `req`.
    pub req_cons: XenstoreRingIdx,
    /// The domain's write index into `req`.
    pub req_prod: XenstoreRingIdx,
    /// The domain's read index into `rsp`.
    pub rsp_cons: XenstoreRingIdx,
    /// xenstored's write index into `rsp`.
    pub rsp_prod: XenstoreRingIdx,
    /// `XENSTORE_SERVER_FEATURE_*`.
    pub server_features: u32,
    /// `XENSTORE_CONNECTED`/`XENSTORE_RECONNECT`.
    pub connection: u32,
    /// `XENSTORE_ERROR_*`.
    pub error: u32,
}
assert_layout!(XenstoreDomainInterface, size = 2076, req @ 0, rsp @ 1024, req_cons @ 2048,
    req_prod @ 2052, rsp_cons @ 2056, rsp_prod @ 2060, server_features @ 2064, connection @ 2068,
    error @ 2072);
