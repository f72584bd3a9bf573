//! The sync bookkeeping the rep sees: last success, last error, failure streak, next attempt.
//! Written by the sync after every attempt, read by `status`, the tray and the panel.

use serde::Serialize;

use crate::error::StoreError;
use crate::error_kind::ErrorKind;
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

/// What the last syncs left in the `sync_state` row: last success and attempt, the last error and
/// its kind, the failure streak and the next attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncHistory {
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// Serialized as the kind's stable word; a word this build does not know (another RepXP
    /// version wrote it) reads as [`ErrorKind::Other`].
    pub last_error_kind: Option<ErrorKind>,
    pub failure_streak: u32,
    pub next_attempt_at: Option<String>,
    /// What to do about the last error, in one short line (`next_step`); null when none.
    pub next_step: Option<&'static str>,
}

/// A failure in one line: what happened, then what to do (the message never says the second).
pub fn with_next_step(message: &str, kind: ErrorKind) -> String {
    format!("{message} — next: {}", next_step(kind))
}

/// What to do next about a failed sync, one short line a rep can act on (it fits the tray
/// menu), for each kind. Meanwhile nothing is lost: what the rep earns waits here.
pub fn next_step(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Offline => "Waiting for the network: RepXP retries by itself",
        ErrorKind::Timeout => "Twenty is slow to answer: RepXP retries by itself",
        ErrorKind::Interrupted | ErrorKind::Contended => "RepXP retries by itself",
        ErrorKind::Server => "Twenty has a server problem: RepXP retries by itself",
        ErrorKind::Malformed => "Twenty answered oddly: RepXP retries by itself",
        ErrorKind::RateLimited => "Twenty is busy for your whole team: RepXP retries later",
        ErrorKind::Auth => "Enter a valid API key in Settings",
        ErrorKind::NoKey => "Enter your Twenty API key in Settings",
        ErrorKind::Permission => {
            "Ask your Twenty admin to let your key's role use Rep progressions"
        }
        ErrorKind::PaymentRequired => {
            "Ask your Twenty admin to renew the workspace's plan or credits"
        }
        ErrorKind::SchemaMissing => "Ask your Twenty admin to run `repxp-cli doctor --fix`",
        ErrorKind::UnsupportedServer => "Ask your Twenty admin to open Twenty's /graphql to RepXP",
        ErrorKind::Rejected => "Run `repxp-cli doctor` and show its answer to your Twenty admin",
        ErrorKind::BadUrl => "Fix the Twenty address in Settings (https://…)",
        ErrorKind::NotConnected => "Open Settings and connect to Twenty",
        ErrorKind::Keychain => "Unlock or set up this computer's keychain, then save the key again",
        ErrorKind::LocalDatabase => "Check the disk and the data folder (`repxp-cli doctor`)",
        ErrorKind::RecordTrashed => "Ask your Twenty admin to restore your record from the trash",
        ErrorKind::EmailChanged => "Change your email in Settings to the one Twenty now has",
        ErrorKind::FieldUnreadable => "Ask your Twenty admin to fix the field RepXP names",
        ErrorKind::WritesRejected => {
            "Ask your Twenty admin why Twenty refuses changes to your record"
        }
        // A word another RepXP version wrote: the generic line.
        ErrorKind::Other => "RepXP retries by itself; `repxp-cli doctor` tells more",
    }
}

