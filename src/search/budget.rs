//! Budgets: time, memory and cancellation, checked inside the search loops.
//!
//! Checking is NP-complete, so a search must be able to stop itself. Each engine
//! calls [`Budget::check`] every [`CHECK_EVERY`] iterations of its loop (a few
//! microseconds apart), passing the bytes its caches hold; the check reads the
//! clock and two atomics. So a search stops within milliseconds of its deadline
//! or of a cancellation, with no polling thread, and stops *before* its caches
//! outgrow the memory limit rather than being killed by the operating system.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// How many loop iterations pass between budget checks: an iteration that meets a
/// new state of a large object (a queue of hundreds of elements) takes tens of
/// microseconds, and a check (the clock, two atomics) tens of nanoseconds.
pub const CHECK_EVERY: u32 = 128;

/// Why a search stopped without a verdict (more causes may come).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The time limit passed.
    Timeout,
    /// The caches reached the memory limit.
    MemoryLimit,
    /// The caller cancelled the search.
    Cancelled,
    /// `--algorithm unique` was asked for a history whose written values are not
    /// unique (or a model it does not know).
    Declined,
    /// Another key was found not linearizable first, and the check stops at the
    /// first failure (`--fail-fast`).
    Stopped,
}

impl Cause {
    /// The keyword the analysis prints (`:timeout`).
    pub fn name(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::MemoryLimit => "memory-limit",
            Cause::Cancelled => "cancelled",
            Cause::Declined => "declined",
            Cause::Stopped => "stopped",
        }
    }
}

/// A handle that stops a running check from another thread.
///
/// ```
/// let cancel = knossos_rs::Cancel::default();
/// let options = knossos_rs::Options::default().cancel(cancel.clone());
/// // … hand `options` to `check` on one thread, and from another:
/// cancel.cancel();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks every search using this handle to stop; they answer `:unknown` with
    /// cause `:cancelled`.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How far a [`check`](crate::check) has got, for a progress bar: partitions (keys)
/// checked, of all. Clones share the counts, so one handle may watch several checks.
///
/// ```
/// use knossos_rs::{check, model, read, History, Options, Progress};
///
/// let log = b"{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}";
/// let model = model::builtin("register", &Default::default()).unwrap();
/// let history = History::complete(read::RawOp::read(log, "h.edn", None).unwrap(), &model).unwrap();
/// let progress = Progress::default();
/// check(&model, &history, &Options::default().progress(progress.clone()));
/// assert_eq!((progress.checked(), progress.parts()), (1, 1));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    parts: AtomicUsize,
    checked: AtomicUsize,
}

impl Progress {
    /// Partitions to check, in every check watched (a history that is not split is one).
    pub fn parts(&self) -> usize {
        self.0.parts.load(Ordering::Relaxed)
    }

    /// Partitions checked so far.
    pub fn checked(&self) -> usize {
        self.0.checked.load(Ordering::Relaxed)
    }

    pub(crate) fn add_parts(&self, n: usize) {
        self.0.parts.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_checked(&self) {
        self.0.checked.fetch_add(1, Ordering::Relaxed);
    }
}

/// The limits one search runs under. Engines racing each other share one budget:
/// the memory limit covers both, and the first verdict stops the other. Searches
/// of different keys, running in parallel, share the deadline and the memory pool
/// ([`Budget::share`]) but not the verdict.
pub struct Budget {
    deadline: Option<Instant>,
    memory_limit: usize,
    cancel: Option<Cancel>,
    /// Set when another engine has already decided.
    decided: Arc<AtomicBool>,
    /// Bytes held by every search sharing this budget's pool.
    used: Arc<AtomicUsize>,
    /// Set when another key has failed and the check stops at the first failure.
    stop: Option<Arc<AtomicBool>>,
    /// How many more checks the search may make, if its work is capped.
    checks_left: Option<AtomicUsize>,
    /// The most this search alone may hold, if that is capped.
    own_limit: Option<usize>,
    /// Large structures the searches are done with, each with the bytes it gives
    /// back, to free once the last of them ends ([`Budget::deferring`]).
    deferred: Option<Deferred>,
}

type Deferred = Arc<Mutex<Vec<(Box<dyn Send>, usize)>>>;

impl Budget {
    /// A budget of a deadline, a memory limit for the searches' caches, and a
    /// cancellation handle.
    pub fn new(deadline: Option<Instant>, memory_limit: usize, cancel: Option<Cancel>) -> Budget {
        let used = Arc::new(AtomicUsize::new(0));
        let decided = Arc::new(AtomicBool::new(false));
        Budget {
            deadline,
            memory_limit,
            cancel,
            decided,
            used,
            stop: None,
            checks_left: None,
            own_limit: None,
            deferred: None,
        }
    }

