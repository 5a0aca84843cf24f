-- The nightly ranking rollup (销售排行榜, 销售漏斗, and the actuals of 销售指标): per tenant,
-- day (in the tenant's time zone), owner and visibility, what the statistics pages sum
-- over a period. The worker recomputes the days that changed (app/src/statistics/
-- rollup.rs); the pages read these rows for every day that is not dirty and compute the
-- dirty ones (today among them) live, with the same SQL.

-- Won and lost opportunities by the day they closed, new ones by the day they were
-- created. Amounts are integer fen (of any currency: the pages sum them as they are).
CREATE TABLE opportunity_daily (
    tenant_id      bigint  NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day            date    NOT NULL,
    owner_id       bigint  NOT NULL,
    -- The opportunities' visibility, so a page applies the same scope as to the rows.
    visibility     text    NOT NULL CHECK (visibility IN ('public', 'private')),
    created_count  integer NOT NULL DEFAULT 0,
    created_amount bigint  NOT NULL DEFAULT 0,
    won_count      integer NOT NULL DEFAULT 0,
    won_amount     bigint  NOT NULL DEFAULT 0,
    lost_count     integer NOT NULL DEFAULT 0,
    lost_amount    bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, owner_id, visibility),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- Stage entries, from opportunity_events ('created' and 'stage' with a stage entered):
-- the opportunities that entered a stage on a day, and their amount.
CREATE TABLE opportunity_stage_daily (
    tenant_id      bigint  NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day            date    NOT NULL,
    owner_id       bigint  NOT NULL,
    visibility     text    NOT NULL CHECK (visibility IN ('public', 'private')),
    stage_id       bigint  NOT NULL,
    entered        integer NOT NULL,
    entered_amount bigint  NOT NULL,
    PRIMARY KEY (tenant_id, day, owner_id, visibility, stage_id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, stage_id) REFERENCES opportunity_stages (tenant_id, id) ON DELETE CASCADE
);

-- Days whose rollup rows are stale: one mark per (tenant, day) per writing transaction.
-- Keying marks by transaction keeps concurrent writers off one hot row, and makes the
-- recompute safe without locks: it deletes only the marks it can see (committed), so a
-- change still in flight keeps its own mark and is recomputed by a later run.
CREATE TABLE opportunity_dirty_days (
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day       date   NOT NULL,
    xact      bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    PRIMARY KEY (tenant_id, day, xact)
);

-- New opportunities by creation time (the rollup and the live days).
CREATE INDEX opportunities_tenant_created_idx ON opportunities (tenant_id, created_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['opportunity_daily', 'opportunity_stage_daily', 'opportunity_dirty_days'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                            USING (tenant_id = kehu_current_tenant())
                            WITH CHECK (tenant_id = kehu_current_tenant())', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, DELETE ON opportunity_daily, opportunity_stage_daily, opportunity_dirty_days TO kehu_app;

-- Marks the days of inserted or deleted opportunities: their creation and closing days.
-- Statement-level with a transition table, so a bulk insert marks each day once. The
-- join on tenants also skips rows of a tenant being deleted.
CREATE FUNCTION kehu_opportunity_rows_dirty() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        INSERT INTO opportunity_dirty_days (tenant_id, day)
        SELECT DISTINCT r.tenant_id, (x.at AT TIME ZONE t.time_zone)::date
          FROM changed_rows r
          JOIN tenants t ON t.id = r.tenant_id
         CROSS JOIN LATERAL (VALUES (r.created_at), (r.closed_at)) AS x(at)
         WHERE x.at IS NOT NULL
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$;

-- Marks the old and new days of updated opportunities whose counted facts changed, and,
-- when the owner, visibility or amount changed, every day it entered a stage.
CREATE FUNCTION kehu_opportunity_updates_dirty() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        INSERT INTO opportunity_dirty_days (tenant_id, day)
        SELECT DISTINCT c.tenant_id, (c.at AT TIME ZONE t.time_zone)::date
          FROM (
                SELECT o.tenant_id, x.at
                  FROM old_rows o
                  JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
                 CROSS JOIN LATERAL (VALUES (o.created_at), (o.closed_at), (n.created_at), (n.closed_at)) AS x(at)
                 WHERE (o.created_at, o.closed_at, o.status, o.amount, o.owner_id, o.visibility)
                       IS DISTINCT FROM (n.created_at, n.closed_at, n.status, n.amount, n.owner_id, n.visibility)
                UNION ALL
                SELECT e.tenant_id, e.created_at
                  FROM old_rows o
                  JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
                  JOIN opportunity_events e ON e.tenant_id = o.tenant_id AND e.opportunity_id = o.id
                 WHERE e.to_stage_id IS NOT NULL AND e.action IN ('created', 'stage')
                   AND (o.amount, o.owner_id, o.visibility) IS DISTINCT FROM (n.amount, n.owner_id, n.visibility)
               ) c
          JOIN tenants t ON t.id = c.tenant_id
         WHERE c.at IS NOT NULL
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$;

-- Marks the days of inserted or deleted stage entries. (The app role cannot update
-- events.)
CREATE FUNCTION kehu_opportunity_event_rows_dirty() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        INSERT INTO opportunity_dirty_days (tenant_id, day)
        SELECT DISTINCT r.tenant_id, (r.created_at AT TIME ZONE t.time_zone)::date
          FROM changed_rows r
          JOIN tenants t ON t.id = r.tenant_id
         WHERE r.to_stage_id IS NOT NULL AND r.action IN ('created', 'stage')
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$;

CREATE TRIGGER opportunities_rollup_insert AFTER INSERT ON opportunities
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kehu_opportunity_rows_dirty();
CREATE TRIGGER opportunities_rollup_delete AFTER DELETE ON opportunities
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kehu_opportunity_rows_dirty();
CREATE TRIGGER opportunities_rollup_update AFTER UPDATE ON opportunities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kehu_opportunity_updates_dirty();
CREATE TRIGGER opportunity_events_rollup_insert AFTER INSERT ON opportunity_events
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kehu_opportunity_event_rows_dirty();
CREATE TRIGGER opportunity_events_rollup_delete AFTER DELETE ON opportunity_events
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kehu_opportunity_event_rows_dirty();

-- A new time zone moves every day boundary: the tenant's rows go, and every day with
-- data in the new zone is marked, so pages compute it live until the rollup has run.
CREATE FUNCTION kehu_tenant_time_zone_dirty() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        DELETE FROM opportunity_daily WHERE tenant_id = NEW.id;
        DELETE FROM opportunity_stage_daily WHERE tenant_id = NEW.id;
        INSERT INTO opportunity_dirty_days (tenant_id, day)
        SELECT DISTINCT NEW.id, (x.at AT TIME ZONE NEW.time_zone)::date
          FROM (
                SELECT created_at FROM opportunities WHERE tenant_id = NEW.id
                UNION ALL
                SELECT closed_at FROM opportunities WHERE tenant_id = NEW.id AND closed_at IS NOT NULL
                UNION ALL
                SELECT created_at FROM opportunity_events
                 WHERE tenant_id = NEW.id AND to_stage_id IS NOT NULL AND action IN ('created', 'stage')
               ) AS x(at)
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$;

CREATE TRIGGER tenants_time_zone_rollup AFTER UPDATE OF time_zone ON tenants
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION kehu_tenant_time_zone_dirty();

-- The rollup's view across tenants (RLS hides other tenants from the app role): the dirty
-- (tenant, day)s that are over in the tenant's time zone at `p_now`, in key order after
-- (p_after_tenant, p_after_day). Only ids and dates leave the function.
CREATE FUNCTION kehu_rollup_due_days(p_now timestamptz, p_after_tenant bigint, p_after_day date, p_limit integer)
    RETURNS TABLE (tenant_id bigint, day date)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT DISTINCT d.tenant_id, d.day
          FROM opportunity_dirty_days d
          JOIN tenants t ON t.id = d.tenant_id
         WHERE (d.tenant_id, d.day) > (p_after_tenant, p_after_day)
           AND d.day < (p_now AT TIME ZONE t.time_zone)::date
         ORDER BY 1, 2
         LIMIT p_limit
    $$;
REVOKE ALL ON FUNCTION kehu_rollup_due_days(timestamptz, bigint, date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kehu_rollup_due_days(timestamptz, bigint, date, integer) TO kehu_app;
