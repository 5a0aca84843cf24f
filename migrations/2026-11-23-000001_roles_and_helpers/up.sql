-- Helpers shared by every tenant-owned table.
-- The app connects as `kehu_app` (created by infra/, never an owner, no BYPASSRLS).
-- Migrations run as the owner role, which owns every table and SECURITY DEFINER function.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The tenant of the current transaction, or NULL outside one.
-- `current_setting(.., true)` reads '' (not NULL) after a transaction that set it ends,
-- hence the NULLIF.
CREATE FUNCTION kehu_current_tenant() RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint $$;

GRANT EXECUTE ON FUNCTION kehu_current_tenant() TO kehu_app;
GRANT USAGE ON SCHEMA public TO kehu_app;

CREATE FUNCTION kehu_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
