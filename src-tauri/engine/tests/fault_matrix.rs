//! The fault matrix (DESIGN.md §7): real `repxp-cli` processes against the fake Twenty, killed
//! with SIGKILL at every step of a sync and crossed with Twenty's failure modes, then recovered.
//! Invariant after recovery: Twenty's totalXp = every acknowledged award + the concurrent
//! writer's additions, bosses = the union, one record per rep, nothing left queued.
//!
//! `FAULT_CASES` (default 50 here; `make test-faults` runs 1,000) and `FAULT_SEED` (default random,
//! always printed) replay a run exactly. The last line reads
//! `fault matrix: N cases, K kills, V invariant violations, seed S`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use repxp_tests::{FakeConfig, FakeTwenty, Fault, FaultKind, RateLimitStyle};

const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");
const CRASHPOINTS: [&str; 4] = [
    "after_freeze",
    "before_send",
    "after_reply",
    "before_pull_save",
];

struct Env {
    url: String,
    email: String,
    key: String,
}

fn command(dir: &Path, env: &Env, key: &str, args: &[&str]) -> Command {
    let mut c = Command::new(CLI);
    c.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("REPXP_TWENTY_URL", &env.url)
        .env("REPXP_REP_EMAIL", &env.email)
        .env("REPXP_TWENTY_API_KEY", key)
        .env("REPXP_HTTP_TIMEOUT_MS", "400")
        .env_remove("REPXP_CRASHPOINT");
    c
}

fn run(dir: &Path, env: &Env, args: &[&str]) -> Output {
    command(dir, env, &env.key, args)
        .output()
        .expect("run repxp-cli")
}

/// Starts a sync that stops at `point`, then SIGKILLs it there. Returns whether the kill landed
/// at the point (a sync with nothing to push never reaches the push points).
fn sync_killed_at(dir: &Path, env: &Env, point: &str) -> bool {
    let mut child = command(dir, env, &env.key, &["sync"])
        .env("REPXP_CRASHPOINT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("repxp-crashpoint:") {
                let _ = tx.send(());
            }
        }
    });
    let reached = rx.recv_timeout(Duration::from_secs(10)).is_ok();
    let _ = child.kill(); // SIGKILL: no destructors, no WAL checkpoint, nothing flushed.
    let _ = child.wait();
    reached
}

