//! `serde::Serialize` for [`Value`] and [`Analysis`] (the `serde` feature): what the
//! JSON output writes, for programs that would rather have the analysis in their own
//! format. Keywords and symbols are strings without the colon, sets and lists
//! sequences, map keys that are not strings or keywords their EDN text, tagged
//! literals their value.
//!
//! Numbers are where serde and the JSON output part: the output keeps every digit,
//! but serde has no arbitrary-precision numbers (serde_json has them only with a
//! feature that would change every dependent's JSON). Integers up to 128 bits stay
//! integers; larger ones, `M` decimals, ratios, infinities and NaN become strings of
//! their digits, so nothing is rounded.
//!
//! ```
//! let value = knossos_rs::Value::from_edn(r#"{:f :read, :value #{1 2N}, [1] "x", :n 1.50M}"#).unwrap();
//! let json = serde_json::to_string(&value).unwrap();
//! assert_eq!(json, r#"{"f":"read","value":[1,2],"[1]":"x","n":"1.50"}"#);
//! ```

use crate::analysis::Analysis;
use crate::value::Value;
use num_traits::ToPrimitive;
use serde::ser::{Serialize, SerializeMap, Serializer};

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::BigInt(b) => match (b.to_i128(), b.to_u128()) {
                (Some(i), _) => s.serialize_i128(i),
                (_, Some(u)) => s.serialize_u128(u),
                _ => s.serialize_str(&b.to_string()),
            },
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Decimal(d) => s.serialize_str(d.as_str()),
            Value::Float(_) | Value::Ratio(_) | Value::Char(_) => s.serialize_str(&self.to_str()),
            Value::String(text) | Value::Keyword(text) | Value::Symbol(text) => s.serialize_str(text),
            Value::List(items) | Value::Vector(items) => s.collect_seq(items),
            Value::Set(items) => s.collect_seq(items.iter()),
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    match k {
                        Value::String(key) | Value::Keyword(key) => map.serialize_entry(&**key, v)?,
                        other => map.serialize_entry(&other.to_edn(), v)?,
                    }
                }
                map.end()
            }
            Value::Tagged(_, v) => v.serialize(s),
        }
    }
}

/// As the analysis prints it ([`Analysis::to_value`]).
impl Serialize for Analysis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use crate::{check, model, read, History, Options};

    /// Where the output's numbers fit serde's, serializing an analysis gives what the
    /// JSON output writes (read back by serde_json, a reader of its own).
    #[test]
    fn analyses_serialize_as_the_json_output_writes_them() {
        let model = model::builtin("cas-register", &Default::default()).unwrap();
        for log in [
            "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}",
            "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n\
             {:process 1, :type :invoke, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 2}",
        ] {
            let history = History::complete(read::RawOp::read(log.as_bytes(), "h", None).unwrap(), &model).unwrap();
            let analysis = check(&model, &history, &Options::default());
            let written: serde_json::Value = serde_json::from_str(&analysis.to_value().to_json()).unwrap();
            assert_eq!(serde_json::to_value(&analysis).unwrap(), written);
        }
    }

    #[test]
    fn numbers_serde_cannot_hold_become_their_digits() {
        let value = read::parse_edn(
            "[170141183460469231731687303715884105727 340282366920938463463374607431768211456 1/3 ##Inf]",
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r###"[170141183460469231731687303715884105727,"340282366920938463463374607431768211456","1/3","##Inf"]"###
        );
    }
}
