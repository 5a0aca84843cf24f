DROP TRIGGER users_directory ON users;
CREATE TRIGGER users_directory AFTER INSERT OR UPDATE OF email ON users
    FOR EACH ROW EXECUTE FUNCTION kehu_sync_user_directory();
INSERT INTO user_directory (email, tenant_id, user_id)
SELECT email, tenant_id, id FROM users WHERE email_confirmed_at IS NULL
ON CONFLICT DO NOTHING;
ALTER TABLE users DROP COLUMN email_confirmed_at;
CREATE OR REPLACE FUNCTION kehu_sync_user_directory() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.email = OLD.email THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM user_directory WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id;
    END IF;
    INSERT INTO user_directory (email, tenant_id, user_id) VALUES (NEW.email, NEW.tenant_id, NEW.id);
    RETURN NEW;
END $$;