/// A sync killed after a random few milliseconds, wherever it is.
fn sync_killed_after(dir: &Path, env: &Env, ms: u64) {
    let mut child = command(dir, env, &env.key, &["sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
}

fn status(dir: &Path, env: &Env) -> serde_json::Value {
    let out = run(dir, env, &["status", "--json"]);
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status json")
}

fn random_fault(rng: &mut StdRng) -> Fault {
    let kind = match rng.random_range(0..8) {
        0 => FaultKind::Hang,
        1 => FaultKind::ServerError {
            status: [500, 502, 503][rng.random_range(0..3)],
        },
        2 => FaultKind::RefuseConnections,
        3 => FaultKind::MalformedJson,
        4 => FaultKind::ApplyThenDrop,
        5 => FaultKind::Delay {
            ms: rng.random_range(10..600),
        },
        6 => FaultKind::AuthFailure,
        _ => FaultKind::ServerError { status: 500 },
    };
    let f = Fault::times(kind, rng.random_range(1..4));
    if rng.random_bool(0.3) {
        f.on_method(["GET", "PATCH", "POST"][rng.random_range(0..3)])
    } else {
        f
    }
}

#[derive(Default)]
struct Tally {
    kills: u64,
    by_point: std::collections::BTreeMap<&'static str, u64>,
    faults: u64,
    violations: Vec<String>,
}

async fn one_case(case: u64, rng: &mut StdRng, tally: &mut Tally) {
    let fake = FakeTwenty::start(FakeConfig {
        rate_limit: rng.random_range(4..60),
        rate_window_ms: 150,
        rate_limit_style: if rng.random_bool(0.5) {
            RateLimitStyle::Legacy
        } else {
            RateLimitStyle::Modern
        },
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let env = Env {
        url: fake.url(),
        email: format!("rep{case}@acme.test"),
        key: fake.api_key(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut acked: i64 = 0;
    let mut writer_xp: i64 = 0;
    let mut bosses = BTreeSet::new();
    let steps = rng.random_range(4..12);
    for _ in 0..steps {
        match rng.random_range(0..10) {
            0..=2 => {
                let xp = rng.random_range(1..500);
                let id = uuid::Uuid::new_v4().to_string();
                // Sometimes the caller retries the same award: it must count once.
                for _ in 0..rng.random_range(1..3) {
                    if run(d, &env, &["award", &xp.to_string(), "--id", &id])
                        .status
                        .success()
                    {
                        acked += xp;
                        break;
                    }
                }
            }
            3 => {
                let b = format!("boss-{}", rng.random_range(0..5));
                if run(d, &env, &["boss", &b]).status.success() {
                    bosses.insert(b);
                }
            }
            4 | 5 => {
                let point = CRASHPOINTS[rng.random_range(0..CRASHPOINTS.len())];
                if sync_killed_at(d, &env, point) {
                    tally.kills += 1;
                    *tally.by_point.entry(point).or_default() += 1;
                }
            }
            6 => {
                fake.set_fault(Fault::always(FaultKind::Delay { ms: 30 }));
                sync_killed_after(d, &env, rng.random_range(5..80));
                fake.clear_faults();
                tally.kills += 1;
                *tally.by_point.entry("random_time").or_default() += 1;
            }
            // The academy app writes to the record (once there is one).
            7 if fake
                .records()
                .iter()
                .any(|r| r["repEmail"] == env.email.as_str()) =>
            {
                let xp = rng.random_range(1..300);
                let boss = format!("academy-{}", rng.random_range(0..3));
                fake.set_fault(Fault::times(
                    FaultKind::ConcurrentWriter {
                        xp,
                        bump_revision: rng.random_bool(0.5),
                        add_boss: Some(boss.clone()),
                        rep_email: Some(env.email.clone()),
                    },
                    1,
                ));
                let out = run(d, &env, &["sync"]);
                check_no_panic(&out, tally, case);
                // It fires before the next write request; if no write happened, drop it.
                if fake.faults().is_empty() {
                    writer_xp += xp;
                    bosses.insert(boss);
                } else {
                    fake.clear_faults();
                }
            }
            8 => {
                // A bad key, then the right one.
                let out = command(d, &env, "wrong-key", &["sync"])
                    .output()
                    .expect("run");
                check_no_panic(&out, tally, case);
                tally.faults += 1;
            }
            _ => {
                fake.set_fault(random_fault(rng));
                let out = run(d, &env, &["sync"]);
                check_no_panic(&out, tally, case);
                fake.clear_faults();
                tally.faults += 1;
            }
        }
    }
    // Recovery: faults gone, the right key; sync until in sync (429s wait out their window).
    fake.clear_faults();
    let mut synced = false;
    for _ in 0..40 {
        let out = run(d, &env, &["sync"]);
        check_no_panic(&out, tally, case);
        if out.status.success() && status(d, &env)["pending"] == 0 {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(160)).await;
    }
    let mut bad = |what: String| tally.violations.push(format!("case {case}: {what}"));
    if !synced {
        bad(format!("did not converge: {}", status(d, &env)));
        return;
    }
    let recs: Vec<_> = fake
        .records()
        .into_iter()
        .filter(|r| r["repEmail"] == env.email.as_str())
        .collect();
    let local = status(d, &env);
    if acked == 0 && bosses.is_empty() && recs.is_empty() {
        return;
    }
    if recs.len() != 1 {
        bad(format!("{} records for one rep", recs.len()));
        return;
    }
    let remote = recs[0]["totalXp"].as_i64().unwrap_or(-1);
    if remote != acked + writer_xp {
        bad(format!(
            "remote totalXp {remote} != acked {acked} + writer {writer_xp}"
        ));
    }
    if local["xp"].as_i64() != Some(remote) {
        bad(format!("local xp {} != remote {remote}", local["xp"]));
    }
    let remote_bosses: BTreeSet<String> = recs[0]["defeatedBosses"]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    if remote_bosses != bosses {
        bad(format!("bosses {remote_bosses:?} != {bosses:?}"));
    }
}

fn check_no_panic(out: &Output, tally: &mut Tally, case: u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("panicked") {
        tally.violations.push(format!("case {case}: panic: {err}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    let cases: u64 = std::env::var("FAULT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("fault matrix: seed {seed} (replay with FAULT_SEED={seed} FAULT_CASES={cases})");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    for case in 0..cases {
        let mut case_rng = StdRng::seed_from_u64(rng.random());
        one_case(case, &mut case_rng, &mut tally).await;
    }
    for v in &tally.violations {
        println!("VIOLATION {v}");
    }
    println!(
        "kills by point: {:?}; faults injected: {}",
        tally.by_point, tally.faults
    );
    println!(
        "fault matrix: {cases} cases, {} kills, {} invariant violations, seed {seed}",
        tally.kills,
        tally.violations.len()
    );
    assert!(
        tally.violations.is_empty(),
        "{} violations; replay with FAULT_SEED={seed}",
        tally.violations.len()
    );
}
