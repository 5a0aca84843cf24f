DROP TABLE company_tags;
DROP TABLE tags;
