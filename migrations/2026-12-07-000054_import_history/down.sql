ALTER TABLE imports DROP COLUMN undone_by;
DROP TABLE tenant_events;
