//! # toolstack: the pure logic of the dom0 toolstack and the `xl` CLI
//!
//! What dom0's `xl` and the host's `xl` binary share, so both read the same
//! config files and command lines and speak the same protocol:
//!
//! - [`cfg`]: xl.cfg(5) files (the keys that apply to PV guests) into a
//!   typed [`DomainConfig`], with errors naming file and line;
//! - [`cli`]: `xl` command lines with xl's subcommands, options, usage
//!   errors and help text, into a [`Command`];
//! - [`status`]: the domain and host state the executor reads from the
//!   hypervisor, and xl's output formats for it (`list`, `info`, `top`);
//! - [`protocol`]: the framed host <-> dom0 protocol over a serial byte
//!   stream (requests carrying argv and files; stdout/stderr, console
//!   streaming and exit status back).
//!
//! It owns no hypervisor access and performs no I/O: dom0 (the executor)
//! issues the hypercalls and fills the state types; the host binary does
//! the file and socket I/O. It must stay `no_std` + `alloc` so the dom0
//! kernel can link it, and must never grow a dependency on either side.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod cfg;
pub mod cli;
pub mod protocol;
pub mod status;

pub use cfg::{ConfigError, ConfigErrorKind, DiskSpec, DomainConfig, ShutdownAction, VifSpec};
pub use cli::{parse_args, Command, CreateArgs, DomRef, Invocation, Target, UsageError};
pub use pv_abi::DomId;
pub use status::{DomainInfo, DomainState, HostInfo};
