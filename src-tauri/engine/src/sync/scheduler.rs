//! When to sync: a trailing debounce after local changes (with a max wait), a jittered periodic
//! sync, "sync now", backoff with full jitter, no retries on auth failures until the credentials
//! change, and a retry as soon as the network is back (unless the server asked for the wait).
//! Single-flight by construction: one loop runs one sync at a time; triggers that arrive during a
//! sync are handled after it, collapsing into one follow-up.
//!
//! # Sharing a rate limit with a team
//!
//! Twenty limits API-key requests per *workspace* (100 a minute by default), shared by every
//! rep's laptop (docs/twenty-api.md §5). A client cannot know how many others share its budget:
//! a 429 only says "the workspace is over budget right now", and a team only learns its size by
//! spending budget on 429s. So one 429 changes how this rep behaves for a while:
//! - **Escalate at once, decay slowly.** A 429 sets the rep's `stretch` straight to
//!   [`MAX_STRETCH`] (8); it halves after every [`CALM_SUCCESSES_TO_DECAY`] syncs without a 429
//!   (8, 4, 2, 1). Doubling instead (1, 2, 4, 8) costs a team one round of 429s per step to find
//!   its pace: in the fleet simulation (fake-twenty/tests/fleet.rs) a version that started at 4 and
//!   doubled still sent 1,000 reps' Twenty 200 to 250 requests a minute for minutes 5 to 10 of the
//!   morning.
//! - **Spread the retry.** The retry after a 429 comes after the server's wait (Retry-After, or the
//!   window a legacy 429 names; `twenty/retry_after.rs`), as a *floor*, plus a uniform spread
//!   (full jitter) of [`RATE_LIMIT_SPREAD`] periodic intervals, doubling with each 429 in a row,
//!   at most `periodic × MAX_STRETCH`: 10, 20, then 40 minutes with the defaults. A sync that
//!   carried no change made since the last successful one (a periodic pull, the sync at start)
//!   has nothing new waiting on it: its spread is [`NOTHING_NEW_SPREAD`] times longer (30, then
//!   40 minutes). Never 2 s later, and never everyone at the server's instant: a thousand laptops
//!   told "1 s" that all came back after 1 s would only make the next 429 storm.
//! - **Slow down afterwards.** While stretched, the periodic interval is `periodic × stretch`
//!   (± jitter, so a stretched team stays spread out), and a local change is pushed no sooner
//!   than `periodic × stretch / 4` after the previous sync (the pace: 10, 5, then 2.5 minutes);
//!   changes made meanwhile go out together in one push. Changes made during a 429's wait wait
//!   for the retry.
//! - **Other failures while stretched.** Offline, timeout and 5xx backoff start at
//!   `backoff_base × stretch` and grow 4x per failure up to `periodic × stretch` (40 minutes):
//!   when Twenty comes back from an outage, a team that was over its budget comes back spread over
//!   its stretched interval, not all within five minutes.
//!
//! A rep alone on a workspace who meets one 429 (another integration spent the budget) retries
//! its XP after the server's floor plus on average 5 minutes (at most 10; 15 on average if the
//! 429 hit a sync with nothing new to push), then pushes at most every 10 minutes for three syncs,
//! every 5 for three, every 2.5 for three, then normally: under an hour of slower freshness,
//! nothing lost; its periodic pulls (only others' edits) take a few hours to return to 5 minutes.
//! That first spread is the price of the fleet: it is the only thing separating a thousand reps
//! who met their first 429 in the same minute, and what keeps them under twice the workspace's
//! budget in every minute.
//!
//! "Sync now" (the rep's click) skips every wait, a rate-limit wait included: it is one sync the
//! rep asked for, single-flight collapses repeated clicks, and the stretch stays. A network-up
//! event skips only waits the network may have caused (offline, timeout, 5xx…), never a wait for a
//! 429 or another the server asked for: the network coming back does not refill the budget.
//!
//! All timing uses tokio's clock, so tests run it with a paused clock and never sleep for real.

use std::future::Future;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

use crate::error_kind::ErrorKind;

#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// Quiet time after the last local change before pushing.
    pub debounce: Duration,
    /// A steady stream of changes still syncs at least this often.
    pub max_wait: Duration,
    /// Background sync interval (both ways), ± `periodic_jitter`.
    pub periodic: Duration,
    /// Fraction of `periodic` by which each interval varies, so a team's clients spread out.
    pub periodic_jitter: f64,
    /// First retry delay after a failure other than a 429; doubles per failure, with full
    /// jitter, capped at `periodic`. After rate limiting: times the stretch, growing 4x.
    pub backoff_base: Duration,
    /// Sync once right after start.
    pub sync_on_start: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            debounce: Duration::from_secs(2),
            max_wait: Duration::from_secs(10),
            periodic: Duration::from_secs(300),
            periodic_jitter: 0.1,
            backoff_base: Duration::from_secs(2),
            sync_on_start: true,
        }
    }
}

