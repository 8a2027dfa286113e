//! xenstore client (to be written).
