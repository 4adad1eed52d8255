//! Registers: `register` (read, write) and `cas-register` (read, write, compare-and-set).
//!
//! A read of nil is unknown and legal (unless [`NilReads::Absent`]: the register held
//! nil), as Jepsen records a crashed read with nil; a crashed read changes nothing and
//! is never linearized either way. A crashed write or cas may take effect with the
//! value it was invoked with.

use super::{expected, function, labelled, why, Model, NilReads, Semantics};
use crate::value::Value;

/// A read/write register whose state is any value.
#[derive(Clone, Debug)]
pub struct Register {
    /// The value before any write.
    pub init: Value,
    /// What a read of nil means.
    pub nil_reads: NilReads,
}

/// A register that also supports `:cas [old new]`.
#[derive(Clone, Debug)]
pub struct CasRegister {
    /// The value before any write.
    pub init: Value,
    /// What a read of nil means.
    pub nil_reads: NilReads,
}

/// The operations both registers share.
enum RegisterOp<'a> {
    Read(&'a Value),
    Write(&'a Value),
    Cas(&'a Value, &'a Value),
}

fn parse<'a>(f: &Value, value: &'a Value, cas: bool) -> Result<RegisterOp<'a>, String> {
    let known: &[&str] = if cas { &["read", "write", "cas"] } else { &["read", "write"] };
    match function(f, known)? {
        "read" => Ok(RegisterOp::Read(value)),
        "write" => Ok(RegisterOp::Write(value)),
        _ => match value.as_seq() {
            Some([old, new]) => Ok(RegisterOp::Cas(old, new)),
            _ => Err(expected("a :cas value must be [old new]", value)),
        },
    }
}

impl Register {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        match parse(f, value, false)? {
            RegisterOp::Write(v) => Ok(v.clone()),
            RegisterOp::Read(v) if can_read(state, v, self.nil_reads) => Ok(state.clone()),
            RegisterOp::Read(v) => Err(why(explain, || format!("{state}≠{v}"))),
            RegisterOp::Cas(..) => unreachable!("parse rejects :cas for a plain register"),
        }
    }
}

impl CasRegister {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        match parse(f, value, true)? {
            RegisterOp::Write(v) => Ok(v.clone()),
            RegisterOp::Cas(old, new) if old == state => Ok(new.clone()),
            RegisterOp::Cas(old, new) => {
                Err(why(explain, || format!("can't CAS {state} from {old} to {new}")))
            }
            RegisterOp::Read(v) if can_read(state, v, self.nil_reads) => Ok(state.clone()),
            RegisterOp::Read(v) => Err(why(explain, || format!("can't read {v} from register {state}"))),
        }
    }
}

/// Whether reading `v` from a register holding `state` is legal.
fn can_read(state: &Value, v: &Value, nil_reads: NilReads) -> bool {
    nil_reads.is_unknown(v) || v == state
}

/// Whether a register's operation may tell `state` from another: a read of it
/// (not an unknown one, legal in every state), a cas from it.
fn observes(state: &Value, op: Result<RegisterOp<'_>, String>, nil_reads: NilReads) -> bool {
    match op {
        Ok(RegisterOp::Read(v)) => !nil_reads.is_unknown(v) && v == state,
        Ok(RegisterOp::Cas(old, _)) => old == state,
        _ => true,
    }
}

impl Model for Register {
    type State = Value;

