//! The EDN data model, with Clojure's equality.
//!
//! Histories were written by Clojure programs, so two values are equal here exactly
//! when Clojure's `=` says so: integers compare by value whatever their width (`5` =
//! `5N`), an integer never equals a float, a vector equals a list with the same
//! elements, maps and sets compare without order, and strings, keywords and symbols
//! are distinct. Nothing is lost on reading: big integers, decimals, ratios,
//! characters and tagged literals keep their exact value and print back as EDN.
//!
//! Two deliberate differences from the JVM: `NaN` equals itself (so that a state
//! holding `NaN` can be interned and found again), and `#inst`/`#uuid` compare by
//! their text rather than by the instant or UUID they denote.

use crate::error::InputError;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An EDN value (nil by default).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Value {
    #[default]
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits, written without the `N` suffix.
    Int(i64),
    /// An integer written with `N`, or too large for 64 bits.
    BigInt(Box<BigInt>),
    /// A double.
    Float(f64),
    /// A `…M` decimal, kept as written.
    Decimal(Box<Decimal>),
    /// A ratio in lowest terms whose denominator is not 1.
    Ratio(Box<BigRational>),
    /// A character literal (`\a`).
    Char(char),
    /// A string.
    String(Arc<str>),
    /// A keyword, without its leading colon (`jepsen/op` for `:jepsen/op`).
    Keyword(Arc<str>),
    /// A symbol (`foo`), also the text of an `#object[…]` kept as written.
    Symbol(Arc<str>),
    /// A list, `(1 2)`: equal to the vector of the same elements, as in Clojure.
    List(Vec<Value>),
    /// A vector, `[1 2]`.
    Vector(Vec<Value>),
    /// Entries in the order they were read; equality ignores the order.
    Map(Vec<(Value, Value)>),
    /// A set (see [`Elements`] for how its elements are held); equality ignores the order.
    Set(Elements),
    /// A tagged literal the reader does not interpret (`#inst`, `#uuid`, `#object`, …).
    Tagged(Arc<str>, Box<Value>),
}

/// A set's elements. Integers of 64 bits, all of them (as the reads of a Jepsen set
/// test hold: a whole set, read again and again), are packed, sorted, 8 bytes each and
/// shared by clones, so that a history of such reads takes about the memory of its
/// text; any other elements are values in the order they were read (or built).
///
/// ```
/// use knossos_rs::value::Elements;
/// use knossos_rs::Value;
///
/// let read = Value::from_edn("#{3 1 2}").unwrap();
/// let Value::Set(elements) = &read else { unreachable!() };
/// assert_eq!(elements.len(), 3);
/// assert!(elements.contains(&Value::Int(2)));
/// assert_eq!(read, Value::Set(Elements::from(vec![Value::Int(1), Value::Int(2), Value::Int(3)])));
/// assert_eq!(read.to_edn(), "#{1 2 3}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Elements(Repr);

#[derive(Clone, Debug)]
enum Repr {
    Values(Vec<Value>),
    /// Sorted and distinct.
    Ints(Arc<[i64]>),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Values(Vec::new())
    }
}

impl Elements {
    /// How many elements.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Values(v) => v.len(),
            Repr::Ints(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements: borrowed, or made for packed integers.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.0 {
            Repr::Values(v) => IterRepr::Values(v.iter()),
            Repr::Ints(v) => IterRepr::Ints(v.iter()),
        })
    }

    /// Whether `value` is one of the elements (by Clojure's equality: `2N` is in `#{2}`).
    pub fn contains(&self, value: &Value) -> bool {
        match &self.0 {
            Repr::Values(v) => v.contains(value),
            Repr::Ints(v) => value.as_i64().is_some_and(|i| v.binary_search(&i).is_ok()),
        }
    }

    /// These elements and `value`, if it is not one of them yet.
    pub fn with(&self, value: &Value) -> Elements {
        match (&self.0, value) {
            _ if self.contains(value) => self.clone(),
            (Repr::Ints(v), Value::Int(i)) => {
                let at = v.partition_point(|x| x < i);
                Elements(Repr::Ints(v[..at].iter().chain([i]).chain(&v[at..]).copied().collect()))
            }
            _ => Elements::from(self.iter().map(Cow::into_owned).chain([value.clone()]).collect::<Vec<_>>()),
        }
    }

    /// The elements as they are held: packed integers, sorted, or values.
    pub(crate) fn held(&self) -> Result<&[i64], &[Value]> {
        match &self.0 {
            Repr::Ints(v) => Ok(v),
            Repr::Values(v) => Err(v),
        }
    }

    /// The elements as values, borrowed if they are held so.
    pub(crate) fn values(&self) -> Cow<'_, [Value]> {
        match &self.0 {
            Repr::Values(v) => Cow::Borrowed(v),
            Repr::Ints(v) => Cow::Owned(v.iter().map(|&i| Value::Int(i)).collect()),
        }
    }
}

