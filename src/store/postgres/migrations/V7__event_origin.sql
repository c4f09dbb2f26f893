-- Which open store appended each webhook body (as change_feed.origin), so
-- every process can count the events the others received ("events today")
-- while skipping its own, which it counted when it appended them. Rows
-- written before this column, or copied from sled, have none.
ALTER TABLE events ADD COLUMN origin text;
