-- How the columns of one table travel in binary COPY: the type after resolving domains, and
-- for arrays the element type. Names are pg_type.typname (int4, varchar, ...); enums report
-- kind e.
SELECT a.attname AS column_name,
       bt.typname AS wire_type,
       bt.typtype::text AS wire_kind,
       coalesce(et.typname, '') AS elem_type,
       coalesce(et.typtype::text, '') AS elem_kind
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typlen = -1 AND bt.typelem <> 0
WHERE a.attrelid = $1::text::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum
