//! The CLI as scripts and the dialer use it: real processes on a real SQLite file.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(CLI)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("REPXP_TWENTY_API_KEY")
        .output()
        .expect("run repxp-cli")
}

/// A `repxp-cli stream` process with piped stdin and stdout, as the dialer runs it.
fn stream(dir: &Path) -> std::process::Child {
    Command::new(CLI)
        .arg("--data-dir")
        .arg(dir)
        .arg("stream")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn repxp-cli stream")
}

fn status_json(dir: &Path) -> serde_json::Value {
    let out = cli(dir, &["status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

#[test]
fn award_then_status_shows_xp_level_and_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(dir.path(), &["award", "1240", "--source", "dialer"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("recorded 1,240 XP"), "{text}");
    assert!(text.contains("Level 7"), "{text}");
    assert!(cli(dir.path(), &["boss", "gatekeeper"]).status.success());
    assert!(cli(dir.path(), &["exam", "objections", "--score", "88"])
        .status
        .success());
    assert!(cli(dir.path(), &["metric", "talk_ratio", "-0.5"])
        .status
        .success());

    let s = status_json(dir.path());
    assert_eq!(s["xp"], 1240);
    assert_eq!(s["level"], 7);
    assert_eq!(s["pending"], 4);
    assert_eq!(s["state"], "not_connected");
    assert_eq!(s["defeated_bosses"][0], "gatekeeper");
    assert_eq!(s["passed_exams"]["objections"]["score"], 88.0);
    assert_eq!(s["efficiency_metrics"]["talk_ratio"], -0.5);

    let q = cli(dir.path(), &["queue", "--json"]);
    let q: serde_json::Value = serde_json::from_slice(&q.stdout).expect("queue json");
    let kinds: Vec<&str> = q
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["xp", "boss", "exam", "metric"]);
}

#[test]
fn bad_input_is_a_one_line_error_and_records_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["award", "-5"][..],
        &["award", "0"],
        &["award", "12.5"],
        &["award", "100001"],
        &["award", "10", "--id", "not-a-uuid"],
        &["boss", "   "],
        &["exam", "x", "--score", "101"],
        &["metric", "m", "NaN"],
        &["metric", "m", "inf"],
    ] {
        let out = cli(dir.path(), args);
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert_eq!(status_json(dir.path())["pending"], 0);
}

#[test]
fn award_with_the_same_id_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = "0190f1c2-0000-7000-8000-000000000001";
    for _ in 0..3 {
        assert!(cli(dir.path(), &["award", "50", "--id", id])
            .status
            .success());
    }
    let out = cli(dir.path(), &["award", "60", "--id", id]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already recorded with different content")
    );
    assert_eq!(status_json(dir.path())["xp"], 50);
}

/// DESIGN.md §5: several processes write one database at once and lose nothing.
#[test]
fn two_processes_awarding_at_once_lose_nothing() {
    const PER_PROCESS: usize = 1_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writers = Vec::new();
    for w in 0..2u64 {
        let d = dir.path().to_path_buf();
        writers.push(std::thread::spawn(move || {
            // Each writer is one long-lived process streaming awards, like the dialer, racing the
            // other on a fresh file (so the schema creation races too).
            let mut child = stream(&d);
            let mut stdin = child.stdin.take().expect("stdin");
            let feeder = std::thread::spawn(move || {
                for _ in 0..PER_PROCESS {
                    writeln!(stdin, r#"{{"kind":"xp","amount":{}}}"#, w + 1).expect("write");
                }
            });
            let acks = BufReader::new(child.stdout.take().expect("stdout"))
                .lines()
                .map(|l| l.expect("line"))
                .filter(|l| l.contains(r#""ok":true"#))
                .count();
            feeder.join().expect("feeder");
            assert!(child.wait().expect("wait").success());
            acks
        }));
    }
    let acked: usize = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert_eq!(acked, 2 * PER_PROCESS);
    // And plain one-shot CLI calls racing each other, as scripts make them.
    let d1 = dir.path().to_path_buf();
    let d2 = dir.path().to_path_buf();
    let one_shots = |d: std::path::PathBuf| {
        std::thread::spawn(move || {
            for _ in 0..50 {
                assert!(cli(&d, &["award", "7"]).status.success());
            }
        })
    };
    let (a, b) = (one_shots(d1), one_shots(d2));
    a.join().expect("a");
    b.join().expect("b");

    let s = status_json(dir.path());
    assert_eq!(s["pending"], 2 * PER_PROCESS + 100);
    assert_eq!(s["xp"], (PER_PROCESS + PER_PROCESS * 2 + 100 * 7) as i64);
}

/// An award the CLI acknowledged is on disk: kill -9 right after the acknowledgement loses nothing.
#[test]
fn acknowledged_awards_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut acked_total = 0;
    for round in 0..5 {
        let mut child = stream(dir.path());
        let mut stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for _ in 0..(20 + round * 7) {
            writeln!(stdin, r#"{{"kind":"xp","amount":3}}"#).expect("write");
            stdin.flush().expect("flush");
            let ack = lines.next().expect("an answer").expect("line");
            assert!(ack.contains(r#""ok":true"#), "{ack}");
            acked_total += 3;
        }
        // SIGKILL with the connection open and the WAL not checkpointed.
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        assert_eq!(
            status_json(dir.path())["xp"],
            acked_total,
            "after kill -9 in round {round}"
        );
    }
}

#[test]
fn stream_answers_bad_lines_without_stopping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = stream(dir.path());
    {
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{{not json").expect("write");
        writeln!(stdin, r#"{{"kind":"xp","amount":-1}}"#).expect("write");
        writeln!(stdin, r#"{{"kind":"metric","name":"m","value":1e400}}"#).expect("write");
        writeln!(
            stdin,
            r#"{{"kind":"xp","amount":9,"id":"0190f1c2-0000-7000-8000-0000000000aa"}}"#
        )
        .expect("write");
        writeln!(
            stdin,
            r#"{{"kind":"xp","amount":9,"id":"0190f1c2-0000-7000-8000-0000000000aa"}}"#
        )
        .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("answer is JSON"))
        .collect();
    assert_eq!(answers.len(), 5);
    assert_eq!(answers[0]["ok"], false);
    assert_eq!(answers[1]["ok"], false);
    assert_eq!(answers[2]["ok"], false);
    assert_eq!(answers[3]["new"], true);
    assert_eq!(answers[4]["new"], false);
    assert_eq!(status_json(dir.path())["xp"], 9);
}

#[test]
fn newer_schema_and_corrupt_files_are_refused_by_name_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(cli(dir.path(), &["award", "5"]).status.success());
    let db = dir.path().join("repxp.db");
    {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.pragma_update(None, "user_version", 42).expect("bump");
        c.pragma_update(None, "wal_checkpoint", "TRUNCATE").ok();
    }
    let before = std::fs::read(&db).expect("read");
    let out = cli(dir.path(), &["award", "5"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("newer RepXP") && err.contains("repxp.db"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).expect("read"), before);

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("repxp.db");
    std::fs::write(&db, vec![0x5a; 8192]).expect("write");
    let out = cli(dir.path(), &["status"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&db.display().to_string()) && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).expect("read"), vec![0x5a; 8192]);
}
