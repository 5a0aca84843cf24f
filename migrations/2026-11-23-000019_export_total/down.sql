ALTER TABLE exports
    DROP COLUMN started_at,
    DROP COLUMN rows_total;
