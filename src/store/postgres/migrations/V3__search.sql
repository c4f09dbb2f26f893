-- Full-text search (src/search): one signature a conversation, a 2048-bit
-- Bloom filter of the lowercased one- and two-character grams of its
-- messages' texts, OR-ed in by apply. A query keeps the conversations whose
-- signature has all of its grams and verifies them against the messages.
-- (pg_trgm was not used: it drops characters that are not alphanumeric in
-- the database's locale, emoji always and CJK under "C", and cannot serve
-- queries shorter than three characters from its index.)
CREATE TABLE search_sig (
    conv bytea PRIMARY KEY,
    sig  bit(2048) NOT NULL
);
