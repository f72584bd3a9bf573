//! The per-install secret of the award API: 32 random bytes as hex in a file only this user can
//! read. It is made once and kept, so a configured dialer keeps working across restarts.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::AwardApiError;

/// Inside the data directory.
pub const SECRET_FILE: &str = "award-api.secret";

const SECRET_BYTES: usize = 32;

/// The secret; `Debug` never prints it, so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A token kept elsewhere (a web origin's), compared the same way.
    pub(crate) fn from_text(text: &str) -> Secret {
        Secret(text.to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is, so response timing does
    /// not reveal a prefix of the secret.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn well_formed(text: &str) -> bool {
        text.len() == SECRET_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// Reads the secret, or makes a new one if there is none, it is malformed, or the file could be
/// read by other users (then it may have leaked, and a dialer must be given the new one).
pub fn load_or_create_secret(data_dir: &Path) -> Result<Secret, AwardApiError> {
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = text.trim();
            if Secret::well_formed(text) && private(&path)? {
                return Ok(Secret(text.to_string()));
            }
            tracing::warn!(file = %path.display(), "award API secret was malformed or readable by others; made a new one");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(AwardApiError::Read { path, source }),
    }
    let secret = Secret(random_hex(SECRET_BYTES));
    write_private(&path, &format!("{}\n", secret.0))?;
    Ok(secret)
}

/// `bytes` random bytes as hex, from the OS's generator (through `rand`).
pub(crate) fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[cfg(unix)]
fn private(path: &Path) -> Result<bool, AwardApiError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| AwardApiError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(meta.permissions().mode() & 0o077 == 0)
}

#[cfg(not(unix))]
fn private(_path: &Path) -> Result<bool, AwardApiError> {
    // The data directory sits in the user's profile, which only the user can read.
    Ok(true)
}

/// Writes `text` to `path` readable by this user only, replacing it atomically, so a reader never
/// sees half a secret and the file is never briefly readable by others.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), AwardApiError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let err = |p: &Path| {
        let p: PathBuf = p.to_path_buf();
        move |source| AwardApiError::Write { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("award-api"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(err(&tmp))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_secret() {
        let s = Secret("ab".repeat(SECRET_BYTES));
        assert!(s.matches(&"ab".repeat(SECRET_BYTES)));
        assert!(!s.matches(&"ab".repeat(SECRET_BYTES - 1)));
        assert!(!s.matches(&format!("{}ac", "ab".repeat(SECRET_BYTES - 1))));
        assert!(!s.matches(""));
        assert_eq!(format!("{s:?}"), "Secret(…)");
    }
}
