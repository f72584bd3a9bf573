//! The fault matrix (DESIGN.md §7): real `repxp-cli` processes against the fake Twenty, killed
//! with SIGKILL at every step of a sync and crossed with Twenty's failure modes and with the
//! other writers and laptop mishaps of other_writers.rs, then recovered.
//!
//! Each case is a random run of steps on one or two laptops (a laptop is a data directory plus
//! its own per-user state directory, `REPXP_STATE_DIR`). The steps of the first matrix keep
//! about three quarters of the draws:
//! - award XP (sometimes retried with the same id), record a boss;
//! - a sync killed at a crashpoint, or after a random few milliseconds;
//! - a sync against one of Twenty's faults, or with a wrong API key;
//! - the academy's concurrent writer (adds XP and a boss before the next write of a sync).
//!
//! The others:
//! - the academy's list-only write: an exam and a boss written straight into a record between
//!   syncs (`patch_record`), or by a one-shot `OtherWriter` fault just before the next write of
//!   a sync;
//! - an admin adding XP to a record's `totalXp` between syncs;
//! - a backup of a data directory (SQLite checkpointed first), and later a restore of it: the
//!   laptop first syncs until nothing is pending, may then award a little more (lost with the
//!   restore: it never reached Twenty), then gets the backup back in place (the bytes written
//!   over `repxp.db`, `-wal`/`-shm` removed) or as new files (directory removed, copied back);
//! - a copy of the first laptop's data directory to a second laptop (new data directory, new
//!   state directory), which then awards, syncs and is killed like the first;
//! - at case start the academy may have created the rep's record itself, often under another
//!   case of the email, with some XP; once per case the first laptop may move to a second email
//!   (whose record the academy may have created too) for the rest of the case, sometimes after a
//!   clean sync, sometimes straight after a kill or a fault, with awards still queued;
//! - another tool writing text RepXP cannot read into a record's `defeatedBosses`, or an admin
//!   fixing it (which rewrites the list); an admin moving a record to the trash, or restoring it.
//!
//! Events earned under the first email stay that email's (they go to its record, or wait for
//! the rep's `retry` if it has none). The rep retries only in recovery and only when no laptop
//! can still create that record: a `retry` re-sends the events under new ids, so two copies of
//! them (a copied data directory, or a restored backup) would each count once more. For the same
//! reason the copy and the restore steps are skipped while such events wait (counted as
//! `*_skipped_held_for_earlier_email`).
//!
//! Recovery, as the admin and the rep would do it: faults gone, the right key; every trashed
//! record restored and every unreadable `defeatedBosses` fixed; every laptop syncs until nothing
//! is pending or held (429s wait out their window), retrying events of an earlier email whose
//! record does not exist; then each pulls once more. Invariant after recovery, exact:
//! - the sum of `totalXp` over the live records of every email used = every acknowledged award,
//!   minus those a restore provably lost, + the concurrent writer's and the admin's XP + the XP
//!   of the records the academy created;
//! - one live record per email, none left in the trash, none for any other email;
//! - each laptop's `status --json` `xp` is the live record of the email it is on, with
//!   `pending == 0` and `held == 0`;
//! - bosses: the union over those records is exactly every boss recorded (or written by the
//!   academy) that survived. After a list was rewritten (an unreadable-field break, its fix, or
//!   the concurrent writer replacing unreadable text), it holds every boss written since the last
//!   rewrite and nothing that was never written;
//! - every exam the academy wrote is still on its record.
//!
//! `FAULT_CASES` (default 50 here; `make test-faults` runs 1,000) and `FAULT_SEED` (default random,
//! always printed) replay a run; `FAULT_ONLY=N` runs only case N of it. Timing still varies
//! (where a kill lands, 429 windows), so a replay takes the same steps but not always the same
//! path through them. A failing case prints its steps, then its laptops' logs and Twenty's records
//! (`EVIDENCE`). The last line reads `fault matrix: N cases, K kills, V invariant violations, seed S`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind, OtherWrite, RateLimitStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::laptops::{checkpoint, copy_dir};

const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");
const DB: &str = "repxp.db";
const CRASHPOINTS: [&str; 4] = [
    "after_read",
    "before_send",
    "after_reply",
    "before_pull_save",
];
/// What another tool writes into `defeatedBosses`: text RepXP cannot read.
const UNREADABLE_BOSSES: &str = "gatekeeper, dragon";
/// The list the admin's fix writes instead.
const FIXED_BOSSES: [&str; 2] = ["dragon", "gatekeeper"];

/// One laptop: a data directory and the per-user state directory beside it.
struct Laptop {
    name: &'static str,
    root: tempfile::TempDir,
    data: PathBuf,
    state: PathBuf,
    email: String,
    /// The last backup of `data` (checkpointed copy), if one was taken.
    backup: Option<PathBuf>,
}

impl Laptop {
    fn new(name: &'static str, email: &str) -> Laptop {
        let root = tempfile::tempdir().expect("tempdir");
        Laptop {
            name,
            data: root.path().join("data"),
            state: root.path().join("state"),
            email: email.to_string(),
            backup: None,
            root,
        }
    }
}

fn command(l: &Laptop, url: &str, key: &str, args: &[&str]) -> Command {
    let mut c = Command::new(CLI);
    c.arg("--data-dir")
        .arg(&l.data)
        .args(args)
        .env("REPXP_TWENTY_URL", url)
        .env("REPXP_REP_EMAIL", &l.email)
        .env("REPXP_TWENTY_API_KEY", key)
        .env("REPXP_STATE_DIR", &l.state)
        .env("REPXP_HTTP_TIMEOUT_MS", "400")
        .env_remove("REPXP_DATA_DIR")
        .env_remove("REPXP_CRASHPOINT");
    c
}

