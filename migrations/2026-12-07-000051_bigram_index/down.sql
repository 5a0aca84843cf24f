DROP INDEX CONCURRENTLY IF EXISTS companies_tenant_bigrams_idx;