impl Store {
    pub fn sync_history(&self) -> Result<SyncHistory, StoreError> {
        self.conn()
            .query_row(
                "SELECT last_success_at, last_attempt_at, last_error, last_error_kind,
                        failure_streak, next_attempt_at FROM sync_state WHERE singleton = 1",
                [],
                |r| {
                    let last_error_kind: Option<ErrorKind> = r.get(3)?;
                    Ok(SyncHistory {
                        last_success_at: r.get(0)?,
                        last_attempt_at: r.get(1)?,
                        last_error: r.get(2)?,
                        last_error_kind,
                        failure_streak: r.get::<_, i64>(4)?.clamp(0, u32::MAX as i64) as u32,
                        next_attempt_at: r.get(5)?,
                        next_step: last_error_kind.map(next_step),
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

    /// `kind` is stored as its stable word, `message` is one human line.
    pub fn record_sync_failure(
        &mut self,
        kind: ErrorKind,
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
        Ok(crate::identity::target(self)?.is_some())
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
        let rec = self.sync_history()?;
        Ok(if rec.failure_streak > 0 {
            SyncState::Error
        } else if pending > 0 {
            SyncState::Pending
        } else {
            SyncState::Synced
        })
    }
}

/// Something about the rep's record or queue that the rep (or their Twenty admin) should know,
/// though sync goes on. `status`, `doctor`, the tray and the panel show these lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attention {
    /// A stable word: duplicates, unreadable_field, held_rejected, held_unverified,
    /// held_unreadable.
    pub kind: &'static str,
    pub message: String,
    /// What to run about it from the command line, if anything (the panel has buttons instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli_hint: Option<&'static str>,
}

impl Store {
    /// What needs attention now, worst first.
    pub fn attention(&self) -> Result<Vec<Attention>, StoreError> {
        let current = crate::identity::current_identity(self)?;
        let snap = self.snapshot_of(current.as_deref())?;
        let mut out = Vec::new();
        let held: Vec<(String, i64, i64, Option<String>)> = {
            let mut st = self
                .conn()
                .prepare_cached(
                    "SELECT parked, count(*), coalesce(sum(xp), 0), max(parked_reason) FROM events
                     WHERE pushed_at IS NULL AND parked IS NOT NULL AND parked != 'discarded'
                     GROUP BY parked ORDER BY parked",
                )
                .map_err(|e| self.err(e))?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(Iterator::collect);
            rows.map_err(|e| self.err(e))?
        };
        for (kind, n, xp, reason) in held {
            let xp = if xp > 0 {
                format!(" (+{} XP)", crate::display::thousands(xp))
            } else {
                String::new()
            };
            let reason = reason.unwrap_or_default();
            let (kind, message, cli_hint) = match kind.as_str() {
                "rejected" => (
                    "held_rejected",
                    format!("{n} event(s){xp} held back: {reason}. Once that is fixed in Twenty, send them again"),
                    Some("repxp-cli retry (or repxp-cli discard --all)"),
                ),
                "unverified" => (
                    "held_unverified",
                    format!("{n} event(s){xp} may already be counted on Twenty: this laptop's RepXP data was restored or cloned. Check your total in Twenty, then send them again or drop them"),
                    Some("repxp-cli retry, or repxp-cli discard --all"),
                ),
                _ => (
                    "held_unreadable",
                    format!("{n} event(s) wait for a field on Twenty to be fixed: {reason}"),
                    None,
                ),
            };
            out.push(Attention {
                kind,
                message,
                cli_hint,
            });
        }
        if let Some(cur) = current.as_deref() {
            let earlier: Vec<(String, i64, i64)> = {
                let mut st = self
                    .conn()
                    .prepare_cached(
                        "SELECT identity, count(*), coalesce(sum(xp), 0) FROM events
                         WHERE pushed_at IS NULL AND parked IS NULL AND identity IS NOT NULL
                         AND identity != ?1 GROUP BY identity ORDER BY identity",
                    )
                    .map_err(|e| self.err(e))?;
                let rows = st
                    .query_map([cur], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .and_then(Iterator::collect);
                rows.map_err(|e| self.err(e))?
            };
            for (identity, n, xp) in earlier {
                let (url, email) = identity.rsplit_once(' ').unwrap_or(("", &identity));
                let xp = if xp > 0 {
                    format!(" (+{} XP)", crate::display::thousands(xp))
                } else {
                    String::new()
                };
                out.push(Attention {
                    kind: "held_other_identity",
                    message: format!(
                        "{n} event(s){xp} earned as {email} on {url} go to that record when RepXP can reach it; send them to your current record instead if that one is not yours to use"
                    ),
                    cli_hint: Some("repxp-cli retry (sends them under the current email)"),
                });
            }
        }
        for (field, why) in &snap.unreadable {
            out.push(Attention {
                kind: "unreadable_field",
                message: format!(
                    "Twenty's {field} field on your record {why}; RepXP leaves it alone (ask your Twenty admin to fix it)"
                ),
                cli_hint: None,
            });
        }
        if !snap.duplicates.is_empty() {
            out.push(Attention {
                kind: "duplicates",
                message: format!(
                    "{} records in Twenty answer to your email; RepXP uses the oldest ({}, {} XP), and your total is its. {}: ask your Twenty admin to merge them",
                    snap.duplicates.len() + 1,
                    snap.remote_id.as_deref().unwrap_or("?"),
                    crate::display::thousands(snap.total_xp),
                    snap.duplicates
                        .iter()
                        .map(|id| match snap.duplicate_xp.get(id) {
                            Some(xp) => format!("{id} holds {} XP", crate::display::thousands(*xp)),
                            None => format!("{id} is another"),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                cli_hint: None,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind goes into the `last_error_kind` column as its word and comes back as itself,
    /// with its own next step (the match in `next_step` is exhaustive: a new kind cannot miss
    /// one; this checks the words and that no two kinds share a line by accident).
    #[test]
    fn every_kind_round_trips_through_the_database_with_a_next_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open_dir(dir.path()).expect("open");
        let mut lines = std::collections::BTreeMap::new();
        for &kind in ErrorKind::ALL {
            store
                .record_sync_failure(kind, &format!("the {kind} message"), None)
                .expect("record");
            let word: String = store
                .conn()
                .query_row(
                    "SELECT last_error_kind FROM sync_state WHERE singleton = 1",
                    [],
                    |r| r.get(0),
                )
                .expect("column");
            assert_eq!(word, kind.as_str(), "the column holds the stable word");
            let rec = store.sync_history().expect("read");
            assert_eq!(rec.last_error_kind, Some(kind));
            assert_eq!(rec.next_step, Some(next_step(kind)));
            assert!(!next_step(kind).is_empty(), "{kind}");
            let json = serde_json::to_value(&rec).expect("json");
            assert_eq!(json["last_error_kind"], kind.as_str(), "status --json");
            lines
                .entry(next_step(kind))
                .or_insert_with(Vec::new)
                .push(kind);
        }
        // Only these kinds share a line on purpose.
        for (line, kinds) in lines {
            assert!(
                kinds.len() == 1 || kinds == [ErrorKind::Interrupted, ErrorKind::Contended],
                "{line:?} is shared by {kinds:?}"
            );
        }
        store.record_sync_success().expect("success");
        let rec = store.sync_history().expect("read");
        assert_eq!((rec.last_error_kind, rec.next_step), (None, None));
    }

    /// A word written by another RepXP version reads back as `Other`, with the generic step.
    #[test]
    fn an_unknown_word_in_the_database_reads_as_other() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open_dir(dir.path()).expect("open");
        store
            .record_sync_failure(ErrorKind::Offline, "cannot reach Twenty", None)
            .expect("record");
        store
            .conn()
            .execute(
                "UPDATE sync_state SET last_error_kind = 'quota_exceeded' WHERE singleton = 1",
                [],
            )
            .expect("older or newer RepXP");
        let rec = store.sync_history().expect("no error, no panic");
        assert_eq!(rec.last_error_kind, Some(ErrorKind::Other));
        assert_eq!(
            rec.next_step,
            Some("RepXP retries by itself; `repxp-cli doctor` tells more")
        );
        assert_eq!(rec.failure_streak, 1);
    }
}
