DROP TRIGGER companies_touch ON companies;
CREATE TRIGGER companies_touch BEFORE UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION kehu_touch_updated_at();
