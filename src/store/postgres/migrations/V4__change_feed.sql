-- The change feed: what each apply published, numbered in commit order
-- (seq is handed out under a lock at the end of the apply's transaction).
-- A NOTIFY carrying the seq wakes the other processes, which re-read
-- everything after the last seq they saw, so a lost notification loses
-- nothing. origin names the writing store, which published it itself.
CREATE TABLE change_feed (
    seq     bigint PRIMARY KEY,
    origin  text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    updates jsonb NOT NULL
);
CREATE INDEX change_feed_created ON change_feed (created);
