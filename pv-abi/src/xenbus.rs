//! # xenbus: the connection state machine of split drivers
//!
//! A front end (in a guest) and a back end (in dom0) each publish a
//! [`XenbusState`] in `<their dir>/state` and watch the other's. The
//! usual handshake (`io/xenbus.h`, Linux `xenbus_client.c`):
//!
//! ```text
//! back:  Initialising -> InitWait ----------------> Connected -> Closing -> Closed
//! front: Initialising ---------> Initialised ------------> Connected -> Closing -> Closed
//!                      (sees InitWait: writes ring-ref, event-channel, ...)
//! ```
//!
//! This module gives both ends the same helper, [`XenbusEnd`], generic
//! over the client's transport: it reads the other end's directory and
//! domain from `backend`/`backend-id` (front) or `frontend`/`frontend-id`
//! (back), switches its own state (only along [`transition_allowed`]
//! edges, written in a transaction like Linux's `__xenbus_switch_state`),
//! and waits for the other end's state through a watch on its `state`
//! node. [`write_keys`] writes several keys in one transaction, retried
//! on `EAGAIN` (the `xenbus_transaction` + `xenbus_printf` pattern).
//!
//! Nothing here allocates: paths are built in [`NodePath`]s.

use crate::abi::errno::{Errno, EINVAL, ENOENT};
use crate::abi::io::xenbus::XenbusState;
use crate::types::DomId;
use crate::xenstore::wire::{parse_dec, StrBuf};
use crate::xenstore::{ProtocolError, TxId, XsClient, XsError, XsTransport};

/// Capacity of a xenbus node path (device directories are ~50 bytes).
pub const NODE_MAX: usize = 256;

/// A node path built without an allocator.
pub type NodePath = StrBuf<NODE_MAX>;

/// Whether an end may move from `from` to `to`.
///
/// Forward through the handshake (a step may be skipped: netfront goes
/// from Initialising straight to Connected), Connected through
/// Reconfiguring/Reconfigured and back, any live state to Closing or
/// Closed, Closing to Closed, and Closed back to Initialising/InitWait to
/// reconnect (blkback does when the front end restarts). Staying put is
/// allowed (nothing is written); nothing moves to Unknown.
pub fn transition_allowed(from: XenbusState, to: XenbusState) -> bool {
    use XenbusState::*;
    if from == to {
        return true;
    }
    match (from, to) {
        (_, Unknown) => false,
        (Unknown | Initialising, Initialising | InitWait | Initialised | Connected) => true,
        (InitWait, Initialised | Connected) => true,
        (Initialised, Connected) => true,
        (Connected, Reconfiguring) | (Reconfiguring, Reconfigured) => true,
        (Reconfigured, Connected) => true,
        (Closing, Closed) | (Closed, Initialising | InitWait) => true,
        (Closing | Closed, _) => false,
        (_, Closing | Closed) => true,
        _ => false,
    }
}

/// Parses a `state` node's value (a decimal `XenbusState`).
pub fn parse_state(value: &[u8]) -> Result<XenbusState, XsError> {
    parse_dec(value)
        .filter(|&v| v <= u32::MAX as u64)
        .and_then(|v| XenbusState::from_u32(v as u32))
        .ok_or(XsError::Protocol(ProtocolError::BadValue))
}

/// Reads `<dir>/state`. A missing node reads as `Unknown`, as Linux's
/// `xenbus_read_driver_state` does (the other end is gone).
pub fn read_state<T: XsTransport, const Q: usize>(
    c: &mut XsClient<T, Q>,
    tx: Option<TxId>,
    dir: &str,
) -> Result<XenbusState, XsError> {
    let path = NodePath::join(dir, "state")?;
    match c.read(tx, &path) {
        Ok(v) => parse_state(v),
        Err(XsError::Store(Errno(ENOENT))) => Ok(XenbusState::Unknown),
        Err(e) => Err(e),
    }
}

/// `xenbus_printf`: writes a formatted value to `<dir>/<key>`.
pub fn printf<T: XsTransport, const Q: usize>(
    c: &mut XsClient<T, Q>,
    tx: Option<TxId>,
    dir: &str,
    key: &str,
    args: core::fmt::Arguments<'_>,
) -> Result<(), XsError> {
    let path = NodePath::join(dir, key)?;
    c.write_fmt(tx, &path, args)
}

/// `xenbus_scanf`: reads `<dir>/<key>` and parses it.
pub fn scanf<V: core::str::FromStr, T: XsTransport, const Q: usize>(
    c: &mut XsClient<T, Q>,
    tx: Option<TxId>,
    dir: &str,
    key: &str,
) -> Result<V, XsError> {
    let path = NodePath::join(dir, key)?;
    c.read_parse(tx, &path)
}

