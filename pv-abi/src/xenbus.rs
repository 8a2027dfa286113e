//! xenbus state machine helper (to be written).
