//! The sync engine against the fake Twenty over real loopback HTTP, with faults.

mod common;

use std::time::Duration;

use common::*;
use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind, RateLimitStyle};
use repxp_engine::sync::{sync_once, Mode};
use repxp_engine::{ErrorKind, Progress};

#[tokio::test]
async fn first_sync_creates_the_record_and_later_syncs_cost_one_request() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 120);
    s.record(&Progress::boss("gatekeeper").expect("valid"), None, None)
        .expect("boss");
    s.record(
        &Progress::exam("objections", Some(92.0)).expect("valid"),
        None,
        None,
    )
    .expect("exam");
    s.record(
        &Progress::metric("talk_ratio", 0.42).expect("valid"),
        None,
        None,
    )
    .expect("metric");
    let r = sync(&mut s, &c).await.expect("first sync");
    assert_eq!(r.pushed_events, 4);
    let rec = remote(&f);
    assert_eq!(rec["totalXp"], 120);
    assert_eq!(rec["level"], 2);
    assert_eq!(rec["defeatedBosses"], "[\"gatekeeper\"]");
    assert!(rec["passedExams"]
        .as_str()
        .expect("text")
        .contains("objections"));
    assert_eq!(s.progression().expect("view").pending, 0);
    assert_eq!(s.progression().expect("view").xp, 120);

    // Steady state: a push is one conditional write, an idle sync is one read.
    let before = c.requests_sent();
    award(&mut s, 30);
    sync(&mut s, &c).await.expect("push");
    assert_eq!(c.requests_sent() - before, 1, "one request per push");
    assert_eq!(remote_xp(&f), 150);
    let before = c.requests_sent();
    sync(&mut s, &c).await.expect("idle");
    assert_eq!(c.requests_sent() - before, 1, "one read when idle");
}

#[tokio::test]
async fn offline_then_online_flushes_the_queue() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 10);
    sync(&mut s, &c).await.expect("online");
    f.set_fault(Fault::always(FaultKind::RefuseConnections));
    for xp in [5, 6, 7] {
        award(&mut s, xp);
        let err = sync(&mut s, &c).await.expect_err("offline");
        assert!(err.is_transient(), "{err}");
        assert!(
            matches!(err.kind(), ErrorKind::Offline | ErrorKind::Interrupted),
            "{}: {err}",
            err.kind()
        );
    }
    assert_eq!(s.progression().expect("view").pending, 3);
    assert_eq!(
        s.progression().expect("view").xp,
        28,
        "the rep sees queued XP while offline"
    );
    f.clear_faults();
    sync(&mut s, &c).await.expect("back online");
    assert_eq!(remote_xp(&f), 28);
    assert_eq!(s.progression().expect("view").pending, 0);
}

#[tokio::test]
async fn ten_thousand_queued_events_flush_in_at_most_three_requests() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    for i in 0..10_000 {
        award(&mut s, 1 + (i % 7));
    }
    let expected: i64 = (0..10_000).map(|i| 1 + (i % 7)).sum();
    let r = sync(&mut s, &c).await.expect("flush");
    assert_eq!(r.pushed_events, 10_000);
    assert!(c.requests_sent() <= 3, "{} requests", c.requests_sent());
    assert_eq!(remote_xp(&f), expected);
}

#[tokio::test]
async fn a_timeout_after_twenty_applied_the_batch_does_not_double_count() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 100);
    sync(&mut s, &c).await.expect("first");
    award(&mut s, 40);
    // The write's reply is lost, whatever carries it (a GraphQL `POST` since RepXP writes its
    // compare-and-set there).
    f.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1).on_writes());
    let err = sync(&mut s, &c).await.expect_err("reply lost");
    assert!(err.is_transient(), "{err}");
    assert_eq!(remote_xp(&f), 140, "Twenty applied it");
    assert_eq!(
        s.progression().expect("view").pending,
        1,
        "we do not know yet"
    );
    // The retry sees its own watermark and acknowledges without writing again.
    sync(&mut s, &c).await.expect("retry");
    assert_eq!(remote_xp(&f), 140);
    let v = s.progression().expect("view");
    assert_eq!((v.xp, v.pending), (140, 0));
}

#[tokio::test]
async fn a_lost_reply_on_create_does_not_make_a_second_record() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 70);
    f.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1).on_method("POST"));
    sync(&mut s, &c).await.expect_err("reply lost");
    sync(&mut s, &c).await.expect("retry");
    assert_eq!(remote_xp(&f), 70);
    assert_eq!(s.progression().expect("view").xp, 70);
}

#[tokio::test]
async fn a_concurrent_writers_xp_is_kept() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 100);
    sync(&mut s, &c).await.expect("first");
    // The academy app adds 500 XP and a boss just before our next write lands.
    f.set_fault(Fault::times(
        FaultKind::ConcurrentWriter {
            xp: 500,
            bump_revision: false,
            add_boss: Some("academy-final".into()),
            rep_email: None,
        },
        1,
    ));
    award(&mut s, 25);
    let r = sync(&mut s, &c).await.expect("sync wins after a re-read");
    assert!(r.conflicts >= 1);
    let rec = remote(&f);
    assert_eq!(rec["totalXp"], 625);
    assert!(rec["defeatedBosses"]
        .as_str()
        .expect("text")
        .contains("academy-final"));
    assert_eq!(s.progression().expect("view").xp, 625);
}

