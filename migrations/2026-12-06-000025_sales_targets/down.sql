DROP TABLE sales_targets;
