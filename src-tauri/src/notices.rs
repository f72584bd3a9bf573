//! When to notify, following desktop etiquette (DESIGN.md §6): one notification per failure
//! episode (not per retry), one "back in sync" when that episode ends, one on level-up, none in the
//! first seconds after start, never one per success. A pure state machine fed with overviews, so
//! the policy is tested without a notification daemon.

use std::time::{Duration, Instant};

use crate::overview::{is_offline_kind, Overview};

/// Quiet time after start: the first sync of the day often meets a network still coming up.
pub const GRACE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

/// What a notice is about, which decides how it treats the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    LevelUp,
    /// Replaces the episode's earlier failure notice, if still shown.
    Failure,
    /// Withdraws the episode's failure notice and says so once.
    Recovery,
    /// A web page asks to send XP: the rep answers in the panel.
    Question,
}

#[derive(Debug)]
pub struct Notices {
    started: Instant,
    /// Highest level seen; a level-up notice fires when it grows.
    level: Option<u32>,
    /// A failure episode is in progress.
    failing: bool,
    /// Its notice was shown (so recovery is worth announcing).
    announced: bool,
}

impl Notices {
    pub fn new(started: Instant) -> Notices {
        Notices {
            started,
            level: None,
            failing: false,
            announced: false,
        }
    }

    /// Feeds the latest overview; returns what to show now. `enabled` is the rep's setting: with
    /// notifications off the state still advances, so turning them on later does not replay the
    /// past.
    pub fn observe(&mut self, o: &Overview, now: Instant, enabled: bool) -> Vec<Notice> {
        let mut out = Vec::new();
        let quiet = now.duration_since(self.started) < GRACE;

        let level = o.progression.level.level;
        if let Some(prev) = self.level {
            if level > prev && !quiet {
                out.push(Notice {
                    kind: NoticeKind::LevelUp,
                    title: format!("Level {level} reached"),
                    body: format!(
                        "{} XP. Next level at {} XP.",
                        o.xp_text,
                        repxp_engine::display::thousands(o.progression.level.next_level_xp)
                    ),
                });
            }
        }
        self.level = Some(self.level.map_or(level, |p| p.max(level)));

        let failing = o.configured && !o.settings.paused && o.error.is_some();
        if failing {
            self.failing = true;
            if !self.announced && !quiet {
                self.announced = true;
                // What happened, then what to do next (the tray menu's line).
                let e = o
                    .error
                    .as_ref()
                    .map(|e| {
                        format!(
                            "{}. {}",
                            e.message.trim_end_matches('.'),
                            e.next_step.trim_end_matches('.')
                        )
                    })
                    .unwrap_or_default();
                let kind = o.error.as_ref().and_then(|e| e.kind);
                let pending = o.progression.pending;
                let kept = if pending > 0 {
                    format!(" {pending} waiting to sync, kept safely on this computer.")
                } else {
                    String::new()
                };
                out.push(Notice {
                    kind: NoticeKind::Failure,
                    title: if is_offline_kind(kind) {
                        "RepXP can't reach Twenty".into()
                    } else {
                        "RepXP sync is failing".into()
                    },
                    body: format!("{}.{kept}", e.trim_end_matches('.')),
                });
            }
        } else if self.failing && o.sync.failure_streak == 0 {
            // A success ended the episode (not a pause, which only hides it).
            self.failing = false;
            if std::mem::take(&mut self.announced) {
                out.push(Notice {
                    kind: NoticeKind::Recovery,
                    title: "Back in sync".into(),
                    body: format!("{} XP, everything is on Twenty.", o.xp_text),
                });
            }
        }
        if enabled {
            out
        } else {
            Vec::new()
        }
    }

    /// When the grace period ends, if it has not yet: a failure seen during it is announced then.
    pub fn grace_left(&self, now: Instant) -> Option<Duration> {
        GRACE
            .checked_sub(now.duration_since(self.started))
            .filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overview::{build, KeyView};
    use repxp_engine::sync::scheduler::SchedulerStatus;
    use repxp_engine::{settings::Setting, ErrorKind, Progress, Store};

    struct World {
        _dir: tempfile::TempDir,
        store: Store,
    }

    impl World {
        fn new() -> World {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut store = Store::open_dir(dir.path()).expect("open");
            store
                .set_setting(Setting::TwentyUrl, Some("http://127.0.0.1:9"))
                .expect("set");
            store
                .set_setting(Setting::RepEmail, Some("ana@acme.test"))
                .expect("set");
            World { _dir: dir, store }
        }

        fn overview(&self) -> Overview {
            let status = SchedulerStatus::default();
            let key = KeyView {
                stored: true,
                source: None,
                keychain_error: None,
            };
            build(
                &self.store,
                self._dir.path(),
                &status,
                &key,
                false,
                crate::overview::now(),
            )
            .expect("overview")
        }
    }

    #[test]
    fn one_notice_per_episode_and_one_on_recovery() {
        let mut w = World::new();
        let t0 = Instant::now();
        let mut n = Notices::new(t0);
        let later = t0 + GRACE + Duration::from_secs(1);
        assert!(n.observe(&w.overview(), later, true).is_empty());
        for _ in 0..5 {
            w.store
                .record_sync_failure(ErrorKind::Offline, "offline: cannot reach 127.0.0.1", None)
                .expect("fail");
        }
        let first = n.observe(&w.overview(), later, true);
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(first[0].title, "RepXP can't reach Twenty");
        assert_eq!(first[0].kind, NoticeKind::Failure);
        w.store
            .record_sync_failure(ErrorKind::Offline, "offline again", None)
            .expect("fail");
        assert!(
            n.observe(&w.overview(), later, true).is_empty(),
            "no notice per retry"
        );
        w.store.record_sync_success().expect("ok");
        let back = n.observe(&w.overview(), later, true);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].title, "Back in sync");
        assert_eq!(back[0].kind, NoticeKind::Recovery);
        assert!(n.observe(&w.overview(), later, true).is_empty());
    }

    #[test]
    fn quiet_at_start_then_announced_and_level_ups_shown() {
        let mut w = World::new();
        let t0 = Instant::now();
        let mut n = Notices::new(t0);
        w.store
            .record_sync_failure(
                ErrorKind::Auth,
                "Twenty refused the API key (HTTP 403)",
                None,
            )
            .expect("fail");
        assert!(n.observe(&w.overview(), t0, true).is_empty(), "grace");
        assert!(n.grace_left(t0).is_some());
        let later = t0 + GRACE;
        assert_eq!(n.observe(&w.overview(), later, true).len(), 1);
        assert!(n.grace_left(later).is_none());
        w.store
            .record(&Progress::xp(200, None).expect("valid"), None, None)
            .expect("record");
        let up = n.observe(&w.overview(), later, true);
        assert_eq!(up.len(), 1, "{up:?}");
        assert_eq!(up[0].title, "Level 3 reached");
    }

    #[test]
    fn disabled_means_silent_without_replaying_later() {
        let mut w = World::new();
        let t0 = Instant::now();
        let later = t0 + GRACE;
        let mut n = Notices::new(t0);
        n.observe(&w.overview(), later, false);
        w.store
            .record_sync_failure(
                ErrorKind::Server,
                "Twenty had a server error (HTTP 500)",
                None,
            )
            .expect("fail");
        assert!(n.observe(&w.overview(), later, false).is_empty());
        assert!(
            n.observe(&w.overview(), later, true).is_empty(),
            "already seen"
        );
    }
}
