//! Raw terminal mode for console sessions, with `stty` (so no libc
//! bindings are needed): keys reach the guest one by one, unechoed, Ctrl-C
//! included; the escape character is the way out. Restored on drop.

use std::io::IsTerminal;
use std::process::{Command, Stdio};

/// While alive, stdin's terminal (if it is one) is in raw mode.
pub struct RawMode {
    saved: Option<String>,
}

impl RawMode {
    /// Switches stdin's terminal to raw mode; does nothing when stdin is
    /// not a terminal (a pipe or a file in scripts).
    pub fn enter() -> RawMode {
        if !std::io::stdin().is_terminal() {
            return RawMode { saved: None };
        }
        let saved = Command::new("stty")
            .arg("-g")
            .stdin(Stdio::inherit())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string());
        if saved.is_some() {
            let _ = Command::new("stty").args(["raw", "-echo"]).stdin(Stdio::inherit()).status();
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(s) = &self.saved {
            let _ = Command::new("stty").arg(s).stdin(Stdio::inherit()).status();
        }
    }
}
