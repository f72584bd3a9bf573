/// The app's own commands. tauri-build makes an `allow-<name>` permission for each (kebab-case);
/// capabilities/default.json grants exactly these to the panel, and a unit test in commands.rs
/// checks the two lists agree.
const COMMANDS: &[&str] = &[
    "get_overview",
    "save_settings",
    "test_connection",
    "sync_now",
    "set_paused",
    "set_notifications",
    "set_autostart",
];

fn main() {
    // tauri.conf.json and capabilities/ sit beside the root Cargo.toml (this package's manifest).
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
