DROP TABLE companies;
DROP FUNCTION kehu_search_grams(text);
DROP FUNCTION kehu_search_text(text);
DROP FUNCTION kehu_company_key(text);