    fn name(&self) -> &str {
        "register"
    }
    fn init(&self) -> Value {
        self.init.clone()
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value, false).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        labelled("value", state)
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        Some(Semantics::Register { init: &self.init, cas: false, nil_reads: self.nil_reads })
    }
    fn is_read(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value, false), Ok(RegisterOp::Read(_)))
    }
    fn overwrites(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value, false), Ok(RegisterOp::Write(_)))
    }
    fn may_observe(&self, state: &Value, f: &Value, value: &Value) -> bool {
        observes(state, parse(f, value, false), self.nil_reads)
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

impl Model for CasRegister {
    type State = Value;

    fn name(&self) -> &str {
        "cas-register"
    }
    fn init(&self) -> Value {
        self.init.clone()
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value, true).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        labelled("value", state)
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        Some(Semantics::Register { init: &self.init, cas: true, nil_reads: self.nil_reads })
    }
    fn is_read(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value, true), Ok(RegisterOp::Read(_)))
    }
    fn overwrites(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value, true), Ok(RegisterOp::Write(_)))
    }
    fn may_observe(&self, state: &Value, f: &Value, value: &Value) -> bool {
        observes(state, parse(f, value, true), self.nil_reads)
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::step_or_why;

    fn kw(s: &str) -> Value {
        Value::keyword(s)
    }

    fn pair(a: i64, b: i64) -> Value {
        Value::Vector(vec![Value::Int(a), Value::Int(b)])
    }

    #[test]
    fn cas_register_steps() {
        let m = CasRegister { init: Value::Int(0), nil_reads: NilReads::Unknown };
        let s = m.init();
        // write always succeeds and sets the value
        assert_eq!(step_or_why(&m, &s, &kw("write"), &Value::Int(3)), Ok(Value::Int(3)));
        // cas from the current value succeeds, from another fails with Knossos's message
        assert_eq!(step_or_why(&m, &s, &kw("cas"), &pair(0, 5)), Ok(Value::Int(5)));
        assert_eq!(step_or_why(&m, &s, &kw("cas"), &pair(1, 5)), Err("can't CAS 0 from 1 to 5".into()));
        // reads: equal value, or nil (unknown) are legal
        assert_eq!(step_or_why(&m, &s, &kw("read"), &Value::Int(0)), Ok(Value::Int(0)));
        assert_eq!(step_or_why(&m, &s, &kw("read"), &Value::Nil), Ok(Value::Int(0)));
        assert_eq!(
            step_or_why(&m, &s, &kw("read"), &Value::Int(2)),
            Err("can't read 2 from register 0".into())
        );
        // values print as EDN: nil as nil (Knossos's str prints nothing), strings quoted
        assert_eq!(
            step_or_why(&m, &Value::Nil, &kw("read"), &Value::Int(2)),
            Err("can't read 2 from register nil".into())
        );
        assert_eq!(
            step_or_why(
                &m,
                &Value::string(""),
                &kw("cas"),
                &Value::Vector(vec![Value::Nil, Value::string("a")])
            ),
            Err(r#"can't CAS "" from nil to "a""#.into())
        );
    }

    #[test]
    fn nil_reads_absent() {
        let m = CasRegister { init: Value::Int(0), nil_reads: NilReads::Absent };
        assert!(step_or_why(&m, &Value::Int(0), &kw("read"), &Value::Nil).is_err());
        assert!(step_or_why(&m, &Value::Nil, &kw("read"), &Value::Nil).is_ok());
    }

    #[test]
    fn register_steps_and_messages() {
        let m = Register { init: Value::Nil, nil_reads: NilReads::Unknown };
        assert_eq!(step_or_why(&m, &Value::Int(0), &kw("read"), &Value::Int(1)), Err("0≠1".into()));
        assert!(m.check_op(&kw("cas"), &pair(0, 1)).is_err());
        // f may be a string or a symbol too
        assert!(m.check_op(&Value::string("write"), &Value::Int(1)).is_ok());
    }

    #[test]
    fn bad_ops_are_explained() {
        let m = CasRegister { init: Value::Nil, nil_reads: NilReads::Unknown };
        let e = m.check_op(&kw("cas"), &Value::Int(3)).unwrap_err();
        assert!(e.contains("[old new]"), "{e}");
        let e = m.check_op(&kw("increment"), &Value::Nil).unwrap_err();
        assert!(e.contains(":increment") && e.contains(":cas"), "{e}");
    }
}
