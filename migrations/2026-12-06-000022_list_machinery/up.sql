-- The list machinery shared by every module's list (app/src/listing): saved filters and
-- column choices belong to one list each, the export job exports opportunity lists, and
-- the sort keys the lists offer have indexes (tenant_id first, the key, then the id the
-- keyset ends with).

-- 快速过滤管理 per list. Rows from before lists had keys are the customer list's.
ALTER TABLE saved_filters ADD COLUMN list text NOT NULL DEFAULT 'customers'
    CHECK (list ~ '^[a-z_]{1,30}$');
ALTER TABLE saved_filters DROP CONSTRAINT saved_filters_tenant_owner_name_key;
ALTER TABLE saved_filters ADD CONSTRAINT saved_filters_tenant_owner_list_name_key
    UNIQUE (tenant_id, owner_id, list, name);
DROP INDEX saved_filters_tenant_shared_idx;
CREATE INDEX saved_filters_tenant_list_shared_idx ON saved_filters (tenant_id, list, shared, id);

-- 显示列: each user's columns of each list (no row: the list's default columns).
CREATE TABLE list_columns (
    tenant_id  bigint      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL,
    list       text        NOT NULL CHECK (list ~ '^[a-z_]{1,30}$'),
    shown      text[]      NOT NULL CHECK (cardinality(shown) <= 60),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, list),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE list_columns ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_columns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON list_columns
    USING (tenant_id = kehu_current_tenant())
    WITH CHECK (tenant_id = kehu_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON list_columns TO kehu_app;

INSERT INTO list_columns (tenant_id, user_id, list, shown)
    SELECT tenant_id, id, 'customers', array_remove(customer_columns, NULL)
      FROM users WHERE customer_columns IS NOT NULL;
ALTER TABLE users DROP COLUMN customer_columns;

-- 导出当前显示所有销售时机.
ALTER TABLE exports DROP CONSTRAINT exports_entity_check;
ALTER TABLE exports ADD CONSTRAINT exports_entity_check
    CHECK (entity IN ('company', 'contact', 'opportunity'));

-- Sort keys. Companies by category rank (0: none); owners use companies_tenant_owner_idx.
CREATE INDEX companies_tenant_category_idx ON companies (tenant_id, (coalesce(category_id, 0)), id);
-- Opportunities: name in pinyin order, amount, expected close date, category and stage
-- ranks (status, owner and visibility have theirs from migration 000021).
CREATE INDEX opportunities_tenant_name_idx ON opportunities (tenant_id, (name COLLATE "zh-x-icu"), id);
CREATE INDEX opportunities_tenant_amount_idx ON opportunities (tenant_id, amount, id);
CREATE INDEX opportunities_tenant_expected_close_idx
    ON opportunities (tenant_id, (coalesce(expected_close, 'infinity'::date)), id);
CREATE INDEX opportunities_tenant_category_idx ON opportunities (tenant_id, (coalesce(category_id, 0)), id);
CREATE INDEX opportunities_tenant_stage_all_idx ON opportunities (tenant_id, stage_id, id);
