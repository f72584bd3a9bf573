//! The panel process (`repxp --panel-process`, started by the tray): one window, the page's
//! commands relayed to the tray process over the control socket, overviews from the tray emitted
//! to the page as events. It exits when its window closes or the tray process goes away, so a
//! closed panel costs nothing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tauri::{AppHandle, Emitter, Manager};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::control::{self, Command, Push, Request};
use crate::{commands, window};

/// The event the page listens to; its payload is a full overview.
pub const OVERVIEW_EVENT: &str = "overview-changed";

/// test_connection alone may take a 5 s connect plus a 10 s request.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

const TRAY_GONE: &str = "RepXP's tray has stopped; start RepXP again";

/// The panel process's line to the tray process.
pub struct PanelLink {
    out: mpsc::UnboundedSender<String>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>,
    next_id: AtomicU64,
}

impl PanelLink {
    /// Relays one command and waits for the tray's answer.
    pub async fn call(&self, command: Command) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| "internal error: pending lock")?
            .insert(id, tx);
        self.out
            .send(control::line(&Request::Call { id, command }))
            .map_err(|_| TRAY_GONE)?;
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(TRAY_GONE.into()),
            Err(_) => {
                if let Ok(mut p) = self.pending.lock() {
                    p.remove(&id);
                }
                Err("RepXP did not answer within a minute; try again".into())
            }
        }
    }

    fn answer(&self, id: u64, result: Result<Value, String>) {
        let waiter = self.pending.lock().ok().and_then(|mut p| p.remove(&id));
        if let Some(w) = waiter {
            let _ = w.send(result);
        }
    }
}

/// Runs the panel until its window closes. Fails at once if no tray process runs.
pub fn run(data_dir: PathBuf, context: tauri::Context) -> anyhow::Result<()> {
    // On Tauri's own runtime, so the stream's reactor is the one its tasks run on.
    let stream = tauri::async_runtime::block_on(control::connect(&data_dir))
        .context("RepXP's tray is not running; start RepXP")?;
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            commands::get_overview,
            commands::save_settings,
            commands::test_connection,
            commands::sync_now,
            commands::set_paused,
            commands::set_notifications,
            commands::set_autostart,
            commands::resolve_held,
        ])
        .setup(move |app| {
            // The panel belongs to the menu-bar app: no Dock icon of its own.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            let (out, outgoing) = mpsc::unbounded_channel();
            app.manage(PanelLink {
                out,
                pending: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
            });
            tauri::async_runtime::spawn(link(app.handle().clone(), stream, outgoing));
            window::create(app.handle())?;
            Ok(())
        })
        .build(context)
        .context("cannot start the panel")?;
    // Default run loop: the last window closing ends the process.
    app.run(|_, _| {});
    Ok(())
}

/// Carries requests out and overviews, focus requests and answers in, until the tray goes away.
async fn link(
    app: AppHandle,
    stream: control::ClientStream,
    mut outgoing: mpsc::UnboundedReceiver<String>,
) {
    let (read, mut write) = tokio::io::split(stream);
    let writer = tauri::async_runtime::spawn(async move {
        let mut text = control::line(&Request::Subscribe);
        loop {
            text.push('\n');
            if write.write_all(text.as_bytes()).await.is_err() {
                break;
            }
            match outgoing.recv().await {
                Some(t) => text = t,
                None => break,
            }
        }
    });
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        match serde_json::from_str::<Push>(&text) {
            Ok(Push::Overview { overview }) => {
                if let Err(e) = app.emit_to(window::LABEL, OVERVIEW_EVENT, overview) {
                    tracing::warn!(error = %e, "cannot update the panel");
                }
            }
            Ok(Push::Focus) => window::focus(&app),
            Ok(Push::Reply { id, result }) => app.state::<PanelLink>().answer(id, result),
            Err(e) => tracing::warn!(error = %e, "control socket: unreadable message"),
        }
    }
    writer.abort();
    tracing::info!("the tray process ended; closing the panel");
    app.exit(0);
}
