-- Indexes of the given tables other than the primary key's: each key part as a column name
-- or an expression (pg_get_indexdef of that part), its ordering (indoption bit 1 DESC, bit 2
-- NULLS FIRST), its operator class when not the default one and its collation when not the
-- column's (both as SQL, qualified outside pg_catalog, '' when there is nothing to say), the
-- INCLUDE columns, access method, the partial index predicate, and the UNIQUE constraint it
-- backs (with how that is checked).
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
       array(SELECT (i.indoption[k - 1] & 2) = 2
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS nulls_first,
       array(SELECT CASE WHEN opc.opcdefault THEN ''
                         WHEN opn.nspname = 'pg_catalog' THEN quote_ident(opc.opcname)
                         ELSE quote_ident(opn.nspname) || '.' || quote_ident(opc.opcname) END
             FROM generate_series(1, i.indnkeyatts) k
             JOIN pg_opclass opc ON opc.oid = i.indclass[k - 1]
             JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
             ORDER BY k) AS opclasses,
       array(SELECT CASE WHEN i.indcollation[k - 1] = 0 THEN ''
                         -- A column part: the column's own collation says nothing new.
                         WHEN i.indkey[k - 1] <> 0 AND i.indcollation[k - 1] = a.attcollation THEN ''
                         -- An expression part: its type's default collation says nothing new.
                         WHEN i.indkey[k - 1] = 0 AND i.indcollation[k - 1] = kt.typcollation THEN ''
                         WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                         ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
             FROM generate_series(1, i.indnkeyatts) k
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
             LEFT JOIN pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = k
             LEFT JOIN pg_type kt ON kt.oid = ia.atttypid
             LEFT JOIN pg_collation co ON co.oid = i.indcollation[k - 1]
             LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
             ORDER BY k) AS collations,
       array(SELECT a.attname FROM generate_series(i.indnkeyatts + 1, i.indnatts) k
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
             ORDER BY k) AS include,
       pg_get_indexdef(i.indexrelid) AS definition,
       uc.contype::text AS constraint_kind,
       coalesce(uc.condeferrable, false) AS deferrable,
       coalesce(uc.condeferred, false) AS deferred
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
-- The UNIQUE constraint the index backs, if any.
LEFT JOIN pg_constraint uc ON uc.conindid = i.indexrelid AND uc.contype = 'u'
  AND uc.conrelid = i.indrelid
WHERE i.indrelid = ANY ($1::oid[])
  AND NOT i.indisprimary
  -- An exclusion constraint's index comes with the constraint (constraints.sql).
  AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x')
ORDER BY i.indrelid, ic.relname