/// Writes every `(key, value)` under `dir` in one transaction, redone
/// while the commit fails with `EAGAIN`.
pub fn write_keys<T: XsTransport, const Q: usize>(
    c: &mut XsClient<T, Q>,
    dir: &str,
    keys: &[(&str, &dyn core::fmt::Display)],
) -> Result<(), XsError> {
    c.transaction(|c, tx| {
        for (key, value) in keys {
            printf(c, Some(tx), dir, key, format_args!("{value}"))?;
        }
        Ok(())
    })
}

/// Which end of a device this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The guest's end; its other end is named by `backend`/`backend-id`.
    Frontend,
    /// dom0's end; its other end is named by `frontend`/`frontend-id`.
    Backend,
}

impl Role {
    /// The keys naming the other end's directory and domain.
    pub const fn otherend_keys(self) -> (&'static str, &'static str) {
        match self {
            Role::Frontend => ("backend", "backend-id"),
            Role::Backend => ("frontend", "frontend-id"),
        }
    }
}

/// One end of a split device, as Linux's `struct xenbus_device` sees it:
/// its own directory and last written state, and the other end's
/// directory and domain.
#[derive(Clone, Debug)]
pub struct XenbusEnd {
    role: Role,
    nodename: NodePath,
    otherend: NodePath,
    otherend_id: DomId,
    state: XenbusState,
    watching: bool,
}

impl XenbusEnd {
    /// A front end at `nodename` (e.g. `device/vbd/51712`): reads
    /// `backend` and `backend-id`, checks the back-end directory exists
    /// and reads the current state (`xenbus_read_otherend_details`).
    pub fn frontend<T: XsTransport, const Q: usize>(c: &mut XsClient<T, Q>, nodename: &str) -> Result<Self, XsError> {
        Self::new(c, Role::Frontend, nodename)
    }

    /// A back end at `nodename` (e.g. `backend/vbd/1/51712`): reads
    /// `frontend` and `frontend-id`, as [`XenbusEnd::frontend`].
    pub fn backend<T: XsTransport, const Q: usize>(c: &mut XsClient<T, Q>, nodename: &str) -> Result<Self, XsError> {
        Self::new(c, Role::Backend, nodename)
    }

    fn new<T: XsTransport, const Q: usize>(
        c: &mut XsClient<T, Q>,
        role: Role,
        nodename: &str,
    ) -> Result<Self, XsError> {
        let nodename = NodePath::from_fmt(format_args!("{nodename}"))?;
        let (dir_key, id_key) = role.otherend_keys();
        let otherend = NodePath::join(&nodename, dir_key)?;
        let otherend = NodePath::from_fmt(format_args!("{}", c.read_str(None, &otherend)?))?;
        if otherend.is_empty() {
            return Err(XsError::Protocol(ProtocolError::BadValue));
        }
        let id: u16 = scanf(c, None, &nodename, id_key)?;
        if !c.exists(None, &otherend)? {
            return Err(XsError::Store(Errno(ENOENT)));
        }
        let state = read_state(c, None, &nodename)?;
        Ok(XenbusEnd { role, nodename, otherend, otherend_id: DomId(id), state, watching: false })
    }

    /// Front or back.
    pub fn role(&self) -> Role {
        self.role
    }

    /// This end's directory.
    pub fn nodename(&self) -> &str {
        &self.nodename
    }

    /// The other end's directory.
    pub fn otherend(&self) -> &str {
        &self.otherend
    }

    /// The other end's domain.
    pub fn otherend_id(&self) -> DomId {
        self.otherend_id
    }

    /// The state this end last wrote (or found at creation).
    pub fn state(&self) -> XenbusState {
        self.state
    }

    /// The token of the watch on the other end's state.
    pub fn watch_token(&self) -> Result<StrBuf<{ NODE_MAX + 8 }>, XsError> {
        StrBuf::from_fmt(format_args!("xenbus:{}", self.nodename()))
    }

    /// The other end's current state.
    pub fn otherend_state<T: XsTransport, const Q: usize>(
        &self,
        c: &mut XsClient<T, Q>,
    ) -> Result<XenbusState, XsError> {
        read_state(c, None, &self.otherend)
    }

    /// Reads and parses a key of the other end (its features).
    pub fn read_otherend<V: core::str::FromStr, T: XsTransport, const Q: usize>(
        &self,
        c: &mut XsClient<T, Q>,
        tx: Option<TxId>,
        key: &str,
    ) -> Result<V, XsError> {
        scanf(c, tx, &self.otherend, key)
    }

    /// Writes a formatted value to a key of this end.
    pub fn printf<T: XsTransport, const Q: usize>(
        &self,
        c: &mut XsClient<T, Q>,
        tx: Option<TxId>,
        key: &str,
        args: core::fmt::Arguments<'_>,
    ) -> Result<(), XsError> {
        printf(c, tx, &self.nodename, key, args)
    }

