//! The running tray process: one store connection for reads, the sync scheduler, a watcher that
//! notices other processes' writes, the control socket the panel process and second launches talk
//! to, and one refresher task that keeps the tray, the panel and the notifications in step with all
//! of them. Nothing here polls: the refresher sleeps until a
//! database write, a scheduler status change, an explicit kick, or the moment the tray's
//! "synced N min ago" text would change. What the process holds is [`crate::state::AppState`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use repxp_award_api as award_api;
use repxp_engine::netwatch;
use repxp_engine::settings::Setting;
use repxp_engine::sync::scheduler::{self, SchedulerConfig, Trigger};
use repxp_engine::sync::service::SyncService;
use repxp_engine::Store;
use tauri::{AppHandle, Manager, RunEvent};
use tokio::sync::mpsc;

use crate::desktop_notify::Notifier;
use crate::notices::{Notice, NoticeKind, Notices};
use crate::overview::{self, KeyView};
use crate::panel_host::{self, PanelHost};
use crate::state::AppState;
use crate::tray;
use repxp_control::Push;

/// Shows notices in order, off the async workers (each is a D-Bus round trip).
fn show_notices(notifier: &Arc<Notifier>, notices: Vec<Notice>) {
    if notices.is_empty() {
        return;
    }
    let notifier = notifier.clone();
    tauri::async_runtime::spawn_blocking(move || {
        for n in &notices {
            notifier.show(n);
        }
    });
}

