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
        Format::Edn => in_pieces(bytes, edn::read_ops).unwrap_or_else(|| edn::read_ops(bytes, &mut errors)),
        Format::Json => {
            in_pieces(bytes, json::read_ops).unwrap_or_else(|| json::read_ops(bytes, &mut errors))
        }
        Format::HistoryTxt | Format::JepsenLog => text::read_ops(bytes, format, &mut errors),
    };
    if errors.is_empty() {
        Ok(ops)
    } else {
        Err(errors)
    }
}

/// Below this size (8 MiB) a file is read in one piece: splitting costs more than it saves.
const PIECES_MIN: usize = 8 << 20;

/// Reads a big file of one op map per line (EDN or JSON Lines) in pieces on every
/// core, split where a line starts with `{`. `None` when the file is small or does not
/// start with `{` (one vector, a `;` comment, `#jepsen.history.Op` records: read on one
/// core), or when any piece has an error: then the caller reads it whole, again, which
/// gives the same ops, and errors as a whole read reports them. Every piece parsing
/// cleanly means the split fell between ops: a cut inside a form (a string holding
/// `"\n{"`, a pretty-printed map, a `#_` before the line) leaves the piece before it
/// unterminated, which is an error.
fn in_pieces(bytes: &[u8], read: fn(&[u8], &mut InputError) -> Vec<RawOp>) -> Option<Vec<RawOp>> {
    if bytes.len() < PIECES_MIN || bytes.get(skip_ascii_whitespace(bytes, 0)) != Some(&b'{') {
        return None;
    }
    read_at_cuts(bytes, &cuts(bytes, 4 * rayon::current_num_threads()), read)
}

/// About `pieces` offsets, from 0 to the end, each other one where a line starts with `{`.
fn cuts(bytes: &[u8], pieces: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for i in 1..pieces {
        let from = (bytes.len() / pieces * i).max(cuts[cuts.len() - 1]);
        match bytes[from..].windows(2).position(|w| w == b"\n{") {
            Some(n) => cuts.push(from + n + 1),
            None => break,
        }
    }
    cuts.push(bytes.len());
    cuts.dedup();
    cuts
}

/// Reads the pieces between `cuts` in parallel; `None` if any has an error.
fn read_at_cuts(
    bytes: &[u8],
    cuts: &[usize],
    read: fn(&[u8], &mut InputError) -> Vec<RawOp>,
) -> Option<Vec<RawOp>> {
    use rayon::prelude::*;
    let read: Vec<(Vec<RawOp>, u32)> = cuts
        .par_windows(2)
        .map(|w| {
            let piece = &bytes[w[0]..w[1]];
            let mut errors = InputError::new("", Vec::new());
            let ops = read(piece, &mut errors);
            let lines = piece.iter().filter(|&&b| b == b'\n').count();
            errors.is_empty().then(|| (ops, u32::try_from(lines).unwrap_or(u32::MAX)))
        })
        .collect::<Option<_>>()?;
    let mut ops = Vec::with_capacity(read.iter().map(|(ops, _)| ops.len()).sum());
    let mut lines_before = 0u32;
    for (piece, lines) in read {
        ops.extend(piece.into_iter().map(|op| RawOp { line: op.line.saturating_add(lines_before), ..op }));
        lines_before = lines_before.saturating_add(lines);
    }
    Some(ops)
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

    /// `n` ops, a line each, with `odd` spliced in after every 100th.
    fn history(n: usize, odd: &str, json: bool) -> String {
        let mut s = String::new();
        for i in 0..n {
            if json {
                s += &format!(
                    "{{\"index\": {i}, \"type\": \"ok\", \"process\": {}, \"value\": {i}}}\n",
                    i % 7
                );
            } else {
                s += &format!("{{:index {i}, :type :ok, :process {}, :value [{i} \"x\"]}}\n", i % 7);
            }
            if i % 100 == 99 {
                s += odd;
            }
        }
        s
    }

    /// Reads `text` in one piece, as small files are.
    fn whole(text: &str, read: fn(&[u8], &mut InputError) -> Vec<RawOp>) -> Vec<RawOp> {
        let mut errors = InputError::new("h", Vec::new());
        let ops = read(text.as_bytes(), &mut errors);
        assert!(errors.is_empty(), "{errors}");
        ops
    }

    #[test]
    fn big_files_are_read_in_pieces_as_one_piece_reads_them() {
        let edn = history(150_000, "", false);
        assert!(edn.len() > PIECES_MIN);
        assert_eq!(in_pieces(edn.as_bytes(), edn::read_ops), Some(whole(&edn, edn::read_ops)));
        let json = history(150_000, "", true);
        assert_eq!(in_pieces(json.as_bytes(), json::read_ops), Some(whole(&json, json::read_ops)));
        // Lines are counted on across pieces.
        let cuts = cuts(edn.as_bytes(), 8);
        assert_eq!(cuts.len(), 9);
        assert!(cuts[1..8].iter().all(|&c| edn.as_bytes()[c - 1..c + 1] == *b"\n{"));
        let ops = read_at_cuts(edn.as_bytes(), &cuts, edn::read_ops).unwrap();
        assert_eq!((ops[149_999].line, ops[149_999].column), (150_000, 1));
    }

    #[test]
    fn a_cut_inside_a_form_is_never_taken_for_one_between_ops() {
        // Forms in which a line may start with `{` that is not an op.
        for odd in [
            "{:type :info, :process :nemesis, :value \"a\\n\n{:b 1}\n\"}\n",
            "{:type :info,\n:process :nemesis\n:value\n{:a 1}}\n",
            "#_\n{:dropped 1}\n",
            "#jepsen.history.Op\n{:type :info, :process :nemesis}\n",
        ] {
            let text = history(1_000, odd, false);
            let whole = whole(&text, edn::read_ops);
            assert_eq!(whole.len(), 1_000 + 10 * usize::from(!odd.starts_with("#_")), "{odd:?}");
            // Cut at every line that starts with `{`, the odd forms' inner ones too.
            let cuts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices("\n{").map(|(i, _)| i + 1))
                .chain(std::iter::once(text.len()))
                .collect();
            assert_eq!(read_at_cuts(text.as_bytes(), &cuts, edn::read_ops), None, "{odd:?}");
            // Cut only where ops start: the same as whole.
            let line_starts: Vec<usize> =
                std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
            let op_starts: Vec<usize> =
                whole.iter().map(|op| line_starts[op.line as usize - 1] + op.column as usize - 1).collect();
            let between: Vec<usize> = cuts
                .iter()
                .copied()
                .filter(|c| *c == 0 || *c == text.len() || op_starts.contains(c))
                .collect();
            assert!(between.len() > 2);
            assert_eq!(
                read_at_cuts(text.as_bytes(), &between, edn::read_ops),
                Some(whole.clone()),
                "{odd:?}"
            );
            // And read_ops on it, small as it is, reads it whole.
            assert_eq!(read_ops(text.as_bytes(), "h", None), Ok(whole), "{odd:?}");
        }
    }

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
