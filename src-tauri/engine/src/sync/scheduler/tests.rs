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

fn transient(kind: ErrorKind, retry_after: Option<Duration>) -> Result<(), Failure> {
    Err(Failure {
        kind,
        message: format!("{kind} failure"),
        transient: true,
        retry_after,
    })
}

fn auth() -> Result<(), Failure> {
    Err(Failure {
        kind: ErrorKind::Auth,
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

/// Lets `d` of simulated time pass in one go: the paused clock jumps from timer to timer.
async fn pass_long(d: Duration) {
    tokio::time::sleep(d).await;
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
    let probe = Probe::new(
        (0..12)
            .map(|_| transient(ErrorKind::Offline, None))
            .collect(),
    );
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
async fn a_wait_an_error_asks_for_is_honoured() {
    // Not a 429: an admin has to act (the record is in the trash): the slow retry it asks for.
    let probe = Probe::new(vec![transient(
        ErrorKind::RecordTrashed,
        Some(Duration::from_secs(45)),
    )]);
    let (_h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(5));
    pass(Duration::from_secs(120)).await;
    let starts = probe.starts();
    assert!(starts.len() >= 2);
    assert!(starts[1] >= Duration::from_secs(45), "{starts:?}");
    assert!(starts[1] <= Duration::from_secs(47), "{starts:?}");
}

/// When 40 reps meet a 429 (Retry-After 45 s) in the same instant, when does each retry?
/// `with_change`: the sync carried a local change (a push); otherwise it was the sync at start.
async fn retries_of_forty_reps(with_change: bool) -> Vec<Duration> {
    let probes: Vec<Probe> = (0..40)
        .map(|_| {
            Probe::new(vec![transient(
                ErrorKind::RateLimited,
                Some(Duration::from_secs(45)),
            )])
        })
        .collect();
    let cfg = SchedulerConfig {
        sync_on_start: !with_change,
        ..SchedulerConfig::default()
    };
    let handles: Vec<_> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| spawn(p.clone(), cfg, Some(100 + i as u64)))
        .collect();
    if with_change {
        for (h, _) in &handles {
            h.trigger(Trigger::LocalChange);
        }
    }
    pass_long(Duration::from_secs(40 * 60)).await;
    probes.iter().map(|p| p.starts()[1]).collect()
}

fn assert_spread(retries: &[Duration], spread: Duration) {
    let floor = Duration::from_secs(45);
    for r in retries {
        assert!(
            *r >= floor && *r <= floor + spread + Duration::from_millis(100),
            "{retries:?}"
        );
    }
    let first = retries.iter().min().copied().unwrap_or_default();
    let last = retries.iter().max().copied().unwrap_or_default();
    assert!(first < floor + spread / 4, "{retries:?}");
    assert!(
        last > floor + spread * 3 / 4,
        "spread over the window: {retries:?}"
    );
    let soon = retries.iter().filter(|r| **r < floor + spread / 10).count();
    assert!(soon <= 12, "no herd at the server's instant: {retries:?}");
}

/// After a 429 each rep retries at the server's Retry-After plus a uniform spread: 10 minutes if
/// the sync carried new XP, 30 if it had nothing new to push. A team told "45 s" does not come
/// back together at 45 s.
#[tokio::test(start_paused = true)]
async fn a_429_retries_after_the_servers_wait_plus_a_spread() {
    assert_spread(
        &retries_of_forty_reps(true).await,
        Duration::from_secs(10 * 60),
    );
    assert_spread(
        &retries_of_forty_reps(false).await,
        Duration::from_secs(30 * 60),
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_that_names_no_wait_still_spreads_its_retry() {
    let probe = Probe::new(vec![transient(ErrorKind::RateLimited, None)]);
    let (h, _j) = spawn(probe.clone(), quiet(), Some(11));
    h.trigger(Trigger::LocalChange);
    pass(Duration::from_secs(3)).await;
    assert_eq!(probe.count(), 1);
    assert_eq!(h.status().phase, Phase::Backoff);
    let planned = Duration::from_millis(h.status().next_sync_in_ms.expect("planned"));
    assert!(planned <= Duration::from_secs(600), "{planned:?}");
    pass(Duration::from_secs(601)).await;
    assert_eq!(probe.count(), 2);
}

/// 429 after 429, the spread doubles: 10, 20, then at most 40 minutes.
#[tokio::test(start_paused = true)]
async fn consecutive_429s_double_the_spread_up_to_forty_minutes() {
    let probes: Vec<Probe> = (0..20)
        .map(|_| {
            Probe::new(
                (0..5)
                    .map(|_| transient(ErrorKind::RateLimited, None))
                    .collect(),
            )
        })
        .collect();
    let handles: Vec<_> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| spawn(p.clone(), quiet(), Some(200 + i as u64)))
        .collect();
    for (h, _) in &handles {
        h.trigger(Trigger::LocalChange);
    }
    pass_long(Duration::from_secs(4 * 3_600)).await;
    let mut longest = [Duration::ZERO; 5];
    for (p, (h, _)) in probes.iter().zip(&handles) {
        let starts = p.starts();
        assert!(starts.len() >= 6, "{starts:?}");
        assert_eq!(h.status().failure_streak, 0);
        for (i, g) in starts.windows(2).map(|w| w[1] - w[0]).take(5).enumerate() {
            let ceiling = Duration::from_secs(600 << i.min(2));
            assert!(
                g <= ceiling + Duration::from_millis(100),
                "retry {i}: {starts:?}"
            );
            longest[i] = longest[i].max(g);
        }
    }
    // Across 20 reps, each retry's spread is used up to near its ceiling.
    for (i, l) in longest.iter().enumerate() {
        let ceiling = Duration::from_secs(600 << i.min(2));
        assert!(*l > ceiling * 3 / 4, "retry {i}: longest {l:?}");
    }
}

/// The network coming back does not refill Twenty's budget: a 429's wait stands, as does any
/// wait the server asked for; a new local change does not cut it either.
#[tokio::test(start_paused = true)]
async fn network_up_and_local_changes_do_not_cut_a_rate_limit_wait() {
    let probe = Probe::new(vec![
        transient(ErrorKind::RateLimited, Some(Duration::from_secs(30))),
        transient(ErrorKind::RateLimited, None),
        transient(ErrorKind::Permission, Some(Duration::from_secs(300))),
    ]);
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(12));
    for n in 1..=3 {
        // Until the n-th sync has failed and its wait is planned.
        while probe.count() < n || h.status().phase != Phase::Backoff {
            pass(Duration::from_millis(10)).await;
        }
        let planned =
            Instant::now() + Duration::from_millis(h.status().next_sync_in_ms.expect("planned"));
        pass(Duration::from_millis(10)).await;
        h.trigger(Trigger::NetworkUp);
        h.trigger(Trigger::LocalChange);
        while probe.count() == n {
            pass(Duration::from_millis(10)).await;
        }
        let started = *probe.starts.lock().expect("lock").last().expect("a sync");
        assert!(
            started + Duration::from_millis(20) >= planned,
            "wait {n} was cut short by {:?}",
            planned - started
        );
    }
    pass(Duration::from_secs(60)).await;
    assert_eq!(h.status().failure_streak, 0, "the fourth sync succeeded");
}

#[tokio::test(start_paused = true)]
async fn network_up_cuts_an_offline_wait_even_while_stretched() {
    let probe = Probe::new(vec![
        transient(ErrorKind::RateLimited, None),
        transient(ErrorKind::Offline, None),
        transient(ErrorKind::Offline, None),
        transient(ErrorKind::Offline, None),
    ]);
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(13));
    while probe.count() < 4 || h.status().phase != Phase::Backoff {
        pass(Duration::from_secs(1)).await;
    }
    h.trigger(Trigger::NetworkUp);
    pass(Duration::from_millis(100)).await;
    assert_eq!(probe.count(), 5);
}

#[tokio::test(start_paused = true)]
async fn sync_now_may_skip_a_rate_limit_wait() {
    let probe = Probe::new(vec![transient(
        ErrorKind::RateLimited,
        Some(Duration::from_secs(60)),
    )]);
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(14));
    pass(Duration::from_secs(1)).await;
    assert_eq!(h.status().phase, Phase::Backoff);
    h.trigger(Trigger::SyncNow);
    pass(Duration::from_millis(100)).await;
    assert_eq!(probe.count(), 2, "the rep's click is one sync, now");
}

/// A rep alone on a workspace meets one 429 on a push (another integration spent the budget):
/// the retry comes within 10 minutes; then changes go out at a pace of 10 minutes, 5, 2.5, and
/// after nine calm syncs on every change again; the periodic interval returns to 5 minutes.
#[tokio::test(start_paused = true)]
async fn a_lone_rep_after_one_429_is_back_to_normal_within_the_hour() {
    let probe = Probe::new(vec![transient(
        ErrorKind::RateLimited,
        Some(Duration::from_secs(1)),
    )]);
    let (h, _j) = spawn(probe.clone(), quiet(), Some(15));
    h.trigger(Trigger::LocalChange);
    pass(Duration::from_secs(3)).await;
    assert_eq!(probe.count(), 1);
    let planned = Duration::from_millis(h.status().next_sync_in_ms.expect("planned"));
    assert!(
        planned <= Duration::from_secs(601),
        "first retry within 10 minutes: {planned:?}"
    );
    pass(planned + Duration::from_millis(200)).await;
    assert_eq!(probe.count(), 2, "retried");
    // A change every minute: pushed no more often than the pace.
    let mut pushes = vec![Duration::ZERO];
    let t0 = Instant::now();
    for _ in 0..70 {
        h.trigger(Trigger::LocalChange);
        let before = probe.count();
        pass(Duration::from_secs(60)).await;
        if probe.count() > before {
            pushes.push(t0.elapsed());
        }
    }
    let gaps: Vec<u64> = pushes
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64().round() as u64 / 60)
        .collect();
    // Whole minutes between pushes (the changes come once a minute): three at the pace of 10
    // minutes (the retry was the first calm sync), three of 5, three of 2.5, then every change.
    assert_eq!(&gaps[..5], &[10, 10, 5, 5, 5], "{gaps:?}");
    assert!(gaps[5..8].iter().all(|g| (2..=3).contains(g)), "{gaps:?}");
    assert!(
        gaps[8..].iter().all(|g| *g == 1),
        "back to every change: {gaps:?}"
    );
    assert!(gaps.len() > 20, "{gaps:?}");
    // Quiet again: the periodic interval is back to 5 minutes.
    let n = probe.count();
    pass(Duration::from_secs(331)).await;
    assert_eq!(probe.count(), n + 1);
}

