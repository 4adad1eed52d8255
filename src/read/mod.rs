//! Reading histories: format detection and the readers.
//!
//! A history arrives as bytes in one of four formats: EDN (`edn`, Jepsen's
//! `history.edn` with one op per line, or Knossos's one vector of ops), JSON (`json`,
//! JSON Lines or one array), Jepsen's tab-separated `history.txt` and old Jepsen console
//! logs (`text`). Each reader turns the bytes into [`RawOp`]s: the value that stood where
//! an op should be, the line and column where it starts, and the bytes it was read from
//! (the analysis reads the few ops it prints again from there). Interpreting those values as
//! ops (required keys, types, pairing) is the history module's job, so every reader stays
//! a pure syntax layer and all of them report problems the same way.
//!
//! One exception, for speed: reading a file for a compact history (`History::read`), the
//! EDN and JSON Lines readers take a fast path on Jepsen's usual op lines and hand on only
//! the fields a compact op holds, each distinct text parsed once (`edn::fields`,
//! `json::fields`, sharing `fast`); a line they are not sure of is read in full, so what
//! is read, and every error, stays the same.
//!
//! Readers collect every problem they can find rather than stopping at the first, so one
//! run shows a user all the bad lines of a file (an [`InputError`] keeps the first
//! [`InputError::MAX_DIAGNOSTICS`](crate::InputError::MAX_DIAGNOSTICS) and counts the rest).

mod edn;
mod fast;
mod json;
mod text;

use crate::error::{Diagnostic, InputError};
use crate::intern::Shared;
use crate::value::Value;
use std::fmt;
use std::hash::BuildHasher;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
                // From the first line that is not blank or a comment, however far in.
                let window = &bytes[i..bytes.len().min(i.saturating_add(DETECT_WINDOW))];
                let first_line = window.split(|&b| b == b'\n').next().unwrap_or_default();
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

/// One op as read: the op map (or whatever value stood where an op should be), where it
/// starts (1-based line and column, the column counted in characters), and the bytes it
/// was read from, which the same reader reads back as this op alone (an op printed in
/// the analysis is read again from there rather than kept).
#[derive(Clone, Debug, PartialEq)]
pub struct RawOp {
    /// What stood where an op should be (an op map, unless the input is wrong).
    pub value: Value,
    /// Where it starts: the 1-based line.
    pub line: u32,
    /// Where it starts: the 1-based column, in characters.
    pub column: u32,
    /// Its bytes in the input, which read back as this op alone.
    pub span: Range<usize>,
}

impl RawOp {
    /// Reads the ops of a file's contents; `file` names it in errors, and `None`
    /// detects the format. A big file of one op per line is read in pieces on every core.
    ///
    /// ```
    /// let ops = knossos_rs::read::RawOp::read(b"{:process 0, :type :invoke, :f :read}", "h.edn", None).unwrap();
    /// assert_eq!((ops.len(), ops[0].line), (1, 1));
    /// ```
    pub fn read(bytes: &[u8], file: &str, format: Option<Format>) -> Result<Vec<RawOp>, InputError> {
        read_ops(bytes, file, format)
    }

    /// Reads the ops of a file, as [`RawOp::read`] does: a last line cut short is
    /// an error here ([`History::read`](crate::History::read) leaves it out).
    pub fn read_path(path: &Path, format: Option<Format>) -> Result<Vec<RawOp>, InputError> {
        read_path(path, format)
    }
}

/// The type of an op: its `:type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpType {
    /// The operation begins.
    Invoke,
    /// It completed and took effect.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// It may or may not have taken effect (a timeout, a crash): pending forever.
    Info,
}

