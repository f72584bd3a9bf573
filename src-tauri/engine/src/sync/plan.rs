//! The pure half of a push: what Twenty's watermark says about a push, and the record to write.
//! No I/O here, so the laws are tested exhaustively with proptest.

use crate::level::standing;
use crate::outbox::Push;
use crate::snapshot::{later_time, merge_exams, Snapshot, Watermark};
use std::collections::BTreeMap;

use crate::timefmt::{format, parse, Timestamp};

/// What Twenty's watermark for the push's device says about the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// None of the push has landed: write it all.
    Nothing,
    /// The device's events up to and including this one are settled on Twenty already (a reply
    /// was lost, or another copy of this database sent them): acknowledge, never write again.
    Through(i64),
    /// The watermark names an event this database does not hold where it should: another line
    /// of events uses this device id (a database restored or cloned together with the identity
    /// that should have told it apart). Which of our events it already sent cannot be known.
    Diverged,
}

/// What this database knows around the watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// Whether the push's device is the one this database records under now.
    pub current_device: bool,
    /// Last event of the device's segment (for the current device: the newest event).
    pub segment_last: i64,
    pub segment_first: i64,
    /// The id of our event at the watermark's number, if we have one there.
    pub event_at_watermark: Option<String>,
}

/// Reads `watermark` (Twenty's entry for the push's device) against the push.
pub fn settle(watermark: Option<&Watermark>, push: &Push, local: &Local) -> Settled {
    let (m, event) = match watermark {
        // Schema-1 numbers were settled when this database upgraded (sync::legacy).
        None | Some(Watermark::Legacy(_)) => return Settled::Nothing,
        Some(Watermark::Event { seq, event, .. }) => (*seq, event.as_str()),
    };
    if m < local.segment_first {
        // Written before this device id began: it cannot name any of our events.
        return Settled::Nothing;
    }
    if m > local.segment_last {
        return if local.current_device {
            // Someone else has sent events under our current id beyond any we made.
            Settled::Diverged
        } else {
            // A device id we left at a fork: the line we forked from went on with it, and our
            // events of it are a prefix of that line, so all of them are settled.
            Settled::Through(local.segment_last)
        };
    }
    if local.event_at_watermark.as_deref() != Some(event) {
        return Settled::Diverged;
    }
    if m >= push.first_seq {
        Settled::Through(m)
    } else {
        Settled::Nothing
    }
}

/// `syncWatermarks` is pruned only once it holds more entries than this: a team's laptops,
/// their copies and an occasional restore stay well below it.
pub const PRUNE_ABOVE_ENTRIES: usize = 16;
/// An entry not written for this long may be pruned: its device has nothing in flight that it
/// would settle by it, unless it sent and then went silent for as long (`sync::push` holds
/// such events as unverified from [`UNSETTLED_HELD_AFTER_DAYS`] on, before any prune).
pub const IDLE_PRUNED_AFTER_DAYS: i64 = 90;
/// Events sent this long ago whose device's entry is gone may have landed before a prune.
pub const UNSETTLED_HELD_AFTER_DAYS: i64 = 60;

/// When a write is made, as [`apply`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteClock {
    /// Now: Twenty's clock where RepXP has heard it, else the laptop's.
    pub now: Timestamp,
    /// Whether `now` is Twenty's clock.
    pub twenty: bool,
}

/// `base` with `push` applied: XP added, lists unioned, metrics overwritten by the push's latest
/// values, last activity the later one, the level never lowered, the device's watermark moved
/// to the push's last event (stamped with `clock.now`), long-idle entries pruned
/// ([`prune_idle`]) and the revision bumped. Fields RepXP cannot read stay as they are (the
/// caller holds back the events meant for them).
/// With Twenty's clock, `lastActivityDate` is capped at it plus a minute: a laptop whose clock
/// runs ahead never writes an activity in Twenty's future, which would then never move back.
pub fn apply(base: &Snapshot, push: &Push, clock: WriteClock) -> Snapshot {
    let activity_cap = clock
        .twenty
        .then(|| clock.now + chrono::TimeDelta::minutes(1));
    let mut next = base.clone();
    let readable = |f: &str| base.is_readable(f);
    if readable("totalXp") && push.xp_delta != 0 {
        next.total_xp = base.total_xp.saturating_add(push.xp_delta);
        if readable("level") {
            // Written only when it moves: an admin's level stands (level::standing).
            let level = standing(base.twenty_level(), base.total_xp, next.total_xp);
            next.level = Some(i64::from(level));
        }
    }
    if readable("defeatedBosses") {
        next.defeated_bosses.extend(push.bosses.iter().cloned());
    }
    if readable("passedExams") {
        merge_exams(&mut next.passed_exams, &push.exams);
    }
    if readable("efficiencyMetrics") {
        next.efficiency_metrics
            .extend(push.metrics.iter().map(|(k, v)| (k.clone(), *v)));
    }
    if readable("lastActivityDate") {
        let pushed = push
            .last_activity
            .as_deref()
            .map(|t| match (parse(t), activity_cap) {
                (Ok(at), Some(cap)) if at > cap => format(cap),
                _ => t.to_string(),
            });
        next.last_activity_date = later_time(base.last_activity_date.as_deref(), pushed.as_deref());
    }
    next.sync_watermarks.insert(
        push.device_id().to_string(),
        Watermark::Event {
            seq: push.last_seq,
            event: push.last_event.clone(),
            at: Some(format(clock.now)),
        },
    );
    prune_idle(&mut next.sync_watermarks, push.device_id(), clock.now);
    if readable("syncRevision") {
        next.sync_revision = base.sync_revision + 1;
    }
    next
}

