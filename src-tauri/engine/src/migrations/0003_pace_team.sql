-- Released migrations are never edited; add 0004_*.sql instead.
--
-- Schema 3: streaks and pace count XP earned elsewhere too, and the team view knows yesterday.

-- XP that appeared on the rep's record in Twenty without coming from this database (the
-- academy, an admin, another laptop), noted when a sync reads the record: the difference between
-- two reads of the same record, less what this database wrote in between. `at` is when it was
-- earned as far as RepXP can tell (the record's lastActivityDate when it falls between the two
-- reads, else the second read). A correction downwards is a negative row.
CREATE TABLE remote_xp (
    id       INTEGER PRIMARY KEY,
    identity TEXT    NOT NULL,
    at       TEXT    NOT NULL,
    xp       INTEGER NOT NULL
) STRICT;
CREATE INDEX remote_xp_by_identity ON remote_xp (identity, at);

-- The team's XP as last read each local day, per workspace (the Twenty URL) and rep email
-- (lower-cased): "since yesterday" compares with the newest earlier day. Kept two weeks.
CREATE TABLE team_days (
    workspace TEXT    NOT NULL,
    day       TEXT    NOT NULL,
    email     TEXT    NOT NULL,
    xp        INTEGER NOT NULL,
    PRIMARY KEY (workspace, day, email)
) STRICT;

-- XP of this database's events on Twenty (acknowledged) when the snapshot was saved: the next
-- read subtracts it to tell our XP from everyone else's, exactly, whatever the clocks say.
ALTER TABLE snapshot ADD COLUMN pushed_xp INTEGER;
