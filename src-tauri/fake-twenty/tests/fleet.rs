//! Fleet simulation: FLEET_REPS reps (default 100 in `make test`; `make test-fleet` runs 1,000),
//! each a real engine (own SQLite database, SyncService, scheduler) sharing ONE API key against one
//! fake Twenty limited to 100 requests per minute, through a 30-minute outage and the recovery.
//! It runs twice, once per 429 form Twenty has used: legacy (no Retry-After, the window in the
//! message) and modern (Retry-After seconds, X-RateLimit-*).
//!
//! Time is compressed: one simulated minute is `FLEET_MINUTE_MS` of real time (default 1 s).
//! Every interval of the scheduler (debounce 2 s, max wait 10 s, periodic 5 min, backoff base 2 s)
//! is scaled alike, and so is the server's idea of time, so that both 429 forms keep their real
//! meaning:
//! - the fake runs on a simulated clock ([`SimClock`]: real time since the start × 60 s /
//!   `FLEET_MINUTE_MS`) with Twenty's real window, 100 tokens per 60,000 ms. Its 429s are therefore
//!   the real ones, word for word: "Limit reached (100 tokens per 60000 ms)", or `Retry-After: 1`
//!   computed from the real refill rate (one token per 600 ms, rounded up to a second);
//! - each rep's engine reads them with its real code (`twenty/retry_after.rs`), and the only
//!   adapter, [`Compressed`], scales the resulting wait from simulated to real time, exactly as
//!   the scheduler's own intervals are scaled.
//!
//! The alternative, a fake on the wall clock with a window of one compressed minute, would send
//! `Retry-After: 1` meaning one *real* second, i.e. 20 to 60 simulated seconds: a server asking
//! for much longer waits than Twenty does, which would flatter the clients.
//!
//! Reps open their laptops over the first simulated minute (each engine starts there and syncs at
//! once, as the app does); a tenth of them earn XP every minute from minute 1 until the outage
//! ends (minutes 20-49: Twenty refuses connections); then the run measures convergence.
//!
//! Asserted: every rep exact (Twenty's total equals what it earned, one record each), the fleet
//! converges, accepted requests stay within the limit after recovery, and in EVERY minute after
//! the first, requests reaching Twenty (429s included) stay within twice the limit: no storm at
//! the morning start, none after the outage. The per-minute table is printed (`--nocapture`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_twenty::{Clock, FakeConfig, FakeTwenty, Fault, FaultKind, RateLimitStyle};
use repxp_engine::settings::Setting;
use repxp_engine::sync::scheduler::{
    spawn, Failure, SchedulerConfig, SchedulerHandle, SyncTask, Trigger,
};
use repxp_engine::sync::service::SyncService;
use repxp_engine::{Progress, Store};

const LIMIT_PER_MINUTE: u32 = 100;
/// Requests reaching Twenty (accepted or 429) allowed in any minute after the first.
const ATTEMPTS_BOUND: u64 = 2 * LIMIT_PER_MINUTE as u64;

