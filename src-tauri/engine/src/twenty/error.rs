//! Every way a Twenty request can fail, sorted by what the rep (and the scheduler) should do.

use std::time::Duration;

use crate::error_kind::ErrorKind;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
///
/// Each message says what happened; what the rep should do about it is
/// [`crate::sync_status::next_step`] of its kind, shown beside it (never both in one text).
pub enum TwentyError {
    #[error("Twenty URL {url:?} is not valid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("offline: cannot reach {host} ({detail})")]
    Offline { host: String, detail: String },
    #[error("Twenty did not answer in time ({detail})")]
    Timeout { detail: String },
    #[error("the connection to Twenty broke before its answer ({detail})")]
    Interrupted { detail: String },
    #[error("Twenty's rate limit, shared by the whole workspace, was reached{}", retry_after.map(|d| format!(" (Twenty asked to wait at least {} s)", d.as_secs().max(1))).unwrap_or_default())]
    RateLimited {
        /// `Retry-After` (or `X-RateLimit-Reset`), see `twenty/retry_after.rs`.
        retry_after: Option<Duration>,
        /// The rate window the message names (legacy 429s have no Retry-After).
        window: Option<Duration>,
    },
    #[error("Twenty refused the API key (HTTP {status})")]
    Auth { status: u16 },
    #[error("the API key's role in Twenty may not do this ({detail})")]
    Forbidden { detail: String },
    #[error("Twenty's workspace cannot take API requests until its plan or credits are renewed ({detail}); RepXP keeps your XP and asks again every 15 minutes")]
    PaymentRequired { detail: String },
    #[error("Twenty's workspace lacks what RepXP needs ({detail})")]
    SchemaMissing { detail: String },
    #[error("Twenty had a server error (HTTP {status}): {detail}")]
    Server { status: u16, detail: String },
    #[error("Twenty rejected the request (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
    /// Twenty's GraphQL API, through which RepXP writes, is not there (a reverse proxy that
    /// forwards only `/rest`, or a server without it).
    #[error(
        "Twenty's GraphQL API ({path}) is not reachable (HTTP {status}); RepXP writes through it"
    )]
    Unsupported { path: String, status: u16 },
    #[error("Twenty sent a response RepXP cannot read: {detail}")]
    Malformed { detail: String },
}

impl TwentyError {
    /// Why, as the kind `status --json`, the panel and the scheduler know.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TwentyError::BadUrl { .. } => ErrorKind::BadUrl,
            TwentyError::Offline { .. } => ErrorKind::Offline,
            TwentyError::Timeout { .. } => ErrorKind::Timeout,
            TwentyError::Interrupted { .. } => ErrorKind::Interrupted,
            TwentyError::RateLimited { .. } => ErrorKind::RateLimited,
            TwentyError::Auth { .. } => ErrorKind::Auth,
            TwentyError::Forbidden { .. } => ErrorKind::Permission,
            TwentyError::PaymentRequired { .. } => ErrorKind::PaymentRequired,
            TwentyError::SchemaMissing { .. } => ErrorKind::SchemaMissing,
            TwentyError::Server { .. } => ErrorKind::Server,
            TwentyError::Rejected { .. } => ErrorKind::Rejected,
            TwentyError::Unsupported { .. } => ErrorKind::UnsupportedServer,
            TwentyError::Malformed { .. } => ErrorKind::Malformed,
        }
    }

    /// Whether trying again later, unchanged, can succeed. Auth, a bad URL and a missing schema
    /// need the rep (or doctor) first; retrying them only burns the team's rate limit. A role
    /// without permission and a workspace without credits wait for an admin: retried slowly.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TwentyError::Forbidden { .. }
                | TwentyError::PaymentRequired { .. }
                | TwentyError::Offline { .. }
                | TwentyError::Timeout { .. }
                | TwentyError::Interrupted { .. }
                | TwentyError::RateLimited { .. }
                | TwentyError::Server { .. }
                | TwentyError::Malformed { .. }
        )
    }

    /// The server's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            // A legacy 429 names its window instead: the bucket is empty and full again one
            // window later. Either way a floor; the scheduler spreads the team on top.
            TwentyError::RateLimited {
                retry_after,
                window,
            } => retry_after.or(*window),
            TwentyError::Forbidden { .. } => Some(Duration::from_secs(300)),
            TwentyError::PaymentRequired { .. } => Some(Duration::from_secs(900)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::SyncError;
    use crate::sync_status::{next_step, with_next_step};

    /// A message says what happened; the next step says what to do, once. (The CLI printed
    /// "…; upgrade Twenty — next: Ask your Twenty admin to upgrade Twenty".)
    #[test]
    fn no_message_repeats_its_next_step() {
        let twenty = [
            TwentyError::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
                window: None,
            },
            TwentyError::Auth { status: 401 },
            TwentyError::Forbidden {
                detail: "User does not have permission".into(),
            },
            TwentyError::PaymentRequired {
                detail: "Credit allowance exhausted".into(),
            },
            TwentyError::SchemaMissing {
                detail: "object 'repProgressions' not found".into(),
            },
            TwentyError::Unsupported {
                path: "/graphql".into(),
                status: 404,
            },
        ];
        let sync = [
            SyncError::Trashed,
            SyncError::EmailChanged {
                now: "b@acme.test".into(),
            },
            SyncError::FieldUnreadable {
                field: "totalXp".into(),
                why: "holds 1.5, not a whole number".into(),
            },
            SyncError::WritesRejected {
                detail: "locked".into(),
            },
        ];
        let said = twenty
            .iter()
            .map(|e| (e.to_string(), e.kind()))
            .chain(sync.iter().map(|e| (e.to_string(), e.kind())));
        for (message, kind) in said {
            let lower = message.to_lowercase();
            for advice in [
                "ask your",
                "enter a valid",
                "run `repxp-cli",
                "upgrade",
                "change your",
            ] {
                assert!(!lower.contains(advice), "{kind}: {message}");
            }
            let line = with_next_step(&message, kind);
            assert_eq!(line.matches(next_step(kind)).count(), 1, "{line}");
        }
    }
}
