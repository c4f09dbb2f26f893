-- The team's workflow (issue 18): who a conversation belongs to and its
-- labels as columns beside the document (the list's views filter on them
-- in SQL), the history of workflow changes that reports read by time,
-- agents' private notes, and each agent's mailbox of unseen mentions and
-- takeovers.

ALTER TABLE conversations ADD COLUMN assignee text COLLATE "C";
ALTER TABLE conversations ADD COLUMN labels text[] NOT NULL DEFAULT '{}';
UPDATE conversations SET
    assignee = doc->>'assignee',
    labels = ARRAY(SELECT jsonb_array_elements_text(COALESCE(doc->'labels', '[]'::jsonb)));
CREATE INDEX conversations_by_assignee
    ON conversations (assignee, last_activity DESC, conv);
CREATE INDEX conversations_by_label ON conversations USING gin (labels);

-- id: insertion order among events of the same millisecond.
CREATE TABLE history (
    id   bigserial PRIMARY KEY,
    conv bytea NOT NULL,
    at   bigint NOT NULL,
    doc  jsonb NOT NULL
);
CREATE INDEX history_by_time ON history (at, id);
CREATE INDEX history_by_conv ON history (conv, at, id);

CREATE TABLE notes (
    id   text COLLATE "C" PRIMARY KEY,
    conv bytea NOT NULL,
    at   bigint NOT NULL,
    doc  jsonb NOT NULL
);
CREATE INDEX notes_by_conv ON notes (conv, at, id);

CREATE TABLE mailbox (
    agent text COLLATE "C" NOT NULL,
    id    text COLLATE "C" NOT NULL,
    at    bigint NOT NULL,
    doc   jsonb NOT NULL,
    PRIMARY KEY (agent, id)
);