/// Packs the elements if they are distinct integers of 64 bits; else keeps them in
/// their order (a set built in code may list an element twice: it then equals no set
/// read from EDN, whose reader refuses such sets).
impl From<Vec<Value>> for Elements {
    fn from(values: Vec<Value>) -> Elements {
        let ints: Option<Vec<i64>> =
            values.iter().map(|v| if let Value::Int(i) = v { Some(*i) } else { None }).collect();
        if let Some(mut ints) = ints.filter(|ints| !ints.is_empty()) {
            ints.sort_unstable();
            if ints.windows(2).all(|w| w[0] < w[1]) {
                return Elements(Repr::Ints(ints.into()));
            }
        }
        Elements(Repr::Values(values))
    }
}

impl FromIterator<Value> for Elements {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Elements {
        Elements::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a Elements {
    type Item = Cow<'a, Value>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Elements {
    fn eq(&self, other: &Elements) -> bool {
        match (&self.0, &other.0) {
            (Repr::Ints(a), Repr::Ints(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => unordered_eq(&self.values(), &other.values(), |x, y| x == y, |v| v),
        }
    }
}

/// The elements of a set, as [`Elements::iter`] gives them.
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Values(std::slice::Iter<'a, Value>),
    Ints(std::slice::Iter<'a, i64>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Cow<'a, Value>;
    fn next(&mut self) -> Option<Cow<'a, Value>> {
        match &mut self.0 {
            IterRepr::Values(v) => v.next().map(Cow::Borrowed),
            IterRepr::Ints(v) => v.next().map(|&i| Cow::Owned(Value::Int(i))),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Values(v) => v.size_hint(),
            IterRepr::Ints(v) => v.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// An arbitrary-precision decimal (`1.50M`), kept as written and compared by value
/// (`1.5M` = `1.50M`, as Clojure's `=` on `BigDecimal`s).
#[derive(Clone, Debug)]
pub struct Decimal {
    text: Box<str>,
    /// unscaled × 10^-scale, with trailing zeros of `unscaled` stripped.
    unscaled: BigInt,
    scale: i64,
}

impl Decimal {
    /// Parses the digits of a decimal literal without its `M` suffix
    /// (`-1.50`, `3e-2`); `None` if it is not one.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int}{frac}");
        let body = digits.trim_start_matches(['+', '-']);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut unscaled: BigInt = digits.parse().ok()?;
        let mut scale = (frac.len() as i64).checked_sub(exp)?;
        let ten = BigInt::from(10);
        while !unscaled.is_zero() && (&unscaled % &ten).is_zero() {
            unscaled /= &ten;
            scale -= 1;
        }
        if unscaled.is_zero() {
            scale = 0;
        }
        Some(Decimal { text: text.into(), unscaled, scale })
    }

    /// The decimal as it was written, without the `M`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Value {
    /// Parses exactly one EDN value (an initial state, say); empty text or anything
    /// after the value is an error. `str::parse` does the same.
    ///
    /// ```
    /// use knossos_rs::Value;
    ///
    /// let v = Value::from_edn("{:x [1 2N]}").unwrap();
    /// assert_eq!(v.get("x"), Some(&Value::from(vec![1, 2])));
    /// assert_eq!("nil".parse::<Value>().unwrap(), Value::Nil);
    /// assert!(Value::from_edn("[1 2").is_err());
    /// ```
    pub fn from_edn(text: &str) -> Result<Value, InputError> {
        crate::read::parse_edn(text)
    }

    /// A keyword value (`Value::keyword("read")` is `:read`).
    pub fn keyword(name: &str) -> Value {
        Value::Keyword(name.into())
    }

    /// A string value.
    pub fn string(s: &str) -> Value {
        Value::String(s.into())
    }

    /// A map from `(keyword name, value)` pairs, as the analysis is built.
    pub fn kw_map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (Value::keyword(k), v)).collect())
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The keyword's name, if this is a keyword.
    pub fn as_keyword(&self) -> Option<&str> {
        match self {
            Value::Keyword(k) => Some(k),
            _ => None,
        }
    }

    /// A name, whether written as a keyword, a string or a symbol: how an op's
    /// `:f` (`:read`, `"read"` in JSON) or `:type` is read.
    ///
    /// ```
    /// use knossos_rs::Value;
    /// assert_eq!(Value::keyword("read").as_name(), Some("read"));
    /// assert_eq!(Value::string("read").as_name(), Some("read"));
    /// assert_eq!(Value::Int(1).as_name(), None);
    /// ```
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Value::Keyword(s) | Value::String(s) | Value::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// The string's text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as a float, if this is a float or an integer of 64 bits (the
    /// nearest float to it).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The elements of a vector or list.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Vector(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits in 64 bits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::BigInt(b) => b.to_i64(),
            _ => None,
        }
    }

    /// Looks up a keyword key in a map (`None` if absent or not a map).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Keyword(name) if &**name == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::BigInt(_) => "integer",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal",
            Value::Ratio(_) => "ratio",
            Value::Char(_) => "character",
            Value::String(_) => "string",
            Value::Keyword(_) => "keyword",
            Value::Symbol(_) => "symbol",
            Value::List(_) => "list",
            Value::Vector(_) => "vector",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Tagged(..) => "tagged literal",
        }
    }

