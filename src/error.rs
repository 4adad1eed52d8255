//! Input errors: what is wrong, where, and what to do about it.
//!
//! Every problem found in a file is a [`Diagnostic`] with the file, line and column
//! (and the op's index, once it is known). Reading and completion collect all the
//! problems of a file, up to [`MAX_DIAGNOSTICS`], and report them together.

use std::fmt;

/// How many problems of one file are reported before the rest are only counted.
pub const MAX_DIAGNOSTICS: usize = 20;

/// One problem in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The index of the op concerned, where there is one.
    pub op_index: Option<u64>,
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(line: u32, column: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic { line, column, op_index: None, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_op_index(mut self, index: u64) -> Diagnostic {
        self.op_index = Some(index);
        self
    }
}

/// All the problems found in one input, with the file's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// The first [`MAX_DIAGNOSTICS`] problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// How many more problems there were.
    pub more: usize,
}

impl InputError {
    pub fn new(file: &str, diagnostics: Vec<Diagnostic>) -> InputError {
        let mut e = InputError { file: file.to_string(), diagnostics: Vec::new(), more: 0 };
        for d in diagnostics {
            e.push(d);
        }
        e
    }

    /// Adds a problem, or counts it once the cap is reached.
    pub fn push(&mut self, d: Diagnostic) {
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(d);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            // Line 0 stands for the file as a whole (it cannot be read, say).
            match (d.line, d.column) {
                (0, _) => write!(f, "{}: ", self.file)?,
                (line, 0) => write!(f, "{}:{line}: ", self.file)?,
                (line, column) => write!(f, "{}:{line}:{column}: ", self.file)?,
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
            write!(f, "\n{}: and {} more problems", self.file, self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}
