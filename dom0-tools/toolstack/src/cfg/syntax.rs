//! The generic xl.cfg(5) syntax, as libxlu reads it: `key = value` or
//! `key += value` statements ended by a newline or `;`, `#` comments to the
//! end of the line, values that are numbers, strings in single or double
//! quotes (with C-like escapes), or lists `[ ... ]` that may span lines and
//! may end with a comma. A later assignment to a key replaces an earlier
//! one; `+=` appends to a list or concatenates to a string.
//!
//! This layer knows nothing about what the keys mean: it yields
//! [`Settings`], which [`super::DomainConfig`] interprets.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{ConfigError, ConfigErrorKind};

/// A parsed value, with the line it started on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A number token (`512`, `0x200`) or a quoted string, kept as text.
    Atom {
        /// The text (for a string: dequoted, escapes resolved).
        text: String,
        /// Whether it was written as a quoted string.
        quoted: bool,
        /// 1-based line number.
        line: u32,
    },
    /// A list of values.
    List {
        /// The items, in order.
        items: Vec<Value>,
        /// 1-based line of the opening `[`.
        line: u32,
    },
}

impl Value {
    /// The line this value starts on.
    pub fn line(&self) -> u32 {
        match self {
            Value::Atom { line, .. } | Value::List { line, .. } => *line,
        }
    }

    /// How the value reads in an error message: `"text"` for an atom (always
    /// double-quoted, escaped), `[...]` for a list.
    pub fn describe(&self) -> String {
        match self {
            Value::Atom { text, .. } => format!("{:?}", text),
            Value::List { .. } => "a list".to_string(),
        }
    }
}

/// One key's final value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The key.
    pub key: String,
    /// Its value after all assignments.
    pub value: Value,
    /// Line of the statement that last set it.
    pub line: u32,
    /// Source of that statement (file name, or `command line`).
    pub source: String,
}

/// All settings, in order of first assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// The settings.
    pub items: Vec<Setting>,
}

impl Settings {
    /// The setting of `key`, if assigned.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.items.iter().find(|s| s.key == key)
    }

    fn assign(&mut self, source: &str, key: String, op: Op, value: Value, line: u32) -> Result<(), ConfigError> {
        let Some(existing) = self.items.iter_mut().find(|s| s.key == key) else {
            self.items.push(Setting { key, value, line, source: source.to_string() });
            return Ok(());
        };
        match (op, &mut existing.value, value) {
            (Op::Assign, slot, value) => *slot = value,
            (Op::Add, Value::List { items, .. }, Value::List { items: more, .. }) => items.extend(more),
            (Op::Add, Value::Atom { text, quoted: true, .. }, Value::Atom { text: more, quoted: true, .. }) => {
                text.push_str(&more)
            }
            (Op::Add, _, _) => {
                return Err(ConfigError::at(
                    source,
                    line,
                    ConfigErrorKind::BadValue {
                        key,
                        message: "'+=' needs a string or a list on both sides".to_string(),
                    },
                ))
            }
        }
        existing.line = line;
        existing.source = source.to_string();
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Assign,
    Add,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Number(String),
    Str(String),
    Comma,
    Open,
    Close,
    Assign,
    AddAssign,
    Semi,
    Newline,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{}'", s),
            Tok::Number(s) => format!("number {}", s),
            Tok::Str(s) => format!("string {:?}", s),
            Tok::Comma => "','".to_string(),
            Tok::Open => "'['".to_string(),
            Tok::Close => "']'".to_string(),
            Tok::Assign => "'='".to_string(),
            Tok::AddAssign => "'+='".to_string(),
            Tok::Semi => "';'".to_string(),
            Tok::Newline => "end of line".to_string(),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    source: &'a str,
}

impl<'a> Lexer<'a> {
    fn err(&self, line: u32, msg: String) -> ConfigError {
        ConfigError::at(self.source, line, ConfigErrorKind::Syntax(msg))
    }