    /// Prints as EDN, like Clojure's `pr-str`.
    pub fn to_edn(&self) -> String {
        self.to_string()
    }

    /// Prints as EDN, cut to about `max` characters with `…` where it was cut: for
    /// error messages and labels, where a 10 MB value must not be printed whole.
    pub fn to_edn_short(&self, max: usize) -> String {
        let mut out = Limited { out: String::new(), left: max, cut: false };
        let _ = write!(out, "{self}");
        if out.cut {
            out.out.push('…');
        }
        out.out
    }

    /// Prints like Clojure's `str`: strings without quotes, nil as nothing.
    pub fn to_str(&self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::String(s) => s.to_string(),
            Value::Char(c) => c.to_string(),
            other => other.to_string(),
        }
    }

    /// Converts to JSON text: keywords and symbols become strings without the colon,
    /// sets and lists become arrays, map keys that are not strings or keywords are
    /// printed as EDN, tagged literals become their value, numbers keep every digit
    /// (those JSON cannot write, as ratios and infinities, become strings), and maps
    /// keep their order.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        use fmt::Write as _;
        match self {
            Value::Nil => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::BigInt(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f:?}");
            }
            Value::Decimal(d) if is_json_number(&d.text) => out.push_str(&d.text),
            Value::Float(_) | Value::Decimal(_) | Value::Ratio(_) | Value::Char(_) => {
                json_string(&self.to_str(), out)
            }
            Value::String(s) | Value::Keyword(s) | Value::Symbol(s) => json_string(s, out),
            Value::List(items) | Value::Vector(items) => json_array(items.iter(), out),
            Value::Set(items) => json_array(items.iter(), out),
            Value::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match k {
                        Value::String(s) | Value::Keyword(s) => json_string(s, out),
                        other => json_string(&other.to_edn(), out),
                    }
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
            Value::Tagged(_, v) => v.write_json(out),
        }
    }
}

