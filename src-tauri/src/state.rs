//! What the tray process holds for its lifetime, as Tauri state: the store connection, the
//! scheduler, the cached keychain facts and the refresher's kick. app.rs makes it; the tray menu,
//! the panel host and the page's commands (handlers.rs) use it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use repxp_engine::secrets::{self, SecretError};
use repxp_engine::settings::Setting;
use repxp_engine::sync::config;
use repxp_engine::sync::scheduler::{SchedulerHandle, Trigger};
use repxp_engine::sync::service::SyncService;
use repxp_engine::sync_status::next_step;
use repxp_engine::team::Team;
use repxp_engine::Store;
use tauri::AppHandle;
use tauri_plugin_autostart::ManagerExt as _;
use tokio::sync::mpsc;

use crate::desktop_notify::Notifier;
use crate::overview::{self, KeyView, Overview};

pub struct AppState {
    pub data_dir: PathBuf,
    /// The app's own connection: reads for the tray and panel, settings writes.
    pub store: Mutex<Store>,
    pub scheduler: SchedulerHandle,
    /// What the keychain said last (a D-Bus round trip, so cached and refreshed on demand).
    pub(super) key: Mutex<KeyView>,
    pub(super) kick: mpsc::UnboundedSender<()>,
    pub(super) notifier: Arc<Notifier>,
    /// The last team reading, when and for which settings (see [`AppState::team`]).
    pub(super) team: tokio::sync::Mutex<Option<TeamReading>>,
    /// Keeps the database watcher alive.
    pub(super) _watcher: Mutex<Option<repxp_engine::db_watch::RecommendedWatcher>>,
    /// Held for the process's lifetime: this process is the tray for its data directory.
    pub(super) _instance_lock: repxp_engine::instance::InstanceLock,
    /// The award API's web pairing, once it listens (app.rs).
    pub(super) web: std::sync::OnceLock<repxp_award_api::WebDesk>,
}

/// How often the open panel may read the team from Twenty: the workspace's request budget is
/// shared by the whole team (about 100 a minute), and a leaderboard need not be fresher.
pub const TEAM_EVERY: Duration = Duration::from_secs(5 * 60);

/// The tray's last attempt to read the team: when, for which settings, and what it gave.
pub struct TeamReading {
    at: Instant,
    stamp: String,
    /// The last good reading for these settings (kept through a failed read).
    team: Option<Team>,
    error: Option<String>,
}

impl AppState {
    /// Asks the refresher to redraw now (after a command changed something).
    pub fn kick(&self) {
        let _ = self.kick.send(());
    }

    pub fn key_view(&self) -> KeyView {
        self.key.lock().map(|k| k.clone()).unwrap_or(KeyView {
            stored: false,
            source: None,
            keychain_error: None,
        })
    }

    pub fn overview(&self, app: &AppHandle) -> Result<Overview, String> {
        let autostart = app.autolaunch().is_enabled().unwrap_or(false);
        let key = self.key_view();
        let status = self.scheduler.status();
        let store = self
            .store
            .lock()
            .map_err(|_| "internal error: store lock")?;
        let mut o = overview::build(
            &store,
            &self.data_dir,
            &status,
            &key,
            autostart,
            overview::now(),
        )
        .map_err(|e| e.to_string())?;
        if let Some(desk) = self.web.get() {
            o.web = overview::WebPages {
                asking: desk.waiting(),
                origins: desk.origins(),
            };
        }
        Ok(o)
    }

    /// See [`config::credentials_stamp`]; `None` if the store cannot be read now.
    pub(super) fn credentials_stamp(&self) -> Option<String> {
        let store = self.store.lock().ok()?;
        config::credentials_stamp(&store)
            .map_err(|e| tracing::warn!(error = %e, "cannot read the settings"))
            .ok()
    }

