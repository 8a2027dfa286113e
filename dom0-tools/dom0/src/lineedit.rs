//! The dom0 shell's input side: a minimal line editor over the bytes the
//! serial console delivers (`CONSOLEIO_read`), and the word splitting of
//! a command line.
//!
//! The terminal on the other end is raw (QEMU's `-serial stdio` puts a
//! terminal in raw mode), so the editor echoes what it accepts: printable
//! ASCII is appended and echoed, Backspace/DEL erases one character
//! (`BS SP BS`), Ctrl-U erases the line, CR or LF ends it (CR LF counts
//! once), Ctrl-C abandons it, Ctrl-D on an empty line is end of input.
//! Escape sequences (arrow keys: `ESC [ A`) are swallowed whole; other
//! control and non-ASCII bytes are ignored.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest line kept; further characters are refused (not echoed).
pub const MAX_LINE: usize = 4096;

/// What a byte completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole line (without its end).
    Line(String),
    /// Ctrl-C: the line was abandoned.
    Interrupt,
    /// Ctrl-D on an empty line: end of input.
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Esc {
    /// Not in an escape sequence.
    No,
    /// After `ESC`.
    Start,
    /// In a CSI (`ESC [`) or SS3 (`ESC O`) sequence, before its final byte.
    Body,
}

/// The line being typed.
#[derive(Clone, Debug)]
pub struct LineEditor {
    line: String,
    after_cr: bool,
    esc: Esc,
}

impl Default for LineEditor {
    fn default() -> Self {
        LineEditor { line: String::new(), after_cr: false, esc: Esc::No }
    }
}

impl LineEditor {
    /// The text typed so far.
    pub fn current(&self) -> &str {
        &self.line
    }

    /// Takes one input byte; appends what the terminal should show to
    /// `echo`; returns an event when the byte completes one.
    pub fn feed(&mut self, b: u8, echo: &mut Vec<u8>) -> Option<Event> {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        match self.esc {
            Esc::Start => {
                self.esc = if b == b'[' || b == b'O' { Esc::Body } else { Esc::No };
                return None;
            }
            Esc::Body => {
                if (0x40..=0x7e).contains(&b) {
                    self.esc = Esc::No;
                }
                return None;
            }
            Esc::No => {}
        }
        match b {
            b'\r' | b'\n' => {
                if b == b'\n' && after_cr {
                    return None;
                }
                self.after_cr = b == b'\r';
                echo.extend_from_slice(b"\r\n");
                Some(Event::Line(core::mem::take(&mut self.line)))
            }
            0x08 | 0x7f => {
                if self.line.pop().is_some() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                None
            }
            0x15 => {
                for _ in 0..self.line.len() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                self.line.clear();
                None
            }
            0x03 => {
                self.line.clear();
                echo.extend_from_slice(b"^C\r\n");
                Some(Event::Interrupt)
            }
            0x04 => {
                if self.line.is_empty() {
                    echo.extend_from_slice(b"\r\n");
                    Some(Event::Eof)
                } else {
                    None
                }
            }
            0x1b => {
                self.esc = Esc::Start;
                None
            }
            0x20..=0x7e => {
                if self.line.len() < MAX_LINE {
                    self.line.push(char::from(b));
                    echo.push(b);
                }
                None
            }
            _ => None,
        }
    }
}

/// Why a command line cannot be split into words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// A quote is not closed.
    UnterminatedQuote(char),
    /// The line ends with a backslash.
    TrailingBackslash,
}

impl core::fmt::Display for SplitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SplitError::UnterminatedQuote(q) => write!(f, "unterminated {q} quote"),
            SplitError::TrailingBackslash => write!(f, "line ends with a backslash"),
        }
    }
}

/// Splits a command line into words as a POSIX shell does (without
/// expansions): blanks separate words; `'...'` is literal; in `"..."` a
/// backslash escapes `"` `\` only; outside quotes a backslash escapes any
/// character. So `xl create h.cfg 'name="web2"'` passes `name="web2"`.
pub fn split_words(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(core::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(SplitError::UnterminatedQuote('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(SplitError::UnterminatedQuote('"')),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(SplitError::UnterminatedQuote('"')),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or(SplitError::TrailingBackslash)?);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(bytes: &[u8]) -> (Vec<Event>, Vec<u8>, LineEditor) {
        let mut e = LineEditor::default();
        let mut echo = Vec::new();
        let events = bytes.iter().filter_map(|&b| e.feed(b, &mut echo)).collect();
        (events, echo, e)
    }

    #[test]
    fn lines_end_with_cr_lf_or_crlf_once() {
        let (ev, echo, _) = typed(b"xl list\r\nhelp\npoweroff\r");
        assert_eq!(ev, [Event::Line("xl list".into()), Event::Line("help".into()), Event::Line("poweroff".into())]);
        assert_eq!(echo, b"xl list\r\nhelp\r\npoweroff\r\n");
        let (ev, _, _) = typed(b"\r\r\n\n");
        assert_eq!(ev, [Event::Line("".into()), Event::Line("".into()), Event::Line("".into())]);
    }

    #[test]
    fn backspace_and_kill_edit_the_line() {
        let (ev, echo, _) = typed(b"xl lisx\x7ft\x08\x08st\r");
        assert_eq!(ev, [Event::Line("xl list".into())]);
        assert_eq!(echo, b"xl lisx\x08 \x08t\x08 \x08\x08 \x08st\r\n");
        let (ev, _, _) = typed(b"\x7f\x7fok\x15help\r");
        assert_eq!(ev, [Event::Line("help".into())]);
    }

    #[test]
    fn control_keys_and_escape_sequences() {
        let (ev, echo, e) = typed(b"abc\x03\x04");
        assert_eq!(ev, [Event::Interrupt, Event::Eof]);
        assert_eq!(echo, b"abc^C\r\n\r\n");
        assert_eq!(e.current(), "");
        // Ctrl-D in the middle of a line does nothing; arrows are dropped.
        let (ev, echo, _) = typed(b"ab\x04\x1b[A\x1b[1;5Dc\x1bOPd\x01\xc3\xa9\r");
        assert_eq!(ev, [Event::Line("abcd".into())]);
        assert_eq!(echo, b"abcd\r\n");
    }

    #[test]
    fn overlong_lines_are_capped() {
        let mut input = vec![b'a'; MAX_LINE + 10];
        input.push(b'\r');
        let (ev, echo, _) = typed(&input);
        assert!(matches!(&ev[..], [Event::Line(l)] if l.len() == MAX_LINE));
        assert_eq!(echo.len(), MAX_LINE + 2);
    }

    #[test]
    fn words_split_like_a_shell() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(w("  xl   list  "), ["xl", "list"]);
        assert_eq!(
            w("xl create h.cfg 'name=\"web2\"' memory=4"),
            ["xl", "create", "h.cfg", "name=\"web2\"", "memory=4"]
        );
        assert_eq!(w(r#"a"b c"d 'e''f' "x\"y\\z\n" a\ b"#), ["ab cd", "ef", "x\"y\\z\\n", "a b"]);
        assert_eq!(w("''"), [""]);
        assert!(w("").is_empty());
        assert_eq!(split_words("'open"), Err(SplitError::UnterminatedQuote('\'')));
        assert_eq!(split_words("\"open"), Err(SplitError::UnterminatedQuote('"')));
        assert_eq!(split_words("x\\"), Err(SplitError::TrailingBackslash));
    }
}
