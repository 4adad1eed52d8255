//! Models: what a correct object does, one step at a time.
//!
//! A [`Model`] is a sequential specification: an initial state and a step function
//! from a state and an operation to the next state, or to an inconsistency. The
//! search never calls a model directly: [`memo::Memo`] interns the states a model
//! produces to small integers and caches every transition it has computed, so a
//! model may be as slow and as allocation-happy as is convenient to write.
//!
//! The built-in models are named by [`builtin`]; their messages are Knossos's, so
//! analyses read the same.

pub mod memo;
mod register;

pub use register::{CasRegister, NilReads, Register};

use crate::value::Value;
use std::hash::Hash;

/// A sequential specification of an object.
///
/// States must be cheap to compare and hash; they are interned, so each distinct
/// state is stored once however often the search meets it.
pub trait Model: Send + Sync {
    /// The object's state.
    type State: Clone + Eq + Hash + Send + Sync;

    /// The name users give on the command line (`cas-register`).
    fn name(&self) -> &str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Checks, before the search starts, that the model understands an operation
    /// with this function and (completed) value; the error says what it expects.
    /// Operations that pass are guaranteed to reach [`Model::step`] only.
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String>;

    /// Applies an operation: the next state, or why the operation is impossible in
    /// this state (the inconsistency message of the analysis).
    fn step(&self, state: &Self::State, f: &Value, value: &Value) -> Result<Self::State, String>;

    /// The state as the analysis prints it (`{:value 2}`).
    fn render(&self, state: &Self::State) -> Value;

    /// The argument [`Model::check_op`] and [`Model::step`] receive for an
    /// operation, from its invocation's op map and its completed value. By default
    /// the value itself; a model that needs another field of the op (`kv` needs
    /// `:key`) combines them here, or says what is missing.
    fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
        let _ = invoke;
        Ok(value.clone())
    }

    /// For a model whose operations on different keys never interact
    /// (P-compositionality), the key of an op (from its op map); the history is
    /// then checked key by key, exactly. `None`: the model does not split.
    fn partition_key(&self, op: &Value) -> Option<Value> {
        let _ = op;
        None
    }
}

impl<M: Model + ?Sized> Model for Box<M> {
    type State = M::State;
    fn name(&self) -> &str {
        (**self).name()
    }
    fn init(&self) -> M::State {
        (**self).init()
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        (**self).check_op(f, value)
    }
    fn step(&self, state: &M::State, f: &Value, value: &Value) -> Result<M::State, String> {
        (**self).step(state, f, value)
    }
    fn render(&self, state: &M::State) -> Value {
        (**self).render(state)
    }
    fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
        (**self).argument(invoke, value)
    }
    fn partition_key(&self, op: &Value) -> Option<Value> {
        (**self).partition_key(op)
    }
}

/// A built-in model, chosen by name at run time.
pub type DynModel = Box<dyn Model<State = Value>>;

/// Options of the built-in models.
#[derive(Clone, Debug, Default)]
pub struct ModelOptions {
    /// The initial state (`--init`); each model's default when `None`.
    pub init: Option<Value>,
    /// What a read of nil means to the register models.
    pub nil_reads: NilReads,
}

/// The names of the built-in models, for `--model`.
pub const BUILTIN: &[&str] = &["register", "cas-register"];

/// The built-in model with this name.
pub fn builtin(name: &str, options: &ModelOptions) -> Result<DynModel, String> {
    let init = options.init.clone().unwrap_or(Value::Nil);
    match name {
        "register" => Ok(Box::new(Register { init, nil_reads: options.nil_reads })),
        "cas-register" => Ok(Box::new(CasRegister { init, nil_reads: options.nil_reads })),
        _ => Err(format!("unknown model `{name}`; the models are: {}", BUILTIN.join(", "))),
    }
}

/// The name of an operation's function, whether written as a keyword, string or symbol.
pub fn f_name(f: &Value) -> Option<&str> {
    match f {
        Value::Keyword(s) | Value::String(s) | Value::Symbol(s) => Some(s),
        _ => None,
    }
}
