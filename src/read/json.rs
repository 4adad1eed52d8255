//! JSON histories: one object per line (JSON Lines), or one array of objects.
//!
//! serde_json does the parsing; this module turns its values into EDN values the way a
//! Jepsen user would read them. Object keys become keywords, and in an op the strings of
//! `"type"` and `"f"` stand for keywords (`"invoke"` is `:invoke`), as does a process
//! named `"nemesis"`; every other string stays a string. Numbers keep every digit
//! (serde_json's `arbitrary_precision` hands over their text, read by the EDN reader's
//! number parser): integers that fit are `Int`, larger ones `BigInt`, the rest `Float`.
//!
//! An array is read one element at a time with a `StreamDeserializer`, which reports
//! where each element ends, so each op knows the line and column where it starts.

use super::{edn, skip_ascii_whitespace, Names, RawOp};
use crate::error::{Diagnostic, InputError};
use crate::value::Value;
use serde_json::Value as Json;

pub(super) fn read_ops(src: &[u8], errors: &mut InputError) -> Vec<RawOp> {
    let mut reader = JsonReader { src, names: Names::default(), locator: Locator::new(src), ops: Vec::new() };
    let start = skip_ascii_whitespace(src, 0);
    if src.get(start) == Some(&b'[') {
        if let Err(d) = reader.read_array(start) {
            errors.push(d);
        }
    } else {
        reader.read_lines(errors);
    }
    reader.ops
}

struct JsonReader<'a> {
    src: &'a [u8],
    names: Names,
    locator: Locator<'a>,
    ops: Vec<RawOp>,
}

impl JsonReader<'_> {
    /// Reads JSON Lines, reporting every bad line.
    fn read_lines(&mut self, errors: &mut InputError) {
        let src = self.src;
        let mut next_line = 0;
        for line in src.split(|&b| b == b'\n') {
            let line_start = next_line;
            next_line += line.len() + 1;
            let start = skip_ascii_whitespace(line, 0);
            if start == line.len() {
                continue;
            }
            match serde_json::from_slice(line) {
                Ok(value) => self.push(line_start + start..line_start + line.len(), value),
                Err(e) => errors.push(self.syntax_error(&e, line_start)),
            }
        }
    }

    /// Reads the array starting at `open`, stopping at the first error.
    fn read_array(&mut self, open: usize) -> Result<(), Diagnostic> {
        let src = self.src;
        let (line, column) = self.locator.locate(open);
        let unterminated =
            || Diagnostic::new(line, column, "unterminated array: the input ends before its closing `]`");
        let mut pos = skip_ascii_whitespace(src, open + 1);
        if src.get(pos) == Some(&b']') {
            pos += 1;
        } else {
            loop {
                let mut stream = serde_json::Deserializer::from_slice(&src[pos..]).into_iter();
                match stream.next() {
                    Some(Ok(value)) => self.push(pos..pos + stream.byte_offset(), value),
                    Some(Err(e)) => return Err(self.syntax_error(&e, pos)),
                    None => return Err(unterminated()),
                }
                pos = skip_ascii_whitespace(src, pos + stream.byte_offset());
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

    fn push(&mut self, span: std::ops::Range<usize>, value: Json) {
        let (line, column) = self.locator.locate(span.start);
        let value = op(value, &mut self.names);
        self.ops.push(RawOp { value, line, column, span });
    }

    fn at(&mut self, pos: usize, message: String) -> Diagnostic {
        let (line, column) = self.locator.locate(pos);
        Diagnostic::new(line, column, message)
    }

    /// A serde_json error in the text that starts at `from`, located in the whole input.
    fn syntax_error(&mut self, e: &serde_json::Error, from: usize) -> Diagnostic {
        // serde_json counts lines from `from` and columns in bytes, 1-based.
        let mut pos = from;
        for _ in 1..e.line() {
            pos += self.src[pos..].iter().position(|&b| b == b'\n').map_or(self.src.len() - pos, |n| n + 1);
        }
        pos = (pos + e.column().saturating_sub(1)).min(self.src.len());
        // The message without serde_json's own " at line L column C".
        let message = e.to_string();
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
        self.at(pos, format!("invalid JSON: {message}"))
    }
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

/// Converts a value that stands where an op should: in an object, the strings of `type`
/// and `f`, and the process `"nemesis"`, are keywords.
fn op(value: Json, names: &mut Names) -> Value {
    let Json::Object(fields) = value else {
        return convert(value, names);
    };
    let entries = fields.into_iter().map(|(key, value)| {
        let value = match (key.as_str(), value) {
            ("type" | "f", Json::String(s)) => Value::Keyword(names.get(&s)),
            ("process", Json::String(s)) if s == "nemesis" => Value::Keyword(names.get(&s)),
            (_, value) => convert(value, names),
        };
        (Value::Keyword(names.get(&key)), value)
    });
    Value::Map(entries.collect())
}

fn convert(value: Json, names: &mut Names) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(b),
        // JSON's number syntax is a subset of EDN's, so the EDN parser always succeeds.
        Json::Number(n) => {
            edn::parse_number(n.as_str().as_bytes()).unwrap_or_else(|| Value::string(n.as_str()))
        }
        Json::String(s) => Value::String(s.into()),
        Json::Array(items) => Value::Vector(items.into_iter().map(|v| convert(v, names)).collect()),
        Json::Object(fields) => Value::Map(
            fields.into_iter().map(|(k, v)| (Value::Keyword(names.get(&k)), convert(v, names))).collect(),
        ),
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
        assert_eq!(found, [(2, 7), (3, 9), (5, 4)]);
        assert_eq!(err.diagnostics[0].message, "invalid JSON: expected value");
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
            ("[{\"a\": 1},\n ]", 2, 2, "invalid JSON: expected value"),
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
            ("[{\"a\": \n tru}]", 2, 5, "invalid JSON: expected ident"),
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
