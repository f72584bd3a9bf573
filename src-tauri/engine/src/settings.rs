//! Non-secret settings, kept in the database so there is one file to back up. The API key is not
//! a setting: it lives in the OS keychain.

use rusqlite::OptionalExtension;

use crate::error::StoreError;
use crate::store::Store;

/// The settings RepXP knows. Keys are stored by [`Setting::key`], so renaming a variant never
/// loses a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    TwentyUrl,
    RepEmail,
    Notifications,
    Autostart,
    SyncPaused,
    /// How the workspace stores `repEmail` ("text" or "emails"), as doctor or a sync found.
    RepEmailField,
    /// When a key was last stored in the keychain by this data directory's CLI: the keychain
    /// tells no one, so a running tray or `repxp-cli run` learns of a new key from this.
    KeyStoredAt,
    /// Set by a tray that starts while `repxp-cli run` holds the data directory: the runner stops
    /// and the tray syncs from then on (the rep's visible app wins).
    HandoverTo,
    /// Whether the panel shows the team view (read from Twenty only while shown); default yes.
    ShowTeam,
    /// Twenty's clock minus this computer's, in ms, as Twenty's last answer said (its `Date`
    /// header): the next run caps `lastActivityDate` by it before it has heard from Twenty.
    ServerClockOffsetMs,
}

impl Setting {
    pub fn key(self) -> &'static str {
        match self {
            Setting::TwentyUrl => "twenty_url",
            Setting::RepEmail => "rep_email",
            Setting::Notifications => "notifications",
            Setting::Autostart => "autostart",
            Setting::SyncPaused => "sync_paused",
            Setting::RepEmailField => "rep_email_field",
            Setting::KeyStoredAt => "key_stored_at",
            Setting::HandoverTo => "handover_to",
            Setting::ShowTeam => "show_team",
            Setting::ServerClockOffsetMs => "server_clock_offset_ms",
        }
    }
}

impl Store {
    pub fn setting(&self, s: Setting) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [s.key()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// A yes/no setting, with its default when unset.
    pub fn flag(&self, s: Setting, default: bool) -> Result<bool, StoreError> {
        Ok(self.setting(s)?.map(|v| v == "true").unwrap_or(default))
    }

    pub fn set_setting(&mut self, s: Setting, value: Option<&str>) -> Result<(), StoreError> {
        let res = match value {
            Some(v) => self.conn().execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [s.key(), v],
            ),
            None => self
                .conn()
                .execute("DELETE FROM settings WHERE key = ?1", [s.key()]),
        };
        res.map(|_| ()).map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_dir(dir.path()).expect("open");
        assert_eq!(s.setting(Setting::RepEmail).expect("read"), None);
        s.set_setting(Setting::RepEmail, Some("ana@acme.test"))
            .expect("set");
        assert_eq!(
            s.setting(Setting::RepEmail).expect("read").as_deref(),
            Some("ana@acme.test")
        );
        assert!(!s.flag(Setting::SyncPaused, false).expect("flag"));
        s.set_setting(Setting::SyncPaused, Some("true"))
            .expect("set");
        assert!(s.flag(Setting::SyncPaused, false).expect("flag"));
        s.set_setting(Setting::RepEmail, None).expect("clear");
        assert_eq!(s.setting(Setting::RepEmail).expect("read"), None);
    }
}
