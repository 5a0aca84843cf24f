-- Benchmark data for issue 11, run by infra/seed after kehu-seed (as the owner role,
-- which bypasses RLS): every tenant gets the default pipeline, categories and lost
-- reasons; :total opportunities spread over the tenants in proportion to their
-- companies, :big of them in the big tenant (id 1); created over the companies' three
-- years; older ones mostly won or lost, recent ones mostly tracking; each with its
-- stage history (created, a stage event per stage passed, and the status change).
-- Deterministic: setseed. Indexes and foreign keys of the two big tables are dropped
-- for the load and recreated from their definitions.
\set ON_ERROR_STOP on
\timing on
SELECT setseed(0.42);
SET maintenance_work_mem = '1GB';

INSERT INTO opportunity_stages (tenant_id, name, probability, position)
SELECT t.id, s.name, s.p, s.pos
  FROM (SELECT id FROM tenants WHERE id > 0) t,
       (VALUES ('初步接洽', 10, 1), ('需求确认', 30, 2), ('方案报价', 50, 3), ('商务谈判', 80, 4))
           AS s(name, p, pos)
ON CONFLICT DO NOTHING;
INSERT INTO opportunity_categories (tenant_id, name, position)
SELECT t.id, c.name, c.pos FROM (SELECT id FROM tenants WHERE id > 0) t,
       (VALUES ('新客户', 1), ('老客户续约', 2), ('增购', 3)) AS c(name, pos)
ON CONFLICT DO NOTHING;
INSERT INTO lost_reasons (tenant_id, name, position)
SELECT t.id, r.name, r.pos FROM (SELECT id FROM tenants WHERE id > 0) t,
       (VALUES ('价格太高', 1), ('选择了竞争对手', 2), ('需求取消', 3), ('其他', 4)) AS r(name, pos)
ON CONFLICT DO NOTHING;

-- Numbered lookups per tenant.
CREATE TEMP TABLE co AS
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS rn, id
  FROM companies;
CREATE INDEX ON co (tenant_id, rn);
CREATE TEMP TABLE us AS
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) - 1 AS rn, id
  FROM users;
CREATE INDEX ON us (tenant_id, rn);
CREATE TEMP TABLE st AS
SELECT tenant_id, position AS pos, id FROM opportunity_stages;
CREATE INDEX ON st (tenant_id, pos);
-- Categories and lost reasons by their rank in the tenant (0, 1, …): their ids need not
-- be consecutive per tenant (the INSERTs above may interleave tenants).
CREATE TEMP TABLE cat AS
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY position, id) - 1 AS k, id
  FROM opportunity_categories;
CREATE INDEX ON cat (tenant_id, k);
CREATE TEMP TABLE lr AS
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY position, id) - 1 AS k, id
  FROM lost_reasons;
CREATE INDEX ON lr (tenant_id, k);
ANALYZE co; ANALYZE us; ANALYZE st; ANALYZE cat; ANALYZE lr;
CREATE TEMP TABLE sizes AS
WITH c AS (SELECT tenant_id, count(*) AS n FROM companies GROUP BY tenant_id),
     u AS (SELECT tenant_id, count(*) AS n FROM users GROUP BY tenant_id)
SELECT c.tenant_id, c.n AS companies, u.n AS users,
       CASE WHEN c.tenant_id = 1 THEN :big
            ELSE round(c.n::numeric * (:total - :big)
                       / (SELECT sum(n) FROM c WHERE tenant_id <> 1))::bigint END AS opps
  FROM c JOIN u USING (tenant_id);

-- Drop what slows the load.
CREATE TEMP TABLE redo (sql text, ord int);
INSERT INTO redo
SELECT pg_get_indexdef(i.indexrelid), 1
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
 WHERE t.relname IN ('opportunities', 'opportunity_events') AND NOT i.indisprimary;
INSERT INTO redo
SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)), 2
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
 WHERE t.relname IN ('opportunities', 'opportunity_events') AND c.contype = 'f';
SELECT format('DROP INDEX %s', i.indexrelid::regclass)
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
 WHERE t.relname IN ('opportunities', 'opportunity_events') AND NOT i.indisprimary \gexec
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname)
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
 WHERE t.relname IN ('opportunities', 'opportunity_events') AND c.contype = 'f'
 ORDER BY c.conrelid::regclass::text DESC \gexec

-- The opportunities: one row per (tenant, n), with random draws in a lateral.
CREATE TEMP TABLE gen AS
SELECT s.tenant_id, g.n,
       1 + (hashint8(s.tenant_id * 1000003 + g.n) & 2147483647) % s.companies AS co_rn,
       (hashint8(s.tenant_id * 7919 + g.n) & 2147483647) % s.users AS us_rn,
       random() AS r_created, random() AS r_status, random() AS r_stage, random() AS r_amount,
       random() AS r_close, random() AS r_misc
  FROM sizes s, generate_series(1, s.opps) AS g(n);

