//! The SQLite file: opening it safely (WAL, busy timeout, versioned migrations) and refusing what
//! it must not touch (a corrupt file, a newer schema). Nothing here ever deletes or recreates a
//! database file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use crate::error::StoreError;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "repxp.db";

/// How long a writer waits for another process (the app, the dialer's CLI calls) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The durability setting every connection uses (see `open_once`); public so the benchmark's bare
/// insert uses exactly the same.
pub const SYNCHRONOUS: (&str, &str) = ("synchronous", "NORMAL");

/// Schema versions, oldest first. Released migrations are never edited: add a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_lineage.sql"),
    include_str!("migrations/0003_pace_team.sql"),
    include_str!("migrations/0004_claim_sent_at.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// The newest schema version this build understands.
pub fn supported_schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open_dir(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        Store::open(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // Two processes opening a brand-new file at once race to create the schema; the loser
        // sees SQLITE_BUSY and simply opens again, by which time the schema is there.
        let mut attempt = 0;
        loop {
            match Store::open_once(path) {
                Err(StoreError::Busy { .. }) if attempt < 50 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Store, StoreError> {
        let sql_err = |e| StoreError::from_sqlite(path, e);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(sql_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        // The first statement that reads the file is where a corrupt file shows itself.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "database not in WAL mode");
        }
        // NORMAL in WAL mode: a commit survives any crash of this or another process (kill -9
        // included, tested); only an OS crash or power cut can roll back the last commits, and
        // never corrupts the file. FULL adds an fsync per award, 1.6 -> 3+ ms p50 and 8 ms p99
        // here (BENCHMARKS.md); callers that must survive power loss resend with the same --id.
        // The sync's own bookkeeping does not rely on this: it commits with `durably` (FULL).
        conn.pragma_update(None, SYNCHRONOUS.0, SYNCHRONOUS.1)
            .map_err(sql_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql_err)?;

        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        let supported = supported_schema_version();
        if found > supported {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        if found < supported {
            if let Err(e) = migrations().to_latest(&mut conn) {
                // Another process may have migrated the same fresh file a moment before us
                // (rusqlite_migration reads the version outside its write lock). If the schema
                // is now current, that is fine; otherwise the error stands.
                let now: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(sql_err)?;
                if now != supported {
                    return Err(match e {
                        rusqlite_migration::Error::RusqliteError { err, .. } => {
                            StoreError::from_sqlite(path, err)
                        }
                        other => StoreError::Migration {
                            path: path.to_path_buf(),
                            detail: other.to_string(),
                        },
                    });
                }
            }
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.check_lineage()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Maps a SQLite error on this store into a [`StoreError`] naming the file.
    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, e)
    }

    /// Runs `f` in a write transaction taken up front (IMMEDIATE), so a read-then-write never
    /// fails halfway on another process's commit.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let run = |conn: &mut Connection| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut self.conn).map_err(|e| StoreError::from_sqlite(&self.path, e))
    }

    /// Like [`Store::write`], but the commit is fsynced (synchronous=FULL for this transaction):
    /// it, and every commit before it, survives a power cut. For the sync's bookkeeping (the claim
    /// before a write, the acknowledgement after), once per push, never per award.
    pub(crate) fn durably<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.conn
            .pragma_update(None, SYNCHRONOUS.0, "FULL")
            .map_err(|e| StoreError::from_sqlite(&self.path, e))?;
        let out = self.write(f);
        if let Err(e) = self.conn.pragma_update(None, SYNCHRONOUS.0, SYNCHRONOUS.1) {
            tracing::warn!(error = %e, "could not return to synchronous=NORMAL");
        }
        out
    }

    /// `PRAGMA quick_check`: `Ok(())` or the first problem SQLite found.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: verdict,
            })
        }
    }

    /// A cheap marker of "something changed in the database", from this or another process.
    /// The app polls nothing: it checks this when the file-change watcher fires.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    #[test]
    fn newer_schema_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE);
        drop(Store::open(&path).expect("fresh"));
        {
            let c = Connection::open(&path).expect("raw open");
            c.pragma_update(None, "user_version", 99).expect("bump");
        }
        let before = std::fs::read(&path).expect("read");
        let err = Store::open(&path).err().expect("must refuse");
        assert!(
            matches!(err, StoreError::NewerSchema { found: 99, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("repxp.db"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    #[test]
    fn corrupt_file_is_named_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE);
        let garbage = b"this is not sqlite, it is a rep's lost spreadsheet".repeat(100);
        std::fs::write(&path, &garbage).expect("write");
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).expect("read"), garbage);
    }
}
