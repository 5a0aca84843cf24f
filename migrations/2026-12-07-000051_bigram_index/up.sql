-- Outside a transaction (metadata.toml): writes to companies go on while it builds.
-- tenant_id leads (btree_gin), as in every index here.
CREATE INDEX CONCURRENTLY IF NOT EXISTS companies_tenant_bigrams_idx ON companies
    USING gin (tenant_id, kehu_tenant_bigrams(tenant_id, name_grams));
