//! A fake Twenty CRM server for RepXP's tests: the records and metadata REST APIs RepXP uses,
//! Twenty's error bodies, per-workspace rate limiting, and injectable faults.
//! Every shape cites the Twenty source file it follows; see docs/twenty-api.md.

mod admin;
pub mod errors;
pub mod faults;
pub mod filter;
pub mod metadata;
pub mod rate_limit;
mod records;
mod server;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use faults::{Fault, FaultKind};
pub use metadata::SchemaPreset;
pub use rate_limit::{Clock, ManualClock, RateLimitStyle, SystemClock};

use faults::FaultSet;
use metadata::Schema;
use rate_limit::TokenBucket;

/// `updatedAt`-style timestamp: ISO 8601, milliseconds, `Z`
/// (DATE_TIME columns are timestamptz(3) and serialized with `toISOString()`).
pub fn iso_ms(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A JSON number as JavaScript prints it: integral values without a fraction (`125`, not `125.0`).
pub fn js_number(n: f64) -> Value {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// How the fake starts.
#[derive(Clone)]
pub struct FakeConfig {
    /// 0 = a random free port on 127.0.0.1.
    pub port: u16,
    /// The accepted API key (default "test-key").
    pub api_key: String,
    /// More accepted keys (same workspace, same rate-limit bucket).
    pub extra_api_keys: Vec<String>,
    /// The key's display name, written to `createdBy.name` on records it creates.
    pub api_key_name: String,
    pub schema: SchemaPreset,
    /// Answer metadata lists with newer Twenty's default selection (docs/twenty-api.md §7):
    /// objects without `fields`, fields without `objectMetadataId`, `isUnique` and `settings`.
    /// Default false: the older, fuller answers.
    pub newer_metadata_selection: bool,
    /// Tokens per window in the per-workspace bucket (default 100).
    pub rate_limit: u32,
    /// Window in milliseconds (default 60 000).
    pub rate_window_ms: u64,
    pub rate_limit_style: RateLimitStyle,
    /// Time source for rate limiting and timestamps (default: the system clock).
    pub clock: Arc<dyn Clock>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            port: 0,
            api_key: "test-key".to_string(),
            extra_api_keys: Vec::new(),
            api_key_name: "RepXP test key".to_string(),
            schema: SchemaPreset::Full,
            newer_metadata_selection: false,
            rate_limit: 100,
            rate_window_ms: 60_000,
            rate_limit_style: RateLimitStyle::Legacy,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeConfig")
            .field("port", &self.port)
            .field("api_key", &self.api_key)
            .field("extra_api_keys", &self.extra_api_keys)
            .field("api_key_name", &self.api_key_name)
            .field("schema", &self.schema)
            .field("newer_metadata_selection", &self.newer_metadata_selection)
            .field("rate_limit", &self.rate_limit)
            .field("rate_window_ms", &self.rate_window_ms)
            .field("rate_limit_style", &self.rate_limit_style)
            .finish_non_exhaustive()
    }
}

/// Request counters. Admin (`/__fake/...`) requests are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every HTTP request that reached the fake (including rejected ones).
    pub total: u64,
    /// By HTTP method: "GET", "POST", "PATCH", ...
    pub by_method: BTreeMap<String, u64>,
    /// By endpoint kind: "find_many", "find_one", "create_one", "update_one", "update_many",
    /// "metadata_list_objects", "metadata_get_object", "metadata_list_fields",
    /// "metadata_create_object", "metadata_create_field", "other".
    pub by_kind: BTreeMap<String, u64>,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered 403 (bad key or the auth-failure fault).
    pub auth_failures: u64,
    /// Fault applications (one request can take several).
    pub faults_applied: u64,
    /// Connections closed at accept by the refuse-connections fault.
    pub connections_refused: u64,
}

impl Stats {
    /// Count of one endpoint kind (0 if never seen).
    pub fn kind(&self, kind: &str) -> u64 {
        self.by_kind.get(kind).copied().unwrap_or(0)
    }
    /// Count of one HTTP method (0 if never seen).
    pub fn method(&self, method: &str) -> u64 {
        self.by_method.get(method).copied().unwrap_or(0)
    }
}

