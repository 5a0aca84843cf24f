DROP TABLE customer_categories;
