//! Jepsen's tab-separated histories: `history.txt`, and the op lines of old console logs.
//!
//! Both hold one op per line as `process<TAB>type<TAB>f<TAB>value[<TAB>error]`, each field an
//! EDN value (`3<TAB>:invoke<TAB>:write<TAB>3`, `:nemesis<TAB>:info<TAB>:start<TAB>nil`), and
//! become the map `{:process p, :type t, :f f, :value v}`, with `:error e` when there is an
//! error. In a console log the fields follow `jepsen.util - `
//! (`INFO  jepsen.util - 3<TAB>:invoke<TAB>:read<TAB>nil`) and every other line is ignored.
//! Each field is read by the EDN reader in place, so an error points at the line and column
//! of the bad field.
//!
//! Jepsen writes the error with `str`, not `pr-str`, so an error like `Connection refused`
//! is not EDN: an error field that does not read as one EDN value is kept as its text.
//!
//! A console log copied from a terminal or a web page has its tabs turned into runs of
//! spaces. Such a line is an op when a type keyword (`:invoke`, `:ok`, `:fail`, `:info`)
//! follows its first field; its fields are then the first four EDN values, one after the
//! other, and the error whatever follows.

use super::{column_after, edn, find, Format, RawOp, LOG_MARKER};
use crate::error::{Diagnostic, InputError};
use crate::value::Value;

/// The keys of the fields, in order; the last is optional.
const KEYS: [&str; 5] = ["process", "type", "f", "value", "error"];

/// Reads a `history.txt` or a console log, reporting every bad line.
pub(super) fn read_ops(src: &[u8], format: Format, errors: &mut InputError) -> Vec<RawOp> {
    let mut reader = edn::Reader::new(src);
    let keys = KEYS.map(Value::keyword);
    let mut ops = Vec::new();
    let mut next_line = 0;
    for (i, line) in src.split(|&b| b == b'\n').enumerate() {
        let line_start = next_line;
        next_line += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (fields, spaced) = match format {
            Format::JepsenLog => match find(line, LOG_MARKER).map(|at| at + LOG_MARKER.len()) {
                Some(at) if line[at..].contains(&b'\t') => (at, false),
                Some(at) if spaced_op(&line[at..]) => (at, true),
                // Other loggers' lines, and jepsen.util's lines that are not ops, are not history.
                _ => continue,
            },
            _ if line.iter().all(u8::is_ascii_whitespace) => continue,
            _ => (0, false),
        };
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let fields = Fields {
            line: line_no,
            column: column_after(&line[..fields]),
            line_start,
            start: line_start + fields,
            end: line_start + line.len(),
        };
        let read = match spaced {
            true => fields.read_spaced(src, &mut reader, &keys),
            false => fields.read(src, &mut reader, &keys),
        };
        match read {
            Ok(value) => ops.push(RawOp {
                value,
                line: fields.line,
                column: fields.column,
                span: line_start..line_start + line.len(),
            }),
            Err(d) => errors.push(d),
        }
    }
    ops
}

/// Whether the text after a console log's marker is an op whose fields are separated
/// by spaces: a first field, blanks, and a type keyword.
fn spaced_op(text: &[u8]) -> bool {
    let first = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
    let rest = &text[first..];
    let rest = &rest[rest.iter().take_while(|&&b| b == b' ').count()..];
    first > 0
        && [&b":invoke"[..], b":ok", b":fail", b":info"]
            .iter()
            .any(|t| rest.starts_with(t) && rest.get(t.len()).is_none_or(|b| b.is_ascii_whitespace()))
}

/// Where the tab-separated fields of one line lie.
struct Fields {
    line: u32,
    /// The column of the first field.
    column: u32,
    line_start: usize,
    start: usize,
    end: usize,
}

impl Fields {
    /// Reads the fields into an op map.
    fn read(&self, src: &[u8], reader: &mut edn::Reader, keys: &[Value; 5]) -> Result<Value, Diagnostic> {
        let text = &src[self.start..self.end];
        let count = text.split(|&b| b == b'\t').count();
        if !(4..=5).contains(&count) {
            let message =
                format!("expected 4 or 5 tab-separated fields (process, type, f, value, and an optional error), found {count}");
            return Err(Diagnostic::new(self.line, self.column, message));
        }
        let mut entries = Vec::with_capacity(count);
        let mut start = self.start;
        for (key, field) in keys.iter().zip(text.split(|&b| b == b'\t')) {
            let end = start + field.len();
            let is_error = key.as_keyword() == Some("error");
            match reader.read_exactly_one(start, end, self.line, self.line_start) {
                Ok(value) => entries.push((key.clone(), value)),
                Err(_) if is_error && field.iter().all(u8::is_ascii_whitespace) => {}
                Err(_) if is_error => {
                    let text = String::from_utf8_lossy(field);
                    entries.push((key.clone(), Value::string(text.trim())));
                }
                Err(d) => return Err(d),
            }
            start = end + 1;
        }
        Ok(Value::Map(entries))
    }

