//! Scheduler behaviour on tokio's paused clock: simulated minutes pass in microseconds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{advance, Instant};

use super::*;

/// Records when each sync started; answers from a script of outcomes (then Ok).
#[derive(Clone)]
struct Probe {
    starts: Arc<Mutex<Vec<Instant>>>,
    outcomes: Arc<Mutex<VecDeque<Result<(), Failure>>>>,
    takes: Duration,
}

impl Probe {
    fn new(outcomes: Vec<Result<(), Failure>>) -> Probe {
        Probe {
            starts: Arc::default(),
            outcomes: Arc::new(Mutex::new(outcomes.into())),
            takes: Duration::from_millis(50),
        }
    }

    fn starts(&self) -> Vec<Duration> {
        let s = self.starts.lock().expect("lock");
        s.iter().map(|t| t.duration_since(s[0])).collect()
    }

    fn count(&self) -> usize {
        self.starts.lock().expect("lock").len()
    }
}

impl SyncTask for Probe {
    fn sync(&mut self) -> impl Future<Output = Result<(), Failure>> + Send {
        self.starts.lock().expect("lock").push(Instant::now());
        let outcome = self
            .outcomes
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(Ok(()));
        let takes = self.takes;
        async move {
            tokio::time::sleep(takes).await;
            outcome
        }
    }
}

fn transient(kind: &str, retry_after: Option<Duration>) -> Result<(), Failure> {
    Err(Failure {
        kind: kind.into(),
        message: format!("{kind} failure"),
        transient: true,
        retry_after,
    })
}

fn auth() -> Result<(), Failure> {
    Err(Failure {
        kind: "auth".into(),
        message: "bad key".into(),
        transient: false,
        retry_after: None,
    })
}

fn quiet() -> SchedulerConfig {
    SchedulerConfig {
        sync_on_start: false,
        ..SchedulerConfig::default()
    }
}

