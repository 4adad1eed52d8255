//! `multi-register`: registers named by keys, read and written in transactions.
//!
//! Every op is a `:txn` whose value is a list of micro-ops `[f k v]`, `f` being
//! `:read` or `:write`, applied in order: `[[:write :x 1] [:read :y 0]]`. A read of
//! nil is unknown, and legal, as in Knossos (unless [`NilReads::Absent`], where it
//! means the key holds nothing). The state is a map from keys to values, printed
//! `{:value {:x 1, :y 0}}`. A key holding nil is absent from it: reading it gives nil
//! either way, and one form per meaning lets the search intern equal states once.
//!
//! A crashed txn is recorded with its invocation's micro-ops, reads of nil: it may take
//! effect, its writes with it, wherever its reads are legal, which is anywhere unless
//! [`NilReads::Absent`] (then its reads assert that their keys held nil: the literal
//! reading, which the model cannot tell from an `:ok` txn's).

use super::{entry, expected, function, labelled, set_entry, why, Model, NilReads};
use crate::value::Value;

/// Registers named by keys, all nil at first unless an initial map says otherwise.
#[derive(Clone, Debug, Default)]
pub struct MultiRegister {
    /// The initial map, without nil values.
    init: Vec<(Value, Value)>,
    nil_reads: NilReads,
}

impl MultiRegister {
    /// Registers holding `init` (a map; `None`: every key nil).
    pub fn with_init(init: Option<&Value>, nil_reads: NilReads) -> Result<MultiRegister, String> {
        let init = match init {
            None => Vec::new(),
            Some(Value::Map(entries)) => entries.iter().filter(|(_, v)| !v.is_nil()).cloned().collect(),
            Some(other) => {
                return Err(expected("the initial state (`ModelOptions::init`, `--init`) for multi-register must be a map such as {:x 0 :y 0}", other))
            }
        };
        Ok(MultiRegister { init, nil_reads })
    }
}

/// One micro-op of a transaction: read or write key `k` with value `v`.
enum Micro<'a> {
    Read(&'a Value, &'a Value),
    Write(&'a Value, &'a Value),
}

/// The micro-ops of a `:txn` op, each parsed as it is reached.
fn micro_ops<'a>(
    f: &Value,
    value: &'a Value,
) -> Result<impl Iterator<Item = Result<Micro<'a>, String>>, String> {
    function(f, &["txn"])?;
    let ops =
        value.as_seq().ok_or_else(|| expected("a :txn value must be a list of [f k v] micro-ops", value))?;
    Ok(ops.iter().map(|op| match op.as_seq() {
        Some([f, k, v]) => match function(f, &["read", "write"]) {
            Ok("read") => Ok(Micro::Read(k, v)),
            Ok(_) => Ok(Micro::Write(k, v)),
            Err(_) => Err(expected("a :txn micro-op's f must be :read or :write", op)),
        },
        _ => Err(expected("each micro-op of a :txn must be [f k v], f :read or :write", op)),
    }))
}

impl MultiRegister {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let mut registers = match state {
            Value::Map(entries) => entries.clone(),
            _ => Vec::new(),
        };
        for op in micro_ops(f, value)? {
            match op? {
                Micro::Read(k, v) => {
                    let current = entry(&registers, k).unwrap_or(&Value::Nil);
                    if !(self.nil_reads.is_unknown(v) || v == current) {
                        return Err(why(explain, || format!("{current}≠{v}")));
                    }
                }
                Micro::Write(k, v) => set_entry(&mut registers, k, (!v.is_nil()).then(|| v.clone())),
            }
        }
        Ok(Value::Map(registers))
    }
}

impl Model for MultiRegister {
    type State = Value;

    fn name(&self) -> &str {
        "multi-register"
    }
    fn init(&self) -> Value {
        Value::Map(self.init.clone())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        micro_ops(f, value)?.try_for_each(|op| op.map(|_| ()))
    }
    step_by_apply!();
    /// A `:txn` of reads only.
    fn is_read(&self, f: &Value, value: &Value) -> bool {
        micro_ops(f, value).is_ok_and(|mut ops| ops.all(|op| matches!(op, Ok(Micro::Read(..)))))
    }
    fn render(&self, state: &Value) -> Value {
        labelled("value", state)
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

    fn txn(m: &MultiRegister, state: &Value, ops: &str) -> Result<String, String> {
        step_or_why(m, state, &Value::keyword("txn"), &parse_edn(ops).unwrap()).map(|s| s.to_edn())
    }

    #[test]
    fn transactions_apply_in_order() {
        let m =
            MultiRegister::with_init(Some(&parse_edn("{:x 0 :y 0}").unwrap()), NilReads::Unknown).unwrap();
        let s = m.init();
        assert_eq!(txn(&m, &s, "[[:write :x 1] [:read :x 1] [:read :y 0]]"), Ok("{:x 1, :y 0}".into()));
        // the read sees the write before it, not the initial value
        assert_eq!(txn(&m, &s, "[[:write :x 1] [:read :x 0]]"), Err("1≠0".into()));
        // nil reads are unknown; an absent key reads as nil
        assert_eq!(txn(&m, &s, "[[:read :x nil] [:read :z nil]]"), Ok("{:x 0, :y 0}".into()));
        assert_eq!(txn(&m, &s, "([:read :z 1])"), Err("nil≠1".into()));
        // pr-str in the message: strings keep their quotes
        assert_eq!(txn(&m, &s, "[[:read :x \"0\"]]"), Err("0≠\"0\"".into()));
        // writing nil makes a key absent, so equal states have one form
        assert_eq!(txn(&m, &s, "[[:write :x nil]]"), Ok("{:y 0}".into()));
        assert_eq!(txn(&m, &s, "[]"), Ok("{:x 0, :y 0}".into()));
    }

    #[test]
    fn nil_reads_absent_means_no_value() {
        let m = MultiRegister::with_init(Some(&parse_edn("{:x 0}").unwrap()), NilReads::Absent).unwrap();
        assert_eq!(txn(&m, &m.init(), "[[:read :x nil]]"), Err("0≠nil".into()));
        assert!(txn(&m, &m.init(), "[[:read :y nil]]").is_ok());
    }

    #[test]
    fn bad_transactions_are_explained() {
        let m = MultiRegister::default();
        let check = |v: &str| m.check_op(&Value::keyword("txn"), &parse_edn(v).unwrap()).unwrap_err();
        assert!(check("3").contains("list of [f k v]"));
        assert!(check("[[:read :x]]").contains("[f k v]"));
        assert!(check("[[:read :x 1] [:cas :x [1 2]]]").contains(":read or :write, not [:cas :x [1 2]]"));
        assert!(m.check_op(&Value::keyword("read"), &Value::Nil).unwrap_err().contains(":txn"));
        // step says the same, so it never panics on what check_op would refuse
        assert!(txn(&m, &m.init(), "[[:read :x]]").is_err());
        assert!(txn(&m, &m.init(), "{:x 1}").is_err());
    }
}
