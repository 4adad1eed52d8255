//! For tools built on the checker, such as the `knossos-rs` command and this crate's
//! tests: pieces below [`check`](crate::check) that most users never need, and that
//! may change more often than the rest of the API.
//!
//! - [`decide`]: the unique-value engine alone, on a history whose written values
//!   are unique ([`Algorithm::Unique`](crate::Algorithm::Unique) through
//!   [`check`](crate::check) gives its analysis).
//! - [`write_atomically`]: how the reports and results files are written.

pub use crate::search::unique::{decide, Decline, Verdict};
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
