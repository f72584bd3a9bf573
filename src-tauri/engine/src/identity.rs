//! Who data belongs to: the identity (a Twenty URL and a rep email) that events are earned under
//! and snapshots are kept for. Its own module because the outbox, the view, the snapshot and the
//! settings all speak of it, and none of them owns it.

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
