//! The panel window, in the panel process. Closing it ends that process and, with it, every WebKit
//! process and page of memory the panel used.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// The panel's label; capabilities/default.json grants our commands to this window only.
pub const LABEL: &str = "panel";

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title("RepXP")
        .inner_size(380.0, 560.0)
        .min_inner_size(340.0, 440.0)
        .resizable(true)
        .center()
        .focused(true)
        .build()?;
    tracing::info!("panel opened");
    Ok(())
}

/// A second "Open panel" while it is open: bring it to the front.
pub fn focus(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
