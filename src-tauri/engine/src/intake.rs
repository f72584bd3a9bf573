//! Recording progression: one INSERT per event, idempotent on the event id.

use rusqlite::{params, OptionalExtension};

use crate::error::StoreError;
use crate::model::{EventId, Progress};
use crate::store::Store;
use crate::timefmt;

/// What recording did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// A new event is in the outbox.
    New(EventId),
    /// The same event (same id, same content) was recorded before; nothing changed. A caller
    /// that retries after a crash lands here, so XP is never counted twice.
    Duplicate(EventId),
}

impl Intake {
    pub fn id(&self) -> EventId {
        match self {
            Intake::New(id) | Intake::Duplicate(id) => *id,
        }
    }
}

impl Store {
    /// Records `progress` under `id` (a new UUID v7 if `None`), as happening at `occurred_at`
    /// (now if `None`). Durable when this returns `Ok` (WAL + synchronous=FULL).
    pub fn record(
        &mut self,
        progress: &Progress,
        id: Option<EventId>,
        occurred_at: Option<timefmt::Timestamp>,
    ) -> Result<Intake, StoreError> {
        let id = id.unwrap_or_default();
        let now = timefmt::now();
        let id_text = id.to_string();
        // Earned under the identity this laptop works for now: it goes to that rep's record even
        // if the email or URL changes before it is sent (docs/ARCHITECTURE.md).
        let identity = crate::identity::current_identity(self)?;
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO events (id, kind, xp, subject, value, occurred_at, recorded_at, identity)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO NOTHING",
            )
            .and_then(|mut st| {
                st.execute(params![
                    id_text,
                    progress.kind(),
                    progress.xp_delta(),
                    progress.subject(),
                    progress.value(),
                    timefmt::format(occurred_at.unwrap_or(now)),
                    timefmt::format(now),
                    identity,
                ])
            })
            .map_err(|e| self.err(e))?;
        if inserted == 1 {
            return Ok(Intake::New(id));
        }
        let existing = self
            .conn()
            .query_row(
                "SELECT kind, xp, subject, value FROM events WHERE id = ?1",
                [&id_text],
                |r| {
                    Ok(Progress::from_columns(
                        &r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?
            .flatten();
        match existing {
            Some(p) if &p == progress => Ok(Intake::Duplicate(id)),
            _ => Err(StoreError::IdConflict { id: id_text }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open_dir(dir.path()).expect("open");
        (dir, s)
    }

    #[test]
    fn recording_is_idempotent_on_the_id() {
        let (_d, mut s) = store();
        let award = Progress::xp(40, Some("dialer")).expect("valid");
        let id = EventId::new();
        assert_eq!(
            s.record(&award, Some(id), None).expect("first"),
            Intake::New(id)
        );
        assert_eq!(
            s.record(&award, Some(id), None).expect("retry"),
            Intake::Duplicate(id)
        );
        assert_eq!(s.progression().expect("view").xp, 40);
    }

    #[test]
    fn reusing_an_id_for_other_content_is_an_error() {
        let (_d, mut s) = store();
        let id = EventId::new();
        s.record(&Progress::xp(40, None).expect("valid"), Some(id), None)
            .expect("first");
        let err = s
            .record(&Progress::xp(41, None).expect("valid"), Some(id), None)
            .expect_err("conflict");
        assert!(matches!(err, StoreError::IdConflict { .. }), "{err}");
        assert_eq!(s.progression().expect("view").xp, 40);
    }
}
