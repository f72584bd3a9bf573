//! Shared set-up for the integration tests: a fake Twenty on loopback and engine stores in temp dirs.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use fake_twenty::{FakeConfig, FakeTwenty};
use repxp_engine::secrets::ApiKey;
use repxp_engine::sync::{sync_once, Mode, SyncError, SyncReport};
use repxp_engine::twenty::{Timeouts, TwentyClient};
use repxp_engine::{Progress, Store};

pub const EMAIL: &str = "ana@acme.test";

pub async fn fake() -> FakeTwenty {
    FakeTwenty::start(FakeConfig::default())
        .await
        .expect("fake Twenty starts")
}

pub fn client(f: &FakeTwenty) -> TwentyClient {
    client_with(f, Duration::from_secs(2))
}

pub fn client_with(f: &FakeTwenty, request_timeout: Duration) -> TwentyClient {
    let key = ApiKey::new(&f.api_key()).expect("key");
    TwentyClient::new(
        &f.url(),
        key,
        Timeouts {
            connect: Duration::from_secs(1),
            request: request_timeout,
        },
    )
    .expect("client")
}

pub fn store(dir: &Path) -> Store {
    Store::open_dir(dir).expect("store opens")
}

pub fn award(s: &mut Store, xp: i64) {
    s.record(&Progress::xp(xp, Some("test")).expect("valid"), None, None)
        .expect("record");
}

pub async fn sync(s: &mut Store, c: &TwentyClient) -> Result<SyncReport, SyncError> {
    sync_once(s, c, EMAIL, Mode::Both).await
}

/// The one record of the rep on the fake; fails if there is not exactly one.
pub fn remote(f: &FakeTwenty) -> serde_json::Value {
    let recs: Vec<_> = f
        .records()
        .into_iter()
        .filter(|r| r["repEmail"] == EMAIL)
        .collect();
    assert_eq!(recs.len(), 1, "exactly one record per rep: {recs:?}");
    recs.into_iter().next().expect("one")
}

pub fn remote_xp(f: &FakeTwenty) -> i64 {
    remote(f)["totalXp"].as_i64().expect("totalXp is a number")
}
