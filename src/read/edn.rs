//! The EDN reader: everything `clojure.edn/read` reads, quickly, with lines and columns.
//!
//! # Why a reader of our own
//!
//! Histories run to gigabytes, and the general EDN crates are slow on them, cannot read
//! `5N` big integers or `#jepsen.history.Op{…}` records, or do not say on which line a bad
//! op is. This reader works on bytes, never allocates per character, shares one allocation
//! among all copies of a name ([`Names`], looked up by bytes), parses integers straight
//! from the bytes, and builds each collection in one exact-size allocation from scratch
//! stacks of items. On Jepsen's op lines it runs about 2.5 times as fast as clojure-reader,
//! and a third of its time goes to building the values themselves (allocations, reference
//! counts). It is checked against clojure-reader on every file of the corpus and on
//! generated values (`tests/edn_reader.rs`). Reading a history to check it, the usual op
//! lines skip building values altogether ([`fields`], the fast path).
//!
//! # Lines and columns
//!
//! Lines are counted as the reader passes newlines, which it must look at anyway; the
//! column is not counted as it goes. A [`Mark`] (byte offset, line, offset of the line's
//! start) is taken where a form starts, and turned into a column, counted in characters,
//! only when an op or an error needs one. Consecutive columns on one line are counted
//! from the previous one, so that a history written as one long line costs linear time.
//!
//! # Nesting
//!
//! Open collections, tags, discards (`#_`) and metadata (`^`) wait on an explicit stack of
//! [`Frame`]s rather than on the call stack, so no input can overflow the stack, whatever
//! the build or the thread. Nesting deeper than [`MAX_DEPTH`] is an error all the same:
//! such input is not a history, and the recursive operations on [`Value`] (printing,
//! equality, dropping) must stay within the stack too.
//!
//! # Errors
//!
//! No input makes the reader panic. Every error names where and what: the position of
//! the offending form (of the form's start, for an unterminated one), what was expected
//! and what was found, quoting at most [`QUOTE_MAX`] characters of the input. In Jepsen's
//! one-op-per-line layout an error abandons the rest of its line and reading resumes on
//! the next, so every bad line is reported; in Knossos's one-vector layout the first
//! error ends the reading, as nothing after it can be trusted.

mod fields;

use super::{column_after, Item, Names, RawOp};
use crate::error::{Diagnostic, InputError};
use crate::intern::Shared;
use crate::value::{Decimal, Elements, Value};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use std::sync::Arc;

/// How deeply forms may nest.
const MAX_DEPTH: usize = 1000;

/// Error messages quote at most this many characters of the input.
const QUOTE_MAX: usize = 40;

const TOKEN: u8 = 0;
const WHITESPACE: u8 = 1;
const DELIMITER: u8 = 2;

/// What each byte is to the reader, as in Clojure's `EdnReader`: whitespace (commas
/// included), a delimiter that ends a token (`"`, `;`, `^`, `\` and the brackets), or
/// part of a token (`#` and `:` are: `a#b` and `a:b` are symbols).
static CLASS: [u8; 256] = {
    let mut class = [TOKEN; 256];
    let whitespace = b" \t\n\r\x0b\x0c,\x1c\x1d\x1e\x1f";
    let mut i = 0;
    while i < whitespace.len() {
        class[whitespace[i] as usize] = WHITESPACE;
        i += 1;
    }
    let delimiters = b"\";^()[]{}\\";
    let mut i = 0;
    while i < delimiters.len() {
        class[delimiters[i] as usize] = DELIMITER;
        i += 1;
    }
    class
};

/// Reads an EDN history: one op per top-level form, or one vector or list of ops. With
/// `shared`, op lines of the usual shape are read on the fast path (see [`fields`]).
pub(super) fn read_ops(src: &[u8], shared: Option<&Shared>, errors: &mut InputError) -> Vec<Item> {
    let mut reader = Reader::new(src);
    let mut ops = Vec::new();
    reader.skip_whitespace();
    if matches!(reader.peek(), Some(b'[' | b'(')) {
        if let Err(e) = reader.read_history_vector(&mut ops) {
            errors.push(reader.fail(e));
        }
        return ops;
    }
    let mut resumed = 0;
    loop {
        let next = reader.skip_blank();
        let at = reader.mark();
        if let (Ok(Some(b'{')), Some(shared)) = (&next, shared) {
            if let Some(fields) = reader.read_fields(shared) {
                ops.push(Item::Fields(fields));
                continue;
            }
        }
        match next.and_then(|next| next.map(|_| reader.read_op()).transpose()) {
            Ok(Some(op)) => ops.push(Item::Raw(op)),
            Ok(None) => break,
            Err(e) => {
                errors.push(reader.fail(e));
                if reader.pos < reader.src.len() || resumed == crate::error::InputError::MAX_DIAGNOSTICS {
                    reader.skip_line();
                } else {
                    // A form left open to the end (a map missing its `}` swallows the
                    // lines after it): read on from the next line that starts with `{`,
                    // as Jepsen's op lines do, so that the ops after it are read and
                    // checked too. A few times only: each goes to the end again.
                    resumed += 1;
                    (reader.pos, reader.line, reader.line_start) = (at.pos, at.line, at.line_start);
                    reader.skip_line();
                    while reader.peek().is_some_and(|b| b != b'{') {
                        reader.skip_line();
                    }
                }
            }
        }
    }
    ops
}

/// Where a form starts: cheap to take, and turned into a column only when needed.
#[derive(Clone, Copy, Debug)]
struct Mark {
    pos: usize,
    line: u32,
    line_start: usize,
}

/// A read error: where, and what. Boxed, to keep `Result<Value, Error>` as small as a
/// `Value` on the hot path.
struct Error(Box<(Mark, String)>);

type Result<T, E = Error> = std::result::Result<T, E>;

fn error(at: Mark, message: impl Into<String>) -> Error {
    Error(Box::new((at, message.into())))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coll {
    List,
    Vector,
    Map,
    Set,
}

impl Coll {
    fn close(self) -> u8 {
        match self {
            Coll::List => b')',
            Coll::Vector => b']',
            Coll::Map | Coll::Set => b'}',
        }
    }

    fn name(self) -> &'static str {
        match self {
            Coll::List => "list",
            Coll::Vector => "vector",
            Coll::Map => "map",
            Coll::Set => "set",
        }
    }
}

/// A form waiting for the forms inside it.
enum Frame {
    /// A collection. Its items so far are on the reader's `items` from offset `items` on,
    /// except a map's: its entries are on `entries` from offset `entries` on, and only a
    /// key waiting for its value is on `items`.
    Coll { coll: Coll, open: Mark, items: usize, entries: usize },
    /// A tag, waiting for its value, which starts at or after this offset.
    Tag(Arc<str>, usize),
    /// `#_`, waiting for the form it drops.
    Discard,
    /// `^`, waiting for the metadata (dropped: values carry none), then for its value.
    Meta { has_metadata: bool },
}

/// A reader over the bytes of one input.
pub(super) struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    names: Names,
    frames: Vec<Frame>,
    /// The items of the open collections, and the entries of the open maps, innermost
    /// last: each collection takes its own off the top when it closes, in one exact-size
    /// allocation.
    items: Vec<Value>,
    entries: Vec<(Value, Value)>,
    /// The last column computed, as (offset, column).
    last_column: (usize, u32),
}

