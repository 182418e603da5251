-- What ferry does not copy from the chosen schemas (NULL: every non-system schema), as
-- (kind, name, what happens) rows for the run's warnings: views, materialized views, foreign
-- tables, sequences no column owns, functions and procedures, triggers, rules, row-level
-- security and its policies, deferrable primary keys (deferrable foreign keys and unique
-- constraints are copied), partitioned
-- tables (copied as plain tables) and plain inheritance (each table copied on its own). Objects an extension owns come with the extension.
WITH ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema')
      AND nspname NOT LIKE 'pg\_toast%'
      AND nspname NOT LIKE 'pg\_temp\_%'
      AND ($1::text[] IS NULL OR nspname = ANY ($1::text[]))
),
rel AS (
    SELECT c.oid, c.relkind, c.relrowsecurity,
           quote_ident(ns.nspname) || '.' || quote_ident(c.relname) AS name
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT kind, name, note FROM (
    SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                        WHEN 'f' THEN 'foreign table' ELSE 'sequence' END AS kind,
           name, 'is not copied' AS note
    FROM rel
    WHERE relkind IN ('v', 'm', 'f')
       OR (relkind = 'S' AND NOT EXISTS (
              SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
              AND d.objid = rel.oid AND d.refclassid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 'partitioned table', name,
           'is copied as a plain table holding every partition''s rows; its partitions are not recreated'
    FROM rel WHERE relkind = 'p'
    UNION ALL
    SELECT 'inheritance', 'of ' || child.name || ' from ' || parent.name,
           'is not kept: each is copied as a table of its own, with its own rows'
    FROM pg_inherits i
    JOIN rel child ON child.oid = i.inhrelid
    JOIN rel parent ON parent.oid = i.inhparent
    WHERE child.relkind = 'r' AND parent.relkind = 'r'
    UNION ALL
    SELECT 'row-level security', 'on ' || name, 'is not enabled on the copy'
    FROM rel WHERE relrowsecurity AND relkind IN ('r', 'p')
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                          WHEN 'w' THEN 'window function' ELSE 'function' END,
           quote_ident(ns.nspname) || '.' || quote_ident(p.proname)
               || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           'is not copied'
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
    WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 'trigger', quote_ident(t.tgname) || ' on ' || rel.name, 'is not copied'
    FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid
    WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'rule', quote_ident(r.rulename) || ' on ' || rel.name, 'is not copied'
    FROM pg_rewrite r JOIN rel ON rel.oid = r.ev_class
    WHERE r.rulename <> '_RETURN'
    UNION ALL
    SELECT 'policy', quote_ident(pol.polname) || ' on ' || rel.name, 'is not copied'
    FROM pg_policy pol JOIN rel ON rel.oid = pol.polrelid
    UNION ALL
    SELECT 'constraint', quote_ident(con.conname) || ' on ' || rel.name,
           'is DEFERRABLE in the source; the copy checks it at once'
    FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid
    WHERE con.condeferrable AND con.contype = 'p'
) x
ORDER BY kind, name
