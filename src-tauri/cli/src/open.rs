//! `repxp-open`: what the desktop entry runs. It shows RepXP: the running tray's panel, or, with no
//! tray running, the tray app started with its panel open (`repxp --open-panel`, the binary beside
//! this one, which then is this process: exec on Unix).
//!
//! Why not `repxp` itself: any process that links WebKitGTK spends ~100 ms in the dynamic loader
//! before `main` (BENCHMARKS.md, "Opening the panel"), and a second launch only sends one line to
//! the tray. This binary links the engine and the control channel, not WebKit or GTK.
// A desktop entry or shortcut starts it: no console window on Windows.
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Parser;
use repxp_engine::logging::{self, Role};
use repxp_engine::paths;

#[derive(Debug, Parser)]
#[command(
    name = "repxp-open",
    version,
    about = "Show RepXP: the running app's panel, or start the app with its panel open"
)]
struct Args {
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = paths::data_dir(args.data_dir.clone());
    let asked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))
        .and_then(|rt| {
            rt.block_on(repxp_control::open_panel_if_running(&dir))
                .map_err(|e| e.to_string())
        });
    let done = match asked {
        Ok(true) => {
            println!("RepXP is already running; its panel is open.");
            Ok(())
        }
        Ok(false) => start_tray(args.data_dir),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Started from a menu nobody reads stderr: the log file too (logs/cli.log); "off" for
            // the log's stderr copy, since the line below already says it there.
            if logging::init(&dir, Role::Cli, "off").is_ok() {
                tracing::error!("repxp-open: {e}");
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Becomes (Unix) or starts (Windows) `repxp --open-panel`. Its instance claim settles a race
/// with another launch and hands over from a `repxp-cli run`.
fn start_tray(data_dir: Option<PathBuf>) -> Result<(), String> {
    let tray = tray_binary()?;
    let mut command = Command::new(&tray);
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir);
    }
    command.arg("--open-panel");
    let failed = |e: std::io::Error| format!("cannot start {}: {e}", tray.display());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Returns only on failure.
        Err(failed(command.exec()))
    }
    #[cfg(not(unix))]
    {
        command.spawn().map(drop).map_err(failed)
    }
}

/// `repxp` in this binary's directory: they are installed side by side (the .deb's /usr/bin,
/// cargo's target dir).
fn tray_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find where I am: {e}"))?;
    let tray = me.with_file_name(format!("repxp{}", std::env::consts::EXE_SUFFIX));
    if tray.is_file() {
        Ok(tray)
    } else {
        Err(format!(
            "RepXP's app is not installed beside {} (looked for {})",
            me.display(),
            tray.display()
        ))
    }
}
