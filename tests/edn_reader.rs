//! The EDN reader against a general one (clojure-reader): on every EDN file of the corpus,
//! and on generated values printed by `Value::to_edn`.

use clojure_reader::edn::{self, Edn};
use knossos_rs::read::{self, Format};
use knossos_rs::value::{Decimal, Value};
use num_rational::BigRational;
use num_traits::ToPrimitive;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use std::path::{Path, PathBuf};

mod common;
use common::corpus;

/// clojure-reader's value as ours.
fn convert(edn: &Edn) -> Value {
    let all = |items: &mut dyn Iterator<Item = &Edn>| items.map(convert).collect();
    match edn {
        Edn::Nil => Value::Nil,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::Int(*i),
        // (clojure-reader uses another version of num-bigint.)
        Edn::BigInt(i) => Value::BigInt(Box::new(i.to_string().parse().unwrap())),
        Edn::Double(x) => Value::Float(x.0),
        Edn::BigDec(d) => Value::Decimal(Box::new(Decimal::parse(&d.to_string()).unwrap())),
        Edn::Rational((n, d)) => {
            let ratio = BigRational::new((*n).into(), (*d).into());
            match ratio.is_integer() {
                true => Value::Int(ratio.to_integer().to_i64().unwrap()),
                false => Value::Ratio(Box::new(ratio)),
            }
        }
        Edn::Char(c) => Value::Char(*c),
        Edn::Str(s) => Value::string(s),
        Edn::Key(k) => Value::keyword(k),
        Edn::Symbol(s) => Value::Symbol(s.as_ref().into()),
        Edn::List(items) => Value::List(all(&mut items.iter())),
        Edn::Vector(items) => Value::Vector(all(&mut items.iter())),
        Edn::Set(items) => Value::Set(all(&mut items.iter()).into()),
        Edn::Map(entries) => Value::Map(entries.iter().map(|(k, v)| (convert(k), convert(v))).collect()),
        Edn::Tagged(tag, value) => Value::Tagged(tag.as_ref().into(), Box::new(convert(value))),
        other => panic!("clojure-reader value not converted: {other:?}"),
    }
}

/// Whether only whitespace, commas and comments remain.
fn only_blanks(text: &str) -> bool {
    text.lines().all(|line| {
        line.split(';')
            .next()
            .unwrap_or_default()
            .trim_matches(|c: char| c.is_whitespace() || c == ',')
            .is_empty()
    })
}

/// The ops of a history as clojure-reader reads it: the elements of one top-level
/// vector or list, or else every top-level form.
fn clojure_ops(text: &str) -> Vec<Value> {
    let mut forms = Vec::new();
    let mut rest = text;
    while !only_blanks(rest) {
        let (form, remaining) = edn::read(rest).unwrap_or_else(|e| panic!("clojure-reader: {e}"));
        forms.push(convert(&form));
        rest = remaining;
    }
    match forms.as_slice() {
        [Value::Vector(ops) | Value::List(ops)] => ops.clone(),
        _ => forms,
    }
}

fn histories(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            histories(&path, out);
        } else if path.extension().is_some_and(|e| e == "edn")
            || path.parent().is_some_and(|p| p.ends_with("porcupine/kv"))
        {
            out.push(path);
        }
    }
}

#[test]
fn corpus_reads_as_clojure_reader_reads_it() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    histories(&dir, &mut files);
    files.sort();
    assert!(files.len() >= 126, "found only {} histories in {}", files.len(), dir.display());
    let mut total = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(Format::detect(&bytes), Format::Edn, "{}", file.display());
        let ours = read::RawOp::read_path(file, None).unwrap_or_else(|e| panic!("{e}"));
        let theirs = clojure_ops(std::str::from_utf8(&bytes).unwrap());
        assert_eq!(ours.len(), theirs.len(), "{}", file.display());
        for (op, expected) in ours.iter().zip(&theirs) {
            assert_eq!(&op.value, expected, "{}:{}:{}", file.display(), op.line, op.column);
        }
        total += ours.len();
    }
    eprintln!("{} histories, {total} ops, read alike", files.len());
}

