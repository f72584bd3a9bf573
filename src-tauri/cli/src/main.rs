use std::process::ExitCode;

use clap::Parser;
use repxp_engine::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A CLI call on a full or read-only disk still answers; its log file is best effort.
    let _ =
        repxp_engine::logging::init(&repxp_engine::paths::data_dir(cli.data_dir.clone()), "warn");
    let stdout = std::io::stdout();
    match run(cli, &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