#[tokio::test]
async fn pull_takes_twentys_scalars_and_keeps_unpushed_local_changes_on_top() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 50);
    sync(&mut s, &c).await.expect("first");
    // Training XP lands in Twenty from elsewhere.
    f.set_fault(Fault::times(
        FaultKind::ConcurrentWriter {
            xp: 300,
            bump_revision: true,
            add_boss: Some("negotiator".into()),
            rep_email: None,
        },
        1,
    ));
    // Trigger the writer with a write from a second device.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let mut s2 = store(dir2.path());
    award(&mut s2, 1);
    sync(&mut s2, &c).await.expect("device 2");
    award(&mut s, 5);
    sync_once(&mut s, &c, EMAIL, Mode::PullOnly)
        .await
        .expect("pull");
    let v = s.progression().expect("view");
    assert_eq!(v.xp, 50 + 300 + 1 + 5, "remote total + the unpushed 5");
    assert_eq!(v.pending, 1);
    assert!(v.defeated_bosses.contains("negotiator"));
    sync(&mut s, &c).await.expect("push");
    assert_eq!(remote_xp(&f), 356);
}

#[tokio::test]
async fn two_devices_pushing_at_once_sum_exactly() {
    let f = fake().await;
    let mut handles = Vec::new();
    for d in 0..2 {
        let c = client(&f);
        handles.push(tokio::spawn(async move {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut s = store(dir.path());
            for round in 0..15 {
                award(&mut s, 10 + d);
                // Transient losses are fine; the next round retries.
                let _ = sync(&mut s, &c).await;
                if round % 5 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            while sync(&mut s, &c).await.is_err() {}
            s.progression().expect("view").pending
        }));
    }
    for h in handles {
        assert_eq!(h.await.expect("device"), 0);
    }
    assert_eq!(remote_xp(&f), 15 * 10 + 15 * 11);
}

#[tokio::test]
async fn a_database_restored_from_an_old_copy_neither_loses_nor_double_counts() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("repxp.db");
    {
        let mut s = store(dir.path());
        award(&mut s, 10);
        sync(&mut s, &c).await.expect("first");
    }
    let backup = tempfile::tempdir().expect("tempdir");
    checkpoint(&db);
    std::fs::copy(&db, backup.path().join("repxp.db")).expect("backup");
    {
        let mut s = store(dir.path());
        for _ in 0..3 {
            award(&mut s, 20);
            sync(&mut s, &c).await.expect("later syncs");
        }
    }
    assert_eq!(remote_xp(&f), 70);
    // The laptop is restored from the backup, then the rep earns more.
    let mut s = store(backup.path());
    award(&mut s, 5);
    sync(&mut s, &c).await.expect("sync after restore");
    assert_eq!(
        remote_xp(&f),
        75,
        "the new award lands once; the old ones are not replayed"
    );
    assert_eq!(s.progression().expect("view").xp, 75);
}

fn checkpoint(db: &std::path::Path) {
    let c = rusqlite::Connection::open(db).expect("open");
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

#[tokio::test]
async fn a_403_is_an_auth_error_not_retried() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 10);
    f.set_fault(Fault::always(FaultKind::AuthFailure));
    let err = sync(&mut s, &c).await.expect_err("403");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(!err.is_transient());
    assert!(err.to_string().contains("API key"), "{err}");
    assert_eq!(c.requests_sent(), 1, "no retry inside one sync");
    assert_eq!(s.progression().expect("view").pending, 1);
}

#[tokio::test]
async fn rate_limits_in_both_forms_are_classified_with_retry_after_when_given() {
    // Legacy: no Retry-After, the message's window ("2 tokens per 60000 ms") is the wait.
    // Modern: Retry-After, here up to the 30 s one token takes to refill.
    for (style, wait) in [
        (RateLimitStyle::Legacy, 60..=60),
        (RateLimitStyle::Modern, 1..=30),
    ] {
        let f = FakeTwenty::start(FakeConfig {
            rate_limit: 2,
            rate_limit_style: style,
            ..FakeConfig::default()
        })
        .await
        .expect("fake");
        let c = client(&f);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = store(dir.path());
        award(&mut s, 10);
        let _ = sync(&mut s, &c).await;
        award(&mut s, 10);
        let err = loop {
            match sync(&mut s, &c).await {
                Err(e) if e.kind() == ErrorKind::RateLimited => break e,
                Err(e) => panic!("unexpected {e}"),
                Ok(_) => award(&mut s, 1),
            }
        };
        assert!(err.is_transient());
        let secs = err.retry_after().map(|d| d.as_secs());
        assert!(secs.is_some_and(|s| wait.contains(&s)), "{style:?}: {err}");
        assert!(s.progression().expect("view").pending >= 1);
    }
}

