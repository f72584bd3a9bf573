//! The one error type of every subcommand: the binaries print it as `error: ...` and exit non-zero.

use repxp_engine::error::{StoreError, ValidationError};

use crate::headless::HeadlessError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Sync(String),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Headless(#[from] HeadlessError),
    #[error("{0}")]
    Web(String),
}
