-- The current user's privileges that apply to database ? (the one parameter): global
-- grants, and database grants whose name (a LIKE pattern: `%`, `_`, `\_`) matches it.
-- information_schema lists an administrator every user's grants, so the grantee is
-- matched to CURRENT_USER() in the form the views write it ('user'@'host').
SELECT 'global', PRIVILEGE_TYPE
  FROM information_schema.USER_PRIVILEGES
 WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''',
                        SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
UNION ALL
SELECT 'database', PRIVILEGE_TYPE
  FROM information_schema.SCHEMA_PRIVILEGES
 WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''',
                        SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
   AND ? LIKE TABLE_SCHEMA
