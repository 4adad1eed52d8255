//! The fast path for Jepsen's usual op lines.
//!
//! Nearly every line of a Jepsen `history.edn` is a map of the same few keys,
//! `{:index 7, :time 1234, :type :ok, :process 3, :f :read, :value [5 2]}`, and a history
//! of ten million of them has a few thousand distinct processes and `(:f, :value)` pairs.
//! Completion needs an op's index, type and process, and the models its body (`:f` and
//! `:value`). So on such a line the reader finds where each value's text lies without
//! building anything, reads `:index` and `:type` from the bytes, skips `:time`, and finds
//! the process and the body by their text in tables the whole file shares ([`Shared`]):
//! a text is parsed, by the full reader, only the first time it is seen.
//!
//! A line of any other shape is read by the full reader, from its start: another key,
//! a key twice, a line break inside the map, a comment, a tag (`#inst …`; a set `#{…}`
//! is fine), a discard, metadata or a character literal (`\a`) anywhere in it, nesting
//! as deep as the full reader's limit, an `:index` or `:time` that is not a plain decimal
//! integer, a `:type` that is not one of the four, no `:type` or `:process`, or a text
//! the full reader does not read. So the fast path never changes what is read, nor any
//! error.

use super::{token_end, Reader, CLASS, MAX_DEPTH, WHITESPACE};
use crate::intern::Shared;
use crate::read::fast::{string_end, Line};
use crate::read::OpFields;
use std::ops::Range;

/// The texts of the four op types, in `Line::take`'s order.
const TYPES: [&[u8]; 4] = [b":invoke", b":ok", b":fail", b":info"];

impl Reader<'_> {
    /// Reads the op map that starts here, at `{`, on the fast path; `None` (the reader
    /// where it was) if the line is not of the usual shape.
    pub(super) fn read_fields(&mut self, shared: &Shared) -> Option<OpFields> {
        let at = self.mark();
        let line = scan(self.src, at.pos)?;
        let (src, column) = (self.src, self.column(at));
        let fields = line.fields(src, shared, (at.line, column, at.pos), |_, range| self.parse(range));
        // Parsing a text moved the reader; a line on the fast path has no line break.
        self.pos = if fields.is_some() { line.end } else { at.pos };
        fields
    }

    /// The one value in `range`, on the current line.
    fn parse(&mut self, range: Range<usize>) -> Option<crate::value::Value> {
        self.read_exactly_one(range.start, range.end, self.line, self.line_start).ok()
    }
}

/// The fields of the op map whose `{` is at `open`, if it is of the usual shape.
fn scan(src: &[u8], open: usize) -> Option<Line> {
    let mut line = Line::default();
    let mut seen = 0u8;
    let mut i = open + 1;
    loop {
        i = skip_spaces(src, i);
        match src.get(i)? {
            b'}' => {
                line.end = i + 1;
                return Some(line);
            }
            b':' => {}
            _ => return None,
        }
        let key_end = token_end(src, i + 1);
        let from = skip_spaces(src, key_end);
        let to = form_end(src, from)?;
        line.take(&mut seen, &src[i + 1..key_end], &src[from..to], from..to, &TYPES)?;
        i = to;
    }
}

/// Skips whitespace (commas included) up to the end of the line.
fn skip_spaces(src: &[u8], mut i: usize) -> usize {
    while let Some(&b) = src.get(i) {
        if b == b'\n' || CLASS[b as usize] != WHITESPACE {
            break;
        }
        i += 1;
    }
    i
}

