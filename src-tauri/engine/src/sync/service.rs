//! One sync as the CLI and the app run it: open the store, load the settings and key, sync,
//! record the outcome where `status`, the tray and the panel read it.
//!
//! A sync makes blocking calls: SQLite statements (which may wait out `busy_timeout` behind
//! another process's write) and the keychain (which may wait on an unlock prompt). None of them
//! may stall the caller's runtime (the tray's, shared with its menu, panel relay and award API),
//! so every sync of a service runs on that service's own thread, on a small runtime of its own
//! that also keeps the HTTP connections alive between syncs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::{self, ConfigError};
use super::run::{sync_once, Mode, SyncError, SyncReport};
use super::scheduler::{Failure, SyncTask};
use crate::error_kind::ErrorKind;
use crate::secrets::{self, ApiKey, KeySource, SecretError};
use crate::settings::Setting;
use crate::store::Store;
use crate::team::Team;
use crate::twenty::client::EmailField;
use crate::twenty::{Timeouts, TwentyClient};

/// What reading the key gives: the keychain's answer, on a blocking thread.
type KeyRead = Result<Option<(ApiKey, KeySource)>, SecretError>;

/// How a sync gets the API key. The keychain may block: at login its daemon may not be up yet,
/// and a locked keychain shows an unlock prompt and waits for the rep.
pub type KeyLoader = fn() -> KeyRead;

/// How long a sync waits for the keychain before it fails as "keychain" (transient: the scheduler
/// retries) and leaves the read running for the next sync to pick up.
const KEYCHAIN_WAIT: Duration = Duration::from_secs(10);

/// Syncs on a thread of its own (see the module doc); cheap to hold while idle: the thread sleeps
/// in `recv` until the next sync.
pub struct SyncService {
    /// Until the first sync: the settings the builder methods change.
    core: Option<SyncCore>,
    thread: Option<std::sync::mpsc::Sender<Job>>,
    /// Requests this service has sent to Twenty (the fleet simulation tells a laptop's first
    /// sync from its later ones by it).
    requests: Arc<std::sync::atomic::AtomicU64>,
}

enum Job {
    Sync(Mode, oneshot::Sender<Result<SyncReport, Failure>>),
    Team(oneshot::Sender<Result<Team, Failure>>),
}

struct SyncCore {
    data_dir: PathBuf,
    timeouts: Timeouts,
    /// Reused while URL and key stay the same, so connections are kept alive between syncs.
    client: Option<(String, String, Arc<TwentyClient>)>,
    load_key: KeyLoader,
    keychain_wait: Duration,
    /// A keychain read still waiting (an unlock prompt on screen): the next sync waits on the
    /// same read instead of asking again, so the rep never sees a second prompt.
    key_read: Option<JoinHandle<KeyRead>>,
    requests: Arc<std::sync::atomic::AtomicU64>,
}

impl SyncService {
    /// `REPXP_HTTP_TIMEOUT_MS`, if set, bounds each request (slow links, tests); default 20 s.
    pub fn new(data_dir: PathBuf) -> SyncService {
        let core = SyncCore::new(data_dir);
        SyncService {
            requests: core.requests.clone(),
            core: Some(core),
            thread: None,
        }
    }

