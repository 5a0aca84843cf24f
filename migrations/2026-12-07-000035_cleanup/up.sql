-- The worker's nightly clean-up sees across tenants only through these functions, and
-- each does one narrow thing.

-- Account links (invitations, password resets, unlocks) and sign-up requests whose time
-- is up (a used link stays until its expiry, then goes too), and Kehu's own emails (tenant
-- 0: sign-up links, which carry tokens) a day after they were sent or failed.
CREATE FUNCTION kehu_purge_expired_links(p_now timestamptz)
    RETURNS TABLE (links bigint, signups bigint, kehu_emails bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH l AS (DELETE FROM invitations WHERE expires_at < p_now RETURNING 1),
             s AS (DELETE FROM signup_requests WHERE expires_at < p_now RETURNING 1),
             e AS (DELETE FROM emails
                    WHERE tenant_id = 0 AND status IN ('sent', 'failed')
                      AND created_at < p_now - interval '1 day'
                   RETURNING 1)
        SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM s), (SELECT count(*) FROM e)
    $$;
REVOKE ALL ON FUNCTION kehu_purge_expired_links(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kehu_purge_expired_links(timestamptz) TO kehu_app;

-- Import uploads that were never started (still drafts) since before p_before; the worker
-- deletes each in its tenant's own transaction, then its file.
CREATE FUNCTION kehu_stale_import_drafts(p_before timestamptz, p_limit integer)
    RETURNS TABLE (tenant_id bigint, id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT i.tenant_id, i.id FROM imports i
         WHERE i.status = 'draft' AND i.created_at < p_before
         ORDER BY i.tenant_id, i.id
         LIMIT p_limit
    $$;
REVOKE ALL ON FUNCTION kehu_stale_import_drafts(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kehu_stale_import_drafts(timestamptz, integer) TO kehu_app;
