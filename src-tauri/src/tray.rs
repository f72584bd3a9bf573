//! The tray icon and its menu. On Linux the tray shows no tooltip and delivers no clicks
//! (tray-icon #104), so the menu itself carries the facts: a disabled summary line, a disabled
//! detail line (the queue or the error), then the actions. The icon shows the worst state.

use std::sync::Mutex;

use repxp_engine::sync::scheduler::Trigger;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::app::AppState;
use crate::overview::{Overview, TrayState};

const TRAY_ID: &str = "repxp";

fn icon(state: TrayState) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match state {
        TrayState::Synced => include_bytes!("../../icons/tray-synced.png"),
        TrayState::Syncing => include_bytes!("../../icons/tray-syncing.png"),
        TrayState::Queued => include_bytes!("../../icons/tray-queued.png"),
        TrayState::Error => include_bytes!("../../icons/tray-error.png"),
        TrayState::Paused => include_bytes!("../../icons/tray-paused.png"),
        TrayState::Offline => include_bytes!("../../icons/tray-offline.png"),
    };
    Image::from_bytes(bytes)
}

fn pause_label(paused: bool) -> &'static str {
    if paused {
        "Resume sync"
    } else {
        "Pause sync"
    }
}

/// What the tray shows now; compared with the last drawn so an unchanged tray is not touched.
#[derive(Clone, PartialEq)]
struct Shown {
    summary: String,
    detail: String,
    state: TrayState,
    paused: bool,
}

impl Shown {
    fn of(o: &Overview) -> Shown {
        Shown {
            summary: o.summary.clone(),
            detail: o.detail.clone(),
            state: o.tray,
            paused: o.settings.paused,
        }
    }
}

/// The menu items whose text changes, kept as app state.
pub struct TrayMenu {
    summary: MenuItem<Wry>,
    detail: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    shown: Mutex<Shown>,
}

fn on_menu(app: &AppHandle, id: &str) {
    let state = app.state::<AppState>();
    match id {
        "sync_now" => {
            state.scheduler.trigger(Trigger::SyncNow);
        }
        "open_panel" => state.panel.open(),
        "pause" => {
            let paused = state
                .overview(app)
                .map(|o| o.settings.paused)
                .unwrap_or(false);
            if let Err(e) = state.set_paused(!paused) {
                tracing::warn!(error = %e, "cannot change pause");
            }
        }
        "quit" => {
            state.scheduler.trigger(Trigger::Shutdown);
            app.exit(0);
        }
        _ => {}
    }
}

pub fn create(app: &AppHandle, o: &Overview) -> tauri::Result<()> {
    let summary = MenuItem::with_id(app, "summary", &o.summary, false, None::<&str>)?;
    let detail = MenuItem::with_id(app, "detail", &o.detail, false, None::<&str>)?;
    let sync_now = MenuItem::with_id(app, "sync_now", "Sync now", true, None::<&str>)?;
    let open = MenuItem::with_id(app, "open_panel", "Open panel…", true, None::<&str>)?;
    let pause = MenuItem::with_id(
        app,
        "pause",
        pause_label(o.settings.paused),
        true,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit RepXP", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &summary,
            &detail,
            &PredefinedMenuItem::separator(app)?,
            &sync_now,
            &open,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(o.tray)?)
        .tooltip(format!("{}\n{}", o.summary, o.detail))
        .menu(&menu)
        // macOS / Windows: left click opens the panel, right click shows the menu.
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                tray.app_handle().state::<AppState>().panel.open();
            }
        })
        .build(app)?;
    app.manage(TrayMenu {
        summary,
        detail,
        pause,
        shown: Mutex::new(Shown::of(o)),
    });
    Ok(())
}

/// Brings the tray up to date with `o`, touching only what changed.
pub fn update(app: &AppHandle, o: &Overview) {
    let Some(menu) = app.try_state::<TrayMenu>() else {
        return;
    };
    let now = Shown::of(o);
    let Ok(mut shown) = menu.shown.lock() else {
        return;
    };
    if *shown == now {
        return;
    }
    let result = (|| -> tauri::Result<()> {
        if shown.summary != now.summary {
            menu.summary.set_text(&now.summary)?;
        }
        if shown.detail != now.detail {
            menu.detail.set_text(&now.detail)?;
        }
        if shown.paused != now.paused {
            menu.pause.set_text(pause_label(now.paused))?;
        }
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            if shown.state != now.state {
                tray.set_icon(Some(icon(now.state)?))?;
            }
            tray.set_tooltip(Some(format!("{}\n{}", now.summary, now.detail)))?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            tracing::debug!(state = now.state.icon_name(), summary = %now.summary, "tray updated");
            *shown = now;
        }
        Err(e) => tracing::warn!(error = %e, "cannot update the tray"),
    }
}
