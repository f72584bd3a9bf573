//! The panel window, in the panel process. Closing it ends that process and, with it, every WebKit
//! process and page of memory the panel used.

use std::time::Duration;

use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// The panel's label; capabilities/default.json grants our commands to this window only.
pub const LABEL: &str = "panel";

/// The global that holds the overview the page paints first (ui/panel.js reads it).
const FIRST_OVERVIEW: &str = "__REPXP_FIRST_OVERVIEW__";

/// `overview`: the tray's current overview, given to the page before its scripts run.
pub fn create(app: &AppHandle, overview: Option<&serde_json::Value>) -> tauri::Result<()> {
    let mut builder = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()));
    if let Some(o) = overview {
        builder = builder.initialization_script(first_overview_script(o));
    }
    #[cfg(target_os = "linux")]
    let font = crate::desktop_font::family();
    #[cfg(not(target_os = "linux"))]
    let font: Option<String> = None;
    #[cfg(target_os = "linux")]
    if let Some(family) = &font {
        builder = builder.initialization_script(crate::desktop_font::script(family));
    }
    builder
        .title("RepXP")
        .inner_size(380.0, 560.0)
        .min_inner_size(340.0, 440.0)
        .resizable(true)
        .center()
        .focused(true)
        // Shown once the page has loaded, not at once: a WebKitGTK view drawn while its web
        // process is still starting makes the UI process wait up to 500 ms for that process's
        // first frame (a 500 ms timed wait in strace, the web process blocked until it ends).
        // Shown at once, a third to a half of the opens took +450 ms on a 2-CPU machine; shown
        // when the load starts, 3 in 86; when it has finished, none in 67 (BENCHMARKS.md).
        .visible(false)
        .on_page_load(|window, load| {
            if load.event() == PageLoadEvent::Finished {
                show(&window);
            }
        })
        .build()?;
    let window = app.get_webview_window(LABEL);
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SHOW_ANYWAY).await;
        if let Some(w) = window.filter(|w| !w.is_visible().unwrap_or(true)) {
            tracing::warn!(
                "the page did not start loading within {SHOW_ANYWAY:?}; showing the panel anyway"
            );
            show(&w);
        }
    });
    tracing::info!(
        first_overview = overview.is_some(),
        font = font.as_deref().unwrap_or("system-ui"),
        "panel opened"
    );
    Ok(())
}

/// A page that never finishes loading (a web process that cannot start) still gets its window,
/// so the rep sees what is wrong instead of nothing.
const SHOW_ANYWAY: Duration = Duration::from_secs(3);

fn show(w: &tauri::WebviewWindow) {
    let _ = w.show();
    let _ = w.set_focus();
}

/// A second "Open panel" while it is open: bring it to the front.
/// Why no panel window can be made on this computer, if so. Windows draws it with Microsoft Edge
/// WebView2: Windows 11 ships it, an old Windows 10 may lack it, Wine never has it. Asked before
/// the panel process starts (the tray stays light: on Linux nothing is loaded to ask).
pub fn missing_webview() -> Option<String> {
    #[cfg(windows)]
    if let Err(e) = tauri::webview_version() {
        return Some(format!(
            "the panel needs Microsoft Edge WebView2, which this computer does not have ({e}); \
             install it from https://developer.microsoft.com/microsoft-edge/webview2 \
             (XP, sync and the tray menu work without it)"
        ));
    }
    None
}

pub fn focus(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// JSON is a JavaScript expression, so the overview goes in as it came from the tray.
fn first_overview_script(overview: &serde_json::Value) -> String {
    format!("window.{FIRST_OVERVIEW} = {overview};")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_reads_the_first_overview_under_the_name_the_window_gives_it() {
        let page = include_str!("../../ui/panel.js");
        assert!(page.contains(&format!("window.{FIRST_OVERVIEW}")));
        let script =
            first_overview_script(&serde_json::json!({"xp_text": "1,250", "note": "</script>"}));
        assert_eq!(
            script,
            "window.__REPXP_FIRST_OVERVIEW__ = {\"note\":\"</script>\",\"xp_text\":\"1,250\"};"
        );
    }
}