impl OpType {
    /// The type a `:type` value names, if any.
    pub fn parse(v: &Value) -> Option<OpType> {
        match v.as_name()? {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }

    /// The keyword's name: `invoke`, `ok`, `fail` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
}

/// An op's *body*: its map without `:process`, `:type`, `:index` and `:time`, `:f` first
/// and `:value` second (nil when missing), then `rest`. It is what models read of an op
/// (`Model::argument`), and ops share equal bodies (see `intern`).
pub(crate) fn op_body(f: Value, value: Value, rest: impl IntoIterator<Item = (Value, Value)>) -> Value {
    let mut body = vec![(Value::keyword("f"), f), (Value::keyword("value"), value)];
    body.extend(rest);
    Value::Map(body)
}

/// An op read on a fast path (`edn::fields`, `json::fields`): only what a compact op
/// holds, its process and body shared through [`Shared`].
#[derive(Clone, Debug)]
pub(crate) struct OpFields {
    pub line: u32,
    pub column: u32,
    pub span: Range<usize>,
    pub index: Option<u64>,
    pub kind: OpType,
    pub process: Arc<Value>,
    pub body: Arc<Value>,
}

/// An op as a reader hands it on: its value, or, on the fast path, its fields.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    Raw(RawOp),
    Fields(OpFields),
}

impl Item {
    fn at_mut(&mut self) -> (&mut u32, &mut Range<usize>) {
        match self {
            Item::Raw(op) => (&mut op.line, &mut op.span),
            Item::Fields(op) => (&mut op.line, &mut op.span),
        }
    }
}

/// The ops of items read without [`Shared`], which are all raw.
pub(crate) fn raw(items: Vec<Item>) -> Vec<RawOp> {
    items
        .into_iter()
        .filter_map(|item| match item {
            Item::Raw(op) => Some(op),
            Item::Fields(_) => None,
        })
        .collect()
}

/// What marks an op line in an old Jepsen console log.
const LOG_MARKER: &[u8] = b"jepsen.util - ";

/// How much of a file [`detect`] searches for [`LOG_MARKER`], from its first line that
/// is not blank or a comment: logs start with a few lines of setup, and a
/// multi-gigabyte EDN file should not be scanned whole.
const DETECT_WINDOW: usize = 1 << 20;

/// What a file that is not text is, if its first bytes tell (and what to do), as an
/// error about the whole file: histories are text, and a binary file read as one
/// would only give a screenful of invalid characters.
fn binary(bytes: &[u8], name: &str) -> Option<Diagnostic> {
    let head = &bytes[..bytes.len().min(4096)];
    let what = if head.starts_with(&[0x1f, 0x8b]) {
        "a gzip file, not a history: decompress it first (gunzip, or zcat FILE | knossos-rs check … -)"
    } else if head.starts_with(b"JEPSEN") {
        "a Jepsen store file (test.jepsen), not a history: check the history.edn beside it"
    } else if name.ends_with(".fressian") {
        "a Fressian file (test.fressian), not a history: check the history.edn beside it"
    } else if head.contains(&0)
        || head.iter().filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b)).count() > head.len() / 16
    {
        // (Text has no NUL and few control characters; a stray invalid byte in a text
        // file is reported where it is, by the reader.)
        "a binary file, not a history: a history is text (EDN, JSON, history.txt or a Jepsen log)"
    } else {
        return None;
    };
    Some(Diagnostic::new(0, 0, what))
}

/// [`RawOp::read`].
pub(crate) fn read_ops(bytes: &[u8], file: &str, format: Option<Format>) -> Result<Vec<RawOp>, InputError> {
    if let Some(what) = binary(bytes, file) {
        return Err(InputError::new(file, vec![what]));
    }
    let format = format.unwrap_or_else(|| Format::detect(bytes));
    if bytes.len() >= PIECES_MIN && splittable(bytes, format) {
        if let Some((pieces, _)) = in_pieces(bytes, Start::default(), format, None, &raw) {
            return Ok(pieces.concat());
        }
    }
    let (items, errors) = read_whole(bytes, file, format, None);
    errors.is_empty().then(|| raw(items)).ok_or(errors)
}

/// The one op in `bytes`, an op's span as a reader gave it, read again as `format` read
/// it (to print it): no detection, as its file was judged text when it was read, and a
/// JSON object of an array may take several lines.
pub(crate) fn read_one(bytes: &[u8], format: Format) -> Option<Value> {
    let mut ops = match format {
        Format::Json => return json::read_one(bytes),
        _ => match read_whole(bytes, "", format, None) {
            (items, errors) if errors.is_empty() => raw(items),
            _ => return None,
        },
    };
    (ops.len() == 1).then(|| ops.swap_remove(0).value)
}

