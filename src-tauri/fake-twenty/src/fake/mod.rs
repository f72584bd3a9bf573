//! A fake Twenty CRM server for RepXP's tests: the records and metadata REST APIs RepXP uses,
//! Twenty's error bodies, per-workspace rate limiting, and injectable faults.
//! Every shape cites the Twenty source file it follows; see docs/twenty-api.md and
//! /work/twenty-research.md.
//!
//! Server versions (`profile.rs`): [`FakeConfig::profile`] picks the June 2025 server
//! ([`TwentyProfile::June2025`], `--twenty-version 2025-06`, checked against a real one) or a
//! current one ([`TwentyProfile::Newest`], the default); the table in `profile.rs` lists what
//! differs. [`FakeConfig::for_profile`] also sets the 429 form, the DATE_TIME filter generation and
//! the unique indexes to the profile's.
//!
//! Unauthenticated: `GET /client-config` (`client_config.rs`), with the server version.
//!
//! Records endpoints (`records.rs`): find-many, find-one, create, update one/many, soft delete /
//! destroy one/many (`DELETE`, `?soft_delete=true`), restore one/many (`PATCH …/restore`); the
//! June 2025 profile has only find, create, update one and destroy one there.
//! Trashed records (`deletedAt` set) stay stored: reads leave them out unless the filter
//! mentions `deletedAt`, updates still match them, and they keep their unique values.
//!
//! GraphQL (`graphql/`): `POST /graphql`, the records API Twenty generates per object
//! (`repProgressions(filter:, first:, after:)`, `updateRepProgressions(filter:, data:)`,
//! `createRepProgression`, `updateRepProgression`, `deleteRepProgression`,
//! `restoreRepProgression`, `destroyRepProgression`, …), parsed, validated and answered with
//! the real server's messages.
//!
//! Timestamps (`timestamps.rs`): DATE_TIME values are stored with microseconds, as Postgres
//! `timestamptz` holds them, and every record in every API answer is rendered with milliseconds.
//! [`FakeTwenty::records`] returns rendered records; [`FakeTwenty::stored_records`] the stored ones.

mod admin;
pub mod client_config;
mod cursor;
pub mod errors;
pub mod faults;
pub mod filter;
pub mod graphql;
pub mod metadata;
pub mod paging;
pub mod profile;
pub mod rate_limit;
mod records;
mod server;
pub mod timestamps;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use faults::{Fault, FaultKind, MetricValue, OtherWrite};
pub use filter::DateTimeFilterMode;
pub use metadata::SchemaPreset;
pub use profile::{RepEmailType, RestrictedKey, TwentyProfile};
pub use rate_limit::{Clock, ManualClock, RateLimitStyle, SystemClock};

use errors::TwentyError;
use faults::FaultSet;
use metadata::{ObjectMeta, Schema};
use rate_limit::TokenBucket;
use timestamps::Stamper;

/// A millisecond instant as the API prints DATE_TIME values: ISO 8601, milliseconds, `Z`
/// (`Date.toISOString()` of the node-postgres `Date`; the stored `timestamptz` has microseconds,
/// see `timestamps.rs`). Also used for metadata `createdAt`/`updatedAt`.
pub fn iso_ms(ms: u64) -> String {
    timestamps::iso_ms_of_ns(i128::from(ms) * 1_000_000)
}