/// Mutable workspace state, behind one mutex never held across an await.
pub(crate) struct Inner {
    pub schema: Schema,
    /// Records by object `namePlural`.
    pub records: HashMap<String, Vec<Value>>,
    pub faults: FaultSet,
    pub stats: Stats,
    pub bucket: TokenBucket,
    pub next_position: f64,
}

pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    pub config: FakeConfig,
    pub workspace_id: String,
    /// Bumped to close every open connection (refuse-connections fault, shutdown).
    pub drop_all: watch::Sender<u64>,
}

impl Shared {
    fn new(config: FakeConfig) -> Self {
        let inner = Self::fresh_inner(&config);
        Shared {
            inner: Mutex::new(inner),
            workspace_id: Uuid::new_v4().to_string(),
            drop_all: watch::channel(0).0,
            config,
        }
    }

    fn fresh_inner(config: &FakeConfig) -> Inner {
        Inner {
            schema: Schema::from_preset(&config.schema, config.clock.now_ms()),
            records: HashMap::new(),
            faults: FaultSet::default(),
            stats: Stats::default(),
            bucket: TokenBucket::new(
                config.rate_limit,
                config.rate_window_ms,
                config.rate_limit_style,
            ),
            next_position: 0.0,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters for a test double; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now_ms(&self) -> u64 {
        self.config.clock.now_ms()
    }

    pub fn set_fault(&self, fault: Fault) {
        let refuse = matches!(fault.kind, FaultKind::RefuseConnections);
        self.lock().faults.push(fault);
        if refuse {
            self.drop_all.send_modify(|g| *g += 1);
        }
    }

    pub fn reset(&self) {
        *self.lock() = Self::fresh_inner(&self.config);
    }

    pub fn rep_records(&self) -> Vec<Value> {
        self.lock()
            .records
            .get("repProgressions")
            .cloned()
            .unwrap_or_default()
    }

    /// Seed a record of `repProgression` (fields are stored as given, without validation).
    pub fn insert_record(&self, fields: &Value) -> Value {
        let now = self.now_ms();
        let mut inner = self.lock();
        let object = inner
            .schema
            .by_plural("repProgressions")
            .cloned()
            .unwrap_or_else(|| metadata::ObjectMeta::rep_progression(&SchemaPreset::Full, now));
        inner.next_position += 1.0;
        let data: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        let record = records::build_record(
            &object,
            &data,
            &self.config.api_key_name,
            &iso_ms(now),
            inner.next_position,
        );
        inner
            .records
            .entry(object.name_plural.clone())
            .or_default()
            .push(record.clone());
        record
    }
}

/// A running fake Twenty server on 127.0.0.1.
pub struct FakeTwenty {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl FakeTwenty {
    /// Bind 127.0.0.1:`config.port` (0 = random) and serve in the background.
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeTwenty> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, shared.clone(), shutdown_rx));
        Ok(FakeTwenty {
            shared,
            addr,
            shutdown_tx,
            task: Some(task),
        })
    }

    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The (first) accepted API key.
    pub fn api_key(&self) -> String {
        self.shared.config.api_key.clone()
    }

    /// Add a fault (faults stack; each keeps its own count).
    pub fn set_fault(&self, fault: Fault) {
        self.shared.set_fault(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The faults still active.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared.lock().faults.active.clone()
    }

    /// All `repProgressions` records, in creation order.
    pub fn records(&self) -> Vec<Value> {
        self.shared.rep_records()
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Seed a `repProgression` record; returns the full stored record (with id, timestamps...).
    pub fn insert_record(&self, fields: Value) -> Value {
        self.shared.insert_record(&fields)
    }

    /// Drop records, faults, counters and rate-limit state; restore the configured schema.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stop accepting, close every connection and wait for the server task.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop(&self) {
        let _ = self.shutdown_tx.send(true);
        self.shared.drop_all.send_modify(|g| *g += 1);
    }
}

impl Drop for FakeTwenty {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests;
