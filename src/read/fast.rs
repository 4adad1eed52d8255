//! What the readers' fast paths share (`edn::fields`, `json::fields`): an op line's
//! process and body found by their texts in the whole file's tables, and the scanning
//! of the few kinds of text a usual line holds.
//!
//! A fast path scans a line of the usual keys (`index`, `time`, `type`, `process`, `f`,
//! `value`, and `key`, which keyed models such as `kv` read) without building anything, and hands on an [`OpFields`]. Any line it is not
//! sure of goes to the format's full reader from its start, so that what is read, and
//! every error, stays the same.

use super::{op_body, OpFields, OpType};
use crate::intern::{Shared, Text};
use crate::value::Value;
use foldhash::fast::FixedState;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

/// What the scan of an op line found: its index and type, and where the texts of its
/// process, `:f` and `:value` are.
#[derive(Default)]
pub(super) struct Line {
    /// Just after the closing `}`.
    pub end: usize,
    pub index: Option<u64>,
    pub kind: Option<OpType>,
    pub process: Option<Range<usize>>,
    pub f: Option<Range<usize>>,
    pub value: Option<Range<usize>>,
    pub key: Option<Range<usize>>,
}

/// Which field of an op a text is: JSON reads a string as a keyword in some.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Process,
    F,
    Value,
    Key,
}

impl Line {
    /// Records the text `from..to` of `key`'s value; `None` (not a usual line) if the
    /// key is not one of the usual seven, is there twice, or its text is not what the
    /// fast path takes: `:index` and `:time` plain decimal integers (`:time` may be
    /// negative), `:type` one of the four (`types` gives their texts in the format).
    pub fn take(
        &mut self,
        seen: &mut u8,
        key: &[u8],
        text: &[u8],
        at: Range<usize>,
        types: &[&[u8]; 4],
    ) -> Option<()> {
        let bit = match key {
            b"index" => {
                self.index = Some(decimal(text)?);
                1
            }
            b"time" => {
                decimal(text.strip_prefix(b"-").unwrap_or(text))?;
                2
            }
            b"type" => {
                let kinds = [OpType::Invoke, OpType::Ok, OpType::Fail, OpType::Info];
                self.kind = Some(kinds[types.iter().position(|t| *t == text)?]);
                4
            }
            b"process" => {
                self.process = Some(at);
                8
            }
            b"f" => {
                self.f = Some(at);
                16
            }
            b"value" => {
                self.value = Some(at);
                32
            }
            b"key" => {
                self.key = Some(at);
                64
            }
            _ => return None,
        };
        if *seen & bit != 0 {
            return None;
        }
        *seen |= bit;
        Some(())
    }

    /// The op this line holds, its process and body found by their texts in `shared`,
    /// or parsed by `parse` (each distinct text once) and remembered; `None` if it has
    /// no type or process, or a text does not parse alone.
    pub fn fields(
        &self,
        src: &[u8],
        shared: &Shared,
        (line, column, start): (u32, u32, usize),
        mut parse: impl FnMut(Field, Range<usize>) -> Option<Value>,
    ) -> Option<OpFields> {
        let (Some(kind), Some(process)) = (self.kind, self.process.clone()) else { return None };
        let text = &src[process.clone()];
        let process = shared
            .process_texts
            .try_get(
                FixedState::default().hash_one(text),
                |key, _| **key == *text,
                || parse(Field::Process, process).map(|p| (text.into(), shared.process(&p))).ok_or(()),
            )
            .ok()?;
        // (A text is never empty: an empty one is a key not there.)
        let text = |range: &Option<Range<usize>>| range.clone().map_or(&[][..], |r| &src[r]);
        let (f, value, key) = (text(&self.f), text(&self.value), text(&self.key));
        let splits = [f.len(), f.len() + value.len()];
        let mut parse_or_nil = |field, range: &Option<Range<usize>>| match range {
            Some(range) => parse(field, range.clone()).ok_or(()),
            None => Ok(Value::Nil),
        };
        if value.len() > LONG_VALUE {
            let f = parse_or_nil(Field::F, &self.f).ok()?;
            let value = parse_or_nil(Field::Value, &self.value).ok()?;
            let key = match &self.key {
                Some(_) => Some((Value::keyword("key"), parse_or_nil(Field::Key, &self.key).ok()?)),
                None => None,
            };
            let body = shared.body(&f, &value, &key.iter().collect::<Vec<_>>());
            return Some(OpFields {
                line,
                column,
                span: start..self.end,
                index: self.index,
                kind,
                process,
                body,
            });
        }
        let body = shared
            .body_texts
            .try_get(
                FixedState::default().hash_one((f, value, key)),
                |(texts, at), _| {
                    *at == splits
                        && texts[..at[0]] == *f
                        && texts[at[0]..at[1]] == *value
                        && texts[at[1]..] == *key
                },
                || {
                    let f_read = parse_or_nil(Field::F, &self.f)?;
                    let value_read = parse_or_nil(Field::Value, &self.value)?;
                    let key_read = match &self.key {
                        Some(_) => vec![(Value::keyword("key"), parse_or_nil(Field::Key, &self.key)?)],
                        None => Vec::new(),
                    };
                    let body = Arc::new(op_body(f_read, value_read, key_read));
                    let mut texts = Text::from_slice(f);
                    texts.extend_from_slice(value);
                    texts.extend_from_slice(key);
                    Ok::<_, ()>(((texts, splits), body))
                },
            )
            .ok()?;
        Some(OpFields { line, column, span: start..self.end, index: self.index, kind, process, body })
    }
}