    /// HTTP requests this service's syncs and team reads have sent to Twenty so far.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn with_timeouts(mut self, t: Timeouts) -> SyncService {
        if let Some(core) = self.core.as_mut() {
            core.timeouts = t;
        }
        self
    }

    /// Another key source and wait (tests: a keychain that blocks like a locked one).
    pub fn with_key_loader(mut self, load_key: KeyLoader, wait: Duration) -> SyncService {
        if let Some(core) = self.core.as_mut() {
            core.load_key = load_key;
            core.keychain_wait = wait;
        }
        self
    }

    /// Runs one sync on the service's thread and records its outcome in the store.
    pub async fn sync(&mut self, mode: Mode) -> Result<SyncReport, Failure> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Sync(mode, reply))?;
        answer.await.unwrap_or_else(|_| Err(thread_gone()))
    }

    /// Reads the team's standing from Twenty (one request per 200 reps) on the service's thread,
    /// with the same key and connection as the syncs, and keeps today's reading for "since
    /// yesterday". Nothing is recorded as a sync failure: the team view is optional.
    pub async fn team(&mut self) -> Result<Team, Failure> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Team(reply))?;
        answer.await.unwrap_or_else(|_| Err(thread_gone()))
    }

    fn send(&mut self, job: Job) -> Result<(), Failure> {
        let jobs = match (&self.thread, self.core.take()) {
            (Some(jobs), _) => jobs.clone(),
            (None, Some(core)) => {
                let jobs = core.spawn_thread().map_err(|e| Failure {
                    message: format!("internal error: cannot start the sync thread: {e}"),
                    ..thread_gone()
                })?;
                self.thread = Some(jobs.clone());
                jobs
            }
            (None, None) => return Err(thread_gone()),
        };
        jobs.send(job).map_err(|_| thread_gone())
    }
}

fn thread_gone() -> Failure {
    Failure {
        kind: ErrorKind::Interrupted,
        message: "internal error: the sync thread ended".into(),
        transient: true,
        retry_after: None,
    }
}

