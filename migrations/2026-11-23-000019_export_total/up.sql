-- Export progress shows the total and the time left: the worker counts the view once
-- when an attempt starts (rows_total, NULL until counted or when the count failed) and
-- records when the attempt started (started_at), so the rate and the time left ignore
-- the time spent queued and restart with a retry.
ALTER TABLE exports
    ADD COLUMN rows_total bigint CHECK (rows_total >= 0),
    ADD COLUMN started_at timestamptz;
