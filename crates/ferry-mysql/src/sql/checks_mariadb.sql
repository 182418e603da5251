-- CHECK constraints on MariaDB 10.2+, whose catalog names the table (column-level checks
-- are named after their column, so the name alone is not unique).
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = ?
ORDER BY TABLE_NAME, CONSTRAINT_NAME
