DROP FUNCTION kehu_reminder_tenants_due(timestamptz);
DROP TABLE task_reminders;
DROP TABLE tasks;
DROP TABLE task_categories;
ALTER TABLE users DROP COLUMN digest_on, DROP COLUMN reminders_on, DROP COLUMN remind_before, DROP COLUMN time_zone;
