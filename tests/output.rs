//! Where the answer goes: a verdict that cannot be written is an error (exit 2, with
//! a message), never lost silently; `-` is standard output where an output is named.

use std::fs::File;
use std::process::{Command, Output, Stdio};

fn knossos(args: &[&str], stdout: Stdio) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CHECK: [&str; 4] = ["check", "-m", "cas-register", "fixtures/stale-read.edn"];

#[test]
fn a_verdict_that_cannot_be_written_is_an_error() {
    // /dev/full takes the open and refuses every write (ENOSPC).
    let Ok(full) = File::options().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full on this system");
        return;
    };
    let o = knossos(&CHECK, Stdio::from(full));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write the analysis to standard output"), "{}", stderr(&o));
}

#[test]
fn a_verdict_written_to_dev_null_is_no_error() {
    // Redirected to /dev/null on purpose, the exit code is the verdict.
    let o = knossos(&CHECK, Stdio::null());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn results_of_standard_input_have_nowhere_beside_them() {
    let history = File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/stale-read.edn")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
        .args(["check", "-m", "cas-register", "--write-results", "-"])
        .current_dir(std::env::temp_dir())
        .stdin(history)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--write-results"), "{}", stderr(&o));
    assert!(!std::env::temp_dir().join("-.knossos.edn").exists(), "no file named after `-`");
    let o =
        knossos(&["check", "-m", "cas-register", "--report", "-", "fixtures/stale-read.edn"], Stdio::piped());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_core_written_to_dash_goes_to_stdout() {
    let o = knossos(&["shrink", "-m", "cas-register", "-o", "-", "fixtures/stale-read.edn"], Stdio::piped());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let core = String::from_utf8_lossy(&o.stdout);
    // The fixture's core (docs/shrink.md): the write of 1, the cas from 1 to 2, and the
    // read of 1 after it, each an invocation and its completion.
    assert_eq!(core.lines().count(), 6, "{core}");
    assert!(core.lines().all(|l| l.starts_with("{:index")), "{core}");
    assert!(!std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/-")).exists());
}
