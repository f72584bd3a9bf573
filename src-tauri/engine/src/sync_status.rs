//! The sync bookkeeping the rep sees: last success, last error, failure streak, next attempt.
//! Written by the sync after every attempt, read by `status`, the tray and the panel.

use serde::Serialize;

use crate::error::StoreError;
use crate::settings::Setting;
use crate::store::Store;
use crate::timefmt;

/// The one word the tray and `status` show, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// No Twenty URL or rep email yet: local-first, nothing to sync with.
    NotConnected,
    /// The last attempt failed (offline, auth, server…); `last_error` says why.
    Error,
    /// Sync is paused by the rep.
    Paused,
    /// Events are waiting to be pushed.
    Pending,
    /// Everything recorded here is on Twenty.
    Synced,
}

impl SyncState {
    pub fn label(self) -> &'static str {
        match self {
            SyncState::NotConnected => "not connected",
            SyncState::Error => "sync failing",
            SyncState::Paused => "paused",
            SyncState::Pending => "pending",
            SyncState::Synced => "synced",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncRecord {
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub failure_streak: u32,
    pub next_attempt_at: Option<String>,
}

impl Store {
    pub fn sync_record(&self) -> Result<SyncRecord, StoreError> {
        self.conn()
            .query_row(
                "SELECT last_success_at, last_attempt_at, last_error, last_error_kind,
                        failure_streak, next_attempt_at FROM sync_state WHERE singleton = 1",
                [],
                |r| {
                    Ok(SyncRecord {
                        last_success_at: r.get(0)?,
                        last_attempt_at: r.get(1)?,
                        last_error: r.get(2)?,
                        last_error_kind: r.get(3)?,
                        failure_streak: r.get::<_, i64>(4)?.clamp(0, u32::MAX as i64) as u32,
                        next_attempt_at: r.get(5)?,
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    pub fn record_sync_success(&mut self) -> Result<(), StoreError> {
        let now = timefmt::format(timefmt::now());
        self.conn()
            .execute(
                "UPDATE sync_state SET last_success_at = ?1, last_attempt_at = ?1, last_error = NULL,
                 last_error_kind = NULL, failure_streak = 0, next_attempt_at = NULL WHERE singleton = 1",
                [now],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// `kind` is a stable machine word (offline, auth, rate_limited…), `message` one human line.
    pub fn record_sync_failure(
        &mut self,
        kind: &str,
        message: &str,
        next_attempt_at: Option<String>,
    ) -> Result<(), StoreError> {
        let now = timefmt::format(timefmt::now());
        self.conn()
            .execute(
                "UPDATE sync_state SET last_attempt_at = ?1, last_error = ?2, last_error_kind = ?3,
                 failure_streak = failure_streak + 1, next_attempt_at = ?4 WHERE singleton = 1",
                rusqlite::params![now, message, kind, next_attempt_at],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Whether a Twenty URL and rep email are set, in settings or the environment (the key is
    /// checked where it is used).
    pub fn is_configured(&self) -> Result<bool, StoreError> {
        Ok(crate::sync::config::target(self)?.is_some())
    }

    /// The state word for the tray and `status`. `configured` lets the caller count settings
    /// given by environment variables too.
    pub fn sync_state(&self, configured: bool, pending: u64) -> Result<SyncState, StoreError> {
        if !configured {
            return Ok(SyncState::NotConnected);
        }
        if self.flag(Setting::SyncPaused, false)? {
            return Ok(SyncState::Paused);
        }
        let rec = self.sync_record()?;
        Ok(if rec.failure_streak > 0 {
            SyncState::Error
        } else if pending > 0 {
            SyncState::Pending
        } else {
            SyncState::Synced
        })
    }
}
