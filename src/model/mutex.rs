//! `mutex`: a lock that `:acquire` takes and `:release` gives back.
//!
//! The state is a boolean, `true` when held, printed `{:locked? true}`. An op's value is
//! ignored: Knossos's mutex does not know who holds it, so neither does this one; a
//! crashed acquire or release may take effect.

use super::{expected, function, labelled, Model};
use crate::value::Value;

/// A single lock, unlocked at first unless [`Mutex::locked`] says otherwise.
#[derive(Clone, Debug, Default)]
pub struct Mutex {
    /// Whether the mutex is held before any operation.
    pub locked: bool,
}

impl Mutex {
    /// A mutex starting as `--init` says: `true` (locked) or `false` (unlocked).
    pub fn with_init(init: &Value) -> Result<Mutex, String> {
        match init {
            Value::Bool(locked) => Ok(Mutex { locked: *locked }),
            other => Err(expected("the initial state (`ModelOptions::init`, `--init`) for mutex must be true (locked) or false (unlocked)", other)),
        }
    }
}

/// Whether an op acquires (rather than releases) the lock.
fn acquires(f: &Value) -> Result<bool, String> {
    function(f, &["acquire", "release"]).map(|f| f == "acquire")
}

impl Model for Mutex {
    type State = Value;

    fn name(&self) -> &str {
        "mutex"
    }
    fn init(&self) -> Value {
        Value::Bool(self.locked)
    }
    fn check_op(&self, f: &Value, _value: &Value) -> Result<(), String> {
        acquires(f).map(|_| ())
    }
    fn step(&self, state: &Value, f: &Value, _value: &Value) -> Option<Value> {
        let locked = matches!(state, Value::Bool(true));
        // check_op let only :acquire and :release through
        (acquires(f).ok()? != locked).then_some(Value::Bool(!locked))
    }
    fn inconsistency(&self, state: &Value, f: &Value, _value: &Value) -> String {
        match (acquires(f), state) {
            (Ok(true), Value::Bool(true)) => "already held".into(),
            (Ok(false), _) => "not held".into(),
            _ => String::new(),
        }
    }
    fn render(&self, state: &Value) -> Value {
        labelled("locked?", state)
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::step_or_why;

    #[test]
    fn acquire_and_release_alternate() {
        let m = Mutex::default();
        let (acquire, release) = (Value::keyword("acquire"), Value::keyword("release"));
        let free = m.init();
        let held = step_or_why(&m, &free, &acquire, &Value::Nil).unwrap();
        assert_eq!(m.render(&held).to_edn(), "{:locked? true}");
        assert_eq!(step_or_why(&m, &held, &acquire, &Value::Nil), Err("already held".into()));
        // the value is ignored, whatever it is
        assert_eq!(step_or_why(&m, &held, &release, &Value::Int(7)), Ok(free.clone()));
        assert_eq!(step_or_why(&m, &free, &release, &Value::Nil), Err("not held".into()));
        let e = m.check_op(&Value::keyword("lock"), &Value::Nil).unwrap_err();
        assert!(e.contains(":acquire and :release"), "{e}");
    }
}
