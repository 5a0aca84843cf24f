-- When the user last signed in (NULL: never), so that a first sign-in is greeted as one.
-- Users who have a password have signed in before this column existed.
ALTER TABLE users ADD COLUMN last_sign_in_at timestamptz;
UPDATE users SET last_sign_in_at = updated_at WHERE password_hash IS NOT NULL;
