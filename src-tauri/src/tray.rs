//! The tray icon and its menu. On Linux the tray shows no tooltip and delivers no clicks, so the
//! menu's first (disabled) line carries the facts.

use std::path::PathBuf;

use anyhow::Context;
use repxp_engine::display::{relative, thousands};
use repxp_engine::{timefmt, Store};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{image::Image, RunEvent};

const TRAY_ID: &str = "repxp";

/// "1,240 XP · Level 7 · synced 2 min ago"
fn summary_line(store: &Store) -> anyhow::Result<String> {
    let view = store.progression()?;
    let configured = store.is_configured()?;
    let state = store.sync_state(configured, view.pending)?;
    let last = store.sync_record()?.last_success_at;
    let when = if configured {
        format!(" {}", relative(last.as_deref(), timefmt::now()))
    } else {
        String::new()
    };
    Ok(format!(
        "{} XP · Level {} · {}{}",
        thousands(view.xp),
        view.level.level,
        state.label(),
        when
    ))
}

pub fn run(data_dir: PathBuf) -> anyhow::Result<()> {
    let store = Store::open_dir(&data_dir)?;
    let line = summary_line(&store)?;
    let app = tauri::Builder::default()
        .setup(move |app| {
            let summary = MenuItem::with_id(app, "summary", &line, false, None::<&str>)?;
            let quit = MenuItem::with_id(app, "quit", "Quit RepXP", true, None::<&str>)?;
            let sep = PredefinedMenuItem::separator(app)?;
            let menu = Menu::with_items(app, &[&summary, &sep, &quit])?;
            let icon = Image::from_bytes(include_bytes!("../../icons/tray-synced.png"))?;
            TrayIconBuilder::with_id(TRAY_ID)
                .icon(icon)
                .tooltip(&line)
                .menu(&menu)
                .on_menu_event(|app, event| {
                    if event.id().as_ref() == "quit" {
                        app.exit(0);
                    }
                })
                .build(app)?;
            tracing::info!("tray ready");
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot start the desktop app")?;
    app.run(|_app, event| {
        // The tray app lives without windows: closing the panel must not quit it.
        if let RunEvent::ExitRequested {
            api, code: None, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    Ok(())
}
