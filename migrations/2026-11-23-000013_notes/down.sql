DROP TABLE note_attachments;
DROP TABLE notes;