impl std::str::FromStr for Value {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Value, InputError> {
        Value::from_edn(text)
    }
}

/// Values from Rust's, for ops built in code ([`HistoryBuilder`](crate::HistoryBuilder),
/// [`Online`](crate::Online)): integers, floats, booleans, strings (`&str` is a string:
/// [`Value::keyword`] makes a keyword), vectors of any of them, pairs as 2-vectors, and
/// `None` for nil.
macro_rules! from_integers {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                match i64::try_from(n) {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::BigInt(Box::new(BigInt::from(n))),
                }
            }
        }
    )*};
}

from_integers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::string(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Value {
        Value::Vector(items.into_iter().map(Into::into).collect())
    }
}

/// A pair is a 2-vector, as Jepsen writes a `[key value]` tuple or a cas's `[old new]`.
impl<A: Into<Value>, B: Into<Value>> From<(A, B)> for Value {
    fn from((a, b): (A, B)) -> Value {
        Value::Vector(vec![a.into(), b.into()])
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Nil, Into::into)
    }
}

/// Whether `text` is a number as JSON writes them.
fn is_json_number(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let text = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (mantissa, None),
    };
    digits(int)
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(digits)
        && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

/// Writes the items as a JSON array.
fn json_array<V: std::ops::Deref<Target = Value>>(items: impl Iterator<Item = V>, out: &mut String) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        item.write_json(out);
    }
    out.push(']');
}

/// Writes `s` as a JSON string.
fn json_string(s: &str, out: &mut String) {
    use fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes at most `left` characters, then remembers that it cut.
struct Limited {
    out: String,
    left: usize,
    cut: bool,
}

impl fmt::Write for Limited {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.left == 0 {
                self.cut = true;
                return Err(fmt::Error);
            }
            self.out.push(c);
            self.left -= 1;
        }
        Ok(())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq<V: fmt::Display>(
            f: &mut fmt::Formatter<'_>,
            open: &str,
            items: impl Iterator<Item = V>,
            close: &str,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, item) in items.enumerate() {
                if i > 0 {
                    f.write_char(' ')?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(close)
        }
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::BigInt(b) => write!(f, "{b}N"),
            Value::Float(x) if x.is_nan() => f.write_str("##NaN"),
            Value::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 { "##Inf" } else { "##-Inf" }),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Decimal(d) => write!(f, "{}M", d.text),
            Value::Ratio(r) => write!(f, "{}/{}", r.numer(), r.denom()),
            Value::Char(c) => match c {
                '\n' => f.write_str("\\newline"),
                ' ' => f.write_str("\\space"),
                '\t' => f.write_str("\\tab"),
                '\r' => f.write_str("\\return"),
                '\u{8}' => f.write_str("\\backspace"),
                '\u{c}' => f.write_str("\\formfeed"),
                c if c.is_control() => write!(f, "\\u{:04x}", *c as u32),
                c => write!(f, "\\{c}"),
            },
            Value::String(s) => {
                f.write_char('"')?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\r' => f.write_str("\\r")?,
                        '\u{8}' => f.write_str("\\b")?,
                        '\u{c}' => f.write_str("\\f")?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Symbol(s) => f.write_str(s),
            Value::List(items) => seq(f, "(", items.iter(), ")"),
            Value::Vector(items) => seq(f, "[", items.iter(), "]"),
            Value::Set(items) => seq(f, "#{", items.iter(), "}"),
            Value::Map(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_char('}')
            }
            // `#object[…]`, kept as written (see the EDN reader).
            Value::Tagged(tag, v) if matches!(&**v, Value::Symbol(s) if s.starts_with('[')) => {
                write!(f, "#{tag}{v}")
            }
            Value::Tagged(tag, v) => write!(f, "#{tag} {v}"),
        }
    }
}

/// Maps and sets up to this size are compared pairwise; larger ones through a hash index.
const SMALL: usize = 16;

fn unordered_eq<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool, key: impl Fn(&T) -> &Value) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= SMALL {
        return a.iter().all(|x| b.iter().any(|y| same(x, y)));
    }
    let mut index: hashbrown::HashMap<&Value, Vec<&T>, foldhash::fast::FixedState> =
        hashbrown::HashMap::with_capacity_and_hasher(b.len(), Default::default());
    for y in b {
        index.entry(key(y)).or_default().push(y);
    }
    a.iter().all(|x| index.get(key(x)).is_some_and(|ys| ys.iter().any(|y| same(x, y))))
}

impl Value {
    /// About how many bytes this value owns on the heap, beyond its inline size: for
    /// the memory budget, which must count a model's states (a queue of 40
    /// elements, a kv string) and not only their handles.
    pub fn heap_bytes(&self) -> usize {
        let inline = std::mem::size_of::<Value>();
        match self {
            Value::BigInt(_) | Value::Decimal(_) | Value::Ratio(_) => 32,
            Value::String(s) | Value::Keyword(s) | Value::Symbol(s) => s.len() + 16,
            Value::List(items) | Value::Vector(items) => {
                items.capacity() * inline + items.iter().map(Value::heap_bytes).sum::<usize>()
            }
            Value::Set(items) => match &items.0 {
                Repr::Values(v) => v.capacity() * inline + v.iter().map(Value::heap_bytes).sum::<usize>(),
                Repr::Ints(v) => v.len() * 8 + 16,
            },
            Value::Map(entries) => {
                entries.capacity() * 2 * inline
                    + entries.iter().map(|(k, v)| k.heap_bytes() + v.heap_bytes()).sum::<usize>()
            }
            Value::Tagged(tag, value) => tag.len() + 16 + inline + value.heap_bytes(),
            _ => 0,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Nil, Nil) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (BigInt(a), BigInt(b)) => a == b,
            (Int(a), BigInt(b)) | (BigInt(b), Int(a)) => b.to_i64() == Some(*a),
            (Float(a), Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Decimal(a), Decimal(b)) => a.scale == b.scale && a.unscaled == b.unscaled,
            (Ratio(a), Ratio(b)) => a == b,
            (Char(a), Char(b)) => a == b,
            // Readers share one allocation among equal names: the address often decides.
            (String(a), String(b)) | (Keyword(a), Keyword(b)) | (Symbol(a), Symbol(b)) => {
                Arc::ptr_eq(a, b) || a == b
            }
            (List(a) | Vector(a), List(b) | Vector(b)) => a == b,
            (Map(a), Map(b)) => unordered_eq(a, b, |x, y| x == y, |e| &e.0),
            (Set(a), Set(b)) => a == b,
            (Tagged(t, a), Tagged(u, b)) => t == u && a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

/// A fixed, seedless hasher for the order-independent hashes of map entries and
/// set elements, so that equal values hash equally in every process.
fn item_hash(item: &impl Hash) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6b6e6f73736f73).hash_one(item)
}

use std::hash::BuildHasher as _;

