//! Reading histories: format detection and the readers.
//!
//! A history arrives as bytes in one of four formats (SPEC §10): EDN (`edn`, Jepsen's
//! `history.edn` with one op per line, or Knossos's one vector of ops), JSON (`json`,
//! JSON Lines or one array), Jepsen's tab-separated `history.txt` and old Jepsen console
//! logs (`text`). Each reader turns the bytes into [`RawOp`]s: the value that stood where
//! an op should be, and the line and column where it starts. Interpreting those values as
//! ops (required keys, types, pairing) is the history module's job, so every reader stays
//! a pure syntax layer and all of them report problems the same way.
//!
//! Readers collect every problem they can find rather than stopping at the first, so one
//! run shows a user all the bad lines of a file (an [`InputError`] keeps the first
//! [`MAX_DIAGNOSTICS`](crate::error::MAX_DIAGNOSTICS) and counts the rest).

mod edn;
mod json;
mod text;

use crate::error::{Diagnostic, InputError};
use crate::value::Value;
use std::fmt;
use std::hash::BuildHasher;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// EDN: one op map per line or top-level form, or one vector or list of ops.
    Edn,
    /// JSON: one object per line, or one array of objects.
    Json,
    /// Jepsen's `history.txt`: `process<TAB>type<TAB>f<TAB>value[<TAB>error]`, each field EDN.
    HistoryTxt,
    /// An old Jepsen console log: the fields of `history.txt` after `jepsen.util - `.
    JepsenLog,
}

impl Format {
    /// The name `--format` accepts for this format.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Edn => "edn",
            Format::Json => "json",
            Format::HistoryTxt => "history-txt",
            Format::JepsenLog => "jepsen-log",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Accepts each format's [`name`](Format::name), and `txt` and `log` for short.
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "edn" => Ok(Format::Edn),
            "json" => Ok(Format::Json),
            "history-txt" | "txt" => Ok(Format::HistoryTxt),
            "jepsen-log" | "log" => Ok(Format::JepsenLog),
            _ => Err(format!("unknown format `{s}` (expected edn, json, history-txt or jepsen-log)")),
        }
    }
}

/// One op as read: the op map (or whatever value stood where an op should be), and where
/// it starts (1-based line and column, the column counted in characters).
#[derive(Clone, Debug, PartialEq)]
pub struct RawOp {
    pub value: Value,
    pub line: u32,
    pub column: u32,
}

/// What marks an op line in an old Jepsen console log.
const LOG_MARKER: &[u8] = b"jepsen.util - ";

/// How much of a file [`detect`] searches for [`LOG_MARKER`]: logs start with a few
/// lines of setup, and a multi-gigabyte EDN file should not be scanned whole.
const DETECT_WINDOW: usize = 1 << 20;

/// Detects the format from the content.
///
/// Whitespace, a UTF-8 byte-order mark and `;` comment lines are skipped. Then `{"` or `[{"`
/// means JSON; any other `{`, `[`, `(` or `#` means EDN; a line containing
/// `jepsen.util - ` means a console log; tab-separated fields mean `history.txt`. Anything
/// else is taken for EDN, whose reader then explains what it found.
pub fn detect(bytes: &[u8]) -> Format {
    let bytes = strip_bom(bytes);
    let mut i = 0;
    loop {
        i = skip_ascii_whitespace(bytes, i);
        if bytes.get(i) != Some(&b';') {
            break;
        }
        i = bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n);
    }
    let next_after = |i: usize| bytes.get(skip_ascii_whitespace(bytes, i)).copied();
    match bytes.get(i) {
        Some(b'{') if next_after(i + 1) == Some(b'"') => Format::Json,
        Some(b'[') if next_after(i + 1) == Some(b'{') => {
            let brace = skip_ascii_whitespace(bytes, i + 1);
            if next_after(brace + 1) == Some(b'"') {
                Format::Json
            } else {
                Format::Edn
            }
        }
        Some(b'{' | b'[' | b'(' | b'#') => Format::Edn,
        _ => {
            let window = &bytes[..bytes.len().min(DETECT_WINDOW)];
            let first_line = window[i..].split(|&b| b == b'\n').next().unwrap_or_default();
            if find(window, LOG_MARKER).is_some() {
                Format::JepsenLog
            } else if first_line.contains(&b'\t') {
                Format::HistoryTxt
            } else {
                Format::Edn
            }
        }
    }
}

/// Reads the ops of a file's contents; `file` names it in errors, and `None` detects the format.
pub fn read_ops(bytes: &[u8], file: &str, format: Option<Format>) -> Result<Vec<RawOp>, InputError> {
    let format = format.unwrap_or_else(|| detect(bytes));
    let bytes = strip_bom(bytes);
    let mut errors = InputError::new(file, Vec::new());
    let ops = match format {
        Format::Edn => edn::read_ops(bytes, &mut errors),
        Format::Json => json::read_ops(bytes, &mut errors),
        Format::HistoryTxt | Format::JepsenLog => text::read_ops(bytes, format, &mut errors),
    };
    if errors.is_empty() {
        Ok(ops)
    } else {
        Err(errors)
    }
}

