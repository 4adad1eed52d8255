//! `kv`: a key-value store of strings, as Porcupine's kv tests record it.
//!
//! Each op names its key in its op map's `:key` field, not in its value:
//! `{:f :put, :key "a", :value "x"}`. `:put s` sets the key to the string `s`,
//! `:append s` appends `s` to it, and `:get` returns (on its `:ok`) the key's string,
//! `""` for a key never written. A `:get` that returned nil is unknown and legal, as a
//! nil read is in Knossos: Jepsen records crashed reads with nil, and Porcupine's
//! histories never return nil (an absent key reads `""`). With [`NilReads::Absent`],
//! nil means the key is absent instead, that is `""`.
//!
//! Operations on different keys never interact, so the model names each op's key
//! ([`Model::partition_key`]) and the history is checked key by key; the model is
//! exact on the whole history too. Its state is a map from keys to their strings,
//! without the keys holding `""` (so that one state has one form), printed
//! `{:value {"a" "xy"}}`; its part for a key ([`Model::part`]) is the map of that key
//! alone, so that a whole-history search interns each key's string on its own. The
//! step function receives `[key value]`, built by [`Model::argument`] from the op's
//! `:key` and its completed value.

use super::{
    entry, expected, function, labelled, map_join, map_part, set_entry, why, Model, NilReads, Semantics,
};
use crate::value::Value;

/// A map from keys to strings, every key `""` at first unless an initial map says
/// otherwise.
#[derive(Clone, Debug, Default)]
pub struct Kv {
    /// The initial strings, without empty ones.
    init: Vec<(Value, Value)>,
    nil_reads: NilReads,
}

impl Kv {
    /// A store holding `init` (a map from keys to strings; `None`: empty).
    pub fn with_init(init: Option<&Value>, nil_reads: NilReads) -> Result<Kv, String> {
        let bad = |v: &Value| {
            expected("the initial state (`ModelOptions::init`, `--init`) for kv must be a map from keys to strings, such as {\"a\" \"x\"}", v)
        };
        let init = match init {
            None => Vec::new(),
            Some(Value::Map(entries)) => {
                if let Some((_, v)) = entries.iter().find(|(_, v)| !matches!(v, Value::String(_))) {
                    return Err(bad(v));
                }
                entries.iter().filter(|(_, v)| *v != Value::string("")).cloned().collect()
            }
            Some(other) => return Err(bad(other)),
        };
        Ok(Kv { init, nil_reads })
    }
}

/// A kv operation on a key.
enum KvOp<'a> {
    /// The string (or nil) a get returned.
    Get(&'a Value),
    Put(&'a str),
    Append(&'a str),
}

/// The key and operation of a `[key value]` argument.
fn parse<'a>(f: &Value, argument: &'a Value) -> Result<(&'a Value, KvOp<'a>), String> {
    let f = function(f, &["get", "put", "append"])?;
    let Some([key, value]) = argument.as_seq() else {
        return Err(expected("a kv op's argument must be [key value]", argument));
    };
    let op = match (f, value) {
        ("get", Value::String(_) | Value::Nil) => KvOp::Get(value),
        ("get", _) => return Err(expected("a kv :get must return a string (or nil: unknown)", value)),
        ("put", Value::String(s)) => KvOp::Put(s),
        (_, Value::String(s)) => KvOp::Append(s),
        (f, _) => return Err(expected(&format!("a kv :{f} value must be a string"), value)),
    };
    Ok((key, op))
}

/// The string `state` holds for `key` (`""` where it holds none).
fn string_of<'a>(state: &'a Value, key: &Value) -> &'a str {
    let entries = match state {
        Value::Map(entries) => entries.as_slice(),
        _ => &[],
    };
    match entry(entries, key) {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

impl Kv {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let (key, op) = parse(f, value)?;
        let current = string_of(state, key);
        let next = match op {
            KvOp::Get(v) => {
                let legal = self.nil_reads.is_unknown(v)
                    || matches!(v, Value::String(s) if &**s == current)
                    || (v.is_nil() && current.is_empty());
                if !legal {
                    return Err(why(explain, || {
                        format!("can't get {v} from key {key} holding {}", Value::string(current))
                    }));
                }
                return Ok(state.clone());
            }
            KvOp::Put(s) => s.to_string(),
            KvOp::Append(s) => format!("{current}{s}"),
        };
        let mut entries = match state {
            Value::Map(entries) => entries.clone(),
            _ => Vec::new(),
        };
        set_entry(&mut entries, key, (!next.is_empty()).then(|| Value::string(&next)));
        Ok(Value::Map(entries))
    }
}

impl Model for Kv {
    type State = Value;

