//! `repxp-cli run`: the tray app's sync without the tray, for a dialer on a server or a rep who
//! quit the tray. Without it, awards recorded while no tray runs wait in the queue until someone
//! runs `repxp-cli sync`.
//!
//! It runs what the tray runs minus the display: the sync scheduler (a push ~2 s after an award,
//! a pull every 5 minutes, backoff), the network watch, the local award API, and the database
//! watcher that turns another process's award into a push. One process per data directory runs
//! the scheduler ([`repxp_engine::instance`]): while the tray holds the data, this waits and takes
//! over when the tray quits.
//!
//! Idle, nothing polls: the scheduler sleeps until its next deadline, the watchers block in the
//! kernel, and the award API waits in accept.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use repxp_award_api as award_api;
use repxp_engine::instance::{self, Claimed, Holder, InstanceError, InstanceLock, Role};
use repxp_engine::settings::Setting;
use repxp_engine::sync::config::{self, Target};
use repxp_engine::sync::scheduler::{self, SchedulerConfig, SchedulerHandle, Trigger};
use repxp_engine::sync::service::SyncService;
use repxp_engine::{db_watch, logging, netwatch, Store, StoreError};

/// What `run` prints to stderr while the tray app holds the data directory.
pub const WAITING_FOR_TRAY: &str =
    "the RepXP tray app is running and syncs this data; waiting for it to quit";

/// What `run` prints when a starting tray app takes the sync over.
pub const HANDED_OVER: &str =
    "the RepXP tray app started and syncs this data from now on; stopping";

/// How long a stop waits for the sync in flight. A sync cut short is safe (the next start resumes
/// it exactly once), so this only spares a needless retry; systemd's stop timeout is 90 s.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// One commit is several file events (WAL frames, then the commit): read the database once per
/// burst.
const FOLD_BURST: Duration = Duration::from_millis(60);

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the sync runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen for Ctrl-C and SIGTERM: {0}")]
    Signals(std::io::Error),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    #[error("internal error: the wait for the data directory ended without an answer")]
    WaitLost,
}

/// The line printed while another process runs the sync for the data directory.
pub fn waiting_line(holder: Option<&Holder>) -> String {
    match holder {
        Some(Holder {
            role: Role::Headless,
            pid,
        }) => {
            format!("another `repxp-cli run` (pid {pid}) syncs this data; waiting for it to quit")
        }
        // Before the owner file existed only the tray locked app.lock: a holder that does not say
        // who it is is a tray of an older build.
        Some(Holder {
            role: Role::Tray, ..
        })
        | None => WAITING_FOR_TRAY.to_string(),
    }
}

/// Runs the sync for `data_dir` until Ctrl-C or SIGTERM (Ctrl-C or closing the console on
/// Windows), then returns `Ok`: a stop asked for is a clean exit, for systemd too. Prints one line
/// to `out` once this process has the data directory.
pub fn run(data_dir: &Path, out: &mut dyn Write) -> Result<(), HeadlessError> {
    // `repxp-cli` has set logging up already (then this does nothing); the desktop binary's
    // `repxp run` has not.
    let _ = logging::init(data_dir, logging::Role::Run, "info");
    // Two workers: the award API and the database watcher keep answering while a sync is busy.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("repxp-run")
        .enable_all()
        .build()
        .map_err(HeadlessError::Runtime)?;
    let ran = rt.block_on(run_inner(data_dir, out));
    // A keychain read still waiting (a locked keychain's prompt) must not hold up the exit.
    rt.shutdown_timeout(Duration::from_secs(1));
    ran
}

async fn run_inner(data_dir: &Path, out: &mut dyn Write) -> Result<(), HeadlessError> {
    // Before any wait, so a stop while waiting for the tray also ends cleanly.
    let mut stop = Stop::install().map_err(HeadlessError::Signals)?;
    let Some(lock) = claim(data_dir, &mut stop).await? else {
        tracing::info!("stopped while waiting for the data directory");
        return Ok(());
    };
    writeln!(
        out,
        "repxp-cli run: syncing {} (Ctrl-C to stop)",
        data_dir.display()
    )
    .and_then(|()| out.flush())
    .map_err(HeadlessError::Output)?;
    let ran = sync_until_stopped(data_dir, stop).await;
    // Only now: the scheduler has stopped, so the next holder never overlaps a sync of ours.
    drop(lock);
    ran
}

/// The data directory's lock, waiting for its holder to quit if need be; `None` if stopped
/// while waiting.
async fn claim(data_dir: &Path, stop: &mut Stop) -> Result<Option<InstanceLock>, HeadlessError> {
    let holder = match instance::try_claim(data_dir, Role::Headless)? {
        Claimed::Mine(lock) => return Ok(Some(lock)),
        Claimed::Held(holder) => holder,
    };
    let line = waiting_line(holder.as_ref());
    eprintln!("{line}");
    tracing::info!(?holder, "{line}");
    let (tx, rx) = oneshot::channel();
    let dir = data_dir.to_path_buf();
    // The wait blocks its thread in the kernel: a thread of its own, not an async worker, so a
    // stop can leave it behind. If the lock arrives after a stop, the send fails and the lock is
    // released with it.
    std::thread::Builder::new()
        .name("instance-wait".into())
        .spawn(move || {
            let _ = tx.send(instance::claim_waiting(&dir, Role::Headless));
        })
        .map_err(HeadlessError::Runtime)?;
    tokio::select! {
        got = rx => {
            let lock = got.map_err(|_| HeadlessError::WaitLost)??;
            tracing::info!("the previous holder quit; syncing from here");
            Ok(Some(lock))
        }
        () = stop.wait() => Ok(None),
    }
}

