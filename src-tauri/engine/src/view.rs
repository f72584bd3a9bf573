//! What the rep sees, derived on every read and never stored twice:
//! XP = snapshot.totalXp + unpushed deltas; lists = snapshot ∪ unpushed; level = f(XP).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::StoreError;
use crate::level::{self, LevelProgress};
use crate::snapshot::{later_time, merge_exams, ExamResult, Snapshot};
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progression {
    pub xp: i64,
    #[serde(flatten)]
    pub level: LevelProgress,
    pub defeated_bosses: BTreeSet<String>,
    pub passed_exams: BTreeMap<String, ExamResult>,
    pub efficiency_metrics: BTreeMap<String, f64>,
    pub last_activity: Option<String>,
    /// Events recorded here and not yet acknowledged by Twenty.
    pub pending: u64,
    /// XP inside those pending events.
    pub pending_xp: i64,
}

/// The part of the outbox that the view and a push batch both need, aggregated in SQL so 10,000
/// queued events cost one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Unpushed {
    pub count: u64,
    pub xp: i64,
    pub bosses: BTreeSet<String>,
    pub exams: BTreeMap<String, ExamResult>,
    /// Latest value per metric, by local order.
    pub metrics: BTreeMap<String, f64>,
    pub last_activity: Option<String>,
}

/// Aggregates unpushed events; `batch` limits it to one frozen batch.
pub(crate) fn unpushed(
    conn: &rusqlite::Connection,
    batch: Option<i64>,
) -> Result<Unpushed, rusqlite::Error> {
    // ?1 NULL means every unpushed event; otherwise only that batch's.
    let scope = "pushed_at IS NULL AND (?1 IS NULL OR batch_seq = ?1)";
    let mut out = Unpushed::default();
    conn.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(xp), 0), max(occurred_at) FROM events WHERE {scope}"
        ),
        [batch],
        |r| {
            out.count = r.get::<_, i64>(0)?.max(0) as u64;
            out.xp = r.get(1)?;
            out.last_activity = r.get(2)?;
            Ok(())
        },
    )?;
    if out.count == 0 {
        return Ok(out);
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT DISTINCT subject FROM events WHERE {scope} AND kind = 'boss'"
    ))?;
    for boss in st.query_map([batch], |r| r.get::<_, String>(0))? {
        out.bosses.insert(boss?);
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT subject, max(value), count(value) FROM events WHERE {scope} AND kind = 'exam' GROUP BY subject"
    ))?;
    let rows = st.query_map([batch], |r| {
        let scored: i64 = r.get(2)?;
        Ok((
            r.get::<_, String>(0)?,
            ExamResult {
                score: if scored > 0 { r.get(1)? } else { None },
            },
        ))
    })?;
    for row in rows {
        let (id, result) = row?;
        out.exams.insert(id, result);
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT subject, value FROM events WHERE seq IN (
             SELECT max(seq) FROM events WHERE {scope} AND kind = 'metric' GROUP BY subject)"
    ))?;
    for row in st.query_map([batch], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))
    })? {
        let (name, value) = row?;
        out.metrics.insert(name, value);
    }
    Ok(out)
}

/// Local changes on top of what Twenty said.
pub(crate) fn overlay(snap: &Snapshot, local: &Unpushed) -> Progression {
    let xp = snap.total_xp.saturating_add(local.xp);
    let mut bosses = snap.defeated_bosses.clone();
    bosses.extend(local.bosses.iter().cloned());
    let mut exams = snap.passed_exams.clone();
    merge_exams(&mut exams, &local.exams);
    let mut metrics = snap.efficiency_metrics.clone();
    metrics.extend(local.metrics.iter().map(|(k, v)| (k.clone(), *v)));
    Progression {
        xp,
        level: level::progress(xp),
        defeated_bosses: bosses,
        passed_exams: exams,
        efficiency_metrics: metrics,
        last_activity: later_time(
            snap.last_activity_date.as_deref(),
            local.last_activity.as_deref(),
        ),
        pending: local.count,
        pending_xp: local.xp,
    }
}

impl Store {
    /// The rep's progression as it stands on this device right now.
    pub fn progression(&self) -> Result<Progression, StoreError> {
        let snap = self.snapshot()?;
        let local = unpushed(self.conn(), None).map_err(|e| self.err(e))?;
        Ok(overlay(&snap, &local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Progress;

    #[test]
    fn view_unions_lists_and_keeps_latest_metric_by_local_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_dir(dir.path()).expect("open");
        let rec = |s: &mut Store, p: Progress| s.record(&p, None, None).expect("record");
        rec(&mut s, Progress::xp(30, None).expect("valid"));
        rec(&mut s, Progress::xp(25, Some("academy")).expect("valid"));
        rec(&mut s, Progress::boss("gatekeeper").expect("valid"));
        rec(&mut s, Progress::boss("gatekeeper").expect("valid"));
        rec(
            &mut s,
            Progress::exam("objections", Some(70.0)).expect("valid"),
        );
        rec(
            &mut s,
            Progress::exam("objections", Some(90.0)).expect("valid"),
        );
        rec(&mut s, Progress::exam("discovery", None).expect("valid"));
        // A skewed clock puts this one "earlier", but it was recorded later: it wins.
        let past = crate::timefmt::parse("2001-01-01T00:00:00Z").expect("time");
        rec(&mut s, Progress::metric("talk_ratio", 0.4).expect("valid"));
        s.record(
            &Progress::metric("talk_ratio", 0.6).expect("valid"),
            None,
            Some(past),
        )
        .expect("record");
        let v = s.progression().expect("view");
        assert_eq!(v.xp, 55);
        assert_eq!(v.level.level, 2);
        assert_eq!(v.pending, 9);
        assert_eq!(v.defeated_bosses.len(), 1);
        assert_eq!(v.passed_exams["objections"].score, Some(90.0));
        assert_eq!(v.passed_exams["discovery"].score, None);
        assert_eq!(v.efficiency_metrics["talk_ratio"], 0.6);
    }
}
