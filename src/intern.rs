//! Values shared by a whole history: ops with equal processes hold the same `Arc<Value>`,
//! and so do ops with equal bodies (read the same way: the fast path shares bodies by
//! their text, the full reader by their value, so `[1 2]` and `[1,2]` may be two), so ten
//! million ops over a few thousand distinct values hold a few thousand values. Pieces of
//! a file are read on every core at once, so each table is split in shards, each behind
//! its own lock; a value seen for the first time is made under its shard's lock.
//!
//! A value is found by a hash and a test the caller gives: the reader's fast path finds
//! a value by the text it was read from (the key `K` is that text), an op read in full
//! by the value itself (`K` is `()`).

use crate::read::op_body;
use crate::value::Value;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::convert::Infallible;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

/// A table of shared values, each found by its hash and its key.
pub(crate) struct Interner<K> {
    shards: Vec<Mutex<HashTable<Entry<K>>>>,
}

struct Entry<K> {
    /// Kept to grow the table without hashing again.
    hash: u64,
    key: K,
    value: Arc<Value>,
}

impl<K> Default for Interner<K> {
    fn default() -> Interner<K> {
        Interner { shards: (0..SHARDS).map(|_| Mutex::default()).collect() }
    }
}

const SHARDS: usize = 64;

/// A text, held in its table's entry when short (most are), so that comparing it does
/// not go to memory elsewhere.
pub(crate) type Text = smallvec::SmallVec<[u8; 24]>;

/// The tables a history's values are shared through while it is read.
#[derive(Default)]
pub(crate) struct Shared {
    /// Processes by value: completion tells processes apart by their address, so equal
    /// processes must be one value, whichever way they were read.
    processes: Interner<()>,
    /// The bodies of ops read by the full reader, and of those with a long `:value`, by
    /// value (see [`Shared::body`]).
    bodies: Interner<()>,
    /// On the readers' fast paths, by text: processes (each the one in `processes`),
    /// and bodies by their `:f`, `:value` and `:key` texts (the key holds the three,
    /// and where the first two end).
    pub process_texts: Interner<Text>,
    pub body_texts: Interner<(Text, [usize; 2])>,
}

impl Shared {
    /// The shared body ([`op_body`]) of the ops with this `:f`, `:value` and other
    /// fields, found by value.
    pub(crate) fn body(&self, f: &Value, value: &Value, rest: &[&(Value, Value)]) -> Arc<Value> {
        self.bodies.get(
            FixedState::default().hash_one((f, value, rest)),
            |(), b| match b {
                Value::Map(b) => {
                    b.len() == rest.len() + 2
                        && b[0].1 == *f
                        && b[1].1 == *value
                        && b[2..].iter().zip(rest).all(|(a, b)| a == *b)
                }
                _ => false,
            },
            || ((), Arc::new(op_body(f.clone(), value.clone(), rest.iter().map(|&entry| entry.clone())))),
        )
    }

    /// The shared copy of a process.
    pub(crate) fn process(&self, process: &Value) -> Arc<Value> {
        let hash = FixedState::default().hash_one(process);
        self.processes.get(hash, |(), p| p == process, || ((), Arc::new(process.clone())))
    }
}

impl<K> Interner<K> {
    /// The value with this hash whose key and value `is` recognises, made by `make`
    /// (and remembered) if there is none yet; `make`'s error if it cannot make one.
    pub(crate) fn try_get<E>(
        &self,
        hash: u64,
        is: impl Fn(&K, &Value) -> bool,
        make: impl FnOnce() -> Result<(K, Arc<Value>), E>,
    ) -> Result<Arc<Value>, E> {
        // Middle bits choose the shard: hashbrown places an entry by the low bits and
        // tells entries apart by the top 7, which must vary within a shard.
        let shard = &self.shards[(hash >> 32) as usize % SHARDS];
        let mut table = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = table.find(hash, |e| e.hash == hash && is(&e.key, &e.value)) {
            return Ok(entry.value.clone());
        }
        let (key, value) = make()?;
        table.insert_unique(hash, Entry { hash, key, value: value.clone() }, |e| e.hash);
        Ok(value)
    }

    /// [`try_get`](Interner::try_get) for a `make` that cannot fail.
    pub(crate) fn get(
        &self,
        hash: u64,
        is: impl Fn(&K, &Value) -> bool,
        make: impl FnOnce() -> (K, Arc<Value>),
    ) -> Arc<Value> {
        let Ok(value) = self.try_get(hash, is, || Ok::<_, Infallible>(make()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_share_one_value_and_failures_are_not_remembered() {
        let table: Interner<&str> = Interner::default();
        let make = |text: &'static str| move || Ok::<_, ()>((text, Arc::new(Value::string(text))));
        let a = table.try_get(1, |k, _| *k == "a", make("a")).unwrap();
        let again = table.try_get(1, |k, _| *k == "a", make("other")).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        // Same hash, another key: a value of its own.
        let b = table.try_get(1, |k, _| *k == "b", make("b")).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(*b, Value::string("b"));
        assert_eq!(table.try_get(2, |k, _| *k == "c", || Err::<(&str, Arc<Value>), _>(7)), Err(7));
        let c = table.get(2, |k, _| *k == "c", || ("c", Arc::new(Value::Int(3))));
        assert_eq!(*c, Value::Int(3));
        // A process is found by value, however it was written.
        let shared = Shared::default();
        let one = shared.process(&Value::Int(1));
        let big_one = shared.process(&crate::read::parse_edn("1N").unwrap());
        assert!(Arc::ptr_eq(&one, &big_one));
    }
}