/// The length of the longest `:value` text by which a body is found; a longer one
/// (a set test's read of the whole set) is found by its value instead, so that the
/// table does not hold a second copy of what is most of the file.
pub(super) const LONG_VALUE: usize = 256;

/// Just after the string whose `"` is at `open`, if it ends on this line.
pub(super) fn string_end(src: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match *src.get(i)? {
            b'"' => return Some(i + 1),
            b'\n' => return None,
            b'\\' if src.get(i + 1) == Some(&b'\n') => return None,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// A plain decimal integer of at most 18 digits, as the full readers read it (a leading
/// zero, as in `07`, makes an octal number in EDN and an error in JSON, which the fast
/// paths leave to them).
fn decimal(text: &[u8]) -> Option<u64> {
    match text {
        [b'0'] => Some(0),
        [b'1'..=b'9', rest @ ..] if rest.len() < 18 && rest.iter().all(u8::is_ascii_digit) => {
            Some(text.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
        }
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::error::InputError;
    use crate::intern::Shared;
    use crate::read::{op_body, read_piece, Format, Item, OpFields, OpType, RawOp, Start};
    use crate::value::Value;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// A text read with the fast path, and with the full reader alone.
    pub struct Both {
        pub fast: Vec<Item>,
        pub fast_errors: InputError,
        pub full: Vec<RawOp>,
        pub full_errors: InputError,
        pub shared: Shared,
    }

    pub fn both(text: &str, format: Format) -> Both {
        let shared = Shared::default();
        let (mut fast_errors, mut full_errors) = (InputError::new("h", vec![]), InputError::new("h", vec![]));
        let fast = read_piece(text.as_bytes(), Start::default(), format, Some(&shared), &mut fast_errors);
        let full = read_piece(text.as_bytes(), Start::default(), format, None, &mut full_errors);
        Both { fast, fast_errors, full: crate::read::raw(full), full_errors, shared }
    }

    /// Reads 3 000 texts of 1–3 lines from `random_line` both ways: the same errors, and
    /// each op the same on either path; both paths taken often.
    pub fn random_lines_read_alike(format: Format, seed: u64, random_line: fn(&mut StdRng) -> String) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut on_fast_path = 0;
        for _ in 0..3000 {
            let text: Vec<String> = (0..rng.random_range(1..4)).map(|_| random_line(&mut rng)).collect();
            let text = text.join("\n");
            let Both { fast: ops, fast_errors, full: raw, full_errors, .. } = both(&text, format);
            assert_eq!(fast_errors, full_errors, "{text:?}");
            assert_eq!(ops.len(), raw.len(), "{text:?}");
            for (op, raw) in ops.iter().zip(&raw) {
                match op {
                    Item::Raw(op) => assert_eq!(op, raw, "{text:?}"),
                    Item::Fields(op) => {
                        on_fast_path += 1;
                        same_op(op, raw, &text);
                    }
                }
            }
        }
        assert!(on_fast_path > 1000, "{on_fast_path}");
    }

    /// Asserts that an op read on the fast path is what the full reader read there.
    pub fn same_op(fast: &OpFields, full: &RawOp, text: &str) {
        assert_eq!((fast.line, fast.column, &fast.span), (full.line, full.column, &full.span), "{text:?}");
        let field = |key: &str| full.value.get(key).cloned();
        let index = field("index").map(|i| i.as_i64().unwrap() as u64);
        assert_eq!(fast.index, index, "{text:?}");
        assert_eq!(Some(fast.kind), field("type").as_ref().and_then(OpType::parse), "{text:?}");
        assert_eq!(Some(&*fast.process), field("process").as_ref(), "{text:?}");
        let nil_if_missing = |key| field(key).unwrap_or(Value::Nil);
        let rest = field("key").map(|k| (Value::keyword("key"), k));
        assert_eq!(*fast.body, op_body(nil_if_missing("f"), nil_if_missing("value"), rest), "{text:?}");
        let Value::Map(entries) = &full.value else { panic!("{text:?}: not a map") };
        let keys = ["index", "time", "type", "process", "f", "value", "key"];
        assert!(entries.iter().all(|(k, _)| keys.contains(&k.as_keyword().unwrap())), "{text:?}");
    }
}
