//! The offline queue: events not yet acknowledged by Twenty, frozen into numbered batches so a
//! batch is either applied once on Twenty or not at all (DESIGN.md §3).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::error::StoreError;
use crate::model::Progress;
use crate::snapshot::{save_snapshot, ExamResult, Snapshot};
use crate::store::Store;
use crate::timefmt;
use crate::view::unpushed;

/// One queued event, as `repxp-cli queue` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedEvent {
    pub id: String,
    #[serde(flatten)]
    pub progress: Progress,
    pub occurred_at: String,
    /// The push batch it is frozen into, if a push has started.
    pub batch: Option<i64>,
}

/// A recent event, pushed or not, for the panel's activity list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityItem {
    pub id: String,
    #[serde(flatten)]
    pub progress: Progress,
    pub occurred_at: String,
    pub pushed: bool,
}

/// A frozen batch: everything one push must apply, aggregated.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub seq: u64,
    pub device_id: String,
    pub events: u64,
    pub xp_delta: i64,
    pub bosses: BTreeSet<String>,
    pub exams: BTreeMap<String, ExamResult>,
    pub metrics: BTreeMap<String, f64>,
    pub last_activity: Option<String>,
    /// A request carrying this batch may have been applied by Twenty with its answer lost (so a
    /// watermark at or above `seq` means "it landed", not "this database was restored from an
    /// old copy").
    pub attempted: bool,
}

fn bad_row(store: &Store, detail: String) -> StoreError {
    StoreError::BadRow {
        path: store.path().to_path_buf(),
        detail,
    }
}

fn row_progress(
    store: &Store,
    kind: &str,
    xp: i64,
    subject: Option<String>,
    value: Option<f64>,
) -> Result<Progress, StoreError> {
    Progress::from_columns(kind, xp, subject, value)
        .ok_or_else(|| bad_row(store, format!("event of kind {kind:?} with missing fields")))
}