/// Keeps `syncWatermarks` bounded however often laptops fork: once it holds more than
/// [`PRUNE_ABOVE_ENTRIES`], entries not written for [`IDLE_PRUNED_AFTER_DAYS`] go (never
/// `own`, never one without a time: older RepXP versions wrote those). A device whose entry
/// went has either nothing in flight (its next push writes a new entry) or events sent that
/// long ago, which it holds as unverified instead of sending them again.
pub fn prune_idle(marks: &mut BTreeMap<String, Watermark>, own: &str, now: Timestamp) {
    if marks.len() <= PRUNE_ABOVE_ENTRIES {
        return;
    }
    let cutoff = now - chrono::TimeDelta::days(IDLE_PRUNED_AFTER_DAYS);
    let before = marks.len();
    marks.retain(|device, w| {
        let written = match w {
            Watermark::Event { at: Some(at), .. } => parse(at).ok(),
            _ => None,
        };
        device == own || written.is_none_or(|t| t >= cutoff)
    });
    if marks.len() < before {
        tracing::info!(
            pruned = before - marks.len(),
            "syncWatermarks: entries idle for {IDLE_PRUNED_AFTER_DAYS} days pruned"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use crate::lineage::Segment;
    use crate::snapshot::ExamResult;

    fn segment(device: &str) -> Segment {
        Segment {
            device_id: device.into(),
            first_seq: 1,
            last_seq: None,
            reason: "created".into(),
            created_at: String::new(),
        }
    }

    fn push(first: i64, last: i64, xp: i64, bosses: &[&str]) -> Push {
        Push {
            segment: segment("dev-a"),
            first_seq: first,
            last_seq: last,
            last_event: format!("e{last}"),
            events: (last - first + 1) as u64,
            xp_delta: xp,
            bosses: bosses.iter().map(|b| b.to_string()).collect(),
            exams: BTreeMap::new(),
            metrics: BTreeMap::new(),
            last_activity: None,
        }
    }

    fn wm(seq: i64, event: &str) -> Watermark {
        Watermark::Event {
            seq,
            event: event.into(),
            at: None,
        }
    }

    fn written(days_ago: i64) -> Watermark {
        Watermark::Event {
            seq: 1,
            event: "e1".into(),
            at: Some(format(now() - chrono::TimeDelta::days(days_ago))),
        }
    }

    fn now() -> Timestamp {
        parse("2026-12-07T12:00:00.000Z").expect("time")
    }

    fn clock() -> WriteClock {
        WriteClock {
            now: now(),
            twenty: false,
        }
    }

    fn local(current: bool, last: i64, at: Option<&str>) -> Local {
        Local {
            current_device: current,
            segment_last: last,
            segment_first: 1,
            event_at_watermark: at.map(str::to_string),
        }
    }

    #[test]
    fn a_watermark_naming_our_event_settles_up_to_it() {
        let p = push(4, 9, 10, &[]);
        assert_eq!(
            settle(Some(&wm(9, "e9")), &p, &local(true, 9, Some("e9"))),
            Settled::Through(9)
        );
        assert_eq!(
            settle(Some(&wm(6, "e6")), &p, &local(true, 9, Some("e6"))),
            Settled::Through(6),
            "another copy sent part of it"
        );
        assert_eq!(
            settle(Some(&wm(3, "e3")), &p, &local(true, 9, Some("e3"))),
            Settled::Nothing
        );
        assert_eq!(settle(None, &p, &local(true, 9, None)), Settled::Nothing);
        assert_eq!(
            settle(Some(&Watermark::Legacy(40)), &p, &local(true, 9, None)),
            Settled::Nothing
        );
    }

    #[test]
    fn a_watermark_naming_someone_elses_event_is_a_divergence() {
        let p = push(4, 9, 10, &[]);
        assert_eq!(
            settle(Some(&wm(7, "theirs")), &p, &local(true, 9, Some("e7"))),
            Settled::Diverged
        );
        assert_eq!(
            settle(Some(&wm(12, "theirs")), &p, &local(true, 9, None)),
            Settled::Diverged,
            "beyond our newest event under our current id"
        );
        assert_eq!(
            settle(Some(&wm(12, "theirs")), &p, &local(false, 9, None)),
            Settled::Through(9),
            "an id we forked away from: the original went on"
        );
    }

    #[test]
    fn apply_adds_xp_unions_lists_keeps_other_devices_and_never_lowers_the_level() {
        let mut base = Snapshot {
            total_xp: 100,
            level: Some(9),
            sync_revision: 4,
            ..Snapshot::default()
        };
        base.defeated_bosses.insert("gatekeeper".into());
        base.sync_watermarks.insert("dev-b".into(), wm(9, "b9"));
        let next = apply(
            &base,
            &push(1, 3, 25, &["gatekeeper", "procurement"]),
            clock(),
        );
        assert_eq!(next.total_xp, 125);
        assert_eq!(next.level, Some(9), "another writer's level stands");
        assert_eq!(next.sync_revision, 5);
        assert_eq!(next.defeated_bosses.len(), 2);
        assert_eq!(next.sync_watermarks["dev-b"], wm(9, "b9"));
        assert_eq!(
            next.sync_watermarks["dev-a"],
            Watermark::Event {
                seq: 3,
                event: "e3".into(),
                at: Some(format(now()))
            }
        );
    }

    #[test]
    fn idle_entries_are_pruned_only_past_the_bound_and_never_our_own_or_an_undated_one() {
        let mut base = Snapshot::default();
        for i in 0..PRUNE_ABOVE_ENTRIES - 2 {
            base.sync_watermarks
                .insert(format!("old-{i:02}"), written(91));
        }
        base.sync_watermarks.insert("undated".into(), wm(4, "u4"));
        let p = push(1, 2, 5, &[]);
        let next = apply(&base, &p, clock());
        assert_eq!(
            next.sync_watermarks.len(),
            PRUNE_ABOVE_ENTRIES,
            "at the bound nothing goes, however old"
        );

        base.sync_watermarks.insert("recent".into(), written(89));
        base.sync_watermarks.insert("dev-a".into(), written(200));
        let next = apply(&base, &p, clock());
        let kept: Vec<&str> = next.sync_watermarks.keys().map(String::as_str).collect();
        assert_eq!(kept, ["dev-a", "recent", "undated"]);
    }

    #[test]
    fn apply_leaves_unreadable_fields_alone() {
        let mut base = Snapshot {
            total_xp: 10,
            ..Snapshot::default()
        };
        base.unreadable
            .insert("defeatedBosses".into(), "not JSON".into());
        let next = apply(&base, &push(1, 1, 5, &["dragon"]), clock());
        assert_eq!(next.total_xp, 15);
        assert!(next.defeated_bosses.is_empty());
    }

    fn arb_push(device: &'static str) -> impl Strategy<Value = Push> {
        (
            0i64..10_000,
            proptest::collection::btree_set("[a-e]", 0..3),
            proptest::collection::btree_map(
                "[p-s]",
                proptest::option::of(0u8..=100).prop_map(|s| ExamResult {
                    score: s.map(f64::from),
                }),
                0..3,
            ),
            1i64..50,
        )
            .prop_map(
                move |(xp, bosses, exams, n): (i64, BTreeSet<String>, _, i64)| {
                    let mut p = push(1, n, xp, &[]);
                    p.segment = segment(device);
                    p.bosses = bosses;
                    p.exams = exams;
                    p
                },
            )
    }

    proptest! {
        /// Two devices' pushes land in either order: the same XP, the same lists.
        #[test]
        fn pushes_from_two_devices_commute(a in arb_push("dev-a"), b in arb_push("dev-b"), base_xp in 0i64..1000) {
            let base = Snapshot { total_xp: base_xp, ..Snapshot::default() };
            let ab = apply(&apply(&base, &a, clock()), &b, clock());
            let ba = apply(&apply(&base, &b, clock()), &a, clock());
            prop_assert_eq!(ab.total_xp, base_xp + a.xp_delta + b.xp_delta);
            prop_assert_eq!(ab.total_xp, ba.total_xp);
            prop_assert_eq!(&ab.defeated_bosses, &ba.defeated_bosses);
            prop_assert_eq!(&ab.passed_exams, &ba.passed_exams);
            prop_assert_eq!(&ab.sync_watermarks, &ba.sync_watermarks);
        }

        /// Replaying a push against the record it produced is never a second write.
        #[test]
        fn replay_after_landing_never_writes_again(a in arb_push("dev-a"), base_xp in 0i64..1000) {
            let base = Snapshot { total_xp: base_xp, ..Snapshot::default() };
            let landed = apply(&base, &a, clock());
            let ev = a.last_event.clone();
            let here = local(true, a.last_seq, Some(&ev));
            prop_assert_eq!(
                settle(landed.sync_watermarks.get("dev-a"), &a, &here),
                Settled::Through(a.last_seq)
            );
        }
    }
}
