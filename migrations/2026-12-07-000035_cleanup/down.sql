DROP FUNCTION kehu_stale_import_drafts(timestamptz, integer);
DROP FUNCTION kehu_purge_expired_links(timestamptz);
