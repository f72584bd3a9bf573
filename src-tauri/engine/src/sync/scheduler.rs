//! When to sync: a trailing debounce after local changes (with a max wait), a jittered periodic
//! sync, "sync now", backoff with full jitter that honours Retry-After, no retries on auth
//! failures until the credentials change, and a retry as soon as the network is back.
//! Single-flight by construction: one loop runs one sync at a time; triggers that arrive during a
//! sync are handled after it, collapsing into one follow-up.
//!
//! All timing uses tokio's clock, so tests run it with a paused clock and never sleep for real.

use std::future::Future;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

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
    /// First retry delay; doubles per failure, with full jitter, capped at `periodic`.
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
    /// Something was recorded locally: push after the debounce.
    LocalChange,
    /// The rep asked: sync now, skipping any backoff.
    SyncNow,
    /// The network came back: if we are waiting to retry, retry now.
    NetworkUp,
    /// URL, email or API key changed: forget an auth block and sync now.
    CredentialsChanged,
    SetPaused(bool),
    Shutdown,
}

/// Why a sync failed, as far as scheduling goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: String,
    pub message: String,
    /// Retrying unchanged can succeed (offline, timeout, 5xx, 429…).
    pub transient: bool,
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
    pub last_error_kind: Option<String>,
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

const MAX_STRETCH: u32 = 8;
const CALM_SUCCESSES_TO_DECAY: u32 = 3;

struct State {
    debounce_at: Option<Instant>,
    max_wait_at: Option<Instant>,
    periodic_at: Instant,
    retry_at: Option<Instant>,
    blocked: bool,
    paused: bool,
    streak: u32,
    /// Multiplies the periodic interval and the backoff cap after rate limiting (1, 2, 4, 8):
    /// a team over its shared budget slows its polling until requests fit.
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
        Some(change.map_or(self.periodic_at, |c| c.min(self.periodic_at)))
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
        blocked: false,
        paused: false,
        streak: 0,
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
                        st.debounce_at = Some(now + cfg.debounce);
                        st.max_wait_at.get_or_insert(now + cfg.max_wait);
                    }
                    Some(Trigger::SyncNow) => st.now_requested = true,
                    Some(Trigger::NetworkUp) => {
                        if st.retry_at.is_some() {
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
        publish(&st, Phase::Syncing, &status);
        let result = task.sync().await;
        let now = Instant::now();
        st.debounce_at = None;
        st.max_wait_at = None;
        status.send_modify(|s| s.syncs += 1);
        match result {
            Ok(()) => {
                st.streak = 0;
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
                if f.transient {
                    // Full jitter: uniform in [0, min(cap, base·2^(n-1))].
                    let exp = cfg
                        .backoff_base
                        .saturating_mul(1u32 << (st.streak - 1).min(16));
                    if f.kind == "rate_limited" {
                        st.stretch = (st.stretch * 2).min(MAX_STRETCH);
                        st.calm_successes = 0;
                    }
                    // Rate limiting is about the whole team: back off past the periodic interval.
                    let cap = if f.kind == "rate_limited" {
                        cfg.periodic * st.stretch
                    } else {
                        cfg.periodic
                    };
                    let ceiling = exp.min(cap);
                    let mut delay = ceiling.mul_f64(rng.random::<f64>());
                    if let Some(ra) = f.retry_after {
                        // The server's word wins; a little spread stops a team retrying in step.
                        delay = delay.max(ra + Duration::from_millis(rng.random_range(0..=1_000)));
                    }
                    st.retry_at = Some(now + delay);
                } else {
                    st.blocked = true;
                    st.retry_at = None;
                }
                st.periodic_at =
                    now + jittered(&mut rng, cfg.periodic * st.stretch, cfg.periodic_jitter);
                tracing::info!(kind = %f.kind, streak = st.streak, transient = f.transient, "sync failed");
                status.send_modify(|s| {
                    s.last_error = Some(f.message.clone());
                    s.last_error_kind = Some(f.kind.clone());
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
