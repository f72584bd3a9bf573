//! The Twenty a suite runs against: the fake (each test its own, of the profile
//! `FAKE_TWENTY_VERSION` names), or the real server `make test-twenty` started
//! (`REPXP_REAL_TWENTY_URL`), shared by every test of the run, behind a fault proxy of the
//! test's own. The same steps, the same assertions: what the fake claims is checked against
//! Twenty itself.
//!
//! On the real server, tests run side by side in one workspace, so each gets its own reps
//! ([`Server::rep`] tags the email) and its own proxy (so request counts are its own). A test
//! that changes the workspace itself (drops the object, turns on a feature flag) holds the
//! [`Server::exclusive`] lock while the others wait.

use std::process::Command;
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind, FaultProxy};
use serde_json::{json, Value};

use super::laptops::{profile_from_env, twenty_with, Endpoint, Twenty, CLI};
use super::real::{RealTwenty, Who};

/// Readers: tests that use the workspace as it is; the writer: a test that changes it.
static WORKSPACE: RwLock<()> = RwLock::new(());
/// The Rep progressions object exists (made once per run by `doctor --fix`).
static OBJECT_READY: OnceLock<()> = OnceLock::new();

enum Guard {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

pub struct Real {
    pub twenty: RealTwenty,
    pub proxy: FaultProxy,
    tag: String,
    rt: tokio::runtime::Runtime,
    /// A test gave the guest a role (and turned permissions V2 on): undone when it ends, even
    /// by a failed assertion, before the other tests go on.
    pub roles_changed: std::cell::Cell<bool>,
    _guard: Guard,
}

impl Drop for Real {
    fn drop(&mut self) {
        if self.roles_changed.get() {
            self.rt.block_on(self.twenty.guest_back_to_guest());
        }
    }
}

pub enum Server {
    Fake(Twenty),
    Real(Real),
}

/// The Twenty of this run: the real one if `REPXP_REAL_TWENTY_URL` is set, else a fake of the
/// profile `FAKE_TWENTY_VERSION` names.
pub fn server() -> Server {
    server_with(FakeConfig::for_profile(profile_from_env()))
}

/// [`server`], with this configuration when the fake is used.
pub fn server_with(cfg: FakeConfig) -> Server {
    match RealTwenty::from_env() {
        Some(twenty) => Server::Real(Real::new(twenty, false)),
        None => Server::Fake(twenty_with(cfg)),
    }
}

impl Real {
    fn new(twenty: RealTwenty, exclusive: bool) -> Real {
        let guard = if exclusive {
            Guard::Exclusive(WORKSPACE.write().unwrap_or_else(|p| p.into_inner()))
        } else {
            Guard::Shared(WORKSPACE.read().unwrap_or_else(|p| p.into_inner()))
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let proxy = rt
            .block_on(FaultProxy::start(&twenty.url))
            .expect("fault proxy");
        let tag: String = (0..6)
            .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
            .collect();
        let real = Real {
            twenty,
            proxy,
            tag,
            rt,
            roles_changed: std::cell::Cell::new(false),
            _guard: guard,
        };
        if !exclusive {
            OBJECT_READY.get_or_init(|| real.make_object());
        }
        real
    }

    /// `repxp-cli doctor --fix`, as an admin sets up a workspace.
    pub fn make_object(&self) {
        if self.rt.block_on(self.twenty.object_id()).is_some() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(CLI)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["doctor", "--fix"])
            .env("REPXP_TWENTY_URL", &self.twenty.url)
            .env("REPXP_REP_EMAIL", "admin@acme.test")
            .env("REPXP_TWENTY_API_KEY", self.twenty.token(Who::ApiKey))
            .env("REPXP_STATE_DIR", dir.path().join("state"))
            .output()
            .expect("doctor --fix");
        assert!(
            out.status.success(),
            "doctor --fix: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Endpoint for Server {
    fn url(&self) -> String {
        match self {
            Server::Fake(t) => t.fake.url(),
            Server::Real(r) => r.proxy.url(),
        }
    }

    fn api_key(&self) -> String {
        match self {
            Server::Fake(t) => t.fake.api_key(),
            Server::Real(r) => r.twenty.token(Who::ApiKey),
        }
    }

    /// The real Twenty builds a workspace's GraphQL schema anew after its data model changed
    /// (a test dropped and made the object): its first answers then take seconds.
    fn http_timeout_ms(&self) -> u64 {
        match self {
            Server::Fake(_) => 2_000,
            Server::Real(_) => 10_000,
        }
    }
}

impl Server {
    /// The real server, alone: the other tests wait until this one ends. For a test that
    /// changes the workspace itself.
    pub fn exclusive() -> Option<Server> {
        RealTwenty::from_env().map(|t| Server::Real(Real::new(t, true)))
    }

    pub fn is_real(&self) -> bool {
        matches!(self, Server::Real(_))
    }

    pub fn fake(&self) -> Option<&FakeTwenty> {
        match self {
            Server::Fake(t) => Some(&t.fake),
            Server::Real(_) => None,
        }
    }

    pub fn real(&self) -> Option<&Real> {
        match self {
            Server::Real(r) => Some(r),
            Server::Fake(_) => None,
        }
    }

    /// A rep of this test: on the shared real server, `ana@acme.test` becomes
    /// `ana.<tag>@acme.test` (case kept), so tests never meet each other's reps.
    pub fn rep(&self, email: &str) -> String {
        match (self, email.split_once('@')) {
            (Server::Real(r), Some((local, domain))) => format!("{local}.{}@{domain}", r.tag),
            _ => email.to_string(),
        }
    }

    /// Requests that reached Twenty from the laptops (not the test's own writes).
    pub fn requests(&self) -> u64 {
        match self {
            Server::Fake(t) => t.fake.stats().total,
            Server::Real(r) => r.proxy.stats().total,
        }
    }

    pub fn set_fault(&self, fault: Fault) {
        match self {
            Server::Fake(t) => t.fake.set_fault(fault),
            Server::Real(r) => r.proxy.set_fault(fault),
        }
    }

    pub fn clear_faults(&self) {
        match self {
            Server::Fake(t) => t.fake.clear_faults(),
            Server::Real(r) => r.proxy.clear_faults(),
        }
    }

    /// Another writer creates a record (an import, the academy).
    pub fn insert_record(&self, fields: Value) -> Value {
        match self {
            Server::Fake(t) => t.fake.insert_record(fields),
            Server::Real(r) => r.block_on(r.twenty.insert(&fields)),
        }
    }

    /// Many records at once (an import).
    pub fn insert_many(&self, records: &[Value]) {
        match self {
            Server::Fake(t) => {
                for r in records {
                    t.fake.insert_record(r.clone());
                }
            }
            Server::Real(r) => r.block_on(r.twenty.insert_many(records)),
        }
    }

    /// The network between the laptops and Twenty goes down (connections refused) or back up.
    pub fn set_down(&self, down: bool) {
        match self {
            Server::Fake(t) if down => t
                .fake
                .set_fault(Fault::always(FaultKind::RefuseConnections)),
            Server::Fake(t) => t.fake.clear_faults(),
            Server::Real(r) => r.proxy.set_down(down),
        }
    }

    /// Another writer sets fields of a record without any compare-and-set (an admin in
    /// Twenty's UI, the academy).
    pub fn patch_record(&self, id: &str, fields: Value) -> Value {
        match self {
            Server::Fake(t) => t
                .fake
                .patch_record(id, fields.clone())
                .unwrap_or_else(|| panic!("patch {id} {fields}")),
            Server::Real(r) => r.block_on(r.twenty.patch(id, &fields)),
        }
    }

    /// An admin moves the record to the trash.
    pub fn soft_delete(&self, id: &str) -> bool {
        match self {
            Server::Fake(t) => t.fake.soft_delete(id),
            Server::Real(r) => r.block_on(r.twenty.trash_op("delete", id)),
        }
    }

    /// An admin restores it from the trash.
    pub fn restore(&self, id: &str) -> bool {
        match self {
            Server::Fake(t) => t.fake.restore(id),
            Server::Real(r) => r.block_on(r.twenty.trash_op("restore", id)),
        }
    }

    /// An admin destroys it for good.
    pub fn destroy(&self, id: &str) -> bool {
        match self {
            Server::Fake(t) => t.fake.destroy(id),
            Server::Real(r) => r.block_on(r.twenty.trash_op("destroy", id)),
        }
    }

    /// Every record whose email is `email`, compared as RepXP does (trimmed, case-folded),
    /// live and trashed.
    pub fn records_of(&self, email: &str) -> Vec<Value> {
        let all = match self {
            Server::Fake(t) => t.fake.records(),
            Server::Real(r) => {
                let local = email.split('@').next().unwrap_or(email);
                r.block_on(r.twenty.records_like(local))
            }
        };
        all.into_iter()
            .filter(|rec| {
                let e = rec["repEmail"]
                    .as_str()
                    .or_else(|| rec["repEmail"]["primaryEmail"].as_str());
                e.is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
            })
            .collect()
    }

    /// The rep's live records (not in the trash).
    pub fn live(&self, email: &str) -> Vec<Value> {
        self.records_of(email)
            .into_iter()
            .filter(|r| r["deletedAt"].is_null())
            .collect()
    }

    pub fn only(&self, email: &str) -> Value {
        let recs = self.live(email);
        assert_eq!(recs.len(), 1, "one live record for {email}: {recs:?}");
        recs.into_iter().next().expect("one")
    }

    pub fn record_id(&self, email: &str) -> String {
        self.only(email)["id"].as_str().expect("id").to_string()
    }

    pub fn xp_of(&self, email: &str) -> i64 {
        self.only(email)["totalXp"].as_i64().expect("totalXp")
    }
}

/// Record fields as an import writes them: `repEmail` and the given values.
pub fn fields(email: &str, more: Value) -> Value {
    let mut f = json!({"repEmail": email});
    if let (Some(o), Some(m)) = (f.as_object_mut(), more.as_object()) {
        o.extend(m.clone());
    }
    f
}
