-- Released migrations are never edited; add 0005_*.sql instead.
--
-- Schema 4: when the last claim went out. A device whose syncWatermarks entry is gone while
-- events it sent long ago still wait for an answer holds them as unverified (another writer may
-- have pruned the entry as idle after they landed); events sent recently simply go again.
ALTER TABLE sync_state ADD COLUMN claim_at TEXT;
