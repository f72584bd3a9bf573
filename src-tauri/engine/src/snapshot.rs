//! The rep's record as Twenty last told us, normalised, and the merge laws that combine it with
//! local changes. Scalars (totalXp, metrics) come from Twenty; lists (bosses, exams) are unions.

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

/// The rep's record on Twenty, as RepXP understands it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Twenty's record id; `None` until the record was found or created.
    pub remote_id: Option<String>,
    pub total_xp: i64,
    pub defeated_bosses: BTreeSet<String>,
    pub passed_exams: BTreeMap<String, ExamResult>,
    pub efficiency_metrics: BTreeMap<String, f64>,
    pub last_activity_date: Option<String>,
    /// device id -> last batch seq applied to this record (the exactly-once watermark).
    pub sync_watermarks: BTreeMap<String, u64>,
    /// Bumped on every RepXP write: the compare-and-set operand.
    pub sync_revision: i64,
    pub updated_at: Option<String>,
    /// Which compare-and-set numbers Twenty holds as null (a record another tool created).
    #[serde(default)]
    pub null_fields: NullFields,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NullFields {
    pub sync_revision: bool,
    pub total_xp: bool,
}

impl Store {
    /// The last snapshot, or an empty one before the first sync.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let json: Option<String> = self
            .conn()
            .query_row("SELECT record FROM snapshot WHERE singleton = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        match json {
            None => Ok(Snapshot::default()),
            Some(j) => serde_json::from_str(&j).map_err(|e| StoreError::BadRow {
                path: self.path().to_path_buf(),
                detail: format!("snapshot: {e}"),
            }),
        }
    }
}

/// Whether `new` may replace `old`: another process may save an older read after we saved a newer
/// one, and the snapshot must never go back in time (the view would briefly lose acknowledged
/// XP). A different record (deleted and recreated) always replaces.
fn supersedes(new: &Snapshot, old: &Snapshot) -> bool {
    if new.remote_id != old.remote_id {
        return true;
    }
    match new.sync_revision.cmp(&old.sync_revision) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        // Same RepXP revision: a later updatedAt means another tool wrote (Twenty's ISO strings
        // in UTC with milliseconds compare correctly as text).
        std::cmp::Ordering::Equal => new.updated_at >= old.updated_at,
    }
}

/// Replaces the snapshot inside a caller's transaction (the ack and the pull write it together
/// with their other changes, atomically), unless the stored one is newer.
pub(crate) fn save_snapshot(
    tx: &rusqlite::Transaction<'_>,
    snap: &Snapshot,
) -> Result<(), rusqlite::Error> {
    let current: Option<String> = tx
        .query_row("SELECT record FROM snapshot WHERE singleton = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(old) = current.and_then(|j| serde_json::from_str::<Snapshot>(&j).ok()) {
        if !supersedes(snap, &old) {
            return Ok(());
        }
    }
    let json = serde_json::to_string(snap)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO snapshot (singleton, record, pulled_at) VALUES (1, ?1, ?2)
         ON CONFLICT (singleton) DO UPDATE SET record = excluded.record, pulled_at = excluded.pulled_at",
        rusqlite::params![json, timefmt::format(timefmt::now())],
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