/// [`RawOp::read_path`].
pub(crate) fn read_path(path: &Path, format: Option<Format>) -> Result<Vec<RawOp>, InputError> {
    let read = read_path_with(path, format, None, raw, Vec::new, |all, mut ops| all.append(&mut ops))?;
    match (read.errors.is_empty(), read.warnings.is_empty()) {
        (true, true) => Ok(read.ops),
        (true, false) => Err(InputError::new(&path.display().to_string(), read.warnings)),
        (false, _) => Err(read.errors),
    }
}

/// What [`read_path_with`] read of a file.
pub(crate) struct FileRead<A> {
    pub format: Format,
    /// What was made of the ops read.
    pub ops: A,
    /// What was left out (a last line cut short: see [`cut_short`]).
    pub warnings: Vec<Diagnostic>,
    /// The lines that could not be read (then `ops` are the others, for the history
    /// to report what else is wrong with them).
    pub errors: InputError,
}

/// Reads the ops of a file piece by piece: hands each piece's ops (lines and spans
/// counted from the start of the file) to `each` on rayon's pool, and folds what it
/// makes of them into `init()` with `fold`, in file order, so that a caller that keeps
/// less than the ops (a compact form) never holds all of them. A big file of one op per
/// line is streamed in blocks; any other is read whole, in one piece. If a block has an
/// error the file is read again whole, folded into a fresh `init()`, for every error of
/// the file. With `shared`, EDN and JSON op lines of the usual shape are read on the fast
/// path, as [`OpFields`].
///
/// A file that cannot be read (or is binary, or has a line longer than [`MAX_LINE`]) is
/// an [`InputError`] at line 0, column 0; one with syntax errors is read, and has them in
/// [`FileRead::errors`].
pub(crate) fn read_path_with<T: Send, A>(
    path: &Path,
    format: Option<Format>,
    shared: Option<&Shared>,
    each: impl Fn(Vec<Item>) -> T + Sync,
    init: impl Fn() -> A,
    mut fold: impl FnMut(&mut A, T),
) -> Result<FileRead<A>, InputError> {
    let name = path.display().to_string();
    let cannot = |e: std::io::Error| {
        // "No such file or directory (os error 2)": the error number helps nobody.
        let message = e.to_string();
        let message = message.split(" (os error").next().unwrap_or_default();
        InputError::new(&name, vec![Diagnostic::new(0, 0, format!("cannot read: {message}"))])
    };
    // `-` is standard input; it, a pipe or a device is read whole, as it cannot be
    // read again.
    let stdin = path == Path::new("-");
    let mut file = std::fs::File::open(if stdin { Path::new("/dev/stdin") } else { path }).map_err(cannot)?;
    let regular = !stdin && file.metadata().is_ok_and(|m| m.is_file());
    let mut block = Vec::new();
    // Reads more of the file into `block`, whose first line is line `line` + 1.
    let mut more = |block: &mut Vec<u8>, line: u32| {
        let at_end = fill(&mut file, block).map_err(cannot)?;
        match too_long(block) {
            None => Ok(at_end),
            Some(start) => {
                let line = line.saturating_add(lines_in(&block[..start])).saturating_add(1);
                let message = format!("a line longer than {} MiB: no history needs one", MAX_LINE >> 20);
                let hint =
                    "is this a history? A history is one op per line, or a vector of ops over many lines";
                Err(InputError::new(&name, vec![Diagnostic::new(line, 1, message).with_hint(hint)]))
            }
        }
    };
    let mut at_end = more(&mut block, 0)?;
    if let Some(what) = binary(&block, &name) {
        return Err(InputError::new(&name, vec![what]));
    }
    let format = format.unwrap_or_else(|| Format::detect(&block));
    let whole = |bytes: &[u8], fold: &mut dyn FnMut(&mut A, T)| {
        let mut ops = init();
        let (items, warnings, errors) = cut_short(bytes, &name, format, shared);
        fold(&mut ops, each(items));
        Ok(FileRead { format, ops, warnings, errors })
    };
    if (at_end && block.len() < PIECES_MIN) || !splittable(&block, format) || !regular {
        while !at_end {
            at_end = more(&mut block, 0)?;
        }
        return whole(&block, &mut fold);
    }
    let mut start = Start { offset: block.len() - strip_bom(&block).len(), line: 0 };
    let mut from = start.offset;
    let mut all = init();
    loop {
        // A block's ops end where its last line starting with `{` begins, unless the file
        // ends there; the rest is carried over to the next block.
        let end = if at_end {
            block.len()
        } else {
            match block[from..].windows(2).rposition(|w| w == b"\n{") {
                Some(n) => from + n + 1,
                None => {
                    at_end = more(&mut block, start.line)?;
                    continue;
                }
            }
        };
        let Some((pieces, lines)) = in_pieces(&block[from..end], start, format, shared, &each) else {
            // An error: read again whole, for every error of the file, each located as a
            // whole read locates it (or a cut inside a form, which a whole read reads).
            drop((all, block));
            return whole(&std::fs::read(path).map_err(cannot)?, &mut fold);
        };
        pieces.into_iter().for_each(|piece| fold(&mut all, piece));
        start = Start { offset: start.offset + end - from, line: start.line.saturating_add(lines) };
        if at_end {
            return Ok(FileRead {
                format,
                ops: all,
                warnings: Vec::new(),
                errors: InputError::new(&name, vec![]),
            });
        }
        block.drain(..end);
        from = 0;
        at_end = more(&mut block, start.line)?;
    }
}

