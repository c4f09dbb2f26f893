-- Who views (or types in) which conversation, across processes: one row per
-- UI session of each open store (origin, as in change_feed). The owning
-- process rewrites its rows as they change and refreshes updated_at on a
-- heartbeat; a row not refreshed for a while belongs to a process that died
-- and is deleted by whichever process sweeps first. Not durable data: a
-- process removes its rows when it closes.
CREATE TABLE presence (
    origin     text NOT NULL,
    session    bigint NOT NULL,
    viewer     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, session)
);
CREATE INDEX presence_updated_at ON presence (updated_at);
