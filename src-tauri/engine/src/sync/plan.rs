//! The pure half of a push: given the record we believe Twenty holds and a frozen batch, what to
//! write. No I/O here, so the merge laws are tested exhaustively with proptest.

use crate::level;
use crate::outbox::Batch;
use crate::snapshot::{later_time, merge_exams, Snapshot};

/// What to do with a batch, given the record Twenty holds now.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Twenty's watermark for this device already covers the batch: it landed earlier (the reply
    /// was lost). Acknowledge locally; writing again would count it twice.
    AlreadyApplied,
    /// The batch never left this device, yet Twenty's watermark is at or above its number: this
    /// database was restored from an older copy. Renumber above the watermark, then push.
    Renumber { above: u64 },
    /// Write this record, on condition that Twenty still holds `base`.
    Write(Snapshot),
}

/// Decides the step for `batch` against `base` (the record as last read or returned).
pub fn plan(base: &Snapshot, batch: &Batch) -> Step {
    let watermark = base
        .sync_watermarks
        .get(&batch.device_id)
        .copied()
        .unwrap_or(0);
    if watermark >= batch.seq {
        return if batch.attempted {
            Step::AlreadyApplied
        } else {
            Step::Renumber { above: watermark }
        };
    }
    Step::Write(apply(base, batch))
}

/// `base` with `batch` applied: XP added, lists unioned, metrics overwritten by the batch's
/// latest values, the watermark moved to the batch and the revision bumped.
pub fn apply(base: &Snapshot, batch: &Batch) -> Snapshot {
    let mut next = base.clone();
    next.total_xp = base.total_xp.saturating_add(batch.xp_delta);
    next.defeated_bosses.extend(batch.bosses.iter().cloned());
    merge_exams(&mut next.passed_exams, &batch.exams);
    next.efficiency_metrics
        .extend(batch.metrics.iter().map(|(k, v)| (k.clone(), *v)));
    next.last_activity_date = later_time(
        base.last_activity_date.as_deref(),
        batch.last_activity.as_deref(),
    );
    next.sync_watermarks
        .insert(batch.device_id.clone(), batch.seq);
    next.sync_revision = base.sync_revision + 1;
    next.null_fields = Default::default();
    next
}

/// The level written beside totalXp, from the one level curve.
pub fn level_of(s: &Snapshot) -> u32 {
    level::level_for(s.total_xp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use crate::snapshot::ExamResult;

    fn batch(seq: u64, xp: i64, bosses: &[&str], attempted: bool) -> Batch {
        Batch {
            seq,
            device_id: "dev-a".into(),
            events: 1,
            xp_delta: xp,
            bosses: bosses.iter().map(|b| b.to_string()).collect(),
            exams: BTreeMap::new(),
            metrics: BTreeMap::new(),
            last_activity: None,
            attempted,
        }
    }

    #[test]
    fn a_landed_batch_is_acknowledged_not_rewritten() {
        let mut base = Snapshot::default();
        base.sync_watermarks.insert("dev-a".into(), 3);
        assert_eq!(plan(&base, &batch(3, 10, &[], true)), Step::AlreadyApplied);
        assert_eq!(plan(&base, &batch(2, 10, &[], true)), Step::AlreadyApplied);
    }

    #[test]
    fn a_never_sent_batch_under_the_watermark_means_a_restored_database() {
        let mut base = Snapshot::default();
        base.sync_watermarks.insert("dev-a".into(), 7);
        assert_eq!(
            plan(&base, &batch(3, 10, &[], false)),
            Step::Renumber { above: 7 }
        );
    }

    #[test]
    fn apply_adds_xp_unions_lists_and_keeps_other_devices_watermarks() {
        let mut base = Snapshot {
            total_xp: 100,
            sync_revision: 4,
            ..Snapshot::default()
        };
        base.defeated_bosses.insert("gatekeeper".into());
        base.sync_watermarks.insert("dev-b".into(), 9);
        let Step::Write(next) = plan(&base, &batch(1, 25, &["gatekeeper", "procurement"], false))
        else {
            panic!("expected a write");
        };
        assert_eq!(next.total_xp, 125);
        assert_eq!(next.sync_revision, 5);
        assert_eq!(next.defeated_bosses.len(), 2);
        assert_eq!(next.sync_watermarks["dev-b"], 9);
        assert_eq!(next.sync_watermarks["dev-a"], 1);
    }

    fn arb_batch(seq: u64) -> impl Strategy<Value = Batch> {
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
        )
            .prop_map(
                move |(xp, bosses, exams): (i64, BTreeSet<String>, _)| Batch {
                    seq,
                    device_id: "dev-a".into(),
                    events: 1,
                    xp_delta: xp,
                    bosses,
                    exams,
                    metrics: BTreeMap::new(),
                    last_activity: None,
                    attempted: false,
                },
            )
    }

    proptest! {
        /// Two devices' batches land in either order: the same XP, the same lists.
        #[test]
        fn batches_from_two_devices_commute(a in arb_batch(1), b in arb_batch(1), base_xp in 0i64..1000) {
            let mut b = b;
            b.device_id = "dev-b".into();
            let base = Snapshot { total_xp: base_xp, ..Snapshot::default() };
            let ab = apply(&apply(&base, &a), &b);
            let ba = apply(&apply(&base, &b), &a);
            prop_assert_eq!(ab.total_xp, base_xp + a.xp_delta + b.xp_delta);
            prop_assert_eq!(ab.total_xp, ba.total_xp);
            prop_assert_eq!(&ab.defeated_bosses, &ba.defeated_bosses);
            prop_assert_eq!(&ab.passed_exams, &ba.passed_exams);
            prop_assert_eq!(&ab.sync_watermarks, &ba.sync_watermarks);
        }

        /// Replaying a batch against the record it produced is never a second write.
        #[test]
        fn replay_after_landing_never_writes_again(a in arb_batch(5), base_xp in 0i64..1000) {
            let base = Snapshot { total_xp: base_xp, ..Snapshot::default() };
            let landed = apply(&base, &a);
            let mut retry = a.clone();
            retry.attempted = true;
            prop_assert_eq!(plan(&landed, &retry), Step::AlreadyApplied);
        }
    }
}