/// What can make the scheduler act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Something was recorded locally: push after the debounce (and, after rate limiting, the
    /// pace); during a wait to retry, with the retry.
    LocalChange,
    /// The rep asked: sync now, skipping any backoff, a rate-limit wait included.
    SyncNow,
    /// The network came back: if we are waiting to retry a failure the network may have caused,
    /// retry now. A 429's wait (or any wait the server asked for) stands.
    NetworkUp,
    /// URL, email or API key changed: forget an auth block and sync now.
    CredentialsChanged,
    SetPaused(bool),
    Shutdown,
}

/// Why a sync failed, as far as scheduling goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    /// Retrying unchanged can succeed (offline, timeout, 5xx, 429…).
    pub transient: bool,
    /// The wait the failure asks for: a 429's Retry-After or named window (a floor under the
    /// spread), an admin's fix or a plan renewal (a slow retry).
    pub retry_after: Option<Duration>,
}

/// The work the scheduler schedules. The app's implementation runs `sync_once` and records the
/// outcome in the store; tests use counting fakes.
pub trait SyncTask: Send {
    fn sync(&mut self) -> impl Future<Output = Result<(), Failure>> + Send;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Idle,
    Syncing,
    /// Waiting to retry after a transient failure.
    Backoff,
    /// Waiting for the rep (auth failure, missing settings): no automatic retries.
    Blocked,
    Paused,
}

/// `Default`: idle, no failure, nothing run yet (the status before the first sync).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SchedulerStatus {
    pub phase: Phase,
    pub failure_streak: u32,
    pub last_error_kind: Option<ErrorKind>,
    pub last_error: Option<String>,
    /// Syncs run since start (succeeded or not).
    pub syncs: u64,
    /// Milliseconds from the publication of this status to the next planned sync.
    pub next_sync_in_ms: Option<u64>,
}

/// Handle to a running scheduler.
#[derive(Clone)]
pub struct SchedulerHandle {
    tx: mpsc::UnboundedSender<Trigger>,
    status: watch::Receiver<SchedulerStatus>,
}

impl SchedulerHandle {
    /// Sends a trigger; `false` if the scheduler has stopped.
    pub fn trigger(&self, t: Trigger) -> bool {
        self.tx.send(t).is_ok()
    }

    pub fn status(&self) -> SchedulerStatus {
        self.status.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<SchedulerStatus> {
        self.status.clone()
    }
}

/// Starts the scheduler on the current tokio runtime. `seed` fixes the jitter (tests, fleet
/// simulation); `None` seeds from the OS.
pub fn spawn<T: SyncTask + 'static>(
    task: T,
    cfg: SchedulerConfig,
    seed: Option<u64>,
) -> (SchedulerHandle, tokio::task::JoinHandle<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (status_tx, status_rx) = watch::channel(SchedulerStatus::default());
    let rng = match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
    };
    let join = tokio::spawn(run(task, cfg, rx, status_tx, rng));
    (
        SchedulerHandle {
            tx,
            status: status_rx,
        },
        join,
    )
}

/// The stretch a 429 sets: periodic syncs every 40 minutes, pushes at most every 10.
pub const MAX_STRETCH: u32 = 8;
/// Syncs without a 429 after which the stretch halves.
pub const CALM_SUCCESSES_TO_DECAY: u32 = 3;
/// The spread of the retry after a first 429, in periodic intervals (10 minutes).
pub const RATE_LIMIT_SPREAD: u32 = 2;
/// How much longer the spread is when the sync carried nothing new to push.
pub const NOTHING_NEW_SPREAD: u32 = 3;
/// While stretched, pushes go at most once per `periodic × stretch / PACE_DIVISOR`.
const PACE_DIVISOR: u32 = 4;