impl<'a> Reader<'a> {
    pub(super) fn new(src: &'a [u8]) -> Reader<'a> {
        Reader {
            src,
            pos: 0,
            line: 1,
            line_start: 0,
            names: Names::default(),
            frames: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            last_column: (0, 1),
        }
    }

    /// Reads the one value in `src[start..end]`, where `start` is on line `line`, which
    /// begins at offset `line_start`. Nothing but blanks may follow the value.
    pub(super) fn read_exactly_one(
        &mut self,
        start: usize,
        end: usize,
        line: u32,
        line_start: usize,
    ) -> Result<Value, Diagnostic> {
        let src = self.src;
        self.src = &src[..end];
        (self.pos, self.line, self.line_start) = (start, line, line_start);
        let value = self.read_value().and_then(|value| match self.skip_blank()? {
            None => Ok(value),
            Some(_) => {
                Err(error(self.mark(), format!("expected one value, found {} after it", self.found())))
            }
        });
        let value = value.map_err(|e| self.fail(e));
        self.src = src;
        value
    }

    /// Reads the first value in `src[start..end]` (as [`Reader::read_exactly_one`]),
    /// and where it ends.
    pub(super) fn read_first(
        &mut self,
        start: usize,
        end: usize,
        line: u32,
        line_start: usize,
    ) -> Result<(Value, usize), Diagnostic> {
        let src = self.src;
        self.src = &src[..end];
        (self.pos, self.line, self.line_start) = (start, line, line_start);
        let value = self.read_value().map(|value| (value, self.pos)).map_err(|e| self.fail(e));
        self.src = src;
        value
    }

    fn read_history_vector(&mut self, ops: &mut Vec<Item>) -> Result<()> {
        let open = self.mark();
        let coll = if self.peek() == Some(b'[') { Coll::Vector } else { Coll::List };
        self.pos += 1;
        loop {
            match self.skip_blank()? {
                Some(b) if b == coll.close() => break,
                Some(b')' | b']' | b'}') => return Err(self.mismatched(open, coll)),
                None => return Err(unterminated(open, coll)),
                Some(_) => ops.push(Item::Raw(self.read_op()?)),
            }
        }
        self.pos += 1;
        match self.skip_blank()? {
            None => Ok(()),
            Some(_) => Err(error(
                self.mark(),
                format!(
                    "expected the end of the input after the closing `{}` of the history, found {}",
                    char::from(coll.close()),
                    self.found()
                ),
            )),
        }
    }

    /// Reads the op that starts here.
    fn read_op(&mut self) -> Result<RawOp> {
        let at = self.mark();
        let value = self.read_value()?;
        Ok(RawOp { value, line: at.line, column: self.column(at), span: at.pos..self.pos })
    }

    /// Turns an error into a diagnostic, abandoning the forms that were being read.
    fn fail(&mut self, e: Error) -> Diagnostic {
        self.frames.clear();
        self.items.clear();
        self.entries.clear();
        let (at, message) = *e.0;
        Diagnostic::new(at.line, self.column(at), message)
    }

    fn mark(&self) -> Mark {
        Mark { pos: self.pos, line: self.line, line_start: self.line_start }
    }

    /// The mark of `pos`, which lies after `from`: for errors inside a string or token.
    fn mark_at(&self, from: Mark, pos: usize) -> Mark {
        let mut mark = Mark { pos, ..from };
        for (i, &b) in self.src[from.pos..pos].iter().enumerate() {
            if b == b'\n' {
                mark.line = mark.line.saturating_add(1);
                mark.line_start = from.pos + i + 1;
            }
        }
        mark
    }

    /// The column of `at`, in characters.
    fn column(&mut self, at: Mark) -> u32 {
        let (from, column) = match self.last_column {
            // The last column computed is earlier on the same line: count on from it.
            (pos, column) if (at.line_start..=at.pos).contains(&pos) => (pos, column),
            _ => (at.line_start, 1),
        };
        let column = column.saturating_add(column_after(&self.src[from..at.pos]) - 1);
        self.last_column = (at.pos, column);
        column
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn newline(&mut self, at: usize) {
        self.line = self.line.saturating_add(1);
        self.line_start = at + 1;
    }

    /// Skips whitespace and `;` comments.
    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.src.get(self.pos) {
            match b {
                b'\n' => self.newline(self.pos),
                b';' => {
                    // The newline that ends the comment is whitespace, counted above.
                    let rest = &self.src[self.pos..];
                    self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                    continue;
                }
                _ if CLASS[b as usize] == WHITESPACE => {}
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// Skips whitespace, comments and `#_` discarded forms, and returns the next byte:
    /// where an op starts, it starts after those.
    fn skip_blank(&mut self) -> Result<Option<u8>> {
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b'#') && self.src.get(self.pos + 1) == Some(&b'_') {
                self.pos += 2;
                self.read_value()?;
            } else {
                return Ok(self.peek());
            }
        }
    }

    /// Skips the rest of the line, to resume reading after an error.
    fn skip_line(&mut self) {
        match self.src[self.pos..].iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                self.newline(self.pos - 1);
            }
            None => self.pos = self.src.len(),
        }
    }

