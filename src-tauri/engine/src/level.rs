//! The one level curve. Every place that shows a level (CLI, tray, panel, the `level` field written
//! to Twenty) calls [`level_for`], so they never disagree.
//!
//! Reaching level L+1 from level L costs 50·L XP, so the XP needed to *be* level L is 25·L·(L−1):
//! level 2 at 50 XP, level 3 at 150, level 7 at 1,050, level 10 at 2,250. Early levels come quickly,
//! later ones ask for steady work, and no level is ever out of reach.

const STEP: i64 = 25;

/// XP at which `level` begins (level 1 begins at 0).
pub fn threshold(level: u32) -> i64 {
    let l = i64::from(level.max(1));
    STEP * l * (l - 1)
}

/// The level reached with `xp` total XP. Negative totals (which only a bad remote record could
/// produce) count as level 1.
pub fn level_for(xp: i64) -> u32 {
    if xp <= 0 {
        return 1;
    }
    // Solve 25·L·(L−1) <= xp for the largest L, then correct the float estimate exactly.
    let estimate = ((1.0 + (1.0 + 4.0 * xp as f64 / STEP as f64).sqrt()) / 2.0).floor();
    let mut level = estimate.clamp(1.0, u32::MAX as f64) as u32;
    while level > 1 && threshold(level) > xp {
        level -= 1;
    }
    while threshold(level + 1) <= xp {
        level += 1;
    }
    level
}

/// Where `xp` stands inside its level, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LevelProgress {
    pub level: u32,
    /// XP at which the current level began.
    pub level_start_xp: i64,
    /// XP at which the next level begins.
    pub next_level_xp: i64,
}

pub fn progress(xp: i64) -> LevelProgress {
    progress_at_least(xp, 1)
}

/// Like [`progress`], but never below `floor`: a level another writer (the academy, an admin) set
/// in Twenty stands until this curve passes it. Levels only ever go up (docs/ARCHITECTURE.md).
pub fn progress_at_least(xp: i64, floor: u32) -> LevelProgress {
    let level = level_for(xp).max(floor);
    LevelProgress {
        level,
        level_start_xp: threshold(level),
        next_level_xp: threshold(level + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_points_of_the_curve() {
        assert_eq!(level_for(0), 1);
        assert_eq!(level_for(49), 1);
        assert_eq!(level_for(50), 2);
        assert_eq!(level_for(149), 2);
        assert_eq!(level_for(150), 3);
        assert_eq!(level_for(1_240), 7);
        assert_eq!(level_for(-5), 1);
    }

    proptest! {
        #[test]
        fn level_brackets_xp(xp in 0i64..10_000_000_000) {
            let p = progress(xp);
            prop_assert!(p.level_start_xp <= xp && xp < p.next_level_xp);
        }

        #[test]
        fn a_floor_only_ever_raises_the_level(xp in 0i64..1_000_000, floor in 0u32..40) {
            let p = progress_at_least(xp, floor);
            prop_assert_eq!(p.level, level_for(xp).max(floor));
            prop_assert!(p.level_start_xp < p.next_level_xp);
        }

        #[test]
        fn level_is_monotonic(a in 0i64..1_000_000_000, b in 0i64..1_000_000_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(level_for(lo) <= level_for(hi));
        }
    }
}