    /// This budget, ending (with [`Cause::Stopped`]) once `stop` is set.
    pub fn stopping(mut self, stop: &Arc<AtomicBool>) -> Budget {
        self.stop = Some(Arc::clone(stop));
        self
    }

    /// A budget for another search under the same limits (deadline, memory pool,
    /// cancellation), with a verdict of its own; `deadline` may bring the end nearer.
    pub fn share(&self, deadline: Option<Instant>) -> Budget {
        let deadline = match (self.deadline, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Budget {
            deadline,
            memory_limit: self.memory_limit,
            cancel: self.cancel.clone(),
            decided: Arc::new(AtomicBool::new(false)),
            used: Arc::clone(&self.used),
            stop: self.stop.clone(),
            checks_left: None,
            own_limit: None,
            deferred: self.deferred.clone(),
        }
    }

    /// This budget, verdict included, but what its searches are done with once they
    /// are over ([`Budget::over`]) is freed only by [`Budget::free_deferred`]: for
    /// engines that race and then explain. Freed as each engine stopped, the
    /// structures of engines stopping together (at a deadline) were freed by threads
    /// of their own, which held the allocator's locks while the engines allocated
    /// their answers: measured, a race at `--time-limit 5s` holding 0.6 GB of kv
    /// states answered after 5.1–6.1 s, and after 5.1 s with nothing freed.
    pub(crate) fn deferring(&self) -> Budget {
        Budget { decided: Arc::clone(&self.decided), deferred: Some(Deferred::default()), ..self.share(None) }
    }

    /// Frees, on one thread, what this budget's searches deferred, and then gives
    /// their bytes back to the pool.
    pub(crate) fn free_deferred(self) {
        let Some(deferred) = self.deferred else { return };
        let values = std::mem::take(&mut *deferred.lock().unwrap_or_else(PoisonError::into_inner));
        if values.is_empty() {
            return;
        }
        let used = self.used;
        std::thread::spawn(move || {
            let held: usize = values.iter().map(|&(_, held)| held).sum();
            drop(values);
            return_to_system();
            used.fetch_sub(held, Ordering::Relaxed);
        });
    }

    /// This budget, verdict included (an engine of the race may end it), that
    /// also ends after `checks` checks (with [`Cause::Timeout`]) or once the search
    /// holds more than `bytes` (with [`Cause::MemoryLimit`]): for a stage of an
    /// engine that runs in stages, each of a bounded amount of work.
    pub(crate) fn stage(&self, checks: usize, bytes: usize) -> Budget {
        Budget { decided: Arc::clone(&self.decided), own_limit: Some(bytes), ..self.capped(checks) }
    }

    /// A share of this budget ([`Budget::share`]) that also ends (with
    /// [`Cause::Timeout`]) after `checks` checks: a limit on work rather than
    /// time, so whether a search finishes within it is the same on every run.
    pub(crate) fn capped(&self, checks: usize) -> Budget {
        Budget { checks_left: Some(AtomicUsize::new(checks)), ..self.share(None) }
    }

    /// The count of bytes held by every search sharing this budget's pool.
    pub(crate) fn pool(&self) -> &Arc<AtomicUsize> {
        &self.used
    }

    /// When the search must end at the latest, if it must.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// How far what an engine holds may grow between two budget checks: a
    /// sixteenth of the memory limit (from 64 KiB to 64 MiB), so that no search runs
    /// far past the limit, nor checks the clock at every step while it allocates.
    pub(crate) fn slack(&self) -> usize {
        (self.memory_limit / 16).clamp(64 << 10, 64 << 20)
    }

    /// Whether every search under this budget is stopping: a verdict is in, or it
    /// is cancelled, stopped or out of time.
    fn over(&self) -> bool {
        self.decided.load(Ordering::Relaxed)
            || self.cancel.as_ref().is_some_and(Cancel::is_cancelled)
            || self.stop.as_ref().is_some_and(|stop| stop.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Tells other engines under this budget that a verdict is in.
    pub fn decide(&self) {
        self.decided.store(true, Ordering::Relaxed);
    }

    /// Whether an engine should stop: `None` to go on. `held` is what this
    /// engine's caches held at its last check, `holds` what they hold now.
    pub fn check(&self, held: usize, holds: usize) -> Option<Cause> {
        let total = if holds >= held {
            self.used.fetch_add(holds - held, Ordering::Relaxed) + (holds - held)
        } else {
            self.used.fetch_sub(held - holds, Ordering::Relaxed) - (held - holds)
        };
        if self.decided.load(Ordering::Relaxed) || self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
            return Some(Cause::Cancelled);
        }
        if self.stop.as_ref().is_some_and(|stop| stop.load(Ordering::Relaxed)) {
            return Some(Cause::Stopped);
        }
        if total > self.memory_limit || self.own_limit.is_some_and(|limit| holds > limit) {
            return Some(Cause::MemoryLimit);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Cause::Timeout);
        }
        if let Some(left) = &self.checks_left {
            if left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err() {
                return Some(Cause::Timeout);
            }
        }
        None
    }

    /// Gives back what an engine held, once it is done.
    pub fn release(&self, held: usize) {
        self.used.fetch_sub(held, Ordering::Relaxed);
    }
}

/// The most bytes a hash table or vector of `entry`-byte elements may hold after
/// `more` further insertions: its buffer, plus the grown buffer it may need by then
/// (old and new coexist while it grows).
pub(crate) fn grow_peak(len: usize, capacity: usize, more: usize, entry: usize) -> usize {
    let now = capacity * entry;
    if len + more > capacity {
        now + 2 * now.max(more * entry)
    } else {
        now
    }
}

/// What the allocator takes for a request of `bytes` (glibc: a 16-byte-aligned chunk
/// with an 8-byte header, 32 bytes at least).
pub(crate) fn malloc_size(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        ((bytes + 8 + 15) & !15).max(32)
    }
}

/// Frees a structure holding `bytes`, then gives the `held` bytes an engine
/// counted back to the budget's pool; on another thread if it is large: dropping
/// millions of entries takes a noticeable fraction of a second, which a search that
/// stopped at its time limit should not add to its answer. Giving back only once
/// the memory is free keeps the next search (another key's) from counting on it
/// while it is still held.
pub(crate) fn drop_in_background<T: Send + 'static>(value: T, bytes: usize, budget: &Budget, held: usize) {
    if bytes > 16 << 20 {
        // While the others search on, freeing at once gives them the memory back.
        if let Some(deferred) = budget.deferred.as_ref().filter(|_| budget.over()) {
            deferred.lock().unwrap_or_else(PoisonError::into_inner).push((Box::new(value), held));
            return;
        }
        let used = Arc::clone(&budget.used);
        std::thread::spawn(move || {
            drop(value);
            return_to_system();
            used.fetch_sub(held, Ordering::Relaxed);
        });
    } else {
        free(value, bytes);
        budget.release(held);
    }
}

