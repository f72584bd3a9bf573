//! Where the sync's settings come from: environment first (headless use), then the database
//! settings, and the key from the keychain (or `REPXP_TWENTY_API_KEY`).

use crate::error::StoreError;
pub use crate::identity::{
    current_identity, identity, identity_key, target, Target, EMAIL_ENV, URL_ENV,
};
use crate::secrets::{self, ApiKey, KeySource, SecretError};
use crate::settings::Setting;
use crate::store::Store;

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

/// What a running tray or headless runner compares to notice that another process (`connect`)
/// changed where or as whom to sync, or stored a new key: URL, email, and when a key was stored.
pub fn credentials_stamp(store: &Store) -> Result<String, StoreError> {
    let t = target(store)?;
    let stored = store.setting(Setting::KeyStoredAt)?;
    Ok(format!(
        "{}|{}|{}",
        t.as_ref().map_or("", |t| t.url.as_str()),
        t.as_ref().map_or("", |t| t.email.as_str()),
        stored.as_deref().unwrap_or("")
    ))
}

/// Records that a key was just stored in the keychain (see [`Setting::KeyStoredAt`]).
pub fn note_key_stored(store: &mut Store) -> Result<(), StoreError> {
    // Nanoseconds: two `connect`s within one millisecond still differ.
    let now = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or_default()
        .to_string();
    store.set_setting(Setting::KeyStoredAt, Some(&now))
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

/// What a change of Twenty URL or rep email means for this laptop, in one line; `None` when the
/// identity stays the same. Nothing of the old record (snapshot, record id, watermark) carries
/// over. Events still queued stay with the identity they were earned under: they go to that
/// record if it exists on the same Twenty, else they wait and `retry` moves them to the new one.
pub fn identity_change_note(
    store: &Store,
    before: Option<&str>,
    url: &str,
    email: &str,
) -> Result<Option<String>, StoreError> {
    let after = identity_key(url, email);
    if before.is_none_or(|b| b == after) {
        return Ok(None);
    }
    let (n, xp): (i64, i64) = store
        .conn()
        .query_row(
            "SELECT count(*), coalesce(sum(xp), 0) FROM events
             WHERE pushed_at IS NULL AND parked IS NULL AND (identity IS NULL OR identity != ?1)",
            [&after],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| store.err(e))?;
    let email = email.trim();
    Ok(Some(if n > 0 {
        format!(
            "this is a new identity: RepXP starts from {email}'s record in Twenty; the {n} event(s) (+{} XP) still queued were earned under the previous email and go to its record (or wait for `repxp-cli retry` to send them here)",
            crate::display::thousands(xp)
        )
    } else {
        format!("this is a new identity: RepXP starts from {email}'s record in Twenty")
    }))
}
