-- The unigram-and-bigram index of migration 000015, no longer used (000052).
DROP INDEX CONCURRENTLY IF EXISTS companies_tenant_grams_idx;
