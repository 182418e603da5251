-- Base tables of one database (MariaDB's system-versioned ones too: their current rows), with
-- the storage engine's row estimate and the table's default collation and the character set
-- it belongs to, and whether it is partitioned.
SELECT t.TABLE_NAME, t.TABLE_ROWS, t.TABLE_COMMENT, c.CHARACTER_SET_NAME, t.TABLE_COLLATION,
       t.CREATE_OPTIONS LIKE '%partitioned%' AS partitioned
FROM information_schema.TABLES t
LEFT JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY c
  ON c.COLLATION_NAME = t.TABLE_COLLATION
WHERE t.TABLE_SCHEMA = ? AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
ORDER BY t.TABLE_NAME