struct State {
    debounce_at: Option<Instant>,
    max_wait_at: Option<Instant>,
    periodic_at: Instant,
    retry_at: Option<Instant>,
    /// The pending retry waits out a failure the network may have caused: a network-up event
    /// may cut it short. False for a 429 and for every wait the server asked for.
    retry_on_network_up: bool,
    /// While stretched, no push before this (one sync per pace; see the module doc).
    paced_until: Option<Instant>,
    /// A local change arrived since the last successful sync: there is new XP to push.
    changed: bool,
    blocked: bool,
    paused: bool,
    streak: u32,
    /// 429s in a row (reset by a success): each doubles the spread of the next retry.
    rate_limited_streak: u32,
    /// After rate limiting, multiplies the periodic interval, the pace of pushes and the
    /// backoff (8 after a 429, then halving back to 1): a team over its shared budget slows
    /// down until its requests fit.
    stretch: u32,
    /// Successful syncs since the last 429; the stretch halves after every few.
    calm_successes: u32,
    now_requested: bool,
}

impl State {
    fn due(&self) -> Option<Instant> {
        if self.now_requested {
            return Some(Instant::now());
        }
        if self.paused || self.blocked {
            return None;
        }
        if let Some(r) = self.retry_at {
            return Some(r);
        }
        let change = match (self.debounce_at, self.max_wait_at) {
            (Some(d), Some(m)) => Some(d.min(m)),
            (d, m) => d.or(m),
        };
        let change = change.map(|c| self.paced_until.map_or(c, |p| c.max(p)));
        Some(change.map_or(self.periodic_at, |c| c.min(self.periodic_at)))
    }
}

/// Whether a failure says the workspace's request budget, shared by the whole team, is spent (a
/// 429): it stretches the rep's pace and spreads the retry (see the module doc). Every other
/// transient failure backs off on its own, and a network-up event may cut its wait short.
fn spends_the_team_budget(kind: ErrorKind) -> bool {
    match kind {
        ErrorKind::RateLimited => true,
        ErrorKind::Offline
        | ErrorKind::Timeout
        | ErrorKind::Interrupted
        | ErrorKind::Contended
        | ErrorKind::Server
        | ErrorKind::Malformed
        | ErrorKind::Auth
        | ErrorKind::NoKey
        | ErrorKind::Permission
        | ErrorKind::PaymentRequired
        | ErrorKind::SchemaMissing
        | ErrorKind::UnsupportedServer
        | ErrorKind::Rejected
        | ErrorKind::BadUrl
        | ErrorKind::NotConnected
        | ErrorKind::Keychain
        | ErrorKind::LocalDatabase
        | ErrorKind::RecordTrashed
        | ErrorKind::EmailChanged
        | ErrorKind::FieldUnreadable
        | ErrorKind::WritesRejected
        | ErrorKind::Other => false,
    }
}

fn jittered(rng: &mut StdRng, d: Duration, fraction: f64) -> Duration {
    let f = 1.0 + fraction * (rng.random::<f64>() * 2.0 - 1.0);
    d.mul_f64(f.max(0.0))
}

