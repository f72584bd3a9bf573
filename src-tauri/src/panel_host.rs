//! The tray process's side of the panel: starts the panel process on demand (one at a time),
//! serves the control socket, runs the page's relayed commands (commands.rs's `dispatch` to
//! handlers.rs's handlers), and sends every new overview to the open panel. [`PanelHost`] is Tauri
//! state of its own. Nothing here runs while no panel is open and nobody connects.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Manager};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::commands;
use crate::handlers::TrayHandlers;
use crate::state::AppState;
use repxp_control::{self as control, Push, Request};

/// The command-line flag that makes `repxp` the panel process.
pub const PANEL_PROCESS_FLAG: &str = "--panel-process";

pub struct PanelHost {
    data_dir: PathBuf,
    running: Arc<AtomicBool>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<String>>>,
    /// What the last panel process loaded that the next one should have first (loader_order.rs).
    #[cfg(target_os = "linux")]
    panel_libraries: Arc<Mutex<Vec<PathBuf>>>,
}

impl PanelHost {
    pub fn new(data_dir: PathBuf) -> PanelHost {
        PanelHost {
            data_dir,
            running: Arc::new(AtomicBool::new(false)),
            subscribers: Mutex::new(Vec::new()),
            #[cfg(target_os = "linux")]
            panel_libraries: Arc::default(),
        }
    }

    /// Shows the panel: raises the running panel process, or starts one.
    pub fn open(&self) {
        if self.running.swap(true, Ordering::SeqCst) {
            self.send(&Push::Focus);
            return;
        }
        if let Some(why) = crate::window::missing_webview() {
            self.running.store(false, Ordering::SeqCst);
            tracing::warn!("{why}");
            return;
        }
        let started = std::env::current_exe().and_then(|exe| {
            let mut command = std::process::Command::new(exe);
            command
                .arg("--data-dir")
                .arg(&self.data_dir)
                .arg(PANEL_PROCESS_FLAG)
                .stdin(Stdio::null());
            software_rendering(&mut command);
            #[cfg(target_os = "linux")]
            if let Ok(libs) = self.panel_libraries.lock() {
                crate::loader_order::apply(&mut command, &libs);
            }
            command.spawn()
        });
        match started {
            Ok(mut child) => {
                tracing::info!(pid = child.id(), "panel process started");
                #[cfg(target_os = "linux")]
                self.note_panel_libraries(child.id());
                let running = self.running.clone();
                // Blocked in wait(): no CPU; reaps the child so it never lingers as a zombie.
                let waiter =
                    std::thread::Builder::new()
                        .name("panel-wait".into())
                        .spawn(move || {
                            let status = child.wait();
                            running.store(false, Ordering::SeqCst);
                            tracing::info!(?status, "panel process ended");
                        });
                if let Err(e) = waiter {
                    tracing::warn!(error = %e, "cannot watch the panel process");
                }
            }
            Err(e) => {
                self.running.store(false, Ordering::SeqCst);
                tracing::warn!(error = %e, "cannot start the panel process");
            }
        }
    }

    /// Once the panel has set up its page (EGL included), what it loaded is in its maps.
    #[cfg(target_os = "linux")]
    fn note_panel_libraries(&self, pid: u32) {
        const SET_UP: std::time::Duration = std::time::Duration::from_secs(5);
        let libs = self.panel_libraries.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(SET_UP).await;
            // A panel closed within SET_UP may have left its pid to another program.
            if !crate::loader_order::runs_this_binary(pid) {
                return;
            }
            let found = crate::loader_order::loaded_by(pid);
            if let (false, Ok(mut l)) = (found.is_empty(), libs.lock()) {
                *l = found;
            }
        });
    }

    pub fn has_subscribers(&self) -> bool {
        self.subscribers
            .lock()
            .map(|s| !s.is_empty())
            .unwrap_or(false)
    }

    /// Sends to every connected panel; drops the ones that went away.
    pub fn send(&self, p: &Push) {
        let text = control::line(p);
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.retain(|s| s.send(text.clone()).is_ok());
        }
    }

    fn subscribe(&self, tx: mpsc::UnboundedSender<String>) {
        if let Ok(mut subs) = self.subscribers.lock() {
            // Panels that closed while nothing changed were never pruned by a send.
            subs.retain(|s| !s.is_closed());
            subs.push(tx);
        }
    }
}

/// WebKitGTK composites every page with OpenGL by default. Creating that context is the slowest
/// part of opening a web view (and a GL context per web process costs memory); a 380 px panel of
/// text, a bar and one pulsing dot gains nothing from it, so the panel draws in software. A rep
/// who sets the variable themselves keeps their choice. (WebView2 and WKWebView have no such
/// switch and need none.)
fn software_rendering(command: &mut std::process::Command) {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if cfg!(target_os = "linux") && std::env::var_os(VAR).is_none() {
        command.env(VAR, "1");
    }
}

/// Accepts control connections for the app's lifetime.
pub async fn serve(app: AppHandle, listener: control::Listener) {
    let mut incoming = match listener.incoming() {
        Ok(l) => l,
        Err(e) => {
            return tracing::warn!(error = %e, "no control socket: a second launch cannot open the panel")
        }
    };
    loop {
        match incoming.next().await {
            Ok((stream, true)) => {
                tauri::async_runtime::spawn(connection(app.clone(), stream));
            }
            Ok((_, false)) => tracing::warn!("control socket: refused another user"),
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

async fn connection(app: AppHandle, stream: control::ServerStream) {
    let (read, mut write) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tauri::async_runtime::spawn(async move {
        while let Some(mut text) = rx.recv().await {
            text.push('\n');
            if write.write_all(text.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        let panel = app.state::<PanelHost>();
        match serde_json::from_str::<Request>(&text) {
            Ok(Request::OpenPanel) => {
                panel.open();
                let _ = tx.send(control::line(&Push::Reply {
                    id: 0,
                    result: Ok(serde_json::Value::Null),
                }));
            }
            Ok(Request::Subscribe) => {
                if let Ok(o) = app.state::<AppState>().overview(&app) {
                    let _ = tx.send(control::line(&Push::Overview {
                        overview: serde_json::to_value(&o).unwrap_or_default(),
                    }));
                }
                panel.subscribe(tx.clone());
            }
            Ok(Request::Call { id, command }) => {
                let (handlers, tx) = (TrayHandlers::new(app.clone()), tx.clone());
                tauri::async_runtime::spawn(async move {
                    let result = commands::dispatch(&handlers, command).await;
                    let _ = tx.send(control::line(&Push::Reply { id, result }));
                });
            }
            Err(e) => tracing::warn!(error = %e, "control socket: unreadable request"),
        }
    }
    // The panel went away: stop writing, so its subscription is dropped at the next send.
    writer.abort();
}
