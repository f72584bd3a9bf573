//! Why a sync failed, as one stable word: [`ErrorKind`].
//!
//! Every crate passes the enum; the word is only for the outside: `status --json`, the panel's
//! JSON, logs and the `sync_state.last_error_kind` column in SQLite all carry exactly the words
//! listed below, so renaming a variant never changes what scripts and older databases see.
//!
//! The words are one table (the `error_kinds!` invocation): the enum, [`ErrorKind::as_str`],
//! [`ErrorKind::ALL`] and the parsing are generated from it, so they cannot drift apart. What
//! each kind *means* for the rep is decided by exhaustive matches (no `_ =>`) where it is used:
//! `sync_status::next_step`, the scheduler's 429 handling, the shell's tray state, panel action
//! and notices. Adding a kind makes each of them a compile error until it has decided.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $word:literal, )*) => {
        /// Why a sync failed, for the rep and for the scheduler. Serialized (JSON, SQLite) as its
        /// snake_case word, see the module doc.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in the order of the table.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The stable word (`status --json`, the panel, logs, SQLite).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $word,)*
                }
            }
        }
    };
}

error_kinds! {
    // Transient: RepXP retries by itself.
    /// Twenty cannot be reached (DNS, connection refused, no network).
    Offline = "offline",
    /// Twenty did not answer in time.
    Timeout = "timeout",
    /// The connection broke before Twenty's answer (the write may have landed); also a sync
    /// thread that ended.
    Interrupted = "interrupted",
    /// The rep's record kept changing under us (compare-and-set lost too often).
    Contended = "contended",
    /// A 5xx from Twenty.
    Server = "server",
    /// Twenty sent a response RepXP cannot read.
    Malformed = "malformed",
    /// A 429: the workspace's request budget, shared by the whole team, is spent.
    RateLimited = "rate_limited",
    // The rep acts: the key, the settings, the keychain.
    /// Twenty refused the API key (401, or 403 "Forbidden resource").
    Auth = "auth",
    /// No API key stored.
    NoKey = "no_key",
    /// The key's role may not use Rep progressions (retried slowly).
    Permission = "permission",
    /// The workspace's plan or credits ran out (retried slowly).
    PaymentRequired = "payment_required",
    /// Twenty lacks RepXP's object or fields: `repxp-cli doctor --fix`.
    SchemaMissing = "schema_missing",
    /// Twenty's GraphQL API, which RepXP writes through, is not reachable.
    UnsupportedServer = "unsupported_server",
    /// Twenty rejected the request (a 4xx RepXP has no better word for).
    Rejected = "rejected",
    /// The Twenty URL in the settings is not valid.
    BadUrl = "bad_url",
    /// No Twenty URL or rep email yet.
    NotConnected = "not_connected",
    /// The OS keychain is locked, not up yet, or failing (retried).
    Keychain = "keychain",
    /// RepXP's own SQLite database failed.
    LocalDatabase = "local_database",
    // The rep's record in Twenty: an admin acts (retried slowly).
    /// The rep's record is in Twenty's trash.
    RecordTrashed = "record_trashed",
    /// The rep's record now has another email.
    EmailChanged = "email_changed",
    /// A field RepXP owns holds something it cannot read.
    FieldUnreadable = "field_unreadable",
    /// Twenty refuses every change to the rep's record.
    WritesRejected = "writes_rejected",
    // Reading back.
    /// A word this build does not know, read from a database another RepXP version wrote (or an
    /// empty column). Never produced by this build; treated like a transient failure with the
    /// generic next step ("RepXP retries by itself; `repxp-cli doctor` tells more").
    Other = "other",
}

impl ErrorKind {
    /// The kind a word names; an unknown word is [`ErrorKind::Other`] (never an error, never a
    /// panic). For a strict parse use [`str::parse`].
    pub fn from_word(word: &str) -> ErrorKind {
        word.parse().unwrap_or(ErrorKind::Other)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no [`ErrorKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sync error kind {0:?}")]
pub struct UnknownErrorKind(pub String);

impl FromStr for ErrorKind {
    type Err = UnknownErrorKind;

    /// Strict: only the words of [`ErrorKind::ALL`] (`"other"` included).
    fn from_str(s: &str) -> Result<ErrorKind, UnknownErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownErrorKind(s.to_string()))
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Lenient like the SQLite column: an unknown word is [`ErrorKind::Other`].
impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ErrorKind, D::Error> {
        let word = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorKind::from_word(&word))
    }
}

impl ToSql for ErrorKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

/// `sync_state.last_error_kind`: an unknown word (another RepXP version) reads as
/// [`ErrorKind::Other`]; only a non-text value is an error.
impl FromSql for ErrorKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<ErrorKind> {
        value.as_str().map(ErrorKind::from_word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are an interface (`status --json`, the panel, SQLite): this list changes only
    /// with a migration note.
    #[test]
    fn the_words_are_the_stable_ones() {
        let words: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            words,
            [
                "offline",
                "timeout",
                "interrupted",
                "contended",
                "server",
                "malformed",
                "rate_limited",
                "auth",
                "no_key",
                "permission",
                "payment_required",
                "schema_missing",
                "unsupported_server",
                "rejected",
                "bad_url",
                "not_connected",
                "keychain",
                "local_database",
                "record_trashed",
                "email_changed",
                "field_unreadable",
                "writes_rejected",
                "other",
            ]
        );
    }

    #[test]
    fn every_kind_round_trips_through_its_word_and_json() {
        for &k in ErrorKind::ALL {
            assert_eq!(k.as_str().parse::<ErrorKind>(), Ok(k));
            assert_eq!(ErrorKind::from_word(k.as_str()), k);
            assert_eq!(k.to_string(), k.as_str());
            let json = serde_json::to_string(&k).expect("json");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<ErrorKind>(&json).expect("back"), k);
        }
    }

    #[test]
    fn unknown_words_are_other_not_a_panic() {
        for w in ["", "Offline", "rate-limited", "quota_exceeded"] {
            assert_eq!(w.parse::<ErrorKind>(), Err(UnknownErrorKind(w.into())));
            assert_eq!(ErrorKind::from_word(w), ErrorKind::Other);
            let json = serde_json::to_string(w).expect("json");
            assert_eq!(
                serde_json::from_str::<ErrorKind>(&json).expect("lenient"),
                ErrorKind::Other
            );
        }
    }
}
