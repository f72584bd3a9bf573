//! Which device a database records under, and how it notices at open that it was copied or
//! restored, before it records anything (docs/ARCHITECTURE.md, "Device lineage and watermarks").
//!
//! Twenty's `syncWatermarks` maps a device id to the last of its events applied. That is exact
//! only while one device id names one line of events. A copied data directory, or one restored
//! from a backup, would carry the id on into a second line that reuses the same event numbers for
//! other events. So at every open the store compares two things it wrote earlier:
//! - the database file's identity (device and inode; volume serial number and file index on
//!   Windows): a copy or a restored file is a new file;
//! - the claims mirrored outside the data directory (the per-user state directory): for each
//!   device id, the last event this data directory sent to Twenty. A database that no longer
//!   holds one of them was rolled back in place (a backup copied over it).
//!
//! If either says "another line", the database forks: what it records from now on belongs to a
//! new device id, while its older, shared events keep the old id, whose watermark tells which of
//! them landed, whoever sent them. A fork is always safe; at worst it adds one entry to the map
//! (entries idle for months are pruned: `sync::plan::prune_idle`).

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::paths;
use crate::store::Store;
use crate::timefmt;

/// Overrides where the identity files live (tests, portable installs).
pub const STATE_DIR_ENV: &str = "REPXP_STATE_DIR";

/// One device id and the events it owns: `first_seq..=last_seq` (`last_seq` open for the current).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub device_id: String,
    pub first_seq: i64,
    /// `None` for the current device (it owns everything recorded from now on).
    pub last_seq: Option<i64>,
    pub reason: String,
    pub created_at: String,
}

impl Segment {
    pub fn contains(&self, seq: i64) -> bool {
        seq >= self.first_seq && self.last_seq.is_none_or(|l| seq <= l)
    }
}

/// The last event a data directory sent to Twenty as a watermark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub device: String,
    pub seq: i64,
    pub event: String,
}

/// What is kept outside the data directory, one small file per data directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct IdentityFile {
    data_dir: String,
    device: String,
    /// The last event sent, per device id (newest claim of each).
    #[serde(default)]
    claims: Vec<Claim>,
}

impl IdentityFile {
    /// Records `claim` unless a later one of the same device is already known: what Twenty
    /// holds only ever grows.
    fn upsert(&mut self, claim: &Claim) -> bool {
        if self
            .claims
            .iter()
            .any(|c| c.device == claim.device && c.seq >= claim.seq)
        {
            return false;
        }
        self.claims.retain(|c| c.device != claim.device);
        self.claims.push(claim.clone());
        true
    }
}

/// The identity of the file at `path`: a copy or a restored backup is a new file.
pub fn file_identity(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(format!("{}:{}", meta.dev(), meta.ino()))
    }
    #[cfg(windows)]
    {
        // Windows' dev:inode: the volume serial number and the file index of an open handle.
        // (The creation time served before: copy tools keep it, and Wine reports it afresh at
        // each open, so every open looked like a copy.)
        let _ = meta;
        windows_file_id(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = meta;
        None
    }
}

#[cfg(windows)]
fn windows_file_id(path: &Path) -> Option<String> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
    };
    // std opens with every share mode, so SQLite's own handle is not disturbed.
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: a zeroed BY_HANDLE_FILE_INFORMATION is a valid value (plain integers and
    // FILETIMEs) that the call overwrites; the handle is open for the whole call.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle() as _, &mut info) };
    if ok == 0 {
        return None;
    }
    let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
    Some(format!(
        "vol:{:08x}:{index:016x}",
        info.dwVolumeSerialNumber
    ))
}

/// Identities recorded by the Windows builds before the file index: adopted, never a fork.
const LEGACY_WINDOWS_IDENTITY: &str = "created:";

/// The directory holding identity files: `$REPXP_STATE_DIR`, else the per-user state directory
/// (`~/.local/state/repxp-identity` on Linux; the local app-data directory elsewhere). Never
/// inside a data directory, so copying or restoring one does not carry it along.
pub fn identity_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(STATE_DIR_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d).join("identity"));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("repxp-identity"))
}

fn identity_path(data_dir: &Path) -> Option<PathBuf> {
    let canonical = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let hash = paths::stable_hash(canonical.as_os_str().as_encoded_bytes());
    identity_dir().map(|d| d.join(format!("{hash:016x}.json")))
}

fn load_identity(data_dir: &Path) -> Option<IdentityFile> {
    let path = identity_path(data_dir)?;
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable identity file");
            None
        }
    }
}

