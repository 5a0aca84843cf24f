DROP INDEX companies_tenant_updated_idx;
DROP INDEX companies_tenant_name_idx;
ALTER TABLE users DROP COLUMN customer_columns;
DROP TABLE saved_filters;