/// A JSON number as JavaScript prints it: integral values without a fraction (`125`, not `125.0`).
pub fn js_number(n: f64) -> Value {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// How the fake starts. `FakeConfig::default()` is a [`TwentyProfile::Newest`] server whose 429
/// form (`rate_limit_style`) and DATE_TIME filters (`legacy_datetime_filters`) stay at their
/// historical defaults (legacy 429, newest filters); [`FakeConfig::for_profile`] sets both to the
/// profile's.
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
    /// Which Twenty answers (default [`TwentyProfile::Newest`]). Picks the metadata REST format,
    /// the bad-key answer, not-found statuses, permission and EMAILS texts and `/client-config`.
    /// The 429 form and the DATE_TIME filters are the separate knobs below.
    pub profile: TwentyProfile,
    pub schema: SchemaPreset,
    /// The type of `repProgression.repEmail` (default TEXT; EMAILS: the composite, unique on
    /// `primaryEmail`).
    pub rep_email_type: RepEmailType,
    /// This many extra custom objects (`customObject1`…, each with `notes` TEXT and `amount`
    /// NUMBER) exist besides `repProgression`, which comes after all of them in both profiles'
    /// list order (legacy: listed last; newest, `id DESC`: its id is the lowest). With a page size
    /// of 60 and 100 or more extra objects it is not on the first page. Default 0.
    pub extra_objects: usize,
    /// Metadata list page size, the default and the cap of `limit` (`None` = the profile's: 1000
    /// for both, `DEFAULT_METADATA_REST_PAGE_SIZE` / the GraphQL proxy's `limitInputFactory`
    /// default). `Some(60)` models the early new-format iteration (`parseLimitRestRequest`
    /// default 60).
    pub metadata_page_size: Option<usize>,
    /// Legacy profile only: answer metadata lists with newer Twenty's default selection of the
    /// GraphQL proxy (docs/twenty-api.md §7): objects without `fields`, fields without
    /// `objectMetadataId`, `isUnique` and `settings`. Default false: the older, fuller answers.
    /// The newest controllers always inline fields, so the newest profile ignores it.
    pub newer_metadata_selection: bool,
    /// `appVersion` in the newest `/client-config` (default `Some("v1.14.0")`, a version string
    /// of the fake's own, not a real release; `None` = unset, as on a source build, so the key
    /// is absent). The June 2025 `/client-config` never has `appVersion`; it reports this as
    /// `sentry.release` when set (a deployment's `SENTRY_RELEASE`) and `"sentry":{}` otherwise, as
    /// the real source build does; [`FakeConfig::for_profile`] sets this to `None` there.
    pub app_version: Option<String>,
    /// More accepted tokens whose role is limited ([`RestrictedKey`]: a key with a role on the
    /// newest server, a workspace member's token on June 2025). `api_key` and `extra_api_keys`
    /// keep full access.
    pub restricted_keys: Vec<RestrictedKey>,
    /// Tokens that were valid and have expired: 401 "Token has expired." (REST) /
    /// `UNAUTHENTICATED` (GraphQL), as the real server answers a member's expired token.
    pub expired_keys: Vec<String>,
    /// API keys that an admin revoked: 403 `{"statusCode":403,"messages":["This API Key is
    /// revoked"],"error":"FORBIDDEN_EXCEPTION"}` (REST, checked on the real server).
    pub revoked_keys: Vec<String>,
    /// Whether fields with `isUnique` are enforced by a unique index (default true). False on
    /// June 2025 ([`FakeConfig::for_profile`]): 7f19111 keeps `isUnique` in the metadata only
    /// (packages/twenty-server/src/engine/metadata-modules/field-metadata/field-metadata.service.ts
    /// creates no index; workspace-migration-runner.service.ts: "For now unique constraints are
    /// created at a higher level"), and the real server accepted two records with one `repEmail`.
    pub unique_indexes: bool,
    /// June 2025 only: the workspace flag `IS_PERMISSIONS_V2_ENABLED` (default false, as seeded
    /// workspaces have it). Off, REST checks no role and GraphQL the role-wide permissions; on,
    /// REST checks a restricted token's object permissions too (400 "User does not have
    /// permission", as observed on the real server while the flag was on). The newest profile
    /// always checks.
    pub permissions_v2: bool,
    /// Tokens per window in the per-workspace bucket (default 100).
    pub rate_limit: u32,
    /// Window in milliseconds (default 60 000).
    pub rate_window_ms: u64,
    pub rate_limit_style: RateLimitStyle,
    /// Time source for rate limiting and timestamps (default: the system clock). Record stamps
    /// add microseconds from a per-server counter (`timestamps::Stamper`).
    pub clock: Arc<dyn Clock>,
    /// Evaluate DATE_TIME filters like older Twenty: plain comparisons against the stored
    /// microsecond value, so `updatedAt[eq]:<ms value from the API>` matches nothing. Default
    /// false: the newest one-millisecond windows (compute-where-condition-parts.ts `04ebb83`).
    pub legacy_datetime_filters: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            port: 0,
            api_key: "test-key".to_string(),
            extra_api_keys: Vec::new(),
            api_key_name: "RepXP test key".to_string(),
            profile: TwentyProfile::Newest,
            schema: SchemaPreset::Full,
            rep_email_type: RepEmailType::Text,
            extra_objects: 0,
            metadata_page_size: None,
            newer_metadata_selection: false,
            app_version: Some(NEWEST_APP_VERSION.to_string()),
            restricted_keys: Vec::new(),
            expired_keys: Vec::new(),
            revoked_keys: Vec::new(),
            unique_indexes: true,
            permissions_v2: false,
            rate_limit: 100,
            rate_window_ms: 60_000,
            rate_limit_style: RateLimitStyle::Legacy,
            clock: Arc::new(SystemClock),
            legacy_datetime_filters: false,
        }
    }
}

