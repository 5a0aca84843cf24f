DROP FUNCTION kehu_digest_due_users(timestamptz);
DROP TABLE task_digests;
