//! A bare Tauri 2 tray app: no window is ever created, one tray icon with a Quit item. It logs
//! "tray ready" on stderr (like RepXP) so bench/app-bench.sh can time start-up the same way.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::time::Instant;

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::RunEvent;

fn main() {
    let started = Instant::now();
    let app = tauri::Builder::default()
        .setup(move |app| {
            let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
            let menu = Menu::with_items(app, &[&quit])?;
            TrayIconBuilder::with_id("baseline")
                .icon(Image::from_bytes(include_bytes!("../icons/32x32.png"))?)
                .menu(&menu)
                .on_menu_event(|app, e| {
                    if e.id() == "quit" {
                        app.exit(0);
                    }
                })
                .build(app)?;
            eprintln!("tray ready ms={}", started.elapsed().as_millis());
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("cannot start the baseline app");
    app.run(|_app, event| {
        if let RunEvent::ExitRequested { api, code: None, .. } = event {
            api.prevent_exit();
        }
    });
}