/// How much of a big file is read and parsed at a time (32 MiB): a few pieces for
/// every core, while the ops read from it are held only as long as their piece.
const BLOCK: u64 = 32 << 20;

/// The longest line read (64 MiB): an op takes a few hundred bytes, and a file
/// without line breaks (`/dev/zero`, a binary) must not be read without end. Lines
/// are checked as each block arrives, so what is held stays below this plus a
/// block.
const MAX_LINE: usize = 64 << 20;

/// Where the last line of `block` starts, if it is longer than [`MAX_LINE`].
fn too_long(block: &[u8]) -> Option<usize> {
    let start = block.iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1);
    (block.len() - start > MAX_LINE).then_some(start)
}

/// How many line breaks `bytes` holds.
fn lines_in(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX)
}

/// Appends up to [`BLOCK`] more bytes of `file` to `block`; `true` at the end of the file.
fn fill(file: &mut std::fs::File, block: &mut Vec<u8>) -> std::io::Result<bool> {
    let read = file.take(BLOCK).read_to_end(block)?;
    Ok(read < BLOCK as usize)
}

/// Reads `bytes` in one piece: what could be read, and every error; spans are offsets
/// in `bytes`.
fn read_whole(bytes: &[u8], file: &str, format: Format, shared: Option<&Shared>) -> (Vec<Item>, InputError) {
    let start = Start { offset: bytes.len() - strip_bom(bytes).len(), line: 0 };
    let mut errors = InputError::new(file, Vec::new());
    let ops = read_piece(&bytes[start.offset..], start, format, shared, &mut errors);
    (ops, errors)
}

