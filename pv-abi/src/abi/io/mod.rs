//! `io/*.h`: the split-driver protocols carried on shared pages.

pub mod blkif;
pub mod console;
pub mod netif;
pub mod protocols;
pub mod ring;
pub mod xenbus;
pub mod xs_wire;
