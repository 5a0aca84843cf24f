DROP FUNCTION kehu_claim_due_exports(interval, integer);
DROP TABLE exports;
