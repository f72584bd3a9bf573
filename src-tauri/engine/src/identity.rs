//! Who data belongs to: the identity (a Twenty URL and a rep email) that events are earned under
//! and snapshots are kept for. Its own module because the outbox, the view, the snapshot and the
//! settings all speak of it, and none of them owns it. Where it points now (settings, then the
//! environment) lives here too, so that the store's readers need nothing of the sync.

use crate::error::StoreError;
use crate::settings::Setting;
use crate::store::Store;

/// Which Twenty and which rep a snapshot belongs to: the base URL as RepXP normalises it and the
/// email lower-cased (Twenty's emails are matched case-insensitively). Changing either one starts
/// a new identity: nothing of the old record (snapshot, record id, watermark) carries over.
pub fn identity_key(url: &str, email: &str) -> String {
    let url = crate::twenty::url::parse_base_url(url)
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .unwrap_or_else(|_| url.trim().trim_end_matches('/').to_string());
    format!("{url} {}", email.trim().to_lowercase())
}

/// Whose events a push (or the view) is about: those earned under `identity` (Twenty URL and rep
/// email, [`identity_key`]), and, for the identity this laptop works for now, those
/// earned before any identity was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub identity: String,
    pub current: bool,
}

impl Owner {
    pub fn current(identity: &str) -> Owner {
        Owner {
            identity: identity.to_string(),
            current: true,
        }
    }
}

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

/// The identity (Twenty URL and rep email) settings and environment point at now: what new
/// events are earned under and which record the view shows.
pub fn current_identity(store: &Store) -> Result<Option<String>, StoreError> {
    Ok(target(store)?.map(|t| identity_key(&t.url, &t.email)))
}

/// The identity (Twenty URL and rep email) the data here belongs to: the one of the last sync,
/// else the one settings and environment point at.
pub fn identity(store: &Store) -> Result<Option<String>, StoreError> {
    if let Some(i) = store.snapshot_identity()? {
        return Ok(Some(i));
    }
    Ok(target(store)?.map(|t| identity_key(&t.url, &t.email)))
}