    /// The next token and the line it is on.
    fn next(&mut self) -> Result<(Tok, u32), ConfigError> {
        loop {
            let Some(&c) = self.src.get(self.pos) else { return Ok((Tok::Eof, self.line)) };
            let line = self.line;
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.src.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    return Ok((Tok::Newline, line));
                }
                b',' => return Ok(self.single(Tok::Comma)),
                b'[' => return Ok(self.single(Tok::Open)),
                b']' => return Ok(self.single(Tok::Close)),
                b'=' => return Ok(self.single(Tok::Assign)),
                b';' => return Ok(self.single(Tok::Semi)),
                b'+' if self.src.get(self.pos + 1) == Some(&b'=') => {
                    self.pos += 2;
                    return Ok((Tok::AddAssign, line));
                }
                b'\'' | b'"' => return self.string(c).map(|s| (Tok::Str(s), line)),
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
                    return Ok((Tok::Ident(word), line));
                }
                c if c.is_ascii_digit() => {
                    let word = self.take_while(|c| c.is_ascii_alphanumeric());
                    return Ok((Tok::Number(word), line));
                }
                _ => {
                    let ch = core::str::from_utf8(&self.src[self.pos..])
                        .ok()
                        .and_then(|s| s.chars().next())
                        .unwrap_or(char::REPLACEMENT_CHARACTER);
                    return Err(self.err(line, format!("unexpected character {:?}", ch)));
                }
            }
        }
    }

    fn single(&mut self, t: Tok) -> (Tok, u32) {
        self.pos += 1;
        (t, self.line)
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> String {
        let start = self.pos;
        while self.src.get(self.pos).is_some_and(|&c| f(c)) {
            self.pos += 1;
        }
        // Only ASCII was taken, so this cannot fail.
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    /// A quoted string starting at `self.pos`, escapes resolved as libxlu
    /// does: `\" \' \\ \a \b \f \n \r \t \v`, `\xHH`, and 1-3 octal digits.
    fn string(&mut self, quote: u8) -> Result<String, ConfigError> {
        let line = self.line;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.src.get(self.pos) else {
                return Err(self.err(line, "unterminated string".to_string()));
            };
            self.pos += 1;
            match c {
                b'\n' => return Err(self.err(line, "unterminated string (strings cannot span lines)".to_string())),
                c if c == quote => break,
                b'\\' => {
                    let Some(&e) = self.src.get(self.pos) else {
                        return Err(self.err(line, "unterminated string".to_string()));
                    };
                    self.pos += 1;
                    let byte = match e {
                        b'"' | b'\'' | b'\\' => e,
                        b'a' => 0x07,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'v' => 0x0b,
                        b'x' => {
                            let digits = self.src.get(self.pos..self.pos + 2).unwrap_or(&[]);
                            let value = core::str::from_utf8(digits)
                                .ok()
                                .filter(|s| s.len() == 2)
                                .and_then(|s| u8::from_str_radix(s, 16).ok())
                                .ok_or_else(|| {
                                    self.err(line, "'\\x' must be followed by two hex digits".to_string())
                                })?;
                            self.pos += 2;
                            value
                        }
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.src.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            u8::try_from(value)
                                .map_err(|_| self.err(line, format!("octal escape \\{:o} is above \\377", value)))?
                        }
                        b'\n' => return Err(self.err(line, "unterminated string".to_string())),
                        other => {
                            return Err(self.err(line, format!("invalid escape '\\{}' in string", char::from(other))))
                        }
                    };
                    out.push(byte);
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err(line, "string is not valid UTF-8".to_string()))
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    line: u32,
}

impl<'a> Parser<'a> {
    fn bump(&mut self) -> Result<(), ConfigError> {
        let (tok, line) = self.lex.next()?;
        self.tok = tok;
        self.line = line;
        Ok(())
    }

    fn unexpected(&self, wanted: &str) -> ConfigError {
        self.lex.err(self.line, format!("expected {}, found {}", wanted, self.tok.describe()))
    }

    fn skip_newlines(&mut self) -> Result<(), ConfigError> {
        while self.tok == Tok::Newline {
            self.bump()?;
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value, ConfigError> {
        let line = self.line;
        match core::mem::replace(&mut self.tok, Tok::Eof) {
            Tok::Str(text) => {
                self.bump()?;
                Ok(Value::Atom { text, quoted: true, line })
            }
            Tok::Number(text) => {
                self.bump()?;
                Ok(Value::Atom { text, quoted: false, line })
            }
            Tok::Open => {
                self.bump()?;
                let mut items = Vec::new();
                loop {
                    self.skip_newlines()?;
                    if self.tok == Tok::Close {
                        break;
                    }
                    items.push(self.value()?);
                    self.skip_newlines()?;
                    match self.tok {
                        Tok::Comma => self.bump()?,
                        Tok::Close => break,
                        _ => return Err(self.unexpected("',' or ']'")),
                    }
                }
                self.bump()?;
                Ok(Value::List { items, line })
            }
            other => {
                self.tok = other;
                Err(self.unexpected("a value (a number, a quoted string or a list)"))
            }
        }
    }
}

/// Parses xl.cfg text. `source` names it in errors (`hello.cfg:3: ...`).
pub fn parse_settings(source: &str, text: &str) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    parse_into(&mut settings, source, text, 1)?;
    Ok(settings)
}

/// Parses more xl.cfg text into `settings` (later statements override
/// earlier ones); `first_line` is the line number of the text's first line.
pub fn parse_into(settings: &mut Settings, source: &str, text: &str, first_line: u32) -> Result<(), ConfigError> {
    let lex = Lexer { src: text.as_bytes(), pos: 0, line: first_line, source };
    let mut p = Parser { lex, tok: Tok::Eof, line: 1 };
    p.bump()?;
    loop {
        match core::mem::replace(&mut p.tok, Tok::Eof) {
            Tok::Eof => return Ok(()),
            Tok::Newline | Tok::Semi => p.bump()?,
            Tok::Ident(key) => {
                let line = p.line;
                p.bump()?;
                let op = match p.tok {
                    Tok::Assign => Op::Assign,
                    Tok::AddAssign => Op::Add,
                    _ => return Err(p.unexpected(&format!("'=' after '{}'", key))),
                };
                p.bump()?;
                let value = p.value()?;
                match p.tok {
                    Tok::Newline | Tok::Semi | Tok::Eof => {}
                    _ => return Err(p.unexpected("end of line after the value")),
                }
                settings.assign(source, key, op, value, line)?;
            }
            other => {
                p.tok = other;
                return Err(p.unexpected("a key"));
            }
        }
    }
}

/// Reads an integer as libxlu does (`strtol(.., 0)`): decimal, `0x` hex, or
/// octal with a leading `0`; a leading `-` or `+` is allowed.
pub fn parse_c_long(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        (16, hex)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(body, radix).ok()?;
    Some(if neg { -v } else { v })
}
