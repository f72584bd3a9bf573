//! One sync: push every pending event exactly once, then make sure the snapshot is fresh.
//!
//! Happy path costs one request (the conditional write returns the fresh record); an idle sync
//! costs one read; a write that lost the compare-and-set to another writer costs a re-read and a
//! second write. Whatever Twenty says about the rep's record (duplicates, the trash, an email
//! changed by an admin, a field RepXP cannot read) is decided step by step: finding the record
//! (`resolve.rs`), pushing the queue onto it (`push.rs`), holding back what must wait
//! (`hold.rs`).

use std::time::Duration;

use super::hold::release_readable;
use super::legacy;
use super::push::{push_all, settle_pending};
use super::resolve::resolve;
use crate::crashpoint;
use crate::error::StoreError;
use crate::error_kind::ErrorKind;
use crate::identity::{identity_key, Owner};
use crate::store::Store;
use crate::twenty::{TwentyClient, TwentyError};
/// When an admin has to act first (the trash, a changed email, an unreadable field), look again
/// at this pace rather than back off to nothing.
pub const ADMIN_RETRY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Both,
    PushOnly,
    PullOnly,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed_events: u64,
    pub pushed_xp: i64,
    /// Writes that landed.
    pub batches: u32,
    /// Compare-and-set writes lost to another writer (each cost one re-read).
    pub conflicts: u32,
    /// Events held back in this sync (rejected by Twenty, unreadable field, unverifiable).
    pub held: u64,
    /// Whether the snapshot was refreshed from Twenty in this sync.
    pub fresh: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Twenty(#[from] TwentyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the rep's record kept changing under us ({0} tries); will retry")]
    Contended(u32),
    #[error("your RepXP record in Twenty is in the trash: RepXP sends nothing to it and keeps what you earn here")]
    Trashed,
    #[error("your record in Twenty now has the email {now}; what you earn waits here")]
    EmailChanged { now: String },
    #[error("the {field} field of your record in Twenty {why}; RepXP will not overwrite it, so what goes into it waits here")]
    FieldUnreadable { field: String, why: String },
    #[error("Twenty refuses every change to your record ({detail}); what you earn waits here")]
    WritesRejected { detail: String },
}

impl SyncError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::Twenty(e) => e.kind(),
            SyncError::Store(_) => ErrorKind::LocalDatabase,
            SyncError::Contended(_) => ErrorKind::Contended,
            SyncError::Trashed => ErrorKind::RecordTrashed,
            SyncError::EmailChanged { .. } => ErrorKind::EmailChanged,
            SyncError::FieldUnreadable { .. } => ErrorKind::FieldUnreadable,
            SyncError::WritesRejected { .. } => ErrorKind::WritesRejected,
        }
    }

    /// Whether retrying later, unchanged, can succeed. The record problems wait for an admin in
    /// Twenty, so they are retried (slowly, see [`SyncError::retry_after`]), never abandoned.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Twenty(e) => e.is_transient(),
            SyncError::Store(StoreError::Busy { .. }) => true,
            SyncError::Store(_) => false,
            SyncError::Contended(_)
            | SyncError::Trashed
            | SyncError::EmailChanged { .. }
            | SyncError::FieldUnreadable { .. }
            | SyncError::WritesRejected { .. } => true,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Twenty(e) => e.retry_after(),
            SyncError::Trashed
            | SyncError::EmailChanged { .. }
            | SyncError::FieldUnreadable { .. }
            | SyncError::WritesRejected { .. } => Some(ADMIN_RETRY),
            _ => None,
        }
    }
}

/// One pass of a sync over one identity's record: what each step reads and updates.
pub(super) struct Ctx<'a> {
    pub(super) store: &'a mut Store,
    pub(super) client: &'a TwentyClient,
    pub(super) email: String,
    pub(super) identity: String,
    /// Whose events this pass pushes.
    pub(super) owner: Owner,
    /// The identity this laptop works for now: its record is the snapshot, and it may be
    /// created. Events earned under an earlier identity go to that record only if it exists.
    pub(super) is_current: bool,
    /// The trash was searched for this rep's email in this sync (and held nothing).
    pub(super) trash_checked: bool,
    pub(super) report: SyncReport,
}

