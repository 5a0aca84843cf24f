-- The tenant-keyed gram index only ever serves terms of 3 or more characters, and those
-- are looked up by their bigrams alone (`term_grams`); terms of 1 or 2 characters filter
-- `name_grams` on the rows themselves. The unigrams in the index were dead weight: half
-- its keys and about 9 µs of every company insert (BENCHMARKS.md, issue 13 point 8).
-- Migrations 000051-000053 replace the index with one of bigrams only, built
-- concurrently.
CREATE FUNCTION kehu_tenant_bigrams(p_tenant bigint, p_grams text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    prefix text := p_tenant::text || ':';
    keys text[] := '{}';
    g text;
BEGIN
    IF p_grams IS NULL THEN
        RETURN keys;
    END IF;
    FOREACH g IN ARRAY p_grams LOOP
        IF length(g) = 2 THEN
            keys := array_append(keys, prefix || g);
        END IF;
    END LOOP;
    RETURN keys;
END $$;