#[tokio::test]
async fn malformed_responses_and_server_errors_are_errors_not_panics() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 10);
    f.set_fault(Fault::always(FaultKind::MalformedJson));
    let err = sync(&mut s, &c).await.expect_err("malformed");
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
    f.clear_faults();
    f.set_fault(Fault::always(FaultKind::ServerError { status: 503 }));
    let err = sync(&mut s, &c).await.expect_err("5xx");
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    f.clear_faults();
    f.set_fault(Fault::times(FaultKind::Hang, 1));
    let slow = client_with(&f, Duration::from_millis(300));
    let err = sync(&mut s, &slow).await.expect_err("hang");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    sync(&mut s, &c).await.expect("recovers");
    assert_eq!(remote_xp(&f), 10);
}

/// `syncWatermarks` as a JSON object (the fake stores it as text, as RepXP writes it).
fn marks(f: &fake_twenty::FakeTwenty) -> serde_json::Map<String, serde_json::Value> {
    let text = remote(f)["syncWatermarks"]
        .as_str()
        .expect("syncWatermarks is text")
        .to_string();
    serde_json::from_str(&text).expect("a JSON object")
}

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(days))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[tokio::test]
async fn a_writer_prunes_entries_idle_for_months_once_the_map_outgrows_a_team() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 10);
    sync(&mut s, &c).await.expect("first");
    // A laptop that forked at every open for months (as the creation-time identity did under
    // Wine), and one entry of an older RepXP with no time.
    let mut m = marks(&f);
    for i in 0..30 {
        m.insert(
            format!("forked-{i:02}"),
            serde_json::json!({"seq": i + 1, "event": format!("f{i}"), "at": days_ago(120)}),
        );
    }
    m.insert(
        "recent".into(),
        serde_json::json!({"seq": 3, "event": "r3", "at": days_ago(10)}),
    );
    m.insert("older-build".into(), serde_json::json!(7));
    let id = remote(&f)["id"].as_str().expect("id").to_string();
    f.patch_record(
        &id,
        serde_json::json!({"syncWatermarks": serde_json::Value::Object(m).to_string()}),
    )
    .expect("patched");
    award(&mut s, 5);
    sync(&mut s, &c).await.expect("sync");
    let m = marks(&f);
    let mut kept: Vec<&str> = m.keys().map(String::as_str).collect();
    kept.retain(|k| !["recent", "older-build"].contains(k));
    assert_eq!(kept.len(), 1, "only our own entry beside the two: {kept:?}");
    assert!(m["recent"].is_object() && m["older-build"] == 7);
    assert!(
        m[kept[0]]["at"].as_str().is_some(),
        "our entry says when it was written"
    );
    assert_eq!(remote_xp(&f), 15);
}

/// Sets when the last claim went out, as if the laptop had sent it `days` ago.
fn age_claim(db: &std::path::Path, days: i64) {
    let c = rusqlite::Connection::open(db).expect("open");
    c.execute("UPDATE sync_state SET claim_at = ?1", [days_ago(days)])
        .expect("age the claim");
}

#[tokio::test]
async fn events_sent_months_ago_whose_entry_was_pruned_are_held_not_counted_twice() {
    let f = fake().await;
    let c = client(&f);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 100);
    sync(&mut s, &c).await.expect("first");
    award(&mut s, 40);
    f.set_fault(Fault::times(FaultKind::ApplyThenDrop, 1).on_writes());
    sync(&mut s, &c).await.expect_err("reply lost");
    assert_eq!(remote_xp(&f), 140, "Twenty applied it");
    // The laptop stays shut for months; meanwhile another writer prunes its idle entry.
    age_claim(&dir.path().join("repxp.db"), 95);
    let id = remote(&f)["id"].as_str().expect("id").to_string();
    f.patch_record(&id, serde_json::json!({"syncWatermarks": "{}"}))
        .expect("pruned");
    let report = sync(&mut s, &c).await.expect("sync");
    assert_eq!(report.held, 1);
    assert_eq!(remote_xp(&f), 140, "never counted twice");
    let v = s.progression().expect("view");
    assert_eq!((v.pending, v.held, v.held_xp), (0, 1, 40), "held, not lost");
    // What comes after goes, under a new entry.
    award(&mut s, 5);
    sync(&mut s, &c).await.expect("later");
    assert_eq!(remote_xp(&f), 145);
    assert_eq!(marks(&f).len(), 1);
}

#[tokio::test]
async fn a_recent_send_missing_from_the_marks_never_landed_and_goes_again() {
    let f = fake().await;
    let c = client_with(&f, Duration::from_millis(500));
    // The academy made the record; the laptop's first write to it never reaches Twenty.
    f.insert_record(serde_json::json!({"repEmail": EMAIL, "totalXp": 50}));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = store(dir.path());
    award(&mut s, 40);
    f.set_fault(Fault::times(FaultKind::Hang, 1).on_writes());
    sync(&mut s, &c).await.expect_err("no answer");
    assert_eq!(remote_xp(&f), 50, "not applied");
    let report = sync(&mut s, &c).await.expect("retry");
    assert_eq!((report.held, remote_xp(&f)), (0, 90));
    assert_eq!(s.progression().expect("view").pending, 0);
}