async fn run<T: SyncTask>(
    mut task: T,
    cfg: SchedulerConfig,
    mut rx: mpsc::UnboundedReceiver<Trigger>,
    status: watch::Sender<SchedulerStatus>,
    mut rng: StdRng,
) -> T {
    let start = Instant::now();
    let mut st = State {
        debounce_at: None,
        max_wait_at: None,
        periodic_at: if cfg.sync_on_start {
            start
        } else {
            start + jittered(&mut rng, cfg.periodic, cfg.periodic_jitter)
        },
        retry_at: None,
        retry_on_network_up: false,
        paced_until: None,
        changed: false,
        blocked: false,
        paused: false,
        streak: 0,
        rate_limited_streak: 0,
        stretch: 1,
        calm_successes: 0,
        now_requested: false,
    };
    let publish = |st: &State, phase: Phase, status: &watch::Sender<SchedulerStatus>| {
        let now = Instant::now();
        status.send_modify(|s| {
            s.phase = phase;
            s.failure_streak = st.streak;
            s.next_sync_in_ms = st
                .due()
                .map(|d| d.saturating_duration_since(now).as_millis() as u64);
        });
    };
    let resting_phase = |st: &State| {
        if st.paused {
            Phase::Paused
        } else if st.blocked {
            Phase::Blocked
        } else if st.retry_at.is_some() {
            Phase::Backoff
        } else {
            Phase::Idle
        }
    };
    loop {
        publish(&st, resting_phase(&st), &status);
        let due = st.due();
        let fire = tokio::select! {
            // Triggers first: everything queued (e.g. during a sync) is folded into the state
            // before the next sync fires, so ten "sync now" clicks make one sync.
            biased;
            t = rx.recv() => {
                let now = Instant::now();
                match t {
                    None | Some(Trigger::Shutdown) => return task,
                    Some(Trigger::LocalChange) => {
                        st.changed = true;
                        st.debounce_at = Some(now + cfg.debounce);
                        st.max_wait_at.get_or_insert(now + cfg.max_wait);
                    }
                    Some(Trigger::SyncNow) => st.now_requested = true,
                    Some(Trigger::NetworkUp) => {
                        if st.retry_at.is_some() && st.retry_on_network_up {
                            st.retry_at = Some(now);
                        }
                    }
                    Some(Trigger::CredentialsChanged) => {
                        st.blocked = false;
                        st.retry_at = None;
                        st.streak = 0;
                        st.now_requested = true;
                    }
                    Some(Trigger::SetPaused(p)) => st.paused = p,
                }
                false
            }
            _ = sleep_until(due.unwrap_or(start)), if due.is_some() => true,
        };
        if !fire {
            continue;
        }
        st.now_requested = false;
        // Changes that arrive during the sync may miss it: they count for the next one.
        let carried_changes = std::mem::take(&mut st.changed);
        publish(&st, Phase::Syncing, &status);
        let result = task.sync().await;
        let now = Instant::now();
        st.debounce_at = None;
        st.max_wait_at = None;
        status.send_modify(|s| s.syncs += 1);
        match result {
            Ok(()) => {
                st.streak = 0;
                st.rate_limited_streak = 0;
                st.retry_at = None;
                st.blocked = false;
                // Decay slowly: one success is not proof the team is back under its budget.
                st.calm_successes += 1;
                if st.calm_successes >= CALM_SUCCESSES_TO_DECAY {
                    st.stretch = (st.stretch / 2).max(1);
                    st.calm_successes = 0;
                }
                st.periodic_at =
                    now + jittered(&mut rng, cfg.periodic * st.stretch, cfg.periodic_jitter);
                status.send_modify(|s| {
                    s.last_error = None;
                    s.last_error_kind = None;
                });
            }
            Err(f) => {
                st.streak = st.streak.saturating_add(1);
                st.changed |= carried_changes;
                if f.transient {
                    let rate_limited = spends_the_team_budget(f.kind);
                    let delay = if rate_limited {
                        st.stretch = MAX_STRETCH;
                        st.calm_successes = 0;
                        st.rate_limited_streak = st.rate_limited_streak.saturating_add(1);
                        // The server's wait is a floor; the team spreads out on top of it.
                        let doubled = 1u32 << (st.rate_limited_streak - 1).min(8);
                        let nothing_new = if carried_changes {
                            1
                        } else {
                            NOTHING_NEW_SPREAD
                        };
                        let spread = cfg
                            .periodic
                            .saturating_mul(RATE_LIMIT_SPREAD * doubled * nothing_new)
                            .min(cfg.periodic.saturating_mul(MAX_STRETCH));
                        f.retry_after.unwrap_or_default() + spread.mul_f64(rng.random::<f64>())
                    } else {
                        // Full jitter: uniform in [0, min(cap, ceiling)], the ceiling growing from
                        // the base, 2x per failure; while stretched from base·stretch, 4x.
                        let n = (st.streak - 1).min(16);
                        let exp = if st.stretch > 1 {
                            cfg.backoff_base
                                .saturating_mul(st.stretch)
                                .saturating_mul(4u32.saturating_pow(n))
                        } else {
                            cfg.backoff_base.saturating_mul(1u32 << n)
                        };
                        let ceiling = exp.min(cfg.periodic * st.stretch);
                        let delay = ceiling.mul_f64(rng.random::<f64>());
                        match f.retry_after {
                            // An admin's fix or a plan renewal: the slow retry the error asks for,
                            // a little spread so a team does not retry in step.
                            Some(ra) => {
                                delay.max(ra + Duration::from_millis(rng.random_range(0..=1_000)))
                            }
                            None => delay,
                        }
                    };
                    st.retry_at = Some(now + delay);
                    st.retry_on_network_up = !rate_limited && f.retry_after.is_none();
                } else {
                    st.blocked = true;
                    st.retry_at = None;
                }
                st.periodic_at =
                    now + jittered(&mut rng, cfg.periodic * st.stretch, cfg.periodic_jitter);
                tracing::info!(kind = %f.kind, streak = st.streak, stretch = st.stretch, transient = f.transient, "sync failed");
                status.send_modify(|s| {
                    s.last_error = Some(f.message.clone());
                    s.last_error_kind = Some(f.kind);
                });
            }
        }
        // While stretched, the next push waits for the pace (a retry after a 429 waits longer).
        st.paced_until = (st.stretch > 1).then(|| now + cfg.periodic * st.stretch / PACE_DIVISOR);
    }
}

#[cfg(test)]
mod tests;
