-- The report's facts (issue 18): one row per history event a report
-- counts, its duration already computed, so a report reads only the
-- facts of the days it shows. `id` is the history event's; apply writes
-- them in the same transaction as the event. Rows of history written
-- before this table are filled once, at open (report_facts_built in meta).
-- kind: 0 opened, 1 resolved (ms: since opened; null: opening unknown),
-- 2 replied (ms: the first response's wait; null: not a first reply).

CREATE TABLE report_facts (
    id        bigint PRIMARY KEY,
    at        bigint NOT NULL,
    platform  text COLLATE "C" NOT NULL,
    account   text COLLATE "C" NOT NULL,
    agent     text COLLATE "C",
    kind      smallint NOT NULL,
    ms        bigint,
    in_window boolean NOT NULL DEFAULT false
);
CREATE INDEX report_facts_by_time ON report_facts (at, id);

-- A private note set aside half-written, one per conversation (beside
-- the reply drafts).
CREATE TABLE note_drafts (
    conv bytea PRIMARY KEY,
    text text NOT NULL
);