#[test]
fn corpus_console_logs() {
    let Some(dir) = corpus() else { return };
    let logs: Vec<PathBuf> =
        std::fs::read_dir(dir.join("porcupine/etcd")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(logs.len(), 50);
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(Format::detect(text.as_bytes()), Format::JepsenLog, "{}", log.display());
        let ops = read::RawOp::read_path(&log, None).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<_> =
            text.lines().enumerate().filter(|(_, l)| l.contains("jepsen.util - ")).collect();
        assert_eq!(ops.len(), expected.len(), "{}", log.display());
        for (op, (i, line)) in ops.iter().zip(expected) {
            assert_eq!(op.line as usize, i + 1);
            let fields: Vec<&str> = line.split(" - ").nth(1).unwrap().split('\t').collect();
            let printed = ["process", "type", "f", "value"].map(|k| op.value.get(k).unwrap().to_edn());
            assert_eq!(printed.as_slice(), fields.as_slice(), "{}:{}", log.display(), op.line);
        }
    }
}

/// A random value that both readers can read back from its EDN.
fn generate(rng: &mut StdRng, depth: u32) -> Value {
    if depth == 0 || rng.random_bool(0.4) {
        return match rng.random_range(0..10) {
            0 => Value::Nil,
            1 => Value::Bool(rng.random()),
            2 => Value::Int(rng.random()),
            3 => Value::Int(rng.random_range(-100..100)),
            4 => {
                // Beyond 64 bits, where Clojure reads a BigInt.
                let magnitude = num_bigint::BigInt::from(rng.random::<u64>()) * (u64::MAX as u128 + 1)
                    + rng.random::<u64>();
                let magnitude = magnitude + (i64::MAX as u64 + 1);
                Value::BigInt(Box::new(if rng.random() { -magnitude } else { magnitude }))
            }
            5 => loop {
                let x = f64::from_bits(rng.random());
                if x.is_finite() {
                    break Value::Float(if rng.random() { x } else { (x.fract() * 1000.0).round() / 8.0 });
                }
            },
            6 => {
                // clojure-reader knows only the escapes \" \\ \n \t \r, so no \b or \f here.
                let chars =
                    ['a', 'Z', '0', ' ', '"', '\\', '\n', '\t', '\r', 'é', '😀', '\u{1}', ';', '#', '{'];
                let s: String =
                    (0..rng.random_range(0..12)).map(|_| chars[rng.random_range(0..chars.len())]).collect();
                Value::string(&s)
            }
            7 => Value::keyword(&name(rng)),
            8 => Value::Symbol(name(rng).into()),
            _ => Value::Char(['a', 'é', '\n', ' ', '\t', '(', '\\'][rng.random_range(0..7)]),
        };
    }
    let size = rng.random_range(0..6);
    let mut items = Vec::new();
    while items.len() < size {
        let item = generate(rng, depth - 1);
        // Map keys and set elements are distinct by Clojure's `=`, or neither reader accepts them.
        if !items.contains(&item) {
            items.push(item);
        }
    }
    match rng.random_range(0..5) {
        0 => Value::Vector(items),
        1 => Value::List(items),
        2 => Value::Set(items.into()),
        3 => Value::Map(items.into_iter().map(|k| (k, generate(rng, depth - 1))).collect()),
        _ => Value::Tagged(
            ["inst", "uuid", "my.ns/tag"][rng.random_range(0..3)].into(),
            Box::new(Value::Vector(items)),
        ),
    }
}

/// A keyword or symbol name, sometimes with a namespace.
fn name(rng: &mut StdRng) -> String {
    let part = |rng: &mut StdRng| {
        let first = char::from(rng.random_range(b'a'..=b'z'));
        let rest: String = (0..rng.random_range(0..6))
            .map(|_| char::from(b"abcxyz019-?!*."[rng.random_range(0..14)]))
            .collect();
        format!("{first}{rest}")
    };
    let name = match rng.random_bool(0.3) {
        true => format!("{}/{}", part(rng), part(rng)),
        false => part(rng),
    };
    match name.as_str() {
        "nil" | "true" | "false" => format!("{name}?"),
        _ => name,
    }
}

#[test]
fn generated_values_read_alike() {
    let mut rng = StdRng::seed_from_u64(2024);
    for _ in 0..500 {
        let value = generate(&mut rng, 4);
        let text = value.to_edn();
        let ours = Value::from_edn(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs = convert(&edn::read_string(&text).unwrap_or_else(|e| panic!("{text}: {e}")));
        assert_eq!(ours, value, "{text}");
        assert_eq!(theirs, value, "{text}");
    }
}
