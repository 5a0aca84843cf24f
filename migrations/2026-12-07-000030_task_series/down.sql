ALTER TABLE tasks DROP COLUMN series_id;
DROP TABLE task_series;
