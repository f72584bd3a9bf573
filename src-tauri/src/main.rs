//! The desktop app `repxp`: a tray icon over the engine. With a subcommand (`repxp award 50`) it
//! behaves exactly like `repxp-cli`, so scripts can call either binary.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;
mod commands;
mod notices;
mod overview;
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
    // stderr (RUST_LOG, default info; tauri-driver and `make run` show it) and logs/repxp.log.
    match repxp_engine::logging::init(&data_dir, "info") {
        Ok(path) => tracing::info!(log = %path.display(), "logging"),
        Err(e) => tracing::warn!(error = %e, "no log file; logging to stderr only"),
    }
    match app::run(data_dir, args.open_panel) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
