-- Released migrations are never edited; add 0003_*.sql instead.
--
-- Schema 2: exactly-once that survives restored and copied databases, other writers and records
-- RepXP cannot fully read (docs/ARCHITECTURE.md, "Device lineage and watermarks").

-- The device ids this database has recorded under, oldest first. Events with seq >= first_seq
-- (up to the next row's first_seq) belong to that device. A database that finds at open that it
-- was copied or restored takes a new device id for what it records next (lineage.rs), so one
-- device id always names one line of events, and Twenty's watermark for it names one of them.
CREATE TABLE devices (
    ordinal    INTEGER PRIMARY KEY,
    device_id  TEXT    NOT NULL UNIQUE,
    first_seq  INTEGER NOT NULL,
    -- Why this id began: created, copied, restored, diverged.
    reason     TEXT    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;

INSERT INTO devices (ordinal, device_id, first_seq, reason, created_at)
SELECT 1, device_id, 1, 'created', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM sync_state WHERE singleton = 1;

-- An event set aside from pushes, with the reason shown to the rep:
--   unreadable_field  its field on Twenty holds something RepXP cannot read; released by itself
--                     when the field is readable again
--   rejected          Twenty refused it for good; released by `repxp-cli retry`
--   unverified        it may already be on Twenty (the database was restored or cloned in a way
--                     only Twenty could show); released by `retry`, or dropped by `discard`
-- A released event is recorded again under a new id (released_as), so every push stays a run
-- of consecutive events of one device.
ALTER TABLE events ADD COLUMN parked TEXT;
ALTER TABLE events ADD COLUMN parked_reason TEXT;
ALTER TABLE events ADD COLUMN parked_at TEXT;
ALTER TABLE events ADD COLUMN released_as TEXT;

-- The identity (Twenty URL and lower-cased rep email, `snapshot::identity_key`) the event was
-- earned under; NULL when none was set yet (it then goes to the first identity that syncs).
ALTER TABLE events ADD COLUMN identity TEXT;

DROP INDEX events_outbox;
CREATE INDEX events_pending ON events (seq) WHERE pushed_at IS NULL AND parked IS NULL;

-- The database file's identity (device:inode, or creation time on Windows) when it was last
-- opened: a different one means this file is a copy or a restored backup.
ALTER TABLE sync_state ADD COLUMN file_identity TEXT;
-- The last event this database sent to Twenty as a watermark (written with synchronous=FULL
-- before the request, and mirrored outside the data directory).
ALTER TABLE sync_state ADD COLUMN claim_device TEXT;
ALTER TABLE sync_state ADD COLUMN claim_seq INTEGER;
ALTER TABLE sync_state ADD COLUMN claim_event TEXT;

-- Claims (see above) found mirrored outside the data directory that this database does not hold:
-- it was restored in place from a backup older than what was sent. Noted once, so the restore
-- forks the database once, not at every open.
CREATE TABLE missing_claims (
    device TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    event  TEXT    NOT NULL,
    PRIMARY KEY (device, seq, event)
) STRICT;

-- Which Twenty (URL) and rep (lower-cased email) the snapshot is of. A sync under another
-- identity starts from an empty snapshot.
ALTER TABLE snapshot ADD COLUMN identity TEXT;