/// Where the form that starts at `i` ends, if it is one the fast path takes: a token, a
/// string, or a collection of those, on this line. Whether it is well-formed is the full
/// reader's to say, when it parses the text; but the text is parsed alone, outside the op
/// map, so a form as deep as the full reader's limit is left to the full reader.
fn form_end(src: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        let opens = match *src.get(i)? {
            b'(' | b'[' | b'{' => 1,
            b'#' if src.get(i + 1) == Some(&b'{') => 2,
            _ => 0,
        };
        if opens > 0 {
            // Inside the op map, the full reader allows one level less.
            depth += 1;
            if depth >= MAX_DEPTH {
                return None;
            }
            i += opens;
            continue;
        }
        match src[i] {
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            b'"' => i = string_end(src, i)?,
            b'\n' | b'#' | b';' | b'^' | b'\\' => return None,
            b if CLASS[b as usize] == WHITESPACE => {
                // Between the items of a collection.
                i += 1;
                continue;
            }
            _ => i = token_end(src, i),
        }
        if depth == 0 {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::read::fast::tests::{both, random_lines_read_alike, same_op, Both};
    use crate::read::{Format, Item, OpFields};
    use crate::value::Value;
    use rand::{rngs::StdRng, Rng};
    use std::sync::Arc;

    #[test]
    fn usual_lines_take_the_fast_path_and_the_rest_the_full_reader() {
        let fast = [
            "{:index 0, :time 99340, :type :invoke, :process 3761, :f :read, :value [752 nil]}",
            "{:type :ok :process :nemesis :f :start :value \"all [nodes]\" :time -5}",
            "{:process 1, :type :fail, :value #{1 [2 3]} :f :add}",
            "{:process 1, :type :info, :value \"say \\\"hi\\\"\"}",
            "{:process 0N,\t:type :invoke}",
            "{:type :invoke, :process 1, :f :a/b/c}",
            "{:index 3, :type :ok, :process 2, :f :get, :key \"x\", :value \"abc\"}",
            "{ :process 1 , :type :ok , :f :cas , :value (1 2) }",
            &format!("{{:process 1, :type :ok, :value {}1{}}}", "[".repeat(999), "]".repeat(999)),
        ];
        let full = [
            "{:index 0, :type :invoke, :process 1, :error :timeout}",
            "{:index 07, :type :invoke, :process 1}",
            "{:index -1, :type :invoke, :process 1}",
            "{:index 1N, :type :invoke, :process 1}",
            "{:time 1.5, :type :invoke, :process 1}",
            "{:type :invoke, :type :ok, :process 1}",
            "{:type :crash, :process 1}",
            "{:type :invoke}",
            "{:process 1, :f :write}",
            "{:type :invoke, :process 1, :value \\a}",
            "{:type :invoke, :process 1, :value #inst \"2020\"}",
            "{:type :invoke, :process 1, :value ^:m [1]}",
            "{:type :invoke, :process 1, :value #_ 1 2}",
            "{:type :invoke, :process 1 ; a comment\n}",
            "{:type :invoke, :process 1, :value [1\n2]}",
            "{:type :invoke, :process 1, :value \"a\nb\"}",
            "{:type :invoke :process}",
            "{:type :invoke, :process 1, :value [1 2}",
            "{:type :invoke, :process 1, \"f\" :read}",
            // As deep as the full reader goes, counting the op map: an error.
            &format!("{{:process 1, :type :ok, :value {}1{}}}", "[".repeat(1000), "]".repeat(1000)),
            &format!("{{:process {}1{}, :type :ok}}", "#{".repeat(1000), "}".repeat(1000)),
        ];
        for text in fast {
            let Both { fast: ops, fast_errors: errors, full: raw, .. } = both(text, Format::Edn);
            assert!(errors.is_empty(), "{text:?}");
            let [Item::Fields(op)] = &ops[..] else { panic!("{text:?}: not on the fast path") };
            same_op(op, &raw[0], text);
        }
        for text in full {
            let Both { fast: ops, fast_errors, full: raw, full_errors, .. } = both(text, Format::Edn);
            assert_eq!(fast_errors, full_errors, "{text:?}");
            assert!(ops.iter().all(|op| matches!(op, Item::Raw(_))), "{text:?}: read on the fast path");
            assert_eq!(crate::read::raw(ops), raw, "{text:?}");
        }
    }

    #[test]
    fn equal_texts_share_one_value_and_processes_are_shared_by_value() {
        let text = "{:type :invoke, :process 3, :f :read, :value [1 nil]}\n\
                    {:type :ok, :process 3, :f :read, :value [1 nil]}\n\
                    {:type :ok, :process 3N, :f :read}";
        let Both { fast: ops, shared, .. } = both(text, Format::Edn);
        let fields: Vec<&OpFields> = ops
            .iter()
            .map(|op| match op {
                Item::Fields(op) => op,
                Item::Raw(_) => panic!("not on the fast path"),
            })
            .collect();
        assert!(Arc::ptr_eq(&fields[0].body, &fields[1].body));
        assert!(!Arc::ptr_eq(&fields[1].body, &fields[2].body));
        // 3 and 3N are one process, as an op read by the full reader finds it.
        assert!(Arc::ptr_eq(&fields[0].process, &fields[2].process));
        assert!(Arc::ptr_eq(&fields[0].process, &shared.process(&Value::Int(3))));
    }

    #[test]
    fn long_values_are_shared_by_value() {
        let set = |elements: &mut dyn Iterator<Item = u32>| {
            format!("#{{{}}}", elements.map(|e| e.to_string()).collect::<Vec<_>>().join(" "))
        };
        let (up, down, other) = (set(&mut (0..200)), set(&mut (0..200).rev()), set(&mut (1..201)));
        assert!(up.len() > crate::read::fast::LONG_VALUE);
        let text = format!(
            "{{:type :ok, :process 3, :f :read, :value {up}}}\n\
             {{:type :ok, :process 4, :f :read, :value {down}}}\n\
             {{:type :ok, :process 4, :f :read, :value {other}}}"
        );
        let Both { fast: ops, full: raw, .. } = both(&text, Format::Edn);
        let bodies: Vec<&Arc<Value>> = ops
            .iter()
            .zip(&raw)
            .map(|(op, raw)| match op {
                Item::Fields(op) => {
                    same_op(op, raw, &text);
                    &op.body
                }
                Item::Raw(_) => panic!("not on the fast path"),
            })
            .collect();
        // The same set written in another order is the same body; another set is not.
        assert!(Arc::ptr_eq(bodies[0], bodies[1]));
        assert!(!Arc::ptr_eq(bodies[1], bodies[2]));
    }

    /// An op line of the usual keys and values in any order, some missing, with up to
    /// two changes: an odd value, an odd key, or an odd entry more.
    fn random_line(rng: &mut StdRng) -> String {
        fn pick<'a>(rng: &mut StdRng, of: &[&'a str]) -> &'a str {
            of[rng.random_range(0..of.len())]
        }
        const ODD_KEYS: &[&str] = &[":error", "\"f\"", ":index", ":type", ":a/b", ":", "1"];
        const ODD_VALUES: &[&str] = &[
            "1234567890123456789",
            "07",
            "-3",
            "1N",
            "2.5",
            ":crash",
            "\\a",
            "#inst \"2020\"",
            "^:m [1]",
            "#_ 1 2",
            "[1 2}",
            "[1",
            "]",
            "\"open",
            "; c\n",
            "\"x\ny\"",
            "a#b",
            "#{1 1}",
            "{:a 1 :a 2}",
            "",
            "[1\n2]",
            "##Inf",
            "\"\\u00e9\"",
            "\"\\q\"",
        ];
        // Longer than a body is found by its text; now and then with an element twice.
        let twice = if rng.random_bool(0.2) { " 1" } else { "" };
        let long_set =
            format!("#{{{}{twice}}}", (0..100).map(|e| e.to_string()).collect::<Vec<_>>().join(" "));
        let mut entries: Vec<(&str, &str)> = [
            (":index", pick(rng, &["0", "7", "123456789012345678", "12345678901234567"])),
            (":time", pick(rng, &["0", "-5", "99340"])),
            (":type", pick(rng, &[":invoke", ":ok", ":fail", ":info"])),
            (":process", pick(rng, &["0", "3", ":nemesis", "3N", "nil"])),
            (":f", pick(rng, &[":read", ":cas", "nil", ":a/b"])),
            (
                ":value",
                pick(
                    rng,
                    &[
                        "nil",
                        "[1 2]",
                        "[1 [nil 3]]",
                        "#{1 2}",
                        "(a b)",
                        "{:a 1}",
                        "\"s\"",
                        "\"a \\\" ]\"",
                        &long_set,
                    ],
                ),
            ),
        ]
        .into_iter()
        .filter(|_| rng.random_bool(0.9))
        .collect();
        if rng.random_bool(0.5) {
            let at = rng.random_range(0..=entries.len());
            entries.insert(at, (":key", pick(rng, &["\"a\"", "1", "nil", "[1 2]", ":k"])));
        }
        for _ in 0..rng.random_range(0..3) {
            let at = rng.random_range(0..=entries.len());
            match rng.random_range(0..3) {
                0 if at < entries.len() => entries[at].1 = pick(rng, ODD_VALUES),
                1 if at < entries.len() => entries[at].0 = pick(rng, ODD_KEYS),
                _ => entries.insert(at, (pick(rng, ODD_KEYS), pick(rng, ODD_VALUES))),
            }
        }
        let mut line = String::from("{");
        for (i, (key, value)) in entries.iter().enumerate() {
            let spaces = if i == 0 { "" } else { pick(rng, &[", ", " ", ",", "\t"]) };
            // (No space makes `:f:read` one keyword: a key the fast path does not know.)
            let space = if rng.random_bool(0.05) { "" } else { " " };
            line += &format!("{spaces}{key}{space}{value}");
        }
        line + pick(rng, &["}", "}", "}", "} ", " }", "}}", ""])
    }

    #[test]
    fn the_fast_path_reads_what_the_full_reader_reads() {
        random_lines_read_alike(Format::Edn, 11, random_line);
    }
}
