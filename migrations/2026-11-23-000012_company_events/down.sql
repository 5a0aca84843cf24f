DROP INDEX companies_tenant_activity_idx;
ALTER TABLE companies DROP COLUMN last_activity_at;
DROP TABLE company_events;
