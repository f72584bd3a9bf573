//! Noticing writes by other processes (`repxp-cli award`, the dialer, the award API, the sync)
//! without polling: inotify (FSEvents, ReadDirectoryChangesW elsewhere) on the data directory,
//! filtered to writes of the database and its WAL. Idle, nothing wakes up. The tray and
//! `repxp-cli run` both use it to push soon after an award made by any process.

use std::path::Path;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

use crate::store::DB_FILE;

// Re-exported so a caller holds the watcher without depending on notify itself.
pub use notify::{Error as WatchError, RecommendedWatcher};

/// Whether an event is a write to the database (not an open or a read, which the sync and the
/// app's own reads cause all the time).
fn is_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any | ModifyKind::Other)
            | EventKind::Create(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

fn is_db_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name == DB_FILE || name.strip_prefix(DB_FILE) == Some("-wal")
}

/// Calls `on_change` (from the watcher's thread) after writes to the database in `dir`. Keep the
/// returned watcher alive for as long as changes should be seen; dropping it stops the thread.
/// One commit is several file events: callers fold bursts.
pub fn watch(
    dir: &Path,
    on_change: impl Fn() + Send + 'static,
) -> Result<RecommendedWatcher, WatchError> {
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
        Ok(ev) if is_write(&ev.kind) && ev.paths.iter().any(|p| is_db_file(p)) => on_change(),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "database watcher error"),
    })?;
    // The directory, not the files: the WAL is created and removed as connections come and go.
    w.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn db_files_only() {
        assert!(is_db_file(Path::new("/x/repxp.db")));
        assert!(is_db_file(Path::new("/x/repxp.db-wal")));
        assert!(!is_db_file(Path::new("/x/repxp.db-shm")));
        assert!(!is_db_file(Path::new("/x/other.db-wal")));
    }

    #[test]
    fn a_write_by_another_connection_is_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reader = crate::Store::open_dir(dir.path()).expect("open");
        let (tx, rx) = mpsc::channel();
        let _w = watch(dir.path(), move || {
            let _ = tx.send(());
        })
        .expect("watch");
        let before = reader.data_version().expect("version");
        let mut writer = crate::Store::open_dir(dir.path()).expect("open");
        writer
            .record(&crate::Progress::xp(5, None).expect("valid"), None, None)
            .expect("record");
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the write is noticed");
        assert_ne!(reader.data_version().expect("version"), before);
    }
}
