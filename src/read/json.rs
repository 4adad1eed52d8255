//! JSON histories: one object per line (JSON Lines), or one array of objects.
//!
//! A reader of its own, building EDN values directly, the way a Jepsen user would
//! read them: object keys become keywords, and in an op the strings of `"type"` and
//! `"f"` stand for keywords (`"invoke"` is `:invoke`), as does a process named
//! `"nemesis"`; every other string stays a string. Numbers keep every digit (the EDN
//! reader's number parser reads their text): integers that fit are `Int`, larger
//! ones `BigInt`, the rest `Float`. Keys keep their order, and a key repeated in an
//! object is an error, as in EDN.
//!
//! Why not serde_json: reading numbers exactly and keeping key order through it takes
//! its `arbitrary_precision` and `preserve_order` features, which Cargo would turn on
//! for every crate that depends on this one, changing how their own JSON is read; and
//! going through its values first cost five times the EDN reader's time on the same
//! history. This reader takes about the EDN reader's.

mod fields;

use super::{column_after, edn, skip_ascii_whitespace, Item, Names, RawOp};
use crate::error::{Diagnostic, InputError};
use crate::intern::Shared;
use crate::value::Value;

/// Deeper nesting is an error (as in EDN): no history needs it, and the reader recurses.
const MAX_DEPTH: usize = 1000;

/// Reads the ops of `src`, reporting every error. With `shared`, usual op lines are read
/// on the fast path ([`fields`]).
pub(super) fn read_ops(src: &[u8], shared: Option<&Shared>, errors: &mut InputError) -> Vec<Item> {
    let mut reader = JsonReader { src, names: Names::default(), locator: Locator::new(src), ops: Vec::new() };
    let start = skip_ascii_whitespace(src, 0);
    if src.get(start) == Some(&b'[') {
        if let Err(d) = reader.read_array(start) {
            errors.push(d);
        }
    } else {
        reader.read_lines(shared, errors);
    }
    reader.ops
}

/// The one value of `src`, read as an op (see [`read_one`](super::read_one)).
pub(super) fn read_one(src: &[u8]) -> Option<Value> {
    let mut names = Names::default();
    let mut parser = Parser { src, pos: 0, names: &mut names };
    let value = parser.value(0, true).ok()?;
    (skip_ascii_whitespace(src, parser.pos) == src.len()).then_some(value)
}

/// A syntax error: where, and what.
type Error = (usize, String);

struct JsonReader<'a> {
    src: &'a [u8],
    names: Names,
    locator: Locator<'a>,
    ops: Vec<Item>,
}