/// A web page asking to pair: one notification per request (the rep answers in the panel), and a
/// redraw whenever a page asks or the rep answers, so the panel shows it at once.
async fn ask_the_rep(app: AppHandle, desk: award_api::WebDesk) {
    let state = app.state::<AppState>();
    let mut changes = desk.changes();
    let _ = state.web.set(desk.clone());
    let mut announced: Option<String> = None;
    loop {
        let asking = desk.waiting();
        if asking.is_some() && asking != announced {
            let notifications = state
                .store
                .lock()
                .ok()
                .and_then(|s| s.flag(Setting::Notifications, true).ok())
                .unwrap_or(true);
            if let (Some(origin), true) = (&asking, notifications) {
                show_notices(
                    &state.notifier,
                    vec![Notice {
                        kind: NoticeKind::Question,
                        title: "A web page wants to send XP".into(),
                        body: format!(
                            "{origin} asks to send XP to RepXP. Open RepXP to allow or deny it."
                        ),
                    }],
                );
            }
        }
        announced = asking;
        let _ = state.kick.send(());
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// The one task that redraws. It waits for a kick (database write, command), a scheduler status
/// change or the next moment the tray text changes; bursts of writes are folded into one redraw.
async fn refresher(app: AppHandle, mut kicks: mpsc::UnboundedReceiver<()>, started: Instant) {
    let state = app.state::<AppState>();
    let panel = app.state::<PanelHost>();
    let mut status = state.scheduler.subscribe();
    let mut notices = Notices::new(started);
    let mut last_sent = String::new();
    let mut newest: Option<Option<String>> = None;
    let mut credentials: Option<String> = None;
    loop {
        let mut next_wake = None;
        // `repxp-cli connect` in another process: new URL, email or key reach this tray.
        if let Some(stamp) = state.credentials_stamp() {
            if credentials.as_ref().is_some_and(|c| *c != stamp) {
                tracing::info!("credentials changed by another process");
                state.scheduler.trigger(Trigger::CredentialsChanged);
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    app.state::<AppState>().refresh_key().await;
                });
            }
            credentials = Some(stamp);
        }
        match state.overview(&app) {
            Ok(o) => {
                // A new local event (CLI, dialer) means "push soon"; a sync's own bookkeeping
                // writes do not, or every sync would schedule the next.
                let top = overview::newest_event(&o);
                if newest.as_ref().is_some_and(|n| *n != top) {
                    state.scheduler.trigger(Trigger::LocalChange);
                }
                newest = Some(top);
                tray::update(&app, &o);
                let json = overview::overview_json(&o);
                if json != last_sent && panel.has_subscribers() {
                    match serde_json::to_value(&o) {
                        Ok(overview) => panel.send(&Push::Overview { overview }),
                        Err(e) => tracing::warn!(error = %e, "cannot encode the overview"),
                    }
                    last_sent = json;
                }
                let now = Instant::now();
                show_notices(
                    &state.notifier,
                    notices.observe(&o, now, o.settings.notifications),
                );
                next_wake = [
                    overview::next_text_change(o.sync.last_success_at.as_deref(), overview::now()),
                    notices.grace_left(now),
                ]
                .into_iter()
                .flatten()
                .min();
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the progression"),
        }
        tokio::select! {
            k = kicks.recv() => {
                if k.is_none() {
                    return;
                }
                // Fold a burst (a WAL write is several inotify events) into one redraw.
                tokio::time::sleep(Duration::from_millis(60)).await;
                while kicks.try_recv().is_ok() {}
            }
            r = status.changed() => {
                if r.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(next_wake.unwrap_or(Duration::ZERO)), if next_wake.is_some() => {}
        }
    }
}

/// Starts the tray app; returns when the rep quits. `lock` and `control` come from
/// [`repxp_control::claim`]: this process is the tray for `data_dir`.
pub fn run(
    data_dir: PathBuf,
    open_panel: bool,
    context: tauri::Context,
    lock: repxp_engine::instance::InstanceLock,
    control: repxp_control::Listener,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // Fail before any window machinery if the database cannot be opened (newer schema, corrupt).
    let store = Store::open_dir(&data_dir)
        .with_context(|| format!("cannot open RepXP's data in {}", data_dir.display()))?;
    let paused = store.flag(Setting::SyncPaused, false)?;
    // No window and no commands here: the panel runs in its own process (panel.rs).
    let builder = tauri::Builder::default().plugin(tauri_plugin_autostart::Builder::new().build());
    // Notifications on Windows and macOS (desktop_notify.rs); Linux talks to D-Bus itself.
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(tauri_plugin_notification::init());
    let app = builder
        .setup(move |app| {
            // A menu-bar app: no Dock icon, no app menu (Info.plist's LSUIElement says the same
            // for the bundle, before this line runs).
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            let handle = app.handle().clone();
            let sync_dir = data_dir.clone();
            let (scheduler, _join) = tauri::async_runtime::block_on(async move {
                scheduler::spawn(
                    SyncService::new(sync_dir),
                    SchedulerConfig::default(),
                    None,
                )
            });
            if paused {
                scheduler.trigger(Trigger::SetPaused(true));
            }
            // Back on a network: a sync waiting out its backoff retries now.
            let on_network = scheduler.clone();
            if let Err(e) = netwatch::watch(Duration::from_secs(2), move || {
                on_network.trigger(Trigger::NetworkUp);
            }) {
                tracing::warn!(error = %e, "no network watch: offline retries follow the backoff timer only");
            }
            let (kick, kicks) = mpsc::unbounded_channel();
            let watch_kick = kick.clone();
            let watcher = match repxp_engine::db_watch::watch(&data_dir, move || {
                let _ = watch_kick.send(());
            }) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the database: CLI awards show up at the next sync");
                    None
                }
            };
            app.manage(AppState {
                data_dir: data_dir.clone(),
                store: Mutex::new(store),
                scheduler,
                key: Mutex::new(KeyView {
                    stored: false,
                    source: None,
                    keychain_error: None,
                }),
                kick,
                notifier: Arc::new(Notifier::new(&handle)),
                team: tokio::sync::Mutex::new(None),
                _watcher: Mutex::new(watcher),
                _instance_lock: lock,
                web: std::sync::OnceLock::new(),
            });
            app.manage(PanelHost::new(data_dir.clone()));
            let state = app.state::<AppState>();
            let first = state.overview(&handle).map_err(anyhow::Error::msg)?;
            tray::create(&handle, &first)?;
            tracing::info!(ms = started.elapsed().as_millis() as u64, "tray ready");
            tauri::async_runtime::spawn(refresher(handle.clone(), kicks, started));
            let web_handle = handle.clone();
            tauri::async_runtime::spawn(award_api::serve_from_env_with(
                data_dir.clone(),
                move |desk| {
                    tauri::async_runtime::spawn(ask_the_rep(web_handle, desk));
                },
            ));
            tauri::async_runtime::spawn(panel_host::serve(handle.clone(), control));
            let key_handle = handle.clone();
            tauri::async_runtime::spawn(async move {
                key_handle.state::<AppState>().refresh_key().await;
            });
            if open_panel {
                app.state::<PanelHost>().open();
            }
            Ok(())
        })
        .build(context)
        .context("cannot start the desktop app")?;
    app.run(|app, event| match event {
        // The tray app lives without windows: closing the panel must not quit it.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        // macOS starts no second process when the rep opens RepXP again from Finder, Spotlight or
        // Launchpad: the running app gets "reopen", and a second launch means "show the panel".
        #[cfg(target_os = "macos")]
        RunEvent::Reopen { .. } => app.state::<PanelHost>().open(),
        RunEvent::Exit => {
            if let Some(s) = app.try_state::<AppState>() {
                s.scheduler.trigger(Trigger::Shutdown);
            }
        }
        _ => {}
    });
    Ok(())
}
