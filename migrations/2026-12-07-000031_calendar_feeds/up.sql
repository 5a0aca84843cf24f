-- A user's iCalendar feed: a secret URL that a phone's calendar subscribes to. Only the
-- secret's SHA-256 is kept; a new secret replaces the old one and NULL turns the feed off.
ALTER TABLE users ADD COLUMN calendar_feed_hash text
    CHECK (calendar_feed_hash IS NULL OR length(calendar_feed_hash) = 64);

-- The feed's request has no session: this says whether the secret opens the feed of an
-- active user (the tenant and user come from the URL; the secret proves them).
CREATE FUNCTION kehu_find_calendar_feed(p_tenant bigint, p_user bigint, p_hash text)
    RETURNS TABLE (tenant_id bigint, user_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT u.tenant_id, u.id FROM users u
         WHERE u.tenant_id = p_tenant AND u.id = p_user AND u.status = 'active'
           AND u.calendar_feed_hash = p_hash
    $$;
REVOKE ALL ON FUNCTION kehu_find_calendar_feed(bigint, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kehu_find_calendar_feed(bigint, bigint, text) TO kehu_app;