    /// Writes several keys of this end in one transaction.
    pub fn write_keys<T: XsTransport, const Q: usize>(
        &self,
        c: &mut XsClient<T, Q>,
        keys: &[(&str, &dyn core::fmt::Display)],
    ) -> Result<(), XsError> {
        write_keys(c, &self.nodename, keys)
    }

    /// Moves this end to `to`: refused with `Invalid(EINVAL)` unless
    /// [`transition_allowed`]; nothing is written when the state does not
    /// change. The write happens in a transaction that first checks the
    /// `state` node still exists, so a directory the toolstack removed is
    /// not recreated (`Store(ENOENT)` then).
    pub fn switch_state<T: XsTransport, const Q: usize>(
        &mut self,
        c: &mut XsClient<T, Q>,
        to: XenbusState,
    ) -> Result<(), XsError> {
        if to == self.state {
            return Ok(());
        }
        if !transition_allowed(self.state, to) {
            return Err(XsError::Invalid(Errno(EINVAL)));
        }
        let path = NodePath::join(&self.nodename, "state")?;
        c.transaction(|c, tx| {
            c.read(Some(tx), &path)?;
            c.write_fmt(Some(tx), &path, format_args!("{}", to as u32))
        })?;
        self.state = to;
        Ok(())
    }

    /// Watches the other end's `state` node (once; later calls do
    /// nothing).
    pub fn watch_otherend<T: XsTransport, const Q: usize>(&mut self, c: &mut XsClient<T, Q>) -> Result<(), XsError> {
        if !self.watching {
            let path = NodePath::join(&self.otherend, "state")?;
            c.watch(&path, &self.watch_token()?)?;
            self.watching = true;
        }
        Ok(())
    }

    /// Removes the watch of [`XenbusEnd::watch_otherend`], if set.
    pub fn unwatch_otherend<T: XsTransport, const Q: usize>(&mut self, c: &mut XsClient<T, Q>) -> Result<(), XsError> {
        if self.watching {
            let path = NodePath::join(&self.otherend, "state")?;
            c.unwatch(&path, &self.watch_token()?)?;
            self.watching = false;
        }
        Ok(())
    }

    /// Blocks until the other end's state satisfies `done`, and returns
    /// it. Sets the watch first, then reads, so no change is missed; each
    /// event of the watch triggers a re-read. Events of other watches
    /// stay queued in the client.
    pub fn wait_for_otherend<T: XsTransport, const Q: usize>(
        &mut self,
        c: &mut XsClient<T, Q>,
        mut done: impl FnMut(XenbusState) -> bool,
    ) -> Result<XenbusState, XsError> {
        self.watch_otherend(c)?;
        let token = self.watch_token()?;
        loop {
            let s = self.otherend_state(c)?;
            if done(s) {
                return Ok(s);
            }
            c.wait_watch_event_for(&token)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use XenbusState::*;

    const ALL: [XenbusState; 9] =
        [Unknown, Initialising, InitWait, Initialised, Connected, Closing, Closed, Reconfiguring, Reconfigured];

    #[test]
    fn transitions() {
        for s in ALL {
            assert!(transition_allowed(s, s));
            assert_eq!(transition_allowed(s, Unknown), s == Unknown);
        }
        for (a, b) in [
            (Initialising, InitWait),
            (Initialising, Initialised),
            (Initialising, Connected),
            (InitWait, Initialised),
            (InitWait, Connected),
            (Initialised, Connected),
            (Connected, Closing),
            (Connected, Closed),
            (Closing, Closed),
            (Connected, Reconfiguring),
            (Reconfiguring, Reconfigured),
            (Reconfigured, Connected),
            (Closed, Initialising),
            (Closed, InitWait),
            (InitWait, Closing),
        ] {
            assert!(transition_allowed(a, b), "{a:?} -> {b:?}");
        }
        for (a, b) in [
            (Connected, Initialising),
            (Connected, InitWait),
            (Initialised, InitWait),
            (Closing, Connected),
            (Closing, Initialising),
            (Closed, Connected),
            (Closed, Closing),
            (Reconfiguring, Connected),
            (Initialising, Reconfiguring),
        ] {
            assert!(!transition_allowed(a, b), "{a:?} -> {b:?}");
        }
    }

    #[test]
    fn state_values() {
        assert_eq!(parse_state(b"4"), Ok(Connected));
        assert_eq!(parse_state(b"0"), Ok(Unknown));
        for v in [&b""[..], b"9", b"-1", b" 4", b"4\0", b"99999999999"] {
            assert_eq!(parse_state(v), Err(XsError::Protocol(ProtocolError::BadValue)), "{v:?}");
        }
    }
}
