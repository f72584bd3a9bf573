//! Where the sync's settings come from: environment first (headless use), then the database
//! settings, and the key from the keychain (or `REPXP_TWENTY_API_KEY`).

use crate::error::StoreError;
use crate::secrets::{self, ApiKey, KeySource, SecretError};
use crate::settings::Setting;
use crate::store::Store;

pub const URL_ENV: &str = "REPXP_TWENTY_URL";
pub const EMAIL_ENV: &str = "REPXP_REP_EMAIL";

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The URL and email, without touching the keychain (cheap; for status and the tray).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub email: String,
}

pub fn target(store: &Store) -> Result<Option<Target>, StoreError> {
    let url = env(URL_ENV).or(store.setting(Setting::TwentyUrl)?);
    let email = env(EMAIL_ENV).or(store.setting(Setting::RepEmail)?);
    Ok(match (url, email) {
        (Some(url), Some(email)) => Some(Target { url, email }),
        _ => None,
    })
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub target: Target,
    pub key: ApiKey,
    pub key_source: KeySource,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("not connected: run `repxp-cli connect --url URL --email EMAIL` (or open Settings in the app)")]
    NotConnected,
    #[error(
        "no API key: run `repxp-cli connect` again, or set {}",
        secrets::API_KEY_ENV
    )]
    NoKey,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything a sync needs, or why it cannot run.
pub fn load(store: &Store) -> Result<SyncConfig, ConfigError> {
    let target = target(store)?.ok_or(ConfigError::NotConnected)?;
    let (key, key_source) = secrets::load_api_key()?.ok_or(ConfigError::NoKey)?;
    Ok(SyncConfig {
        target,
        key,
        key_source,
    })
}
