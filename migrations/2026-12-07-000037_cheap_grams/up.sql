-- Cheaper search grams (issue 13, point 8). The SQL versions of kehu_search_grams and
-- kehu_tenant_grams cannot be inlined (they have a FROM), so PostgreSQL ran each call
-- through the SQL-function executor: 60-133 µs a company name for the grams alone, most
-- of the cost of inserting a company. These PL/pgSQL loops return the same set of grams
-- (every character and every bigram of kehu_search_text(p)) at about 8 µs, and the same
-- tenant-keyed keys at about 4 µs (psql, 100,000 names; BENCHMARKS.md).
--
-- The arrays are no longer sorted or deduplicated: a name with a repeated character or
-- bigram stores it twice. Every search asks `name_grams @> …` (set containment) and GIN
-- keeps one key per distinct element, so search results and index entries are the same;
-- rows written before this migration keep their sorted arrays and stay correct.
-- Characters come from string_to_array(t, NULL), not substr(t, i, …), which walks the
-- multibyte string from its start on every call.

CREATE OR REPLACE FUNCTION kehu_search_grams(p text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    chars text[] := string_to_array(kehu_search_text(p), NULL);
    grams text[] := chars;
BEGIN
    FOR i IN 1 .. coalesce(array_length(chars, 1), 0) - 1 LOOP
        grams := array_append(grams, chars[i] || chars[i + 1]);
    END LOOP;
    RETURN grams;
END $$;

CREATE OR REPLACE FUNCTION kehu_tenant_grams(p_tenant bigint, p_grams text[]) RETURNS text[]
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
        keys := array_append(keys, prefix || g);
    END LOOP;
    RETURN keys;
END $$;
