//! The rep's record as Twenty last told us, normalised, and the merge laws that combine it with
//! local changes. Scalars (totalXp, metrics) come from Twenty; lists (bosses, exams) are unions.
//! The merge table in docs/ARCHITECTURE.md states every field's rule.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::store::Store;
use crate::timefmt;

/// One passed exam. Several passes of one exam keep the best score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExamResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl ExamResult {
    /// Merge law: the best score wins; a scored pass beats an unscored one. Commutative,
    /// associative and idempotent, so the order in which devices sync never matters.
    pub fn merge(&self, other: &ExamResult) -> ExamResult {
        let score = match (self.score, other.score) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        ExamResult { score }
    }
}

/// Union of two exam maps under [`ExamResult::merge`].
pub fn merge_exams(into: &mut BTreeMap<String, ExamResult>, other: &BTreeMap<String, ExamResult>) {
    for (id, result) in other {
        let merged = match into.get(id) {
            Some(existing) => existing.merge(result),
            None => result.clone(),
        };
        into.insert(id.clone(), merged);
    }
}

/// The later of two RFC 3339 times (both in our normalised format, or parsed if not).
pub fn later_time(a: Option<&str>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (ta, tb) = (timefmt::parse(a).ok(), timefmt::parse(b).ok());
            match (ta, tb) {
                (Some(ta), Some(tb)) => Some(timefmt::format(ta.max(tb))),
                (Some(ta), None) => Some(timefmt::format(ta)),
                (None, Some(tb)) => Some(timefmt::format(tb)),
                (None, None) => None,
            }
        }
        (Some(x), None) | (None, Some(x)) => timefmt::parse(x).ok().map(timefmt::format),
        (None, None) => None,
    }
}

/// Twenty's `syncWatermarks` entry for one device: the last of its events that is settled on
/// this record (applied, or set aside on purpose), named by local number *and* event id, so two
/// copies of one database agree on it and a database that went another way notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Watermark {
    Event {
        seq: i64,
        event: String,
        /// When the device last wrote its entry (Twenty's clock where RepXP has heard it):
        /// an entry idle for long may be pruned (`sync::plan::prune_idle`). Entries of older
        /// RepXP versions have none and are never pruned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<String>,
    },
    /// Schema 1 wrote the number of the last batch applied (settled by `sync::legacy`).
    Legacy(u64),
}

/// The rep's record on Twenty, as RepXP understands it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Twenty's record id; `None` until the record was found or created.
    pub remote_id: Option<String>,
    #[serde(default)]
    pub rep_email: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// The record's `name` (Twenty's label field), for the team view; RepXP never writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub total_xp: i64,
    /// The `level` field as Twenty holds it (another writer may use another curve).
    #[serde(default)]
    pub level: Option<i64>,
    pub defeated_bosses: BTreeSet<String>,
    pub passed_exams: BTreeMap<String, ExamResult>,
    pub efficiency_metrics: BTreeMap<String, f64>,
    pub last_activity_date: Option<String>,
    /// device id -> its last settled event (the exactly-once watermark).
    pub sync_watermarks: BTreeMap<String, Watermark>,
    /// Bumped on every RepXP write; one operand of the compare-and-set.
    pub sync_revision: i64,
    pub updated_at: Option<String>,
    /// Which compare-and-set numbers Twenty holds as null (a record another tool created).
    #[serde(default)]
    pub null_fields: NullFields,
    /// Fields whose value RepXP cannot read (field -> why). They are never written, never part
    /// of the compare-and-set, and shown as empty; `status` and `doctor` name them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, String>,
    /// Other live records that answer to the same email (ids), oldest first. RepXP keeps to the
    /// oldest; `status` and `doctor` ask for a merge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<String>,
    /// What each of [`Snapshot::duplicates`] holds (id -> totalXp): named to the rep, never added
    /// to their total.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub duplicate_xp: BTreeMap<String, i64>,
    /// The list fields as Twenty stored them (`defeatedBosses`, `passedExams`,
    /// `efficiencyMetrics`: TEXT or RAW_JSON, in whatever shape their writers chose), so RepXP
    /// adds to them without reshaping them (`twenty/list_fields.rs`). `None`: a snapshot saved
    /// before RepXP kept them; a write then reads the record first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<BTreeMap<String, serde_json::Value>>,
}

impl Snapshot {
    pub fn is_readable(&self, field: &str) -> bool {
        !self.unreadable.contains_key(field)
    }

