-- One part (:part of :parts) of the tasks of infra/sql/seed-tasks-prepare.sql.
\set ON_ERROR_STOP on
\timing on
SELECT setseed(0.12 + :part / 100.0);

SELECT count(*) AS tenants FROM seed_sizes \gset
-- Task n belongs to tenant n mod tenants, so a tenant's tasks are spread over the table
-- as tasks written over time are. Blocks of one task per tenant: every (total / due)th
-- block is due at the benchmark's minute.
INSERT INTO tasks (tenant_id, id, content, starts_at, due_at, owner_id, visibility,
                   company_id, remind_before, done_at, done_by, created_by, created_at,
                   updated_at)
SELECT s.tenant_id, g.n, x.content, x.due_at - interval '1 hour', x.due_at, us.id,
       CASE WHEN g.r < 0.3 THEN 'public' ELSE 'private' END,
       CASE WHEN g.n % 3 = 0 THEN s.company_id END, '{0}',
       CASE WHEN x.done THEN x.due_at END, CASE WHEN x.done THEN us.id END, us.id,
       least(x.due_at, timestamptz '2026-12-01') - interval '1 day',
       least(x.due_at, timestamptz '2026-12-01') - interval '1 day'
  FROM (SELECT n, random() AS r, random() AS r2 FROM generate_series(1 + :part, :total, :parts) AS n) g
  JOIN seed_sizes s ON s.k = (g.n - 1) % :tenants
  JOIN seed_us us ON us.tenant_id = s.tenant_id AND us.rn = (hashint8(g.n) & 2147483647) % s.users
  CROSS JOIN LATERAL (
      SELECT due, NOT due AND g.r < 0.7 AS done,
             CASE WHEN due THEN timestamptz '2099-01-01 00:00+00'
                  WHEN g.r < 0.8 THEN timestamptz '2024-01-01 09:00+08' + g.r2 * interval '1065 days'
                  ELSE now() + interval '1 day' + g.r2 * interval '89 days' END AS due_at,
             (ARRAY['回访客户', '发送报价单', '确认合同条款', '安排产品演示', '催收货款',
                    '提交周报', '准备投标文件', '电话跟进'])[1 + (g.n % 8)::int] || ' ' || g.n AS content
        FROM (SELECT ((g.n - 1) / :tenants) % (:total / :due) = 0 AS due) d
  ) x;
