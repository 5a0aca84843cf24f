CREATE OR REPLACE FUNCTION kehu_search_grams(p text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(array_agg(DISTINCT g), '{}')
        FROM (SELECT kehu_search_text(p) AS t) s,
             LATERAL (
                 SELECT substr(t, i, 1) AS g FROM generate_series(1, length(t)) i
                 UNION ALL
                 SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) i
             ) grams
    $$;

CREATE OR REPLACE FUNCTION kehu_tenant_grams(p_tenant bigint, p_grams text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(p_tenant::text || ':' || g), '{}') FROM unnest(p_grams) g $$;