INSERT INTO opportunities (tenant_id, id, company_id, name, description, amount, currency,
                           category_id, stage_id, status, lost_reason_id, expected_close,
                           closed_at, owner_id, visibility, created_by, created_at,
                           updated_at, last_activity_at)
SELECT g.tenant_id, row_number() OVER (ORDER BY x.created_at, g.tenant_id, g.n), co.id,
       (ARRAY['ERP 实施', '年度服务', '设备采购', '软件授权', '咨询项目', '系统升级', '培训服务', '云服务订阅'])[1 + (g.n % 8)::int]
           || ' ' || g.n,
       CASE WHEN g.r_misc < 0.3 THEN '客户希望在下季度前完成选型。' ELSE '' END,
       (100000 + floor(g.r_amount * g.r_amount * 99900000))::bigint,
       'CNY',
       CASE WHEN g.r_misc < 0.8 THEN (SELECT cat.id FROM cat WHERE cat.tenant_id = g.tenant_id AND cat.k = g.n % 3) END,
       st.id, x.status,
       CASE WHEN x.status = 'lost' THEN (SELECT lr.id FROM lr WHERE lr.tenant_id = g.tenant_id AND lr.k = g.n % 4) END,
       (x.created_at + (30 + floor(g.r_close * 150)) * interval '1 day')::date,
       CASE WHEN x.status <> 'tracking' THEN greatest(x.created_at, least(x.created_at + (1 + floor(g.r_close * 120)) * interval '1 day', timestamptz '2026-12-05 12:00+08')) END,
       us.id, CASE WHEN g.r_misc > 0.7 THEN 'public' ELSE 'private' END, us.id,
       x.created_at, x.created_at, x.created_at
  FROM gen g
  CROSS JOIN LATERAL (
      SELECT ts AS created_at,
             CASE WHEN ts > timestamptz '2026-12-05' - interval '90 days'
                  THEN CASE WHEN g.r_status < 0.8 THEN 'tracking' WHEN g.r_status < 0.9 THEN 'won' ELSE 'lost' END
                  ELSE CASE WHEN g.r_status < 0.45 THEN 'won' WHEN g.r_status < 0.85 THEN 'lost' ELSE 'tracking' END
             END AS status
        FROM (SELECT timestamptz '2023-12-01 09:00+08' + g.r_created * (timestamptz '2026-12-05 18:00+08' - timestamptz '2023-12-01 09:00+08') AS ts) t
  ) x
  JOIN co ON co.tenant_id = g.tenant_id AND co.rn = g.co_rn
  JOIN us ON us.tenant_id = g.tenant_id AND us.rn = g.us_rn
  JOIN st ON st.tenant_id = g.tenant_id
         AND st.pos = CASE WHEN x.status = 'won' THEN 4 ELSE 1 + floor(g.r_stage * 4)::int END;
SELECT setval(pg_get_serial_sequence('opportunities', 'id'), (SELECT max(id) FROM opportunities));

-- History: created (first stage), one event per later stage reached, the status change.
INSERT INTO opportunity_events (tenant_id, opportunity_id, actor_id, action, from_stage_id,
                                to_stage_id, from_status, to_status, created_at)
SELECT o.tenant_id, o.id, o.owner_id, 'created', NULL, s1.id, NULL, 'tracking', o.created_at
  FROM opportunities o JOIN st s1 ON s1.tenant_id = o.tenant_id AND s1.pos = 1;
INSERT INTO opportunity_events (tenant_id, opportunity_id, actor_id, action, from_stage_id,
                                to_stage_id, created_at)
SELECT o.tenant_id, o.id, o.owner_id, 'stage', prev.id, nxt.id,
       o.created_at + (coalesce(o.closed_at, greatest(o.created_at, least(o.created_at + interval '60 days',
                                                                     timestamptz '2026-12-05 18:00+08')))
                       - o.created_at) * (nxt.pos - 1) / 4.0
  FROM opportunities o
  JOIN st cur ON cur.id = o.stage_id AND cur.tenant_id = o.tenant_id
  JOIN st nxt ON nxt.tenant_id = o.tenant_id AND nxt.pos BETWEEN 2 AND cur.pos
  JOIN st prev ON prev.tenant_id = o.tenant_id AND prev.pos = nxt.pos - 1;
INSERT INTO opportunity_events (tenant_id, opportunity_id, actor_id, action, from_status,
                                to_status, created_at)
SELECT tenant_id, id, owner_id, 'status', 'tracking', status, closed_at
  FROM opportunities WHERE status <> 'tracking';

SELECT sql FROM redo ORDER BY ord \gexec
VACUUM ANALYZE opportunities;
VACUUM ANALYZE opportunity_events;
SELECT count(*) AS opportunities, count(*) FILTER (WHERE tenant_id = 1) AS big FROM opportunities;
SELECT count(*) AS events FROM opportunity_events;
