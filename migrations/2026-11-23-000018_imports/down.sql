DROP FUNCTION kehu_claim_due_imports(interval, integer);
ALTER TABLE contacts DROP COLUMN import_id;
ALTER TABLE companies DROP COLUMN import_id;
DROP TABLE import_undo;
DROP TABLE import_errors;
DROP TABLE import_chunks;
DROP TABLE imports;
