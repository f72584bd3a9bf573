//! Finding the rep's record: one read by email, and where it went when it is not there (an
//! admin changed its email, it is in the trash, or it was destroyed for good).

use super::push::settle_pending;
use super::run::{Ctx, SyncError};
use crate::crashpoint;
use crate::snapshot::Snapshot;

/// Finds the rep's record (one request when all is well). `None`: there is none, and one may be
/// created. Errors name what an admin must fix.
pub(super) async fn resolve(ctx: &mut Ctx<'_>) -> Result<Option<Snapshot>, SyncError> {
    // The record last seen for this identity (for an earlier identity: if the stored snapshot is
    // still its own).
    let known = ctx.store.snapshot_of(Some(&ctx.identity))?.remote_id;
    let mut found = ctx.client.find_by_email(&ctx.email).await?;
    if !found.is_empty() {
        let mut chosen = found.remove(0);
        if let Some(k) = known.as_deref() {
            if chosen.remote_id.as_deref() != Some(k) {
                tracing::warn!(
                    "the rep's record changed: another live record answers to this email first"
                );
                // Before anything goes to another record than the one this laptop last wrote,
                // what that one already holds of ours is settled: a reply lost on its way back
                // can then never land a second time on the new one.
                let last = match found.iter().find(|r| r.remote_id.as_deref() == Some(k)) {
                    Some(r) => Some(r.clone()),
                    None => ctx.client.get(k).await?,
                };
                if let Some(last) = last {
                    settle_pending(ctx, &last, false)?;
                }
            }
        }
        chosen.duplicate_xp = found
            .iter()
            .filter_map(|r| Some((r.remote_id.clone()?, r.total_xp)))
            .collect();
        chosen.duplicates = found.into_iter().filter_map(|r| r.remote_id).collect();
        return Ok(Some(chosen));
    }
    // Nobody answers to this email. Was there a record, and where did it go?
    if let Some(k) = known.as_deref() {
        if let Some(rec) = ctx.client.get(k).await? {
            return Err(SyncError::EmailChanged {
                now: rec.rep_email.unwrap_or_else(|| "(none)".into()),
            });
        }
    }
    // A record we knew is gone from the live ones: in the trash, or deleted for good. (With no
    // record known, the create path looks in the trash first.)
    if let Some(k) = known.as_deref() {
        if ctx
            .client
            .find_trashed(&ctx.email, Some(k))
            .await?
            .is_some()
        {
            return Err(SyncError::Trashed);
        }
        ctx.trash_checked = true;
        tracing::warn!("the rep's record was deleted from Twenty for good; starting a new one");
    }
    Ok(None)
}

/// Reads the record to push onto, keeping it as the snapshot when it is the current identity's.
pub(super) async fn read_base(
    ctx: &mut Ctx<'_>,
    known_absent: &mut bool,
) -> Result<Option<Snapshot>, SyncError> {
    let read = resolve(ctx).await?;
    if let (Some(r), Some(slot)) = (&read, ctx.snapshot_slot()) {
        ctx.store.save_pulled(r, &slot)?;
        ctx.report.fresh = true;
    }
    crashpoint::hit(crashpoint::AFTER_READ);
    *known_absent = read.is_none();
    Ok(read)
}
