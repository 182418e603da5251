-- How one table identifies an old row to logical replication: relreplident (d default =
-- primary key, f full, i an index, n nothing), whether it has a primary key, and the
-- columns of the index chosen with REPLICA IDENTITY USING INDEX.
SELECT c.relreplident::text AS identity,
       c.relkind::text AS kind,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
       coalesce((SELECT array_agg(a.attname::text ORDER BY a.attname)
                 FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.oid AND i.indisreplident), '{}') AS identity_columns
FROM pg_class c
WHERE c.oid = $1::text::regclass