/// Reads `bytes` as [`read_whole`] does, and when the only problems are on the last
/// line, which has no line break at its end, the file was cut short while it was
/// written (a test killed mid-write): its ops without that line, and a warning naming
/// it, instead of the errors.
fn cut_short(
    bytes: &[u8],
    file: &str,
    format: Format,
    shared: Option<&Shared>,
) -> (Vec<Item>, Vec<Diagnostic>, InputError) {
    let (items, errors) = read_whole(bytes, file, format, shared);
    let Some(last_start) = bytes.iter().rposition(|&b| b == b'\n').map(|n| n + 1) else {
        return (items, Vec::new(), errors);
    };
    let last_line = lines_in(&bytes[..last_start]) + 1;
    let only_last = errors.diagnostics.iter().all(|d| d.line == last_line) && errors.more == 0;
    if errors.is_empty()
        || last_start == bytes.len()
        || !only_last
        || bytes[last_start..].iter().all(u8::is_ascii_whitespace)
    {
        return (items, Vec::new(), errors);
    }
    let (before, before_errors) = read_whole(&bytes[..last_start], file, format, shared);
    if !before_errors.is_empty() {
        return (items, Vec::new(), errors);
    }
    let warning = Diagnostic::new(
        last_line,
        1,
        "the last line is cut short (was the test killed while writing it?); left out",
    )
    .with_hint("the verdict holds for the history without it");
    (before, vec![warning], before_errors)
}

/// Where a piece starts in its file: the byte offset, and the lines before it.
#[derive(Clone, Copy, Debug, Default)]
struct Start {
    offset: usize,
    line: u32,
}

/// Reads one piece with the format's reader, its lines and spans counted from `start`.
fn read_piece(
    piece: &[u8],
    start: Start,
    format: Format,
    shared: Option<&Shared>,
    errors: &mut InputError,
) -> Vec<Item> {
    let mut ops = match format {
        Format::Edn => edn::read_ops(piece, shared, errors),
        Format::Json => json::read_ops(piece, shared, errors),
        Format::HistoryTxt | Format::JepsenLog => {
            text::read_ops(piece, format, errors).into_iter().map(Item::Raw).collect()
        }
    };
    if start.offset > 0 || start.line > 0 {
        for op in &mut ops {
            let (line, span) = op.at_mut();
            *line = line.saturating_add(start.line);
            *span = span.start + start.offset..span.end + start.offset;
        }
    }
    ops
}

/// Below this size (8 MiB) a file is read in one piece: splitting costs more than it saves.
const PIECES_MIN: usize = 8 << 20;

/// Whether a file can be read in pieces cut where a line starts with `{`: EDN or JSON
/// with one op map per line. A file that starts otherwise (one vector, a `;` comment,
/// `#jepsen.history.Op` records) is read on one core.
fn splittable(bytes: &[u8], format: Format) -> bool {
    let bytes = strip_bom(bytes);
    matches!(format, Format::Edn | Format::Json) && bytes.get(skip_ascii_whitespace(bytes, 0)) == Some(&b'{')
}

