//! The desktop app `repxp`: a tray icon over the engine, and its panel in a second process. With
//! a subcommand (`repxp award 50`) it behaves exactly like `repxp-cli`, so scripts can call either
//! binary.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod actions;
mod app;
mod commands;
mod control;
mod desktop_notify;
mod notices;
mod overview;
mod panel;
mod panel_host;
mod tray;
mod watcher;
mod window;

use std::process::ExitCode;

use clap::Parser;
use repxp_engine::cli;

/// `repxp [--data-dir DIR] [COMMAND]`: no command starts the tray app.
#[derive(Debug, Parser)]
#[command(
    name = "repxp",
    version,
    about = "RepXP tray app (with a command: the same CLI as repxp-cli)"
)]
struct Args {
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Open the panel at start (a second launch of a running app always opens it).
    #[arg(long)]
    open_panel: bool,
    /// Run as the panel window of the running tray (the tray starts it; see panel.rs).
    #[arg(long, hide = true)]
    panel_process: bool,
    #[command(subcommand)]
    command: Option<cli::Command>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = args.command {
        let c = cli::Cli {
            data_dir: args.data_dir,
            command,
        };
        return match cli::run(c, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let data_dir = repxp_engine::paths::data_dir(args.data_dir);
    // stderr (RUST_LOG, default info; `make run` shows it) and logs/repxp.log.
    match repxp_engine::logging::init(&data_dir, "info") {
        Ok(path) => tracing::debug!(log = %path.display(), "logging"),
        Err(e) => tracing::warn!(error = %e, "no log file; logging to stderr only"),
    }
    // One context for whichever role this process takes (the macro embeds ui/ and the icons).
    let context = tauri::generate_context!();
    let ran = if args.panel_process {
        panel::run(data_dir, context)
    } else {
        match control::claim(&data_dir) {
            Ok(control::Claim::Tray { lock, listener }) => {
                app::run(data_dir, args.open_panel, context, lock, listener)
            }
            // Single instance: a second launch shows the running app's panel and ends.
            Ok(control::Claim::AlreadyRunning) => control::ask_to_open_panel(&data_dir)
                .map(|()| println!("RepXP is already running; its panel is open."))
                .map_err(anyhow::Error::from),
            Err(e) => Err(e.into()),
        }
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
