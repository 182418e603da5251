-- Every user table, in creation order, with its CREATE statement.
SELECT name, sql
  FROM sqlite_master
 WHERE type = 'table'
   AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
 ORDER BY rowid
