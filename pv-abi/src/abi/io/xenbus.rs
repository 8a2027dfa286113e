//! `io/xenbus.h`: the states front and back ends publish in xenstore
//! (`<dir>/state`) to drive the connection handshake.

/// `enum xenbus_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum XenbusState {
    /// `XenbusStateUnknown`
    Unknown = 0,
    /// `XenbusStateInitialising`
    Initialising = 1,
    /// `XenbusStateInitWait`: finished early init, waiting for the peer.
    InitWait = 2,
    /// `XenbusStateInitialised`: waiting for a connection from the peer.
    Initialised = 3,
    /// `XenbusStateConnected`
    Connected = 4,
    /// `XenbusStateClosing`: the device is being closed.
    Closing = 5,
    /// `XenbusStateClosed`
    Closed = 6,
    /// `XenbusStateReconfiguring`
    Reconfiguring = 7,
    /// `XenbusStateReconfigured`
    Reconfigured = 8,
}

impl XenbusState {
    /// Decodes a state number (as written in xenstore).
    pub fn from_u32(v: u32) -> Option<Self> {
        use XenbusState::*;
        Some(match v {
            0 => Unknown,
            1 => Initialising,
            2 => InitWait,
            3 => Initialised,
            4 => Connected,
            5 => Closing,
            6 => Closed,
            7 => Reconfiguring,
            8 => Reconfigured,
            _ => return None,
        })
    }
}
