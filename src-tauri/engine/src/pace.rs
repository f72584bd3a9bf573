//! Streaks and pace: XP today and this week, and the run of days with XP, in the rep's own
//! calendar. Days are local dates (the rep's time zone at `now`), so midnight and DST fall where
//! the rep lives: a 23-hour or 25-hour day is still one day, and an award at 00:30 local belongs to
//! the day it says on the rep's clock, whatever UTC says.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Local, NaiveDate, TimeZone};
use serde::Serialize;

use crate::error::StoreError;
use crate::store::Store;
use crate::timefmt::{self, Timestamp};

/// How far back a streak is looked for: a year and a bit. A longer run shows as this many days.
pub const LOOKBACK_DAYS: i64 = 400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pace {
    /// The rep's local date now (YYYY-MM-DD).
    pub today: String,
    pub xp_today: i64,
    /// Since Monday, local (ISO week).
    pub xp_this_week: i64,
    /// Consecutive local days with XP, ending today, or yesterday while today has none yet (a
    /// streak lives until a whole day passes without XP).
    pub streak_days: u32,
    /// Whether today already counts in `streak_days`.
    pub streak_today: bool,
}

/// The pace at `now` from XP gains at known instants (negative for a correction). Gains after
/// `now` (a clock that runs ahead elsewhere) count for today.
pub fn pace_at<Tz: TimeZone>(gains: &[(Timestamp, i64)], now: &DateTime<Tz>) -> Pace {
    let tz = now.timezone();
    let today = now.date_naive();
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for (at, xp) in gains {
        let day = at.with_timezone(&tz).date_naive().min(today);
        *by_day.entry(day).or_default() += xp;
    }
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let xp_this_week = by_day.range(monday..=today).map(|(_, xp)| xp).sum();
    let xp_today = by_day.get(&today).copied().unwrap_or(0);
    let earned = |d: &NaiveDate| by_day.get(d).is_some_and(|xp| *xp > 0);
    let streak_today = earned(&today);
    let mut day = if streak_today {
        today
    } else {
        today.pred_opt().unwrap_or(today)
    };
    let mut streak_days = 0u32;
    while earned(&day) && i64::from(streak_days) < LOOKBACK_DAYS {
        streak_days += 1;
        match day.pred_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    Pace {
        today: today.format("%Y-%m-%d").to_string(),
        xp_today,
        xp_this_week,
        streak_days,
        streak_today,
    }
}

impl Store {
    /// The pace of the identity this laptop works for now, in the computer's time zone.
    pub fn pace(&self) -> Result<Pace, StoreError> {
        self.pace_in(&Local::now())
    }

    /// The pace at `now`, in `now`'s time zone: local events (pushed or not, except those dropped
    /// or re-recorded) and XP that reached Twenty from elsewhere (`remote_xp`).
    pub fn pace_in<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> Result<Pace, StoreError> {
        let identity = crate::identity::current_identity(self)?;
        let since =
            timefmt::format(now.with_timezone(&chrono::Utc) - Duration::days(LOOKBACK_DAYS));
        let mut gains = Vec::new();
        let mut read = |sql: &str| -> Result<(), rusqlite::Error> {
            let mut st = self.conn().prepare_cached(sql)?;
            let rows = st.query_map(rusqlite::params![since, identity], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (at, xp) = row?;
                // A time we wrote ourselves; one that does not parse is skipped, not fatal.
                if let Ok(t) = timefmt::parse(&at) {
                    gains.push((t, xp));
                }
            }
            Ok(())
        };
        read(
            "SELECT occurred_at, xp FROM events
             WHERE xp != 0 AND occurred_at >= ?1 AND released_as IS NULL
               AND (parked IS NULL OR parked != 'discarded')
               AND (identity IS NULL OR identity = ?2)",
        )
        .and_then(|()| read("SELECT at, xp FROM remote_xp WHERE at >= ?1 AND identity = ?2"))
        .map_err(|e| self.err(e))?;
        Ok(pace_at(&gains, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, LocalResult, NaiveDateTime, Offset, Utc};
    use rstest::rstest;

    fn utc(s: &str) -> Timestamp {
        timefmt::parse(s).expect("test time")
    }

    /// Central European time with the EU's 2026 switches (last Sunday of March and October at
    /// 01:00 UTC): enough of a real zone to put DST under test without a time zone database.
    #[derive(Debug, Clone, Copy)]
    struct Berlin;

    const SPRING: &str = "2026-03-29T01:00:00Z";
    const AUTUMN: &str = "2026-10-25T01:00:00Z";

    fn summer(t: &NaiveDateTime) -> bool {
        *t >= utc(SPRING).naive_utc() && *t < utc(AUTUMN).naive_utc()
    }

    fn hours(h: i32) -> FixedOffset {
        FixedOffset::east_opt(h * 3600).expect("offset")
    }

    impl TimeZone for Berlin {
        type Offset = FixedOffset;
        fn from_offset(_: &FixedOffset) -> Self {
            Berlin
        }
        fn offset_from_local_date(&self, d: &NaiveDate) -> LocalResult<FixedOffset> {
            self.offset_from_local_datetime(&d.and_hms_opt(12, 0, 0).expect("noon"))
        }
        fn offset_from_local_datetime(&self, t: &NaiveDateTime) -> LocalResult<FixedOffset> {
            let fits = |o: FixedOffset| {
                let as_utc = *t - Duration::seconds(i64::from(o.fix().local_minus_utc()));
                (summer(&as_utc) == (o == hours(2))).then_some(o)
            };
            match (fits(hours(1)), fits(hours(2))) {
                (Some(a), Some(b)) => LocalResult::Ambiguous(b, a),
                (Some(o), None) | (None, Some(o)) => LocalResult::Single(o),
                (None, None) => LocalResult::None,
            }
        }
        fn offset_from_utc_date(&self, d: &NaiveDate) -> FixedOffset {
            self.offset_from_utc_datetime(&d.and_hms_opt(12, 0, 0).expect("noon"))
        }
        fn offset_from_utc_datetime(&self, t: &NaiveDateTime) -> FixedOffset {
            if summer(t) {
                hours(2)
            } else {
                hours(1)
            }
        }
    }

    fn at_berlin(s: &str) -> DateTime<Berlin> {
        utc(s).with_timezone(&Berlin)
    }

    #[test]
    fn the_test_zone_switches_like_berlin() {
        assert_eq!(at_berlin("2026-03-29T00:59:59Z").offset().fix(), hours(1));
        assert_eq!(at_berlin("2026-03-29T01:00:00Z").offset().fix(), hours(2));
        assert_eq!(at_berlin("2026-10-25T00:59:59Z").offset().fix(), hours(2));
        assert_eq!(at_berlin("2026-10-25T01:00:00Z").offset().fix(), hours(1));
    }

    #[rstest]
    // 23:30 UTC is already tomorrow in Berlin (+1) and still today in New York (-5).
    #[case::late_utc_is_tomorrow_east("2026-12-01T23:30:00Z", 1, "2026-12-02T10:00:00Z", 50)]
    #[case::late_utc_is_today_west("2026-12-02T23:30:00Z", -5, "2026-12-02T20:00:00Z", 50)]
    #[case::yesterday_east("2026-12-01T22:59:00Z", 1, "2026-12-02T10:00:00Z", 0)]
    #[case::just_after_local_midnight("2026-12-02T05:01:00Z", -5, "2026-12-02T06:00:00Z", 50)]
    #[case::just_before_local_midnight("2026-12-02T04:59:00Z", -5, "2026-12-02T06:00:00Z", 0)]
    fn xp_today_follows_the_local_calendar(
        #[case] earned: &str,
        #[case] offset_h: i32,
        #[case] now: &str,
        #[case] today: i64,
    ) {
        let now = utc(now).with_timezone(&hours(offset_h));
        assert_eq!(pace_at(&[(utc(earned), 50)], &now).xp_today, today);
    }

    #[test]
    fn a_streak_runs_through_the_spring_switch_and_its_23_hour_day() {
        // 27, 28, 29 (23 hours), 30 March, each at 23:30 Berlin time: four days in a row. Naive
        // 24-hour steps from "now" in UTC would put two awards in one day around the switch.
        let gains = [
            (utc("2026-03-27T22:30:00Z"), 10), // 23:30 CET
            (utc("2026-03-28T22:30:00Z"), 10), // 23:30 CET
            (utc("2026-03-29T21:30:00Z"), 10), // 23:30 CEST
            (utc("2026-03-30T21:30:00Z"), 10), // 23:30 CEST
        ];
        let p = pace_at(&gains, &at_berlin("2026-03-30T21:45:00Z"));
        assert_eq!(p.today, "2026-03-30");
        assert_eq!((p.streak_days, p.streak_today, p.xp_today), (4, true, 10));
    }

    #[test]
    fn the_25_hour_autumn_day_is_one_day() {
        // 00:10 and 23:50 Berlin on 25 October (the day with 25 hours): one day, 2 awards.
        let gains = [
            (utc("2026-10-24T22:10:00Z"), 5), // 00:10 CEST
            (utc("2026-10-25T22:50:00Z"), 7), // 23:50 CET
        ];
        let p = pace_at(&gains, &at_berlin("2026-10-25T22:55:00Z"));
        assert_eq!(
            (p.today.as_str(), p.xp_today, p.streak_days),
            ("2026-10-25", 12, 1)
        );
        // Five minutes later (00:00 CET on the 26th) it is yesterday's XP, the streak still alive.
        let p = pace_at(&gains, &at_berlin("2026-10-25T23:00:00Z"));
        assert_eq!(
            (p.today.as_str(), p.xp_today, p.streak_days, p.streak_today),
            ("2026-10-26", 0, 1, false)
        );
    }

    #[rstest]
    #[case::today_and_two_before(&[0, 1, 2], 3, true)]
    #[case::alive_from_yesterday(&[1, 2], 2, false)]
    #[case::broken_two_days_ago(&[2, 3], 0, false)]
    #[case::gap_stops_the_count(&[0, 1, 3, 4], 2, true)]
    #[case::none(&[], 0, false)]
    fn a_streak_is_consecutive_days_ending_today_or_yesterday(
        #[case] days_ago: &[i64],
        #[case] streak: u32,
        #[case] today_counts: bool,
    ) {
        let now = utc("2026-12-02T15:00:00Z").with_timezone(&Utc);
        let gains: Vec<_> = days_ago
            .iter()
            .map(|d| (now - Duration::days(*d), 20))
            .collect();
        let p = pace_at(&gains, &now);
        assert_eq!((p.streak_days, p.streak_today), (streak, today_counts));
    }

    #[test]
    fn a_day_whose_xp_was_taken_back_is_no_streak_day_and_the_week_starts_monday() {
        let now = utc("2026-12-02T15:00:00Z"); // a Wednesday
        let gains = [
            (utc("2026-12-02T09:00:00Z"), 30),
            (utc("2026-12-01T09:00:00Z"), 50),
            (utc("2026-12-01T10:00:00Z"), -50), // an admin's correction
            (utc("2026-11-30T09:00:00Z"), 15),  // Monday
            (utc("2026-11-29T09:00:00Z"), 100), // Sunday: last week
        ];
        let p = pace_at(&gains, &now);
        assert_eq!((p.xp_today, p.xp_this_week), (30, 45));
        assert_eq!((p.streak_days, p.streak_today), (1, true));
    }

    #[test]
    fn a_gain_from_a_clock_ahead_counts_for_today() {
        let now = utc("2026-12-02T15:00:00Z");
        let p = pace_at(&[(utc("2026-12-03T09:00:00Z"), 5)], &now);
        assert_eq!((p.xp_today, p.streak_days), (5, 1));
    }

    #[test]
    fn xp_from_the_academy_counts_and_our_own_pushes_are_not_counted_twice() {
        use crate::identity::identity_key;
        use crate::model::Progress;
        use crate::settings::Setting;
        use crate::snapshot::Snapshot;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_dir(dir.path()).expect("open");
        s.set_setting(Setting::TwentyUrl, Some("http://127.0.0.1:9"))
            .expect("url");
        s.set_setting(Setting::RepEmail, Some("rep@x.io"))
            .expect("email");
        let me = identity_key("http://127.0.0.1:9", "rep@x.io");
        let record = |xp: i64, updated: &str| Snapshot {
            remote_id: Some("r1".into()),
            total_xp: xp,
            updated_at: Some(updated.into()),
            ..Snapshot::default()
        };
        // First read: history before it is unknown, nothing is noted.
        s.save_pulled(&record(1_000, "2026-12-01T00:00:00.000Z"), &me)
            .expect("pull");
        // 30 XP recorded here and pushed, and 50 from the academy, before the next read.
        s.record(&Progress::xp(30, None).expect("valid"), None, None)
            .expect("award");
        s.conn()
            .execute(
                "UPDATE events SET pushed_at = ?1",
                [timefmt::format(timefmt::now())],
            )
            .expect("mark pushed");
        s.save_pulled(&record(1_080, "2026-12-01T00:00:01.000Z"), &me)
            .expect("pull");
        // A read that changes nothing notes nothing; an admin's correction is negative.
        s.save_pulled(&record(1_080, "2026-12-01T00:00:02.000Z"), &me)
            .expect("pull");
        s.save_pulled(&record(1_070, "2026-12-01T00:00:03.000Z"), &me)
            .expect("pull");
        let rows: Vec<i64> = s
            .conn()
            .prepare("SELECT xp FROM remote_xp ORDER BY id")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(rows, [50, -10]);
        let p = s.pace_in(&Utc::now()).expect("pace");
        assert_eq!((p.xp_today, p.streak_days), (30 + 50 - 10, 1));
    }
}
