//! Progress of the walk on stderr, for scans long enough to wonder about: nothing for the
//! first seconds, then a bar redrawn in place on a terminal, or one line every few seconds in
//! a CI log (no terminal, where carriage returns make a mess). Files and bytes done, and once a
//! background count of the targets is in, the total and an estimate of the time left.
//!
//! The walker's threads only bump two atomic counters (`file_done`), at no cost when progress is
//! off; everything else happens on the meter's own thread. History mode has no per-commit
//! counter: it gets a line saying it is still at work.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Targets;

static ENABLED: AtomicBool = AtomicBool::new(false);
static FILES: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// Whether a meter is running: the walker skips the bookkeeping otherwise.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// One file of `bytes` inspected.
pub fn file_done(bytes: u64) {
    FILES.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(bytes, Ordering::Relaxed);
}

/// When and how often to speak.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Nothing before this: short scans stay quiet.
    pub after: Duration,
    /// Least time between two lines when stderr is not a terminal.
    pub every: Duration,
}

/// The running meter; dropping it stops it (and clears the bar).
pub struct Meter {
    stop: Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Meter {
    /// Starts the meter for the walk of `targets` under `root` (and, with `history`, a history
    /// that has no per-file count).
    pub fn start(
        targets: &Targets,
        root: &Path,
        follow_symlinks: bool,
        history: bool,
        timing: Timing,
    ) -> Meter {
        FILES.store(0, Ordering::Relaxed);
        BYTES.store(0, Ordering::Relaxed);
        ENABLED.store(true, Ordering::Relaxed);
        let targets: Vec<PathBuf> = match targets {
            Targets::Tree => vec![root.to_path_buf()],
            Targets::Listed { files, .. } => files.clone(),
        };
        let follow = follow_symlinks;
        let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let signal = Arc::clone(&stop);
        let terminal = std::io::stderr().is_terminal();
        let thread = std::thread::spawn(move || {
            let total = Arc::new(AtomicU64::new(u64::MAX));
            let counted = Arc::clone(&total);
            // Counted only once the scan proved long (short scans pay nothing), on a thread
            // of its own: the meter must not wait for it.
            let count = move || {
                std::thread::spawn(move || counted.store(count_files(&targets, follow), Ordering::Relaxed));
            };
            run(&signal, &total, count, timing, terminal, history)
        });
        Meter {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        ENABLED.store(false, Ordering::Relaxed);
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The meter's loop: wait, then draw until told to stop.
fn run(
    stop: &(Mutex<bool>, std::sync::Condvar),
    total: &AtomicU64,
    count: impl FnOnce(),
    timing: Timing,
    terminal: bool,
    history: bool,
) {
    let started = Instant::now();
    let tick = if terminal {
        Duration::from_millis(200)
    } else {
        timing.every
    };
    let mut wait = timing.after;
    let mut drawn = false;
    let mut count = Some(count);
    let (lock, wake) = stop;
    let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let (guard, _) = wake
            .wait_timeout_while(stopped, wait, |stopped| !*stopped)
            .unwrap_or_else(|p| p.into_inner());
        stopped = guard;
        if *stopped {
            break;
        }
        wait = tick;
        if let Some(count) = count.take() {
            count();
        }
        let total = match total.load(Ordering::Relaxed) {
            u64::MAX => None,
            known => Some(known),
        };
        let files = FILES.load(Ordering::Relaxed);
        let line = describe(
            files,
            BYTES.load(Ordering::Relaxed),
            total,
            started.elapsed(),
            history,
        );
        let mut err = std::io::stderr().lock();
        let _ = if terminal {
            write!(err, "\r\x1b[K{}{line}", bar(files, total))
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        drawn = true;
    }
    if terminal && drawn {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
    }
}

/// `[#####.........] ` once the total is known, for the terminal.
fn bar(files: u64, total: Option<u64>) -> String {
    const WIDTH: u64 = 20;
    match total {
        Some(total) if total > 0 => {
            let full = (files.min(total) * WIDTH / total) as usize;
            format!("[{}{}] ", "#".repeat(full), ".".repeat(WIDTH as usize - full))
        }
        _ => String::new(),
    }
}

/// What one progress line says.
fn describe(files: u64, bytes: u64, total: Option<u64>, elapsed: Duration, history: bool) -> String {
    let mut line = format!("anteater: progress: {}", files_done(files, total));
    line.push_str(&format!(
        ", {} read, {} elapsed",
        human_bytes(bytes),
        human_duration(elapsed)
    ));
    match total {
        Some(total) if files > 0 && files < total => {
            let rate = files as f64 / elapsed.as_secs_f64().max(0.001);
            let left = Duration::from_secs_f64((total - files) as f64 / rate);
            line.push_str(&format!(", about {} left", human_duration(left)));
        }
        Some(total) if files >= total && history => line.push_str("; scanning history"),
        _ => {}
    }
    line
}

fn files_done(files: u64, total: Option<u64>) -> String {
    let noun = |n: u64| if n == 1 { "file" } else { "files" };
    match total {
        Some(total) if total > 0 => {
            let percent = (files.min(total) * 100) / total;
            format!("{files} of {total} {} ({percent}%)", noun(total))
        }
        _ => format!("{files} {}", noun(files)),
    }
}

/// The files under `targets`, counted as the walk finds them (`.git` left out).
fn count_files(targets: &[PathBuf], follow: bool) -> u64 {
    let Some((first, rest)) = targets.split_first() else {
        return 0;
    };
    let mut builder = ignore::WalkBuilder::new(first);
    for target in rest {
        builder.add(target);
    }
    builder
        .standard_filters(false)
        .follow_links(follow)
        .filter_entry(|entry| entry.file_name() != ".git");
    builder
        .build()
        // The walk may end first: then nobody needs the total any more.
        .take_while(|_| enabled())
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .count() as u64
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 3600 {
        format!("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60)
    } else if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_what_is_done_and_what_is_left() {
        let line = describe(250, 3 << 20, Some(1000), Duration::from_secs(10), false);
        assert_eq!(
            line,
            "anteater: progress: 250 of 1000 files (25%), 3.0 MiB read, 10s elapsed, about 30s left"
        );
        // The count is not in yet: no total, no estimate.
        let early = describe(1, 10, None, Duration::from_secs(4), false);
        assert_eq!(early, "anteater: progress: 1 file, 10 B read, 4s elapsed");
        let history = describe(5, 0, Some(5), Duration::from_secs(75), true);
        assert!(history.ends_with("1m15s elapsed; scanning history"), "{history}");
        assert_eq!(bar(5, Some(20)), "[#####...............] ");
        assert_eq!(bar(5, None), "");
    }
}