/// The newest profile's default `appVersion`: the fake's own string, not a real Twenty release.
pub const NEWEST_APP_VERSION: &str = "v1.14.0";

impl FakeConfig {
    /// The default config with the profile's own knobs: June 2025 -> legacy 429
    /// (`RateLimitStyle::Legacy`; the real server has no REST rate limit, docs/twenty-api.md §11),
    /// plain DATE_TIME filters (`legacy_datetime_filters: true`), no `appVersion`, no unique
    /// indexes; Newest -> modern 429, the one-millisecond DATE_TIME windows, `appVersion`
    /// [`NEWEST_APP_VERSION`], unique indexes.
    pub fn for_profile(profile: TwentyProfile) -> FakeConfig {
        let june = profile.is_june_2025();
        FakeConfig {
            profile,
            rate_limit_style: if june {
                RateLimitStyle::Legacy
            } else {
                RateLimitStyle::Modern
            },
            legacy_datetime_filters: june,
            app_version: (!june).then(|| NEWEST_APP_VERSION.to_string()),
            unique_indexes: !june,
            ..FakeConfig::default()
        }
    }

    /// The metadata page size in effect: [`FakeConfig::metadata_page_size`] or 1000.
    pub fn effective_metadata_page_size(&self) -> usize {
        self.metadata_page_size.unwrap_or(1000).max(1)
    }
}

