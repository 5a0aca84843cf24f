-- The daily digest (每日任务摘要): at most one per user and local day, written in the
-- transaction that writes its email (or, with no email, that found nothing to say), so a
-- digest run twice, on two workers or after a kill sends each day's digest once.
CREATE TABLE task_digests (
    tenant_id  bigint      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL,
    day        date        NOT NULL,
    -- NULL when the user had nothing due that day.
    email_id   bigint,
    tasks      integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, day),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, email_id) REFERENCES emails (tenant_id, id)
);

ALTER TABLE task_digests ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_digests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_digests
    USING (tenant_id = kehu_current_tenant())
    WITH CHECK (tenant_id = kehu_current_tenant());

GRANT SELECT, INSERT, UPDATE ON task_digests TO kehu_app;

-- The users whose digest is due at `p_now`: active, unlocked, with the digest on, whose
-- local time (their zone, else the tenant's) is between 08:00 and 10:00 (a worker that was
-- down at 08:00 catches up; one that was down all morning does not send at night), and who
-- have no digest for that local day yet. Ids and the local day only.
CREATE FUNCTION kehu_digest_due_users(p_now timestamptz)
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
REVOKE ALL ON FUNCTION kehu_digest_due_users(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kehu_digest_due_users(timestamptz) TO kehu_app;
