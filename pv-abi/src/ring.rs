//! Shared rings with `io/ring.h` semantics (to be written).
