-- The list ordered by priority (most urgent first), then latest activity:
-- an index on the document's priority as a rank, so the first rows of
-- that order are an index range too (query::PRIORITY_RANK is the same
-- expression, character for character, so the planner matches it).
CREATE INDEX conversations_by_priority ON conversations (
    (CASE doc->>'priority'
        WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1
        ELSE 0 END) DESC,
    last_activity DESC,
    conv
);
