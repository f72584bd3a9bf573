// The page's commands, from their one list (src/commands/list.rs; commands.rs makes the rest of
// them from it). tauri-build makes an `allow-<name>` permission for each (kebab-case);
// capabilities/default.json grants them to the panel, and commands.rs's tests check it does.
macro_rules! panel_commands {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $answer:ty;
    )*) => {
        const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}

include!("src/commands/list.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/src/commands/list.rs");
    // tauri.conf.json and capabilities/ sit beside the root Cargo.toml (this package's manifest).
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
