-- Released migrations are never edited; add 0002_*.sql instead.

-- Append-only log of what happened on this device. `seq` is the local order (never the device
-- clock, which may be skewed). An event is in the outbox while pushed_at IS NULL; batch_seq is
-- set when it is frozen into a push batch.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('xp', 'boss', 'exam', 'metric')),
    xp          INTEGER NOT NULL DEFAULT 0 CHECK (xp >= 0),
    subject     TEXT,
    value       REAL,
    occurred_at TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    batch_seq   INTEGER,
    pushed_at   TEXT
) STRICT;

CREATE INDEX events_outbox ON events (batch_seq, seq) WHERE pushed_at IS NULL;

-- The rep's record as last read from (or written to) Twenty, normalised. One row.
CREATE TABLE snapshot (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    record    TEXT NOT NULL,
    pulled_at TEXT NOT NULL
) STRICT;

-- Sync bookkeeping. One row, created here so the device id exists from the first open.
CREATE TABLE sync_state (
    singleton           INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id           TEXT    NOT NULL,
    next_batch_seq      INTEGER NOT NULL,
    inflight_batch_seq  INTEGER,
    -- Requests carrying the in-flight batch whose outcome is unknown (sent, no answer).
    inflight_attempted  INTEGER NOT NULL DEFAULT 0,
    last_success_at     TEXT,
    last_attempt_at     TEXT,
    last_error          TEXT,
    last_error_kind     TEXT,
    failure_streak      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT
) STRICT;

INSERT INTO sync_state (singleton, device_id, next_batch_seq)
VALUES (1, lower(hex(randomblob(16))), 1);

-- Non-secret settings (Twenty URL, rep email, notification and autostart choices). The API key
-- is never stored here: it lives in the OS keychain.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
