fn main() {
    // tauri.conf.json and capabilities/ sit beside the root Cargo.toml (this package's manifest).
    tauri_build::build()
}
