//! What the rep sees, derived on every read and never stored twice:
//! XP = snapshot.totalXp + unpushed deltas; lists = snapshot ∪ unpushed; level = f(XP).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::StoreError;
use crate::identity::Owner;
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
    /// Events held back from pushes (an unreadable field on Twenty, a rejection, or "may
    /// already be on Twenty"); `repxp-cli queue` says why. Their XP is not in `xp`.
    pub held: u64,
    pub held_xp: i64,
    /// Which bosses, exams and metrics, and whether the last activity, are not on Twenty yet
    /// (recorded here and waiting, or held back): the panel marks them "pending".
    pub pending_items: PendingItems,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PendingItems {
    pub bosses: BTreeSet<String>,
    /// Exams Twenty lacks, or holds with a lower score than one recorded here.
    pub exams: BTreeSet<String>,
    /// Metrics whose latest local value Twenty does not hold yet.
    pub metrics: BTreeSet<String>,
    pub last_activity: bool,
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

/// Aggregates pending events (neither pushed nor held back); `range` limits it to the events
/// `first..=last` of one push, `owner` to those of one identity (`None`: every one).
pub(crate) fn unpushed(
    conn: &rusqlite::Connection,
    range: Option<(i64, i64)>,
    owner: Option<&Owner>,
) -> Result<Unpushed, rusqlite::Error> {
    // ?1 NULL means every pending event, ?3 NULL every identity's.
    let scope = "pushed_at IS NULL AND parked IS NULL AND (?1 IS NULL OR seq BETWEEN ?1 AND ?2)
        AND (?3 IS NULL OR identity = ?3 OR (identity IS NULL AND ?4))";
    let range = range.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    let batch = (
        range.0,
        range.1,
        owner.map(|o| o.identity.clone()),
        owner.is_some_and(|o| o.current),
    );
    let mut out = Unpushed::default();
    conn.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(xp), 0), max(occurred_at) FROM events WHERE {scope}"
        ),
        rusqlite::params![batch.0, batch.1, batch.2, batch.3],
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
    for boss in st.query_map(rusqlite::params![batch.0, batch.1, batch.2, batch.3], |r| {
        r.get::<_, String>(0)
    })? {
        out.bosses.insert(boss?);
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT subject, max(value), count(value) FROM events WHERE {scope} AND kind = 'exam' GROUP BY subject"
    ))?;
    let rows = st.query_map(rusqlite::params![batch.0, batch.1, batch.2, batch.3], |r| {
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
    for row in st.query_map(rusqlite::params![batch.0, batch.1, batch.2, batch.3], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))
    })? {
        let (name, value) = row?;
        out.metrics.insert(name, value);
    }
    Ok(out)
}

/// Events held back from pushes: how many, their XP, and the list items among them that are
/// waiting only for a field on Twenty to become readable (still the rep's, so still shown).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Held {
    pub count: u64,
    pub xp: i64,
    pub bosses: BTreeSet<String>,
    pub exams: BTreeMap<String, ExamResult>,
}

