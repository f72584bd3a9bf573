/// The app's own commands (the list commands.rs's test reads too). tauri-build makes an
/// `allow-<name>` permission for each (kebab-case); capabilities/default.json grants exactly these
/// to the panel, and that test checks it does.
const COMMANDS: &[&str] = include!("command-names.in");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/command-names.in");
    // tauri.conf.json and capabilities/ sit beside the root Cargo.toml (this package's manifest).
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