async fn sync_until_stopped(data_dir: &Path, mut stop: Stop) -> Result<(), HeadlessError> {
    // Opened first: a database that cannot be opened (newer schema, corrupt) fails the start with
    // its own message instead of a scheduler that fails every 5 minutes.
    let store = Store::open_dir(data_dir)?;
    let (kick, kicks) = mpsc::unbounded_channel();
    // Watching before the first look: a write between the two is then a change to compare, not a
    // write nobody saw.
    let watcher = match db_watch::watch(data_dir, move || {
        let _ = kick.send(());
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the database: awards go out with the next periodic sync");
            None
        }
    };
    // Before the scheduler starts: its first sync pushes everything recorded up to here.
    let seen = LocalState::read(&store)?;
    let (scheduler, finished) = scheduler::spawn(
        SyncService::new(data_dir.to_path_buf()),
        SchedulerConfig::default(),
        None,
    );
    if seen.paused {
        scheduler.trigger(Trigger::SetPaused(true));
        tracing::info!("sync is paused (the tray's Pause sync); awards are kept until it resumes");
    }
    let on_network = scheduler.clone();
    if let Err(e) = netwatch::watch(Duration::from_secs(2), move || {
        on_network.trigger(Trigger::NetworkUp);
    }) {
        tracing::warn!(error = %e, "no network watch: offline retries follow the backoff timer only");
    }
    let (handover, handover_asked) = oneshot::channel();
    let follower = tokio::spawn(follow_local_changes(
        store,
        seen,
        scheduler.clone(),
        kicks,
        handover,
    ));
    let awards = tokio::spawn(award_api::serve_from_env(data_dir.to_path_buf()));
    tracing::info!(data_dir = %data_dir.display(), pid = std::process::id(), "headless sync running");

    tokio::select! {
        () = stop.wait() => tracing::info!("stopping"),
        Ok(()) = handover_asked => {
            eprintln!("{HANDED_OVER}");
            tracing::info!("{HANDED_OVER}");
        }
    }
    drop(watcher);
    follower.abort();
    awards.abort();
    // The scheduler reads triggers between syncs: a sync in flight finishes first.
    scheduler.trigger(Trigger::Shutdown);
    tokio::select! {
        r = finished => if let Err(e) = r {
            tracing::warn!(error = %e, "the scheduler ended abnormally");
        },
        () = stop.wait() => tracing::warn!("stopped again: leaving the sync in flight; the next start resumes it"),
        () = tokio::time::sleep(STOP_GRACE) => tracing::warn!("the sync in flight did not finish in time; the next start resumes it"),
    }
    Ok(())
}

/// What the database says that the scheduler must hear about when another process changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalState {
    /// The newest event's id. Compared rather than reacting to every write: the sync's own
    /// bookkeeping writes wake the watcher too, and must not schedule the next sync.
    newest_event: Option<String>,
    paused: bool,
    target: Option<Target>,
    /// When `connect` last stored a key: a new key under the same URL and email.
    key_stored_at: Option<String>,
    /// A tray asked to take over.
    handover: bool,
}

impl LocalState {
    fn read(store: &Store) -> Result<LocalState, StoreError> {
        Ok(LocalState {
            newest_event: store.recent_activity(1)?.into_iter().next().map(|a| a.id),
            paused: store.flag(Setting::SyncPaused, false)?,
            target: config::target(store)?,
            key_stored_at: store.setting(Setting::KeyStoredAt)?,
            handover: store.setting(Setting::HandoverTo)?.is_some(),
        })
    }

    /// What moving from `self` to `now` asks of the scheduler.
    fn triggers_to(&self, now: &LocalState) -> Vec<Trigger> {
        let mut t = Vec::new();
        if now.newest_event != self.newest_event {
            t.push(Trigger::LocalChange);
        }
        if now.paused != self.paused {
            t.push(Trigger::SetPaused(now.paused));
            // As the tray's Resume does: what was kept during the pause goes now.
            if !now.paused {
                t.push(Trigger::SyncNow);
            }
        }
        // `repxp-cli connect` from another shell: a scheduler blocked on "not connected" or a
        // refused key waits for new credentials (the key itself lives in the keychain; connect
        // notes when it stored one).
        let credentials = now.target != self.target || now.key_stored_at != self.key_stored_at;
        if credentials && now.target.is_some() && !now.paused {
            t.push(Trigger::CredentialsChanged);
        }
        t
    }
}

