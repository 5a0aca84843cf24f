DROP FUNCTION kehu_find_account(text);
DROP TABLE user_directory;
DROP TABLE users;
DROP FUNCTION kehu_sync_user_directory();