    /// Reads fields separated by blanks: four EDN values, then the error, if any, as
    /// the tab-separated reader reads it.
    fn read_spaced(
        &self,
        src: &[u8],
        reader: &mut edn::Reader,
        keys: &[Value; 5],
    ) -> Result<Value, Diagnostic> {
        let mut entries = Vec::with_capacity(5);
        let mut start = self.start;
        for key in &keys[..4] {
            if start >= self.end {
                let message = "expected 4 or 5 fields (process, type, f, value, and an optional error)";
                return Err(Diagnostic::new(self.line, self.column, message));
            }
            let (value, end) = reader.read_first(start, self.end, self.line, self.line_start)?;
            entries.push((key.clone(), value));
            start = end;
        }
        let rest = src[start..self.end].trim_ascii();
        if !rest.is_empty() {
            let error = reader
                .read_exactly_one(start, self.end, self.line, self.line_start)
                .unwrap_or_else(|_| Value::string(&String::from_utf8_lossy(rest)));
            entries.push((keys[4].clone(), error));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::super::read_ops;
    use super::*;

    fn read(text: &str, format: Format) -> Result<Vec<(u32, u32, String)>, InputError> {
        let ops = read_ops(text.as_bytes(), "h", Some(format))?;
        Ok(ops.iter().map(|op| (op.line, op.column, op.value.to_edn())).collect())
    }

    #[test]
    fn history_txt() {
        let text = "3\t:invoke\t:write\t3\n\n:nemesis\t:info\t:start\tnil\r\n\
                    3\t:info\t:cas\t[1 2]\t:timeout\n 4\t:fail\t:read\tnil\tConnection refused: x\n5\t:ok\t:read\t\"é\"\t\n";
        assert_eq!(
            read(text, Format::HistoryTxt).unwrap(),
            [
                (1, 1, "{:process 3, :type :invoke, :f :write, :value 3}".to_string()),
                (3, 1, "{:process :nemesis, :type :info, :f :start, :value nil}".into()),
                (4, 1, "{:process 3, :type :info, :f :cas, :value [1 2], :error :timeout}".into()),
                (
                    5,
                    1,
                    r#"{:process 4, :type :fail, :f :read, :value nil, :error "Connection refused: x"}"#
                        .into()
                ),
                (6, 1, r#"{:process 5, :type :ok, :f :read, :value "é"}"#.into()),
            ]
        );
    }

    #[test]
    fn history_txt_errors() {
        let text = "3\t:invoke\t:write\n3\t:invoke\t:write\t[1 2\n\"é\"\t:ok\t:write\t3 4\n1\t:ok\t:read\t1\n1\t2\t3\t4\t5\t6";
        let err = read_ops(text.as_bytes(), "h.txt", Some(Format::HistoryTxt)).unwrap_err();
        let found: Vec<_> = err.diagnostics.iter().map(|d| (d.line, d.column, d.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (1, 1, "expected 4 or 5 tab-separated fields (process, type, f, value, and an optional error), found 3"),
                (2, 18, "unterminated vector: the input ends before its closing `]`"),
                (3, 18, "expected one value, found `4` after it"),
                (5, 1, "expected 4 or 5 tab-separated fields (process, type, f, value, and an optional error), found 6"),
            ]
        );
    }

    #[test]
    fn console_logs_copied_with_spaces_read_as_with_tabs() {
        let tabs = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - Syncing 3 :ok nodes\n\
                    INFO  jepsen.util - 0\t:ok\t:read\t3\n\
                    INFO  jepsen.util - 1\t:fail\t:cas\t[3 4]\tConnection refused: x\n\
                    INFO  jepsen.util - 2\t:info\t:cas\t[4 5]\t:timeout\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\t{\"n1\" [\"n2\" \"n3\"]}\n";
        let spaces = "INFO  jepsen.util - 0    :invoke  :read  nil\n\
                      INFO  jepsen.util - Syncing 3 :ok nodes\n\
                      INFO  jepsen.util - 0    :ok      :read  3  \n\
                      INFO  jepsen.util - 1    :fail    :cas   [3 4]   Connection refused: x\n\
                      INFO  jepsen.util - 2    :info    :cas   [4 5]   :timeout\n\
                      INFO  jepsen.util - :nemesis :info :start {\"n1\" [\"n2\" \"n3\"]}\n";
        let edn = |text: &str| -> Vec<String> {
            read(text, Format::JepsenLog).unwrap().into_iter().map(|op| op.2).collect()
        };
        assert_eq!(edn(spaces), edn(tabs));
        assert_eq!(edn(tabs).len(), 5);
        assert_eq!(
            edn(spaces)[2],
            r#"{:process 1, :type :fail, :f :cas, :value [3 4], :error "Connection refused: x"}"#
        );
        // Too few fields is an error at the line.
        let err = read_ops(b"INFO  jepsen.util - 0  :invoke  :read\n", "h.log", Some(Format::JepsenLog))
            .unwrap_err();
        assert_eq!(err.diagnostics[0].line, 1);
    }

    #[test]
    fn console_logs() {
        let text = "2015-04-02 INFO  jepsen.core - Running test\n\
                    INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - Syncing\n\
                    INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\n";
        let err = read_ops(text.as_bytes(), "etcd.log", Some(Format::JepsenLog)).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!((d.line, d.column), (5, 21));
        let ops = read(&text[..text.rfind("INFO").unwrap()], Format::JepsenLog).unwrap();
        assert_eq!(
            ops,
            [
                (2, 21, "{:process 0, :type :invoke, :f :read, :value nil}".to_string()),
                (4, 21, "{:process 2, :type :info, :f :cas, :value :timed-out}".into()),
            ]
        );
    }
}
