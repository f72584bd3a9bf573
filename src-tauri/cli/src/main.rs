//! The `repxp-cli` binary: parses the command line and runs it (`lib.rs`).

use std::process::ExitCode;

use clap::Parser;
use repxp_cli::{run, Cli};
use repxp_engine::logging::{self, Role};
use repxp_engine::paths;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A CLI call on a full or read-only disk still answers; its log file is best effort.
    let role = match cli.command {
        repxp_cli::Command::Run => Role::Run,
        _ => Role::Cli,
    };
    let _ = logging::init(&paths::data_dir(cli.data_dir.clone()), role, "warn");
    let stdout = std::io::stdout();
    match run(cli, &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