    /// What is at the current position, for "found …" in messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the input".into(),
            Some(b) if CLASS[b as usize] == DELIMITER => format!("`{}`", char::from(b)),
            Some(_) => format!("`{}`", quote(&self.src[self.pos..token_end(self.src, self.pos)])),
        }
    }

    /// `src[from..to]` as text, which must be UTF-8.
    fn text(&self, start: Mark, from: usize, to: usize) -> Result<&'a str> {
        let src = self.src;
        std::str::from_utf8(&src[from..to])
            .map_err(|e| error(self.mark_at(start, from + e.valid_up_to()), "invalid UTF-8"))
    }

    /// Reads one form, skipping whitespace, comments and discarded forms before it.
    fn read_value(&mut self) -> Result<Value> {
        let base = self.frames.len();
        loop {
            self.skip_whitespace();
            let start = self.mark();
            let Some(b) = self.peek() else {
                return Err(self.unexpected_end(base));
            };
            let value = match b {
                b'(' => self.open(start, 1, self.coll(Coll::List, start))?,
                b'[' => self.open(start, 1, self.coll(Coll::Vector, start))?,
                b'{' => self.open(start, 1, self.coll(Coll::Map, start))?,
                b')' | b']' | b'}' => Some(self.close(start, base)?),
                b'"' => Some(self.read_string(start)?),
                b':' => Some(self.read_keyword(start)?),
                b'\\' => Some(self.read_char(start)?),
                b'^' => self.open(start, 1, Frame::Meta { has_metadata: false })?,
                b'#' => self.read_dispatch(start)?,
                _ => Some(self.read_token(start)?),
            };
            if let Some(value) = value.and_then(|value| self.deliver(value, base)) {
                return Ok(value);
            }
        }
    }

    fn coll(&self, coll: Coll, open: Mark) -> Frame {
        Frame::Coll { coll, open, items: self.items.len(), entries: self.entries.len() }
    }

    /// Hands a finished value to the frame waiting for it, and on up through the frames
    /// it finishes in turn; the value itself if no frame above `base` waits for it.
    fn deliver(&mut self, mut value: Value, base: usize) -> Option<Value> {
        while self.frames.len() > base {
            match self.frames.last_mut() {
                Some(&mut Frame::Coll { coll, items, .. }) => {
                    if coll == Coll::Map && self.items.len() > items {
                        // The value of the key waiting on `items`.
                        if let Some(key) = self.items.pop() {
                            self.entries.push((key, value));
                        }
                    } else {
                        self.items.push(value);
                    }
                    return None;
                }
                Some(Frame::Meta { has_metadata: has @ false }) => {
                    *has = true;
                    return None;
                }
                _ => {}
            }
            match self.frames.pop() {
                Some(Frame::Tag(tag, from)) => value = tagged(tag, value, &self.src[from..self.pos]),
                Some(Frame::Discard) => return None,
                // The value that metadata was for passes on up.
                _ => {}
            }
        }
        Some(value)
    }

    /// Steps over the `len` bytes that open `frame` (if not stepped over already), unless
    /// that nests too deep. Nothing is finished yet, so there is no value.
    fn open(&mut self, at: Mark, len: usize, frame: Frame) -> Result<Option<Value>> {
        if self.frames.len() >= MAX_DEPTH {
            return Err(error(at, format!("forms nested more than {MAX_DEPTH} deep")));
        }
        self.frames.push(frame);
        self.pos += len;
        Ok(None)
    }

    /// Closes the innermost collection with the delimiter at `at`.
    fn close(&mut self, at: Mark, base: usize) -> Result<Value> {
        let (coll, open, items, entries) = match self.frames.last() {
            Some(&Frame::Coll { coll, open, items, entries }) if self.frames.len() > base => {
                (coll, open, items, entries)
            }
            _ => return Err(error(at, format!("expected a value, found {}", self.found()))),
        };
        if self.peek() != Some(coll.close()) {
            return Err(self.mismatched(open, coll));
        }
        self.frames.pop();
        self.pos += 1;
        Ok(match coll {
            Coll::List => Value::List(self.items.drain(items..).collect()),
            Coll::Vector => Value::Vector(self.items.drain(items..).collect()),
            Coll::Set => {
                let items = Elements::from(self.items.drain(items..).collect::<Vec<_>>());
                // (Packed integers are distinct.)
                if let Some(item) = items.held().err().and_then(|values| first_duplicate(values.iter())) {
                    let item = item.to_edn_short(QUOTE_MAX);
                    return Err(error(open, format!("set has duplicate element `{item}`")));
                }
                Value::Set(items)
            }
            Coll::Map => {
                if self.items.len() > items {
                    return Err(error(open, "map has an odd number of forms: a key without a value"));
                }
                let entries: Vec<_> = self.entries.drain(entries..).collect();
                if let Some(key) = first_duplicate(entries.iter().map(|(key, _)| key)) {
                    let key = key.to_edn_short(QUOTE_MAX);
                    return Err(error(open, format!("map has duplicate key `{key}`")));
                }
                Value::Map(entries)
            }
        })
    }

    fn mismatched(&mut self, open: Mark, coll: Coll) -> Error {
        let column = self.column(open);
        let message = format!(
            "expected `{}` to close the {} at line {} column {column}, found {}",
            char::from(coll.close()),
            coll.name(),
            open.line,
            self.found()
        );
        error(self.mark(), message)
    }

    /// The error for the end of the input where a form was expected: the innermost
    /// unterminated collection, if there is one.
    fn unexpected_end(&self, base: usize) -> Error {
        let innermost = self.frames[base..].iter().rev().find_map(|frame| match frame {
            Frame::Coll { coll, open, .. } => Some((*coll, *open)),
            _ => None,
        });
        match innermost {
            Some((coll, open)) => unterminated(open, coll),
            None => error(self.mark(), "expected a value, found the end of the input"),
        }
    }

    fn read_string(&mut self, start: Mark) -> Result<Value> {
        let body = start.pos + 1;
        let mut escaped = false;
        let mut i = body;
        loop {
            match self.src.get(i) {
                None => {
                    self.pos = self.src.len();
                    return Err(error(start, "unterminated string: the input ends before its closing `\"`"));
                }
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 1;
                    if self.src.get(i) == Some(&b'\n') {
                        self.newline(i);
                    }
                }
                Some(b'\n') => self.newline(i),
                Some(_) => {}
            }
            i += 1;
        }
        self.pos = i + 1;
        let text = self.text(start, body, i)?;
        if !escaped {
            return Ok(Value::String(text.into()));
        }
        unescape(text)
            .map(|s| Value::String(s.into()))
            .map_err(|(offset, message)| error(self.mark_at(start, body + offset), message))
    }

    fn read_keyword(&mut self, start: Mark) -> Result<Value> {
        self.pos = token_end(self.src, start.pos + 1);
        Ok(Value::Keyword(self.name(start, start.pos + 1)?))
    }

    /// The shared copy of the name `src[from..self.pos]` of a keyword (`:` before it), tag
    /// (`#`) or symbol (nothing), checked the first time it is seen: every name in
    /// `names` has been checked.
    fn name(&mut self, start: Mark, from: usize) -> Result<Arc<str>> {
        if let Some(name) = self.names.find(&self.src[from..self.pos]) {
            return Ok(name);
        }
        let name = self.text(start, from, self.pos)?;
        let sigil = &self.src[start.pos..from];
        check_name(name, sigil == b":").map_err(|problem| {
            let what = match sigil {
                b":" => "keyword",
                b"#" => "tag",
                _ => "symbol",
            };
            error(start, format!("invalid {what} `{}{}`: {problem}", quote(sigil), quote(name.as_bytes())))
        })?;
        Ok(self.names.get(name))
    }

    /// Reads a token: a number, `nil`, `true`, `false` or a symbol.
    fn read_token(&mut self, start: Mark) -> Result<Value> {
        let src = self.src;
        self.pos = token_end(src, start.pos);
        let token = &src[start.pos..self.pos];
        if let [b'0'..=b'9', ..] | [b'+' | b'-', b'0'..=b'9', ..] = token {
            if token.len() > MAX_NUMBER_LEN {
                return Err(error(start, too_long(token.len())));
            }
            return parse_number(token)
                .ok_or_else(|| error(start, format!("invalid number `{}`", quote(token))));
        }
        Ok(match token {
            b"nil" => Value::Nil,
            b"true" => Value::Bool(true),
            b"false" => Value::Bool(false),
            _ => Value::Symbol(self.name(start, start.pos)?),
        })
    }

    /// Reads a character literal: `\` and the next character, whatever it is (`\(` and
    /// `\;` are characters), then the rest of the token (`\newline`, `\u00e9`).
    fn read_char(&mut self, start: Mark) -> Result<Value> {
        let from = start.pos + 1;
        match self.src.get(from) {
            None => {
                self.pos = from;
                return Err(error(start, "expected a character after `\\`, found the end of the input"));
            }
            Some(b'\n') => self.newline(from),
            Some(_) => {}
        }
        self.pos = token_end(self.src, from + 1);
        let name = self.text(start, from, self.pos)?;
        char_named(name)
            .map(Value::Char)
            .ok_or_else(|| error(start, format!("unsupported character `\\{}`", quote(name.as_bytes()))))
    }

    /// Reads what follows `#`: a set, a symbolic value, a discard, metadata or a tag.
    fn read_dispatch(&mut self, start: Mark) -> Result<Option<Value>> {
        let src = self.src;
        match src.get(start.pos + 1) {
            Some(b'{') => self.open(start, 2, self.coll(Coll::Set, start)),
            Some(b'_') => self.open(start, 2, Frame::Discard),
            Some(b'^') => self.open(start, 2, Frame::Meta { has_metadata: false }),
            Some(b'#') => {
                self.pos = token_end(src, start.pos + 2);
                match &src[start.pos + 2..self.pos] {
                    b"Inf" => Ok(Some(Value::Float(f64::INFINITY))),
                    b"-Inf" => Ok(Some(Value::Float(f64::NEG_INFINITY))),
                    b"NaN" => Ok(Some(Value::Float(f64::NAN))),
                    other => Err(error(
                        start,
                        format!(
                            "unknown symbolic value `##{}` (expected ##Inf, ##-Inf or ##NaN)",
                            quote(other)
                        ),
                    )),
                }
            }
            Some(b) if b.is_ascii_alphabetic() => {
                self.pos = token_end(self.src, start.pos + 1);
                let tag = self.name(start, start.pos + 1)?;
                if tag.contains('.') && self.peek() == Some(b'{') {
                    // `#jepsen.history.Op{…}` is how Jepsen prints an op: the op is the map.
                    return Ok(None);
                }
                self.open(start, 0, Frame::Tag(tag, self.pos))
            }
            Some(b':') => Err(error(start, "namespaced maps (`#:ns{…}`) are not supported")),
            Some(_) => {
                self.pos += 1;
                Err(error(
                    start,
                    format!("expected `#{{`, `#_`, `##` or a tag after `#`, found {}", self.found()),
                ))
            }
            None => {
                Err(error(start, "expected `#{`, `#_`, `##` or a tag after `#`, found the end of the input"))
            }
        }
    }
}

