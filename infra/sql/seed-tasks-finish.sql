-- The reminders and indexes of infra/sql/seed-tasks-prepare.sql.
\set ON_ERROR_STOP on
\timing on
SET maintenance_work_mem = '1GB';

SELECT setval(pg_get_serial_sequence('tasks', 'id'), (SELECT max(id) FROM tasks));

DROP TABLE IF EXISTS bench_due_tasks;
CREATE TABLE bench_due_tasks AS
SELECT tenant_id, id AS task_id FROM tasks WHERE due_at = timestamptz '2099-01-01 00:00+00';
ALTER TABLE bench_due_tasks ADD PRIMARY KEY (tenant_id, task_id);

INSERT INTO task_reminders (tenant_id, task_id, remind_at)
SELECT tenant_id, id, due_at FROM tasks WHERE done_at IS NULL AND due_at > now();

SELECT sql FROM seed_redo ORDER BY ord \gexec
DROP TABLE seed_us, seed_sizes, seed_redo;
VACUUM ANALYZE tasks;
VACUUM ANALYZE task_reminders;
VACUUM ANALYZE bench_due_tasks;
SELECT count(*) AS tasks, (SELECT count(*) FROM bench_due_tasks) AS due,
       (SELECT count(*) FROM task_reminders WHERE status = 'pending') AS pending
  FROM tasks;
