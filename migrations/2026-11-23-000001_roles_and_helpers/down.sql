DROP FUNCTION kehu_touch_updated_at();
DROP FUNCTION kehu_current_tenant();
