//! The offline queue: events not yet settled on Twenty, and the pushes made of them.
//!
//! A push is a run of consecutive pending events of one device (docs/ARCHITECTURE.md): the write
//! carries them aggregated, with the device's watermark moved to the last one, in one atomic
//! compare-and-set. Nothing is frozen or numbered locally: Twenty's watermark says which events
//! landed, so a lost reply, a crash or a power cut at any point is settled by reading it.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::error::StoreError;
use crate::identity::Owner;
use crate::lineage::Segment;
use crate::model::{EventId, Progress};
use crate::progression::unpushed;
use crate::snapshot::{save_snapshot, ExamResult, Snapshot};
use crate::store::Store;
use crate::timefmt;

/// Why an event is set aside from pushes (the `events.parked` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkedKind {
    /// Its field on Twenty holds something RepXP cannot read; released by itself when readable.
    UnreadableField,
    /// Twenty refused it for good; `repxp-cli retry` sends it again.
    Rejected,
    /// It may already be on Twenty (this database was restored or cloned along with its
    /// identity); `retry` counts it, `discard` drops it.
    Unverified,
    /// The rep dropped it (`discard`); kept for the record, never sent.
    Discarded,
}

impl ParkedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParkedKind::UnreadableField => "unreadable_field",
            ParkedKind::Rejected => "rejected",
            ParkedKind::Unverified => "unverified",
            ParkedKind::Discarded => "discarded",
        }
    }

    fn parse(s: &str) -> Option<ParkedKind> {
        Some(match s {
            "unreadable_field" => ParkedKind::UnreadableField,
            "rejected" => ParkedKind::Rejected,
            "unverified" => ParkedKind::Unverified,
            "discarded" => ParkedKind::Discarded,
            _ => return None,
        })
    }
}

/// One event waiting for Twenty, as `repxp-cli queue` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedEvent {
    pub id: String,
    #[serde(flatten)]
    pub progress: Progress,
    pub occurred_at: String,
    /// Set when the event is held back from pushes, with the reason in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parked: Option<ParkedKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A recent event, pushed or not, for the panel's activity list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityItem {
    pub id: String,
    #[serde(flatten)]
    pub progress: Progress,
    pub occurred_at: String,
    pub pushed: bool,
    /// Held back from pushes (see `queue` for why).
    pub held: bool,
}

/// What one write carries: consecutive pending events `first_seq..=last_seq` of one device,
/// aggregated.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub segment: Segment,
    pub first_seq: i64,
    pub last_seq: i64,
    /// Id of the event at `last_seq`: with it, the watermark names one event, not a number.
    pub last_event: String,
    pub events: u64,
    pub xp_delta: i64,
    pub bosses: BTreeSet<String>,
    pub exams: BTreeMap<String, ExamResult>,
    pub metrics: BTreeMap<String, f64>,
    pub last_activity: Option<String>,
}

impl Push {
    pub fn device_id(&self) -> &str {
        &self.segment.device_id
    }

    /// The Twenty fields this push changes (for parking what cannot be written).
    pub fn touches(&self, field: &str) -> bool {
        match field {
            "totalXp" => self.xp_delta != 0,
            "defeatedBosses" => !self.bosses.is_empty(),
            "passedExams" => !self.exams.is_empty(),
            "efficiencyMetrics" => !self.metrics.is_empty(),
            _ => false,
        }
    }
}

/// The event kind written into each list field.
pub fn kind_of_field(field: &str) -> Option<&'static str> {
    FIELD_KINDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, k)| *k)
}

/// The Twenty field an event kind is written into.
pub fn field_of_kind(kind: &str) -> Option<&'static str> {
    FIELD_KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(f, _)| *f)
}

/// (Twenty field, event kind) pairs.
const FIELD_KINDS: [(&str, &str); 4] = [
    ("totalXp", "xp"),
    ("defeatedBosses", "boss"),
    ("passedExams", "exam"),
    ("efficiencyMetrics", "metric"),
];