/// A tagged value, read from `text`. `#object[…]` is how Clojure prints an object it
/// cannot print readably (`#object[java.lang.Object 0x1c2c22f3 "java.lang.Object@1c2c22f3"]`):
/// only its text means anything (the hex identity hash would print in decimal), so it is
/// kept as written, as a symbol.
fn tagged(tag: Arc<str>, value: Value, text: &[u8]) -> Value {
    let value = match &*tag {
        "object" => Value::Symbol(String::from_utf8_lossy(text.trim_ascii()).into()),
        _ => value,
    };
    Value::Tagged(tag, Box::new(value))
}

/// Where the token starting at `from` ends.
fn token_end(src: &[u8], from: usize) -> usize {
    let rest = &src[from..];
    from + rest.iter().position(|&b| CLASS[b as usize] != TOKEN).unwrap_or(rest.len())
}

fn unterminated(open: Mark, coll: Coll) -> Error {
    let message = format!(
        "unterminated {}: the input ends before its closing `{}`",
        coll.name(),
        char::from(coll.close())
    );
    error(open, message)
}

/// The first value that equals (by Clojure's `=`) one before it.
pub(super) fn first_duplicate<'v, I>(values: I) -> Option<&'v Value>
where
    I: ExactSizeIterator<Item = &'v Value> + Clone,
{
    // Pairwise for the small maps ops are, with their keyword keys compared inline;
    // hashing pays only for larger ones.
    let same = |a: &Value, b: &Value| match (a, b) {
        (Value::Keyword(a), Value::Keyword(b)) => a == b,
        _ => a == b,
    };
    if values.len() <= 16 {
        return values
            .clone()
            .enumerate()
            .find(|&(i, v)| values.clone().take(i).any(|w| same(w, v)))
            .map(|(_, v)| v);
    }
    let mut seen =
        hashbrown::HashSet::with_capacity_and_hasher(values.len(), foldhash::fast::FixedState::default());
    values.into_iter().find(|v| !seen.insert(*v))
}

/// Checks a symbol, keyword (without its colon) or tag name as Clojure's reader does.
fn check_name(name: &str, keyword: bool) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if keyword && name.starts_with(':') {
        return Err("auto-resolved keywords (`::k`) need a namespace context EDN does not have");
    }
    if name.contains("::") || name.ends_with(':') {
        return Err("`:` may not end a name or appear twice in a row");
    }
    match name.rsplit_once('/') {
        Some(("", _) | (_, "")) if name != "/" => Err("a `/` must separate a namespace and a name"),
        _ => Ok(()),
    }
}

/// Decodes the escapes of a string's text; an error is its offset and message.
fn unescape(text: &str) -> Result<String, (usize, String)> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(n) = bytes[i..].iter().position(|&b| b == b'\\') {
        out.push_str(&text[i..i + n]);
        let at = i + n;
        let (c, len) = unescape_one(&bytes[at + 1..]).map_err(|message| (at, message))?;
        out.push(c);
        i = at + 1 + len;
    }
    out.push_str(&text[i..]);
    Ok(out)
}

/// Decodes one escape, given what follows its `\`: the character and how many bytes it took.
fn unescape_one(after: &[u8]) -> Result<(char, usize), String> {
    let simple = |c| Ok((c, 1));
    match after {
        [b'"', ..] => simple('"'),
        [b'\\', ..] => simple('\\'),
        [b'n', ..] => simple('\n'),
        [b't', ..] => simple('\t'),
        [b'r', ..] => simple('\r'),
        [b'b', ..] => simple('\u{8}'),
        [b'f', ..] => simple('\u{c}'),
        [b'u', rest @ ..] => {
            let unit =
                rest.get(..4).and_then(hex4).ok_or("`\\u` must be followed by 4 hexadecimal digits")?;
            // Clojure strings are UTF-16: a character beyond U+FFFF is a surrogate pair.
            if (0xD800..0xDC00).contains(&unit) {
                if let [b'\\', b'u', low @ ..] = &rest[4..] {
                    if let Some(low @ 0xDC00..=0xDFFF) = low.get(..4).and_then(hex4) {
                        let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        return Ok((char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), 11));
                    }
                }
            }
            char::from_u32(unit).map(|c| (c, 5)).ok_or_else(|| format!("unpaired surrogate `\\u{unit:04X}`"))
        }
        [b'0'..=b'7', ..] => {
            let len = after.iter().take(3).take_while(|b| matches!(b, b'0'..=b'7')).count();
            let code = after[..len].iter().fold(0, |n, &d| n * 8 + u32::from(d - b'0'));
            match char::from_u32(code) {
                Some(c) if code <= 0o377 => Ok((c, len)),
                _ => Err("octal escapes go up to `\\377`".into()),
            }
        }
        _ => {
            let len =
                std::str::from_utf8(after).ok().and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
            Err(format!("unsupported escape `\\{}` in a string", quote(&after[..len.min(after.len())])))
        }
    }
}

