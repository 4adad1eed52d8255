//! `noop`: every operation is legal, so every history is linearizable.
//!
//! Useful to check that a history reads and pairs correctly, or to time everything
//! but the search. It has no state (printed `{}`) and takes no `--init`.

use super::Model;
use crate::value::Value;

/// The model that accepts everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Noop;

impl Model for Noop {
    /// Nil, always: one state (a `Value`, so that `noop` is a [`DynModel`](super::DynModel)).
    type State = Value;

    fn name(&self) -> &str {
        "noop"
    }
    fn init(&self) -> Value {
        Value::Nil
    }
    fn check_op(&self, _f: &Value, _value: &Value) -> Result<(), String> {
        Ok(())
    }
    fn step(&self, _state: &Value, _f: &Value, _value: &Value) -> Option<Value> {
        Some(Value::Nil)
    }
    /// Nothing ever changes.
    fn is_read(&self, _f: &Value, _value: &Value) -> bool {
        true
    }
    fn render(&self, _state: &Value) -> Value {
        Value::Map(Vec::new())
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}
