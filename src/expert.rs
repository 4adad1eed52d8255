//! For tools built on the checker, such as the `knossos-rs` command and this crate's
//! tests: pieces below [`check`](crate::check) that most users never need, and that
//! may change more often than the rest of the API.
//!
//! - [`decide`]: the unique-value engine alone, on a history whose written values
//!   are unique ([`Algorithm::Unique`](crate::Algorithm::Unique) through
//!   [`check`](crate::check) gives its analysis).
//! - [`refute`]: the search that proves invalidity through relaxations of the
//!   history, alone (the default [`Algorithm::Competition`](crate::Algorithm::Competition)
//!   races it against the others).
//! - [`write_atomically`]: how the reports and results files are written.

pub use crate::search::unique::{decide, Decline, Verdict};
use crate::{History, Model};
use std::path::Path;

/// Writes a file whole or not at all: into a temporary file beside it, flushed to
/// disk, then renamed over it. A process killed while writing (a test harness's
/// timeout, say) leaves the earlier file as it was, never a truncated one.
///
/// Only a regular file is replaced so. A symbolic link stays a link: the file it
/// names is replaced. Anything else, `/dev/null`, `/dev/stdout` or a named pipe,
/// is written to as it is: renaming over it would replace a device with a file
/// (as root, for every program on the machine).
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let path = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return std::fs::write(path, contents),
        Ok(_) => std::fs::canonicalize(path)?,
        Err(_) => path.to_path_buf(),
    };
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&temporary, &path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

/// Proves a history invalid by searching looser ones: crashed operations that may
/// take effect any number of times, and operations whose returns stop binding where
/// too many overlap (the relaxations, and why their failures are the history's,
/// are set out in the source's `search/refute.rs`). `Some(op)`: the history is
/// invalid and `op` (an index into [`History::operations`]) is its failing
/// operation, the one [`check`](crate::check) reports. `None` proves nothing: the
/// history may be valid or not. The relaxations are searched with work and
/// memory in proportion to the history; the WGL search that then confirms the
/// failing operation has no limit, and on many overlapping operations can take long.
///
/// ```
/// use knossos_rs::{expert, model, History, HistoryBuilder, Value};
///
/// // A write of 3 crashes; then 1 is written, 2 is written, and 1 is read.
/// let mut ops = HistoryBuilder::new();
/// ops.invoke(3, "write", 3).info(3);
/// ops.invoke(0, "write", 1).ok(0, 1).invoke(0, "write", 2).ok(0, 2);
/// ops.invoke(1, "read", Value::Nil).ok(1, 1);
/// let model = model::builtin("cas-register", &Default::default()).unwrap();
/// let history: History = ops.build(&model).unwrap();
/// let failing = expert::refute(&model, &history).unwrap();
/// assert_eq!(history.operations[failing].f.as_name(), Some("read"));
/// ```
pub fn refute<M: Model + ?Sized>(model: &M, history: &History) -> Option<usize> {
    let budget = crate::search::Budget::new(None, usize::MAX, None);
    match crate::search::refute::search(history, model, true, &budget)?.outcome {
        crate::search::Outcome::Invalid { op, .. } => Some(op),
        _ => None,
    }
}
