//! One live process per run directory: a lock file (`.lock`) locked with the operating system's
//! file lock (`File::try_lock`) before anything is written, holding the owner's pid and host, and
//! removed when the run ends. A second run into a directory another live process holds is refused.
//! The system releases the lock of a process that died (killed, crashed); the file it left behind
//! then names it, and the takeover is said on stderr. A file left by another host is refused, as
//! file locks need not reach across hosts on a shared filesystem: remove it by hand.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// The lock of a run directory, released on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    // Holds the system lock until dropped, after the file is removed.
    _file: File,
}

fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Whether `file` is still the file at `path` (its last owner may have removed it between our
/// opening and our locking it).
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

impl RunLock {
    /// Takes the lock of `dir` (created if missing) for this process.
    pub fn acquire(dir: &Path) -> Result<Self, ConfigError> {
        let cannot = |e: std::io::Error| ConfigError::Write { path: dir.display().to_string(), message: e.to_string() };
        let locked =
            |owner: &str| ConfigError::Locked { dir: dir.display().to_string(), owner: owner.trim().to_string() };
        fs::create_dir_all(dir).map_err(cannot)?;
        let path = dir.join(".lock");
        for _ in 0..8 {
            let mut file =
                OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(cannot)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(locked(&fs::read_to_string(&path).unwrap_or_default())),
                Err(TryLockError::Error(e)) => return Err(cannot(e)),
            }
            if !still_at(&file, &path) {
                continue;
            }
            let mut left = String::new();
            file.read_to_string(&mut left).map_err(cannot)?;
            if let Some((pid, their_host)) = left.split_once(' ') {
                if their_host.trim() != host() {
                    return Err(locked(&left));
                }
                eprintln!(
                    "note: {} was locked by process {pid}, which is no longer running; taking it over",
                    dir.display()
                );
            }
            file.set_len(0).map_err(cannot)?;
            file.rewind().map_err(cannot)?;
            file.write_all(format!("{} {}\n", std::process::id(), host()).as_bytes()).map_err(cannot)?;
            return Ok(Self { path, _file: file });
        }
        Err(locked("a process that took it first"))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked, so the next owner locks a new file (see `still_at`).
        let _ = fs::remove_file(&self.path);
    }
}

/// Writes `contents` to `path` atomically: a temporary file beside it, then a rename, so a reader
/// sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Unique per write, not only per process: two threads may write the same file at once.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.tmp{}-{n}", std::process::id()));
    fs::write(&tmp, contents)?;
    fs::rename(&tmp, path)
}

/// [`write_atomic`], with a failure reported as "cannot write PATH".
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), ConfigError> {
    write_atomic(path, contents)
        .map_err(|e| ConfigError::Write { path: path.display().to_string(), message: e.to_string() })
}

/// Writes `value` as pretty JSON with its keys sorted (as every JSON file moralgym writes), with
/// [`write_file`].
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), ConfigError> {
    let failed = |e: serde_json::Error| ConfigError::Write { path: path.display().to_string(), message: e.to_string() };
    let sorted = serde_json::to_value(value).map_err(failed)?;
    write_file(path, serde_json::to_string_pretty(&sorted).map_err(failed)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_owner_and_a_dead_owners_lock_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("moralgym-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let held = RunLock::acquire(&dir).expect("free");
        let e = RunLock::acquire(&dir).expect_err("held by this live process");
        assert!(e.to_string().contains(&std::process::id().to_string()), "{e}");
        drop(held);
        assert!(!dir.join(".lock").exists(), "released on drop");
        // a lock of a process that cannot be alive (pid beyond the kernel's maximum)
        fs::write(dir.join(".lock"), format!("4294967295 {}\n", host())).unwrap();
        let taken = RunLock::acquire(&dir).expect("stale lock taken over");
        assert!(fs::read_to_string(dir.join(".lock")).unwrap().starts_with(&std::process::id().to_string()));
        drop(taken);
        // another host's lock cannot be judged: refused
        fs::write(dir.join(".lock"), "1 some-other-host\n").unwrap();
        assert!(RunLock::acquire(&dir).is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn threads_taking_over_a_stale_lock_hold_it_one_at_a_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = std::env::temp_dir().join(format!("moralgym-lock-race-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(".lock"), format!("4294967295 {}\n", host())).unwrap();
        let (holders, most, wins) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        if let Ok(lock) = RunLock::acquire(&dir) {
                            let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            wins.fetch_add(1, Ordering::SeqCst);
                            std::thread::yield_now();
                            holders.fetch_sub(1, Ordering::SeqCst);
                            drop(lock);
                        }
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two holders at once");
        assert!(wins.load(Ordering::SeqCst) > 0);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn atomic_writes_replace_the_whole_file() {
        let dir = std::env::temp_dir().join(format!("moralgym-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("eval.json");
        write_atomic(&p, "old").unwrap();
        write_atomic(&p, "new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        let _ = fs::remove_dir_all(&dir);
    }
}
