//! Holding events back without blocking what follows: events Twenty's watermark says another
//! copy of this database may have sent, and items for a field RepXP cannot read (released once
//! it is readable).

use super::plan::UNSETTLED_HELD_AFTER_DAYS;
use super::run::{Ctx, SyncError};
use crate::error::StoreError;
use crate::identity::Owner;
use crate::outbox::{field_of_kind, kind_of_field, ParkedKind, Push};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::timefmt;

/// Twenty holds, under this device id, events this database never made: another copy of it
/// (restored or cloned with its identity) went its own way. Events recorded from now on take a
/// new device id; the pending ones of the old id are held back as "may already be on Twenty",
/// for the rep to send again or drop. Never counted twice, never silently dropped.
pub(super) fn hold_diverged(ctx: &mut Ctx<'_>, push: &Push) -> Result<(), SyncError> {
    let last = match push.segment.last_seq {
        Some(l) => l,
        None => {
            ctx.store.fork("diverged")?;
            // Everything before the new id's first event is the old id's.
            ctx.store
                .segments()?
                .last()
                .map_or(push.last_seq, |s| s.first_seq - 1)
        }
    };
    let n = ctx.store.park_range(
        push.segment.first_seq,
        last,
        ParkedKind::Unverified,
        "another copy of this laptop's RepXP data sent events to Twenty under the same device id; \
         these may already be counted there. Check your total in Twenty, then `repxp-cli retry` to \
         send them or `repxp-cli discard` to drop them",
    )?;
    ctx.report.held += n;
    tracing::warn!(held = n, "Twenty's watermark names events this database never made; holding back what may be counted already");
    Ok(())
}

/// Twenty's `syncWatermarks` no longer has the push's device, yet this database sent some of the
/// push before, long enough ago that another writer may have pruned the entry as idle after
/// those events landed (`plan::prune_idle`). Sending them again could count them twice:
/// they are held as "may already be on Twenty". Events sent recently cannot have lost their
/// entry to a prune: a missing entry then means they never landed, and they go.
pub(super) fn hold_if_pruned(
    ctx: &mut Ctx<'_>,
    push: &Push,
    cur: &Snapshot,
) -> Result<bool, SyncError> {
    if cur.sync_watermarks.contains_key(push.device_id()) {
        return Ok(false);
    }
    let (sent_through, sent_at) = match ctx.store.last_claim()? {
        Some((device, seq, at)) if device == push.device_id() && seq >= push.first_seq => {
            (seq.min(push.last_seq), at)
        }
        _ => return Ok(false),
    };
    // A claim from before schema 4 has no time: the events cannot have been sent before they
    // were recorded.
    let sent_at = match sent_at {
        Some(at) => Some(at),
        None => ctx
            .store
            .oldest_pending_recorded(push.first_seq, sent_through)?,
    };
    let cutoff = timefmt::now() - chrono::TimeDelta::days(UNSETTLED_HELD_AFTER_DAYS);
    let old = sent_at
        .and_then(|t| timefmt::parse(&t).ok())
        .is_some_and(|t| t < cutoff);
    if !old {
        return Ok(false);
    }
    let n = ctx.store.park_range(
        push.first_seq,
        sent_through,
        ParkedKind::Unverified,
        "these were sent to Twenty long ago without an answer, and Twenty no longer keeps this \
         laptop's sync mark (removed after months without a sync); they may already be counted \
         there. Check your total in Twenty, then `repxp-cli retry` to send them or \
         `repxp-cli discard` to drop them",
    )?;
    ctx.report.held += n;
    tracing::warn!(
        held = n,
        "Twenty's syncWatermarks lost this device's entry after events were sent; holding back what may be counted already"
    );
    Ok(n > 0)
}

/// Holds back the push's list items meant for a field RepXP cannot read (released by
/// [`release_readable`] once it is readable). XP cannot be held like that (a copy of this database
/// might count it in the meantime), so an unreadable `totalXp` stops the push instead.
pub(super) fn hold_unreadable(
    ctx: &mut Ctx<'_>,
    push: &Push,
    cur: &Snapshot,
) -> Result<bool, SyncError> {
    if push.touches("totalXp") {
        if let Some(why) = cur.unreadable.get("totalXp") {
            return Err(SyncError::FieldUnreadable {
                field: "totalXp".into(),
                why: why.clone(),
            });
        }
    }
    let mut held = 0;
    for field in ["defeatedBosses", "passedExams", "efficiencyMetrics"] {
        let (Some(why), Some(kind)) = (cur.unreadable.get(field), kind_of_field(field)) else {
            continue;
        };
        if !push.touches(field) {
            continue;
        }
        let reason = format!("Twenty's {field} field {why}; this waits until it is fixed");
        held += ctx.store.park_kinds(
            &push.segment,
            push.last_seq,
            &ctx.owner,
            &[kind],
            ParkedKind::UnreadableField,
            &reason,
        )?;
    }
    ctx.report.held += held;
    Ok(held > 0)
}

/// Sends again what waited for a field of `owner`'s record that is readable now.
pub(super) fn release_readable(
    store: &mut Store,
    rec: &Snapshot,
    owner: &Owner,
) -> Result<(), StoreError> {
    for kind in store.parked_unreadable_kinds()? {
        if field_of_kind(&kind).is_some_and(|f| rec.is_readable(f)) {
            let n = store.release_unreadable(&kind, owner)?;
            tracing::info!(
                kind,
                released = n,
                "a field is readable again; sending what waited"
            );
        }
    }
    Ok(())
}
