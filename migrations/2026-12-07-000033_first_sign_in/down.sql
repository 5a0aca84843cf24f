ALTER TABLE users DROP COLUMN first_sign_in_at;