impl Store {
    /// Reads events with `sql`, whose columns are id, kind, xp, subject, value, occurred_at and
    /// one extra column of type `T` (the batch, or whether it was pushed), bound to `?1 = limit`.
    fn event_rows<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        limit: usize,
    ) -> Result<Vec<(String, Progress, String, T)>, StoreError> {
        let mut st = self.conn().prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, T>(6)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, xp, subject, value, occurred_at, extra) =
                row.map_err(|e| self.err(e))?;
            let progress = row_progress(self, &kind, xp, subject, value)?;
            out.push((id, progress, occurred_at, extra));
        }
        Ok(out)
    }

    /// Pending events, oldest first (local order), at most `limit`.
    pub fn queue(&self, limit: usize) -> Result<Vec<QueuedEvent>, StoreError> {
        let rows = self.event_rows::<Option<i64>>(
            "SELECT id, kind, xp, subject, value, occurred_at, batch_seq FROM events
             WHERE pushed_at IS NULL ORDER BY seq LIMIT ?1",
            limit,
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, progress, occurred_at, batch)| QueuedEvent {
                id,
                progress,
                occurred_at,
                batch,
            })
            .collect())
    }

    /// The newest `limit` events, pushed or pending, newest first.
    pub fn recent_activity(&self, limit: usize) -> Result<Vec<ActivityItem>, StoreError> {
        let rows = self.event_rows::<bool>(
            "SELECT id, kind, xp, subject, value, occurred_at, pushed_at IS NOT NULL FROM events
             ORDER BY seq DESC LIMIT ?1",
            limit,
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, progress, occurred_at, pushed)| ActivityItem {
                id,
                progress,
                occurred_at,
                pushed,
            })
            .collect())
    }

    /// The batch to push: the in-flight one if a previous push did not finish (it is resent
    /// unchanged), else a new batch of every unpushed event. `None` when the queue is empty.
    /// Events recorded after this call wait for the next batch.
    pub fn freeze_batch(&mut self) -> Result<Option<Batch>, StoreError> {
        self.write(|tx| {
            let (device_id, next_seq, inflight, attempted): (String, i64, Option<i64>, i64) = tx
                .query_row(
                    "SELECT device_id, next_batch_seq, inflight_batch_seq, inflight_attempted
                     FROM sync_state WHERE singleton = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                ?;
            let seq = match inflight {
                Some(seq) => seq,
                None => {
                    let frozen = tx
                        .execute(
                            "UPDATE events SET batch_seq = ?1 WHERE pushed_at IS NULL AND batch_seq IS NULL",
                            [next_seq],
                        )
                        ?;
                    if frozen == 0 {
                        return Ok(None);
                    }
                    tx.execute(
                        "UPDATE sync_state SET inflight_batch_seq = ?1, inflight_attempted = 0,
                         next_batch_seq = ?1 + 1 WHERE singleton = 1",
                        [next_seq],
                    )
                    ?;
                    next_seq
                }
            };
            let agg = unpushed(tx, Some(seq))
                ?;
            Ok(Some(Batch {
                seq: seq.max(0) as u64,
                device_id,
                events: agg.count,
                xp_delta: agg.xp,
                bosses: agg.bosses,
                exams: agg.exams,
                metrics: agg.metrics,
                last_activity: agg.last_activity,
                attempted: inflight.is_some() && attempted > 0,
            }))
        })
    }

    /// Records, durably and before the request goes out, that a request carrying batch `seq` is
    /// about to be sent and its outcome is unknown until an answer says otherwise.
    pub fn mark_attempted(&mut self, seq: u64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE sync_state SET inflight_attempted = inflight_attempted + 1
                 WHERE singleton = 1 AND inflight_batch_seq = ?1",
                [seq as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// An answer proved that the request marked by [`Store::mark_attempted`] did not apply the
    /// batch (a lost compare-and-set, a 4xx, a refused connection). Only requests whose outcome
    /// stays unknown (a timeout, a dropped reply, a crash) keep counting, so "attempted" means
    /// "may have landed" and a restored database is still told apart from a lost reply.
    pub fn unmark_attempted(&mut self, seq: u64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE sync_state SET inflight_attempted = max(inflight_attempted - 1, 0)
                 WHERE singleton = 1 AND inflight_batch_seq = ?1",
                [seq as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A batch that never left this device collides with a watermark Twenty already holds for
    /// this device id (the database was restored from an older copy): give it a fresh number
    /// above the watermark so it is applied instead of being mistaken for an applied one.
    /// Returns `false`, changing nothing, if meanwhile the batch was sent (by another process):
    /// then the watermark may be its own, and the caller must re-plan.
    pub fn renumber_batch(&mut self, old: u64, above: u64) -> Result<bool, StoreError> {
        let new = above as i64 + 1;
        self.write(|tx| {
            let moved = tx.execute(
                "UPDATE sync_state SET inflight_batch_seq = ?1, next_batch_seq = max(next_batch_seq, ?1 + 1)
                 WHERE singleton = 1 AND inflight_batch_seq = ?2 AND inflight_attempted = 0",
                params![new, old as i64],
            )?;
            if moved == 1 {
                tx.execute(
                    "UPDATE events SET batch_seq = ?1 WHERE batch_seq = ?2 AND pushed_at IS NULL",
                    params![new, old as i64],
                )?;
            }
            Ok(moved == 1)
        })
    }

    /// The in-flight batch's number and whether a request carrying it may have been sent.
    pub fn inflight(&self) -> Result<Option<(u64, bool)>, StoreError> {
        self.conn()
            .query_row(
                "SELECT inflight_batch_seq, inflight_attempted FROM sync_state WHERE singleton = 1",
                [],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, i64>(1)?)),
            )
            .map(|(seq, attempted)| seq.map(|s| (s.max(0) as u64, attempted > 0)))
            .map_err(|e| self.err(e))
    }

    /// Twenty holds batch `seq` (we wrote it, or its watermark says so): in one transaction its
    /// events leave the queue and `snap` (the record as Twenty returned it) becomes the snapshot.
    pub fn acknowledge(&mut self, seq: u64, snap: &Snapshot) -> Result<u64, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE events SET pushed_at = ?1 WHERE batch_seq = ?2 AND pushed_at IS NULL",
                params![timefmt::format(timefmt::now()), seq as i64],
            )?;
            tx.execute(
                "UPDATE sync_state SET inflight_batch_seq = NULL, inflight_attempted = 0
                 WHERE singleton = 1 AND inflight_batch_seq = ?1",
                [seq as i64],
            )?;
            save_snapshot(tx, snap)?;
            Ok(n as u64)
        })
    }

    /// Replaces the snapshot after a pull. Unpushed events are untouched and stay on top.
    pub fn save_pulled(&mut self, snap: &Snapshot) -> Result<(), StoreError> {
        self.write(|tx| save_snapshot(tx, snap))
    }

    /// This device's id in Twenty's watermark map.
    pub fn device_id(&self) -> Result<String, StoreError> {
        self.conn()
            .query_row(
                "SELECT device_id FROM sync_state WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| bad_row(self, "sync_state row is missing".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_oldest_first_and_activity_newest_first_with_pushed_marks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_dir(dir.path()).expect("open");
        for xp in [10, 20, 30] {
            s.record(&Progress::xp(xp, None).expect("valid"), None, None)
                .expect("record");
        }
        let batch = s.freeze_batch().expect("freeze").expect("a batch");
        assert_eq!((batch.events, batch.xp_delta), (3, 60));
        s.acknowledge(batch.seq, &Snapshot::default()).expect("ack");
        s.record(&Progress::boss("gatekeeper").expect("valid"), None, None)
            .expect("record");

        let q = s.queue(10).expect("queue");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].progress, Progress::boss("gatekeeper").expect("valid"));
        assert_eq!(q[0].batch, None);

        let a = s.recent_activity(3).expect("activity");
        let shown: Vec<(i64, bool)> = a
            .iter()
            .map(|i| (i.progress.xp_delta(), i.pushed))
            .collect();
        assert_eq!(shown, [(0, false), (30, true), (20, true)]);
    }
}