/// Exactly four hexadecimal digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    let digits = std::str::from_utf8(digits)
        .ok()
        .filter(|d| d.len() == 4 && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
    u32::from_str_radix(digits, 16).ok()
}

/// The character a character literal (without its `\`) names.
fn char_named(name: &str) -> Option<char> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c);
    }
    match name {
        "newline" => Some('\n'),
        "space" => Some(' '),
        "tab" => Some('\t'),
        "return" => Some('\r'),
        "backspace" => Some('\u{8}'),
        "formfeed" => Some('\u{c}'),
        _ => {
            if let Some(hex) = name.strip_prefix('u') {
                char::from_u32(hex4(hex.as_bytes())?)
            } else {
                let octal = name.strip_prefix('o').filter(|o| (1..=3).contains(&o.len()))?;
                char::from_u32(u32::from_str_radix(octal, 8).ok().filter(|&code| code <= 0o377)?)
            }
        }
    }
}

/// The longest number literal read, in characters. No history needs more (a 64-bit
/// integer has 20 digits), and the big-number arithmetic a literal may need (a
/// ratio's reduction, a decimal's trailing zeros) takes time quadratic in its length:
/// a million digits would take minutes.
pub const MAX_NUMBER_LEN: usize = 1000;

/// The error for a number literal longer than [`MAX_NUMBER_LEN`].
pub(super) fn too_long(len: usize) -> String {
    format!("a number literal of {len} characters: knossos-rs reads numbers of at most {MAX_NUMBER_LEN}")
}

/// Parses a number token as Clojure does: integers (`-5`, `+5`, `5N`, `0x1F`, `2r101`,
/// octal `017`; beyond 64 bits they are big), ratios in lowest terms (`4/2` is 2),
/// floats (`1.5`, `1e10`, `1.`) and decimals (`1.5M`). `None` if it is not a number.
/// JSON numbers are a subset of these, so the JSON reader uses this too.
pub(super) fn parse_number(text: &[u8]) -> Option<Value> {
    let (negative, body) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if !body.first()?.is_ascii_digit() {
        return None;
    }
    let (digits, big) = match body {
        [digits @ .., b'N'] => (digits, true),
        _ => (body, false),
    };
    if digits.iter().all(u8::is_ascii_digit) {
        return match digits {
            // A leading zero means octal, as in Clojure.
            [b'0', octal @ ..] if !octal.is_empty() => integer(negative, octal, 8, big),
            _ => integer(negative, digits, 10, big),
        };
    }
    if let [b'0', b'x' | b'X', hex @ ..] = digits {
        return integer(negative, hex, 16, big);
    }
    // The radix form takes no `N`: in radix 36, `N` is a digit.
    if let Some(r) = body.iter().position(|&b| b == b'r' || b == b'R') {
        let radix = match body[..r] {
            [d @ b'1'..=b'9'] => u32::from(d - b'0'),
            [d @ b'1'..=b'9', e @ b'0'..=b'9'] => u32::from(d - b'0') * 10 + u32::from(e - b'0'),
            _ => return None,
        };
        return (2..=36).contains(&radix).then(|| integer(negative, &body[r + 1..], radix, false)).flatten();
    }
    if big {
        return None;
    }
    if let Some(slash) = body.iter().position(|&b| b == b'/') {
        return ratio(negative, &body[..slash], &body[slash + 1..]);
    }
    float(text, body)
}

/// An integer from its digits in `radix` (2 to 36); `big` asks for a `BigInt` whatever its size.
fn integer(negative: bool, digits: &[u8], radix: u32, big: bool) -> Option<Value> {
    if digits.is_empty() {
        return None;
    }
    let mut magnitude = Some(0u64);
    for &d in digits {
        let d = char::from(d).to_digit(radix)?;
        magnitude = magnitude.and_then(|m| m.checked_mul(radix.into())?.checked_add(d.into()));
    }
    let small =
        magnitude.and_then(|m| if negative { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() });
    match small {
        Some(i) if !big => Some(Value::Int(i)),
        Some(i) => Some(Value::BigInt(Box::new(i.into()))),
        None => {
            let magnitude = BigInt::parse_bytes(digits, radix)?;
            Some(Value::BigInt(Box::new(if negative { -magnitude } else { magnitude })))
        }
    }
}

