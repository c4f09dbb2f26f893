-- dmdesk's store on PostgreSQL. Records are the same JSON documents the
-- embedded backend keeps; the columns beside them are what queries,
-- ordering, uniqueness and claims need.

-- Conversation keys are the embedded backend's byte encoding
-- (platform code, account NUL, user NUL) so both sort alike.
CREATE TABLE contacts (
    conv bytea PRIMARY KEY,
    doc  jsonb NOT NULL
);

CREATE TABLE conversations (
    conv          bytea PRIMARY KEY,
    last_activity bigint NOT NULL,
    unread        integer NOT NULL,
    doc           jsonb NOT NULL
);
CREATE INDEX conversations_by_activity ON conversations (last_activity DESC, conv);

-- skey = conversation key, timestamp (order-preserving bytes), mid: the
-- thread order. mid is unique: the same message from two receivers or from
-- a webhook and a sync is one row.
-- A conversation's messages are the skey range that starts with its key.
CREATE TABLE messages (
    mid  text COLLATE "C" PRIMARY KEY,
    skey bytea NOT NULL UNIQUE,
    doc  jsonb NOT NULL
);

-- Receipts, reactions and edits that arrived before their message.
CREATE TABLE deferred (
    id   bigserial PRIMARY KEY,
    mid  text COLLATE "C" NOT NULL,
    item jsonb NOT NULL,
    UNIQUE (mid, item)
);

CREATE TABLE outbox (
    id    text COLLATE "C" PRIMARY KEY,
    state text NOT NULL,
    doc   jsonb NOT NULL
);
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';

CREATE TABLE drafts (
    conv bytea PRIMARY KEY,
    text text NOT NULL
);

-- Small named values: ingest mark, last sync per account, dead tokens.
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);

CREATE TABLE campaigns (
    id         text PRIMARY KEY,
    created_at bigint NOT NULL,
    doc        jsonb NOT NULL
);

CREATE TABLE campaign_recipients (
    campaign text NOT NULL REFERENCES campaigns (id),
    idx      integer NOT NULL,
    state    text NOT NULL,
    doc      jsonb NOT NULL,
    PRIMARY KEY (campaign, idx)
);

-- The raw webhook log; seq is handed out under a lock in commit order.
CREATE TABLE events (
    seq         bigint PRIMARY KEY,
    received_ms bigint NOT NULL,
    body        bytea NOT NULL
);

CREATE TABLE quarantine (
    seq    bigint PRIMARY KEY,
    reason text NOT NULL
);

-- Record ids (campaign ids, outbox ids).
CREATE SEQUENCE ids START 1;
