//! The `knossos-rs` command: a thin layer over the library (see `cli`).

mod cli;

fn main() {
    tune_malloc();
    std::process::exit(cli::run());
}

/// Tunes glibc's malloc for long searches of many small entries, before any other
/// thread starts.
///
/// - At most two arenas. glibc gives each new thread an arena of its own (up to
///   eight per core), and a race starts two threads per key: memory one search
///   freed then sits in an arena the next search's threads do not use. Measured, a
///   check of six hard keys at `--memory-limit 100MiB` peaked at 171 MB of RSS with
///   the default and 135 MB with two arenas, no slower.
/// - No fast bins. glibc keeps small freed chunks unmerged in fast bins and merges
///   them all at the next large request, with no budget check in between: after a
///   search emptied a table of millions of configurations, one allocation took up
///   to 0.6 s, and the answer came that much after the deadline (the linear engine
///   on a kv history of 20 clients). Without them, the longest time between two
///   budget checks there is under 0.1 s, for 3–5 % more time on long searches
///   (ARCHITECTURE.md, "Nothing runs long between two budget checks").
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            /// glibc's `mallopt(3)`.
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        const M_MXFAST: std::ffi::c_int = 1;
        const M_ARENA_MAX: std::ffi::c_int = -8;
        // SAFETY: mallopt takes no pointers, and is called before any other thread starts.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
            mallopt(M_MXFAST, 0);
        }
    }
}