/// A ratio of decimal digits, in lowest terms; an integer if the denominator divides out.
fn ratio(negative: bool, numerator: &[u8], denominator: &[u8]) -> Option<Value> {
    let parse = |digits: &[u8]| {
        (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .then(|| BigInt::parse_bytes(digits, 10))
            .flatten()
    };
    let (numerator, denominator) = (parse(numerator)?, parse(denominator)?);
    if denominator.is_zero() {
        return None;
    }
    let ratio = BigRational::new(if negative { -numerator } else { numerator }, denominator);
    if !ratio.is_integer() {
        return Some(Value::Ratio(Box::new(ratio)));
    }
    let integer = ratio.to_integer();
    Some(integer.to_i64().map_or_else(|| Value::BigInt(Box::new(integer)), Value::Int))
}

/// A float, `digits[.digits][e[sign]digits]`, or with `M` a decimal; `body` is `text` without its sign.
fn float(text: &[u8], body: &[u8]) -> Option<Value> {
    let (body, decimal) = match body {
        [body @ .., b'M'] => (body, true),
        _ => (body, false),
    };
    let digits = |from: usize| body[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut i = digits(0);
    if body.get(i) == Some(&b'.') {
        i += 1 + digits(i + 1);
    }
    if let Some(b'e' | b'E') = body.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = body.get(i) {
            i += 1;
        }
        let exponent = digits(i);
        if exponent == 0 {
            return None;
        }
        i += exponent;
    }
    if i != body.len() {
        return None;
    }
    let text = std::str::from_utf8(&text[..text.len() - usize::from(decimal)]).ok()?;
    if decimal {
        Decimal::parse(text).map(|d| Value::Decimal(Box::new(d)))
    } else {
        text.parse().ok().map(Value::Float)
    }
}

/// Quotes input in a message: at most [`QUOTE_MAX`] characters, control characters escaped.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4 * QUOTE_MAX)]);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == QUOTE_MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if bytes.len() > 4 * QUOTE_MAX && !out.ends_with('…') {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{parse_edn, read_ops, Format};
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use std::sync::Arc;

    fn read(text: &str) -> Value {
        parse_edn(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn big(digits: &str) -> Value {
        Value::BigInt(Box::new(digits.parse().unwrap()))
    }

    fn kw(name: &str) -> Value {
        Value::keyword(name)
    }

    fn sym(name: &str) -> Value {
        Value::Symbol(name.into())
    }

    fn vector(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Vector(items.into_iter().collect())
    }

    fn history(text: &str) -> Result<Vec<RawOp>, InputError> {
        read_ops(text.as_bytes(), "h.edn", Some(Format::Edn))
    }

    /// Asserts that `text` fails at `line`:`column` with a message containing `fragment`.
    #[track_caller]
    fn fails(text: &str, line: u32, column: u32, fragment: &str) {
        let d = match parse_edn(text) {
            Ok(v) => panic!("{text:?} read as {v:?}"),
            Err(e) => e.diagnostics[0].clone(),
        };
        assert!(d.message.contains(fragment), "{text:?}: {:?} lacks {fragment:?}", d.message);
        assert_eq!((d.line, d.column), (line, column), "{text:?}: {}", d.message);
    }

    #[test]
    fn integers() {
        let cases: &[(&str, Value)] = &[
            ("0", Value::Int(0)),
            ("-0", Value::Int(0)),
            ("42", Value::Int(42)),
            ("+5", Value::Int(5)),
            ("-5", Value::Int(-5)),
            ("9223372036854775807", Value::Int(i64::MAX)),
            ("-9223372036854775808", Value::Int(i64::MIN)),
            ("9223372036854775808", big("9223372036854775808")),
            ("-9223372036854775809", big("-9223372036854775809")),
            ("14586953315945740430000000000", big("14586953315945740430000000000")),
            ("5N", big("5")),
            ("-5N", big("-5")),
            ("0x1F", Value::Int(31)),
            ("-0X1f", Value::Int(-31)),
            ("0x1FN", big("31")),
            ("0xFFFFFFFFFFFFFFFFFF", big("4722366482869645213695")),
            ("2r101", Value::Int(5)),
            ("-2R101", Value::Int(-5)),
            ("36rZZ", Value::Int(1295)),
            ("36rN", Value::Int(23)),
            ("017", Value::Int(15)),
            ("-017", Value::Int(-15)),
            ("00", Value::Int(0)),
            ("017N", big("15")),
        ];
        for (text, value) in cases {
            let read = read(text);
            assert_eq!(&read, value, "{text}");
            assert_eq!(std::mem::discriminant(&read), std::mem::discriminant(value), "{text}: {read:?}");
        }
    }

    #[test]
    fn floats_decimals_and_ratios() {
        let decimal = |text: &str| Value::Decimal(Box::new(Decimal::parse(text).unwrap()));
        let ratio = |n: i64, d: i64| Value::Ratio(Box::new(BigRational::new(n.into(), d.into())));
        let cases: &[(&str, Value)] = &[
            ("1.5", Value::Float(1.5)),
            ("-1.5", Value::Float(-1.5)),
            ("+1.5", Value::Float(1.5)),
            ("1e10", Value::Float(1e10)),
            ("1.5E-3", Value::Float(1.5e-3)),
            ("1e+2", Value::Float(100.0)),
            ("1.", Value::Float(1.0)),
            ("08.5", Value::Float(8.5)),
            ("1e400", Value::Float(f64::INFINITY)),
            ("##Inf", Value::Float(f64::INFINITY)),
            ("##-Inf", Value::Float(f64::NEG_INFINITY)),
            ("1.5M", decimal("1.5")),
            ("1M", decimal("1")),
            ("-1.50M", decimal("-1.5")),
            ("1e3M", decimal("1000")),
            ("1/2", ratio(1, 2)),
            ("-2/4", ratio(-1, 2)),
            ("4/2", Value::Int(2)),
            ("0/5", Value::Int(0)),
            ("36893488147419103232/2", big("18446744073709551616")),
        ];
        for (text, value) in cases {
            let read = read(text);
            assert_eq!(&read, value, "{text}");
            assert_eq!(std::mem::discriminant(&read), std::mem::discriminant(value), "{text}: {read:?}");
        }
        assert!(matches!(read("##NaN"), Value::Float(x) if x.is_nan()));
        assert!(matches!(read("-0.0"), Value::Float(x) if x == 0.0 && x.is_sign_negative()));
        assert_eq!(read("1.50M").to_edn(), "1.50M");
        // A thousand digits are a big integer, not a problem.
        let digits = "7".repeat(MAX_NUMBER_LEN);
        assert_eq!(read(&digits), big(&digits));
    }

    #[test]
    fn numbers_past_the_longest_are_refused_where_they_are() {
        // A million digits would take minutes to reduce as a ratio or strip of zeros
        // as a decimal: each form is refused at once, with its line and column.
        let long = "7".repeat(1_000_000);
        for literal in
            [long.clone(), format!("{long}/3"), format!("1.{}M", "0".repeat(1_000_000)), format!("-{long}N")]
        {
            fails(
                &format!("[1\n {literal}]"),
                2,
                2,
                &format!("a number literal of {} characters", literal.len()),
            );
        }
        let edge = "7".repeat(MAX_NUMBER_LEN - 2) + "/3";
        assert!(parse_edn(&edge).is_ok());
    }

    #[test]
    fn invalid_numbers() {
        for text in [
            "09", "1a", "0x", "0xG", "1/0", "1/-2", "1.5N", "37r1", "1r1", "2r102", "1e", "1.2.3", "1e5e5",
            "1.5MM", "-5x",
        ] {
            fails(text, 1, 1, &format!("invalid number `{text}`"));
        }
    }

    #[test]
    fn strings() {
        let cases = [
            (r#""""#, ""),
            (r#""plain""#, "plain"),
            (r#""q\"b\\n\nt\tr\rb\bf\f""#, "q\"b\\n\nt\tr\rb\u{8}f\u{c}"),
            (r#""\u00e9\u20AC""#, "é€"),
            (r#""\uD83D\uDE00""#, "😀"),
            (r#""\101\0\7\377""#, "A\0\u{7}\u{ff}"),
            (r#""\1234""#, "S4"),
            ("\"two\nlines\"", "two\nlines"),
            ("\"é😀\"", "é😀"),
        ];
        for (text, s) in cases {
            assert_eq!(read(text), Value::string(s), "{text}");
        }
        let huge = format!("\"{}\"", "x".repeat(10 << 20));
        assert!(matches!(read(&huge), Value::String(s) if s.len() == 10 << 20));
    }

    #[test]
    fn string_errors() {
        fails(r#""ab\q""#, 1, 4, "unsupported escape `\\q`");
        fails(r#""\u12""#, 1, 2, "4 hexadecimal digits");
        fails(r#""\uD800x""#, 1, 2, "unpaired surrogate");
        fails(r#""\400""#, 1, 2, "up to `\\377`");
        fails("\n  \"a\nb\\x\"", 3, 2, "unsupported escape");
        fails("[1\n   \"abc", 2, 4, "unterminated string");
    }

    #[test]
    fn characters() {
        let cases = [
            ("\\a", 'a'),
            ("\\(", '('),
            ("\\;", ';'),
            ("\\\\", '\\'),
            ("\\é", 'é'),
            ("\\newline", '\n'),
            ("\\space", ' '),
            ("\\tab", '\t'),
            ("\\return", '\r'),
            ("\\backspace", '\u{8}'),
            ("\\formfeed", '\u{c}'),
            ("\\u0041", 'A'),
            ("\\u20ac", '€'),
            ("\\o101", 'A'),
            ("\\o7", '\u{7}'),
            ("\\u", 'u'),
            ("\\o", 'o'),
        ];
        for (text, c) in cases {
            assert_eq!(read(text), Value::Char(c), "{text}");
        }
        assert_eq!(read("[\\a \\b]"), vector([Value::Char('a'), Value::Char('b')]));
        assert_eq!(read("(\\a)"), Value::List(vec![Value::Char('a')]));
        fails("\\abc", 1, 1, "unsupported character `\\abc`");
        fails("\\uD800", 1, 1, "unsupported character");
        fails("\\o400", 1, 1, "unsupported character");
        fails(" \\", 1, 2, "expected a character after `\\`");
    }

    #[test]
    fn keywords_and_symbols() {
        assert_eq!(read(":a"), kw("a"));
        assert_eq!(read(":ns/a"), kw("ns/a"));
        assert_eq!(read(":a.b/c?"), kw("a.b/c?"));
        assert_eq!(read(":5"), kw("5"));
        assert_eq!(read("nil"), Value::Nil);
        assert_eq!(read("true"), Value::Bool(true));
        assert_eq!(read("false"), Value::Bool(false));
        for name in ["foo", "a/b", "/", "+", "-", "->>", "a#b", "a:b", "nil?", "é", ".5", "-a"] {
            assert_eq!(read(name), sym(name), "{name}");
        }
        fails(":", 1, 1, "invalid keyword");
        fails("::a", 1, 1, "auto-resolved");
        fails(":a:", 1, 1, "invalid keyword `:a:`");
        fails(":a::b", 1, 1, "invalid keyword");
        fails("a/", 1, 1, "invalid symbol `a/`");
        fails(" /a", 1, 2, "invalid symbol");
    }

    #[test]
    fn keywords_share_one_allocation() {
        let ops = history("{:process 1}\n{:process 2}\n").unwrap();
        let key = |op: &RawOp| match &op.value {
            Value::Map(entries) => match &entries[0].0 {
                Value::Keyword(k) => k.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert!(Arc::ptr_eq(&key(&ops[0]), &key(&ops[1])));
    }

    #[test]
    fn collections() {
        assert_eq!(read("[]"), vector([]));
        assert_eq!(read("[1 [2 (3)] #{4}]").to_edn(), "[1 [2 (3)] #{4}]");
        assert_eq!(read("{}"), Value::Map(vec![]));
        assert_eq!(read("#{}"), Value::Set(vec![].into()));
        // Maps keep the order they were read in; commas are whitespace.
        let map = read("{:b 1,, :a 2,}");
        assert_eq!(map.to_edn(), "{:b 1, :a 2}");
        assert_eq!(read("{[1 2] {:x nil}}").to_edn(), "{[1 2] {:x nil}}");
        fails("{:a}", 1, 1, "odd number of forms");
        fails("[1\n {:a 1 :b}]", 2, 2, "odd number of forms");
        fails("{:a 1 :a 2}", 1, 1, "duplicate key `:a`");
        fails("{1 :x 1N :y}", 1, 1, "duplicate key");
        fails("#{1 2 1}", 1, 1, "duplicate element `1`");
        let many: String = (0..100).chain([7]).map(|i| format!(" {i}")).collect();
        fails(&format!("#{{{many}}}"), 1, 1, "duplicate element `7`");
        let pairs: String = (0..100).chain([7]).map(|i| format!(" {i} {i}")).collect();
        fails(&format!("{{{pairs}}}"), 1, 1, "duplicate key `7`");
        fails(&format!("{{{pairs} 0}}"), 1, 1, "odd number");
    }

    #[test]
    fn tags_and_records() {
        let tagged = |tag: &str, v: Value| Value::Tagged(tag.into(), Box::new(v));
        assert_eq!(
            read(r#"#inst "2020-01-01T00:00:00Z""#),
            tagged("inst", Value::string("2020-01-01T00:00:00Z"))
        );
        assert_eq!(
            read(r#"#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6""#).to_edn(),
            r#"#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6""#
        );
        assert_eq!(read("#foo.bar/baz [1]"), tagged("foo.bar/baz", vector([Value::Int(1)])));
        // An object Clojure could not print readably is kept as written, hex and all.
        let object = r#"#object[java.lang.Object 0x1c2c22f3 "java.lang.Object@1c2c22f3"]"#;
        assert_eq!(read(object), tagged("object", sym(&object[7..])));
        assert_eq!(read(object).to_edn(), object);
        assert_eq!(read("[#object [a 0x10] 2]").to_edn(), "[#object[a 0x10] 2]");
        assert_eq!(read("{:a #object[a 0x10]}").get("a"), Some(&tagged("object", sym("[a 0x10]"))));
        assert_eq!(read("#a #b 1"), tagged("a", tagged("b", Value::Int(1))));
        // A record literal is the map inside; a space makes it a tagged map again.
        let op = read("#jepsen.history.Op{:index 0, :type :invoke}");
        assert_eq!(op, Value::kw_map([("index", Value::Int(0)), ("type", kw("invoke"))]));
        assert!(matches!(read("#jepsen.history.Op {:index 0}"), Value::Tagged(..)));
        assert!(matches!(read("#op{:index 0}"), Value::Tagged(..)));
        fails("##Foo", 1, 1, "unknown symbolic value `##Foo`");
        fails("#:ns{:a 1}", 1, 1, "namespaced maps");
        fails("[#<Object>]", 1, 2, "expected `#{`, `#_`, `##` or a tag after `#`, found `<Object>`");
        fails("#", 1, 1, "found the end of the input");
        fails("#inst", 1, 6, "expected a value, found the end of the input");
        fails("#a/ 1", 1, 1, "invalid tag");
    }

    #[test]
    fn discards_comments_and_metadata() {
        assert_eq!(read("#_1 2"), Value::Int(2));
        assert_eq!(read("#_ #_ 1 2 3"), Value::Int(3));
        assert_eq!(read("[1 #_2 3 #_[4 5]]"), vector([Value::Int(1), Value::Int(3)]));
        assert_eq!(read("{:a #_:b 1}"), Value::kw_map([("a", Value::Int(1))]));
        assert_eq!(read("; comment\n[1 ; two\n 3] ; end"), vector([Value::Int(1), Value::Int(3)]));
        assert_eq!(read("^:meta [1]"), vector([Value::Int(1)]));
        assert_eq!(read("^{:a 1} #^String x"), sym("x"));
        fails("[1 #_]", 1, 6, "expected a value, found `]`");
        fails("#_", 1, 3, "expected a value, found the end of the input");
    }

    #[test]
    fn mismatched_and_unterminated() {
        fails("}", 1, 1, "expected a value, found `}`");
        fails("[1 2}", 1, 5, "expected `]` to close the vector at line 1 column 1, found `}`");
        fails("(\n é (1]", 2, 6, "expected `)` to close the list at line 2 column 4");
        fails("\n  {:a 1\n :b 2", 2, 3, "unterminated map");
        fails("#{1", 1, 1, "unterminated set");
        fails("[[1]", 1, 1, "unterminated vector");
        fails("1 2", 1, 3, "expected one value, found `2` after it");
        fails("", 1, 1, "expected a value, found the end of the input");
    }

    #[test]
    fn nesting_limit() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let deep = read(&nested(MAX_DEPTH));
        assert!(matches!(deep, Value::Vector(_)));
        fails(&nested(MAX_DEPTH + 1), 1, 1001, "nested more than 1000 deep");
        fails(&"[".repeat(100_000), 1, 1001, "nested more than 1000 deep");
        fails(&"#_".repeat(100_000), 1, 2001, "nested more than 1000 deep");
        fails(&"#a ".repeat(100_000), 1, 3001, "nested more than 1000 deep");
        let err = history(&"{:a ".repeat(100_000)).unwrap_err();
        assert_eq!(err.diagnostics[0].column, 4001);
    }

    #[test]
    fn invalid_utf8() {
        let err = read_ops(b"{:a 1}\n{:b \"x\xff\"}\n{:c \xc3(}\n{:\xe2\x82 1}", "h.edn", None).unwrap_err();
        let found: Vec<_> = err.diagnostics.iter().map(|d| (d.line, d.column, d.message.as_str())).collect();
        assert_eq!(found, [(2, 7, "invalid UTF-8"), (3, 5, "invalid UTF-8"), (4, 3, "invalid UTF-8")]);
        let err = read_ops(b"{:a \"\xc3\xa9\n\xe2\x82\xac\xe2\x82\xac\xff\"}", "h", None).unwrap_err();
        assert_eq!((err.diagnostics[0].line, err.diagnostics[0].column), (2, 3));
    }

    #[test]
    fn one_op_per_line() {
        let ops = history(
            "{:index 0, :time 123, :type :invoke, :process 3, :f :write, :value 4}\n\
             ;; a comment line\n\
             \u{20ac}\u{20ac} #_ {:discarded true} {:index 1} {:index 2}\n\
             #jepsen.history.Op{:index 3}\n",
        );
        // (A symbol `€€` stood where an op should: the history module will say so.)
        let at: Vec<_> = ops.unwrap().iter().map(|op| (op.line, op.column, op.value.to_edn())).collect();
        assert_eq!(
            at,
            [
                (1, 1, "{:index 0, :time 123, :type :invoke, :process 3, :f :write, :value 4}".to_string()),
                (3, 1, "€€".into()),
                (3, 25, "{:index 1}".into()),
                (3, 36, "{:index 2}".into()),
                (4, 1, "{:index 3}".into()),
            ]
        );
    }

    #[test]
    fn one_vector_of_ops() {
        let text = "; Knossos data/ files\n[{:process 0, :type :invoke}\n ; pending\n {:process 0, :type :ok} #_{:x 1}\n  {:process 1}]\n; done\n";
        let ops = history(text).unwrap();
        let at: Vec<_> = ops.iter().map(|op| (op.line, op.column)).collect();
        assert_eq!(at, [(2, 2), (4, 2), (5, 3)]);
        assert_eq!(ops[1].value, Value::kw_map([("process", Value::Int(0)), ("type", kw("ok"))]));
        let ops = history("({:a 1} {:a 2})").unwrap();
        assert_eq!(ops.len(), 2);
        assert!(history("[]").unwrap().is_empty());
        assert!(history("").unwrap().is_empty());
        assert!(history(" ; nothing\n").unwrap().is_empty());
        // A long single line: columns stay right (and cost linear time).
        let line: String = (0..20_000).map(|i| format!("{{:i {i}}} ")).collect();
        let ops = history(&format!("[{line}]")).unwrap();
        let expected = 2 + (0..19_999).map(|k: u32| 6 + k.to_string().len() as u32).sum::<u32>();
        assert_eq!(ops[19_999].column, expected);
    }

    #[test]
    fn vector_layout_errors() {
        let err = history("[{:a 1}\n {:b }]").unwrap_err();
        assert_eq!(err.diagnostics.len(), 1);
        assert_eq!((err.diagnostics[0].line, err.diagnostics[0].column), (2, 2));
        let err = history("[{:a 1}]\n{:b 2}").unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!((d.line, d.column), (2, 1));
        assert!(d
            .message
            .contains("expected the end of the input after the closing `]` of the history, found `{`"));
        let err = history("[{:a 1}\n").unwrap_err();
        assert!(err.diagnostics[0].message.contains("unterminated vector"));
    }

    #[test]
    fn every_bad_line_is_reported() {
        let text = "{:a 1}\n{:a 09}\n{:a 2}\n{:a 1 :a 2}\n}\n{:a \"x\\q\"} {:b 1}\n{:a 3}\n{:a";
        let err = history(text).unwrap_err();
        let found: Vec<_> = err.diagnostics.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(found, [(2, 5), (4, 1), (5, 1), (6, 7), (8, 1)]);
        assert!(err.diagnostics[4].message.contains("unterminated map"));
        // The cap: the first 20 problems are kept, the rest counted.
        let err = history(&"{:a 09}\n".repeat(30)).unwrap_err();
        assert_eq!((err.diagnostics.len(), err.more), (20, 10));
    }

    #[test]
    fn messages_quote_little() {
        let long = "x".repeat(1000);
        let message = |text: &str| parse_edn(text).unwrap_err().diagnostics[0].message.clone();
        let m = message(&format!("1{long}"));
        assert!(m.chars().count() < 100, "{m}");
        let m = message(&format!("[1 2] {long}"));
        assert!(m.chars().count() < 100, "{m}");
        let m = message("\"\\\u{1}\"");
        assert!(m.contains("\\u{1}"), "{m}");
    }

    #[test]
    fn no_input_panics() {
        let mut rng = StdRng::seed_from_u64(7);
        let valid = "[{:index 0, :time 123, :type :invoke, :process 3, :f :cas, :value [1 2]}\n \
                     {:type :ok, :f :read, :value #{1 2N 3.5 -7/3 1.5M}, :s \"a\\n\\u00e9\\\"\", :c \\newline}\n \
                     #_ {:x ##Inf} #jepsen.history.Op{:index 1, :error [:timeout #inst \"2020\"]}\n \
                     ; comment\n ({:process :nemesis, :f :start, :value nil} 0x1F 2r101 017 ^:m sym)]\n";
        let alphabet = b"[](){}#_:;\\\"^,. \n0123456789+-eENMrx/abcu\xc3\xa9\xff";
        for round in 0..4000 {
            let bytes: Vec<u8> = match round % 4 {
                0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
                1 => (0..rng.random_range(0..64))
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect(),
                2 => valid.as_bytes()[..rng.random_range(0..=valid.len())].to_vec(),
                _ => {
                    let mut bytes = valid.as_bytes().to_vec();
                    for _ in 0..rng.random_range(1..4) {
                        let i = rng.random_range(0..bytes.len());
                        match rng.random_range(0..3) {
                            0 => bytes[i] = alphabet[rng.random_range(0..alphabet.len())],
                            1 => {
                                bytes.remove(i);
                            }
                            _ => bytes.insert(i, rng.random()),
                        }
                    }
                    bytes
                }
            };
            let _ = read_ops(&bytes, "fuzz", Some(Format::Edn));
            // The ops as lines, on the fast path: the same errors as without it.
            let lines = bytes.strip_prefix(b"[").unwrap_or(&bytes);
            let (mut fast, mut full) = (InputError::new("fuzz", vec![]), InputError::new("fuzz", vec![]));
            super::read_ops(lines, Some(&Shared::default()), &mut fast);
            super::read_ops(lines, None, &mut full);
            assert_eq!(fast, full, "{:?}", String::from_utf8_lossy(lines));
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = parse_edn(text);
            }
        }
    }
}