/// Real time per simulated minute: `FLEET_MINUTE_MS`, default 1 s (60x). A large fleet on two
/// cores needs more (make test-fleet uses 3 s) so the machine keeps pace with simulated time.
fn minute_len() -> Duration {
    let ms = std::env::var("FLEET_MINUTE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    Duration::from_millis(ms)
}

fn reps_n() -> usize {
    std::env::var("FLEET_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// Real time for `d_secs` simulated seconds.
fn sim(d_secs: f64) -> Duration {
    minute_len().mul_f64(d_secs / 60.0)
}

/// The fake's clock: simulated milliseconds, running 60 s / `FLEET_MINUTE_MS` times faster than
/// the wall clock, from today's date (so record stamps look like dates).
struct SimClock {
    start: Instant,
    base_ms: u64,
    speed: f64,
}

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.base_ms + (self.start.elapsed().as_secs_f64() * 1000.0 * self.speed) as u64
    }
}

/// The engine's own `SyncService`, with the wait a failure asks for (Retry-After, a legacy 429's
/// window, an admin wait) scaled from simulated to real time like every scheduler interval.
struct Compressed {
    service: SyncService,
    /// Real seconds per simulated second.
    scale: f64,
    /// Until this laptop's first sync ran: where to count its requests.
    first: Option<FirstSyncs>,
}

/// The requests of each laptop's first sync, by the simulated minute it ended in: the morning
/// wave, which spills past minute 0 whenever the engines start late on a shared machine. The
/// storm bound applies to what the fleet sends beyond them (retries and later syncs).
#[derive(Clone)]
struct FirstSyncs {
    start: Instant,
    minute: Duration,
    by_minute: Arc<std::sync::Mutex<Vec<u64>>>,
}

impl FirstSyncs {
    fn add(&self, requests: u64) {
        let m = (self.start.elapsed().as_secs_f64() / self.minute.as_secs_f64()) as usize;
        let mut v = self.by_minute.lock().expect("first-sync counts");
        if v.len() <= m {
            v.resize(m + 1, 0);
        }
        v[m] += requests;
    }

    fn in_minute(&self, m: u32) -> u64 {
        let v = self.by_minute.lock().expect("first-sync counts");
        v.get(m as usize).copied().unwrap_or(0)
    }
}

impl SyncTask for Compressed {
    async fn sync(&mut self) -> Result<(), Failure> {
        let scale = self.scale;
        let before = self.service.requests_sent();
        let out = SyncTask::sync(&mut self.service).await.map_err(|mut f| {
            f.retry_after = f.retry_after.map(|d| d.mul_f64(scale));
            f
        });
        if let Some(first) = self.first.take() {
            first.add(self.service.requests_sent().saturating_sub(before));
        }
        out
    }
}

/// The fake Twenty on its own thread and runtime, so a busy fleet cannot slow the server's clock
/// or hide its answers behind the clients' work.
fn fake_on_its_own_thread(cfg: FakeConfig) -> FakeTwenty {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let _ = tx.send(FakeTwenty::start(cfg).await.expect("fake"));
            std::future::pending::<()>().await
        });
    });
    rx.recv().expect("fake started")
}

struct Rep {
    /// The rep's own connection for awards and checks (each sync opens its own, like the CLI).
    store: Store,
    dir: tempfile::TempDir,
    email: String,
    awarded: i64,
    handle: Option<SchedulerHandle>,
}

fn award(rep: &mut Rep, xp: i64) {
    rep.store
        .record(
            &Progress::xp(xp, Some("dialer")).expect("valid"),
            None,
            None,
        )
        .expect("record");
    rep.awarded += xp;
    if let Some(h) = &rep.handle {
        h.trigger(Trigger::LocalChange);
    }
}

fn pending(rep: &Rep) -> u64 {
    rep.store.progression().expect("view").pending
}

#[derive(Default, Clone, Copy)]
struct Sample {
    total: u64,
    rate_limited: u64,
    refused: u64,
}

fn sample(f: &FakeTwenty) -> Sample {
    let s = f.stats();
    Sample {
        total: s.total,
        rate_limited: s.rate_limited,
        refused: s.connections_refused,
    }
}

