-- Enum types and domains outside the system schemas that no extension owns, with their enum
-- labels or domain base type, NOT NULL, default and CHECK constraints.
SELECT t.oid,
       n.nspname AS schema_name,
       t.typname AS type_name,
       t.typtype::text AS kind,
       array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder) AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typbasetype AS base_oid,
       t.typnotnull AS not_null,
       t.typdefault AS default_expr,
       array(SELECT c.conname::text FROM pg_constraint c
             WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) AS check_names,
       array(SELECT pg_get_expr(c.conbin, 0) FROM pg_constraint c
             WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) AS check_exprs
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY t.oid
