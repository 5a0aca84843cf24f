ALTER TABLE company_events DROP CONSTRAINT company_events_action_check;
DELETE FROM company_events WHERE action LIKE 'opportunity_%';
ALTER TABLE company_events ADD CONSTRAINT company_events_action_check CHECK (action IN (
    'created', 'updated', 'note_added', 'note_deleted',
    'contact_added', 'contact_updated', 'contact_deleted',
    'tagged', 'untagged'));
DELETE FROM custom_fields WHERE entity = 'opportunity';
ALTER TABLE custom_fields DROP CONSTRAINT custom_fields_entity_check;
ALTER TABLE custom_fields ADD CONSTRAINT custom_fields_entity_check
    CHECK (entity IN ('company', 'contact'));
DELETE FROM notes WHERE opportunity_id IS NOT NULL;
DROP INDEX notes_tenant_opportunity_idx;
ALTER TABLE notes DROP COLUMN opportunity_id;
DROP TABLE opportunity_events;
DROP TABLE opportunities;
DROP TABLE lost_reasons;
DROP TABLE opportunity_categories;
DROP TABLE opportunity_stages;
