-- Fast "name contains" search for the app role (issue 3 benchmark, see BENCHMARKS.md).
--
-- Under forced row-level security the planner may only use a condition as an index
-- condition when its operator is LEAKPROOF (or it is the policy itself). `text[] @>` is
-- not, so for kehu_app the GIN index (tenant_id, name_grams) was never used: every search
-- read all of the tenant's rows. Measured on the 100k tenant: 3+ character searches
-- 180–220 ms. Two changes:
--
-- 1. The gram index keys carry the tenant ('42:北京'), so one posting list is one tenant's
--    rows with that gram. A multi-column (tenant_id, grams) GIN left the planner free to
--    use only the gram column and filter the tenant afterwards, fetching every tenant's
--    matches (ten times the rows at 1M companies, a hundred times at 10M).
-- 2. kehu_company_name_matches() runs the indexed part of the search as the owner (no
--    RLS, so the index is usable) and only ever for the transaction's tenant
--    (kehu_current_tenant(), the same setting the policies use). The list query then
--    keeps its RLS, visibility scope, keyset and ordering: `id IN (SELECT …)`.
--
-- Terms of 1 or 2 characters do not use it: their unigram/bigram test is exact, so the
-- list query filters `name_grams @> …` directly and the planner walks the newest rows
-- backwards until it has a page (a common term such as 北京 needs about 800 rows).

CREATE FUNCTION kehu_tenant_grams(p_tenant bigint, p_grams text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(p_tenant::text || ':' || g), '{}') FROM unnest(p_grams) g $$;

DROP INDEX companies_tenant_grams_idx;
-- tenant_id still leads (btree_gin), as every index here; searches use the second column.
CREATE INDEX companies_tenant_grams_idx ON companies
    USING gin (tenant_id, kehu_tenant_grams(tenant_id, name_grams));

-- Ids of the current tenant's companies whose normalised name contains every gram in
-- p_grams and matches the LIKE pattern p_pattern (built from kehu_search_text of the term).
CREATE FUNCTION kehu_company_name_matches(p_grams text[], p_pattern text) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    -- A generic plan cannot see the tenant or the grams and took 6 ms instead of 2.
    SET plan_cache_mode = force_custom_plan ROWS 100
    AS $$
DECLARE
    t bigint := kehu_current_tenant();
BEGIN
    IF t IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT c.id FROM companies c
         WHERE kehu_tenant_grams(c.tenant_id, c.name_grams) @> kehu_tenant_grams(t, p_grams)
           AND c.tenant_id = t
           AND kehu_search_text(c.name) LIKE p_pattern;
END $$;
REVOKE ALL ON FUNCTION kehu_company_name_matches(text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kehu_company_name_matches(text[], text) TO kehu_app;
