//! The fast path for JSON Lines, as `edn::fields` is for EDN: on a line that is one
//! object of the usual keys, `{"index": 7, "time": 1234, "type": "ok", "process": 3,
//! "f": "read", "value": [5, 2]}`, the reader finds where each value's text lies
//! without building anything, reads `"index"` and `"type"` from the bytes, skips
//! `"time"`, and finds the process and the body by their text in the tables the whole
//! file shares (`read::fast`): a text is parsed, by the full reader's parser, only the
//! first time it is seen, and read as the full reader reads it in an op (the string of
//! `"f"`, and a process `"nemesis"`, as keywords).
//!
//! Any other line is read by the full reader: another key, a key with an escape or
//! twice, an `"index"` or `"time"` that is not a plain decimal integer, a `"type"` that
//! is not one of the four (or written with an escape), no `"type"` or `"process"`,
//! anything but blanks after the object, or a text the parser does not read alone. So
//! the fast path never changes what is read, nor any error.

use super::{JsonReader, Parser};
use crate::intern::Shared;
use crate::read::fast::{string_end, Field, Line};
use crate::read::{skip_ascii_whitespace, OpFields};
use crate::value::Value;

/// The texts of the four op types, in `Line::take`'s order.
const TYPES: [&[u8]; 4] = [b"\"invoke\"", b"\"ok\"", b"\"fail\"", b"\"info\""];

impl JsonReader<'_> {
    /// The op object at `open` on `line` (the input up to the line's end), on the fast
    /// path; `None` if the line is not of the usual shape. `at` is its line and column.
    pub(super) fn read_fields(
        &mut self,
        line: &[u8],
        open: usize,
        at: (u32, u32),
        shared: &Shared,
    ) -> Option<OpFields> {
        let mut scanned = scan(line, open)?;
        if skip_ascii_whitespace(line, scanned.end) < line.len() {
            return None;
        }
        // As the full reader's, the op's bytes run to the end of the line.
        scanned.end = line.len();
        let names = &mut self.names;
        scanned.fields(line, shared, (at.0, at.1, open), |field, range| {
            // At depth 1, inside the op, where the full reader reads it.
            let mut parser = Parser { src: &line[..range.end], pos: range.start, names: &mut *names };
            let value = parser.value(1, false).ok().filter(|_| parser.pos == range.end)?;
            Some(match (field, value) {
                (Field::F, Value::String(s)) => Value::Keyword(names.get(&s)),
                (Field::Process, Value::String(s)) if &*s == "nemesis" => Value::Keyword(names.get(&s)),
                (_, value) => value,
            })
        })
    }
}

/// The fields of the object whose `{` is at `open`, if it is of the usual shape.
fn scan(src: &[u8], open: usize) -> Option<Line> {
    let mut line = Line::default();
    let mut seen = 0u8;
    let mut i = skip_ascii_whitespace(src, open + 1);
    loop {
        // A key: a string without escapes.
        if src.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = i + 1 + src[i + 1..].iter().position(|&b| b == b'"' || b == b'\\')?;
        if src[key_end] != b'"' {
            return None;
        }
        let colon = skip_ascii_whitespace(src, key_end + 1);
        if src.get(colon) != Some(&b':') {
            return None;
        }
        let from = skip_ascii_whitespace(src, colon + 1);
        let to = value_end(src, from)?;
        line.take(&mut seen, &src[i + 1..key_end], &src[from..to], from..to, &TYPES)?;
        i = skip_ascii_whitespace(src, to);
        match src.get(i)? {
            b',' => i = skip_ascii_whitespace(src, i + 1),
            b'}' => {
                line.end = i + 1;
                return Some(line);
            }
            _ => return None,
        }
    }
}

/// The bytes that end a token: structure, quotes and whitespace.
const ENDS_TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let ends = b",:[]{}\" \t\r\n\x0c";
    let mut i = 0;
    while i < ends.len() {
        table[ends[i] as usize] = true;
        i += 1;
    }
    table
};