    pub fn set_flag(&self, s: Setting, on: bool) -> Result<(), String> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| "internal error: store lock")?;
        store
            .set_setting(s, Some(if on { "true" } else { "false" }))
            .map_err(|e| e.to_string())
    }

    pub fn set_paused(&self, paused: bool) -> Result<(), String> {
        self.set_flag(Setting::SyncPaused, paused)?;
        self.scheduler.trigger(Trigger::SetPaused(paused));
        if !paused {
            self.scheduler.trigger(Trigger::SyncNow);
        }
        self.kick();
        Ok(())
    }

    /// The team's ranking: the last reading while it is younger than [`TEAM_EVERY`] and the
    /// settings are the same, else one read from Twenty. Read by a sync service of its own that
    /// lives only for the read (its thread and connection end with it), so a closed panel keeps
    /// nothing of it but the answer.
    pub async fn team(&self) -> Result<Team, String> {
        let team = self.read_team().await?;
        // The rep's own row as this computer knows it, pending awards included.
        let store = self
            .store
            .lock()
            .map_err(|_| "internal error: store lock")?;
        store.with_my_row(&team).map_err(|e| e.to_string())
    }

    /// At most one read of Twenty per [`TEAM_EVERY`] for the same settings, whatever its
    /// outcome (a failing Twenty is not asked again on every award); new settings or a new key
    /// read at once. A failed read answers the last good reading if there is one.
    async fn read_team(&self) -> Result<Team, String> {
        let (shown, stamp) = {
            let store = self
                .store
                .lock()
                .map_err(|_| "internal error: store lock")?;
            let shown = store
                .flag(Setting::ShowTeam, true)
                .map_err(|e| e.to_string())?;
            let stamp = config::credentials_stamp(&store).map_err(|e| e.to_string())?;
            (shown, stamp)
        };
        if !shown {
            return Err("The team view is hidden: turn it on in Settings".into());
        }
        let mut last = self.team.lock().await;
        let same = last.as_ref().is_some_and(|r| r.stamp == stamp);
        let answer = |r: &TeamReading| match (&r.team, &r.error) {
            (Some(t), _) => Ok(t.clone()),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err("internal error: no team reading".to_string()),
        };
        if let Some(r) = last
            .as_ref()
            .filter(|r| same && r.at.elapsed() < TEAM_EVERY)
        {
            return answer(r);
        }
        let kept = last.take().filter(|_| same).and_then(|r| r.team);
        let mut service = SyncService::new(self.data_dir.clone());
        let reading = match service.team().await {
            Ok(team) => TeamReading {
                at: Instant::now(),
                stamp,
                team: Some(team),
                error: None,
            },
            Err(f) => {
                let e = format!("{}. {}", f.message.trim_end_matches('.'), next_step(f.kind));
                tracing::warn!(error = %e, "cannot read the team");
                TeamReading {
                    at: Instant::now(),
                    stamp,
                    team: kept,
                    error: Some(e),
                }
            }
        };
        let out = answer(&reading);
        *last = Some(reading);
        out
    }

    /// Re-reads whether the keychain answers and whether a key is there (off the main thread).
    pub async fn refresh_key(&self) {
        let view = tauri::async_runtime::spawn_blocking(read_key_view)
            .await
            .unwrap_or_else(|e| KeyView {
                stored: false,
                source: None,
                keychain_error: Some(format!("internal error: {e}")),
            });
        if let Ok(mut k) = self.key.lock() {
            // One line when the keychain starts or stops answering (the panel shows it too).
            if view.keychain_error.is_some() && view.keychain_error != k.keychain_error {
                if let Some(e) = &view.keychain_error {
                    tracing::warn!("{e}");
                }
            }
            *k = view;
        }
        self.kick();
    }
}

/// The keychain facts the panel shows. The key itself is dropped here and goes nowhere.
fn read_key_view() -> KeyView {
    let keychain_error = secrets::keychain_available()
        .err()
        .map(|e: SecretError| e.to_string());
    match secrets::load_api_key() {
        Ok(Some((_key, source))) => KeyView {
            stored: true,
            source: Some(source),
            keychain_error,
        },
        Ok(None) => KeyView {
            stored: false,
            source: None,
            keychain_error,
        },
        Err(e) => KeyView {
            stored: false,
            source: None,
            keychain_error: keychain_error.or(Some(e.to_string())),
        },
    }
}
