DROP FUNCTION kehu_tenant_bigrams(bigint, text[]);
