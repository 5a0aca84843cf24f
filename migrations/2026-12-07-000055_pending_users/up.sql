-- An address is taken only once its owner has confirmed it (issue 13, point 3).
--
-- A user an admin adds or invites waits, status 'invited', until the person behind the
-- address follows the emailed link; until then the address is not in `user_directory`,
-- so adding an address that has an account elsewhere creates the same waiting user as a
-- free one (its owner is told instead of getting a link) and the user list cannot tell
-- an admin which addresses have accounts. Following the link confirms the address and
-- takes it, or fails there, told to the address's owner only, when it is taken by then.
--
-- Rows inserted without the column (sign-up, seeds, tests' own SQL) are confirmed: the
-- app leaves it NULL only for users an admin adds.
ALTER TABLE users ADD COLUMN email_confirmed_at timestamptz DEFAULT now();
UPDATE users SET email_confirmed_at = created_at WHERE status <> 'invited';
UPDATE users SET email_confirmed_at = NULL WHERE status = 'invited';
DELETE FROM user_directory d
 USING users u
 WHERE u.tenant_id = d.tenant_id AND u.id = d.user_id AND u.email_confirmed_at IS NULL;

CREATE OR REPLACE FUNCTION kehu_sync_user_directory() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.email = OLD.email
       AND (NEW.email_confirmed_at IS NULL) = (OLD.email_confirmed_at IS NULL) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM user_directory WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id;
    END IF;
    -- A duplicate raises unique_violation on user_directory_pkey, which the app reports
    -- to whoever confirmed the address (its owner).
    IF NEW.email_confirmed_at IS NOT NULL THEN
        INSERT INTO user_directory (email, tenant_id, user_id)
        VALUES (NEW.email, NEW.tenant_id, NEW.id);
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION kehu_sync_user_directory() FROM PUBLIC;

DROP TRIGGER users_directory ON users;
CREATE TRIGGER users_directory AFTER INSERT OR UPDATE OF email, email_confirmed_at ON users
    FOR EACH ROW EXECUTE FUNCTION kehu_sync_user_directory();
