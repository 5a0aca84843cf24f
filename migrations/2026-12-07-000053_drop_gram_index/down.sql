CREATE INDEX CONCURRENTLY IF NOT EXISTS companies_tenant_grams_idx ON companies
    USING gin (tenant_id, kehu_tenant_grams(tenant_id, name_grams));