/// Where the value that starts at `i` ends: a string, a token (a number or a literal),
/// or an array or object of those. Whether it is well-formed is the parser's to say.
fn value_end(src: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *src.get(i)? {
            b'[' | b'{' => {
                depth += 1;
                i += 1;
                continue;
            }
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            b'"' => i = string_end(src, i)?,
            b',' | b':' | b' ' | b'\t' | b'\r' | b'\n' | 0x0c => {
                // Between the items of an array or object; none can start a value.
                if depth == 0 {
                    return None;
                }
                i += 1;
                continue;
            }
            _ => i += src[i..].iter().position(|&b| ENDS_TOKEN[usize::from(b)]).unwrap_or(src.len() - i),
        }
        if depth == 0 {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::read::fast::tests::{both, random_lines_read_alike, same_op, Both};
    use crate::read::{Format, Item};
    use rand::{rngs::StdRng, Rng};

    #[test]
    fn usual_lines_take_the_fast_path_and_the_rest_the_full_reader() {
        let fast = [
            r#"{"index":0,"time":99340,"type":"invoke","process":3761,"f":"read","value":[752,null]}"#,
            r#"{ "type" : "ok" , "process": "nemesis", "f": "start", "value": "all [nodes]", "time": -5 }"#,
            r#"  {"process": 1, "type": "fail", "value": {"a": [1, {"b": "}"}]}, "f": "add"}  "#,
            r#"{"process": "w1", "type": "info", "value": "say \"hi\" \u00e9"}"#,
            r#"{"process": 1.5, "type": "invoke", "f": 3}"#,
            r#"{"index": 3, "type": "ok", "process": 2, "f": "get", "key": "x", "value": "abc"}"#,
            "{\"process\": 1, \"type\": \"ok\", \"value\": 1e400}\r",
            &format!(r#"{{"process": 1, "type": "ok", "value": {}1{}}}"#, "[".repeat(998), "]".repeat(998)),
        ];
        let full = [
            r#"{"index": 0, "type": "invoke", "process": 1, "error": "timeout"}"#,
            r#"{"index": 07, "type": "invoke", "process": 1}"#,
            r#"{"index": -1, "type": "invoke", "process": 1}"#,
            r#"{"index": 1.0, "type": "invoke", "process": 1}"#,
            r#"{"time": 1e3, "type": "invoke", "process": 1}"#,
            r#"{"type": "invoke", "type": "ok", "process": 1}"#,
            r#"{"type": "crash", "process": 1}"#,
            r#"{"type": "invok\u0065", "process": 1}"#,
            r#"{"typ\u0065": "invoke", "process": 1}"#,
            r#"{"type": "invoke"}"#,
            r#"{"process": 1, "f": "write"}"#,
            r#"{}"#,
            r#"{"type": "invoke", "process": 1, "value": [1, 2}"#,
            r#"{"type": "invoke", "process": 1, "value": tru}"#,
            r#"{"type": "invoke", "process": 1, "value": 01}"#,
            r#"{"type": "invoke", "process": 1, "value": "open}"#,
            r#"{"type": "invoke", "process": 1,}"#,
            r#"{"type": "invoke", "process": 1} 2"#,
            r#"{"type": "invoke" "process": 1}"#,
            r#"{"type": "invoke", "process": 1, "value": }"#,
            // As deep as the parser goes, counting the op object: an error.
            &format!(r#"{{"process": 1, "type": "ok", "value": {}1{}}}"#, "[".repeat(1000), "]".repeat(1000)),
        ];
        for text in fast {
            let Both { fast: ops, fast_errors: errors, full: raw, .. } = both(text, Format::Json);
            assert!(errors.is_empty(), "{text:?}: {errors}");
            let [Item::Fields(op)] = &ops[..] else { panic!("{text:?}: not on the fast path") };
            same_op(op, &raw[0], text);
        }
        for text in full {
            let Both { fast: ops, fast_errors, full: raw, full_errors, .. } = both(text, Format::Json);
            assert_eq!(fast_errors, full_errors, "{text:?}");
            assert!(ops.iter().all(|op| matches!(op, Item::Raw(_))), "{text:?}: read on the fast path");
            assert_eq!(crate::read::raw(ops), raw, "{text:?}");
        }
    }

    /// A JSON op line of the usual keys and values in any order, some missing, with up to
    /// two changes: an odd value, an odd key, or an odd entry more.
    fn random_line(rng: &mut StdRng) -> String {
        fn pick<'a>(rng: &mut StdRng, of: &[&'a str]) -> &'a str {
            of[rng.random_range(0..of.len())]
        }
        const ODD_KEYS: &[&str] =
            &[r#""error""#, r#""in\u0064ex""#, r#""index""#, r#""type""#, r#""""#, "1", "f"];
        const ODD_VALUES: &[&str] = &[
            "1234567890123456789",
            "07",
            "-3",
            "2.5",
            "-0",
            "1e2",
            r#""crash""#,
            r#""invoke""#,
            "[1, 2}",
            "[1,",
            "]",
            r#""open"#,
            "tru",
            "nulll",
            r#"{"a": 1, "a": 2}"#,
            "",
            r#""\u00e9""#,
            r#""\q""#,
            r#""\ud800""#,
            "[[[]]]",
            "{\"\": [null]}",
        ];
        let mut entries: Vec<(&str, &str)> = [
            (r#""index""#, pick(rng, &["0", "7", "123456789012345678", "12345678901234567"])),
            (r#""time""#, pick(rng, &["0", "-5", "99340"])),
            (r#""type""#, pick(rng, &[r#""invoke""#, r#""ok""#, r#""fail""#, r#""info""#])),
            (r#""process""#, pick(rng, &["0", "3", r#""nemesis""#, r#""w""#, "null", "3.0"])),
            (r#""f""#, pick(rng, &[r#""read""#, r#""cas""#, "null", "7"])),
            (
                r#""value""#,
                pick(
                    rng,
                    &["null", "[1, 2]", "[1, [null, 3]]", r#"{"a": 1}"#, r#""s""#, r#""a \" ]""#, "true"],
                ),
            ),
        ]
        .into_iter()
        .filter(|_| rng.random_bool(0.9))
        .collect();
        if rng.random_bool(0.5) {
            let at = rng.random_range(0..=entries.len());
            entries.insert(at, (r#""key""#, pick(rng, &[r#""a""#, "1", "null", "[1, 2]"])));
        }
        for _ in 0..rng.random_range(0..3) {
            let at = rng.random_range(0..=entries.len());
            match rng.random_range(0..3) {
                0 if at < entries.len() => entries[at].1 = pick(rng, ODD_VALUES),
                1 if at < entries.len() => entries[at].0 = pick(rng, ODD_KEYS),
                _ => entries.insert(at, (pick(rng, ODD_KEYS), pick(rng, ODD_VALUES))),
            }
        }
        let mut line = String::from(pick(rng, &["{", "{", " {", "{ "]));
        for (i, (key, value)) in entries.iter().enumerate() {
            let comma = if i == 0 { "" } else { pick(rng, &[", ", ",", ",\t", " ,"]) };
            // Rarely, a colon left out, or a comma twice.
            let (comma, colon) = match rng.random_range(0..40) {
                0 => (comma, " "),
                1 if i > 0 => (", ,", ": "),
                _ => (comma, pick(rng, &[": ", ":", " : "])),
            };
            line += &format!("{comma}{key}{colon}{value}");
        }
        line + pick(rng, &["}", "}", "}", "} ", " }", "}}", "", "}\r"])
    }

    #[test]
    fn the_fast_path_reads_what_the_full_reader_reads() {
        random_lines_read_alike(Format::Json, 12, random_line);
    }
}