/// Lets the scheduler task run until it waits again, `d` of simulated time later.
async fn pass(d: Duration) {
    let step = Duration::from_millis(10);
    let mut left = d;
    while left > Duration::ZERO {
        let s = step.min(left);
        advance(s).await;
        tokio::task::yield_now().await;
        left -= s;
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_changes_syncs_once_two_seconds_after_the_last() {
    let probe = Probe::new(vec![]);
    let (h, _j) = spawn(probe.clone(), quiet(), Some(1));
    for _ in 0..5 {
        h.trigger(Trigger::LocalChange);
        pass(Duration::from_millis(500)).await;
    }
    assert_eq!(probe.count(), 0, "still inside the debounce");
    pass(Duration::from_millis(1_600)).await;
    assert_eq!(probe.count(), 1);
    pass(Duration::from_secs(60)).await;
    assert_eq!(probe.count(), 1, "no extra sync without a change");
}

#[tokio::test(start_paused = true)]
async fn a_steady_stream_of_changes_still_syncs_within_the_max_wait() {
    let probe = Probe::new(vec![]);
    let (h, _j) = spawn(probe.clone(), quiet(), Some(2));
    for _ in 0..30 {
        h.trigger(Trigger::LocalChange);
        pass(Duration::from_secs(1)).await;
    }
    let starts = probe.starts();
    assert!(starts.len() >= 2, "{starts:?}");
    // A change waits at most max_wait (10 s) plus the 1 s until the next change arrives.
    for w in starts.windows(2) {
        assert!(w[1] - w[0] <= Duration::from_millis(11_200), "{starts:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn periodic_sync_every_five_minutes_with_jitter() {
    let probe = Probe::new(vec![]);
    let (_h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(3));
    pass(Duration::from_secs(31 * 60)).await;
    let starts = probe.starts();
    assert!((6..=8).contains(&starts.len()), "{starts:?}");
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    for g in &gaps {
        assert!(
            *g >= Duration::from_secs(269) && *g <= Duration::from_secs(331),
            "{gaps:?}"
        );
    }
    assert!(
        gaps.iter().any(|g| *g != gaps[0]),
        "jitter varies the intervals: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_exponentially_capped_at_the_periodic_interval() {
    let probe = Probe::new((0..12).map(|_| transient("offline", None)).collect());
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(4));
    pass(Duration::from_secs(60 * 60)).await;
    let starts = probe.starts();
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 12, "kept retrying: {gaps:?}");
    for (i, g) in gaps.iter().take(12).enumerate() {
        let ceiling = Duration::from_secs(2u64 << i).min(Duration::from_secs(300));
        assert!(
            *g <= ceiling + Duration::from_millis(100),
            "retry {i}: {g:?} > {ceiling:?}"
        );
    }
    assert_eq!(
        h.status().failure_streak,
        0,
        "recovered after the failures ran out"
    );
    assert_eq!(h.status().phase, Phase::Idle);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let probe = Probe::new(vec![transient(
        "rate_limited",
        Some(Duration::from_secs(45)),
    )]);
    let (_h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(5));
    pass(Duration::from_secs(120)).await;
    let starts = probe.starts();
    assert!(starts.len() >= 2);
    assert!(starts[1] >= Duration::from_secs(45), "{starts:?}");
    assert!(starts[1] <= Duration::from_secs(47), "{starts:?}");
}

#[tokio::test(start_paused = true)]
async fn auth_failure_stops_retries_until_credentials_change() {
    let probe = Probe::new(vec![auth()]);
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(6));
    pass(Duration::from_secs(3_600)).await;
    assert_eq!(probe.count(), 1, "no retry storm on a bad key");
    assert_eq!(h.status().phase, Phase::Blocked);
    h.trigger(Trigger::LocalChange);
    pass(Duration::from_secs(30)).await;
    assert_eq!(
        probe.count(),
        1,
        "local changes queue up but do not hammer Twenty"
    );
    h.trigger(Trigger::CredentialsChanged);
    pass(Duration::from_millis(200)).await;
    assert_eq!(probe.count(), 2);
    assert_eq!(h.status().phase, Phase::Idle);
}

#[tokio::test(start_paused = true)]
async fn changes_during_a_sync_collapse_into_one_follow_up() {
    let mut probe = Probe::new(vec![]);
    probe.takes = Duration::from_secs(5);
    let (h, _j) = spawn(probe.clone(), quiet(), Some(7));
    h.trigger(Trigger::SyncNow);
    pass(Duration::from_millis(100)).await;
    assert_eq!(probe.count(), 1);
    for _ in 0..10 {
        h.trigger(Trigger::LocalChange);
        h.trigger(Trigger::SyncNow);
    }
    pass(Duration::from_secs(30)).await;
    assert_eq!(probe.count(), 2, "one sync at a time, one follow-up");
}

#[tokio::test(start_paused = true)]
async fn network_back_and_sync_now_skip_the_backoff() {
    let probe = Probe::new((0..100).map(|_| transient("offline", None)).collect());
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(8));
    // Fail until the backoff is long.
    pass(Duration::from_secs(40)).await;
    let before = probe.count();
    assert!(before >= 3, "{before}");
    assert_eq!(h.status().phase, Phase::Backoff);
    h.trigger(Trigger::NetworkUp);
    pass(Duration::from_millis(100)).await;
    assert_eq!(probe.count(), before + 1);
    h.trigger(Trigger::SyncNow);
    pass(Duration::from_millis(100)).await;
    assert_eq!(
        probe.count(),
        before + 2,
        "{:?} {:?}",
        probe.starts(),
        h.status()
    );
}

#[tokio::test(start_paused = true)]
async fn paused_means_no_automatic_sync() {
    let probe = Probe::new(vec![]);
    let (h, _j) = spawn(probe.clone(), quiet(), Some(9));
    h.trigger(Trigger::SetPaused(true));
    h.trigger(Trigger::LocalChange);
    pass(Duration::from_secs(20 * 60)).await;
    assert_eq!(probe.count(), 0);
    assert_eq!(h.status().phase, Phase::Paused);
    h.trigger(Trigger::SetPaused(false));
    pass(Duration::from_secs(3)).await;
    assert_eq!(probe.count(), 1, "the queued change goes out on resume");
}
