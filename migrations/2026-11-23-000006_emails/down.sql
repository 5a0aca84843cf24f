DROP FUNCTION kehu_claim_due_emails(interval, integer);
DROP TABLE emails;