/// Writes the identity file durably (temp file, fsync, rename), so after a power cut it holds
/// either the old or the new claim, never half of one. Failure only weakens restore detection.
fn save_identity(data_dir: &Path, file: &IdentityFile) {
    let Some(path) = identity_path(data_dir) else {
        tracing::warn!(
            "no per-user state directory: restored backups are caught by file identity only"
        );
        return;
    };
    if !path.exists() {
        prune_identities(path.parent().unwrap_or(Path::new(".")));
    }
    if let Err(e) = write_durably(&path, file) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the identity file");
    }
}

/// Drops identity files of data directories that no longer exist (temporary ones, removed
/// installs), so the directory stays as small as the set of data directories in use.
fn prune_identities(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let gone = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<IdentityFile>(&t).ok())
            .is_some_and(|f| !Path::new(&f.data_dir).exists());
        if gone {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn write_durably(path: &Path, file: &IdentityFile) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(serde_json::to_string(file).unwrap_or_default().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What the open-time check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The database file is not the file RepXP last opened here: a copy or a restored backup.
    Copied,
    /// The database no longer holds the last event this data directory sent to Twenty.
    Restored,
}

impl Fork {
    fn reason(self) -> &'static str {
        match self {
            Fork::Copied => "copied",
            Fork::Restored => "restored",
        }
    }
}

struct StoredIdentity {
    file_identity: Option<String>,
    device: String,
}

