//! Laptops for the CLI-process tests: a data directory with its own per-user state directory,
//! running the real `repxp-cli` against a Twenty (the fake on its own runtime thread, or the
//! real server through `server.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fake_twenty::{FakeConfig, FakeTwenty, TwentyProfile};
use serde_json::Value;

pub const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");
pub const DB: &str = "repxp.db";

/// The fake Twenty on its own runtime thread, so the tests can block on CLI processes.
pub struct Twenty {
    pub fake: FakeTwenty,
    _rt: tokio::runtime::Runtime,
}

/// The fake Twenty of the profile `FAKE_TWENTY_VERSION` names (`2025-06` or `newest`, default
/// newest): `make test` runs these tests against both.
pub fn twenty() -> Twenty {
    twenty_with(FakeConfig::for_profile(profile_from_env()))
}

/// `FAKE_TWENTY_VERSION`, or the newest profile when unset; a value that names no profile
/// stops the test rather than quietly testing another Twenty.
pub fn profile_from_env() -> TwentyProfile {
    match std::env::var("FAKE_TWENTY_VERSION") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("FAKE_TWENTY_VERSION={v} names no fake-twenty profile")),
        Err(_) => TwentyProfile::default(),
    }
}

/// Where a laptop finds Twenty.
pub trait Endpoint {
    fn url(&self) -> String;
    fn api_key(&self) -> String;
    /// How long a laptop waits for one answer (`REPXP_HTTP_TIMEOUT_MS`): short against the
    /// fake, so a hung request fails fast.
    fn http_timeout_ms(&self) -> u64 {
        2_000
    }
}

impl Endpoint for Twenty {
    fn url(&self) -> String {
        self.fake.url()
    }

    fn api_key(&self) -> String {
        self.fake.api_key()
    }
}

pub fn twenty_with(cfg: FakeConfig) -> Twenty {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let fake = rt.block_on(FakeTwenty::start(cfg)).expect("fake Twenty");
    Twenty { fake, _rt: rt }
}

/// One laptop: a data directory, the per-user state directory beside it (where RepXP keeps the
/// device identity), and the rep's email.
pub struct Laptop {
    pub _root: tempfile::TempDir,
    pub data: PathBuf,
    pub state: PathBuf,
    pub url: String,
    pub key: String,
    pub email: String,
    pub timeout_ms: u64,
}

impl Laptop {
    pub fn new(t: &impl Endpoint, email: &str) -> Laptop {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        let state = root.path().join("state");
        Laptop {
            data,
            state,
            url: t.url(),
            key: t.api_key(),
            timeout_ms: t.http_timeout_ms(),
            email: email.into(),
            _root: root,
        }
    }

    /// The same laptop using another API key.
    pub fn with_key(mut self, key: &str) -> Laptop {
        self.key = key.to_string();
        self
    }

    /// Another laptop (its own state directory) that will hold a copy of this one's data.
    pub fn sibling(&self, t: &impl Endpoint) -> Laptop {
        Laptop::new(t, &self.email)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(CLI)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env("REPXP_TWENTY_URL", &self.url)
            .env("REPXP_REP_EMAIL", &self.email)
            .env("REPXP_TWENTY_API_KEY", &self.key)
            .env("REPXP_STATE_DIR", &self.state)
            .env("REPXP_HTTP_TIMEOUT_MS", self.timeout_ms.to_string())
            .env_remove("REPXP_DATA_DIR")
            .env_remove("REPXP_CRASHPOINT")
            .output()
            .expect("run repxp-cli")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?} failed: {text}");
        assert!(!text.contains("panicked"), "{text}");
        text
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{args:?} should fail: {text}");
        assert!(!text.contains("panicked"), "{text}");
        text
    }

    pub fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status json")
    }

    pub fn queue(&self) -> Vec<Value> {
        serde_json::from_str(&self.ok(&["queue", "--json"])).expect("queue json")
    }

    pub fn award(&self, xp: i64) {
        self.ok(&["award", &xp.to_string()]);
    }

    /// Copies the data directory somewhere, as a backup tool does (SQLite checkpointed first, as
    /// any consistent backup of a closed database is).
    pub fn backup(&self, to: &Path) {
        checkpoint(&self.data);
        copy_dir(&self.data, to);
    }
}

pub fn checkpoint(data: &Path) {
    let c = rusqlite::Connection::open(data.join(DB)).expect("open");
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

/// Writes `bytes` over the database file in place (same file, older content), as `cp backup/*`
/// or a power cut leaves it.
pub fn write_in_place(data: &Path, bytes: &[u8]) {
    for side in ["repxp.db-wal", "repxp.db-shm"] {
        let _ = std::fs::remove_file(data.join(side));
    }
    std::fs::write(data.join(DB), bytes).expect("write the database in place");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for name in [DB, "repxp.db-wal", "repxp.db-shm"] {
        let src = from.join(name);
        if src.exists() {
            std::fs::copy(&src, to.join(name)).expect("copy");
        } else {
            let _ = std::fs::remove_file(to.join(name));
        }
    }
}

/// The rep's live records (not in the trash), however the email is cased.
pub fn live(t: &Twenty, email: &str) -> Vec<Value> {
    t.fake
        .live_records()
        .into_iter()
        .filter(|r| {
            r["repEmail"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect()
}

pub fn only(t: &Twenty, email: &str) -> Value {
    let recs = live(t, email);
    assert_eq!(recs.len(), 1, "one live record for {email}: {recs:?}");
    recs.into_iter().next().expect("one")
}

/// The id of `email`'s one live record.
pub fn record_id(t: &Twenty, email: &str) -> String {
    only(t, email)["id"].as_str().expect("id").to_string()
}

pub fn xp_of(t: &Twenty, email: &str) -> i64 {
    only(t, email)["totalXp"].as_i64().expect("totalXp")
}

pub fn list(rec: &Value, field: &str) -> Value {
    serde_json::from_str(rec[field].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}
