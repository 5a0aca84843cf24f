DROP FUNCTION kehu_find_calendar_feed(bigint, bigint, text);
ALTER TABLE users DROP COLUMN calendar_feed_hash;
