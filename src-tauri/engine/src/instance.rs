//! Who runs the sync scheduler for a data directory: the tray app or `repxp-cli run`, one process
//! at a time. Two schedulers on one database would not lose or double XP (the sync is exactly-once
//! across processes), but they would double the requests against the workspace's shared rate
//! limit and race each other's retries.
//!
//! The claim is an OS file lock on `app.lock` in the data directory (`flock` on Unix, `LockFileEx`
//! on Windows). The OS releases it when the process ends, however it ends, so a crash never leaves
//! a stale "already running". The lock file keeps the name the tray has always locked, so a tray
//! built before this module and a new `repxp-cli run` still exclude each other.
//!
//! Who holds the lock is written beside it, in `app.owner.json`: on Windows a locked file cannot
//! be read by other processes, so the lock file itself cannot say.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "app.lock";
pub const OWNER_FILE: &str = "app.owner.json";

/// What kind of process runs the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The desktop tray app.
    Tray,
    /// `repxp-cli run`: the scheduler without a display.
    Headless,
}

/// The process holding the lock, as it wrote itself down in [`OWNER_FILE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub role: Role,
    pub pid: u32,
}

/// This process runs the scheduler for the data directory until the lock is dropped (or the
/// process ends).
#[derive(Debug)]
pub struct InstanceLock {
    // Never read: holding the open file is what holds the lock.
    _file: File,
    owner: PathBuf,
    holder: Holder,
}

impl InstanceLock {
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        // Still under the lock (the file closes after this), so no other holder can have written
        // the owner file yet: it is ours to remove. A crash skips this; the next holder rewrites it.
        let _ = std::fs::remove_file(&self.owner);
    }
}

/// The answer of [`try_claim`].
#[derive(Debug)]
pub enum Claimed {
    Mine(InstanceLock),
    /// Another process holds the lock. `None` when it has not said who it is: a tray older than
    /// the owner file, or a process in the instant between locking and writing it.
    Held(Option<Holder>),
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstanceError + '_ {
    move |source| InstanceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE)
}

pub fn owner_path(data_dir: &Path) -> PathBuf {
    data_dir.join(OWNER_FILE)
}

fn open_lock_file(data_dir: &Path) -> Result<File, InstanceError> {
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let path = lock_path(data_dir);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))
}

/// Takes the scheduler for `data_dir` if no other process has it.
pub fn try_claim(data_dir: &Path, role: Role) -> Result<Claimed, InstanceError> {
    let file = open_lock_file(data_dir)?;
    match file.try_lock() {
        Ok(()) => Ok(Claimed::Mine(claimed(data_dir, file, role))),
        Err(TryLockError::WouldBlock) => Ok(Claimed::Held(holder(data_dir))),
        Err(TryLockError::Error(e)) => Err(io(&lock_path(data_dir))(e)),
    }
}

/// Takes the scheduler for `data_dir`, blocking the calling thread until the process holding it
/// ends or lets go. Call it from a thread of its own, not from an async worker.
pub fn claim_waiting(data_dir: &Path, role: Role) -> Result<InstanceLock, InstanceError> {
    let file = open_lock_file(data_dir)?;
    file.lock().map_err(io(&lock_path(data_dir)))?;
    Ok(claimed(data_dir, file, role))
}

/// Who holds the lock, as far as [`OWNER_FILE`] says; `None` if it is missing or unreadable.
pub fn holder(data_dir: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(owner_path(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

fn claimed(data_dir: &Path, file: File, role: Role) -> InstanceLock {
    let holder = Holder {
        role,
        pid: std::process::id(),
    };
    let owner = owner_path(data_dir);
    // The owner file only informs whoever waits; the lock alone decides. Failing to write it
    // (full disk) must not stop the sync, but a previous holder's stale entry must not stay.
    if let Err(e) = write_owner(&owner, &holder) {
        let _ = std::fs::remove_file(&owner);
        tracing::warn!(error = %e, path = %owner.display(), "cannot record who runs the sync");
    }
    InstanceLock {
        _file: file,
        owner,
        holder,
    }
}

/// Whole or not at all: a reader never sees half a file (write beside it, then rename over).
fn write_owner(owner: &Path, holder: &Holder) -> std::io::Result<()> {
    let json = serde_json::to_string(holder).map_err(std::io::Error::other)?;
    let tmp = owner.with_extension(format!("json.{}.tmp", holder.pid));
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(format!("{json}\n").as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, owner));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn mine(c: Claimed) -> InstanceLock {
        match c {
            Claimed::Mine(l) => l,
            Claimed::Held(h) => panic!("held by {h:?}"),
        }
    }

    #[test]
    fn the_second_claim_sees_the_first_holder_and_the_lock_dies_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tray = mine(try_claim(dir.path(), Role::Tray).expect("claim"));
        assert_eq!(tray.holder().role, Role::Tray);
        match try_claim(dir.path(), Role::Headless).expect("claim") {
            Claimed::Held(Some(h)) => assert_eq!(
                h,
                Holder {
                    role: Role::Tray,
                    pid: std::process::id()
                }
            ),
            other => panic!("expected the tray to hold it, got {other:?}"),
        }
        drop(tray);
        assert!(
            !owner_path(dir.path()).exists(),
            "a released lock names no owner"
        );
        let runner = mine(try_claim(dir.path(), Role::Headless).expect("claim"));
        assert_eq!(
            holder(dir.path()).map(|h| h.role),
            Some(Role::Headless),
            "the new holder is written down"
        );
        drop(runner);
    }

    #[test]
    fn a_holder_that_never_said_who_it_is_reads_as_unknown() {
        let dir = tempfile::tempdir().expect("tempdir");
        // What a tray built before the owner file does: lock app.lock, write nothing beside it.
        let old_tray = open_lock_file(dir.path()).expect("open");
        old_tray.try_lock().expect("lock");
        assert!(matches!(
            try_claim(dir.path(), Role::Headless).expect("claim"),
            Claimed::Held(None)
        ));
        std::fs::write(owner_path(dir.path()), "{not json").expect("write");
        assert!(matches!(
            try_claim(dir.path(), Role::Headless).expect("claim"),
            Claimed::Held(None)
        ));
    }

    #[test]
    fn a_stale_owner_file_is_replaced_by_the_next_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A holder killed with -9 leaves its entry behind; the lock itself is free.
        std::fs::write(
            owner_path(dir.path()),
            r#"{"role":"tray","pid":4294967295}"#,
        )
        .expect("write");
        let lock = mine(try_claim(dir.path(), Role::Headless).expect("claim"));
        assert_eq!(holder(dir.path()).as_ref(), Some(lock.holder()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_waiting_claim_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tray = mine(try_claim(dir.path(), Role::Tray).expect("claim"));
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let got = claim_waiting(&path, Role::Headless);
            let _ = tx.send(());
            got
        });
        // Bounded: the waiter must still be blocked while the tray holds the lock.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(tray);
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the waiter takes over");
        let lock = waiter.join().expect("join").expect("claim");
        assert_eq!(lock.holder().role, Role::Headless);
        assert_eq!(holder(dir.path()).map(|h| h.role), Some(Role::Headless));
    }

    #[test]
    fn the_owner_file_is_plain_json_a_script_can_read() {
        let h = Holder {
            role: Role::Headless,
            pid: 42,
        };
        assert_eq!(
            serde_json::to_string(&h).expect("json"),
            r#"{"role":"headless","pid":42}"#
        );
    }
}
