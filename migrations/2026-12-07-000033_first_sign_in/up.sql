-- When the user first signed in (NULL: never), so that a first sign-in is greeted as one.
-- Users who have a password signed in before this column existed. Set once: a login
-- writes nothing to the user's row unless something changes.
ALTER TABLE users ADD COLUMN first_sign_in_at timestamptz;
UPDATE users SET first_sign_in_at = updated_at WHERE password_hash IS NOT NULL;
