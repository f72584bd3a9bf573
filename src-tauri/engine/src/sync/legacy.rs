//! Schema 1 numbered pushes per device ("batch 7") and could leave one in flight, its outcome
//! unknown. After the upgrade to schema 2, the first sync reads the record and settles it once:
//! Twenty's old-style watermark (a number) at or above the batch means it landed.

use rusqlite::OptionalExtension;

use crate::error::StoreError;
use crate::snapshot::{save_snapshot, Snapshot, Watermark};
use crate::store::Store;
use crate::timefmt;

/// A schema-1 batch left in flight: its number, whether a request carrying it may have been
/// sent, and the device id it was numbered under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyInflight {
    pub batch: i64,
    pub attempted: bool,
    pub device: String,
}

impl Store {
    pub fn legacy_inflight(&self) -> Result<Option<LegacyInflight>, StoreError> {
        self.conn()
            .query_row(
                "SELECT s.inflight_batch_seq, s.inflight_attempted,
                        (SELECT device_id FROM devices ORDER BY ordinal LIMIT 1)
                 FROM sync_state s WHERE s.singleton = 1 AND s.inflight_batch_seq IS NOT NULL",
                [],
                |r| {
                    Ok(LegacyInflight {
                        batch: r.get(0)?,
                        attempted: r.get::<_, i64>(1)? > 0,
                        device: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

/// Settles the schema-1 batch against `rec` (a fresh read; `None`: no record exists, so
/// nothing landed). Its events leave the queue if it landed, else they simply go out with the
/// next push.
pub fn settle(store: &mut Store, rec: Option<&Snapshot>, identity: &str) -> Result<(), StoreError> {
    let Some(inflight) = store.legacy_inflight()? else {
        return Ok(());
    };
    let landed = inflight.attempted
        && rec.is_some_and(|r| {
            matches!(r.sync_watermarks.get(&inflight.device),
                Some(Watermark::Legacy(n)) if i64::try_from(*n).is_ok_and(|n| n >= inflight.batch))
        });
    store.durably(|tx| {
        if landed {
            tx.execute(
                "UPDATE events SET pushed_at = ?1 WHERE batch_seq = ?2 AND pushed_at IS NULL",
                rusqlite::params![timefmt::format(timefmt::now()), inflight.batch],
            )?;
            if let Some(r) = rec {
                save_snapshot(tx, r, identity)?;
            }
        }
        tx.execute(
            "UPDATE sync_state SET inflight_batch_seq = NULL, inflight_attempted = 0
             WHERE singleton = 1",
            [],
        )?;
        Ok(())
    })?;
    tracing::info!(
        batch = inflight.batch,
        landed,
        "settled a push left in flight by the previous version"
    );
    Ok(())
}
