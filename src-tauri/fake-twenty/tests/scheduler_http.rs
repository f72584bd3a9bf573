//! The scheduler driving real syncs (SyncService, real SQLite, real HTTP to the fake Twenty):
//! a revoked key stops the retries (no storm against the team's rate limit) until the
//! credentials change; a flapping server is retried with backoff until the queue drains.

mod common;

use std::time::Duration;

use common::*;
use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind};
use repxp_engine::settings::Setting;
use repxp_engine::sync::scheduler::{spawn, Phase, SchedulerConfig, Trigger};
use repxp_engine::sync::service::SyncService;
use repxp_engine::ErrorKind;

fn fast() -> SchedulerConfig {
    SchedulerConfig {
        debounce: Duration::from_millis(50),
        max_wait: Duration::from_millis(200),
        periodic: Duration::from_secs(2),
        periodic_jitter: 0.1,
        backoff_base: Duration::from_millis(20),
        sync_on_start: true,
    }
}

async fn until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    for _ in 0..secs * 20 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within {secs} s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_blocks_retries_until_credentials_change_and_flaps_are_retried() {
    // This test binary holds one test, so setting the process environment is safe.
    let f = FakeTwenty::start(FakeConfig::default())
        .await
        .expect("fake");
    std::env::set_var("REPXP_TWENTY_API_KEY", f.api_key());
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = store(dir.path());
        s.set_setting(Setting::TwentyUrl, Some(&f.url()))
            .expect("url");
        s.set_setting(Setting::RepEmail, Some(EMAIL))
            .expect("email");
        award(&mut s, 40);
    }
    f.set_fault(Fault::always(FaultKind::AuthFailure));
    let (h, _j) = spawn(SyncService::new(dir.path().to_path_buf()), fast(), Some(11));
    until("blocked on auth", 5, || h.status().phase == Phase::Blocked).await;
    // Local changes keep coming for two seconds (a periodic interval): no request goes out.
    for _ in 0..10 {
        award(&mut store(dir.path()), 1);
        h.trigger(Trigger::LocalChange);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        f.stats().total,
        1,
        "one request, then silence until the key changes"
    );
    assert_eq!(h.status().last_error_kind, Some(ErrorKind::Auth));

    // The rep enters a new key: one sync, and everything lands.
    f.clear_faults();
    h.trigger(Trigger::CredentialsChanged);
    until("synced after the key changed", 5, || {
        f.records().first().is_some_and(|r| r["totalXp"] == 50)
    })
    .await;

    // A flapping server: three 503s, retried with backoff (not waiting for the periodic sync).
    f.set_fault(Fault::times(FaultKind::ServerError { status: 503 }, 3));
    award(&mut store(dir.path()), 7);
    h.trigger(Trigger::LocalChange);
    until("drained after the 503s", 5, || {
        f.records().first().is_some_and(|r| r["totalXp"] == 57)
    })
    .await;
    // The write lands on Twenty a moment before the sync records its success here.
    until("the success recorded", 5, || {
        let s = store(dir.path());
        s.sync_history().is_ok_and(|r| r.failure_streak == 0)
    })
    .await;
    assert_eq!(store(dir.path()).progression().expect("view").pending, 0);
    h.trigger(Trigger::Shutdown);
}
