//! The desktop app `repxp`: a tray icon over the engine, and its panel in a second process. With
//! a subcommand (`repxp award 50`) it behaves exactly like `repxp-cli`, so scripts can call either
//! binary.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;
mod commands;
mod desktop_check;
#[cfg(target_os = "linux")]
mod desktop_font;
mod desktop_notify;
mod handlers;
// Linux only: the ELF dynamic loader's search order.
#[cfg(target_os = "linux")]
mod loader_order;
mod notices;
mod overview;
mod panel;
mod panel_host;
mod state;
mod tray;
mod window;

use std::process::ExitCode;

use clap::Parser;
use repxp_cli as cli;
// The control channel lives in its own crate so that `repxp-open` can use it without WebKit.
use repxp_control as control;
use repxp_engine::logging::Role;

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
        #[cfg(windows)]
        attach_parent_console();
        // As `repxp-cli` does: logs/cli.log (run.log for `run`), warnings on stderr.
        let role = match command {
            cli::Command::Run => Role::Run,
            _ => Role::Cli,
        };
        let dir = repxp_engine::paths::data_dir(args.data_dir.clone());
        let _ = repxp_engine::logging::init(&dir, role, "warn");
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
    // stderr (RUST_LOG, default info; `make run` shows it) and logs/tray.log or logs/panel.log.
    let role = if args.panel_process {
        Role::Panel
    } else {
        Role::Tray
    };
    match repxp_engine::logging::init(&data_dir, role, "info") {
        Ok(path) => tracing::debug!(log = %path.display(), "logging"),
        Err(e) => tracing::warn!(error = %e, "no log file; logging to stderr only"),
    }
    // One context for whichever role this process takes (the macro embeds ui/ and the icons).
    let context = tauri::generate_context!();
    let ran = if args.panel_process {
        require_display().and_then(|()| panel::run(data_dir, context))
    } else {
        match control::claim(&data_dir) {
            Ok(control::Claim::Tray { lock, listener }) => require_display().and_then(|()| {
                if let Some(warning) = desktop_check::tray_host_warning() {
                    // stderr and the log file, like every warning.
                    tracing::warn!("{warning}");
                }
                app::run(data_dir, args.open_panel, context, lock, listener)
            }),
            // Single instance: a second launch shows the running app's panel and ends. It needs
            // no display of its own, so it starts no GTK: opening the panel is the tray's job.
            Ok(control::Claim::AlreadyRunning) => {
                tauri::async_runtime::block_on(control::ask_to_open_panel(&data_dir))
                    .map(|()| println!("RepXP is already running; its panel is open."))
                    .map_err(anyhow::Error::from)
            }
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

/// Before Tauri starts: without a display GTK would panic deep inside it.
fn require_display() -> anyhow::Result<()> {
    desktop_check::require_display().map_err(anyhow::Error::msg)
}

/// Release builds are GUI-subsystem programs on Windows (no console window behind the tray), so
/// `repxp award 50` typed in a terminal would print nowhere: borrow that terminal's console
/// unless the output is already redirected. (`repxp-cli.exe` is a console program: scripts that
/// read its output should call that one.)
#[cfg(windows)]
fn attach_parent_console() {
    use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
    use windows_sys::Win32::System::Console::{
        AttachConsole, GetStdHandle, ATTACH_PARENT_PROCESS, STD_OUTPUT_HANDLE,
    };
    // SAFETY: Win32 calls without pointers; a failure leaves the process as it was.
    unsafe {
        let out = GetStdHandle(STD_OUTPUT_HANDLE);
        if out.is_null() || out == INVALID_HANDLE_VALUE {
            AttachConsole(ATTACH_PARENT_PROCESS);
        }
    }
}