/// Rate limiting is about the whole team: a 429 stretches the periodic interval eight times;
/// the stretch halves after every three calm syncs.
#[tokio::test(start_paused = true)]
async fn a_429_stretches_the_periodic_interval_and_calm_syncs_shrink_it() {
    let probe = Probe::new(
        (0..4)
            .map(|_| transient(ErrorKind::RateLimited, None))
            .collect(),
    );
    let (h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(16));
    // Four 429s on syncs with nothing to push: retries spread over 30, then 40 minutes.
    pass_long(Duration::from_secs(3 * 3_600)).await;
    let starts = probe.starts();
    assert!(starts.len() >= 5, "{starts:?}");
    assert_eq!(h.status().phase, Phase::Idle);
    for (i, g) in starts.windows(2).map(|w| w[1] - w[0]).take(4).enumerate() {
        let ceiling = Duration::from_secs(if i == 0 { 1_800 } else { 2_400 });
        assert!(
            g <= ceiling + Duration::from_millis(100),
            "retry {i}: {g:?}"
        );
    }
    // After the success that ended the episode: periodic syncs every 40 min ± 10%, then 20, 10
    // and 5, three of each (the first success counts).
    pass_long(Duration::from_secs(5 * 3_600)).await;
    let gaps: Vec<Duration> = probe
        .starts()
        .windows(2)
        .map(|w| w[1] - w[0])
        .skip(4)
        .collect();
    let expected = [40, 40, 20, 20, 20, 10, 10, 10, 5, 5];
    assert!(gaps.len() >= expected.len(), "{gaps:?}");
    for (g, m) in gaps.iter().zip(expected) {
        let p = Duration::from_secs(m * 60);
        assert!(
            *g >= p.mul_f64(0.9) - Duration::from_secs(1)
                && *g <= p.mul_f64(1.1) + Duration::from_secs(1),
            "expected about {m} min: {gaps:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn while_stretched_an_outage_backs_off_up_to_the_stretched_interval() {
    let mut outcomes = vec![transient(ErrorKind::RateLimited, None)];
    outcomes.extend((0..12).map(|_| transient(ErrorKind::Offline, None)));
    let probe = Probe::new(outcomes);
    let (_h, _j) = spawn(probe.clone(), SchedulerConfig::default(), Some(17));
    pass_long(Duration::from_secs(10 * 3_600)).await;
    let starts = probe.starts();
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 13, "{gaps:?}");
    // Offline retries grow 4x from 2 s × 8 up to 40 minutes (5 × 8), not 2x up to 5. The 429
    // counts in the streak: the n-th failure's ceiling is 16 s × 4^(n-1).
    for (i, g) in gaps.iter().enumerate().take(13).skip(1) {
        let ceiling = Duration::from_secs(16u64 << (2 * i.min(10))).min(Duration::from_secs(2_400));
        assert!(
            *g <= ceiling + Duration::from_millis(100),
            "retry {i}: {g:?} > {ceiling:?}"
        );
    }
    assert!(
        gaps.iter()
            .skip(5)
            .take(8)
            .any(|g| *g > Duration::from_secs(1_200)),
        "beyond the unstretched cap: {gaps:?}"
    );
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
    let probe = Probe::new(
        (0..100)
            .map(|_| transient(ErrorKind::Offline, None))
            .collect(),
    );
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
