DROP FUNCTION kehu_find_invitation(text);
DROP TABLE invitations;