impl SyncCore {
    fn new(data_dir: PathBuf) -> SyncCore {
        let mut timeouts = Timeouts::default();
        if let Some(ms) = std::env::var("REPXP_HTTP_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
        {
            timeouts.request = std::time::Duration::from_millis(ms);
            timeouts.connect = timeouts.connect.min(timeouts.request);
        }
        SyncCore {
            requests: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            data_dir,
            timeouts,
            client: None,
            load_key: secrets::load_api_key,
            keychain_wait: KEYCHAIN_WAIT,
            key_read: None,
        }
    }

    /// The thread that runs every sync of one service, one at a time, until the service is
    /// dropped. A keychain read left waiting is not waited for at the end.
    fn spawn_thread(mut self) -> std::io::Result<std::sync::mpsc::Sender<Job>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("repxp-sync".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    match job {
                        Job::Sync(mode, reply) => {
                            let _ = reply.send(rt.block_on(self.sync(mode)));
                        }
                        Job::Team(reply) => {
                            let _ = reply.send(rt.block_on(self.team()));
                        }
                    }
                }
                rt.shutdown_background();
            })?;
        Ok(jobs)
    }

    /// The key, read on a blocking thread (never on the runtime's workers), waiting at most
    /// `keychain_wait`; a read that takes longer stays pending for the next sync.
    async fn key(&mut self) -> Result<(ApiKey, KeySource), ConfigError> {
        let load = self.load_key;
        let mut read = self
            .key_read
            .take()
            .unwrap_or_else(|| tokio::task::spawn_blocking(load));
        match tokio::time::timeout(self.keychain_wait, &mut read).await {
            Err(_) => {
                self.key_read = Some(read);
                Err(ConfigError::Secret(SecretError::NotAnswering))
            }
            Ok(Err(join)) => Err(ConfigError::Secret(SecretError::Unavailable(format!(
                "the keychain read stopped: {join}"
            )))),
            Ok(Ok(answer)) => answer?.ok_or(ConfigError::NoKey),
        }
    }

    fn client(&mut self, cfg: &config::SyncConfig) -> Result<Arc<TwentyClient>, Failure> {
        if let Some((url, key, c)) = &self.client {
            if url == &cfg.target.url && key == cfg.key.expose() {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(
            TwentyClient::new(&cfg.target.url, cfg.key.clone(), self.timeouts)
                .map_err(|e| failure_of(&SyncError::Twenty(e)))?,
        );
        self.client = Some((
            cfg.target.url.clone(),
            cfg.key.expose().to_string(),
            c.clone(),
        ));
        Ok(c)
    }

    /// The settings and key of a sync or team read, or why there are none.
    async fn config(&mut self, store: &Store) -> Result<config::SyncConfig, ConfigError> {
        match config::target(store) {
            Err(e) => Err(ConfigError::Store(e)),
            Ok(None) => Err(ConfigError::NotConnected),
            Ok(Some(target)) => self
                .key()
                .await
                .map(|(key, key_source)| config::SyncConfig {
                    target,
                    key,
                    key_source,
                }),
        }
    }

    async fn team(&mut self) -> Result<Team, Failure> {
        let mut store =
            Store::open_dir(&self.data_dir).map_err(|e| failure_of(&SyncError::Store(e)))?;
        let cfg = self.config(&store).await.map_err(|e| config_failure(&e))?;
        let client = self.client(&cfg)?;
        let (records, requests) = client
            .list_team()
            .await
            .map_err(|e| failure_of(&SyncError::Twenty(e)))?;
        crate::team::read(
            &mut store,
            &cfg.target,
            &records,
            requests,
            &chrono::Local::now(),
        )
        .map_err(|e| failure_of(&SyncError::Store(e)))
    }

    async fn sync(&mut self, mode: Mode) -> Result<SyncReport, Failure> {
        let mut store =
            Store::open_dir(&self.data_dir).map_err(|e| failure_of(&SyncError::Store(e)))?;
        let cfg = self.config(&store).await;
        let outcome = match cfg {
            Err(e) => Err(config_failure(&e)),
            Ok(cfg) => {
                let client = self.client(&cfg)?;
                let known = store
                    .setting(Setting::RepEmailField)
                    .ok()
                    .flatten()
                    .and_then(|v| EmailField::parse(&v));
                if let Some(f) = known {
                    client.set_email_field(f);
                }
                let offset = store
                    .setting(Setting::ServerClockOffsetMs)
                    .ok()
                    .flatten()
                    .and_then(|v| v.parse::<i64>().ok());
                if let Some(ms) = offset {
                    client.set_clock_offset(chrono::TimeDelta::milliseconds(ms));
                }
                let sent = client.requests_sent();
                let out = sync_once(&mut store, &client, &cfg.target.email, mode)
                    .await
                    .map_err(|e| failure_of(&e));
                self.requests.fetch_add(
                    client.requests_sent().saturating_sub(sent),
                    std::sync::atomic::Ordering::Relaxed,
                );
                // And what its clock says, for the next run's first write.
                if let Some(now) = client.clock_offset().map(|d| d.num_milliseconds()) {
                    if offset != Some(now) {
                        if let Err(e) =
                            store.set_setting(Setting::ServerClockOffsetMs, Some(&now.to_string()))
                        {
                            tracing::warn!(error = %e, "could not remember Twenty's clock");
                        }
                    }
                }
                // Remember what Twenty taught us about repEmail, so the next run asks right away.
                if known != Some(client.email_field()) {
                    let value = client.email_field().as_str();
                    if let Err(e) = store.set_setting(Setting::RepEmailField, Some(value)) {
                        tracing::warn!(error = %e, "could not remember the repEmail field type");
                    }
                }
                out
            }
        };
        let recorded = match &outcome {
            Ok(_) => store.record_sync_success(),
            Err(f) => store.record_sync_failure(f.kind, &f.message, None),
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the sync outcome");
        }
        outcome
    }
}

impl SyncTask for SyncService {
    async fn sync(&mut self) -> Result<(), Failure> {
        SyncService::sync(self, Mode::Both).await.map(|_| ())
    }
}

pub fn failure_of(e: &SyncError) -> Failure {
    Failure {
        kind: e.kind(),
        message: e.to_string(),
        transient: e.is_transient(),
        retry_after: e.retry_after(),
    }
}

fn config_failure(e: &ConfigError) -> Failure {
    let kind = match e {
        ConfigError::NotConnected => ErrorKind::NotConnected,
        ConfigError::NoKey => ErrorKind::NoKey,
        ConfigError::Secret(_) => ErrorKind::Keychain,
        ConfigError::Store(_) => ErrorKind::LocalDatabase,
    };
    Failure {
        kind,
        message: e.to_string(),
        // A keychain that is locked or not up yet (login) comes back by itself: retry with the
        // backoff instead of waiting for the rep. The others need the rep (or a new setting).
        transient: matches!(e, ConfigError::Secret(_)),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    use super::*;

    static READS: AtomicUsize = AtomicUsize::new(0);
    static UNLOCKED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

    /// A keychain that waits for the rep to unlock it, as an unlock prompt does.
    fn locked_keychain() -> KeyRead {
        READS.fetch_add(1, Ordering::SeqCst);
        let (lock, cv) = &UNLOCKED;
        let mut open = lock.lock().map_err(|_| SecretError::NotAnswering)?;
        while !*open {
            open = cv.wait(open).map_err(|_| SecretError::NotAnswering)?;
        }
        Ok(ApiKey::new("k-test").map(|k| (k, KeySource::Keychain)))
    }

    /// Another process holds the database's write lock: the sync waits on SQLite's busy timeout,
    /// on its own thread. The caller's single-threaded runtime keeps running meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn a_sync_waiting_on_the_database_does_not_stall_the_callers_runtime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut other = Store::open_dir(dir.path()).expect("open");
        other
            .set_setting(Setting::TwentyUrl, Some("http://127.0.0.1:9"))
            .expect("url");
        other
            .set_setting(Setting::RepEmail, Some("ana@acme.com"))
            .expect("email");
        let writer = rusqlite::Connection::open(dir.path().join(crate::store::DB_FILE))
            .expect("second connection");
        writer
            .execute_batch("BEGIN EXCLUSIVE")
            .expect("hold the write lock");
        let mut service = SyncService::new(dir.path().to_path_buf()).with_key_loader(
            || Ok(ApiKey::new("k").map(|k| (k, KeySource::Keychain))),
            Duration::from_secs(1),
        );
        let sync = tokio::spawn(async move { service.sync(Mode::Both).await });
        let mut ticks = 0;
        while !sync.is_finished() && ticks < 20 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            ticks += 1;
        }
        assert!(
            ticks >= 20,
            "the caller's runtime ran only {ticks} ticks while the sync waited"
        );
        assert!(!sync.is_finished(), "the sync did not wait for the lock");
        writer.execute_batch("ROLLBACK").expect("release");
        let _ = tokio::time::timeout(Duration::from_secs(30), sync)
            .await
            .expect("the sync ends");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_locked_keychain_is_a_transient_failure_with_one_prompt_and_no_blocked_worker() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut store = Store::open_dir(dir.path()).expect("open");
            // Nothing listens on port 9: once the key is there the sync fails on the network.
            store
                .set_setting(Setting::TwentyUrl, Some("http://127.0.0.1:9"))
                .expect("url");
            store
                .set_setting(Setting::RepEmail, Some("ana@acme.com"))
                .expect("email");
        }
        let mut service = SyncService::new(dir.path().to_path_buf())
            .with_key_loader(locked_keychain, Duration::from_millis(100));
        // The one worker thread stays free while the keychain blocks: a timer still fires.
        let ticker = tokio::spawn(tokio::time::sleep(Duration::from_millis(10)));
        for _ in 0..2 {
            let f = service.sync(Mode::Both).await.expect_err("locked");
            assert_eq!((f.kind, f.transient), (ErrorKind::Keychain, true), "{f:?}");
        }
        tokio::time::timeout(Duration::from_secs(1), ticker)
            .await
            .expect("the runtime was not blocked")
            .expect("ticker");
        assert_eq!(READS.load(Ordering::SeqCst), 1, "one read, one prompt");
        {
            let (lock, cv) = &UNLOCKED;
            *lock.lock().expect("gate") = true;
            cv.notify_all();
        }
        let f = service.sync(Mode::Both).await.expect_err("nothing listens");
        assert_ne!(
            f.kind,
            ErrorKind::Keychain,
            "the pending read gave the key: {f:?}"
        );
        assert_eq!(
            READS.load(Ordering::SeqCst),
            1,
            "the pending read was reused"
        );
        let _ = service.sync(Mode::Both).await;
        assert_eq!(
            READS.load(Ordering::SeqCst),
            2,
            "a fresh read for the next sync"
        );
    }
}