/// Wine's CreateProcess now and then fails under this load with ERROR_INTERNAL_ERROR (1359)
/// before the program starts (seen in `make test-windows`): nothing ran, so start it again.
const WINE_SPAWN_HICCUP: i32 = 1359;

/// Runs `start` (a spawn or a run) again while it fails that way.
fn started<T>(mut start: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut tries = 0;
    loop {
        match start() {
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(WINE_SPAWN_HICCUP) && tries < 5 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            r => return r,
        }
    }
}

/// Starts a sync that stops at `point`, then SIGKILLs it there. Returns whether the kill landed
/// at the point (a sync with nothing to push never reaches the push points).
fn sync_killed_at(mut cmd: Command, point: &str) -> bool {
    cmd.env("REPXP_CRASHPOINT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = started(|| cmd.spawn()).expect("spawn");
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
fn sync_killed_after(mut cmd: Command, ms: u64) {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = started(|| cmd.spawn()).expect("spawn");
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
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
    // Reads and writes are both POSTs to /graphql: a fault aims at every request or at the
    // record writes only (doctor's metadata reads are the only GETs).
    if rng.random_bool(0.3) {
        f.on_writes()
    } else {
        f
    }
}

/// The email as the academy may have typed it: mostly another case, sometimes the same text.
fn case_variant(email: &str, rng: &mut StdRng) -> String {
    match rng.random_range(0..4) {
        0 => email
            .split('@')
            .map(|part| {
                let mut c = part.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            })
            .collect::<Vec<String>>()
            .join("@"),
        1 => email.to_uppercase(),
        2 => email
            .chars()
            .enumerate()
            .map(|(i, ch)| {
                if i % 2 == 0 {
                    ch.to_ascii_uppercase()
                } else {
                    ch
                }
            })
            .collect(),
        _ => email.to_string(),
    }
}

fn answers_to(rec: &Value, email: &str) -> bool {
    rec["repEmail"]
        .as_str()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case(email))
}

fn is_trashed(rec: &Value) -> bool {
    rec.get("deletedAt").is_some_and(|v| !v.is_null())
}

fn id_of(rec: &Value) -> String {
    rec["id"].as_str().unwrap_or_default().to_string()
}

/// The record's `defeatedBosses`; `None` when RepXP cannot read it.
fn bosses_of(rec: &Value) -> Option<BTreeSet<String>> {
    match &rec["defeatedBosses"] {
        Value::Null => Some(BTreeSet::new()),
        Value::String(s) => serde_json::from_str::<Vec<String>>(s)
            .ok()
            .map(|v| v.into_iter().collect()),
        Value::Array(a) => a
            .iter()
            .map(|b| b.as_str().map(str::to_string))
            .collect::<Option<BTreeSet<String>>>(),
        _ => None,
    }
}

/// The record's `passedExams` object; `None` when it is not a JSON object.
fn exams_of(rec: &Value) -> Option<serde_json::Map<String, Value>> {
    match &rec["passedExams"] {
        Value::Null => Some(serde_json::Map::new()),
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Object(m) => Some(m.clone()),
        _ => None,
    }
}

#[derive(Default)]
struct Tally {
    kills: u64,
    by_point: BTreeMap<&'static str, u64>,
    /// Crashpoint kills whose sync ended without reaching the point.
    missed: BTreeMap<&'static str, u64>,
    faults: u64,
    /// Counts of the other-writer and laptop steps.
    steps: BTreeMap<&'static str, u64>,
    violations: Vec<String>,
    /// For each case with a violation: the laptops' logs and Twenty's records.
    details: Vec<String>,
}

impl Tally {
    fn step(&mut self, what: &'static str) {
        *self.steps.entry(what).or_default() += 1;
    }
}

/// Where the expected total comes from.
#[derive(Default, Debug)]
struct Books {
    /// Awards the CLI acknowledged (each once, however often it was retried).
    acked: i64,
    /// Of those, awarded after a clean sync and then rolled away by a restore.
    lost: i64,
    /// The concurrent writer's additions.
    writer: i64,
    /// An admin's direct additions to `totalXp`.
    admin: i64,
    /// `totalXp` of the records the academy created before RepXP wrote to them.
    seeded: i64,
}

impl Books {
    fn expected(&self) -> i64 {
        self.acked - self.lost + self.writer + self.admin + self.seeded
    }
}

/// Which bosses the records must (and may) hold. Exact until something rewrites a list.
#[derive(Default)]
struct Bosses {
    required: BTreeSet<String>,
    allowed: BTreeSet<String>,
    /// A list was erased or rewritten by another writer in this case.
    rewritten: bool,
}

impl Bosses {
    fn add(&mut self, b: &str) {
        self.required.insert(b.to_string());
        self.allowed.insert(b.to_string());
    }

    /// Another tool replaced a list with `list` (empty: with text that is no list at all).
    fn rewrite(&mut self, list: &[&str]) {
        self.required = list.iter().map(|b| b.to_string()).collect();
        self.allowed.extend(self.required.iter().cloned());
        self.rewritten = true;
    }
}

/// How [`Case::sync_clean`] ended.
#[derive(Debug, PartialEq, Eq)]
enum Clean {
    /// Nothing pending, no XP held back.
    Synced,
    /// Only events of an earlier email without a record are left: they wait for `retry`.
    WaitsForRetry,
    Failed,
}

struct Case {
    case: u64,
    fake: FakeTwenty,
    url: String,
    key: String,
    laptops: Vec<Laptop>,
    /// Every email a laptop worked for in this case.
    emails: Vec<String>,
    switched: bool,
    books: Books,
    bosses: Bosses,
    /// (email, exam id) the academy wrote.
    exams: BTreeSet<(String, String)>,
    log: Vec<String>,
    next_id: u64,
    /// When every request of an earlier sync has been applied or dropped.
    quiet_at: std::time::Instant,
}

impl Case {
    fn run_with_key(&self, li: usize, key: &str, args: &[&str]) -> Output {
        let mut c = command(&self.laptops[li], &self.url, key, args);
        started(|| c.output()).expect("run repxp-cli")
    }

    fn run(&self, li: usize, args: &[&str], tally: &mut Tally) -> Output {
        let out = self.run_with_key(li, &self.key, args);
        self.check_no_panic(&out, tally);
        out
    }

    fn check_no_panic(&self, out: &Output, tally: &mut Tally) {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("panicked") {
            self.bad(tally, format!("panic: {err}"));
        }
    }

    fn bad(&self, tally: &mut Tally, what: String) {
        tally.violations.push(format!(
            "case {}: {what}\n    steps: {}",
            self.case,
            self.log.join("; ")
        ));
    }

    fn note(&mut self, what: String) {
        self.log.push(what);
    }

    fn status(&self, li: usize, tally: &mut Tally) -> Value {
        let out = self.run(li, &["status", "--json"], tally);
        if !out.status.success() {
            return json!({"error": String::from_utf8_lossy(&out.stderr)});
        }
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn uid(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Every stored record (trashed ones too) that answers to an email used in this case.
    fn records(&self) -> Vec<Value> {
        self.fake
            .records()
            .into_iter()
            .filter(|r| self.emails.iter().any(|e| answers_to(r, e)))
            .collect()
    }

    fn live_of(&self, email: &str) -> Vec<Value> {
        self.fake
            .live_records()
            .into_iter()
            .filter(|r| answers_to(r, email))
            .collect()
    }

    fn pick(&self, rng: &mut StdRng, recs: Vec<Value>) -> Option<Value> {
        if recs.is_empty() {
            None
        } else {
            let i = rng.random_range(0..recs.len());
            recs.into_iter().nth(i)
        }
    }

    /// The academy creates the rep's record itself, under a case variant of `email`.
    fn seed_record(&mut self, email: &str, rng: &mut StdRng, tally: &mut Tally) {
        let variant = case_variant(email, rng);
        let xp = rng.random_range(0..800);
        let mut fields =
            json!({"repEmail": variant, "totalXp": xp, "name": "Seeded by the academy"});
        if rng.random_bool(0.5) {
            fields["defeatedBosses"] = json!("[\"academy-seed\"]");
            self.bosses.add("academy-seed");
        }
        self.fake.insert_record(fields);
        self.books.seeded += xp;
        tally.step(if variant == email {
            "academy_created_record"
        } else {
            "academy_created_record_other_case"
        });
        self.note(format!("academy created {variant} with {xp} XP"));
    }

    fn award_once(&mut self, li: usize, xp: i64, tally: &mut Tally) -> bool {
        let id = uuid::Uuid::new_v4().to_string();
        for _ in 0..2 {
            if self
                .run(li, &["award", &xp.to_string(), "--id", &id], tally)
                .status
                .success()
            {
                return true;
            }
        }
        false
    }

    fn award(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) {
        let xp = rng.random_range(1..500);
        let id = uuid::Uuid::new_v4().to_string();
        for _ in 0..rng.random_range(1..3) {
            if self
                .run(li, &["award", &xp.to_string(), "--id", &id], tally)
                .status
                .success()
            {
                self.books.acked += xp;
                self.note(format!("{}: award {xp}", self.laptops[li].name));
                return;
            }
        }
        self.note(format!("{}: award {xp} failed", self.laptops[li].name));
    }

    fn boss(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) {
        let b = format!("boss-{}", rng.random_range(0..5));
        if self.run(li, &["boss", &b], tally).status.success() {
            self.bosses.add(&b);
            self.note(format!("{}: boss {b}", self.laptops[li].name));
        }
    }

    fn kill_at(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) {
        let point = CRASHPOINTS[rng.random_range(0..CRASHPOINTS.len())];
        let cmd = command(&self.laptops[li], &self.url, &self.key, &["sync"]);
        if sync_killed_at(cmd, point) {
            tally.kills += 1;
            *tally.by_point.entry(point).or_default() += 1;
            self.note(format!("{}: killed at {point}", self.laptops[li].name));
        } else {
            *tally.missed.entry(point).or_default() += 1;
            self.note(format!("{}: sync (missed {point})", self.laptops[li].name));
        }
    }

    fn kill_random(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) {
        let ms = rng.random_range(5..80);
        self.fake
            .set_fault(Fault::always(FaultKind::Delay { ms: 30 }));
        let cmd = command(&self.laptops[li], &self.url, &self.key, &["sync"]);
        sync_killed_after(cmd, ms);
        self.fake.clear_faults();
        self.quiet_at = std::time::Instant::now() + Duration::from_millis(100);
        tally.kills += 1;
        *tally.by_point.entry("random_time").or_default() += 1;
        self.note(format!("{}: killed after {ms} ms", self.laptops[li].name));
    }

    fn wrong_key(&mut self, li: usize, tally: &mut Tally) {
        let out = self.run_with_key(li, "wrong-key", &["sync"]);
        self.check_no_panic(&out, tally);
        tally.faults += 1;
        self.note(format!("{}: sync with a wrong key", self.laptops[li].name));
    }

    fn twenty_fault(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) {
        let f = random_fault(rng);
        self.note(format!("{}: sync under {:?}", self.laptops[li].name, f));
        let delay = match f.kind {
            FaultKind::Delay { ms } => ms,
            _ => 0,
        };
        self.fake.set_fault(f);
        self.run(li, &["sync"], tally);
        self.fake.clear_faults();
        // A delayed request outlives the CLI that gave up on it.
        self.quiet_at = std::time::Instant::now() + Duration::from_millis(delay + 100);
        tally.faults += 1;
    }

    /// The academy app adds XP and a boss before the next write of a sync (once there is a record).
    fn concurrent_writer(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) -> bool {
        let email = self.laptops[li].email.clone();
        let Some(rec) = self.live_of(&email).into_iter().next() else {
            return false;
        };
        let readable = bosses_of(&rec).is_some();
        let stored = rec["repEmail"].as_str().map(str::to_string);
        let xp = rng.random_range(1..300);
        let boss = format!("academy-{}", rng.random_range(0..3));
        let marker = format!("marker-{}", self.uid());
        self.fake.set_fault(Fault::times(
            FaultKind::ConcurrentWriter {
                xp,
                bump_revision: rng.random_bool(0.5),
                add_boss: Some(boss.clone()),
                // The writer matches the email exactly as stored.
                rep_email: stored.clone(),
            },
            1,
        ));
        // Taken by the same request and applied under the same lock: tells whether it landed.
        self.fake.set_fault(Fault::times(
            FaultKind::OtherWriter(OtherWrite {
                rep_email: stored,
                add_exam: Some(marker.clone()),
                ..OtherWrite::default()
            }),
            1,
        ));
        self.run(li, &["sync"], tally);
        // It fires before the next write request; if no write happened, drop it.
        let consumed = self.fake.faults().is_empty();
        self.fake.clear_faults();
        if self.landed(&id_of(&rec), &marker) {
            self.books.writer += xp;
            self.exams.insert((email, marker));
            if readable {
                self.bosses.add(&boss);
            } else {
                // It reads unreadable text as an empty list and writes `[boss]`.
                self.bosses.rewrite(&[&boss]);
            }
            self.note(format!(
                "{}: sync; concurrent writer +{xp} XP, {boss}",
                self.laptops[li].name
            ));
        } else {
            if consumed {
                tally.step("writer_request_cancelled");
            }
            self.note(format!(
                "{}: sync; concurrent writer did not fire",
                self.laptops[li].name
            ));
        }
        true
    }

    /// Whether an other writer's exam `exam` is on record `id`: it proves that writer's change
    /// landed (the request that took the fault may have been dropped before applying it, when
    /// the CLI gave up on it). RepXP never writes exams in this matrix, so it cannot erase one.
    fn landed(&self, id: &str, exam: &str) -> bool {
        self.fake
            .records()
            .iter()
            .find(|r| r["id"] == id)
            .and_then(exams_of)
            .is_some_and(|e| e.contains_key(exam))
    }

    /// Waits until no request a killed or timed-out sync left behind (a delayed one) can still be
    /// applied, before the test reads a record and writes it back.
    fn wait_for_stragglers(&self) {
        let now = std::time::Instant::now();
        if self.quiet_at > now {
            std::thread::sleep(self.quiet_at - now);
        }
    }

    /// The academy writes only lists: an exam and a boss, straight into a record between syncs
    /// or just before the next write of a sync.
    fn academy_lists(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) -> bool {
        let n = self.uid();
        let boss = format!("academy-list-{n}");
        let exam = format!("academy-exam-{n}");
        let mine = self.live_of(&self.laptops[li].email.clone());
        if !mine.is_empty() && rng.random_bool(0.5) {
            let rec = &mine[0];
            let stored = rec["repEmail"].as_str().unwrap_or_default().to_string();
            let readable = bosses_of(rec).is_some();
            let add_boss = rng.random_bool(0.7);
            self.fake.set_fault(Fault::times(
                FaultKind::OtherWriter(OtherWrite {
                    rep_email: Some(stored),
                    add_boss: add_boss.then(|| boss.clone()),
                    add_exam: Some(exam.clone()),
                    ..OtherWrite::default()
                }),
                1,
            ));
            self.run(li, &["sync"], tally);
            let consumed = self.fake.faults().is_empty();
            self.fake.clear_faults();
            if self.landed(&id_of(rec), &exam) {
                let email = self.laptops[li].email.clone();
                self.exams.insert((email, exam.clone()));
                if add_boss {
                    if readable {
                        self.bosses.add(&boss);
                    } else {
                        // Unreadable text is left alone: the boss is not added.
                        self.bosses.allowed.insert(boss.clone());
                    }
                }
                tally.step("academy_other_writer");
                self.note(format!(
                    "{}: sync; academy wrote {exam}{} first",
                    self.laptops[li].name,
                    if add_boss {
                        format!(", {boss}")
                    } else {
                        String::new()
                    }
                ));
            } else {
                if consumed {
                    tally.step("writer_request_cancelled");
                }
                self.note(format!(
                    "{}: sync; academy's list write did not fire",
                    self.laptops[li].name
                ));
            }
            return true;
        }
        self.wait_for_stragglers();
        let Some(rec) = self.pick(rng, self.records()) else {
            return false;
        };
        let Some(email) = self.emails.iter().find(|e| answers_to(&rec, e)).cloned() else {
            return false;
        };
        let mut fields = serde_json::Map::new();
        if let Some(mut exams) = exams_of(&rec) {
            exams.insert(exam.clone(), json!({"score": rng.random_range(50..100)}));
            fields.insert(
                "passedExams".into(),
                json!(Value::Object(exams).to_string()),
            );
        }
        let mut wrote_boss = false;
        if let Some(mut list) = bosses_of(&rec).filter(|_| rng.random_bool(0.7)) {
            list.insert(boss.clone());
            fields.insert("defeatedBosses".into(), json!(json!(list).to_string()));
            wrote_boss = true;
        }
        if fields.is_empty() {
            return false;
        }
        self.fake
            .patch_record(&id_of(&rec), Value::Object(fields))
            .expect("known record");
        self.exams.insert((email.clone(), exam.clone()));
        if wrote_boss {
            self.bosses.add(&boss);
        }
        tally.step("academy_list_write");
        self.note(format!(
            "academy wrote {exam}{} on {email}'s record",
            if wrote_boss {
                format!(", {boss}")
            } else {
                String::new()
            }
        ));
        true
    }

    /// An admin adds XP to a record (live or trashed) by hand.
    fn admin_xp(&mut self, rng: &mut StdRng, tally: &mut Tally) -> bool {
        self.wait_for_stragglers();
        let Some(rec) = self.pick(rng, self.records()) else {
            return false;
        };
        let Some(total) = rec["totalXp"].as_i64() else {
            return false;
        };
        let x = rng.random_range(1..200);
        self.fake
            .patch_record(&id_of(&rec), json!({"totalXp": total + x}))
            .expect("known record");
        self.books.admin += x;
        tally.step("admin_xp");
        self.note(format!(
            "admin +{x} XP on {}{}",
            rec["repEmail"],
            if is_trashed(&rec) {
                " (in the trash)"
            } else {
                ""
            }
        ));
        true
    }

    fn ensure_db(&self, li: usize, tally: &mut Tally) {
        if !self.laptops[li].data.join(DB).exists() {
            self.run(li, &["status", "--json"], tally);
        }
    }

    fn backup(&mut self, li: usize, tally: &mut Tally) -> bool {
        self.ensure_db(li, tally);
        let l = &mut self.laptops[li];
        let to = l.root.path().join("backup");
        let _ = std::fs::remove_dir_all(&to);
        checkpoint(&l.data);
        copy_dir(&l.data, &to);
        l.backup = Some(to);
        tally.step("backup");
        let name = l.name;
        self.note(format!("{name}: backup"));
        true
    }

    /// An admin restores every trashed record of the case's emails. Returns how many.
    fn untrash_all(&mut self, tally: &mut Tally, what: &'static str) -> usize {
        let mut n = 0;
        for rec in self.records().into_iter().filter(is_trashed) {
            if self.fake.restore(&id_of(&rec)) {
                tally.step(what);
                self.note(format!("admin restored {} from the trash", rec["repEmail"]));
                n += 1;
            }
        }
        n
    }

    /// The earlier emails whose events laptop `li` holds back for their own record (the rep's
    /// email changed while they were queued), as its status names them.
    fn held_for_earlier_emails(&self, s: &Value) -> Vec<String> {
        let notes: Vec<String> = s["attention"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["kind"] == "held_other_identity")
            .map(|a| a["message"].as_str().unwrap_or_default().to_lowercase())
            .collect();
        self.emails
            .iter()
            .filter(|e| notes.iter().any(|m| m.contains(&e.to_lowercase())))
            .cloned()
            .collect()
    }

    /// Whether the rep may send what laptop `li` holds for earlier emails to the current one
    /// (`retry`), as a careful rep would: only when none of those emails has a record on Twenty
    /// (so nothing of them can have landed, and nothing will go there by itself) and every other
    /// laptop working for such an email has nothing left to send (it would create the record).
    /// Nothing else may be held back for a reason `retry` also releases.
    fn may_retry(&self, li: usize, s: &Value, quiet: &[bool]) -> bool {
        let earlier = self.held_for_earlier_emails(s);
        let other_holds = s["attention"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["kind"] == "held_unverified" || a["kind"] == "held_rejected");
        let records = self.fake.records();
        !earlier.is_empty()
            && !other_holds
            && earlier.iter().all(|e| {
                !records.iter().any(|r| answers_to(r, e))
                    && self.laptops.iter().enumerate().all(|(i, l)| {
                        i == li || !l.email.eq_ignore_ascii_case(e) || quiet.get(i) == Some(&true)
                    })
            })
    }

    fn retry(&mut self, li: usize, tally: &mut Tally, what: &'static str) {
        if self.run(li, &["retry"], tally).status.success() {
            tally.step(what);
            self.note(format!(
                "{}: retry (events of an email without a record go to the current one)",
                self.laptops[li].name
            ));
        }
    }

    /// Syncs laptop `li` until nothing is pending and no XP is held back; an admin restores
    /// trashed records when that is what stops it. Events of an earlier email that has no record
    /// wait for the rep's `retry`, which only recovery does: a `retry` whose re-sent events a
    /// restore then rolls away would leave the originals to be retried once more.
    async fn sync_clean(&mut self, li: usize, tally: &mut Tally) -> Clean {
        self.fake.clear_faults();
        for _ in 0..40 {
            let out = self.run(li, &["sync"], tally);
            let s = self.status(li, tally);
            let earlier = self.held_for_earlier_emails(&s);
            let idle = out.status.success() && s["pending"].as_i64() == Some(0);
            if idle && s["held_xp"].as_i64() == Some(0) && earlier.is_empty() {
                return Clean::Synced;
            }
            let records = self.fake.records();
            if idle
                && !earlier.is_empty()
                && earlier
                    .iter()
                    .all(|e| !records.iter().any(|r| answers_to(r, e)))
            {
                return Clean::WaitsForRetry;
            }
            if s["sync"]["last_error_kind"] == "record_trashed" || s["held_xp"].as_i64() != Some(0)
            {
                self.untrash_all(tally, "admin_untrash");
            }
            tokio::time::sleep(Duration::from_millis(160)).await;
        }
        Clean::Failed
    }

    async fn restore(&mut self, li: usize, rng: &mut StdRng, tally: &mut Tally) -> bool {
        let Some(backup) = self.laptops[li].backup.clone() else {
            return false;
        };
        let name = self.laptops[li].name;
        match self.sync_clean(li, tally).await {
            Clean::Synced => {}
            Clean::WaitsForRetry => {
                tally.step("restore_skipped_held_for_earlier_email");
                return false;
            }
            Clean::Failed => {
                let s = self.status(li, tally);
                self.bad(
                    tally,
                    format!("{name}: no clean sync before a restore: {s}"),
                );
                return true;
            }
        }
        self.note(format!("{name}: synced clean"));
        // Bosses still held back (an unreadable field) may be newer than the backup.
        let queue = self.run(li, &["queue", "--json"], tally);
        let queue: Vec<Value> = serde_json::from_slice(&queue.stdout).unwrap_or_default();
        for e in queue.iter().filter(|e| e["kind"] == "boss") {
            if let Some(b) = e["boss_id"].as_str() {
                self.bosses.required.remove(b);
            }
        }
        // What is recorded from here on never reaches Twenty: the restore rolls it away.
        let mut lost = 0;
        for _ in 0..rng.random_range(0..3) {
            let xp = rng.random_range(1..60);
            if self.award_once(li, xp, tally) {
                self.books.acked += xp;
                self.books.lost += xp;
                lost += xp;
            }
        }
        if rng.random_bool(0.3) {
            let b = format!("lost-boss-{}", self.uid());
            self.run(li, &["boss", &b], tally);
        }
        let data = self.laptops[li].data.clone();
        let in_place = rng.random_bool(0.5);
        if in_place {
            // `cp backup/repxp.db data/`: the same file, older content.
            for side in ["repxp.db-wal", "repxp.db-shm"] {
                let _ = std::fs::remove_file(data.join(side));
            }
            let bytes = std::fs::read(backup.join(DB)).expect("read backup");
            std::fs::write(data.join(DB), bytes).expect("restore in place");
            tally.step("restore_in_place");
        } else {
            std::fs::remove_dir_all(&data).expect("rm data");
            copy_dir(&backup, &data);
            tally.step("restore_new_files");
        }
        if lost > 0 {
            tally.step("restore_lost_xp");
        }
        self.note(format!(
            "{name}: restored the backup {} (lost {lost} XP)",
            if in_place { "in place" } else { "as new files" }
        ));
        true
    }

    fn copy(&mut self, tally: &mut Tally) -> bool {
        if self.laptops.len() > 1 {
            return false;
        }
        self.ensure_db(0, tally);
        // Events of an earlier email without a record wait for the rep's `retry`; two copies
        // of them would each be retried (see the report in the module doc): not copied then.
        let s = self.status(0, tally);
        let records = self.fake.records();
        if self
            .held_for_earlier_emails(&s)
            .iter()
            .any(|e| !records.iter().any(|r| answers_to(r, e)))
        {
            tally.step("copy_skipped_held_for_earlier_email");
            return false;
        }
        checkpoint(&self.laptops[0].data);
        let second = Laptop::new("laptop2", &self.laptops[0].email);
        copy_dir(&self.laptops[0].data, &second.data);
        self.laptops.push(second);
        tally.step("copy_to_second_laptop");
        self.note("laptop1: copied to laptop2".into());
        true
    }

    /// The first laptop works for a second email from now on.
    async fn change_email(&mut self, rng: &mut StdRng, tally: &mut Tally) -> bool {
        if self.switched {
            return false;
        }
        self.switched = true;
        if rng.random_bool(0.5) {
            if self.sync_clean(0, tally).await != Clean::Synced {
                let s = self.status(0, tally);
                self.bad(
                    tally,
                    format!("laptop1: no clean sync before the email change: {s}"),
                );
                return true;
            }
            self.note("laptop1: synced clean".into());
        }
        let next = format!("rep{}.next@acme.test", self.case);
        if rng.random_bool(0.4) {
            self.seed_record(&next, rng, tally);
        }
        // Queued at the change: earned here, so counted once, wherever it goes.
        for _ in 0..rng.random_range(0..3) {
            let xp = rng.random_range(1..100);
            if self.award_once(0, xp, tally) {
                self.books.acked += xp;
                self.note(format!("laptop1: award {xp}"));
            }
        }
        self.laptops[0].email = next.clone();
        self.emails.push(next.clone());
        tally.step("email_change");
        self.note(format!("laptop1: email now {next}"));
        true
    }

    fn break_field(&mut self, rng: &mut StdRng, tally: &mut Tally) -> bool {
        let readable: Vec<Value> = self
            .records()
            .into_iter()
            .filter(|r| !is_trashed(r) && bosses_of(r).is_some())
            .collect();
        let Some(rec) = self.pick(rng, readable) else {
            return false;
        };
        self.fake
            .patch_record(&id_of(&rec), json!({"defeatedBosses": UNREADABLE_BOSSES}))
            .expect("known record");
        self.bosses.rewrite(&[]);
        tally.step("break_field");
        self.note(format!(
            "another tool broke {}'s defeatedBosses",
            rec["repEmail"]
        ));
        true
    }

    fn fix_fields(&mut self, tally: &mut Tally, what: &'static str) -> bool {
        let mut fixed = false;
        for rec in self.records() {
            if bosses_of(&rec).is_none() {
                let list = json!(FIXED_BOSSES).to_string();
                self.fake
                    .patch_record(&id_of(&rec), json!({ "defeatedBosses": list }))
                    .expect("known record");
                self.bosses.rewrite(&FIXED_BOSSES);
                tally.step(what);
                self.note(format!("admin fixed {}'s defeatedBosses", rec["repEmail"]));
                fixed = true;
            }
        }
        fixed
    }

    fn trash(&mut self, rng: &mut StdRng, tally: &mut Tally) -> bool {
        let live: Vec<Value> = self
            .records()
            .into_iter()
            .filter(|r| !is_trashed(r))
            .collect();
        let Some(rec) = self.pick(rng, live) else {
            return false;
        };
        if !self.fake.soft_delete(&id_of(&rec)) {
            return false;
        }
        tally.step("trash");
        self.note(format!("admin moved {} to the trash", rec["repEmail"]));
        true
    }

    fn untrash(&mut self, tally: &mut Tally) -> bool {
        self.untrash_all(tally, "untrash") > 0
    }

    /// Recovery as a human admin and the rep would do it, then the invariant.
    async fn recover_and_check(&mut self, tally: &mut Tally) {
        self.fake.clear_faults();
        self.untrash_all(tally, "recovery_untrash");
        self.fix_fields(tally, "recovery_fix");
        let n = self.laptops.len();
        let mut quiet = vec![false; n];
        let mut converged = false;
        for _ in 0..40 {
            for li in 0..n {
                let out = self.run(li, &["sync"], tally);
                let s = self.status(li, tally);
                quiet[li] = out.status.success()
                    && s["pending"].as_i64() == Some(0)
                    && s["held"].as_i64() == Some(0);
                if !quiet[li] && out.status.success() && self.may_retry(li, &s, &quiet) {
                    self.retry(li, tally, "recovery_retry_earlier_email");
                }
            }
            if quiet.iter().all(|q| *q) {
                converged = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(160)).await;
        }
        if !converged {
            let states: Vec<String> = (0..n)
                .map(|li| {
                    let s = self.status(li, tally);
                    format!(
                        "{}: pending {} held {} ({}) error {}",
                        self.laptops[li].name,
                        s["pending"],
                        s["held"],
                        s["attention"],
                        s["sync"]["last_error"]
                    )
                })
                .collect();
            self.bad(tally, format!("did not converge: {}", states.join(" | ")));
            return;
        }
        // One more sync each (nothing to push: a pull), so every laptop shows the final record.
        for li in 0..n {
            let mut pulled = false;
            for _ in 0..20 {
                if self.run(li, &["sync"], tally).status.success() {
                    pulled = true;
                    break;
                }
                // A 429: wait out the window.
                tokio::time::sleep(Duration::from_millis(160)).await;
            }
            if !pulled {
                let s = self.status(li, tally);
                self.bad(
                    tally,
                    format!("{}: final sync failed: {s}", self.laptops[li].name),
                );
            }
        }
        self.check(tally);
    }

    /// What a failing case leaves to look at: each laptop's log (its tail) and Twenty's records.
    fn evidence(&self) -> String {
        let mut out = format!("case {}:", self.case);
        for l in &self.laptops {
            let log =
                std::fs::read_to_string(l.data.join("logs").join("cli.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out.push_str(&format!(
                "\n  {} ({}) log:\n    {}",
                l.name,
                l.email,
                tail.join("\n    ")
            ));
        }
        for r in self.fake.records() {
            out.push_str(&format!(
                "\n  record {} {}: totalXp {} bosses {} exams {} watermarks {} deletedAt {} updatedAt {}",
                r["id"], r["repEmail"], r["totalXp"], r["defeatedBosses"], r["passedExams"],
                r["syncWatermarks"], r["deletedAt"], r["updatedAt"]
            ));
        }
        out
    }

    fn check(&mut self, tally: &mut Tally) {
        let all = self.fake.records();
        let mut sum = 0i64;
        let mut per_email = Vec::new();
        let mut union = BTreeSet::new();
        for e in &self.emails {
            let live: Vec<&Value> = all
                .iter()
                .filter(|r| answers_to(r, e) && !is_trashed(r))
                .collect();
            let trashed = all
                .iter()
                .filter(|r| answers_to(r, e) && is_trashed(r))
                .count();
            if live.len() > 1 {
                self.bad(tally, format!("{} live records for {e}", live.len()));
            }
            if trashed > 0 {
                self.bad(tally, format!("{trashed} records of {e} left in the trash"));
            }
            for r in &live {
                let Some(xp) = r["totalXp"].as_i64() else {
                    self.bad(tally, format!("{e}: totalXp {}", r["totalXp"]));
                    continue;
                };
                sum += xp;
                per_email.push(format!("{}={xp}", r["repEmail"]));
                match bosses_of(r) {
                    Some(b) => union.extend(b),
                    None => self.bad(
                        tally,
                        format!("{e}: defeatedBosses {}", r["defeatedBosses"]),
                    ),
                }
                let exams = exams_of(r).unwrap_or_default();
                for (_, x) in self.exams.iter().filter(|(owner, _)| owner == e) {
                    if !exams.contains_key(x) {
                        self.bad(tally, format!("{e}: the academy's exam {x} is gone"));
                    }
                }
            }
        }
        let stray: Vec<&Value> = all
            .iter()
            .filter(|r| !self.emails.iter().any(|e| answers_to(r, e)))
            .collect();
        if !stray.is_empty() {
            self.bad(
                tally,
                format!("records for no email of the case: {stray:?}"),
            );
        }
        let expected = self.books.expected();
        if sum != expected {
            self.bad(
                tally,
                format!(
                    "remote totalXp {sum} ({}) != expected {expected} {:?}",
                    per_email.join(", "),
                    self.books
                ),
            );
        }
        for li in 0..self.laptops.len() {
            let l = &self.laptops[li];
            let remote = all
                .iter()
                .find(|r| answers_to(r, &l.email) && !is_trashed(r))
                .and_then(|r| r["totalXp"].as_i64())
                .unwrap_or(0);
            let name = l.name;
            let email = l.email.clone();
            let s = self.status(li, tally);
            if s["xp"].as_i64() != Some(remote) {
                self.bad(
                    tally,
                    format!("{name} ({email}): local xp {} != remote {remote}", s["xp"]),
                );
            }
            if s["pending"].as_i64() != Some(0) || s["held"].as_i64() != Some(0) {
                self.bad(
                    tally,
                    format!("{name}: pending {} held {}", s["pending"], s["held"]),
                );
            }
        }
        let b = &self.bosses;
        if !b.required.is_subset(&union) || !union.is_subset(&b.allowed) {
            let what = if b.rewritten {
                format!(
                    "bosses {union:?}: must hold {:?}, may hold only {:?}",
                    b.required, b.allowed
                )
            } else {
                format!("bosses {union:?} != {:?}", b.required)
            };
            self.bad(tally, what);
        }
    }
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
    let email = format!("rep{case}@acme.test");
    let mut c = Case {
        case,
        url: fake.url(),
        key: fake.api_key(),
        fake,
        laptops: vec![Laptop::new("laptop1", &email)],
        emails: vec![email.clone()],
        switched: false,
        books: Books::default(),
        bosses: Bosses::default(),
        exams: BTreeSet::new(),
        log: Vec::new(),
        next_id: 0,
        quiet_at: std::time::Instant::now(),
    };
    if rng.random_bool(0.3) {
        c.seed_record(&email, rng, tally);
    }
    let steps = rng.random_range(4..14);
    for _ in 0..steps {
        let li = if c.laptops.len() > 1 && rng.random_bool(0.5) {
            1
        } else {
            0
        };
        // The old steps keep about three quarters of the draws.
        let done = match rng.random_range(0..100) {
            0..=20 => {
                c.award(li, rng, tally);
                true
            }
            21..=27 => {
                c.boss(li, rng, tally);
                true
            }
            28..=42 => {
                c.kill_at(li, rng, tally);
                true
            }
            43..=49 => {
                c.kill_random(li, rng, tally);
                true
            }
            50..=57 => c.concurrent_writer(li, rng, tally),
            58..=64 => {
                c.wrong_key(li, tally);
                true
            }
            65..=74 => {
                c.twenty_fault(li, rng, tally);
                true
            }
            75..=79 => c.academy_lists(li, rng, tally),
            80..=83 => c.admin_xp(rng, tally),
            84..=85 => c.backup(li, tally),
            // Nothing to restore yet: the backup comes first.
            86..=90 => c.restore(li, rng, tally).await || c.backup(li, tally),
            91..=93 => c.copy(tally),
            94..=95 => c.change_email(rng, tally).await,
            // Another tool breaks a list, or an admin fixes the broken one.
            96..=97 => c.fix_fields(tally, "fix_field") || c.break_field(rng, tally),
            // An admin moves a record to the trash, or restores the trashed one.
            _ => c.untrash(tally) || c.trash(rng, tally),
        };
        if !done {
            c.award(li, rng, tally);
        }
    }
    let before = tally.violations.len();
    c.recover_and_check(tally).await;
    if tally.violations.len() > before {
        tally.details.push(c.evidence());
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
    // `FAULT_ONLY=N` runs only case N of the run (the same steps as in the whole run).
    let only: Option<u64> = std::env::var("FAULT_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    for case in 0..cases {
        let mut case_rng = StdRng::seed_from_u64(rng.random());
        if only.is_none_or(|o| o == case) {
            one_case(case, &mut case_rng, &mut tally).await;
        }
    }
    for v in &tally.violations {
        println!("VIOLATION {v}");
    }
    for d in &tally.details {
        println!("EVIDENCE {d}");
    }
    println!(
        "kills by point: {:?}; crashpoints not reached: {:?}; faults injected: {}",
        tally.by_point, tally.missed, tally.faults
    );
    println!("other writers and laptops: {:?}", tally.steps);
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
