//! `io/protocols.h`: the ABI names a front end writes to its `protocol`
//! xenstore node, telling the back end which structure layout it uses.

/// `XEN_IO_PROTO_ABI_X86_32`
pub const XEN_IO_PROTO_ABI_X86_32: &str = "x86_32-abi";
/// `XEN_IO_PROTO_ABI_X86_64`
pub const XEN_IO_PROTO_ABI_X86_64: &str = "x86_64-abi";
/// `XEN_IO_PROTO_ABI_ARM`
pub const XEN_IO_PROTO_ABI_ARM: &str = "arm-abi";
/// `XEN_IO_PROTO_ABI_NATIVE`: on x86_64, `XEN_IO_PROTO_ABI_X86_64`.
pub const XEN_IO_PROTO_ABI_NATIVE: &str = XEN_IO_PROTO_ABI_X86_64;