/// Reads a block of one op map per line in pieces on every core, and hands each piece's
/// ops to `each`; returns what it made of them, and the block's lines. `None` when any
/// piece has an error: then the caller reads the file whole, again, which gives the same
/// ops, and errors as a whole read reports them. Every piece parsing cleanly means the
/// split fell between ops: a cut inside a form (a string holding `"\n{"`, a
/// pretty-printed map, a `#_` before the line) leaves the piece before it unterminated,
/// which is an error.
fn in_pieces<T: Send>(
    block: &[u8],
    start: Start,
    format: Format,
    shared: Option<&Shared>,
    each: &(impl Fn(Vec<Item>) -> T + Sync),
) -> Option<(Vec<T>, u32)> {
    read_at_cuts(block, &cuts(block, 4 * rayon::current_num_threads()), start, format, shared, each)
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

/// Reads the pieces between `cuts` in parallel, as [`in_pieces`] does.
fn read_at_cuts<T: Send>(
    block: &[u8],
    cuts: &[usize],
    start: Start,
    format: Format,
    shared: Option<&Shared>,
    each: &(impl Fn(Vec<Item>) -> T + Sync),
) -> Option<(Vec<T>, u32)> {
    use rayon::prelude::*;
    let lines: Vec<u32> = cuts.par_windows(2).map(|w| lines_in(&block[w[0]..w[1]])).collect();
    let mut line = start.line;
    let starts: Vec<Start> = cuts
        .iter()
        .zip(&lines)
        .map(|(&cut, &n)| {
            let before = line;
            line = line.saturating_add(n);
            Start { offset: start.offset + cut, line: before }
        })
        .collect();
    let pieces = cuts
        .par_windows(2)
        .zip(starts)
        .map(|(w, start)| {
            let mut errors = InputError::new("", Vec::new());
            let ops = read_piece(&block[w[0]..w[1]], start, format, shared, &mut errors);
            errors.is_empty().then(|| each(ops))
        })
        .collect::<Option<_>>()?;
    Some((pieces, line - start.line))
}

/// Parses exactly one EDN value ([`Value::from_edn`]).
pub(crate) fn parse_edn(text: &str) -> Result<Value, InputError> {
    let bytes = text.as_bytes();
    edn::Reader::new(bytes).read_exactly_one(0, bytes.len(), 1, 0).map_err(|d| InputError::new("", vec![d]))
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
    fn whole(text: &str, format: Format) -> Vec<RawOp> {
        let (items, errors) = read_whole(text.as_bytes(), "h", format, None);
        assert!(errors.is_empty(), "{errors}");
        raw(items)
    }

    /// Reads `text` in pieces cut at `cuts`.
    fn at_cuts(text: &str, cuts: &[usize]) -> Option<Vec<RawOp>> {
        read_at_cuts(text.as_bytes(), cuts, Start::default(), Format::Edn, None, &raw)
            .map(|(p, _)| p.concat())
    }

    #[test]
    fn big_files_are_read_in_pieces_as_one_piece_reads_them() {
        for (json, format) in [(false, Format::Edn), (true, Format::Json)] {
            let text = history(150_000, "", json);
            assert!(text.len() > PIECES_MIN);
            let (pieces, lines) = in_pieces(text.as_bytes(), Start::default(), format, None, &raw).unwrap();
            assert!(pieces.len() > 1);
            assert_eq!(lines, 150_000);
            assert_eq!(pieces.concat(), whole(&text, format));
        }
        // Lines and spans are counted on across pieces.
        let edn = history(150_000, "", false);
        let cuts = cuts(edn.as_bytes(), 8);
        assert_eq!(cuts.len(), 9);
        assert!(cuts[1..8].iter().all(|&c| edn.as_bytes()[c - 1..c + 1] == *b"\n{"));
        let ops = at_cuts(&edn, &cuts).unwrap();
        assert_eq!((ops[149_999].line, ops[149_999].column), (150_000, 1));
        assert_eq!(
            &edn[ops[149_999].span.clone()],
            "{:index 149999, :type :ok, :process 3, :value [149999 \"x\"]}"
        );
    }

    #[test]
    fn each_op_reads_back_alone_from_its_span() {
        let texts = [
            (history(300, "", false), Format::Edn),
            (history(300, "", true), Format::Json),
            (format!("[{}]", history(300, "", false)), Format::Edn),
            ("[{\"process\": 0},\n {\"process\": 1}]".to_string(), Format::Json),
            ("3\t:invoke\t:write\t3\n\n:nemesis\t:info\t:start\tnil\terr\n".to_string(), Format::HistoryTxt),
            (
                "INFO  jepsen.util - 3\t:invoke\t:read\tnil\r\nother\nINFO  jepsen.util - 3\t:ok\t:read\t1\n"
                    .to_string(),
                Format::JepsenLog,
            ),
            ("\u{feff}{:process 0}\n {:process 1}".to_string(), Format::Edn),
            // An object over several lines in an array; a NUL, which alone looks binary.
            ("[{\"process\": 0,\n  \"f\": \"read\"},\n {\"process\": 1}]".to_string(), Format::Json),
            (format!("{}{{:process 0, :v\0x 1}}\n{{:process 1}}", " ".repeat(5000)), Format::Edn),
        ];
        for (text, format) in texts {
            let ops = read_ops(text.as_bytes(), "h", Some(format)).unwrap();
            assert!(ops.len() >= 2, "{text:?}");
            for op in ops {
                assert_eq!(read_one(&text.as_bytes()[op.span.clone()], format), Some(op.value), "{text:?}");
            }
        }
    }

    #[test]
    fn a_file_is_streamed_in_blocks_as_it_is_read_whole() {
        // Four blocks, the last ending without a newline.
        let mut text = history(1_700_000, "", false);
        text.pop();
        assert!(text.len() as u64 > 3 * BLOCK);
        let path = std::env::temp_dir().join(format!("knossos-rs-blocks-{}.edn", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let read = read_path(&path, None);
        let pieces = read_path_with(&path, None, None, |ops| ops.len(), || 0, |n, m| *n += m).unwrap().ops;
        let fast = |items: Vec<Item>| items.iter().filter(|item| matches!(item, Item::Fields(_))).count();
        let on_fast_path =
            read_path_with(&path, None, Some(&Shared::default()), fast, || 0, |n, m| *n += m).unwrap().ops;
        // An error in the last block: the file is read again whole, and the error
        // located in the whole file.
        std::fs::write(&path, format!("{text}\n{{:index 1 :type}}\n")).unwrap();
        let bad = read_path(&path, None);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read.unwrap(), whole(&text, Format::Edn));
        assert_eq!(pieces, 1_700_000);
        assert_eq!(on_fast_path, 1_700_000);
        let bad = bad.unwrap_err();
        assert_eq!(bad.diagnostics.len(), 1);
        assert_eq!(bad.diagnostics[0].line, 1_700_001);
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
            let whole = whole(&text, Format::Edn);
            assert_eq!(whole.len(), 1_000 + 10 * usize::from(!odd.starts_with("#_")), "{odd:?}");
            // Cut at every line that starts with `{`, the odd forms' inner ones too.
            let cuts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices("\n{").map(|(i, _)| i + 1))
                .chain(std::iter::once(text.len()))
                .collect();
            assert_eq!(at_cuts(&text, &cuts), None, "{odd:?}");
            // Cut only where ops start: the same as whole.
            let op_starts: Vec<usize> = whole.iter().map(|op| op.span.start).collect();
            let between: Vec<usize> = cuts
                .iter()
                .copied()
                .filter(|c| *c == 0 || *c == text.len() || op_starts.contains(c))
                .collect();
            assert!(between.len() > 2);
            assert_eq!(at_cuts(&text, &between), Some(whole.clone()), "{odd:?}");
            // The fast path cuts no differently.
            let shared = Shared::default();
            let spans = |items: Vec<Item>| -> Vec<Range<usize>> {
                items
                    .into_iter()
                    .map(|item| match item {
                        Item::Raw(op) => op.span,
                        Item::Fields(op) => op.span,
                    })
                    .collect()
            };
            let fast = |cuts: &[usize]| {
                read_at_cuts(text.as_bytes(), cuts, Start::default(), Format::Edn, Some(&shared), &spans)
                    .map(|(pieces, _)| pieces.concat())
            };
            assert_eq!(fast(&cuts), None, "{odd:?}");
            assert_eq!(fast(&between), Some(whole.iter().map(|op| op.span.clone()).collect()), "{odd:?}");
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
            assert_eq!(Format::detect(text.as_bytes()), *format, "{text:?}");
        }
        // More blank or comment lines than the window holds (once a panic).
        let blank = " \n".repeat(DETECT_WINDOW);
        let log = "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n";
        assert_eq!(Format::detect(format!("{blank}{log}").as_bytes()), Format::JepsenLog);
        assert_eq!(Format::detect(format!("{blank}3\t:invoke\t:write\t3\n").as_bytes()), Format::HistoryTxt);
        assert_eq!(Format::detect(";\n".repeat(DETECT_WINDOW).as_bytes()), Format::Edn);
        assert_eq!(Format::detect(" ".repeat(2 * DETECT_WINDOW).as_bytes()), Format::Edn);
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
        assert!(parse_edn("").unwrap_err().diagnostics[0].message.contains("end of the input"));
        let d = parse_edn("1 2").unwrap_err().diagnostics.remove(0);
        assert_eq!((d.line, d.column), (1, 3));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(column_after(b""), 1);
        assert_eq!(column_after("é€x".as_bytes()), 4);
    }
}
