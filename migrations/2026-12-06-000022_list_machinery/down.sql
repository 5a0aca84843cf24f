DROP INDEX opportunities_tenant_stage_all_idx;
DROP INDEX opportunities_tenant_category_idx;
DROP INDEX opportunities_tenant_expected_close_idx;
DROP INDEX opportunities_tenant_amount_idx;
DROP INDEX opportunities_tenant_name_idx;
DROP INDEX companies_tenant_category_idx;

DELETE FROM exports WHERE entity = 'opportunity';
ALTER TABLE exports DROP CONSTRAINT exports_entity_check;
ALTER TABLE exports ADD CONSTRAINT exports_entity_check CHECK (entity IN ('company', 'contact'));

ALTER TABLE users ADD COLUMN customer_columns text[];
UPDATE users u SET customer_columns = c.shown
  FROM list_columns c
 WHERE c.tenant_id = u.tenant_id AND c.user_id = u.id AND c.list = 'customers';
DROP TABLE list_columns;

-- Only the customer list's filters existed before.
DELETE FROM saved_filters WHERE list <> 'customers';
DROP INDEX saved_filters_tenant_list_shared_idx;
CREATE INDEX saved_filters_tenant_shared_idx ON saved_filters (tenant_id, shared, id);
ALTER TABLE saved_filters DROP CONSTRAINT saved_filters_tenant_owner_list_name_key;
ALTER TABLE saved_filters ADD CONSTRAINT saved_filters_tenant_owner_name_key UNIQUE (tenant_id, owner_id, name);
ALTER TABLE saved_filters DROP COLUMN list;
