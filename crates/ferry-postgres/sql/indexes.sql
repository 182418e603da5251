-- Indexes of the given tables other than the primary key's: each key part as a column name
-- or an expression (pg_get_indexdef of that part), descending flag, access method, and the
-- partial index predicate.
SELECT i.indrelid AS table_oid,
       ic.relname AS name,
       i.indisunique AS is_unique,
       am.amname AS method,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       array(SELECT coalesce(a.attname, '') FROM generate_series(1, i.indnkeyatts) k
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
             ORDER BY k) AS columns,
       array(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS part_defs,
       array(SELECT (i.indoption[k - 1] & 1) = 1
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS descending,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY ($1::oid[])
  AND NOT i.indisprimary
ORDER BY i.indrelid, ic.relname
