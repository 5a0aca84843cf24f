-- `updated_at` means "last edited". Recording activity (a note, a tag, a contact change)
-- only moves `last_activity_at`, and must not count as an edit: the touch trigger skips
-- updates that change `last_activity_at`. (Edits never set it; the history records the
-- activity in a separate statement.)
DROP TRIGGER companies_touch ON companies;
CREATE TRIGGER companies_touch BEFORE UPDATE ON companies
    FOR EACH ROW
    WHEN (NEW.last_activity_at IS NOT DISTINCT FROM OLD.last_activity_at)
    EXECUTE FUNCTION kehu_touch_updated_at();
