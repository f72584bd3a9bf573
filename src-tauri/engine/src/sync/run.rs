//! One sync: push every queued batch exactly once, then make sure the snapshot is fresh.
//!
//! Happy path costs one request (the conditional write returns the fresh record); an idle sync
//! costs one read; only a lost compare-and-set costs a re-read.

use std::time::Duration;

use super::plan::{apply, plan, Step};
use crate::crashpoint;
use crate::error::StoreError;
use crate::outbox::Batch;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::twenty::{TwentyClient, TwentyError};

/// How often a write may lose the compare-and-set to another writer before we give up for now.
const MAX_CAS_ROUNDS: u32 = 6;
/// Batches pushed in one sync (events recorded during a push go out in the next batch).
const MAX_BATCHES: u32 = 4;

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
    pub batches: u32,
    /// Compare-and-set writes lost to another writer (each cost one re-read).
    pub conflicts: u32,
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
}

impl SyncError {
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Twenty(e) => e.kind(),
            SyncError::Store(_) => "local_database",
            SyncError::Contended(_) => "contended",
        }
    }

    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Twenty(e) => e.is_transient(),
            SyncError::Store(StoreError::Busy { .. }) => true,
            SyncError::Store(_) => false,
            SyncError::Contended(_) => true,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Twenty(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// One sync of `store` with the rep `email`'s record through `client`.
pub async fn sync_once(
    store: &mut Store,
    client: &TwentyClient,
    email: &str,
    mode: Mode,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    if mode != Mode::PullOnly {
        for _ in 0..MAX_BATCHES {
            let Some(batch) = store.freeze_batch()? else {
                break;
            };
            crashpoint::hit(crashpoint::AFTER_FREEZE);
            push_batch(store, client, email, batch, &mut report).await?;
        }
    }
    if mode != Mode::PushOnly && !report.fresh {
        pull(store, client, email).await?;
        report.fresh = true;
    }
    Ok(report)
}

/// Reads the rep's record: by id when we know it, else by email. `None`: there is none.
async fn read_record(
    client: &TwentyClient,
    email: &str,
    known_id: Option<&str>,
) -> Result<Option<Snapshot>, TwentyError> {
    if let Some(id) = known_id {
        if let Some(rec) = client.get(id).await? {
            return Ok(Some(rec));
        }
        tracing::warn!("the rep's record was deleted on Twenty; looking it up by email");
    }
    client.find_by_email(email).await
}

async fn push_batch(
    store: &mut Store,
    client: &TwentyClient,
    email: &str,
    mut batch: Batch,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let stored = store.snapshot()?;
    // The stored snapshot is our expectation of Twenty's record: writing against it directly
    // saves a read; if it is stale the compare-and-set says so and we read then.
    let mut base: Option<Snapshot> = stored.remote_id.is_some().then_some(stored);
    for round in 0..MAX_CAS_ROUNDS {
        if round > 0 {
            // Two devices that lost to each other should not collide again in lockstep.
            let ms = rand::random_range(10..=40u64) << round.min(4);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let current = match base.take() {
            Some(b) => b,
            None => match read_record(client, email, None).await? {
                Some(rec) => rec,
                None => {
                    // First sync ever for this rep: create the record with the batch applied.
                    let next = apply(&Snapshot::default(), &batch);
                    let outcome = attempt(store, &mut batch, client.create(email, &next)).await?;
                    match outcome {
                        Ok(rec) => return ack(store, &batch, &rec, report),
                        // Someone created it meanwhile (unique repEmail): read it and go on.
                        Err(TwentyError::Rejected { .. }) => {
                            report.conflicts += 1;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            },
        };
        match plan(&current, &batch) {
            Step::AlreadyApplied => {
                tracing::info!(
                    seq = batch.seq,
                    "batch already on Twenty (reply was lost); acknowledging"
                );
                return ack(store, &batch, &current, report);
            }
            Step::Renumber { above } => {
                tracing::warn!(
                    seq = batch.seq,
                    above,
                    "database older than Twenty's watermark; renumbering batch"
                );
                store.renumber_batch(batch.seq, above)?;
                match store.freeze_batch()? {
                    Some(b) => batch = b,
                    None => return Ok(()),
                }
                base = Some(current);
            }
            Step::Write(next) => {
                let Some(id) = current.remote_id.clone() else {
                    continue;
                };
                match attempt(store, &mut batch, client.update_if(&id, &current, &next)).await?? {
                    Some(rec) => return ack(store, &batch, &rec, report),
                    None => {
                        // The compare-and-set answered "not applied": this request did not land.
                        not_applied(store, &mut batch)?;
                        report.conflicts += 1;
                        tracing::info!(seq = batch.seq, "record changed since read; re-reading");
                        base = read_record(client, email, Some(&id)).await?;
                        if let Some(b) = &base {
                            store.save_pulled(b)?;
                        }
                    }
                }
            }
        }
    }
    Err(SyncError::Contended(MAX_CAS_ROUNDS))
}

/// Sends one write carrying `batch`, bracketed so that the store always knows whether a request
/// with unknown outcome exists: marked (durably) before sending, unmarked when the answer proves
/// the write was not applied.
async fn attempt<T>(
    store: &mut Store,
    batch: &mut Batch,
    request: impl std::future::Future<Output = Result<T, TwentyError>>,
) -> Result<Result<T, TwentyError>, SyncError> {
    store.mark_attempted(batch.seq)?;
    batch.attempted = true;
    crashpoint::hit(crashpoint::BEFORE_SEND);
    let out = request.await;
    if out.is_ok() {
        crashpoint::hit(crashpoint::AFTER_REPLY);
    }
    if matches!(&out, Err(e) if definitely_not_applied(e)) {
        not_applied(store, batch)?;
    }
    Ok(out)
}

/// The last request for `batch` provably did not apply it; earlier unknown ones may still have.
fn not_applied(store: &mut Store, batch: &mut Batch) -> Result<(), SyncError> {
    store.unmark_attempted(batch.seq)?;
    batch.attempted = store
        .inflight()?
        .is_some_and(|(seq, maybe)| seq == batch.seq && maybe);
    Ok(())
}

/// Answers that prove a write was not applied. A timeout, a dropped connection, a 5xx or an
/// unreadable body prove nothing: the write may have landed.
fn definitely_not_applied(e: &TwentyError) -> bool {
    matches!(
        e,
        TwentyError::Auth { .. }
            | TwentyError::RateLimited { .. }
            | TwentyError::SchemaMissing { .. }
            | TwentyError::Rejected { .. }
            | TwentyError::Unsupported
            | TwentyError::BadUrl { .. }
            | TwentyError::Offline { .. }
    )
}

fn ack(
    store: &mut Store,
    batch: &Batch,
    rec: &Snapshot,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let n = store.acknowledge(batch.seq, rec)?;
    report.pushed_events += n;
    report.pushed_xp += if n > 0 { batch.xp_delta } else { 0 };
    report.batches += 1;
    report.fresh = true;
    tracing::info!(
        seq = batch.seq,
        events = n,
        xp = batch.xp_delta,
        "batch acknowledged"
    );
    Ok(())
}

/// Refreshes the snapshot. If the in-flight batch is already in the record (its reply was lost),
/// it is acknowledged in the same transaction, so its XP is never shown twice.
async fn pull(store: &mut Store, client: &TwentyClient, email: &str) -> Result<(), SyncError> {
    let known = store.snapshot()?.remote_id;
    let Some(rec) = read_record(client, email, known.as_deref()).await? else {
        return Ok(());
    };
    crashpoint::hit(crashpoint::BEFORE_PULL_SAVE);
    let device = store.device_id()?;
    let watermark = rec.sync_watermarks.get(&device).copied().unwrap_or(0);
    match store.inflight()? {
        Some((seq, true)) if watermark >= seq => {
            store.acknowledge(seq, &rec)?;
        }
        _ => store.save_pulled(&rec)?,
    }
    Ok(())
}
