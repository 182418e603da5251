-- What ferry does not copy, as (kind, name, table) rows for the run's warnings: views and
-- triggers (SQLite has no routines).
SELECT type, name, tbl_name
  FROM sqlite_master
 WHERE type IN ('view', 'trigger')
 ORDER BY type, name
