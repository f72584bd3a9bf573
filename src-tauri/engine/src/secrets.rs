//! The Twenty API key: in the OS keychain, or in `REPXP_TWENTY_API_KEY` for headless use. It is
//! never written to SQLite, logs, command lines or error messages, and there is no plaintext
//! fallback: without a keychain the rep is told so.

/// Environment variable that overrides the keychain (CI, servers). Read, never written anywhere.
pub const API_KEY_ENV: &str = "REPXP_TWENTY_API_KEY";

const SERVICE: &str = "app.repxp.desktop";
const ACCOUNT: &str = "twenty-api-key";

/// The API key. Its `Debug` is redacted and it has no `Display`, so it cannot leak through a
/// `{:?}` in a log line or a panic message.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Trims whitespace (a pasted key often carries a newline); empty is no key.
    pub fn new(raw: &str) -> Option<ApiKey> {
        let t = raw.trim();
        (!t.is_empty()).then(|| ApiKey(t.to_string()))
    }

    /// The key itself, for the Authorization header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key came from, for `doctor` and the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Environment,
    Keychain,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the OS keychain is not available ({0}); start a keyring (GNOME Keyring, KWallet) and unlock it, or set {API_KEY_ENV} for headless use. RepXP never stores the key in plain text."
    )]
    Unavailable(String),
    #[error(
        "the OS keychain has not answered yet (locked, waiting to be unlocked, or still starting after login); RepXP asks it again by itself"
    )]
    NotAnswering,
}

fn entry() -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, ACCOUNT).map_err(|e| SecretError::Unavailable(e.to_string()))
}

fn unavailable(e: keyring::Error) -> SecretError {
    // keyring's errors describe the platform failure and never carry the secret.
    SecretError::Unavailable(e.to_string())
}

/// The key from the environment, else from the keychain; `Ok(None)` when neither has one.
pub fn load_api_key() -> Result<Option<(ApiKey, KeySource)>, SecretError> {
    if let Some(k) = std::env::var(API_KEY_ENV)
        .ok()
        .as_deref()
        .and_then(ApiKey::new)
    {
        return Ok(Some((k, KeySource::Environment)));
    }
    match entry()?.get_password() {
        Ok(p) => Ok(ApiKey::new(&p).map(|k| (k, KeySource::Keychain))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

pub fn store_api_key(key: &ApiKey) -> Result<(), SecretError> {
    entry()?.set_password(key.expose()).map_err(unavailable)
}

pub fn delete_api_key() -> Result<(), SecretError> {
    match entry()?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

/// Whether the keychain answers at all (for doctor and the panel), without reading the key.
pub fn keychain_available() -> Result<(), SecretError> {
    match entry()?.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let k = ApiKey::new("  sk-live-123456\n").expect("key");
        assert_eq!(k.expose(), "sk-live-123456");
        assert!(!format!("{k:?}").contains("123456"));
        assert!(ApiKey::new(" \n").is_none());
    }
}
