-- The copied columns of one table as logical replication describes them: the type OID and
-- modifier a Relation message carries, the printed type, and how the binary form travels
-- (the type after resolving domains; for arrays the element type), as in wire_types.sql,
-- and whether the source computes it (logical replication does not send such columns).
SELECT a.attname::text AS column_name,
       a.atttypid::int8 AS type_oid,
       a.atttypmod AS typmod,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       bt.typname::text AS wire_type,
       bt.typtype::text AS wire_kind,
       coalesce(et.typname::text, '') AS elem_type,
       coalesce(et.typtype::text, '') AS elem_kind,
       a.attgenerated <> '' AS generated
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typlen = -1 AND bt.typelem <> 0
WHERE a.attrelid = $1::text::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum
