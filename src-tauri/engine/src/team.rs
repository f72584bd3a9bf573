//! The team's standing: every rep's XP and level from the same Twenty workspace, ranked, with the
//! change since the last read of an earlier local day. Read only on demand (the panel open, `team`)
//! in one paged list request, so it costs the workspace's shared request budget nothing otherwise.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::StoreError;
use crate::identity::Target;
use crate::level;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::timefmt;

/// How long a day's reading is kept for "since yesterday" (a rep back from a week off still sees
/// a change since their last look).
pub const KEEP_DAYS: i64 = 14;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamMember {
    /// 1 for the most XP; reps with equal XP share a rank (1, 1, 3).
    pub rank: u32,
    pub email: String,
    /// The record's `name`, when it has one.
    pub name: Option<String>,
    pub xp: i64,
    pub level: u32,
    /// XP gained since the newest reading of an earlier day; `None` on the first reading.
    pub xp_change: Option<i64>,
    /// Places moved up (positive) or down since then; `None` when either rank is unknown.
    pub rank_change: Option<i64>,
    /// The rep using this computer.
    pub me: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Team {
    pub members: Vec<TeamMember>,
    /// The day the changes are measured from (YYYY-MM-DD), if any earlier reading exists.
    pub since: Option<String>,
    /// When Twenty was read (RFC 3339).
    pub read_at: String,
    /// Requests the read cost (one per page of up to 200 records).
    pub requests: u64,
}

/// One row per rep email (lower-cased): a rep with duplicate records counts once, with the oldest
/// record (the one RepXP writes to). Records without an email or with an unreadable XP are left out.
pub fn latest_by_rep(records: &[Snapshot]) -> Vec<&Snapshot> {
    let mut by_email: BTreeMap<String, &Snapshot> = BTreeMap::new();
    for r in records {
        let Some(email) = r.rep_email.as_deref().map(|e| e.trim().to_lowercase()) else {
            continue;
        };
        if email.is_empty() || r.unreadable.contains_key("totalXp") {
            continue;
        }
        let older = |a: &Snapshot, b: &Snapshot| {
            (&a.created_at, &a.remote_id) < (&b.created_at, &b.remote_id)
        };
        match by_email.get(&email) {
            Some(kept) if !older(r, kept) => {}
            _ => {
                by_email.insert(email, r);
            }
        }
    }
    by_email.into_values().collect()
}

/// Competition ranks (1, 1, 3) by XP, highest first; ties listed by email.
fn ranked(xp: &BTreeMap<String, i64>) -> Vec<(String, i64, u32)> {
    let mut rows: Vec<(String, i64)> = xp.iter().map(|(e, x)| (e.clone(), *x)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::with_capacity(rows.len());
    let mut rank = 0u32;
    let mut last = None;
    for (i, (email, x)) in rows.into_iter().enumerate() {
        if last != Some(x) {
            rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            last = Some(x);
        }
        out.push((email, x, rank));
    }
    out
}

/// Ranks `records` and compares them with `before` (email → XP on an earlier day).
pub fn rank(records: &[Snapshot], me: &str, before: &BTreeMap<String, i64>) -> Vec<TeamMember> {
    let reps = latest_by_rep(records);
    let names: HashMap<String, (Option<String>, Option<i64>)> = reps
        .iter()
        .filter_map(|r| {
            let email = r.rep_email.as_deref()?.trim().to_lowercase();
            Some((email, (r.name.clone(), r.level)))
        })
        .collect();
    let now: BTreeMap<String, i64> = reps
        .iter()
        .filter_map(|r| Some((r.rep_email.as_deref()?.trim().to_lowercase(), r.total_xp)))
        .collect();
    let then: HashMap<String, u32> = ranked(before)
        .into_iter()
        .map(|(e, _, rank)| (e, rank))
        .collect();
    let me = me.trim().to_lowercase();
    ranked(&now)
        .into_iter()
        .map(|(email, xp, rank)| {
            let (name, stored_level) = names.get(&email).cloned().unwrap_or_default();
            let stood = stored_level.map(|l| l.clamp(0, i64::from(u32::MAX)) as u32);
            TeamMember {
                rank,
                name,
                xp,
                level: level::standing(stood, xp, xp),
                xp_change: before.get(&email).map(|b| xp.saturating_sub(*b)),
                rank_change: then.get(&email).map(|t| i64::from(*t) - i64::from(rank)),
                me: email == me,
                email,
            }
        })
        .collect()
}

/// Ranks what Twenty listed for the rep at `target`, against the newest reading of an earlier
/// local day (`now`'s calendar), and keeps this reading as today's.
pub fn read<Tz: chrono::TimeZone>(
    store: &mut Store,
    target: &Target,
    records: &[Snapshot],
    requests: u64,
    now: &chrono::DateTime<Tz>,
) -> Result<Team, StoreError> {
    let workspace = crate::identity::identity_key(&target.url, "");
    let workspace = workspace.trim_end();
    let today = now.date_naive();
    let (since, before) = store.team_before(workspace, &day(today))?;
    let members = rank(records, &target.email, &before);
    let oldest = today - chrono::Duration::days(KEEP_DAYS);
    store.save_team_day(workspace, &day(today), &members, &day(oldest))?;
    Ok(Team {
        members,
        since,
        read_at: timefmt::format(now.with_timezone(&chrono::Utc)),
        requests,
    })
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The team with the rep's own row at `xp` (what this computer knows, awards not yet pushed
/// included), ranked again: the rep sees their own move at once, not at the next read. A rep
/// whose record Twenty does not hold yet joins the list.
pub fn with_my_xp(team: &Team, email: &str, xp: i64, level: u32) -> Team {
    let me = email.trim().to_lowercase();
    let mut rows: BTreeMap<String, TeamMember> = team
        .members
        .iter()
        .map(|m| (m.email.clone(), m.clone()))
        .collect();
    let mine = rows.entry(me.clone()).or_insert_with(|| TeamMember {
        rank: 0,
        email: me.clone(),
        name: None,
        xp,
        level,
        xp_change: None,
        rank_change: None,
        me: true,
    });
    mine.xp_change = mine
        .xp_change
        .map(|c| c.saturating_add(xp.saturating_sub(mine.xp)));
    mine.xp = xp;
    mine.level = mine.level.max(level);
    let xps: BTreeMap<String, i64> = rows.iter().map(|(e, m)| (e.clone(), m.xp)).collect();
    let members = ranked(&xps)
        .into_iter()
        .filter_map(|(email, _, rank)| {
            let mut m = rows.remove(&email)?;
            // The rank then, kept through the new ranking.
            let then = m.rank_change.map(|c| i64::from(m.rank) + c);
            m.rank_change = then.map(|t| t - i64::from(rank));
            m.rank = rank;
            m.me = email == me;
            Some(m)
        })
        .collect();
    Team {
        members,
        ..team.clone()
    }
}

impl Store {
    /// `team` with the rep's own row at the XP this computer knows ([`with_my_xp`]), for the
    /// rep the settings point at; unchanged when not connected. Before the first sync this
    /// computer has no copy of the record: then the row is the team's reading plus what waits here.
    pub fn with_my_row(&self, team: &Team) -> Result<Team, StoreError> {
        let Some(target) = crate::identity::target(self)? else {
            return Ok(team.clone());
        };
        let p = self.progression()?;
        let xp = if self.snapshot()?.remote_id.is_some() {
            p.xp
        } else {
            let me = target.email.trim().to_lowercase();
            let read = team
                .members
                .iter()
                .find(|m| m.email == me)
                .map_or(0, |m| m.xp);
            read.saturating_add(p.pending_xp)
        };
        Ok(with_my_xp(team, &target.email, xp, p.level.level))
    }

    /// Each rep's XP on the newest day before `today` that has a reading, and that day.
    pub fn team_before(
        &self,
        workspace: &str,
        today: &str,
    ) -> Result<(Option<String>, BTreeMap<String, i64>), StoreError> {
        let day: Option<String> = self
            .conn()
            .query_row(
                "SELECT max(day) FROM team_days WHERE workspace = ?1 AND day < ?2",
                [workspace, today],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let Some(day) = day else {
            return Ok((None, BTreeMap::new()));
        };
        let mut st = self
            .conn()
            .prepare_cached("SELECT email, xp FROM team_days WHERE workspace = ?1 AND day = ?2")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([workspace, &day], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<BTreeMap<_, _>, _>>())
            .map_err(|e| self.err(e))?;
        Ok((Some(day), rows))
    }

    /// Keeps today's reading (the latest of the day wins) and forgets readings older than
    /// [`KEEP_DAYS`].
    pub fn save_team_day(
        &mut self,
        workspace: &str,
        today: &str,
        members: &[TeamMember],
        oldest_kept: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM team_days WHERE workspace = ?1 AND (day = ?2 OR day < ?3)",
                [workspace, today, oldest_kept],
            )?;
            let mut st = tx.prepare_cached(
                "INSERT INTO team_days (workspace, day, email, xp) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for m in members {
                st.execute(rusqlite::params![workspace, today, m.email, m.xp])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, email: &str, xp: i64, created: &str) -> Snapshot {
        Snapshot {
            remote_id: Some(id.into()),
            rep_email: Some(email.into()),
            created_at: Some(created.into()),
            total_xp: xp,
            ..Snapshot::default()
        }
    }

    #[test]
    fn ranks_by_xp_with_shared_ranks_and_marks_me() {
        let records = [
            rec("1", "a@x.io", 500, "2026-01-01"),
            rec("2", "B@x.io", 900, "2026-01-01"),
            rec("3", "c@x.io", 500, "2026-01-01"),
            rec("4", "d@x.io", 100, "2026-01-01"),
        ];
        let team = rank(&records, "c@X.io", &BTreeMap::new());
        let rows: Vec<(u32, &str, bool)> = team
            .iter()
            .map(|m| (m.rank, m.email.as_str(), m.me))
            .collect();
        assert_eq!(
            rows,
            [
                (1, "b@x.io", false),
                (2, "a@x.io", false),
                (2, "c@x.io", true),
                (4, "d@x.io", false)
            ]
        );
        assert!(team
            .iter()
            .all(|m| m.xp_change.is_none() && m.rank_change.is_none()));
    }

    #[test]
    fn a_rep_with_duplicate_records_counts_once_with_the_oldest() {
        let records = [
            rec("new", "a@x.io", 9_000, "2026-06-01"),
            rec("old", "A@x.io", 300, "2026-01-01"),
            rec("b", "b@x.io", 400, "2026-01-01"),
        ];
        let team = rank(&records, "b@x.io", &BTreeMap::new());
        assert_eq!(team.len(), 2);
        assert_eq!((team[1].email.as_str(), team[1].xp), ("a@x.io", 300));
    }

    #[test]
    fn changes_compare_with_the_earlier_reading() {
        let before = BTreeMap::from([("a@x.io".to_string(), 100), ("b@x.io".to_string(), 200)]);
        let records = [
            rec("1", "a@x.io", 350, "2026-01-01"),
            rec("2", "b@x.io", 200, "2026-01-01"),
            rec("3", "new@x.io", 50, "2026-01-01"),
        ];
        let team = rank(&records, "a@x.io", &before);
        let a = &team[0];
        assert_eq!(
            (a.email.as_str(), a.xp_change, a.rank_change),
            ("a@x.io", Some(250), Some(1))
        );
        let b = &team[1];
        assert_eq!((b.xp_change, b.rank_change), (Some(0), Some(-1)));
        assert_eq!((team[2].xp_change, team[2].rank_change), (None, None));
    }

    #[test]
    fn the_level_follows_xp_and_never_drops_below_the_records_level() {
        let mut r = rec("1", "a@x.io", 0, "2026-01-01");
        r.level = Some(9);
        let team = rank(&[r], "", &BTreeMap::new());
        assert_eq!(team[0].level, 9);
    }

    #[test]
    fn my_own_xp_moves_my_row_at_once_and_a_missing_record_joins() {
        let before = BTreeMap::from([("a@x.io".to_string(), 100), ("b@x.io".to_string(), 200)]);
        let records = [
            rec("1", "a@x.io", 150, "2026-01-01"),
            rec("2", "b@x.io", 200, "2026-01-01"),
        ];
        let team = Team {
            members: rank(&records, "a@x.io", &before),
            since: Some("2026-12-01".into()),
            read_at: "2026-12-02T10:00:00.000Z".into(),
            requests: 1,
        };
        // 100 XP recorded here since the read: a passes b.
        let mine = with_my_xp(&team, "A@x.io", 250, 3);
        let rows: Vec<(&str, u32, Option<i64>, Option<i64>)> = mine
            .members
            .iter()
            .map(|m| (m.email.as_str(), m.rank, m.xp_change, m.rank_change))
            .collect();
        assert_eq!(
            rows,
            [
                ("a@x.io", 1, Some(150), Some(1)),
                ("b@x.io", 2, Some(0), Some(-1))
            ]
        );
        assert!(mine.members[0].me);
        // Not on Twenty yet: joins with no change known.
        let joined = with_my_xp(&team, "new@x.io", 175, 2);
        let me = joined.members.iter().find(|m| m.me).expect("me");
        assert_eq!(
            (me.email.as_str(), me.rank, me.xp_change),
            ("new@x.io", 2, None)
        );
        assert_eq!(joined.members.len(), 3);
    }
}
