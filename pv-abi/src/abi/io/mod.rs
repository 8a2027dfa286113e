//! `io/*.h`: the split-driver protocols carried on shared pages.

pub mod console;
pub mod ring;
pub mod xenbus;
pub mod xs_wire;
