//! The panel process (`repxp --panel-process`, started by the tray): one window, the page's
//! commands relayed to the tray process over the control socket (commands.rs's relay through
//! [`PanelLink`]), overviews from the tray emitted to the page as events. It exits when its window
//! closes or the tray process goes away, so a closed panel costs nothing.

use std::path::PathBuf;

use anyhow::Context;
use tauri::{AppHandle, Emitter, Manager};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::commands::{self, OVERVIEW_EVENT};
use crate::control::link::PanelLink;
use crate::control::{self, Push, Request};
use crate::window;

/// Runs the panel until its window closes. Fails at once if no tray process runs.
pub fn run(data_dir: PathBuf, context: tauri::Context) -> anyhow::Result<()> {
    // On Tauri's own runtime, so the stream's reactor is the one its tasks run on.
    let stream = tauri::async_runtime::block_on(control::connect(&data_dir))
        .context("RepXP's tray is not running; start RepXP")?;
    let app = tauri::Builder::default()
        .invoke_handler(commands::invoke_handler())
        .setup(move |app| {
            // The panel belongs to the menu-bar app: no Dock icon of its own.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            let (out, outgoing) = mpsc::unbounded_channel();
            app.manage(PanelLink::new(out));
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