fn held(conn: &rusqlite::Connection, current: Option<&str>) -> Result<Held, rusqlite::Error> {
    let mut out = Held::default();
    // Held back: parked, or earned under another identity than the current one.
    conn.query_row(
        "SELECT count(*), coalesce(sum(xp), 0) FROM events WHERE pushed_at IS NULL AND (
             (parked IS NOT NULL AND parked != 'discarded')
             OR (parked IS NULL AND ?1 IS NOT NULL AND identity IS NOT NULL AND identity != ?1))",
        [current],
        |r| {
            out.count = r.get::<_, i64>(0)?.max(0) as u64;
            out.xp = r.get(1)?;
            Ok(())
        },
    )?;
    if out.count == 0 {
        return Ok(out);
    }
    let mut st = conn.prepare_cached(
        "SELECT kind, subject, value FROM events
         WHERE pushed_at IS NULL AND parked = 'unreadable_field' AND kind IN ('boss', 'exam')",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<f64>>(2)?,
        ))
    })?;
    for row in rows {
        match row? {
            (k, Some(id), _) if k == "boss" => {
                out.bosses.insert(id);
            }
            (_, Some(id), score) => {
                let r = ExamResult { score };
                let merged = out.exams.get(&id).map_or(r.clone(), |e| e.merge(&r));
                out.exams.insert(id, merged);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Local changes on top of what Twenty said.
pub(crate) fn overlay(snap: &Snapshot, local: &Unpushed, held: &Held) -> Progression {
    let xp = snap.total_xp.saturating_add(local.xp);
    let mut bosses = snap.defeated_bosses.clone();
    bosses.extend(local.bosses.iter().cloned());
    bosses.extend(held.bosses.iter().cloned());
    let mut exams = snap.passed_exams.clone();
    merge_exams(&mut exams, &local.exams);
    merge_exams(&mut exams, &held.exams);
    let mut metrics = snap.efficiency_metrics.clone();
    metrics.extend(local.metrics.iter().map(|(k, v)| (k.clone(), *v)));
    let last_activity = later_time(
        snap.last_activity_date.as_deref(),
        local.last_activity.as_deref(),
    );
    let pending_items = PendingItems {
        bosses: bosses.difference(&snap.defeated_bosses).cloned().collect(),
        exams: exams
            .iter()
            .filter(|(id, r)| snap.passed_exams.get(*id) != Some(*r))
            .map(|(id, _)| id.clone())
            .collect(),
        metrics: local
            .metrics
            .iter()
            .filter(|(k, v)| snap.efficiency_metrics.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect(),
        last_activity: local.last_activity.is_some()
            && last_activity.as_deref()
                != later_time(snap.last_activity_date.as_deref(), None).as_deref(),
    };
    Progression {
        xp,
        level: level::progress_standing(snap.twenty_level(), snap.total_xp, xp),
        defeated_bosses: bosses,
        passed_exams: exams,
        efficiency_metrics: metrics,
        last_activity,
        pending: local.count,
        pending_xp: local.xp,
        held: held.count,
        held_xp: held.xp,
        pending_items,
    }
}

impl Store {
    /// The rep's progression as it stands on this device right now.
    pub fn progression(&self) -> Result<Progression, StoreError> {
        let identity = crate::identity::current_identity(self)?;
        let snap = self.snapshot_of(identity.as_deref())?;
        let owner = identity.as_deref().map(Owner::current);
        let local = unpushed(self.conn(), None, owner.as_ref()).map_err(|e| self.err(e))?;
        let held = held(self.conn(), identity.as_deref()).map_err(|e| self.err(e))?;
        Ok(overlay(&snap, &local, &held))
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

    #[test]
    fn items_not_on_twenty_yet_are_marked_pending() {
        let snap = Snapshot {
            defeated_bosses: BTreeSet::from(["gatekeeper".to_string()]),
            passed_exams: BTreeMap::from([
                ("objections".to_string(), ExamResult { score: Some(80.0) }),
                ("discovery".to_string(), ExamResult { score: Some(95.0) }),
            ]),
            efficiency_metrics: BTreeMap::from([
                ("talk_ratio".to_string(), 0.4),
                ("dials".to_string(), 50.0),
            ]),
            last_activity_date: Some("2026-12-01T10:00:00.000Z".into()),
            ..Snapshot::default()
        };
        let local = Unpushed {
            count: 5,
            bosses: BTreeSet::from(["gatekeeper".to_string(), "closer".to_string()]),
            exams: BTreeMap::from([
                ("objections".to_string(), ExamResult { score: Some(90.0) }),
                ("discovery".to_string(), ExamResult { score: Some(60.0) }),
            ]),
            metrics: BTreeMap::from([("talk_ratio".to_string(), 0.5), ("dials".to_string(), 50.0)]),
            last_activity: Some("2026-12-02T09:00:00.000Z".into()),
            ..Unpushed::default()
        };
        let held = Held {
            count: 1,
            exams: BTreeMap::from([("pricing".to_string(), ExamResult { score: None })]),
            ..Held::default()
        };
        let p = overlay(&snap, &local, &held).pending_items;
        assert_eq!(p.bosses, BTreeSet::from(["closer".to_string()]));
        // A better local score is pending; a worse one changes nothing on Twenty.
        assert_eq!(
            p.exams,
            BTreeSet::from(["objections".to_string(), "pricing".to_string()])
        );
        assert_eq!(p.metrics, BTreeSet::from(["talk_ratio".to_string()]));
        assert!(p.last_activity);
        let older = Unpushed {
            last_activity: Some("2026-11-30T09:00:00.000Z".into()),
            ..Unpushed::default()
        };
        let p = overlay(&snap, &older, &Held::default()).pending_items;
        assert_eq!(p, PendingItems::default());
    }
}
