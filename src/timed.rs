//! Operations recorded with call and return times, as Porcupine's users record them
//! (`Operation{ClientId, Input, Call, Output, Return}`), turned into the real-time
//! order of events that a history is.
//!
//! **Order.** Events are ordered by time; at equal times calls go before returns, so
//! an operation called at the very time another returned is concurrent with it
//! (Porcupine's rule: its `makeEntries` sorts calls before returns at equal times).
//! Real-time precedence is then exactly "A returned strictly before B was called".
//! Events at one time and of one kind are ordered by process (by its EDN text), so
//! that the order, and every op's `:index`, depends only on the operations, never
//! on the order they were given in: ties among calls, or among returns, change
//! nothing else, since precedence only compares a return with a call.
//!
//! **Processes.** A process does one thing at a time, as in Jepsen: its next call
//! comes strictly after its previous operation returned (at an equal time the two
//! would be concurrent, which one process cannot be), and an operation that never
//! returned (crashed) leaves its process unable to call again. Jepsen gives a
//! crashed process's next operations a new process; so must a harness.

use crate::value::Value;
use std::collections::HashMap;

/// Where an event goes among the others: by time, calls before returns, then by
/// process.
pub(crate) type Place = (u64, bool, String);

/// An event's place: `returns` for a return, else a call.
pub(crate) fn place(at: u64, returns: bool, process: &Value) -> Place {
    (at, returns, process.to_edn())
}

/// Each process's latest operation: when it was called and, once known, when it
/// returned.
#[derive(Clone, Debug, Default)]
pub(crate) struct Clocks(HashMap<Value, (u64, Option<u64>)>);

impl Clocks {
    /// `process` calls at `at`: refused while its previous operation has not
    /// returned, or returned at `at` or later.
    pub(crate) fn call(&mut self, process: &Value, at: u64) -> Result<(), String> {
        match self.0.get(process) {
            Some(&(called, None)) => Err(format!(
                "process {process} calls at {at} while its operation called at {called} has not returned \
                 (a crashed operation never does: Jepsen gives the process's next operations a new process)"
            )),
            Some(&(_, Some(returned))) if returned >= at => Err(format!(
                "process {process} calls at {at}, not after its previous operation returned (at {returned}): \
                 a process does one thing at a time"
            )),
            _ => {
                self.0.insert(process.clone(), (at, None));
                Ok(())
            }
        }
    }

    /// `process`'s operation returns at `at`: refused if it has none open, or was
    /// called after `at`.
    pub(crate) fn ret(&mut self, process: &Value, at: u64) -> Result<(), String> {
        match self.0.get_mut(process) {
            Some((called, returned @ None)) if *called <= at => {
                *returned = Some(at);
                Ok(())
            }
            Some(&mut (called, None)) => Err(format!(
                "process {process}'s operation returns at {at}, before it was called (at {called})"
            )),
            _ => Err(format!("process {process} returns at {at} with no operation open")),
        }
    }

    /// Takes back `process`'s return: its operation is open again.
    pub(crate) fn unreturn(&mut self, process: &Value) {
        if let Some((_, returned)) = self.0.get_mut(process) {
            *returned = None;
        }
    }
}
