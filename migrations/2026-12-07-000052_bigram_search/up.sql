-- The name search of 3+ character terms uses the bigram index of migration 000051; its
-- keys are the term's bigrams with the tenant, as before.
CREATE OR REPLACE FUNCTION kehu_company_name_matches(p_grams text[], p_pattern text) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
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
         WHERE kehu_tenant_bigrams(c.tenant_id, c.name_grams) @> kehu_tenant_grams(t, p_grams)
           AND c.tenant_id = t
           AND kehu_search_text(c.name) LIKE p_pattern;
END $$;