/// Frees a structure holding `bytes`, and past a megabyte hands the memory back to
/// the operating system: what one thread's search freed stays in its arena, where
/// the next search's threads (a race after its sprint, another key's) may not reuse
/// it. Trimming costs a system call and page-table work, so not below that.
pub(crate) fn free<T>(value: T, bytes: usize) {
    drop(value);
    if bytes > 1 << 20 {
        std::thread::spawn(return_to_system);
    }
}

/// Asks the allocator to hand freed memory back to the operating system. glibc's
/// keeps what a search freed in its arenas for reuse, so a process that checks
/// key after key grew, measured, to twice its memory limit; trimming after each
/// search keeps it within the limit.
fn return_to_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            /// glibc's `malloc_trim(3)`: releases free memory at the top of the heap
            /// and free pages within it.
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and may be called at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// The default memory limit: half of physical memory (from `/proc/meminfo`), or
/// 4 GiB where that cannot be read.
pub fn default_memory_limit() -> usize {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
    });
    total_kib.map_or(4 << 30, |kib| kib / 2 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stops_for_each_cause() {
        let b = Budget::new(None, 1000, None);
        assert_eq!(b.check(0, 500), None);
        assert_eq!(b.check(500, 1001), Some(Cause::MemoryLimit));
        assert_eq!(b.check(1001, 10), None);
        let b = Budget::new(Some(Instant::now() - Duration::from_millis(1)), usize::MAX, None);
        assert_eq!(b.check(0, 0), Some(Cause::Timeout));
        let cancel = Cancel::default();
        let b = Budget::new(None, usize::MAX, Some(cancel.clone()));
        assert_eq!(b.check(0, 0), None);
        cancel.cancel();
        assert_eq!(b.check(0, 0), Some(Cause::Cancelled));
    }

    #[test]
    fn memory_is_shared_between_engines() {
        let b = Budget::new(None, 1000, None);
        assert_eq!(b.check(0, 600), None);
        // a second engine's 600 bytes exceed the shared limit
        assert_eq!(b.check(0, 600), Some(Cause::MemoryLimit));
        b.release(600);
        assert_eq!(b.check(0, 0), None);
    }

    #[test]
    fn shared_budgets_share_the_pool_not_the_verdict() {
        let root = Budget::new(None, 1000, None);
        let a = root.share(None);
        let b = root.share(Some(Instant::now() - Duration::from_millis(1)));
        assert_eq!(a.check(0, 600), None);
        let c = root.share(None);
        assert_eq!(c.check(0, 600), Some(Cause::MemoryLimit), "the pool is shared");
        c.release(600);
        a.decide();
        assert_eq!(root.share(None).check(0, 0), None, "a verdict of one search is not another's");
        assert_eq!(b.check(0, 0), Some(Cause::Timeout), "the nearer deadline holds");
    }

    /// Sets its flag when dropped.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    /// Whether `flag` holds within five seconds.
    fn eventually(flag: impl Fn() -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(5);
        while !flag() {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    #[test]
    fn a_racing_budget_frees_what_stopped_searches_hold_at_the_end() {
        let root = Budget::new(None, 1 << 40, None);
        let racing = root.deferring();
        let big = 32 << 20;
        // Searching on: freed at once, its bytes given back.
        let (searching, stopped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        assert_eq!(racing.check(0, 2 * big), None);
        drop_in_background(Dropped(Arc::clone(&searching)), big, &racing, big);
        assert!(eventually(|| searching.load(Ordering::Relaxed)));
        assert!(eventually(|| root.used.load(Ordering::Relaxed) == big));
        // Once a verdict is in: kept, and counted, until the race is over.
        racing.decide();
        drop_in_background(Dropped(Arc::clone(&stopped)), big, &racing.stage(1, usize::MAX), big);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!stopped.load(Ordering::Relaxed));
        assert_eq!(root.used.load(Ordering::Relaxed), big);
        racing.free_deferred();
        assert!(eventually(|| stopped.load(Ordering::Relaxed)));
        assert!(eventually(|| root.used.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn default_limit_is_sensible() {
        let limit = default_memory_limit();
        assert!(limit >= 256 << 20, "{limit}");
    }
}
