//! The `knossos-rs` command: a thin layer over the library (see `cli`).

mod cli;

fn main() {
    few_arenas();
    std::process::exit(cli::run());
}

/// Caps glibc's malloc at two arenas. It gives each new thread an arena of its own
/// (up to eight per core), and a race starts two threads per key: memory one
/// search freed then sits in an arena the next search's threads do not use, and
/// measured, a check of six hard keys at `--memory-limit 100MiB` peaked at 171 MB
/// of RSS with the default and 135 MB with two arenas, no slower.
fn few_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            /// glibc's `mallopt(3)`.
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        const M_ARENA_MAX: std::ffi::c_int = -8;
        // SAFETY: mallopt takes no pointers, and is called before any other thread starts.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
        }
    }
}
