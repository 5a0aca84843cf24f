CREATE INDEX opportunities_tenant_open_owner_idx
    ON opportunities (tenant_id, owner_id, visibility) INCLUDE (amount)
    WHERE status = 'tracking';
DROP TRIGGER opportunities_open_update ON opportunities;
DROP TRIGGER opportunities_open_delete ON opportunities;
DROP TRIGGER opportunities_open_insert ON opportunities;
DROP FUNCTION kehu_opportunity_open_update();
DROP FUNCTION kehu_opportunity_open_delete();
DROP FUNCTION kehu_opportunity_open_insert();
DROP TABLE opportunity_open;
