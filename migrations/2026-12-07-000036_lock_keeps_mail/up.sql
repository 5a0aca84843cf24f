-- A lock (three wrong passwords) only stops password logins: it may be a stranger's
-- guesses, so the owner's sessions go on (issue 13) and so does their mail. The daily
-- digest no longer skips a locked owner (the reminder scan's query, in the app, neither).
CREATE OR REPLACE FUNCTION kehu_digest_due_users(p_now timestamptz)
    RETURNS TABLE (tenant_id bigint, user_id bigint, day date)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT u.tenant_id, u.id, (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::date
          FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.digest_on AND u.status = 'active'
           AND (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::time >= time '08:00'
           AND (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::time < time '10:00'
           AND NOT EXISTS (
               SELECT 1 FROM task_digests d
                WHERE d.tenant_id = u.tenant_id AND d.user_id = u.id
                  AND d.day = (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::date)
         ORDER BY u.tenant_id, u.id
    $$;
