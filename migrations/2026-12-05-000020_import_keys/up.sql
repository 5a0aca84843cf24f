-- Duplicate keys claimed by import chunks being merged right now. A worker merges several
-- chunks of one import at once, on separate connections; a chunk inserts the keys of its
-- new records here before it looks for existing ones, and deletes them again just before
-- it commits. A second chunk with the same key waits on the unique index until the first
-- commits, then finds the first one's record as existing: a key that repeats across
-- chunks is created once. Rows live for one transaction, hence UNLOGGED.
CREATE UNLOGGED TABLE import_keys (
    tenant_id   bigint NOT NULL,
    import_id   bigint NOT NULL,
    key         text   NOT NULL,
    PRIMARY KEY (tenant_id, import_id, key)
);

ALTER TABLE import_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_keys
    USING (tenant_id = kehu_current_tenant()) WITH CHECK (tenant_id = kehu_current_tenant());

GRANT SELECT, INSERT, DELETE ON import_keys TO kehu_app;
