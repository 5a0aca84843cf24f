DROP FUNCTION kehu_company_name_matches(text[], text);
DROP INDEX companies_tenant_grams_idx;
CREATE INDEX companies_tenant_grams_idx ON companies USING gin (tenant_id, name_grams);
DROP FUNCTION kehu_tenant_grams(bigint, text[]);
