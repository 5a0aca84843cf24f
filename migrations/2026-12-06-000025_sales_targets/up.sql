-- 销售指标设定: monthly sales targets. A user sets their own (assigned_by NULL); a
-- manager assigns them to their team and an admin to anyone (assigned_by is who did).
-- One row per (user, year, month); no row means no target for that month.
CREATE TABLE sales_targets (
    tenant_id   bigint      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     bigint      NOT NULL,
    year        integer     NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    month       integer     NOT NULL CHECK (month BETWEEN 1 AND 12),
    -- Integer fen of CNY.
    amount      bigint      NOT NULL CHECK (amount BETWEEN 0 AND 900000000000000000),
    -- Who set it for the user; NULL when the user set it themselves.
    assigned_by bigint      CHECK (assigned_by IS DISTINCT FROM user_id),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, year, month),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assigned_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assigned_by)
);
-- The team's targets of a year (and one month across years).
CREATE INDEX sales_targets_tenant_year_idx ON sales_targets (tenant_id, year, month);

ALTER TABLE sales_targets ENABLE ROW LEVEL SECURITY;
ALTER TABLE sales_targets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sales_targets
    USING (tenant_id = kehu_current_tenant())
    WITH CHECK (tenant_id = kehu_current_tenant());

CREATE TRIGGER sales_targets_touch BEFORE UPDATE ON sales_targets
    FOR EACH ROW EXECUTE FUNCTION kehu_touch_updated_at();

GRANT SELECT, INSERT, UPDATE, DELETE ON sales_targets TO kehu_app;