/// Two cores cannot keep pace with two large fleets at once: big runs take turns.
static BIG_FLEET: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fleet_with_legacy_429s_stays_under_twice_the_limit_and_converges_exactly() {
    fleet(RateLimitStyle::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fleet_with_modern_429s_stays_under_twice_the_limit_and_converges_exactly() {
    fleet(RateLimitStyle::Modern).await;
}

async fn fleet(style: RateLimitStyle) {
    let reps_n = reps_n();
    let _turn = if reps_n > 200 {
        Some(BIG_FLEET.lock().await)
    } else {
        None
    };
    let minute_real = minute_len();
    let speed = 60_000.0 / minute_real.as_millis().max(1) as f64;
    let base_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let clock = Arc::new(SimClock {
        start: Instant::now(),
        base_ms,
        speed,
    });
    let f = fake_on_its_own_thread(FakeConfig {
        rate_limit: LIMIT_PER_MINUTE,
        rate_window_ms: 60_000,
        rate_limit_style: style,
        clock,
        ..FakeConfig::default()
    });
    // One key for the whole team. Both tests of this binary use the fake's default key, so they
    // set the same value.
    std::env::set_var("REPXP_TWENTY_API_KEY", f.api_key());
    let cfg = SchedulerConfig {
        debounce: sim(2.0),
        max_wait: sim(10.0),
        periodic: sim(300.0),
        periodic_jitter: 0.1,
        backoff_base: sim(2.0),
        // As the app: sync as soon as the laptop opens.
        sync_on_start: true,
    };
    let mut reps = Vec::with_capacity(reps_n);
    for i in 0..reps_n {
        let dir = tempfile::tempdir().expect("tempdir");
        let email = format!("rep{i}@acme.test");
        let mut store = Store::open_dir(dir.path()).expect("store");
        store
            .set_setting(Setting::TwentyUrl, Some(&f.url()))
            .expect("url");
        store
            .set_setting(Setting::RepEmail, Some(&email))
            .expect("email");
        reps.push(Rep {
            store,
            dir,
            email,
            awarded: 0,
            handle: None,
        });
    }
    let start = Instant::now();
    let first_syncs = FirstSyncs {
        start,
        minute: minute_real,
        by_minute: Arc::default(),
    };
    // Laptops open over the first simulated minute.
    for (i, rep) in reps.iter_mut().enumerate() {
        tokio::time::sleep_until((start + minute_real.mul_f64(i as f64 / reps_n as f64)).into())
            .await;
        let task = Compressed {
            service: SyncService::new(rep.dir.path().to_path_buf()),
            scale: 1.0 / speed,
            first: Some(first_syncs.clone()),
        };
        let (handle, _join) = spawn(task, cfg, Some(i as u64));
        rep.handle = Some(handle);
    }
    let mut minutes: Vec<(u32, Sample, &'static str)> = Vec::new();
    let mut last = Sample::default();
    let mut phase = "morning";
    let outage_from = 20;
    let outage_to = outage_from + 30;
    let mut converged_at: Option<u32> = None;
    let mut minute = 0u32;
    let mut rng_state = 0x9e37_79b9_u64;
    let mut rnd = move |n: u64| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state % n
    };
    let mut behind = Duration::ZERO;
    while minute < 240 {
        // (Minute 0 ends with the last laptop opening: no lag to report there.)
        let lag = start.elapsed().saturating_sub(minute_real * minute.max(1));
        if lag > minute_real / 2 {
            println!("note: the machine is {lag:?} behind simulated minute {minute}");
        }
        behind = behind.max(lag);
        // From minute 1 until the outage ends, a tenth of the reps earn XP each minute (they keep
        // working through the outage); then convergence is measured on what was earned.
        let earners = if (1..outage_to).contains(&minute) {
            (reps_n / 10).max(1)
        } else {
            0
        };
        for _ in 0..earners {
            let i = rnd(reps_n as u64) as usize;
            let xp = 1 + rnd(200) as i64;
            award(&mut reps[i], xp);
        }
        if minute == outage_from {
            f.set_fault(Fault::always(FaultKind::RefuseConnections));
            phase = "outage";
        }
        if minute == outage_to {
            // Twenty comes back. The laptops' own networks never went down, so no client gets a
            // "network up" signal: each finds out at its next jittered retry, as in real life.
            f.clear_faults();
            phase = "recovery";
        }
        tokio::time::sleep_until((start + minute_real * (minute + 1)).into()).await;
        let now = sample(&f);
        minutes.push((
            minute,
            Sample {
                total: now.total - last.total,
                rate_limited: now.rate_limited - last.rate_limited,
                refused: now.refused - last.refused,
            },
            phase,
        ));
        last = now;
        minute += 1;
        if minute > outage_to && reps.iter().all(|r| pending(r) == 0) {
            converged_at = Some(minute);
            break;
        }
    }
    for r in &reps {
        if let Some(h) = &r.handle {
            h.trigger(Trigger::Shutdown);
        }
    }

    println!("{style:?} 429s, {reps_n} reps:");
    println!(
        "| minute | phase | requests | of which first syncs | accepted | 429 | refused (outage) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (m, s, p) in &minutes {
        let accepted = s.total - s.rate_limited;
        println!(
            "| {m} | {p} | {} | {} | {accepted} | {} | {} |",
            s.total,
            first_syncs.in_minute(*m),
            s.rate_limited,
            s.refused
        );
    }
    let after: Vec<&Sample> = minutes
        .iter()
        .filter(|(m, _, _)| *m >= outage_to)
        .map(|(_, s, _)| s)
        .collect();
    let peak = |from: u32, to: u32| {
        minutes
            .iter()
            .filter(|(m, _, _)| (from..to).contains(m))
            .map(|(_, s, _)| s.total)
            .max()
            .unwrap_or(0)
    };
    let peak_morning = peak(1, outage_from);
    let peak_recovery = peak(outage_to, u32::MAX);
    let accepted_after: u64 = after.iter().map(|s| s.total - s.rate_limited).sum();
    let mean_accepted = accepted_after as f64 / after.len().max(1) as f64;
    let peak_accepted = minutes
        .iter()
        .map(|(_, s, _)| s.total - s.rate_limited)
        .max()
        .unwrap_or(0);
    let rejected: u64 = minutes.iter().map(|(_, s, _)| s.rate_limited).sum();
    let requests: u64 = minutes.iter().map(|(_, s, _)| s.total).sum();
    let conv = converged_at.map(|m| m - outage_to);
    println!(
        "fleet ({style:?} 429s): {reps_n} reps, one key, limit {LIMIT_PER_MINUTE}/min; \
         minute 0 {} requests; peak requests after minute 0: morning {peak_morning}/min, \
         recovery {peak_recovery}/min (bound {ATTEMPTS_BOUND}); peak accepted {peak_accepted}/min; \
         429s {rejected} of {requests} requests; after recovery: mean accepted {mean_accepted:.0}/min; \
         converged {} simulated minutes after the outage; machine at most {behind:?} behind",
        minutes.first().map_or(0, |(_, s, _)| s.total),
        conv.map(|c| c.to_string()).unwrap_or_else(|| "NOT".into())
    );

    // Every rep exact: Twenty holds what the rep earned, once.
    let records = f.records();
    let mut wrong = 0;
    for r in &reps {
        let recs: Vec<_> = records
            .iter()
            .filter(|x| x["repEmail"] == r.email.as_str())
            .collect();
        let remote = if r.awarded == 0 {
            0
        } else {
            recs.first()
                .and_then(|x| x["totalXp"].as_i64())
                .unwrap_or(-1)
        };
        if recs.len() > 1 || remote != r.awarded {
            wrong += 1;
        }
    }
    assert_eq!(
        wrong, 0,
        "reps whose Twenty total differs from what they earned"
    );
    assert!(converged_at.is_some(), "the fleet converged");
    // After recovery the fleet stays within the budget on average (a token bucket lets one
    // minute's burst through, hence the +1).
    assert!(
        accepted_after <= LIMIT_PER_MINUTE as u64 * (after.len() as u64 + 1),
        "{accepted_after} accepted"
    );
    // No storm: beyond every laptop's first sync (the morning wave, whatever minute a late
    // engine's lands in), requests reaching Twenty, 429s included, stay within twice the limit
    // in every minute after the first.
    let storms: Vec<(u32, u64, u64)> = minutes
        .iter()
        .map(|(m, s, _)| (*m, s.total, first_syncs.in_minute(*m)))
        .filter(|(m, total, first)| *m >= 1 && total.saturating_sub(*first) > ATTEMPTS_BOUND)
        .collect();
    assert!(
        storms.is_empty(),
        "{style:?}: minutes over {ATTEMPTS_BOUND} requests beyond first syncs \
         (minute, requests, of which first syncs): {storms:?}"
    );
}
