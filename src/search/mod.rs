//! Deciding linearizability: the search engines and what they report.

mod cache;
pub mod wgl;

use crate::model::memo::StateId;

/// What a search found.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Some order of the operations explains the history.
    Valid,
    /// No order does: `op` (an index into [`History::operations`](crate::History))
    /// is the `:ok` operation no configuration could linearize.
    Invalid { op: usize, configs: Vec<Config> },
}

/// A configuration of the search: the operations linearized so far and the state
/// they lead to.
#[derive(Clone, Debug)]
pub struct Config {
    pub state: StateId,
    /// Bit `i` is set when operation `i` is linearized.
    pub linearized: Vec<u64>,
    /// The operation linearized last, if any.
    pub last: Option<usize>,
}

impl Config {
    pub fn is_linearized(&self, op: usize) -> bool {
        self.linearized[op / 64] & (1 << (op % 64)) != 0
    }
}
