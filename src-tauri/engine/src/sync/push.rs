//! Pushing the queue: each run of pending events is written with one compare-and-set, merged
//! onto the record as last read; a lost compare-and-set re-reads and writes again, a write Twenty
//! refuses is narrowed down to the event it refuses.

use std::time::Duration;

use super::hold::{hold_diverged, hold_if_pruned, hold_unreadable, release_readable};
use super::plan::{apply, settle, Local, Settled, WriteClock};
use super::resolve::read_base;
use super::run::{Ctx, SyncError};
use crate::crashpoint;
use crate::error::StoreError;
use crate::lineage::Claim;
use crate::outbox::{ParkedKind, Push};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::twenty::progression_json::update_fields;
use crate::twenty::{TwentyClient, TwentyError};

/// How often a write may lose the compare-and-set to another writer before we give up for now.
const MAX_CAS_ROUNDS: u32 = 6;
/// Requests one sync may spend narrowing down a write Twenty refuses (halving the push).
const MAX_REJECTION_PROBES: u32 = 24;

pub(super) async fn push_all(ctx: &mut Ctx<'_>) -> Result<(), SyncError> {
    let stored = match ctx.snapshot_slot() {
        Some(slot) => ctx.store.snapshot_of(Some(&slot))?,
        None => Snapshot::default(),
    };
    // The stored snapshot is our expectation of Twenty's record: writing against it directly
    // saves a read; if anything changed since, the compare-and-set says so and we read then. A
    // snapshot saved before RepXP kept the lists as stored cannot add to them in their own
    // shape: read first.
    let mut base: Option<Snapshot> =
        (stored.remote_id.is_some() && stored.raw.is_some()).then_some(stored);
    // Whether `base` was read (or written) in this sync; a verdict that needs an admin, or holds
    // events back, is never drawn from an older copy.
    let mut base_fresh = false;
    let mut known_absent = false;
    if ctx.store.has_unreadable_parked(&ctx.owner)? {
        // Some events wait for a field of this record: read it now, so they go as soon as it
        // is readable again.
        base = read_base(ctx, &mut known_absent).await?;
        base_fresh = true;
        if base.is_none() && !ctx.is_current {
            return Ok(());
        }
    }
    let mut cas_rounds = 0u32;
    let mut probes = 0u32;
    let mut max_events: Option<u64> = None;
    loop {
        if let Some(b) = &base {
            release_readable(ctx.store, b, &ctx.owner)?;
        }
        let Some(push) = ctx.store.next_push(&ctx.owner, max_events)? else {
            return Ok(());
        };
        let current: Option<Snapshot> = match base.take() {
            Some(b) => Some(b),
            None if known_absent => None,
            None => {
                let read = read_base(ctx, &mut known_absent).await?;
                if read.is_none() && !ctx.is_current {
                    // An earlier identity's record is never created from here.
                    return Ok(());
                }
                base_fresh = true;
                if read.is_some() {
                    // Reading may have settled events (a record RepXP moved away from held
                    // them): take the queue again before pushing any of it.
                    base = read;
                    continue;
                }
                read
            }
        };
        if let Some(cur) = &current {
            let troubled = !cur.unreadable.is_empty();
            if troubled && !base_fresh {
                // The copy we kept says a field was unreadable; it may have been fixed since.
                continue;
            }
            if let Some(why) = cur.unreadable.get("syncWatermarks") {
                return Err(SyncError::FieldUnreadable {
                    field: "syncWatermarks".into(),
                    why: why.clone(),
                });
            }
            if hold_if_pruned(ctx, &push, cur)? {
                base = current;
                continue;
            }
            match settle(
                cur.sync_watermarks.get(push.device_id()),
                &push,
                &local_view(ctx.store, &push, cur)?,
            ) {
                Settled::Nothing => {}
                Settled::Through(m) => {
                    tracing::info!(
                        through = m,
                        "already on Twenty (a reply was lost, or a copy sent it)"
                    );
                    acknowledge(ctx, &push, m, Some(cur), false)?;
                    base = current;
                    continue;
                }
                Settled::Diverged => {
                    hold_diverged(ctx, &push)?;
                    base = current;
                    continue;
                }
            }
            if hold_unreadable(ctx, &push, cur)? {
                base = current;
                continue;
            }
        }
        let template = current.clone().unwrap_or_default();
        let next = apply(&template, &push, write_clock(ctx.client));
        ctx.store.record_claim(
            &Claim {
                device: push.device_id().to_string(),
                seq: push.last_seq,
                event: push.last_event.clone(),
            },
            push.first_seq,
        )?;
        crashpoint::hit(crashpoint::BEFORE_SEND);
        let sent = match template.remote_id.as_deref() {
            None => {
                // Never a second record beside one in the trash: Twenty's unique index compares
                // case-sensitively, so `Ana@` in the trash would not stop `ana@` from being made.
                if !ctx.trash_checked && ctx.client.find_trashed(&ctx.email, None).await?.is_some()
                {
                    return Err(SyncError::Trashed);
                }
                ctx.client.create(&ctx.email, &next).await.map(Some)
            }
            Some(id) => {
                ctx.client
                    .update_if(id, &template, &update_fields(&template, &next))
                    .await
            }
        };
        match sent {
            Ok(Some(mut rec)) => {
                crashpoint::hit(crashpoint::AFTER_REPLY);
                // A write answers with the record, not with what else answers to the email:
                // what the last read knew about duplicates stands until the next read.
                rec.duplicates = template.duplicates.clone();
                rec.duplicate_xp = template.duplicate_xp.clone();
                acknowledge(ctx, &push, push.last_seq, Some(&rec), true)?;
                base = Some(rec);
                base_fresh = true;
                max_events = None;
                known_absent = false;
            }
            Ok(None) => {
                // The compare-and-set answered "not applied": re-read, merge, try again.
                ctx.report.conflicts += 1;
                cas_rounds += 1;
                if cas_rounds >= MAX_CAS_ROUNDS {
                    return Err(SyncError::Contended(cas_rounds));
                }
                tracing::info!(
                    round = cas_rounds,
                    "the record changed since it was read; re-reading"
                );
                // Two devices that lost to each other should not collide again in lockstep.
                let ms = rand::random_range(10..=40u64) << cas_rounds.min(4);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                base_fresh = false;
            }
            Err(TwentyError::Rejected { detail, .. })
                if template.remote_id.is_none() && detail.contains("duplicate") =>
            {
                // Twenty's unique repEmail holds the address: a record in the trash keeps it
                // (the index is not partial), or someone created the record meanwhile.
                if ctx.client.find_trashed(&ctx.email, None).await?.is_some() {
                    return Err(SyncError::Trashed);
                }
                ctx.report.conflicts += 1;
                cas_rounds += 1;
                known_absent = false;
                if cas_rounds >= MAX_CAS_ROUNDS {
                    return Err(SyncError::Contended(cas_rounds));
                }
            }
            Err(e) if is_refusal(&e) => {
                probes += 1;
                if probes > MAX_REJECTION_PROBES {
                    return Err(e.into());
                }
                base = narrow_refusal(ctx, &push, current, e, &mut max_events).await?;
                base_fresh = base.is_some();
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What this database holds around the push's device, read after the record was (so an event a
/// sibling process recorded and sent in between is seen).
pub(super) fn local_view(store: &Store, push: &Push, cur: &Snapshot) -> Result<Local, StoreError> {
    let current_device = push.segment.last_seq.is_none();
    let segment_last = match push.segment.last_seq {
        Some(l) => l,
        None => store.max_seq()?,
    };
    let at = match cur.sync_watermarks.get(push.device_id()) {
        Some(crate::snapshot::Watermark::Event { seq, .. }) => store.event_at(*seq)?,
        _ => None,
    };
    Ok(Local {
        current_device,
        segment_last,
        segment_first: push.segment.first_seq,
        event_at_watermark: at,
    })
}

/// A write Twenty refused for good: find the event it refuses by halving the push, and hold it
/// back with Twenty's reason so everything after it still goes. If Twenty refuses even a write
/// that carries no event, the record itself is the problem: stop and say so.
pub(super) async fn narrow_refusal(
    ctx: &mut Ctx<'_>,
    push: &Push,
    current: Option<Snapshot>,
    refusal: TwentyError,
    max_events: &mut Option<u64>,
) -> Result<Option<Snapshot>, SyncError> {
    let detail = match &refusal {
        TwentyError::Rejected { detail, .. } => detail.clone(),
        other => other.to_string(),
    };
    if push.events > 1 {
        *max_events = Some(push.events.div_ceil(2));
        tracing::info!(
            events = push.events,
            "Twenty refused a write; trying half of it"
        );
        return Ok(current);
    }
    let Some(cur) = current else {
        // Refused while creating the record: nothing to probe with.
        return Err(refusal.into());
    };
    let Some(id) = cur.remote_id.clone() else {
        return Err(refusal.into());
    };
    // One event is left. Does Twenty refuse any change at all? Touch only our own bookkeeping.
    let mut probe = cur.clone();
    probe.sync_revision += 1;
    let body = update_fields(&cur, &probe);
    match ctx.client.update_if(&id, &cur, &body).await {
        Ok(Some(rec)) => {
            let reason = format!("Twenty refused it: {detail}");
            ctx.store
                .park_range(push.first_seq, push.last_seq, ParkedKind::Rejected, &reason)?;
            ctx.report.held += 1;
            tracing::warn!(seq = push.last_seq, %detail, "Twenty refuses this event; holding it back");
            if let Some(slot) = ctx.snapshot_slot() {
                ctx.store.save_pulled(&rec, &slot)?;
            }
            *max_events = None;
            Ok(Some(rec))
        }
        Ok(None) => Ok(None),
        Err(TwentyError::Rejected { .. }) => Err(SyncError::WritesRejected { detail }),
        Err(e) => Err(e.into()),
    }
}

/// A 4xx that the same request will always get (not auth, not a rate limit, not a missing
/// field, which `doctor` fixes).
pub(super) fn is_refusal(e: &TwentyError) -> bool {
    matches!(e, TwentyError::Rejected { status, detail }
        if matches!(status, 400 | 409 | 413 | 422) && !detail.contains("duplicate"))
}

/// `push`'s events up to `through` are on Twenty: they leave the queue, and `rec` (the record
/// that holds them, when it is the rep's own: `None` for one RepXP is moving away from) becomes
/// the snapshot in the same transaction.
pub(super) fn acknowledge(
    ctx: &mut Ctx<'_>,
    push: &Push,
    through: i64,
    rec: Option<&Snapshot>,
    wrote: bool,
) -> Result<(), SyncError> {
    let slot = ctx.snapshot_slot();
    let n = ctx.store.acknowledge_through(
        &push.segment,
        through,
        &ctx.owner,
        slot.as_deref().zip(rec).map(|(s, r)| (r, s)),
    )?;
    if !wrote {
        if let Some(event) = ctx.store.event_at(through)? {
            ctx.store.mirror_claim(&Claim {
                device: push.device_id().to_string(),
                seq: through,
                event,
            })?;
        }
    }
    ctx.report.pushed_events += n;
    if wrote {
        ctx.report.pushed_xp += push.xp_delta;
        ctx.report.batches += 1;
    }
    ctx.report.fresh = true;
    tracing::info!(through, events = n, wrote, "acknowledged");
    Ok(())
}

/// Acknowledges the pending events `rec`'s watermark says it already holds (a reply lost on its
/// way, or a copy of this database that sent them), oldest first. `as_snapshot`: `rec` is the
/// rep's record and becomes the snapshot; else it is one RepXP is moving away from.
pub(super) fn settle_pending(
    ctx: &mut Ctx<'_>,
    rec: &Snapshot,
    as_snapshot: bool,
) -> Result<(), SyncError> {
    while let Some(push) = ctx.store.next_push(&ctx.owner, None)? {
        let local = local_view(ctx.store, &push, rec)?;
        match settle(rec.sync_watermarks.get(push.device_id()), &push, &local) {
            Settled::Through(m) => acknowledge(ctx, &push, m, as_snapshot.then_some(rec), false)?,
            Settled::Nothing | Settled::Diverged => break,
        }
    }
    Ok(())
}

/// Twenty's clock where RepXP has heard it (it caps `lastActivityDate`, see `plan::apply`).
fn write_clock(client: &TwentyClient) -> WriteClock {
    let now = crate::timefmt::now();
    match client.clock_offset() {
        Some(offset) => WriteClock {
            now: now + offset,
            twenty: true,
        },
        None => WriteClock { now, twenty: false },
    }
}