impl JsonReader<'_> {
    /// Reads JSON Lines, reporting every bad line.
    fn read_lines(&mut self, shared: Option<&Shared>, errors: &mut InputError) {
        let src = self.src;
        let (mut line_start, mut line) = (0, 0u32);
        while line_start < src.len() {
            line = line.saturating_add(1);
            let line_end =
                src[line_start..].iter().position(|&b| b == b'\n').map_or(src.len(), |n| line_start + n);
            let start = skip_ascii_whitespace(&src[..line_end], line_start);
            let fast = match (shared, src.get(start)) {
                (Some(shared), Some(b'{')) if start < line_end => {
                    let at = (line, column_after(&src[line_start..start]));
                    self.read_fields(&src[..line_end], start, at, shared)
                }
                _ => None,
            };
            if let Some(op) = fast {
                self.ops.push(Item::Fields(op));
            } else if start < line_end {
                self.locator.skip_to_line(line_start, line);
                let mut parser = Parser { src: &src[..line_end], pos: start, names: &mut self.names };
                let read = parser.value(0, true).and_then(|value| {
                    let end = skip_ascii_whitespace(parser.src, parser.pos);
                    match parser.src.get(end) {
                        None => Ok(value),
                        Some(_) => Err((
                            end,
                            format!(
                                "expected the end of the line after the value, found {}",
                                parser.found(end)
                            ),
                        )),
                    }
                });
                match read {
                    Ok(value) => self.push(start..line_end, value),
                    Err((at, message)) => errors.push(self.at(at, message)),
                }
            }
            line_start = line_end + 1;
        }
    }

    /// Reads the array starting at `open`, stopping at the first error.
    fn read_array(&mut self, open: usize) -> Result<(), Diagnostic> {
        let src = self.src;
        // Located now: the locator only moves forward.
        let (line, column) = self.locator.locate(open);
        let unterminated =
            || Diagnostic::new(line, column, "unterminated array: the input ends before its closing `]`");
        let mut pos = skip_ascii_whitespace(src, open + 1);
        if src.get(pos) == Some(&b']') {
            pos += 1;
        } else {
            loop {
                if pos >= src.len() {
                    return Err(unterminated());
                }
                let mut parser = Parser { src, pos, names: &mut self.names };
                let value = match parser.value(0, true) {
                    Ok(value) => value,
                    Err((at, _)) if at >= src.len() => return Err(unterminated()),
                    Err((at, message)) => return Err(self.at(at, message)),
                };
                let end = parser.pos;
                self.push(pos..end, value);
                pos = skip_ascii_whitespace(src, end);
                match src.get(pos) {
                    Some(b',') => pos = skip_ascii_whitespace(src, pos + 1),
                    Some(b']') => {
                        pos += 1;
                        break;
                    }
                    None => return Err(unterminated()),
                    Some(&b) => {
                        return Err(self.at(
                            pos,
                            format!(
                                "expected `,` or `]` after an element of the array, found `{}`",
                                char::from(b)
                            ),
                        ))
                    }
                }
            }
        }
        pos = skip_ascii_whitespace(src, pos);
        match src.get(pos) {
            None => Ok(()),
            Some(&b) => Err(self.at(
                pos,
                format!(
                    "expected the end of the input after the array's closing `]`, found `{}`",
                    char::from(b)
                ),
            )),
        }
    }

    fn push(&mut self, span: std::ops::Range<usize>, value: Value) {
        let (line, column) = self.locator.locate(span.start);
        self.ops.push(Item::Raw(RawOp { value, line, column, span }));
    }

    fn at(&mut self, pos: usize, message: String) -> Diagnostic {
        let (line, column) = self.locator.locate(pos);
        Diagnostic::new(line, column, message)
    }
}

/// A recursive-descent parser over one line (or the whole input, for an array).
struct Parser<'s, 'n> {
    src: &'s [u8],
    pos: usize,
    names: &'n mut Names,
}

