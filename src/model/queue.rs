//! Queues: `unordered-queue` (a multiset: any pending element may come out next) and
//! `fifo-queue` (first in, first out).
//!
//! Both take `:enqueue v` and `:dequeue v`, `v` being the element the dequeue
//! returned, and print their state as `{:pending [1 2]}`. The messages are Knossos's,
//! which prints the element with `str` (so nil prints as nothing).

use super::{expected, function, labelled, why, Model, Semantics};
use crate::value::Value;

/// A queue that hands out its pending elements in any order.
///
/// The state is a map from element to count (a multiset), so that two queues holding
/// the same elements enqueued in different orders are one state.
#[derive(Clone, Debug, Default)]
pub struct UnorderedQueue {
    /// The initial elements with their counts.
    init: Vec<(Value, Value)>,
}

/// A queue that hands out its pending elements oldest first.
#[derive(Clone, Debug, Default)]
pub struct FifoQueue {
    /// The initial elements, oldest first.
    init: Vec<Value>,
}

/// The two operations of both queues.
enum QueueOp<'a> {
    Enqueue(&'a Value),
    Dequeue(&'a Value),
}

fn parse<'a>(f: &Value, value: &'a Value) -> Result<QueueOp<'a>, String> {
    match function(f, &["enqueue", "dequeue"])? {
        "enqueue" => Ok(QueueOp::Enqueue(value)),
        _ => Ok(QueueOp::Dequeue(value)),
    }
}

/// The elements an `--init` lists, oldest first.
fn initial<'a>(model: &str, init: &'a Value) -> Result<&'a [Value], String> {
    init.as_seq().ok_or_else(|| expected(&format!("--init for {model} must be a vector of elements"), init))
}

impl UnorderedQueue {
    /// A queue holding `init`'s elements (a vector or list).
    pub fn with_init(init: &Value) -> Result<UnorderedQueue, String> {
        let mut counts = Vec::new();
        for e in initial("unordered-queue", init)? {
            add(&mut counts, e);
        }
        Ok(UnorderedQueue { init: counts })
    }
}

/// Adds one `e` to a multiset of counts.
fn add(counts: &mut Vec<(Value, Value)>, e: &Value) {
    match counts.iter_mut().find(|(x, _)| x == e) {
        Some((_, n)) => *n = Value::Int(n.as_i64().unwrap_or(0) + 1),
        None => counts.push((e.clone(), Value::Int(1))),
    }
}

impl UnorderedQueue {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let mut counts = match state {
            Value::Map(counts) => counts.clone(),
            _ => Vec::new(),
        };
        match parse(f, value)? {
            QueueOp::Enqueue(v) => add(&mut counts, v),
            QueueOp::Dequeue(v) => match counts.iter().position(|(x, _)| x == v) {
                None => return Err(why(explain, || format!("can't dequeue {}", v.to_str()))),
                Some(i) => match counts[i].1.as_i64() {
                    Some(n) if n > 1 => counts[i].1 = Value::Int(n - 1),
                    _ => {
                        counts.remove(i);
                    }
                },
            },
        }
        Ok(Value::Map(counts))
    }
}

impl Model for UnorderedQueue {
    type State = Value;

    fn name(&self) -> &str {
        "unordered-queue"
    }
    fn init(&self) -> Value {
        Value::Map(self.init.clone())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        let pending = match state {
            Value::Map(counts) => counts
                .iter()
                .flat_map(|(e, n)| std::iter::repeat_n(e, n.as_i64().unwrap_or(0).max(0) as usize))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        labelled("pending", &Value::Vector(pending))
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        let n = |count: &Value| count.as_i64().unwrap_or(0).max(0) as usize;
        let init = self.init.iter().flat_map(|(e, count)| std::iter::repeat_n(e, n(count))).collect();
        Some(Semantics::Queue { init, fifo: false })
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

impl FifoQueue {
    /// A queue holding `init`'s elements (a vector or list, oldest first).
    pub fn with_init(init: &Value) -> Result<FifoQueue, String> {
        Ok(FifoQueue { init: initial("fifo-queue", init)?.to_vec() })
    }
}

impl FifoQueue {
    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let pending = state.as_seq().unwrap_or_default();
        match parse(f, value)? {
            QueueOp::Enqueue(v) => Ok(Value::Vector(pending.iter().chain([v]).cloned().collect())),
            QueueOp::Dequeue(v) => match pending.split_first() {
                None => Err(why(explain, || format!("can't dequeue {} from empty queue", v.to_str()))),
                Some((head, rest)) if head == v => Ok(Value::Vector(rest.to_vec())),
                Some(_) => Err(why(explain, || format!("can't dequeue {}", v.to_str()))),
            },
        }
    }
}

impl Model for FifoQueue {
    type State = Value;

    fn name(&self) -> &str {
        "fifo-queue"
    }
    fn init(&self) -> Value {
        Value::Vector(self.init.clone())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        labelled("pending", state)
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        Some(Semantics::Queue { init: self.init.iter().collect(), fifo: true })
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::step_or_why;

    fn steps<M: Model<State = Value>>(m: &M, ops: &[(&str, i64)]) -> Result<Value, String> {
        ops.iter().try_fold(m.init(), |s, (f, v)| step_or_why(m, &s, &Value::keyword(f), &Value::Int(*v)))
    }

    #[test]
    fn unordered_queue_dequeues_any_pending_element_once() {
        let m = UnorderedQueue::default();
        let s = steps(&m, &[("enqueue", 1), ("enqueue", 2), ("enqueue", 1), ("dequeue", 2)]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [1 1]}");
        assert!(steps(&m, &[("enqueue", 1), ("enqueue", 1), ("dequeue", 1), ("dequeue", 1)]).is_ok());
        let twice = [("enqueue", 1), ("dequeue", 1), ("dequeue", 1)];
        assert_eq!(steps(&m, &twice), Err("can't dequeue 1".into()));
        // enqueue order does not matter: one state
        let a = steps(&m, &[("enqueue", 1), ("enqueue", 2)]).unwrap();
        let b = steps(&m, &[("enqueue", 2), ("enqueue", 1)]).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            step_or_why(&m, &a, &Value::keyword("dequeue"), &Value::Nil),
            Err("can't dequeue ".into())
        );
    }

    #[test]
    fn fifo_queue_dequeues_the_oldest() {
        let m = FifoQueue::default();
        let s = steps(&m, &[("enqueue", 1), ("enqueue", 2)]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [1 2]}");
        assert_eq!(
            step_or_why(&m, &s, &Value::keyword("dequeue"), &Value::Int(2)),
            Err("can't dequeue 2".into())
        );
        assert_eq!(steps(&m, &[("dequeue", 3)]), Err("can't dequeue 3 from empty queue".into()));
        let s = steps(&m, &[("enqueue", 1), ("enqueue", 2), ("dequeue", 1)]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [2]}");
        let e = m.check_op(&Value::keyword("peek"), &Value::Nil).unwrap_err();
        assert!(e.contains(":enqueue and :dequeue"), "{e}");
    }
}
