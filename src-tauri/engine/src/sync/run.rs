//! One sync: push every pending event exactly once, then make sure the snapshot is fresh.
//!
//! Happy path costs one request (the conditional write returns the fresh record); an idle sync
//! costs one read; a write that lost the compare-and-set to another writer costs a re-read and a
//! second write. Whatever Twenty says about the rep's record (duplicates, the trash, an email
//! changed by an admin, a field RepXP cannot read) is decided in [`resolve`] and [`push_all`].

use std::time::Duration;

use super::legacy;
use super::plan::{apply, settle, Local, Settled};
use crate::crashpoint;
use crate::error::StoreError;
use crate::error_kind::ErrorKind;
use crate::identity::{identity_key, Owner};
use crate::lineage::Claim;
use crate::outbox::{field_of_kind, kind_of_field, ParkedKind, Push};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::twenty::progression_json::update_fields;
use crate::twenty::{TwentyClient, TwentyError};

/// How often a write may lose the compare-and-set to another writer before we give up for now.
const MAX_CAS_ROUNDS: u32 = 6;
/// Requests one sync may spend narrowing down a write Twenty refuses (halving the push).
const MAX_REJECTION_PROBES: u32 = 24;
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
    #[error("your RepXP record in Twenty is in the trash: RepXP sends nothing to it and keeps what you earn here; ask your Twenty admin to restore it")]
    Trashed,
    #[error("your record in Twenty now has the email {now}: if that is you, change your email in RepXP's settings; what you earn waits here")]
    EmailChanged { now: String },
    #[error("the {field} field of your record in Twenty {why}; RepXP will not overwrite it, so your XP waits here until your Twenty admin fixes it")]
    FieldUnreadable { field: String, why: String },
    #[error("Twenty refuses every change to your record ({detail}); what you earn waits here: ask your Twenty admin")]
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

struct Ctx<'a> {
    store: &'a mut Store,
    client: &'a TwentyClient,
    email: String,
    identity: String,
    /// Whose events this pass pushes.
    owner: Owner,
    /// The identity this laptop works for now: its record is the snapshot, and it may be
    /// created. Events earned under an earlier identity go to that record only if it exists.
    is_current: bool,
    /// The trash was searched for this rep's email in this sync (and held nothing).
    trash_checked: bool,
    report: SyncReport,
}

impl Ctx<'_> {
    fn snapshot_slot(&self) -> Option<String> {
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
            Err(SyncError::EmailChanged { now }) if now.eq_ignore_ascii_case(&ctx.email) => {
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

/// Finds the rep's record (one request when all is well). `None`: there is none, and one may be
/// created. Errors name what an admin must fix.
async fn resolve(ctx: &mut Ctx<'_>) -> Result<Option<Snapshot>, SyncError> {
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
            }
        }
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

async fn push_all(ctx: &mut Ctx<'_>) -> Result<(), SyncError> {
    let stored = match ctx.snapshot_slot() {
        Some(slot) => ctx.store.snapshot_of(Some(&slot))?,
        None => Snapshot::default(),
    };
    // The stored snapshot is our expectation of Twenty's record: writing against it directly
    // saves a read; if anything changed since, the compare-and-set says so and we read then.
    let mut base: Option<Snapshot> = stored.remote_id.is_some().then_some(stored);
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
                    acknowledge(ctx, &push, m, cur, false)?;
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
        let next = apply(&template, &push);
        ctx.store.record_claim(&Claim {
            device: push.device_id().to_string(),
            seq: push.last_seq,
            event: push.last_event.clone(),
        })?;
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
                acknowledge(ctx, &push, push.last_seq, &rec, true)?;
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

/// Reads the record to push onto, keeping it as the snapshot when it is the current identity's.
async fn read_base(
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

/// What this database holds around the push's device, read after the record was (so an event a
/// sibling process recorded and sent in between is seen).
fn local_view(store: &Store, push: &Push, cur: &Snapshot) -> Result<Local, StoreError> {
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
async fn narrow_refusal(
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
fn is_refusal(e: &TwentyError) -> bool {
    matches!(e, TwentyError::Rejected { status, detail }
        if matches!(status, 400 | 409 | 413 | 422) && !detail.contains("duplicate"))
}

fn acknowledge(
    ctx: &mut Ctx<'_>,
    push: &Push,
    through: i64,
    rec: &Snapshot,
    wrote: bool,
) -> Result<(), SyncError> {
    let slot = ctx.snapshot_slot();
    let n = ctx.store.acknowledge_through(
        &push.segment,
        through,
        &ctx.owner,
        slot.as_deref().map(|s| (rec, s)),
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

/// Twenty holds, under this device id, events this database never made: another copy of it
/// (restored or cloned with its identity) went its own way. Events recorded from now on take a
/// new device id; the pending ones of the old id are held back as "may already be on Twenty",
/// for the rep to send again or drop. Never counted twice, never silently dropped.
fn hold_diverged(ctx: &mut Ctx<'_>, push: &Push) -> Result<(), SyncError> {
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

/// Holds back the push's list items meant for a field RepXP cannot read (released by
/// [`release_readable`] once it is readable). XP cannot be held like that (a copy of this database
/// might count it in the meantime), so an unreadable `totalXp` stops the push instead.
fn hold_unreadable(ctx: &mut Ctx<'_>, push: &Push, cur: &Snapshot) -> Result<bool, SyncError> {
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
fn release_readable(store: &mut Store, rec: &Snapshot, owner: &Owner) -> Result<(), StoreError> {
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

/// Refreshes the snapshot. If pending events are already under Twenty's watermark (a lost
/// reply), they are acknowledged, so their XP is never shown twice.
async fn pull(ctx: &mut Ctx<'_>) -> Result<(), SyncError> {
    let Some(rec) = resolve(ctx).await? else {
        return Ok(());
    };
    crashpoint::hit(crashpoint::BEFORE_PULL_SAVE);
    ctx.store.save_pulled(&rec, &ctx.identity)?;
    while let Some(push) = ctx.store.next_push(&ctx.owner, None)? {
        let local = local_view(ctx.store, &push, &rec)?;
        match settle(rec.sync_watermarks.get(push.device_id()), &push, &local) {
            Settled::Through(m) => acknowledge(ctx, &push, m, &rec, false)?,
            Settled::Nothing | Settled::Diverged => break,
        }
    }
    release_readable(ctx.store, &rec, &ctx.owner)?;
    Ok(())
}