impl Ctx<'_> {
    pub(super) fn snapshot_slot(&self) -> Option<String> {
        self.is_current.then(|| self.identity.clone())
    }
}

/// One sync of `store` with the rep `email`'s record on the Twenty `client` talks to.
pub async fn sync_once(
    store: &mut Store,
    client: &TwentyClient,
    email: &str,
    mode: Mode,
) -> Result<SyncReport, SyncError> {
    let identity = identity_key(client.base_url().as_str(), email);
    let mut ctx = Ctx {
        store,
        client,
        email: email.to_string(),
        owner: Owner::current(&identity),
        identity,
        is_current: true,
        trash_checked: false,
        report: SyncReport::default(),
    };
    if ctx.store.legacy_inflight()?.is_some() {
        // Schema 1 left a push whose outcome only a fresh read can tell.
        let rec = resolve(&mut ctx).await?;
        if let Some(r) = &rec {
            ctx.store.save_pulled(r, &ctx.identity)?;
        }
        legacy::settle(ctx.store, rec.as_ref(), &ctx.identity)?;
    }
    if mode != Mode::PullOnly {
        push_earlier_identities(&mut ctx).await?;
        push_all(&mut ctx).await?;
    }
    if mode != Mode::PushOnly && !ctx.report.fresh {
        pull(&mut ctx).await?;
        ctx.report.fresh = true;
    }
    Ok(ctx.report)
}

/// Events earned under an earlier identity on this same Twenty (the rep's email changed while
/// they were queued) go to that identity's record, if it exists. What cannot go (another
/// Twenty, no record, the record in the trash…) waits, shown as held back; `retry` moves it to
/// the current identity. Never fails the sync.
async fn push_earlier_identities(ctx: &mut Ctx<'_>) -> Result<(), SyncError> {
    let base = ctx
        .client
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    for other in ctx.store.other_identities(Some(&ctx.identity))? {
        let Some((url, email)) = other.rsplit_once(' ') else {
            continue;
        };
        if url != base {
            continue;
        }
        let mut sub = Ctx {
            store: &mut *ctx.store,
            client: ctx.client,
            email: email.to_string(),
            owner: Owner {
                identity: other.clone(),
                current: false,
            },
            identity: other.clone(),
            is_current: false,
            trash_checked: false,
            report: SyncReport::default(),
        };
        let outcome = push_all(&mut sub).await;
        let r = sub.report;
        ctx.report.pushed_events += r.pushed_events;
        ctx.report.pushed_xp += r.pushed_xp;
        ctx.report.batches += r.batches;
        ctx.report.conflicts += r.conflicts;
        ctx.report.held += r.held;
        match outcome {
            Ok(()) => {}
            Err(SyncError::Store(e)) => return Err(e.into()),
            // An admin gave that very record the current email: it is the current identity's
            // record now, and so is what was earned for it.
            Err(SyncError::EmailChanged { now })
                if now.trim().eq_ignore_ascii_case(ctx.email.trim()) =>
            {
                let n = ctx
                    .store
                    .move_to_identity(&ctx.identity, Some(&other), &[])?;
                tracing::info!(moved = n, "the earlier email's record is now this email's");
            }
            Err(e) => {
                tracing::warn!(email, error = %e, "events earned under an earlier email wait")
            }
        }
    }
    Ok(())
}

/// Refreshes the snapshot. If pending events are already under Twenty's watermark (a lost
/// reply), they are acknowledged, so their XP is never shown twice.
async fn pull(ctx: &mut Ctx<'_>) -> Result<(), SyncError> {
    let Some(rec) = resolve(ctx).await? else {
        return Ok(());
    };
    crashpoint::hit(crashpoint::BEFORE_PULL_SAVE);
    ctx.store.save_pulled(&rec, &ctx.identity)?;
    settle_pending(ctx, &rec, true)?;
    release_readable(ctx.store, &rec, &ctx.owner)?;
    Ok(())
}