/// Reads the ops of a file. A file that cannot be read is an [`InputError`] at line 0, column 0.
pub fn read_path(path: &Path, format: Option<Format>) -> Result<Vec<RawOp>, InputError> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => read_ops(&bytes, &file, format),
        Err(e) => {
            // "No such file or directory (os error 2)": the error number helps nobody.
            let message = e.to_string();
            let message = message.split(" (os error").next().unwrap_or_default();
            Err(InputError::new(&file, vec![Diagnostic::new(0, 0, format!("cannot read: {message}"))]))
        }
    }
}

/// Parses exactly one EDN value (an `--init` value, say); empty text or anything after
/// the value is an error.
pub fn parse_edn(text: &str) -> Result<Value, Diagnostic> {
    let bytes = text.as_bytes();
    edn::Reader::new(bytes).read_exactly_one(0, bytes.len(), 1, 0)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn skip_ascii_whitespace(bytes: &[u8], from: usize) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(bytes.len(), |n| from + n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The 1-based column just after `line_prefix` (the bytes from the start of a line),
/// counted in characters: every byte that does not continue a UTF-8 sequence.
fn column_after(line_prefix: &[u8]) -> u32 {
    let chars = line_prefix.iter().filter(|&&b| (b as i8) >= -0x40).count();
    u32::try_from(chars).unwrap_or(u32::MAX - 1) + 1
}

/// Shares one allocation among the many copies of a name: a history repeats `:process`,
/// `:type` and `:invoke` millions of times, and one `Arc<str>` each is both less memory
/// and faster than an allocation per occurrence. Names are looked up by their bytes, so
/// a name seen before costs neither UTF-8 validation nor an allocation.
#[derive(Default)]
struct Names {
    table: hashbrown::HashTable<Arc<str>>,
    hasher: foldhash::fast::FixedState,
}

impl Names {
    /// Past this many distinct names, new ones are no longer remembered, so that input
    /// full of distinct keywords cannot grow the table without bound.
    const MAX: usize = 1 << 16;

    /// The shared copy of a name seen before.
    fn find(&self, name: &[u8]) -> Option<Arc<str>> {
        self.table.find(self.hasher.hash_one(name), |n| n.as_bytes() == name).cloned()
    }

    /// The shared copy of a name, remembered for next time.
    fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.find(name.as_bytes()) {
            return shared;
        }
        let shared: Arc<str> = name.into();
        if self.table.len() < Names::MAX {
            let hasher = &self.hasher;
            let hash = hasher.hash_one(name.as_bytes());
            self.table.insert_unique(hash, shared.clone(), |n| hasher.hash_one(n.as_bytes()));
        }
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        for f in [Format::Edn, Format::Json, Format::HistoryTxt, Format::JepsenLog] {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert_eq!("txt".parse::<Format>(), Ok(Format::HistoryTxt));
        assert_eq!("log".parse::<Format>(), Ok(Format::JepsenLog));
        assert!("yaml".parse::<Format>().unwrap_err().contains("expected edn"));
    }

    #[test]
    fn detection() {
        let cases: &[(&str, Format)] = &[
            ("{:process 0, :type :invoke}\n", Format::Edn),
            ("\u{feff}; a comment\n;another\n  [{:process 0}]", Format::Edn),
            ("({:process 0})", Format::Edn),
            ("#jepsen.history.Op{:process 0}", Format::Edn),
            ("[]", Format::Edn),
            ("[{:a 1}]", Format::Edn),
            ("{\"process\": 0}\n", Format::Json),
            ("[\n  {\"process\": 0}]", Format::Json),
            ("3\t:invoke\t:write\t3\n", Format::HistoryTxt),
            (":nemesis\t:info\t:start\tnil\n", Format::HistoryTxt),
            ("INFO  jepsen.core - Running\nINFO  jepsen.util - 3\t:invoke\t:read\tnil\n", Format::JepsenLog),
            ("garbage", Format::Edn),
            ("", Format::Edn),
        ];
        for (text, format) in cases {
            assert_eq!(detect(text.as_bytes()), *format, "{text:?}");
        }
    }

    #[test]
    fn read_ops_dispatches_and_strips_the_bom() {
        let ops = read_ops("\u{feff}{:process 1}".as_bytes(), "h.edn", None).unwrap();
        assert_eq!((ops[0].line, ops[0].column), (1, 1));
        let ops = read_ops(b"{\"process\": 1}", "h", Some(Format::Json)).unwrap();
        assert_eq!(ops[0].value.get("process"), Some(&Value::Int(1)));
        let err = read_ops(b"{:a", "h.edn", None).unwrap_err();
        assert_eq!(err.file, "h.edn");
    }

    #[test]
    fn unreadable_file() {
        let err = read_path(Path::new("/nonexistent/history.edn"), None).unwrap_err();
        assert_eq!(err.file, "/nonexistent/history.edn");
        let d = &err.diagnostics[0];
        assert_eq!((d.line, d.column), (0, 0));
        assert_eq!(d.message, "cannot read: No such file or directory");
    }

    #[test]
    fn parse_one_value() {
        assert_eq!(
            parse_edn(" {:x 0 :y 0} "),
            Ok(Value::kw_map([("x", Value::Int(0)), ("y", Value::Int(0))]))
        );
        assert!(parse_edn("").unwrap_err().message.contains("end of the input"));
        let d = parse_edn("1 2").unwrap_err();
        assert_eq!((d.line, d.column), (1, 3));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(column_after(b""), 1);
        assert_eq!(column_after("é€x".as_bytes()), 4);
    }
}