    fn name(&self) -> &str {
        "kv"
    }
    fn init(&self) -> Value {
        Value::Map(self.init.clone())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        labelled("value", state)
    }
    /// `[key value]`: the invocation's `:key` with the completed value.
    fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
        match invoke.get("key") {
            Some(key) if !key.is_nil() => Ok(Value::Vector(vec![key.clone(), value.clone()])),
            _ => Err("a kv op needs a :key, the key it gets, puts or appends to, \
                      as in {:f :put, :key \"a\", :value \"x\"}"
                .into()),
        }
    }
    /// The op's `:key`: operations on different keys never interact.
    fn partition_key(&self, op: &Value) -> Option<Value> {
        op.get("key").filter(|k| !k.is_nil()).cloned()
    }
    /// The map of the key's string alone.
    fn part(&self, state: &Value, key: &Value) -> Option<Value> {
        map_part(state, key)
    }
    fn join(&self, base: &Value, parts: &[(&Value, &Value)]) -> Value {
        map_join(base, parts)
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        Some(Semantics::Kv { init: &self.init, nil_reads: self.nil_reads })
    }
    fn is_read(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value), Ok((_, KvOp::Get(_))))
    }
    /// A put: for the one key of the history, as the engines ask.
    fn overwrites(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value), Ok((_, KvOp::Put(_))))
    }
    /// A get observes the key's string if the string may still grow into what it
    /// returned (appends only lengthen it): the string is a prefix of it.
    fn may_observe(&self, state: &Value, f: &Value, value: &Value) -> bool {
        let Ok((key, op)) = parse(f, value) else { return true };
        let KvOp::Get(v) = op else { return matches!(op, KvOp::Put(_)) };
        let current = string_of(state, key);
        match v {
            Value::String(s) => s.starts_with(current),
            _ => !self.nil_reads.is_unknown(v) && current.is_empty(),
        }
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::step_or_why;
    use crate::read::parse_edn;

    fn op(m: &Kv, state: &Value, f: &str, key: &str, value: Value) -> Result<Value, String> {
        step_or_why(m, state, &Value::keyword(f), &Value::Vector(vec![Value::string(key), value]))
    }

    #[test]
    fn get_put_append_per_key() {
        let m = Kv::default();
        let s = op(&m, &m.init(), "append", "a", Value::string("x")).unwrap();
        let s = op(&m, &s, "append", "a", Value::string("y")).unwrap();
        assert_eq!(m.render(&s).to_edn(), r#"{:value {"a" "xy"}}"#);
        assert!(op(&m, &s, "get", "a", Value::string("xy")).is_ok());
        // a key never written holds ""
        assert!(op(&m, &s, "get", "b", Value::string("")).is_ok());
        assert_eq!(
            op(&m, &s, "get", "a", Value::string("x")),
            Err(r#"can't get "x" from key "a" holding "xy""#.into())
        );
        assert_eq!(
            op(&m, &s, "get", "b", Value::string("x")),
            Err(r#"can't get "x" from key "b" holding """#.into())
        );
        // nil is unknown
        assert!(op(&m, &s, "get", "a", Value::Nil).is_ok());
        // put replaces; putting "" is the same state as never writing
        let p = op(&m, &s, "put", "a", Value::string("z")).unwrap();
        assert_eq!(p.to_edn(), r#"{"a" "z"}"#);
        assert_eq!(op(&m, &s, "put", "a", Value::string("")).unwrap(), m.init());
    }

    #[test]
    fn nil_reads_absent_means_empty() {
        let m = Kv::with_init(Some(&parse_edn(r#"{"a" "x"}"#).unwrap()), NilReads::Absent).unwrap();
        assert!(op(&m, &m.init(), "get", "a", Value::Nil).is_err());
        assert!(op(&m, &m.init(), "get", "b", Value::Nil).is_ok());
    }

    #[test]
    fn argument_and_bad_ops() {
        let m = Kv::default();
        let put = parse_edn(r#"{:process 0, :type :invoke, :f :put, :key "k", :value "v"}"#).unwrap();
        let argument = m.argument(&put, &Value::string("v")).unwrap();
        assert_eq!(argument.to_edn(), r#"["k" "v"]"#);
        assert_eq!(m.partition_key(&put), Some(Value::string("k")));
        let keyless = parse_edn("{:process 0, :type :invoke, :f :put, :value \"v\"}").unwrap();
        assert!(m.argument(&keyless, &Value::Nil).unwrap_err().contains(":key"));
        assert_eq!(m.partition_key(&keyless), None);
        let check = |f: &str, v: &str| m.check_op(&Value::keyword(f), &parse_edn(v).unwrap());
        assert!(check("put", r#"["k" 1]"#).unwrap_err().contains(":put value must be a string"));
        assert!(check("append", r#"["k" nil]"#).unwrap_err().contains(":append value must be a string"));
        assert!(check("get", r#"["k" 1]"#).unwrap_err().contains(":get must return a string"));
        assert!(check("get", r#""k""#).unwrap_err().contains("[key value]"));
        assert!(check("cas", r#"["k" "v"]"#).unwrap_err().contains(":get, :put and :append"));
        assert_eq!(check("get", r#"["k" nil]"#), Ok(()));
    }
}