impl Hash for Value {
    fn hash<H: Hasher>(&self, h: &mut H) {
        use Value::*;
        match self {
            Nil => h.write_u8(0),
            Bool(b) => {
                h.write_u8(1);
                b.hash(h)
            }
            Int(i) => {
                h.write_u8(2);
                h.write_i64(*i)
            }
            BigInt(b) => match b.to_i64() {
                Some(i) => {
                    h.write_u8(2);
                    h.write_i64(i)
                }
                None => {
                    h.write_u8(3);
                    b.hash(h)
                }
            },
            Float(x) => {
                h.write_u8(4);
                // -0.0 == 0.0, and every NaN is one value here.
                let x = if *x == 0.0 {
                    0.0
                } else if x.is_nan() {
                    f64::NAN
                } else {
                    *x
                };
                h.write_u64(x.to_bits())
            }
            Decimal(d) => {
                h.write_u8(5);
                d.unscaled.hash(h);
                h.write_i64(d.scale)
            }
            Ratio(r) => {
                h.write_u8(6);
                r.hash(h)
            }
            Char(c) => {
                h.write_u8(7);
                c.hash(h)
            }
            String(s) => {
                h.write_u8(8);
                s.hash(h)
            }
            Keyword(s) => {
                h.write_u8(9);
                s.hash(h)
            }
            Symbol(s) => {
                h.write_u8(10);
                s.hash(h)
            }
            List(items) | Vector(items) => {
                h.write_u8(11);
                items.hash(h)
            }
            Map(entries) => {
                h.write_u8(12);
                h.write_usize(entries.len());
                h.write_u64(entries.iter().map(item_hash).fold(0, u64::wrapping_add))
            }
            Set(items) => {
                h.write_u8(13);
                h.write_usize(items.len());
                h.write_u64(items.iter().map(|item| item_hash(&*item)).fold(0, u64::wrapping_add))
            }
            Tagged(tag, v) => {
                h.write_u8(14);
                tag.hash(h);
                v.hash(h)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(s: &str) -> Value {
        Value::BigInt(Box::new(s.parse().unwrap()))
    }

    fn hash(v: &Value) -> u64 {
        item_hash(v)
    }

    #[test]
    fn clojure_equality() {
        // 5 = 5N, and they hash alike.
        assert_eq!(Value::Int(5), big("5"));
        assert_eq!(hash(&Value::Int(5)), hash(&big("5")));
        // 1 ≠ 1.0; "a" ≠ :a ≠ 'a
        assert_ne!(Value::Int(1), Value::Float(1.0));
        assert_ne!(Value::string("a"), Value::keyword("a"));
        assert_ne!(Value::keyword("a"), Value::Symbol("a".into()));
        // [1 2] = (1 2)
        let v = Value::Vector(vec![Value::Int(1), Value::Int(2)]);
        let l = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(v, l);
        assert_eq!(hash(&v), hash(&l));
        // maps and sets ignore order
        let m1 = Value::kw_map([("a", Value::Int(1)), ("b", Value::Int(2))]);
        let m2 = Value::kw_map([("b", Value::Int(2)), ("a", Value::Int(1))]);
        assert_eq!(m1, m2);
        assert_eq!(hash(&m1), hash(&m2));
        let m3 = Value::kw_map([("b", Value::Int(2)), ("a", Value::Int(3))]);
        assert_ne!(m1, m3);
        // a vector never equals a set
        assert_ne!(Value::Set(vec![Value::Int(1)].into()), Value::Vector(vec![Value::Int(1)]));
        // 1.5M = 1.50M, but ≠ 1.5
        let d1 = Value::Decimal(Box::new(Decimal::parse("1.5").unwrap()));
        let d2 = Value::Decimal(Box::new(Decimal::parse("1.50").unwrap()));
        assert_eq!(d1, d2);
        assert_eq!(hash(&d1), hash(&d2));
        assert_ne!(d1, Value::Float(1.5));
        assert_eq!(d1.to_edn(), "1.5M");
        assert_eq!(d2.to_edn(), "1.50M");
    }

    #[test]
    fn large_unordered_collections() {
        let a: Vec<Value> = (0..100).map(Value::Int).collect();
        let mut b = a.clone();
        b.reverse();
        assert_eq!(Value::Set(a.clone().into()), Value::Set(b.clone().into()));
        b[0] = Value::Int(1000);
        assert_ne!(Value::Set(a.into()), Value::Set(b.into()));
    }

    #[test]
    fn sets_of_integers_are_packed_and_shared() {
        let read = Value::from_edn("#{3 1 2}").unwrap();
        let Value::Set(elements) = &read else { panic!("{read}") };
        assert_eq!(elements.held(), Ok(&[1, 2, 3][..]));
        let copy = elements.clone();
        assert!(matches!((&copy.0, &elements.0), (Repr::Ints(a), Repr::Ints(b)) if Arc::ptr_eq(a, b)));
        assert_eq!(read.heap_bytes(), 3 * 8 + 16);
        // Anything but integers of 64 bits keeps its values, in their order.
        let mixed = Value::from_edn("#{3 1 2N}").unwrap();
        let Value::Set(values) = &mixed else { panic!("{mixed}") };
        assert!(values.held().is_err());
        assert_eq!(mixed.to_edn(), "#{3 1 2N}");
        assert_eq!(mixed, read);
        assert_eq!(hash(&mixed), hash(&read));
        // Listed twice (as code may build it), an element leaves a set unpacked.
        assert!(Elements::from(vec![Value::Int(1), Value::Int(1)]).held().is_err());
        assert!(Elements::default().held().is_err());
    }

    /// Random sets of a few elements, each built from values (packed when they can
    /// be), against a reference that names each element by its value: equality,
    /// hashes, `contains`, `with`, and printing back.
    #[test]
    fn packed_sets_are_sets_of_their_values() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(7);
        fn element(rng: &mut StdRng) -> Value {
            match rng.random_range(0..12) {
                0 => big(&rng.random_range(0..6).to_string()),
                1 => big("99999999999999999999"),
                2 => Value::keyword("k"),
                _ => Value::Int(rng.random_range(0..6)),
            }
        }
        // 3 and 3N are one element.
        let name = |e: &Value| e.as_i64().map_or(e.to_edn(), |i| i.to_string());
        let names = |elements: &mut dyn Iterator<Item = Value>| {
            let mut names: Vec<String> = elements.map(|e| name(&e)).collect();
            names.sort();
            names
        };
        let draw = |rng: &mut StdRng| {
            let mut set: Vec<Value> = Vec::new();
            for _ in 0..rng.random_range(0..6) {
                let e = element(rng);
                if !set.contains(&e) {
                    set.push(e);
                }
            }
            set
        };
        let mut packed = 0;
        for _ in 0..5000 {
            let (a, b) = (draw(&mut rng), draw(&mut rng));
            let (ea, eb) = (Elements::from(a.clone()), Elements::from(b.clone()));
            packed += ea.held().is_ok() as usize;
            let (sa, sb) = (Value::Set(ea.clone()), Value::Set(eb));
            let same = names(&mut a.iter().cloned()) == names(&mut b.iter().cloned());
            assert_eq!(sa == sb, same, "{sa} {sb}");
            if same {
                assert_eq!(hash(&sa), hash(&sb), "{sa} {sb}");
            }
            assert_eq!(ea.len(), a.len());
            assert_eq!(names(&mut ea.iter().map(Cow::into_owned)), names(&mut a.iter().cloned()));
            let x = element(&mut rng);
            assert_eq!(ea.contains(&x), a.iter().any(|e| name(e) == name(&x)), "{sa} {x}");
            let mut with = names(&mut a.iter().cloned());
            if !with.contains(&name(&x)) {
                with.push(name(&x));
                with.sort();
            }
            assert_eq!(names(&mut ea.with(&x).iter().map(Cow::into_owned)), with, "{sa} {x}");
            assert_eq!(Value::from_edn(&sa.to_edn()).unwrap(), sa);
        }
        assert!(packed > 1000, "{packed}");
    }

    #[test]
    fn printing() {
        let s = Value::string("a\"b\\c\nd\te");
        assert_eq!(s.to_edn(), r#""a\"b\\c\nd\te""#);
        assert_eq!(Value::Char('\n').to_edn(), "\\newline");
        assert_eq!(Value::Char('x').to_edn(), "\\x");
        assert_eq!(Value::Float(1.0).to_edn(), "1.0");
        assert_eq!(Value::Float(f64::INFINITY).to_edn(), "##Inf");
        assert_eq!(big("14586953315945740430000000000").to_edn(), "14586953315945740430000000000N");
        let m = Value::kw_map([("process", Value::Int(1)), ("value", Value::Nil)]);
        assert_eq!(m.to_edn(), "{:process 1, :value nil}");
        assert_eq!(Value::Nil.to_str(), "");
        let long = Value::string(&"x".repeat(1000));
        let short = long.to_edn_short(20);
        assert_eq!(short.chars().count(), 21);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn json_keeps_big_numbers() {
        let v = Value::Vector(vec![big("123456789012345678901234567890"), Value::keyword("ok")]);
        assert_eq!(v.to_json(), r#"[123456789012345678901234567890,"ok"]"#);
    }
}