impl Store {
    /// Run at every open, before anything is recorded. Cheap when nothing changed: one stat, one
    /// small file read, one query.
    pub(crate) fn check_lineage(&mut self) -> Result<(), StoreError> {
        let Some(data_dir) = self.path().parent().map(Path::to_path_buf) else {
            return Ok(());
        };
        let actual = file_identity(self.path());
        let mut external = load_identity(&data_dir).unwrap_or_default();
        let rec = self.recorded_identity()?;
        let in_sync = rec.file_identity.is_some()
            && rec.file_identity == actual
            && unheld_claims(self.conn(), &external.claims)
                .map_err(|e| self.err(e))?
                .is_empty()
            && external.device == rec.device;
        if in_sync {
            return Ok(());
        }
        // Decide and act inside one write transaction, so two processes opening a copied file
        // at once fork it once.
        let claims = external.claims.clone();
        let (fork, device) = self.write(|tx| {
            let (stored, device): (Option<String>, String) = tx.query_row(
                "SELECT file_identity, device_id FROM sync_state WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let unheld = unheld_claims(tx, &claims)?;
            let fork = match &stored {
                // A new database, or one from before schema 2: this is its home.
                None => None,
                // The creation-time identity of earlier Windows builds: this file's new one is
                // recorded below (a claim not held still tells a restore).
                Some(s) if s.starts_with(LEGACY_WINDOWS_IDENTITY) && unheld.is_empty() => None,
                Some(s) if actual.as_ref().is_some_and(|a| a != s) => Some(Fork::Copied),
                Some(_) if !unheld.is_empty() => Some(Fork::Restored),
                Some(_) => None,
            };
            // Claims this database does not hold are noted, so they fork it once, not at
            // every open.
            for c in &unheld {
                tx.execute(
                    "INSERT OR IGNORE INTO missing_claims (device, seq, event) VALUES (?1, ?2, ?3)",
                    params![c.device, c.seq, c.event],
                )?;
            }
            let device = match fork {
                Some(f) => fork_tx(tx, f.reason())?,
                None => device,
            };
            tx.execute(
                "UPDATE sync_state SET file_identity = ?1 WHERE singleton = 1",
                [&actual],
            )?;
            Ok((fork, device))
        })?;
        if let Some(f) = fork {
            tracing::warn!(
                reason = f.reason(),
                device = %device,
                "this database was {}: what it records from now on goes under a new device id",
                f.reason()
            );
        }
        external.data_dir = data_dir.display().to_string();
        external.device = device;
        save_identity(&data_dir, &external);
        Ok(())
    }

    fn recorded_identity(&self) -> Result<StoredIdentity, StoreError> {
        self.conn()
            .query_row(
                "SELECT file_identity, device_id FROM sync_state WHERE singleton = 1",
                [],
                |r| {
                    Ok(StoredIdentity {
                        file_identity: r.get(0)?,
                        device: r.get(1)?,
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    /// Whether this database holds event `id` at `seq`.
    pub fn holds_event(&self, seq: i64, id: &str) -> Result<bool, StoreError> {
        holds_event_tx(self.conn(), seq, id).map_err(|e| self.err(e))
    }

    /// The id this database records under now.
    pub fn device_id(&self) -> Result<String, StoreError> {
        self.conn()
            .query_row(
                "SELECT device_id FROM devices ORDER BY ordinal DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Every device id of this database, oldest first, with the events it owns.
    pub fn segments(&self) -> Result<Vec<Segment>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT device_id, first_seq, reason, created_at FROM devices ORDER BY ordinal",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(String, i64, String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        let mut out: Vec<Segment> = Vec::with_capacity(rows.len());
        for (device_id, first_seq, reason, created_at) in rows {
            if let Some(prev) = out.last_mut() {
                prev.last_seq = Some(first_seq - 1);
            }
            out.push(Segment {
                device_id,
                first_seq,
                last_seq: None,
                reason,
                created_at,
            });
        }
        Ok(out)
    }

    /// Starts a new device id for everything recorded from now on (`reason`: copied, restored,
    /// diverged). Returns the new id.
    pub fn fork(&mut self, reason: &str) -> Result<String, StoreError> {
        let device = self.write(|tx| fork_tx(tx, reason))?;
        if let Some(dir) = self.path().parent() {
            let mut f = load_identity(dir).unwrap_or_default();
            f.data_dir = dir.display().to_string();
            f.device = device.clone();
            save_identity(dir, &f);
        }
        Ok(device)
    }

    /// Records, durably (synchronous=FULL, so every event before it is on disk too) and outside
    /// the data directory, that a request naming `claim` as a watermark is about to go out.
    /// `first_seq`: the push's first event. A claim of the same device that reached it was sent
    /// without an answer and may have landed then: its time stays (`hold::hold_if_pruned`).
    pub fn record_claim(&mut self, claim: &Claim, first_seq: i64) -> Result<(), StoreError> {
        self.durably(|tx| {
            tx.execute(
                "UPDATE sync_state SET claim_device = ?1, claim_seq = ?2, claim_event = ?3,
                 claim_at = CASE WHEN claim_device = ?1 AND claim_seq >= ?5 AND claim_at IS NOT NULL
                                 THEN claim_at ELSE ?4 END
                 WHERE singleton = 1",
                params![
                    claim.device,
                    claim.seq,
                    claim.event,
                    timefmt::format(timefmt::now()),
                    first_seq
                ],
            )?;
            Ok(())
        })?;
        self.mirror_claim(claim)
    }

    /// The last claim recorded before a request went out: `(device, seq, when)`; `when` is
    /// `None` for a claim of a build before schema 4.
    pub fn last_claim(&self) -> Result<Option<(String, i64, Option<String>)>, StoreError> {
        self.conn()
            .query_row(
                "SELECT claim_device, claim_seq, claim_at FROM sync_state
                 WHERE singleton = 1 AND claim_device IS NOT NULL AND claim_seq IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Notes outside the data directory that Twenty holds `claim.device`'s events through
    /// `claim.seq` (this database sent them, or learnt it from the watermark): a database later
    /// rolled back to before that event is then told apart at open.
    pub fn mirror_claim(&self, claim: &Claim) -> Result<(), StoreError> {
        if let Some(dir) = self.path().parent() {
            let mut f = load_identity(dir).unwrap_or_default();
            let device = self.device_id()?;
            if f.upsert(claim) || f.device != device {
                f.data_dir = dir.display().to_string();
                f.device = device;
                save_identity(dir, &f);
            }
        }
        Ok(())
    }
}

fn holds_event_tx(conn: &rusqlite::Connection, seq: i64, id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM events WHERE seq = ?1 AND id = ?2",
        params![seq, id],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
}

/// The claims this database neither holds nor has already forked past.
fn unheld_claims(conn: &rusqlite::Connection, claims: &[Claim]) -> rusqlite::Result<Vec<Claim>> {
    let mut out = Vec::new();
    for c in claims {
        let noted = conn
            .query_row(
                "SELECT 1 FROM missing_claims WHERE device = ?1 AND seq = ?2 AND event = ?3",
                params![c.device, c.seq, c.event],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !noted && !holds_event_tx(conn, c.seq, &c.event)? {
            out.push(c.clone());
        }
    }
    Ok(out)
}

fn fork_tx(tx: &rusqlite::Transaction<'_>, reason: &str) -> rusqlite::Result<String> {
    let device = new_device_id();
    // The next seq AUTOINCREMENT hands out: never one an earlier event had.
    let next: i64 = tx.query_row(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
                    coalesce((SELECT max(seq) FROM events), 0)) + 1",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO devices (device_id, first_seq, reason, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![device, next, reason, timefmt::format(timefmt::now())],
    )?;
    tx.execute(
        "UPDATE sync_state SET device_id = ?1 WHERE singleton = 1",
        [&device],
    )?;
    Ok(device)
}

fn new_device_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Progress;
    use crate::store::DB_FILE;

    fn award(s: &mut Store, xp: i64) {
        s.record(&Progress::xp(xp, None).expect("valid"), None, None)
            .expect("record");
    }

    fn checkpoint(s: &Store) {
        s.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
    }

    #[test]
    fn a_database_reopened_where_it_lives_keeps_its_device() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Store::open_dir(dir.path())
            .expect("open")
            .device_id()
            .expect("id");
        // As a CLI call per award does (under Wine, the creation time moved at every open).
        for _ in 0..100 {
            let mut s = Store::open_dir(dir.path()).expect("reopen");
            award(&mut s, 1);
        }
        let s = Store::open_dir(dir.path()).expect("reopen");
        assert_eq!(s.device_id().expect("id"), first);
        assert_eq!(s.segments().expect("segments").len(), 1);
    }

    #[test]
    fn a_database_of_an_earlier_windows_build_keeps_its_device_and_takes_the_new_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_dir(dir.path()).expect("open");
        award(&mut s, 10);
        let device = s.device_id().expect("id");
        s.conn()
            .execute(
                "UPDATE sync_state SET file_identity = 'created:1733500000000000000'",
                [],
            )
            .expect("legacy identity");
        drop(s);
        let s = Store::open_dir(dir.path()).expect("reopen");
        assert_eq!(s.device_id().expect("id"), device, "no fork");
        assert_eq!(s.segments().expect("segments").len(), 1);
        assert_eq!(
            s.recorded_identity().expect("identity").file_identity,
            file_identity(&dir.path().join(DB_FILE))
        );
    }

    #[test]
    fn a_copied_database_records_under_a_new_device_from_its_first_open() {
        let home = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_dir(home.path()).expect("open");
        award(&mut s, 10);
        checkpoint(&s);
        let original = s.device_id().expect("id");
        drop(s);
        let copy = tempfile::tempdir().expect("tempdir");
        std::fs::copy(home.path().join(DB_FILE), copy.path().join(DB_FILE)).expect("copy");

        let mut c = Store::open_dir(copy.path()).expect("open copy");
        let segs = c.segments().expect("segments");
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert_eq!(segs[0].device_id, original);
        assert_eq!(
            segs[0].last_seq,
            Some(1),
            "the shared event stays the old device's"
        );
        assert_eq!(segs[1].reason, "copied");
        assert_ne!(c.device_id().expect("id"), original);
        award(&mut c, 5);
        drop(c);
        let again = Store::open_dir(copy.path()).expect("reopen copy");
        assert_eq!(again.segments().expect("segments").len(), 2, "forks once");
        let back = Store::open_dir(home.path()).expect("original");
        assert_eq!(
            back.device_id().expect("id"),
            original,
            "the original is untouched"
        );
    }

    #[test]
    fn a_backup_copied_over_the_file_in_place_is_caught_by_the_claim() {
        let home = tempfile::tempdir().expect("tempdir");
        let db = home.path().join(DB_FILE);
        let mut s = Store::open_dir(home.path()).expect("open");
        award(&mut s, 10);
        checkpoint(&s);
        let backup = std::fs::read(&db).expect("backup");
        award(&mut s, 20);
        let claim = Claim {
            device: s.device_id().expect("id"),
            seq: 2,
            event: s.event_at(2).expect("event").expect("there"),
        };
        s.record_claim(&claim, 1).expect("claim");
        drop(s);
        let inode = file_identity(&db);
        // `cp backup repxp.db`: the same file, older content.
        std::fs::write(&db, &backup).expect("restore in place");
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(home.path().join(format!("{DB_FILE}{side}")));
        }
        assert_eq!(
            file_identity(&db),
            inode,
            "same inode: only the claim can tell"
        );
        let r = Store::open_dir(home.path()).expect("open restored");
        let segs = r.segments().expect("segments");
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert_eq!(segs[1].reason, "restored");
        assert_eq!(
            segs[1].first_seq, 2,
            "the new device starts after the restored events"
        );
        drop(r);
        let again = Store::open_dir(home.path()).expect("reopen");
        assert_eq!(
            again.segments().expect("segments").len(),
            2,
            "forks once, not at every open"
        );
        drop(again);
        // The same backup restored a second time is a new line again.
        std::fs::write(&db, &backup).expect("restore again");
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(home.path().join(format!("{DB_FILE}{side}")));
        }
        let twice = Store::open_dir(home.path()).expect("open restored twice");
        assert_eq!(twice.segments().expect("segments").len(), 2);
        assert_ne!(
            twice.device_id().expect("id"),
            segs[1].device_id,
            "not the id the first restore took"
        );
        assert_ne!(twice.device_id().expect("id"), segs[0].device_id);
    }
}
