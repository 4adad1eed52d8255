//! Input errors: what is wrong, where, and what to do about it.
//!
//! Every problem found in a file is a [`Diagnostic`] with the line and column (and the
//! op's index, once it is known). Reading and completion collect all the problems of a
//! file, up to [`InputError::MAX_DIAGNOSTICS`], and report them together as an
//! [`InputError`], the one error type of every fallible call: reading, completing a
//! history (from a file, built in code or from timed operations), parsing a value,
//! building a model, feeding the [`Online`](crate::Online) checker an op it cannot
//! take. Its `Debug` is its message, so that `fn main() -> Result<(), InputError>`
//! and `unwrap` print what is wrong, not the struct.

use std::fmt;

/// One problem in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The index of the op concerned, where there is one.
    pub op_index: Option<u64>,
    /// What is wrong.
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem at a line and column (1-based; 0 for the input as a whole, or an op
    /// built in code).
    pub fn new(line: u32, column: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic { line, column, op_index: None, message: message.into(), hint: None }
    }

    /// The same problem, with what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// The same problem, naming the op it is about.
    pub fn with_op_index(mut self, index: u64) -> Diagnostic {
        self.op_index = Some(index);
        self
    }
}

/// All the problems found in one input, with the file's name. Displayed a problem a
/// line, each as `file:line:column: op N: message` with what is known of where.
///
/// ```
/// let e = knossos_rs::Value::from_edn("[1 2").unwrap_err();
/// assert_eq!(e.to_string(), "line 1, column 1: unterminated vector: the input ends before its closing `]`");
/// let e = knossos_rs::model::builtin("regsiter", &Default::default()).err().unwrap();
/// assert!(e.to_string().starts_with("unknown model `regsiter`"));
/// // `{:?}` says the same, not the struct's fields.
/// assert_eq!(format!("{e:?}"), e.to_string());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputError {
    /// The file, or empty for an input that is not one (ops in memory, a value).
    pub file: String,
    /// The first [`InputError::MAX_DIAGNOSTICS`] problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// How many more problems there were.
    pub more: usize,
}

impl InputError {
    /// How many problems of one input are kept before the rest are only counted.
    pub const MAX_DIAGNOSTICS: usize = 20;

    /// The problems of `file`, at most [`InputError::MAX_DIAGNOSTICS`] kept and the rest counted.
    pub fn new(file: &str, diagnostics: Vec<Diagnostic>) -> InputError {
        let mut e = InputError { file: file.to_string(), diagnostics: Vec::new(), more: 0 };
        for d in diagnostics {
            e.push(d);
        }
        e
    }

    /// Adds a problem, or counts it once the cap is reached.
    pub fn push(&mut self, d: Diagnostic) {
        if self.diagnostics.len() < InputError::MAX_DIAGNOSTICS {
            self.diagnostics.push(d);
        } else {
            self.more += 1;
        }
    }

    /// Whether no problem was found.
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The same problems, said of `file` (ops read from it, completed in memory).
    pub fn in_file(self, file: &str) -> InputError {
        InputError { file: file.to_string(), ..self }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            // Line 0 stands for the input as a whole (it cannot be read, say), or an
            // op built in code.
            match (self.file.as_str(), d.line, d.column) {
                ("", 0, _) => {}
                ("", line, 0) => write!(f, "line {line}: ")?,
                ("", line, column) => write!(f, "line {line}, column {column}: ")?,
                (file, 0, _) => write!(f, "{file}: ")?,
                (file, line, 0) => write!(f, "{file}:{line}: ")?,
                (file, line, column) => write!(f, "{file}:{line}:{column}: ")?,
            }
            if let Some(index) = d.op_index {
                write!(f, "op {index}: ")?;
            }
            write!(f, "{}", d.message)?;
            if let Some(hint) = &d.hint {
                write!(f, "\n  hint: {hint}")?;
            }
        }
        if self.more > 0 {
            let file = if self.file.is_empty() { String::new() } else { format!("{}: ", self.file) };
            write!(f, "\n{file}and {} more problems", self.more)?;
        }
        Ok(())
    }
}

/// The message, as [`Display`](fmt::Display) gives it: what `fn main() -> Result<(),
/// InputError>` prints, and `unwrap` shows.
impl fmt::Debug for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for InputError {}