/// An event row to record again: seq, kind, xp, subject, value, occurred_at, id, identity.
type ParkedRow = (
    i64,
    String,
    i64,
    Option<String>,
    Option<f64>,
    String,
    String,
    Option<String>,
);

/// Reads the [`ParkedRow`] columns `seq, kind, xp, subject, value, occurred_at, id, identity`.
fn parked_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ParkedRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
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

/// A pending event is one neither pushed nor parked.
const PENDING: &str = "pushed_at IS NULL AND parked IS NULL";

/// SQL matching an [`Owner`] bound as `:identity` and `:current`.
const OWNED: &str = "(identity = :identity OR (identity IS NULL AND :current))";

impl Store {
    /// Reads events with `sql`, whose columns are id, kind, xp, subject, value, occurred_at and
    /// then whatever `extra` reads from column 6 on, bound to `?1 = limit`.
    fn event_rows<T>(
        &self,
        sql: &str,
        limit: usize,
        extra: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
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
                    extra(r)?,
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

    /// Events still to reach Twenty, oldest first (local order), at most `limit`: the pending
    /// ones, then those held back, with the reason. Discarded events are not listed.
    pub fn queue(&self, limit: usize) -> Result<Vec<QueuedEvent>, StoreError> {
        let rows = self.event_rows(
            "SELECT id, kind, xp, subject, value, occurred_at, parked, parked_reason FROM events
             WHERE pushed_at IS NULL AND (parked IS NULL OR parked != 'discarded')
             ORDER BY parked IS NOT NULL, seq LIMIT ?1",
            limit,
            |r| {
                Ok((
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(id, progress, occurred_at, (parked, reason))| QueuedEvent {
                    id,
                    progress,
                    occurred_at,
                    parked: parked.as_deref().and_then(ParkedKind::parse),
                    reason,
                },
            )
            .collect())
    }

    /// The newest `limit` events, pushed or pending, newest first (an event released under a new
    /// id shows once, as the new one).
    pub fn recent_activity(&self, limit: usize) -> Result<Vec<ActivityItem>, StoreError> {
        // 0 pending, 1 pushed, 2 held back.
        let rows = self.event_rows(
            "SELECT id, kind, xp, subject, value, occurred_at,
                    CASE WHEN pushed_at IS NOT NULL THEN 1 WHEN parked IS NOT NULL THEN 2 ELSE 0 END
             FROM events
             WHERE released_as IS NULL AND (parked IS NULL OR parked != 'discarded')
             ORDER BY seq DESC LIMIT ?1",
            limit,
            |r| r.get::<_, i64>(6),
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, progress, occurred_at, state)| ActivityItem {
                id,
                progress,
                occurred_at,
                pushed: state == 1,
                held: state == 2,
            })
            .collect())
    }

    /// The next push of `owner`'s events: pending events of the oldest device that has any,
    /// oldest first, at most `max_events` of them (`None`: all). `None` when nothing is pending.
    pub fn next_push(
        &self,
        owner: &Owner,
        max_events: Option<u64>,
    ) -> Result<Option<Push>, StoreError> {
        for segment in self.segments()? {
            let upper = segment.last_seq.unwrap_or(i64::MAX);
            let limit = max_events.map_or(-1, |n| n.max(1) as i64);
            // The last event of the push: the newest pending one, or the max_events-th.
            let last: Option<(i64, String)> = self
                .conn()
                .query_row(
                    &format!(
                        "SELECT seq, id FROM (SELECT seq, id FROM events
                         WHERE {PENDING} AND {OWNED} AND seq BETWEEN :first AND :upper
                         ORDER BY seq LIMIT :limit)
                         ORDER BY seq DESC LIMIT 1"
                    ),
                    rusqlite::named_params! {
                        ":first": segment.first_seq, ":upper": upper, ":limit": limit,
                        ":identity": owner.identity, ":current": owner.current,
                    },
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let Some((last_seq, last_event)) = last else {
                continue;
            };
            let first_seq: i64 = self
                .conn()
                .query_row(
                    &format!(
                        "SELECT min(seq) FROM events
                         WHERE {PENDING} AND {OWNED} AND seq BETWEEN :first AND :upper"
                    ),
                    rusqlite::named_params! {
                        ":first": segment.first_seq, ":upper": last_seq,
                        ":identity": owner.identity, ":current": owner.current,
                    },
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            let agg = unpushed(self.conn(), Some((first_seq, last_seq)), Some(owner))
                .map_err(|e| self.err(e))?;
            return Ok(Some(Push {
                segment,
                first_seq,
                last_seq,
                last_event,
                events: agg.count,
                xp_delta: agg.xp,
                bosses: agg.bosses,
                exams: agg.exams,
                metrics: agg.metrics,
                last_activity: agg.last_activity,
            }));
        }
        Ok(None)
    }

    /// Identities other than `current` that events still to send were earned under (pending,
    /// or waiting for a field of that record to become readable).
    pub fn other_identities(&self, current: Option<&str>) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT identity FROM events
                 WHERE pushed_at IS NULL AND (parked IS NULL OR parked = 'unreadable_field')
                 AND identity IS NOT NULL AND (?1 IS NULL OR identity != ?1) ORDER BY identity",
            )
            .map_err(|e| self.err(e))?;
        let ids: Vec<String> = st
            .query_map([current], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    /// The id of this database's event at `seq`, if it has one.
    pub fn event_at(&self, seq: i64) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row("SELECT id FROM events WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// When the earliest of the pending events `first..=last` was recorded.
    pub fn oldest_pending_recorded(
        &self,
        first: i64,
        last: i64,
    ) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT min(recorded_at) FROM events WHERE {PENDING} AND seq BETWEEN ?1 AND ?2"
                ),
                [first, last],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The highest event number this database holds (0 when empty).
    pub fn max_seq(&self) -> Result<i64, StoreError> {
        self.conn()
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Twenty holds `owner`'s events of `segment` up to `through` (we wrote them, or its
    /// watermark says so): in one durable transaction they leave the queue and, when given,
    /// `snapshot` (the record as Twenty returned it, with its identity) becomes the snapshot.
    /// Returns how many events left.
    pub fn acknowledge_through(
        &mut self,
        segment: &Segment,
        through: i64,
        owner: &Owner,
        snapshot: Option<(&Snapshot, &str)>,
    ) -> Result<u64, StoreError> {
        let upper = segment.last_seq.map_or(through, |l| l.min(through));
        self.durably(|tx| {
            let n = tx.execute(
                &format!(
                    "UPDATE events SET pushed_at = :now
                     WHERE {PENDING} AND {OWNED} AND seq BETWEEN :first AND :upper"
                ),
                rusqlite::named_params! {
                    ":now": timefmt::format(timefmt::now()), ":first": segment.first_seq,
                    ":upper": upper, ":identity": owner.identity, ":current": owner.current,
                },
            )?;
            if let Some((snap, identity)) = snapshot {
                save_snapshot(tx, snap, identity)?;
            }
            Ok(n as u64)
        })
    }

    /// Replaces the snapshot after a read. Pending events are untouched and stay on top.
    pub fn save_pulled(&mut self, snap: &Snapshot, identity: &str) -> Result<(), StoreError> {
        self.write(|tx| save_snapshot(tx, snap, identity))
    }

    /// Holds back `owner`'s pending events of `kinds` in `segment` up to `through`. Returns how
    /// many.
    pub fn park_kinds(
        &mut self,
        segment: &Segment,
        through: i64,
        owner: &Owner,
        kinds: &[&str],
        parked: ParkedKind,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let upper = segment.last_seq.map_or(through, |l| l.min(through));
        let list = kinds
            .iter()
            .map(|k| format!("'{}'", k.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(",");
        self.write(|tx| {
            tx.execute(
                &format!(
                    "UPDATE events SET parked = :parked, parked_reason = :reason, parked_at = :now
                     WHERE {PENDING} AND {OWNED} AND seq BETWEEN :first AND :upper
                     AND kind IN ({list})"
                ),
                rusqlite::named_params! {
                    ":parked": parked.as_str(), ":reason": reason,
                    ":now": timefmt::format(timefmt::now()), ":first": segment.first_seq,
                    ":upper": upper, ":identity": owner.identity, ":current": owner.current,
                },
            )
            .map(|n| n as u64)
        })
    }

    /// Holds back the pending events `first..=last` (whatever their kind).
    pub fn park_range(
        &mut self,
        first: i64,
        last: i64,
        parked: ParkedKind,
        reason: &str,
    ) -> Result<u64, StoreError> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "UPDATE events SET parked = ?1, parked_reason = ?2, parked_at = ?3
                     WHERE {PENDING} AND seq BETWEEN ?4 AND ?5"
                ),
                params![
                    parked.as_str(),
                    reason,
                    timefmt::format(timefmt::now()),
                    first,
                    last
                ],
            )
            .map(|n| n as u64)
        })
    }

