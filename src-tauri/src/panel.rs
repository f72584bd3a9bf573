//! The panel process (`repxp --panel-process`, started by the tray): one window, the page's
//! commands relayed to the tray process over the control socket (commands.rs's relay through
//! [`PanelLink`]), overviews from the tray emitted to the page as events. It exits when its window
//! closes or the tray process goes away, so a closed panel costs nothing.
//!
//! The tray's first overview is read before the window exists and handed to the page with it
//! (window.rs), so the first paint already shows the rep's XP instead of a "Loading…" page that
//! waits for a round trip through two processes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tauri::{AppHandle, Emitter, Manager};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use crate::commands::{self, OVERVIEW_EVENT};
use crate::window;
use repxp_control::link::PanelLink;
use repxp_control::{self as control, Push, Request};

/// Runs the panel until its window closes. Fails at once if no tray process runs.
pub fn run(data_dir: PathBuf, context: tauri::Context) -> anyhow::Result<()> {
    // Tauri would panic in its setup hook instead (the tray asks first; this is for a panel
    // process started by hand).
    if let Some(why) = window::missing_webview() {
        anyhow::bail!("{why}");
    }
    // On Tauri's own runtime, so the stream's reactor is the one its tasks run on.
    let (lines, write, first) = tauri::async_runtime::block_on(async {
        let stream = control::connect(&data_dir).await?;
        let (read, mut write) = tokio::io::split(stream);
        let subscribe = format!("{}\n", control::line(&Request::Subscribe));
        write.write_all(subscribe.as_bytes()).await?;
        let mut lines = BufReader::new(read).lines();
        let first = tokio::time::timeout(FIRST_OVERVIEW_WAIT, lines.next_line())
            .await
            .ok()
            .and_then(|line| line.ok().flatten());
        anyhow::Ok((lines, write, first))
    })
    .context("RepXP's tray is not running; start RepXP")?;
    // Anything but an overview (the tray could not build one) is handled like every later line.
    let (overview, early) = match first.as_deref().map(serde_json::from_str::<Push>) {
        Some(Ok(Push::Overview { overview })) => (Some(overview), None),
        _ => (None, first),
    };
    let app = tauri::Builder::default()
        .invoke_handler(commands::invoke_handler())
        .setup(move |app| {
            // The panel belongs to the menu-bar app: no Dock icon of its own.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            let (out, outgoing) = mpsc::unbounded_channel();
            app.manage(PanelLink::new(out));
            window::create(app.handle(), overview.as_ref())?;
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                if let Some(text) = early {
                    handle_push(&handle, &text);
                }
                link(handle, lines, write, outgoing).await
            });
            Ok(())
        })
        .build(context)
        .context("cannot start the panel")?;
    // Default run loop: the last window closing ends the process.
    app.run(|_, _| {});
    Ok(())
}

/// How long the window waits for the tray's first overview. The tray answers a subscription at
/// once (a few ms); if it is busy, the page opens without it and asks for one itself.
const FIRST_OVERVIEW_WAIT: Duration = Duration::from_millis(300);

/// Carries requests out and overviews, focus requests and answers in, until the tray goes away.
/// The subscription went out before the window was made (see [`run`]).
async fn link(
    app: AppHandle,
    mut lines: Lines<BufReader<ReadHalf<control::ClientStream>>>,
    mut write: WriteHalf<control::ClientStream>,
    mut outgoing: mpsc::UnboundedReceiver<String>,
) {
    let writer = tauri::async_runtime::spawn(async move {
        while let Some(mut text) = outgoing.recv().await {
            text.push('\n');
            if write.write_all(text.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    while let Ok(Some(text)) = lines.next_line().await {
        handle_push(&app, &text);
    }
    writer.abort();
    tracing::info!("the tray process ended; closing the panel");
    app.exit(0);
}

fn handle_push(app: &AppHandle, text: &str) {
    match serde_json::from_str::<Push>(text) {
        Ok(Push::Overview { overview }) => {
            if let Err(e) = app.emit_to(window::LABEL, OVERVIEW_EVENT, overview) {
                tracing::warn!(error = %e, "cannot update the panel");
            }
        }
        Ok(Push::Focus) => window::focus(app),
        Ok(Push::Reply { id, result }) => app.state::<PanelLink>().answer(id, result),
        Err(e) => tracing::warn!(error = %e, "control socket: unreadable message"),
    }
}
