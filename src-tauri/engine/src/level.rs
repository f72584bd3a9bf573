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
    /// The level reached at `next_level_xp` (`level + 1`, unless an admin set a level below
    /// this curve: then the curve's next one, where it takes over again).
    pub next_level: u32,
}

pub fn progress(xp: i64) -> LevelProgress {
    progress_standing(None, 0, xp)
}

/// The level that stands (docs/ARCHITECTURE.md, merge table): Twenty's when it holds one (an
/// admin's correction, the academy's own curve: Twenty wins for scalars), until XP takes the
/// rep up this curve past where Twenty's own XP had them; then the higher of the two. Without
/// one, this curve's. `twenty_xp` is Twenty's total, `xp` the total with what waits here.
pub fn standing(twenty: Option<u32>, twenty_xp: i64, xp: i64) -> u32 {
    let curve = level_for(xp);
    match twenty {
        None => curve,
        Some(t) if curve > level_for(twenty_xp) => t.max(curve),
        Some(t) => t,
    }
}

/// [`standing`], with the bounds a progress bar needs.
pub fn progress_standing(twenty: Option<u32>, twenty_xp: i64, xp: i64) -> LevelProgress {
    let level = standing(twenty, twenty_xp, xp);
    let curve = level_for(xp);
    let next_level = if level < curve { curve + 1 } else { level + 1 };
    LevelProgress {
        level,
        level_start_xp: threshold(level),
        next_level_xp: threshold(next_level),
        next_level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_admins_lower_level_stands_until_xp_levels_the_rep_up() {
        // 1,240 XP is level 7 on the curve; the admin set 3.
        assert_eq!(standing(Some(3), 1_240, 1_250), 3);
        let p = progress_standing(Some(3), 1_240, 1_250);
        assert_eq!((p.next_level, p.next_level_xp), (8, threshold(8)));
        // The rep reaches level 8 of the curve: the curve takes over.
        assert_eq!(standing(Some(3), 1_240, 1_400), 8);
        // A higher level from another curve is never lowered.
        assert_eq!(standing(Some(9), 1_240, 1_400), 9);
        assert_eq!(standing(None, 0, 1_240), 7);
    }

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
        fn twentys_level_stands_until_the_curve_moves_past_it(
            twenty_xp in 0i64..1_000_000, gained in 0i64..10_000, set in 1u32..40,
        ) {
            let xp = twenty_xp + gained;
            let p = progress_standing(Some(set), twenty_xp, xp);
            if level_for(xp) == level_for(twenty_xp) {
                prop_assert_eq!(p.level, set, "nothing crossed: Twenty's level stands");
            } else {
                prop_assert_eq!(p.level, set.max(level_for(xp)));
            }
            prop_assert!(p.next_level > p.level && p.next_level_xp > xp);
            prop_assert_eq!(progress_standing(None, twenty_xp, xp).level, level_for(xp));
        }

        #[test]
        fn level_is_monotonic(a in 0i64..1_000_000_000, b in 0i64..1_000_000_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(level_for(lo) <= level_for(hi));
        }
    }
}