/// Turns writes by other processes (CLI, dialer, award API) into scheduler triggers. Sleeps in
/// `recv` between writes.
async fn follow_local_changes(
    mut store: Store,
    mut seen: LocalState,
    scheduler: SchedulerHandle,
    mut kicks: mpsc::UnboundedReceiver<()>,
    handover: oneshot::Sender<()>,
) {
    let mut handover = Some(handover);
    while kicks.recv().await.is_some() {
        tokio::time::sleep(FOLD_BURST).await;
        while kicks.try_recv().is_ok() {}
        // SQLite may wait on its busy timeout: off the async workers.
        let read = tokio::task::spawn_blocking(move || {
            let now = LocalState::read(&store);
            (store, now)
        })
        .await;
        let now = match read {
            Ok((s, now)) => {
                store = s;
                now
            }
            Err(e) => {
                return tracing::warn!(error = %e, "database reader stopped: awards go out with the next periodic sync");
            }
        };
        match now {
            Ok(now) => {
                for t in seen.triggers_to(&now) {
                    tracing::debug!(trigger = ?t, "local change");
                    scheduler.trigger(t);
                }
                if now.handover && !seen.handover {
                    if let Some(h) = handover.take() {
                        let _ = h.send(());
                    }
                }
                seen = now;
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the database after a change"),
        }
    }
}

/// The ways a person or a service manager asks `run` to stop. Signal streams, not one-shot
/// futures: a second signal during the stop is still seen.
struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
    #[cfg(windows)]
    close: tokio::signal::windows::CtrlClose,
}

impl Stop {
    /// Must be called inside the runtime.
    fn install() -> std::io::Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Stop {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Stop {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
                close: tokio::signal::windows::ctrl_close()?,
            })
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(windows)]
        tokio::select! {
            _ = self.ctrl_c.recv() => {}
            _ = self.close.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use repxp_engine::Progress;

    use super::*;

    fn state(newest: Option<&str>, paused: bool, connected: bool) -> LocalState {
        LocalState {
            newest_event: newest.map(str::to_string),
            paused,
            target: connected.then(|| Target {
                url: "https://crm.acme.test".into(),
                email: "ana@acme.test".into(),
            }),
            key_stored_at: None,
            handover: false,
        }
    }

    #[test]
    fn a_key_stored_by_connect_under_the_same_settings_unblocks_the_scheduler() {
        let before = state(None, false, true);
        let mut after = before.clone();
        after.key_stored_at = Some("1764680000000000000".into());
        assert_eq!(
            before.triggers_to(&after),
            vec![Trigger::CredentialsChanged]
        );
    }

    #[test]
    fn only_a_new_event_asks_for_a_push() {
        let before = state(Some("a"), false, true);
        assert_eq!(before.triggers_to(&before.clone()), vec![]);
        assert_eq!(
            before.triggers_to(&state(Some("b"), false, true)),
            vec![Trigger::LocalChange]
        );
        assert_eq!(
            state(None, false, true).triggers_to(&state(Some("a"), false, true)),
            vec![Trigger::LocalChange]
        );
    }

    #[test]
    fn pause_and_resume_follow_the_setting() {
        let running = state(Some("a"), false, true);
        let paused = state(Some("a"), true, true);
        assert_eq!(running.triggers_to(&paused), vec![Trigger::SetPaused(true)]);
        assert_eq!(
            paused.triggers_to(&running),
            vec![Trigger::SetPaused(false), Trigger::SyncNow]
        );
    }

    #[test]
    fn connecting_from_another_shell_unblocks_the_scheduler() {
        assert_eq!(
            state(None, false, false).triggers_to(&state(None, false, true)),
            vec![Trigger::CredentialsChanged]
        );
        assert_eq!(
            state(None, false, true).triggers_to(&state(None, false, false)),
            vec![],
            "forgetting the settings leaves nothing to sync with"
        );
        assert_eq!(
            state(None, true, false).triggers_to(&state(None, true, true)),
            vec![],
            "paused stays paused"
        );
    }

    #[test]
    fn the_waiting_line_names_the_holder() {
        assert_eq!(
            waiting_line(Some(&Holder {
                role: Role::Tray,
                pid: 7
            })),
            WAITING_FOR_TRAY
        );
        assert_eq!(waiting_line(None), WAITING_FOR_TRAY);
        let other = waiting_line(Some(&Holder {
            role: Role::Headless,
            pid: 7,
        }));
        assert!(
            other.contains("pid 7") && other.ends_with("waiting for it to quit"),
            "{other}"
        );
    }

    #[test]
    fn the_newest_event_is_read_from_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open_dir(dir.path()).expect("open");
        let empty = LocalState::read(&store).expect("read");
        assert_eq!(empty.newest_event, None);
        assert!(!empty.paused);
        let id = store
            .record(&Progress::xp(40, None).expect("valid"), None, None)
            .expect("record")
            .id()
            .to_string();
        let after = LocalState::read(&store).expect("read");
        assert_eq!(after.newest_event.as_deref(), Some(id.as_str()));
        assert_eq!(empty.triggers_to(&after), vec![Trigger::LocalChange]);
    }
}
