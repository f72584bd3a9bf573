//! The page's commands, as the panel process registers them: each one relays to the tray process
//! (`actions.rs` does the work there) and hands back its answer or its one-line error.

use serde_json::Value;
use tauri::State;

use crate::control::Command;
use crate::panel::PanelLink;

/// The command names, shared with build.rs.
#[cfg(test)]
const NAMES: &[&str] = include!("../command-names.in");

#[tauri::command]
pub async fn get_overview(link: State<'_, PanelLink>) -> Result<Value, String> {
    link.call(Command::GetOverview).await
}

#[tauri::command]
pub async fn save_settings(
    link: State<'_, PanelLink>,
    url: String,
    email: String,
    api_key: Option<String>,
) -> Result<Value, String> {
    link.call(Command::SaveSettings {
        url,
        email,
        api_key,
    })
    .await
}

#[tauri::command]
pub async fn test_connection(
    link: State<'_, PanelLink>,
    url: String,
    email: String,
    api_key: Option<String>,
) -> Result<Value, String> {
    link.call(Command::TestConnection {
        url,
        email,
        api_key,
    })
    .await
}

#[tauri::command]
pub async fn sync_now(link: State<'_, PanelLink>) -> Result<Value, String> {
    link.call(Command::SyncNow).await
}

#[tauri::command]
pub async fn set_paused(link: State<'_, PanelLink>, paused: bool) -> Result<Value, String> {
    link.call(Command::SetPaused { paused }).await
}

#[tauri::command]
pub async fn set_notifications(link: State<'_, PanelLink>, enabled: bool) -> Result<Value, String> {
    link.call(Command::SetNotifications { enabled }).await
}

#[tauri::command]
pub async fn set_autostart(link: State<'_, PanelLink>, enabled: bool) -> Result<Value, String> {
    link.call(Command::SetAutostart { enabled }).await
}

#[tauri::command]
pub async fn resolve_held(link: State<'_, PanelLink>, action: String) -> Result<Value, String> {
    link.call(Command::ResolveHeld { action }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_grant_exactly_our_commands() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities/default.json");
        let text = std::fs::read_to_string(path).expect("capabilities/default.json");
        let cap: serde_json::Value = serde_json::from_str(&text).expect("json");
        let granted: Vec<String> = cap["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| !p.starts_with("core:event:"))
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = NAMES
            .iter()
            .map(|n| format!("allow-{}", n.replace('_', "-")))
            .collect();
        assert_eq!(granted, ours);
        let handler = include_str!("panel.rs");
        for n in NAMES {
            assert!(
                handler.contains(&format!("commands::{n},")),
                "{n} missing in panel.rs's handler"
            );
            // Each relayed name is a variant of the control protocol's Command.
            let err = serde_json::from_value::<Command>(serde_json::json!({ "name": n }))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!err.contains("unknown variant"), "{n}: {err}");
        }
    }
}
