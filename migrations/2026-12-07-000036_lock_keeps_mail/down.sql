-- The digest skipped locked owners.
CREATE OR REPLACE FUNCTION kehu_digest_due_users(p_now timestamptz)
    RETURNS TABLE (tenant_id bigint, user_id bigint, day date)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT u.tenant_id, u.id, (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::date
          FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.digest_on AND u.status = 'active' AND u.locked_at IS NULL
           AND (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::time >= time '08:00'
           AND (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::time < time '10:00'
           AND NOT EXISTS (
               SELECT 1 FROM task_digests d
                WHERE d.tenant_id = u.tenant_id AND d.user_id = u.id
                  AND d.day = (p_now AT TIME ZONE coalesce(u.time_zone, t.time_zone))::date)
         ORDER BY u.tenant_id, u.id
    $$;
