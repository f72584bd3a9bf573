//! The local award API (DESIGN §5b): while the tray app runs, the dialer and other local tools can
//! award XP over HTTP on 127.0.0.1 instead of starting `repxp-cli` per call. Each request carries
//! the per-install secret kept in a file only this user can read, so another user on the same
//! machine or anything off the machine cannot award XP. A web page may, once the rep allowed its
//! origin, with that origin's own token (`browser`, `web`; README "Award XP from a web app").
//! Awards land in the same events table as the CLI's, idempotent on the event id.
//!
//! ```text
//! POST /v1/awards        Authorization: Bearer <secret>   body: one event as for `repxp-cli stream`
//! GET  /v1/progression   Authorization: Bearer <secret>
//! ```
//!
//! A crate of its own so the engine stays free of an HTTP server: the tray (`repxp`) and
//! `repxp-cli run` both serve it with [`serve_from_env`].

mod browser;
mod desk;
mod secret;
mod server;
pub mod web;

pub use desk::{DecideError, OriginView, WebDesk};
pub use secret::{load_or_create_secret, Secret, SECRET_FILE};
pub use server::{bind, endpoint_file, serve, start, AwardApi, ENDPOINT_FILE};

use std::path::PathBuf;

/// Port tried first, so a dialer can be configured once; if it is taken (another user's RepXP on
/// the same machine), a free port is used and written to [`ENDPOINT_FILE`].
pub const DEFAULT_PORT: u16 = 47474;

/// `REPXP_AWARD_PORT`: a port number, `0` for any free port, or `off` to not listen at all.
pub const PORT_ENV: &str = "REPXP_AWARD_PORT";

/// What `REPXP_AWARD_PORT` asks for: `None` means "do not listen".
pub fn port_from_env() -> Result<Option<u16>, AwardApiError> {
    match std::env::var(PORT_ENV) {
        Err(_) => Ok(Some(DEFAULT_PORT)),
        Ok(v) if v.trim().eq_ignore_ascii_case("off") => Ok(None),
        Ok(v) => v
            .trim()
            .parse::<u16>()
            .map(Some)
            .map_err(|_| AwardApiError::BadPort { given: v }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AwardApiError {
    #[error("{PORT_ENV}={given:?} is not valid: give a port number, 0 for any free port, or off")]
    BadPort { given: String },
    #[error("the award API listens on loopback only; {addr} is not a loopback address")]
    NotLoopback { addr: std::net::SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not readable as RepXP wrote it ({why}); fix or delete it")]
    Corrupt { path: PathBuf, why: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] repxp_engine::StoreError),
}

/// Serves the award API as `REPXP_AWARD_PORT` says (the tray and `repxp-cli run` alike) until the
/// task is dropped or aborted. Its writes reach the scheduler through the database watcher, like
/// the CLI's. A failure to start is a warning: the CLI still records awards.
pub async fn serve_from_env(data_dir: PathBuf) {
    serve_from_env_with(data_dir, |_| {}).await
}

/// [`serve_from_env`], handing `ready` the rep's side of web pairing once it listens (the tray
/// shows pages asking to pair).
pub async fn serve_from_env_with(data_dir: PathBuf, ready: impl FnOnce(WebDesk)) {
    let started = match port_from_env() {
        Ok(None) => return tracing::info!("award API off ({PORT_ENV})"),
        Ok(Some(port)) => start(&data_dir, port).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(api) => {
            ready(api.desk());
            // Holding the handle keeps it listening.
            std::future::pending::<()>().await
        }
        Err(e) => tracing::warn!(error = %e, "no award API; the CLI still records awards"),
    }
}
