//! `set`: a grow-only set, read whole.
//!
//! `:add v` adds `v`; `:read s` is legal only when `s` is exactly the set: nil is not
//! a wildcard here (a set read returns the whole set or fails), and a vector never
//! equals a set, as in Clojure. The state prints as `{:value #{1 2}}`. A crashed read
//! (recorded with nil) changes nothing and is never linearized; a crashed add may take
//! effect.

use super::{expected, function, labelled, why, Model, Semantics};
use crate::value::{Elements, Value};
use std::borrow::Cow;

/// A set, empty at first unless an initial set says otherwise.
#[derive(Clone, Debug, Default)]
pub struct Set {
    /// The initial elements, each once.
    init: Vec<Value>,
}

impl Set {
    /// A set holding `init`'s elements (a set, or a vector or list whose repeated
    /// elements count once).
    pub fn with_init(init: &Value) -> Result<Set, String> {
        let elements = match init {
            Value::Set(elements) => elements.values(),
            Value::Vector(elements) | Value::List(elements) => Cow::Borrowed(&elements[..]),
            other => return Err(expected("the initial state (`ModelOptions::init`, `--init`) for set must be a set or a vector, e.g. #{1 2}", other)),
        };
        let mut set = Vec::new();
        for e in elements.iter() {
            if !set.contains(e) {
                set.push(e.clone());
            }
        }
        Ok(Set { init: set })
    }
}

impl Set {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let empty = Elements::default();
        let elements = match state {
            Value::Set(elements) => elements,
            _ => &empty,
        };
        match function(f, &["add", "read"])? {
            "add" if elements.contains(value) => Ok(state.clone()),
            "add" => Ok(Value::Set(elements.with(value))),
            _ if value == state => Ok(state.clone()),
            _ => Err(why(explain, || format!("can't read {value} from {state}"))),
        }
    }
}

impl Model for Set {
    type State = Value;

    fn name(&self) -> &str {
        "set"
    }
    fn init(&self) -> Value {
        Value::Set(self.init.clone().into())
    }
    fn check_op(&self, f: &Value, _value: &Value) -> Result<(), String> {
        function(f, &["add", "read"]).map(|_| ())
    }
    step_by_apply!();
    fn is_read(&self, f: &Value, _value: &Value) -> bool {
        function(f, &["add", "read"]) == Ok("read")
    }
    fn render(&self, state: &Value) -> Value {
        labelled("value", state)
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        Some(Semantics::Set { init: &self.init })
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

    #[test]
    fn reads_must_return_the_whole_set() {
        let m = Set::default();
        let (add, read) = (Value::keyword("add"), Value::keyword("read"));
        let v = |edn: &str| parse_edn(edn).unwrap();
        let one = step_or_why(&m, &m.init(), &add, &v("1")).unwrap();
        let two = step_or_why(&m, &one, &add, &v("2")).unwrap();
        assert_eq!(m.render(&two).to_edn(), "{:value #{1 2}}");
        // adding an element twice changes nothing
        assert_eq!(step_or_why(&m, &two, &add, &v("1")).unwrap().to_edn(), "#{1 2}");
        // order does not matter; 2N is 2
        assert!(step_or_why(&m, &two, &read, &v("#{2N 1}")).is_ok());
        assert_eq!(step_or_why(&m, &two, &read, &v("#{1}")), Err("can't read #{1} from #{1 2}".into()));
        assert_eq!(step_or_why(&m, &two, &read, &v("[1 2]")), Err("can't read [1 2] from #{1 2}".into()));
        assert_eq!(step_or_why(&m, &m.init(), &read, &Value::Nil), Err("can't read nil from #{}".into()));
        assert!(m.check_op(&Value::keyword("remove"), &v("1")).unwrap_err().contains(":add and :read"));
    }
}