impl Parser<'_, '_> {
    /// What is at `at`, for a message.
    fn found(&self, at: usize) -> String {
        match self.src.get(at) {
            None => "the end of the input".to_string(),
            Some(&b) if b.is_ascii_graphic() => format!("`{}`", char::from(b)),
            Some(&b) => format!("byte 0x{b:02x}"),
        }
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, Error> {
        Err((at, format!("invalid JSON: {}", message.into())))
    }

    /// The value at `pos` (after whitespace); `op`: an object here is an op.
    fn value(&mut self, depth: usize, op: bool) -> Result<Value, Error> {
        self.pos = skip_ascii_whitespace(self.src, self.pos);
        let at = self.pos;
        if depth >= MAX_DEPTH {
            return self.fail(at, format!("values nested more than {MAX_DEPTH} deep"));
        }
        match self.src.get(at) {
            Some(b'{') => self.object(depth, op),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::String(self.string()?.into())),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            _ => self.fail(at, format!("expected a value, found {}", self.found(at))),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, Error> {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            self.fail(self.pos, format!("expected `{word}`"))
        }
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.pos;
        let digits = |p: &mut Parser, from: usize| {
            let n = p.src[from..].iter().take_while(|b| b.is_ascii_digit()).count();
            p.pos = from + n;
            n
        };
        let mut i = start + usize::from(self.src[start] == b'-');
        match self.src.get(i) {
            Some(b'0') => self.pos = i + 1,
            Some(b'1'..=b'9') => {
                digits(self, i);
            }
            _ => return self.fail(i, "expected a digit"),
        }
        if self.src.get(self.pos) == Some(&b'.') {
            i = self.pos + 1;
            if digits(self, i) == 0 {
                return self.fail(i, "expected a digit after the decimal point");
            }
        }
        if let Some(b'e' | b'E') = self.src.get(self.pos) {
            i = self.pos + 1;
            if let Some(b'+' | b'-') = self.src.get(i) {
                i += 1;
            }
            if digits(self, i) == 0 {
                return self.fail(i, "expected a digit in the exponent");
            }
        }
        // JSON's numbers are a subset of EDN's, so this always succeeds.
        let text = &self.src[start..self.pos];
        if text.len() > edn::MAX_NUMBER_LEN {
            return self.fail(start, edn::too_long(text.len()));
        }
        Ok(edn::parse_number(text).unwrap_or_else(|| Value::string(&String::from_utf8_lossy(text))))
    }

    /// The string whose opening quote is at `pos`.
    fn string(&mut self) -> Result<String, Error> {
        let open = self.pos;
        let mut out = Vec::new();
        let mut i = open + 1;
        loop {
            // Copy the run up to the next quote, backslash or control character whole.
            let run = self.src[i..].iter().take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20).count();
            out.extend_from_slice(&self.src[i..i + run]);
            i += run;
            match self.src.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    let escaped = match self.src.get(i + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (c, len) = self.unicode(i)?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            i += len;
                            continue;
                        }
                        _ => return self.fail(i, "invalid escape in a string"),
                    };
                    out.push(escaped as u8);
                    i += 2;
                }
                None => return self.fail(i, "the input ends inside a string"),
                Some(_) => return self.fail(i, "control character in a string (escape it)"),
            }
        }
        self.pos = i + 1;
        String::from_utf8(out)
            .or_else(|e| self.fail(open + 1 + e.utf8_error().valid_up_to(), "invalid UTF-8 in a string"))
    }

    /// The character of the `\u` escape at `at`, and how many bytes it took (a
    /// surrogate pair takes two escapes).
    fn unicode(&self, at: usize) -> Result<(char, usize), Error> {
        let hex = |p: usize| {
            let digits = self.src.get(p..p + 4)?;
            u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
        };
        let Some(first) = hex(at + 2) else { return self.fail(at, "expected four hex digits after `\\u`") };
        if (0xD800..0xDC00).contains(&first) && self.src.get(at + 6..at + 8) == Some(b"\\u") {
            if let Some(second @ 0xDC00..0xE000) = hex(at + 8) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok((char::from_u32(c).unwrap_or('\u{fffd}'), 12));
            }
        }
        // A lone surrogate is not a character: it becomes the replacement character.
        Ok((char::from_u32(first).unwrap_or('\u{fffd}'), 6))
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        if self.next_is(b']') {
            return Ok(Value::Vector(items));
        }
        loop {
            items.push(self.value(depth + 1, false)?);
            if self.next_is(b',') {
                continue;
            }
            if self.next_is(b']') {
                return Ok(Value::Vector(items));
            }
            return self.end_or(open, "expected `,` or `]` in an array");
        }
    }

    fn object(&mut self, depth: usize, op: bool) -> Result<Value, Error> {
        let open = self.pos;
        self.pos += 1;
        let mut entries: Vec<(Value, Value)> = Vec::new();
        if self.next_is(b'}') {
            return Ok(Value::Map(entries));
        }
        loop {
            self.pos = skip_ascii_whitespace(self.src, self.pos);
            if self.src.get(self.pos) != Some(&b'"') {
                return self.end_or(open, "expected a key (a string) in an object");
            }
            let key = self.string()?;
            if !self.next_is(b':') {
                return self.end_or(open, "expected `:` after a key");
            }
            let mut value = self.value(depth + 1, false)?;
            if op {
                // In an op, these strings stand for keywords.
                if let Value::String(s) = &value {
                    if key == "type" || key == "f" || (key == "process" && &**s == "nemesis") {
                        value = Value::Keyword(self.names.get(s));
                    }
                }
            }
            let key = match keyword_name(&key) {
                true => Value::Keyword(self.names.get(&key)),
                false => Value::String(key.into()),
            };
            entries.push((key, value));
            if self.next_is(b',') {
                continue;
            }
            if self.next_is(b'}') {
                break;
            }
            return self.end_or(open, "expected `,` or `}` in an object");
        }
        if let Some(Value::Keyword(key) | Value::String(key)) =
            edn::first_duplicate(entries.iter().map(|(k, _)| k))
        {
            return self.fail(open, format!("object has duplicate key `{key}`"));
        }
        Ok(Value::Map(entries))
    }

    /// Steps over whitespace and `byte`, if that is what comes next.
    fn next_is(&mut self, byte: u8) -> bool {
        self.pos = skip_ascii_whitespace(self.src, self.pos);
        let is = self.src.get(self.pos) == Some(&byte);
        self.pos += usize::from(is);
        is
    }

    /// An error at `pos`: `expected`, or, at the end of the input, that the
    /// collection opened at `open` is not closed.
    fn end_or<T>(&self, open: usize, expected: &str) -> Result<T, Error> {
        let (kind, close) = if self.src[open] == b'{' { ("object", '}') } else { ("array", ']') };
        match self.src.get(self.pos) {
            None => {
                self.fail(open, format!("unterminated {kind}: the input ends before its closing `{close}`"))
            }
            Some(_) => self.fail(self.pos, format!("{expected}, found {}", self.found(self.pos))),
        }
    }
}