    /// Sends held-back events again: each is recorded anew under the current device (a new id,
    /// the end of the log) and the old one points at it. `ids` empty = every event parked as
    /// one of `kinds`. Returns how many were released.
    pub fn release(&mut self, kinds: &[ParkedKind], ids: &[String]) -> Result<u64, StoreError> {
        let rows = self.parked_rows(kinds, ids)?;
        self.rerecord(&rows, None)
    }

    /// Sends events earned under another identity (`from`, or any) to `current` instead: the
    /// rep's choice when they cannot reach their own record, or that record now answers to the
    /// current email. `ids` empty = all of them.
    pub fn move_to_identity(
        &mut self,
        current: &str,
        from: Option<&str>,
        ids: &[String],
    ) -> Result<u64, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(&format!(
                "SELECT seq, kind, xp, subject, value, occurred_at, id, identity FROM events
                 WHERE {PENDING} AND identity IS NOT NULL AND identity != ?1
                 AND (?2 IS NULL OR identity = ?2) ORDER BY seq"
            ))
            .map_err(|e| self.err(e))?;
        let rows: Vec<ParkedRow> = st
            .query_map(params![current, from], parked_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        drop(st);
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| ids.is_empty() || ids.iter().any(|i| i.trim() == r.6))
            .collect();
        self.rerecord(&rows, Some(current))
    }

    /// Records `rows` again as new events (tagged `identity`, else their own), marking the old
    /// ones as released into them.
    fn rerecord(&mut self, rows: &[ParkedRow], identity: Option<&str>) -> Result<u64, StoreError> {
        let now = timefmt::format(timefmt::now());
        self.write(|tx| {
            let mut n = 0;
            for (seq, kind, xp, subject, value, occurred_at, _, own) in rows {
                let new_id = EventId::new().to_string();
                let tag = identity.map(str::to_string).or_else(|| own.clone());
                tx.execute(
                    "INSERT INTO events (id, kind, xp, subject, value, occurred_at, recorded_at, identity)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![new_id, kind, xp, subject, value, occurred_at, now, tag],
                )?;
                n += tx.execute(
                    "UPDATE events SET released_as = ?1, pushed_at = ?2 WHERE seq = ?3",
                    params![new_id, now, seq],
                )? as u64;
            }
            Ok(n)
        })
    }

    /// Drops held-back events the rep chose not to send (`rejected` or `unverified` only).
    pub fn discard(&mut self, ids: &[String]) -> Result<u64, StoreError> {
        let rows = self.parked_rows(&[ParkedKind::Rejected, ParkedKind::Unverified], ids)?;
        self.write(|tx| {
            let mut n = 0;
            for row in &rows {
                n += tx.execute(
                    "UPDATE events SET parked = 'discarded', parked_at = ?1 WHERE seq = ?2",
                    params![timefmt::format(timefmt::now()), row.0],
                )? as u64;
            }
            Ok(n)
        })
    }

    fn parked_rows(
        &self,
        kinds: &[ParkedKind],
        ids: &[String],
    ) -> Result<Vec<ParkedRow>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT seq, kind, xp, subject, value, occurred_at, id, identity, parked FROM events
                 WHERE pushed_at IS NULL AND parked IS NOT NULL ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(ParkedRow, String)> = st
            .query_map([], |r| Ok((parked_row(r)?, r.get(8)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .filter(|(_, parked)| ParkedKind::parse(parked).is_some_and(|k| kinds.contains(&k)))
            .filter(|(r, _)| ids.is_empty() || ids.iter().any(|i| i.trim() == r.6))
            .map(|(r, _)| r)
            .collect())
    }

    /// The fields whose events are held back as unreadable (to release them when readable).
    pub fn parked_unreadable_kinds(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT kind FROM events WHERE pushed_at IS NULL AND parked = 'unreadable_field'",
            )
            .map_err(|e| self.err(e))?;
        let kinds: Vec<String> = st
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(kinds.into_iter().collect())
    }

    /// Whether some of `owner`'s events wait for a field of its record to become readable.
    pub fn has_unreadable_parked(&self, owner: &Owner) -> Result<bool, StoreError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM events WHERE pushed_at IS NULL
                     AND parked = 'unreadable_field' AND {OWNED})"
                ),
                rusqlite::named_params! {":identity": owner.identity, ":current": owner.current},
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Releases `owner`'s events held back for an unreadable field of `kind` (it is readable
    /// again).
    pub fn release_unreadable(&mut self, kind: &str, owner: &Owner) -> Result<u64, StoreError> {
        let ids: Vec<String> = {
            let mut st = self
                .conn()
                .prepare_cached(&format!(
                    "SELECT id FROM events WHERE pushed_at IS NULL AND parked = 'unreadable_field'
                     AND kind = :kind AND {OWNED}"
                ))
                .map_err(|e| self.err(e))?;
            let ids: Vec<String> = st
                .query_map(
                    rusqlite::named_params! {
                        ":kind": kind, ":identity": owner.identity, ":current": owner.current,
                    },
                    |r| r.get(0),
                )
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?;
            ids
        };
        if ids.is_empty() {
            return Ok(0);
        }
        self.release(&[ParkedKind::UnreadableField], &ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open_dir(dir.path()).expect("open");
        (dir, s)
    }

    fn rec(s: &mut Store, p: Progress) {
        s.record(&p, None, None).expect("record");
    }

    const ID: &str = "http://127.0.0.1:1 ana@acme.test";

    fn me() -> Owner {
        Owner::current(ID)
    }

    #[test]
    fn queue_is_oldest_first_and_activity_newest_first_with_pushed_marks() {
        let (_d, mut s) = store();
        for xp in [10, 20, 30] {
            rec(&mut s, Progress::xp(xp, None).expect("valid"));
        }
        let push = s.next_push(&me(), None).expect("push").expect("a push");
        assert_eq!((push.events, push.xp_delta), (3, 60));
        let n = s
            .acknowledge_through(
                &push.segment,
                push.last_seq,
                &me(),
                Some((&Snapshot::default(), ID)),
            )
            .expect("ack");
        assert_eq!(n, 3);
        rec(&mut s, Progress::boss("gatekeeper").expect("valid"));

        let q = s.queue(10).expect("queue");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].progress, Progress::boss("gatekeeper").expect("valid"));
        assert_eq!(q[0].parked, None);

        let a = s.recent_activity(3).expect("activity");
        let shown: Vec<(i64, bool)> = a
            .iter()
            .map(|i| (i.progress.xp_delta(), i.pushed))
            .collect();
        assert_eq!(shown, [(0, false), (30, true), (20, true)]);
    }

    #[test]
    fn a_push_is_a_run_of_one_device_and_can_be_cut_short() {
        let (_d, mut s) = store();
        for xp in 1..=5 {
            rec(&mut s, Progress::xp(xp, None).expect("valid"));
        }
        let half = s.next_push(&me(), Some(2)).expect("push").expect("some");
        assert_eq!((half.first_seq, half.last_seq, half.xp_delta), (1, 2, 3));
        assert_eq!(
            s.event_at(2).expect("event").as_deref(),
            Some(half.last_event.as_str())
        );
        let old = half.segment.device_id.clone();
        let new = s.fork("copied").expect("fork");
        rec(&mut s, Progress::xp(100, None).expect("valid"));
        let all = s.next_push(&me(), None).expect("push").expect("some");
        assert_eq!(all.device_id(), old, "the older device's events go first");
        assert_eq!((all.first_seq, all.last_seq, all.xp_delta), (1, 5, 15));
        s.acknowledge_through(
            &all.segment,
            all.last_seq,
            &me(),
            Some((&Snapshot::default(), ID)),
        )
        .expect("ack");
        let next = s.next_push(&me(), None).expect("push").expect("some");
        assert_eq!(next.device_id(), new);
        assert_eq!(next.xp_delta, 100);
        assert_eq!(next.segment.first_seq, 6);
    }

    #[test]
    fn held_back_events_leave_pushes_and_come_back_under_a_new_id() {
        let (_d, mut s) = store();
        rec(&mut s, Progress::boss("dragon").expect("valid"));
        rec(&mut s, Progress::xp(7, None).expect("valid"));
        let push = s.next_push(&me(), None).expect("push").expect("some");
        let n = s
            .park_kinds(
                &push.segment,
                push.last_seq,
                &me(),
                &["boss"],
                ParkedKind::UnreadableField,
                "x",
            )
            .expect("park");
        assert_eq!(n, 1);
        let push = s.next_push(&me(), None).expect("push").expect("some");
        assert!(push.bosses.is_empty());
        assert_eq!(push.xp_delta, 7);
        let q = s.queue(10).expect("queue");
        assert_eq!(
            q.last().and_then(|e| e.parked),
            Some(ParkedKind::UnreadableField)
        );
        let v = s.progression().expect("view");
        assert!(v.defeated_bosses.contains("dragon"), "still the rep's");
        assert_eq!((v.pending, v.held), (1, 1));

        // Only refused or unverifiable events can be dropped.
        assert_eq!(s.discard(&[]).expect("discard"), 0);
        assert_eq!(s.release_unreadable("boss", &me()).expect("release"), 1);
        let q = s.queue(10).expect("queue");
        assert_eq!(q.len(), 2);
        assert!(q.iter().all(|e| e.parked.is_none()));
        assert_eq!(
            s.recent_activity(10).expect("activity").len(),
            2,
            "released shows once"
        );
    }

    #[test]
    fn refused_events_can_be_retried_or_discarded() {
        let (_d, mut s) = store();
        rec(&mut s, Progress::xp(5, None).expect("valid"));
        rec(&mut s, Progress::xp(6, None).expect("valid"));
        s.park_range(1, 1, ParkedKind::Rejected, "Twenty refused it: no")
            .expect("park");
        s.park_range(2, 2, ParkedKind::Unverified, "maybe counted")
            .expect("park");
        let v = s.progression().expect("view");
        assert_eq!((v.xp, v.held, v.held_xp), (0, 2, 11));
        let first = s.queue(10).expect("queue")[0].id.clone();
        assert_eq!(
            s.release(&[ParkedKind::Rejected], &[first]).expect("retry"),
            1
        );
        assert_eq!(s.discard(&[]).expect("discard all"), 1);
        let v = s.progression().expect("view");
        assert_eq!((v.xp, v.pending, v.held), (5, 1, 0));
    }
}
