//! Words for operations, shared by the sentence and the reports: "process 15 read
//! 0", "process 5's write of 4", lists that read naturally.

use crate::value::Value;

/// Values in sentences are cut to about this many characters.
pub(crate) const VALUE: usize = 40;
/// Labels of unknown functions are cut to about this many characters.
const LABEL: usize = 120;
/// At most this many items are listed.
const LIST: usize = 6;

/// Verbs for the functions of the built-in models: (`:f`, done, to do, noun).
const VERBS: &[(&str, &str, &str, &str)] = &[
    ("read", "read", "read", "read"),
    ("write", "wrote", "write", "write"),
    ("get", "got", "get", "get"),
    ("put", "put", "put", "put"),
    ("append", "appended", "append", "append"),
    ("add", "added", "add", "add"),
    ("enqueue", "enqueued", "enqueue", "enqueue"),
    ("dequeue", "dequeued", "dequeue", "dequeue"),
    ("acquire", "acquired the lock", "acquire the lock", "acquisition of the lock"),
    ("release", "released the lock", "release the lock", "release of the lock"),
    ("txn", "ran the transaction", "run the transaction", "transaction"),
];

/// A value as a sentence shows it: EDN, nil as `nil`, cut to about [`VALUE`].
pub(crate) fn value_text(v: &Value) -> String {
    v.to_edn_short(VALUE)
}

/// What an op did, in words: "read 3", "wrote 4", "changed 1 to 2 by
/// compare-and-set", "acquired the lock"; "tried to write 4" for an operation that
/// did not complete.
pub(crate) fn action(map: &Value) -> String {
    let ok = map.get("type").and_then(Value::as_keyword) == Some("ok");
    let value = map.get("value").unwrap_or(&Value::Nil);
    let f = map.get("f").and_then(Value::as_name);
    if let (Some("cas"), Some([old, new])) = (f, value.as_seq()) {
        let tried = if ok { "changed" } else { "tried to change" };
        return format!("{tried} {} to {} by compare-and-set", value_text(old), value_text(new));
    }
    let Some(&(name, done, to_do, _)) = f.and_then(|f| VERBS.iter().find(|verb| verb.0 == f)) else {
        let tried = if ok { "completed" } else { "tried" };
        return format!("{tried} {}", op_text(map, LABEL + VALUE));
    };
    let verb = if ok { done.to_string() } else { format!("tried to {to_do}") };
    // A read of nil says so; otherwise a nil value says nothing.
    if value.is_nil() && !(ok && matches!(name, "read" | "get")) {
        verb
    } else {
        format!("{verb} {}", value_text(value))
    }
}

/// "process 15 read 0".
pub(crate) fn deed(map: &Value) -> String {
    format!("process {} {}", process(map), action(map))
}

/// "process 5's write of 4", "process 2's compare-and-set of 1 to 2".
pub(crate) fn possessive(map: &Value) -> String {
    let value = map.get("value").unwrap_or(&Value::Nil);
    let f = map.get("f").and_then(Value::as_name);
    let what = match (f, value.as_seq()) {
        (Some("cas"), Some([old, new])) => {
            format!("compare-and-set of {} to {}", value_text(old), value_text(new))
        }
        _ => match f.and_then(|f| VERBS.iter().find(|verb| verb.0 == f)) {
            // What a read or a lock's op carries before it completes: nothing.
            Some(&(name, _, _, noun))
                if value.is_nil() && matches!(name, "read" | "get" | "dequeue" | "acquire" | "release") =>
            {
                noun.to_string()
            }
            Some(&(_, _, _, noun)) => format!("{noun} of {}", value_text(value)),
            None => op_text(map, LABEL + VALUE),
        },
    };
    format!("process {}'s {what}", process(map))
}

fn process(map: &Value) -> String {
    map.get("process").map_or_else(|| "nil".into(), |p| p.to_edn_short(VALUE))
}

/// An op's function and value (`read 3`, `cas [1 2]`), cut to about `max`
/// characters; the value is left out when nil, except on an `:ok`.
pub(crate) fn op_text(map: &Value, max: usize) -> String {
    let nil = Value::Nil;
    let f = map.get("f").unwrap_or(&nil);
    let f = f.as_name().map_or_else(|| f.to_edn_short(max), |name| cut(name, max));
    let value = map.get("value").unwrap_or(&nil);
    let ok = map.get("type").and_then(Value::as_keyword) == Some("ok");
    if value.is_nil() && !ok {
        return f;
    }
    let room = max.saturating_sub(f.chars().count() + 1).max(4);
    format!("{f} {}", value.to_edn_short(room))
}

/// A string cut to `max` characters, with `…` where it was cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// "a", "a or b", "a, b or c", "a, b, … or 3 others" (with `or` as the conjunction).
pub(crate) fn list(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        _ if items.len() > LIST => {
            format!("{} {conjunction} {} others", items[..LIST - 1].join(", "), items.len() - (LIST - 1))
        }
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// A sentence's start: its first letter upper case.
pub(crate) fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// "1 operation", "3 operations": a count and the noun for it.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: &str, f: &str, value: Value) -> Value {
        Value::kw_map([
            ("type", Value::keyword(kind)),
            ("process", Value::Int(5)),
            ("f", Value::keyword(f)),
            ("value", value),
        ])
    }

    #[test]
    fn lists_read_naturally() {
        let items = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&items(1), "or"), "0");
        assert_eq!(list(&items(2), "or"), "0 or 1");
        assert_eq!(list(&items(3), "and"), "0, 1 and 2");
        assert_eq!(list(&items(9), "or"), "0, 1, 2, 3, 4 or 4 others");
    }

    #[test]
    fn actions_read_naturally() {
        let pair = Value::Vector(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(action(&op("ok", "read", Value::Int(3))), "read 3");
        assert_eq!(action(&op("invoke", "write", Value::Int(3))), "tried to write 3");
        assert_eq!(action(&op("ok", "cas", pair.clone())), "changed 1 to 2 by compare-and-set");
        assert_eq!(action(&op("info", "cas", pair.clone())), "tried to change 1 to 2 by compare-and-set");
        assert_eq!(action(&op("ok", "read", Value::Nil)), "read nil");
        assert_eq!(action(&op("ok", "acquire", Value::Nil)), "acquired the lock");
        assert_eq!(action(&op("invoke", "release", Value::Nil)), "tried to release the lock");
        assert_eq!(action(&op("ok", "append", Value::string("x"))), "appended \"x\"");
        assert_eq!(action(&op("ok", "frob", Value::Int(1))), "completed frob 1");
        assert_eq!(action(&op("info", "frob", Value::Nil)), "tried frob");
        assert_eq!(possessive(&op("ok", "write", Value::Int(4))), "process 5's write of 4");
        assert_eq!(possessive(&op("ok", "cas", pair)), "process 5's compare-and-set of 1 to 2");
        assert_eq!(possessive(&op("ok", "write", Value::Nil)), "process 5's write of nil");
        assert_eq!(possessive(&op("invoke", "read", Value::Nil)), "process 5's read");
        assert_eq!(deed(&op("ok", "read", Value::Nil)), "process 5 read nil");
    }

    #[test]
    fn op_texts_are_short() {
        assert_eq!(op_text(&op("invoke", "read", Value::Nil), 16), "read");
        assert_eq!(op_text(&op("ok", "read", Value::Nil), 16), "read nil");
        assert_eq!(op_text(&op("ok", "read", Value::string(&"x".repeat(1000))), 16), "read \"xxxxxxxxxx…");
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hé", 2), "hé");
    }
}
