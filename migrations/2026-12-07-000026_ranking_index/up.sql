-- 销售排行榜's open (跟踪中) figures are live: per owner and visibility, the count and
-- amount of the tenant's tracking opportunities (app/src/statistics/model.rs, `open`).
-- In a tenant of 1M opportunities (200k tracking, spread over the whole table among
-- other tenants' rows) that read 150k heap pages; this index answers it by an
-- index-only scan, in the order the GROUP BY wants.
CREATE INDEX opportunities_tenant_open_owner_idx
    ON opportunities (tenant_id, owner_id, visibility) INCLUDE (amount)
    WHERE status = 'tracking';