    /// Twenty's level, if it holds a readable one (another writer may use another curve, an
    /// admin may correct it): see `level::standing`.
    pub fn twenty_level(&self) -> Option<u32> {
        self.level
            .filter(|_| self.is_readable("level"))
            .map(|l| l.clamp(0, i64::from(u32::MAX)) as u32)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NullFields {
    pub sync_revision: bool,
    pub total_xp: bool,
}

impl Store {
    /// The snapshot of the configured identity, or an empty one (before the first sync, or
    /// after the URL or email changed). Settings and environment decide the identity.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let identity = crate::identity::current_identity(self)?;
        self.snapshot_of(identity.as_deref())
    }

    /// The identity the stored snapshot belongs to (`None` before the first sync, or for a
    /// snapshot from before schema 2).
    pub fn snapshot_identity(&self) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT identity FROM snapshot WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// The stored snapshot if it belongs to `identity` (a snapshot from before schema 2 has no
    /// identity and is taken as the current one's), else an empty one.
    pub fn snapshot_of(&self, identity: Option<&str>) -> Result<Snapshot, StoreError> {
        let row: Option<(String, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT record, identity FROM snapshot WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match row {
            Some((json, stored)) if same_identity(stored.as_deref(), identity) => {
                serde_json::from_str(&json).map_err(|e| StoreError::BadRow {
                    path: self.path().to_path_buf(),
                    detail: format!("snapshot: {e}"),
                })
            }
            _ => Ok(Snapshot::default()),
        }
    }
}

fn same_identity(stored: Option<&str>, wanted: Option<&str>) -> bool {
    match (stored, wanted) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => a == b,
    }
}

/// Whether `new` may replace `old`: another process may save an older read after we saved a newer
/// one, and the snapshot must never go back in time (the view would briefly lose acknowledged
/// XP). A different record (deleted and recreated, or another identity) always replaces.
///
/// Twenty stamps `updatedAt` on every write, by anyone: the read stamped later is the newer,
/// whatever `syncRevision` says. An admin who restores the record from an export takes
/// `syncRevision` back, and Twenty's state wins. Only when the stamps are equal (or unreadable)
/// does the revision decide.
fn supersedes(new: &Snapshot, old: &Snapshot) -> bool {
    if new.remote_id != old.remote_id {
        return true;
    }
    let stamp = |s: &Snapshot| s.updated_at.as_deref().and_then(|t| timefmt::parse(t).ok());
    match (stamp(new), stamp(old)) {
        (Some(n), Some(o)) if n != o => n > o,
        _ => new.sync_revision >= old.sync_revision,
    }
}

/// Replaces the snapshot of `identity` inside a caller's transaction (the ack and the pull write
/// it together with their other changes, atomically), unless the stored one is newer.
pub(crate) fn save_snapshot(
    tx: &rusqlite::Transaction<'_>,
    snap: &Snapshot,
    identity: &str,
) -> Result<(), rusqlite::Error> {
    let current: Option<(String, Option<String>, Option<i64>)> = tx
        .query_row(
            "SELECT record, identity, pushed_xp FROM snapshot WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    // Ours on Twenty: this identity's events acknowledged so far (this transaction's
    // acknowledgement included).
    let pushed_xp: i64 = tx.query_row(
        "SELECT coalesce(sum(xp), 0) FROM events
         WHERE pushed_at IS NOT NULL AND released_as IS NULL AND (identity = ?1 OR identity IS NULL)",
        [identity],
        |r| r.get(0),
    )?;
    let now = timefmt::format(timefmt::now());
    if let Some((json, stored, old_pushed)) = current {
        let same = same_identity(stored.as_deref(), Some(identity));
        if let (true, Ok(old)) = (same, serde_json::from_str::<Snapshot>(&json)) {
            if !supersedes(snap, &old) {
                return Ok(());
            }
            if let Some(old_pushed) = old_pushed {
                let ours = pushed_xp.saturating_sub(old_pushed);
                note_remote_xp(tx, &old, snap, ours, identity, &now)?;
            }
        }
    }
    let json = serde_json::to_string(snap)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO snapshot (singleton, record, pulled_at, identity, pushed_xp)
         VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (singleton) DO UPDATE SET record = excluded.record,
             pulled_at = excluded.pulled_at, identity = excluded.identity,
             pushed_xp = excluded.pushed_xp",
        rusqlite::params![json, now, identity, pushed_xp],
    )?;
    Ok(())
}

/// Notes XP that reached the record between two reads without coming from this database (see
/// the `remote_xp` table; `ours` is what we pushed in between): the pace and the streak count it
/// like the rep's own.
fn note_remote_xp(
    tx: &rusqlite::Transaction<'_>,
    old: &Snapshot,
    new: &Snapshot,
    ours: i64,
    identity: &str,
    now: &str,
) -> Result<(), rusqlite::Error> {
    let readable = |s: &Snapshot| !s.null_fields.total_xp && !s.unreadable.contains_key("totalXp");
    if old.remote_id != new.remote_id || !readable(old) || !readable(new) {
        return Ok(());
    }
    let theirs = new
        .total_xp
        .saturating_sub(old.total_xp)
        .saturating_sub(ours);
    if theirs == 0 {
        return Ok(());
    }
    // When it was earned, as far as RepXP can tell: the record's last activity if it is newer
    // than what the old read said, else now.
    let at = new
        .last_activity_date
        .as_deref()
        .and_then(|t| timefmt::parse(t).ok())
        .map(timefmt::format)
        .filter(|t| Some(t.as_str()) > old.last_activity_date.as_deref() && t.as_str() <= now)
        .unwrap_or_else(|| now.to_string());
    tx.execute(
        "INSERT INTO remote_xp (identity, at, xp) VALUES (?1, ?2, ?3)",
        rusqlite::params![identity, at, theirs],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exam_map() -> impl Strategy<Value = BTreeMap<String, ExamResult>> {
        proptest::collection::btree_map(
            "[a-d]",
            proptest::option::of(0u8..=100).prop_map(|s| ExamResult {
                score: s.map(f64::from),
            }),
            0..4,
        )
    }

    proptest! {
        #[test]
        fn exam_merge_is_commutative_associative_idempotent(a in exam_map(), b in exam_map(), c in exam_map()) {
            let m = |x: &BTreeMap<String, ExamResult>, y: &BTreeMap<String, ExamResult>| {
                let mut out = x.clone();
                merge_exams(&mut out, y);
                out
            };
            prop_assert_eq!(m(&a, &b), m(&b, &a));
            prop_assert_eq!(m(&m(&a, &b), &c), m(&a, &m(&b, &c)));
            prop_assert_eq!(m(&a, &a), a.clone());
        }
    }

    #[test]
    fn later_time_picks_the_later_instant_not_the_larger_string() {
        assert_eq!(
            later_time(
                Some("2026-11-25T10:00:00+05:00"),
                Some("2026-11-25T06:00:00Z")
            )
            .as_deref(),
            Some("2026-11-25T06:00:00.000Z")
        );
        assert_eq!(later_time(None, Some("junk")), None);
    }
}
