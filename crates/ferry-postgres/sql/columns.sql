-- Columns of the given tables, in order, with their declared type as format_type prints it,
-- what kind of type it is (b base, e enum, d domain; array element's kind too; a domain's
-- base type, also for arrays of a domain), identity,
-- generation, default and comment.
SELECT a.attrelid AS table_oid,
       a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       a.attnotnull AS not_null,
       a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       col_description(a.attrelid, a.attnum) AS comment,
       t.oid AS type_oid,
       t.typtype::text AS type_kind,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS domain_base,
       coalesce(et.oid, 0::oid) AS elem_oid,
       coalesce(et.typtype::text, '') AS elem_kind,
       CASE WHEN et.typtype = 'd' THEN format_type(et.typbasetype, et.typtypmod) END AS elem_domain_base,
       CASE WHEN t.typtype = 'd' THEN t.typbasetype
            WHEN et.typtype = 'd' THEN et.typbasetype ELSE 0::oid END AS domain_base_oid,
       CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
            THEN (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                              ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                  FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                  WHERE co.oid = a.attcollation) END AS collation
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typlen = -1 AND t.typelem <> 0
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY ($1::oid[])
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
