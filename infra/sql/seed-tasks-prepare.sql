-- Benchmark data for issue 12's reminders, run by infra/seed-reminders after kehu-seed
-- (as the owner role, which bypasses RLS): :total tasks spread evenly over the tenants,
-- :due of them (the same number in every tenant) with a reminder due at one minute that
-- infra/bench-reminders moves to the minute it measures; they are listed in
-- bench_due_tasks. Of the others, 70% are done (in the past), 10% overdue and 20% due in
-- the next 90 days with a pending reminder, so the scan's index holds the ~2M pending
-- rows of a real outbox. One user in five reads English in New York's time zone.
-- This file prepares (numbered users, tenants' sizes); seed-tasks-load.sql loads one
-- part of the tasks (the parts run at once: the generated search grams of `content`
-- cost ~50 us a row); seed-tasks-finish.sql writes the reminders. Deterministic:
-- setseed per part. Indexes and foreign keys of the two tables are dropped for the load
-- and recreated from their definitions.
\set ON_ERROR_STOP on
\timing on
SET maintenance_work_mem = '1GB';

UPDATE users SET locale = 'en', time_zone = 'America/New_York' WHERE id % 5 = 0;

DROP TABLE IF EXISTS seed_us, seed_sizes, seed_redo;
CREATE TABLE seed_us AS
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) - 1 AS rn, id
  FROM users;
CREATE INDEX ON seed_us (tenant_id, rn);
CREATE TABLE seed_sizes AS
SELECT t.id AS tenant_id, row_number() OVER (ORDER BY t.id) - 1 AS k,
       (SELECT count(*) FROM users u WHERE u.tenant_id = t.id) AS users,
       (SELECT min(c.id) FROM companies c WHERE c.tenant_id = t.id) AS company_id
  FROM tenants t WHERE t.id > 0;
CREATE INDEX ON seed_sizes (k);
ANALYZE seed_us; ANALYZE seed_sizes;

-- Drop what slows the load.
CREATE TABLE seed_redo (sql text, ord int);
INSERT INTO seed_redo
SELECT pg_get_indexdef(i.indexrelid), 1
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
 WHERE t.relname IN ('tasks', 'task_reminders') AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
INSERT INTO seed_redo
SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)), 2
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
 WHERE t.relname IN ('tasks', 'task_reminders') AND c.contype = 'f';
SELECT format('DROP INDEX %s', i.indexrelid::regclass)
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
 WHERE t.relname IN ('tasks', 'task_reminders') AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \gexec
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname)
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
 WHERE t.relname IN ('tasks', 'task_reminders') AND c.contype = 'f'
 ORDER BY c.conrelid::regclass::text DESC \gexec

