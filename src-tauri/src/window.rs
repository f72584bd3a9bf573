//! The panel window: created on demand and destroyed on close, because a hidden webview keeps its
//! WebKit processes (and their memory) alive (DESIGN.md §8).

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// The panel's label; capabilities/default.json grants our commands to this window only.
pub const LABEL: &str = "panel";

/// Shows the panel, creating it if needed. Errors are logged: this runs from menu clicks and the
/// single-instance callback, where there is nobody to return them to.
pub fn open(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title("RepXP")
        .inner_size(380.0, 560.0)
        .min_inner_size(340.0, 440.0)
        .resizable(true)
        .center()
        .focused(true)
        .build();
    match built {
        Ok(_) => tracing::info!("panel opened"),
        Err(e) => tracing::warn!(error = %e, "cannot open the panel"),
    }
}