impl fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeConfig")
            .field("port", &self.port)
            .field("api_key", &self.api_key)
            .field("extra_api_keys", &self.extra_api_keys)
            .field("api_key_name", &self.api_key_name)
            .field("profile", &self.profile)
            .field("schema", &self.schema)
            .field("rep_email_type", &self.rep_email_type)
            .field("extra_objects", &self.extra_objects)
            .field("metadata_page_size", &self.metadata_page_size)
            .field("newer_metadata_selection", &self.newer_metadata_selection)
            .field("app_version", &self.app_version)
            .field("restricted_keys", &self.restricted_keys)
            .field("expired_keys", &self.expired_keys)
            .field("revoked_keys", &self.revoked_keys)
            .field("unique_indexes", &self.unique_indexes)
            .field("permissions_v2", &self.permissions_v2)
            .field("rate_limit", &self.rate_limit)
            .field("rate_window_ms", &self.rate_window_ms)
            .field("rate_limit_style", &self.rate_limit_style)
            .field("legacy_datetime_filters", &self.legacy_datetime_filters)
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
    /// "delete_one", "delete_many" (soft delete and destroy), "restore_one", "restore_many"
    /// (REST, and GraphQL by its root field: `updateRepProgressions` counts as "update_many";
    /// "create_many" for `createRepProgressions`; "graphql" for a GraphQL request that names no
    /// records field),
    /// "metadata_list_objects", "metadata_get_object", "metadata_list_fields",
    /// "metadata_get_field", "metadata_create_object", "metadata_create_field",
    /// "metadata_update_field", "metadata_graphql", "client_config", "other".
    pub by_kind: BTreeMap<String, u64>,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests refused for their key: a bad, missing, expired or revoked key (401/403, or a
    /// GraphQL auth error) or the auth-failure fault.
    pub auth_failures: u64,
    /// Requests a restricted key's role may not make (records: 400, GraphQL `FORBIDDEN`,
    /// metadata: 403 newest / 400 June 2025).
    #[serde(default)]
    pub permission_denied: u64,
    /// `POST /graphql` requests (also counted in `by_kind` by their root field).
    #[serde(default)]
    pub graphql: u64,
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
    /// `CURRENT_TIMESTAMP` with microseconds.
    pub stamper: Stamper,
    pub datetime_mode: DateTimeFilterMode,
    /// `FakeConfig::profile`, copied for the records code.
    pub profile: TwentyProfile,
    /// `FakeConfig::unique_indexes`.
    pub unique_indexes: bool,
    /// The GraphQL schema of `schema`, built on first use and dropped when the metadata changes.
    pub gql_schema: Option<Arc<graphql::schema::GqlSchema>>,
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
            schema: Schema::build(
                &config.schema,
                config.clock.now_ms(),
                config.extra_objects,
                config.rep_email_type,
            )
            .with_profile(config.profile),
            records: HashMap::new(),
            faults: FaultSet::default(),
            stats: Stats::default(),
            bucket: TokenBucket::new(
                config.rate_limit,
                config.rate_window_ms,
                config.rate_limit_style,
            ),
            next_position: 0.0,
            stamper: Stamper::default(),
            datetime_mode: if config.legacy_datetime_filters {
                DateTimeFilterMode::Legacy
            } else {
                DateTimeFilterMode::Newest
            },
            profile: config.profile,
            unique_indexes: config.unique_indexes,
            gql_schema: None,
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

    /// Stored `repProgression` records (microsecond timestamps), trashed ones included.
    pub fn stored_rep_records(&self) -> Vec<Value> {
        self.lock()
            .records
            .get("repProgressions")
            .cloned()
            .unwrap_or_default()
    }

    /// `repProgression` records as the API prints them; `live_only` leaves the trash out.
    pub fn rendered_rep_records(&self, live_only: bool) -> Vec<Value> {
        let now = self.now_ms();
        let inner = self.lock();
        let object = self.rep_object(&inner, now);
        inner
            .records
            .get("repProgressions")
            .map(|rows| {
                rows.iter()
                    .filter(|r| !live_only || r.get("deletedAt").is_none_or(Value::is_null))
                    .map(|r| timestamps::render_record(&object, r))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn rep_object(&self, inner: &Inner, now_ms: u64) -> ObjectMeta {
        inner
            .schema
            .by_plural("repProgressions")
            .cloned()
            .unwrap_or_else(|| {
                metadata::ObjectMeta::rep_progression_with(
                    &SchemaPreset::Full,
                    now_ms,
                    self.config.rep_email_type,
                )
            })
    }

    /// Seed a record of `repProgression`: fields are stored as given, without validation, except
    /// that parseable DATE_TIME text is normalized to the stored microsecond form and a value for
    /// an EMAILS field becomes the composite (`"a@b.c"` -> `{"primaryEmail":"a@b.c",
    /// "additionalEmails":null}`, `primaryEmail` lower-cased). Returns the record rendered as the
    /// API prints it.
    pub fn insert_record(&self, fields: &Value) -> Value {
        let now = self.now_ms();
        let mut inner = self.lock();
        let object = self.rep_object(&inner, now);
        inner.next_position += 1.0;
        let mut data: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        for (k, v) in data.iter_mut() {
            let ty = object.field(k).map(|f| f.ty.as_str());
            if ty == Some("EMAILS") {
                *v = records::seed_emails(v);
                continue;
            }
            if let (Some("DATE_TIME"), Some(s)) = (ty, v.as_str()) {
                if let Some(n) = timestamps::normalize_written(s) {
                    *v = Value::String(n);
                }
            }
        }
        let stamp = inner.stamper.next(now);
        let record = records::build_record(
            &object,
            &data,
            &self.config.api_key_name,
            &stamp,
            Some(inner.next_position),
        );
        inner
            .records
            .entry(object.name_plural.clone())
            .or_default()
            .push(record.clone());
        timestamps::render_record(&object, &record)
    }

    /// Seeds a sales team of `n` reps (`rep001@acme.test` …) the way a real workspace holds one,
    /// with other writers' habits: every third record was made by the academy (a name, no
    /// `syncRevision`, no watermarks), one rep also has a newer duplicate under an upper-case
    /// email (created later, more XP: the oldest still counts), and one more rep sits in the
    /// trash. XP is spread so that ties exist. Returns each live rep's email and XP, the
    /// leaderboard's truth.
    pub fn seed_team(&self, n: usize) -> Vec<(String, i64)> {
        let mut truth = Vec::with_capacity(n);
        for i in 1..=n {
            let email = format!("rep{i:03}@acme.test");
            // Deterministic, uneven, with ties: (i * 7919) mod 5000, rounded to 10.
            let xp = ((i as i64 * 7_919) % 5_000) / 10 * 10;
            let mut fields = json!({"repEmail": email, "totalXp": xp});
            if i % 3 == 0 {
                fields["name"] = json!(format!("Rep {i:03}"));
                fields["level"] = json!(1);
            } else {
                fields["syncRevision"] = json!(1);
                fields["syncWatermarks"] = json!("{}");
            }
            self.insert_record(&fields);
            truth.push((email, xp));
        }
        if n > 0 {
            // Created later for certain: Twenty shows createdAt to the millisecond, and a
            // duplicate made in the same millisecond as the team could not be told apart by age.
            std::thread::sleep(std::time::Duration::from_millis(2));
            self.insert_record(&json!({"repEmail": "REP001@acme.test", "totalXp": 99_999}));
            let gone =
                self.insert_record(&json!({"repEmail": "left@acme.test", "totalXp": 88_888}));
            if let Some(id) = gone.get("id").and_then(Value::as_str) {
                self.with_rep(|inner, object, now| {
                    records::soft_delete_row(inner, object, id, now)
                });
            }
        }
        truth
    }

    /// Run `f` on the `repProgression` object under the lock (`None` if the schema has none).
    fn with_rep<T>(&self, f: impl FnOnce(&mut Inner, &ObjectMeta, u64) -> T) -> Option<T> {
        let now = self.now_ms();
        let mut inner = self.lock();
        let object = inner.schema.by_plural("repProgressions").cloned()?;
        Some(f(&mut inner, &object, now))
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

    /// The server version this fake imitates.
    pub fn profile(&self) -> TwentyProfile {
        self.shared.config.profile
    }

    /// Every object's `namePlural`, in the workspace's list order (extra objects first,
    /// `repProgressions` after them, objects created over the API last).
    pub fn object_names(&self) -> Vec<String> {
        self.shared
            .lock()
            .schema
            .objects
            .iter()
            .map(|o| o.name_plural.clone())
            .collect()
    }

    /// The id of the `repProgression` object in the metadata (`None` without one).
    pub fn rep_object_id(&self) -> Option<String> {
        self.shared
            .lock()
            .schema
            .by_plural("repProgressions")
            .map(|o| o.id.clone())
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

    /// Every stored `repProgression` record, in creation order, trashed ones included
    /// (check `deletedAt`), rendered as the API prints them (DATE_TIME values in milliseconds).
    pub fn records(&self) -> Vec<Value> {
        self.shared.rendered_rep_records(false)
    }

    /// The `repProgression` records not in the trash, rendered, in creation order.
    pub fn live_records(&self) -> Vec<Value> {
        self.shared.rendered_rep_records(true)
    }

    /// Every `repProgression` record as stored: DATE_TIME values with microseconds
    /// (`2026-11-25T14:57:22.278391Z`), trashed ones included.
    pub fn stored_records(&self) -> Vec<Value> {
        self.shared.stored_rep_records()
    }

    /// A record (e.g. from [`FakeTwenty::stored_records`]) as the API prints it.
    pub fn rendered(&self, record: &Value) -> Value {
        let now = self.shared.now_ms();
        let inner = self.shared.lock();
        timestamps::render_record(&self.shared.rep_object(&inner, now), record)
    }

    /// Another writer's update-one on a `repProgression`, with the same rules as
    /// `PATCH /rest/repProgressions/{id}`: validated, trashed records included (they stay
    /// trashed), `updatedAt` stamped unless `fields` sets it. Not counted in [`Stats`], not
    /// rate-limited, never faulted. Returns the rendered record; `None` for an unknown id.
    ///
    /// With [`TwentyProfile::June2025`] a trashed id is not found either (the REST handler's
    /// `findOneOrFail`, see `records::update_one_record`; checked on the real server).
    ///
    /// # Panics
    /// If Twenty would reject the update (unknown field, invalid value, duplicate `repEmail`);
    /// use [`FakeTwenty::try_patch_record`] to get the error instead.
    pub fn patch_record(&self, id: &str, fields: Value) -> Option<Value> {
        match self.try_patch_record(id, fields) {
            Ok(v) => Some(v),
            Err(e) if e.status == 404 || e.body.contains("EntityNotFoundError") => None,
            Err(e) => panic!("patch_record({id}) rejected: {} {}", e.status, e.body),
        }
    }

    /// [`FakeTwenty::patch_record`] returning Twenty's error (404 "Record not found" for an
    /// unknown id, June 2025 400 `EntityNotFoundError`, 400 for invalid data or a duplicate).
    pub fn try_patch_record(&self, id: &str, fields: Value) -> Result<Value, TwentyError> {
        self.shared
            .with_rep(|inner, object, now| {
                records::update_one_record(inner, object, id, &fields, now)
            })
            .unwrap_or_else(|| Err(TwentyError::record_not_found()))
    }

    /// Soft delete, as an admin's trash button (GraphQL `deleteRepProgression`, or on the newest
    /// server also `DELETE /rest/repProgressions/{id}?soft_delete=true`), not counted: stamps
    /// `deletedAt` and `updatedAt`. Works on both profiles. False for an unknown or
    /// already-trashed id.
    pub fn soft_delete(&self, id: &str) -> bool {
        self.shared
            .with_rep(|inner, object, now| records::soft_delete_row(inner, object, id, now))
            .unwrap_or(false)
    }

    /// Destroy for good (GraphQL `destroyRepProgression`; REST `DELETE` on live records), not
    /// counted; works on trashed records, on both profiles. False for an unknown id.
    pub fn destroy(&self, id: &str) -> bool {
        self.shared
            .with_rep(|inner, object, _| records::destroy_row(inner, object, id))
            .unwrap_or(false)
    }

    /// Restore, as GraphQL `restoreRepProgression` (newest: also `PATCH
    /// /rest/repProgressions/{id}/restore`), not counted: `deletedAt` null, `updatedAt` stamped.
    /// True for any known id (a live record is only re-stamped, as the real server does); false
    /// for an unknown id.
    pub fn restore(&self, id: &str) -> bool {
        self.shared
            .with_rep(|inner, object, now| records::restore_one(inner, object, id, now).is_ok())
            .unwrap_or(false)
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Seed a `repProgression` record (stored as given, DATE_TIME text normalized); returns the
    /// full record (with id, timestamps...) rendered as the API prints it.
    pub fn insert_record(&self, fields: Value) -> Value {
        self.shared.insert_record(&fields)
    }

    /// Seeds a sales team of `n` reps; see [`Shared::seed_team`] (also `POST /__fake/team`).
    pub fn seed_team(&self, n: usize) -> Vec<(String, i64)> {
        self.shared.seed_team(n)
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
mod graphql_http_tests;
#[cfg(test)]
mod profile_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trash_time_tests;
