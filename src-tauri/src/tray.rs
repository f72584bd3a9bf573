//! The tray icon and its menu. On Linux the tray shows no tooltip and delivers no clicks
//! (tray-icon #104), so the menu itself carries the facts: a disabled summary line, a disabled
//! detail line (the queue or the error), then the actions. The icon shows the worst state.

use std::sync::Mutex;

use repxp_engine::sync::scheduler::Trigger;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::overview::{Overview, TrayState};
use crate::panel_host::PanelHost;
use crate::state::AppState;

const TRAY_ID: &str = "repxp";

/// The icon of a state. macOS menu bars want "template" images (black and alpha only) that the
/// system tints for light and dark bars; elsewhere the coloured badge.
macro_rules! tray_png {
    ($state:literal) => {
        if cfg!(target_os = "macos") {
            include_bytes!(concat!("../../icons/tray-", $state, "-template.png")).as_slice()
        } else {
            include_bytes!(concat!("../../icons/tray-", $state, ".png")).as_slice()
        }
    };
}

fn icon_bytes(state: TrayState) -> &'static [u8] {
    match state {
        TrayState::Synced => tray_png!("synced"),
        TrayState::Syncing => tray_png!("syncing"),
        TrayState::Queued => tray_png!("queued"),
        TrayState::Error => tray_png!("error"),
        TrayState::Paused => tray_png!("paused"),
        TrayState::Offline => tray_png!("offline"),
    }
}

fn icon(state: TrayState) -> tauri::Result<Image<'static>> {
    Image::from_bytes(icon_bytes(state))
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
        "open_panel" => app.state::<PanelHost>().open(),
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
        .icon_as_template(cfg!(target_os = "macos"))
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
                tray.app_handle().state::<PanelHost>().open();
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
                #[cfg(target_os = "macos")]
                tray.set_icon_as_template(true)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [TrayState; 6] = [
        TrayState::Error,
        TrayState::Offline,
        TrayState::Paused,
        TrayState::Syncing,
        TrayState::Queued,
        TrayState::Synced,
    ];

    #[test]
    fn every_state_has_an_icon_and_the_macos_ones_are_templates() {
        for state in STATES {
            let shown = icon(state).expect("the icon of this OS decodes");
            assert_eq!((shown.width(), shown.height()), (64, 64), "{state:?}");
            let path = format!(
                "{}/icons/tray-{}-template.png",
                env!("CARGO_MANIFEST_DIR"),
                state.icon_name()
            );
            let bytes = std::fs::read(&path).expect("template icon");
            let template = Image::from_bytes(&bytes).expect("decodes");
            let px = template.rgba().chunks(4);
            // Black and alpha only, and not empty: macOS tints it; a colour would be lost.
            assert!(
                px.clone().all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0),
                "{path}"
            );
            assert!(px.filter(|p| p[3] > 128).count() > 200, "{path}");
        }
    }
}
