-- What in the given tables needs an extension: a column whose type an extension provides
-- (also through an array or a domain over it), a default calling its function, an index
-- using its operator class, function or type, a CHECK constraint calling its function.
WITH RECURSIVE ext_obj(classid, objid, extname) AS (
    SELECT d.classid, d.objid, e.extname::text
    FROM pg_depend d
    JOIN pg_extension e ON e.oid = d.refobjid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  UNION
    -- Types built on an extension's types: arrays (internal) and domains (normal).
    SELECT d.classid, d.objid, x.extname
    FROM pg_depend d
    JOIN ext_obj x ON d.refclassid = x.classid AND d.refobjid = x.objid
    WHERE d.classid = 'pg_type'::regclass AND d.deptype IN ('n', 'i')
)
SELECT DISTINCT x.extname AS extension,
       tbl.oid AS table_oid,
       CASE WHEN ix.indexrelid IS NOT NULL THEN 'index ' || quote_ident(c.relname)
            WHEN a.attname IS NOT NULL THEN 'column ' || quote_ident(a.attname)
                 || ' (type ' || format_type(a.atttypid, a.atttypmod) || ')'
            WHEN ad.oid IS NOT NULL THEN 'default of column ' || quote_ident(da.attname)
                 || ' (' || pg_get_expr(ad.adbin, ad.adrelid) || ')'
            ELSE 'constraint ' || quote_ident(con.conname) END AS what
FROM pg_depend d
JOIN ext_obj x ON d.refclassid = x.classid AND d.refobjid = x.objid
LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
LEFT JOIN pg_attribute a ON d.classid = 'pg_class'::regclass AND d.objsubid > 0
     AND a.attrelid = d.objid AND a.attnum = d.objsubid
LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
LEFT JOIN pg_attribute da ON da.attrelid = ad.adrelid AND da.attnum = ad.adnum
LEFT JOIN pg_constraint con ON d.classid = 'pg_constraint'::regclass AND con.oid = d.objid
CROSS JOIN LATERAL (
    SELECT coalesce(ix.indrelid, a.attrelid, ad.adrelid, nullif(con.conrelid, 0)) AS oid
) tbl
WHERE d.deptype = 'n'
  AND tbl.oid = ANY ($1::oid[])
ORDER BY 1, 2, 3
