DROP FUNCTION kehu_take_signup_request(text);
DROP TABLE signup_requests;
DELETE FROM emails WHERE tenant_id = 0;
DELETE FROM tenants WHERE id = 0;