/// Whether an object's key can be a keyword, printed back as EDN that reads as it:
/// a word of letters, digits and `*+!-_'?<>=.$%&`, not starting with a digit or
/// `-+.'` (so `""`, `"0"`, `"a b"` or `":x"` stay strings).
fn keyword_name(key: &str) -> bool {
    let symbolic = |c: char| c.is_alphanumeric() || "*+!-_'?<>=.$%&".contains(c);
    key.chars().next().is_some_and(|c| c.is_alphabetic() || "*!_?<>=$%&".contains(c))
        && key.chars().all(symbolic)
}

/// Turns byte offsets, asked for in increasing order, into lines and columns, in one pass
/// over the input however long its lines.
struct Locator<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    column: u32,
}

impl<'a> Locator<'a> {
    fn new(src: &'a [u8]) -> Locator<'a> {
        Locator { src, pos: 0, line: 1, column: 1 }
    }

    /// Moves on to line `line`, which starts at `pos`, without reading the lines
    /// between: the lines reader knows where each starts.
    fn skip_to_line(&mut self, pos: usize, line: u32) {
        (self.pos, self.line, self.column) = (pos, line, 1);
    }

    fn locate(&mut self, pos: usize) -> (u32, u32) {
        let pos = pos.clamp(self.pos, self.src.len());
        for &b in &self.src[self.pos..pos] {
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
                self.column = 1;
            } else if (b as i8) >= -0x40 {
                // Not a UTF-8 continuation byte: a new character.
                self.column = self.column.saturating_add(1);
            }
        }
        self.pos = pos;
        (self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read_ops, Format};
    use super::*;

    fn read(text: &str) -> Result<Vec<RawOp>, InputError> {
        read_ops(text.as_bytes(), "h.json", Some(Format::Json))
    }

    fn at(ops: &[RawOp]) -> Vec<(u32, u32)> {
        ops.iter().map(|op| (op.line, op.column)).collect()
    }

    #[test]
    fn converts_ops() {
        let ops = read(
            r#"{"index": 0, "type": "invoke", "f": "cas", "process": 3, "value": [1, 2.5, null, true], "key": "k"}
{"type": "info", "f": "start", "process": "nemesis", "value": {"n1": 12345678901234567890123}}
{"process": "worker", "time": -9223372036854775808, "value": 1e400}"#,
        )
        .unwrap();
        let edn: Vec<_> = ops.iter().map(|op| op.value.to_edn()).collect();
        assert_eq!(
            edn,
            [
                r#"{:index 0, :type :invoke, :f :cas, :process 3, :value [1 2.5 nil true], :key "k"}"#,
                "{:type :info, :f :start, :process :nemesis, :value {:n1 12345678901234567890123N}}",
                r#"{:process "worker", :time -9223372036854775808, :value ##Inf}"#,
            ]
        );
        assert_eq!(at(&ops), [(1, 1), (2, 1), (3, 1)]);
        // A top-level value that is not an object is passed on as it is, for the history to judge.
        assert_eq!(read("[1, \"invoke\"]").unwrap()[1].value, Value::string("invoke"));
    }

    #[test]
    fn lines_report_every_bad_line() {
        let ops = read("\n  {\"a\": 1}\r\n\n\t{\"a\": \"é\"}\n").unwrap();
        assert_eq!(at(&ops), [(2, 3), (4, 2)]);
        let err = read("{\"a\": 1}\n{\"a\": }\n{\"é\": 1,}\n{\"a\": 2}\n{\"a\"").unwrap_err();
        let found: Vec<_> = err.diagnostics.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(found, [(2, 7), (3, 9), (5, 1)]);
        assert_eq!(err.diagnostics[0].message, "invalid JSON: expected a value, found `}`");
        assert_eq!(
            err.diagnostics[1].message,
            "invalid JSON: expected a key (a string) in an object, found `}`"
        );
        assert!(err.diagnostics[2].message.contains("unterminated object"));
    }

    #[test]
    fn numbers_past_the_longest_are_refused_where_they_are() {
        let long = format!("{}e5", "7".repeat(1_000_000));
        let err = read(&format!("{{\"a\": 1}}\n{{\"value\": {long}}}")).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!((d.line, d.column), (2, 11));
        assert!(
            d.message.contains(&format!("a number literal of {} characters", long.len())),
            "{}",
            d.message
        );
    }

    #[test]
    fn strings_numbers_and_keys() {
        let ops = read(r#"{"s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é", "n": [0, -0, 1.5e3, -12345678901234567890, 1E-2], "k": {"z": 1, "a": 2}}"#).unwrap();
        assert_eq!(
            ops[0].value.to_edn(),
            r#"{:s "a\"\\/\b\f\n\r\té😀é", :n [0 0 1500.0 -12345678901234567890N 0.01], :k {:z 1, :a 2}}"#
        );
        // As in EDN, a repeated key is an error; JSON that is not JSON is too.
        let cases = [
            (r#"{"a": 1, "b": 2, "a": 3}"#, 1, "invalid JSON: object has duplicate key `a`"),
            ("{\"a\": 01}", 8, "invalid JSON: expected `,` or `}` in an object, found `1`"),
            ("{\"a\": 1.}", 9, "invalid JSON: expected a digit after the decimal point"),
            ("{\"a\": \"\t\"}", 8, "invalid JSON: control character in a string"),
            ("{\"a\": \"\\x\"}", 8, "invalid JSON: invalid escape"),
            ("{\"a\": 1} 2", 10, "expected the end of the line after the value, found `2`"),
        ];
        for (text, column, message) in cases {
            let err = read(text).unwrap_err();
            let d = &err.diagnostics[0];
            assert_eq!((d.line, d.column), (1, column), "{text}: {}", d.message);
            assert!(d.message.starts_with(message), "{text}: {}", d.message);
        }
        // Keys that would not print back as keywords stay strings.
        let ops = read(r#"{"": 1, "0": 2, "a b": 3, ":x": 4, "ok-key?": 5}"#).unwrap();
        assert_eq!(ops[0].value.to_edn(), r#"{"" 1, "0" 2, "a b" 3, ":x" 4, :ok-key? 5}"#);
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(read(&deep).unwrap_err().diagnostics[0].message.contains("nested more than 1000 deep"));
    }

    #[test]
    fn arrays() {
        let ops = read("[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n").unwrap();
        assert_eq!(at(&ops), [(2, 3), (3, 3)]);
        let line: Vec<String> = (0..1000).map(|i| format!("{{\"é\":{i}}}")).collect();
        let ops = read(&format!("[{}]", line.join(","))).unwrap();
        assert_eq!(
            ops[999].column,
            2 + line[..999].iter().map(|op| op.chars().count() as u32 + 1).sum::<u32>()
        );
        assert!(read(" [ ] ").unwrap().is_empty());
        assert!(read("").unwrap().is_empty());
        assert_eq!(read("[1 ,2]").unwrap().len(), 2);
    }

    #[test]
    fn array_errors() {
        let cases = [
            ("[{\"a\": 1},\n ]", 2, 2, "invalid JSON: expected a value, found `]`"),
            (
                "[{\"a\": 1}\n {\"a\": 2}]",
                2,
                2,
                "expected `,` or `]` after an element of the array, found `{`",
            ),
            ("\n [{\"a\": 1},", 2, 2, "unterminated array"),
            ("[{\"a\": 1}", 1, 1, "unterminated array"),
            (
                "[{\"a\": 1}] x",
                1,
                12,
                "expected the end of the input after the array's closing `]`, found `x`",
            ),
            ("[{\"a\": \n tru}]", 2, 2, "invalid JSON: expected `true`"),
            ("[{\"a\": 1}, {\"b\" 2}]", 1, 17, "invalid JSON: expected `:`"),
        ];
        for (text, line, column, message) in cases {
            let err = read(text).unwrap_err();
            let d = &err.diagnostics[0];
            assert_eq!((d.line, d.column), (line, column), "{text:?}");
            assert!(d.message.contains(message), "{text:?}: {}", d.message);
        }
    }
}
