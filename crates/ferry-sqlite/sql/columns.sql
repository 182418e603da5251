-- Columns of one table (?1), hidden = 2 or 3 marks generated columns.
SELECT cid, name, type, "notnull", dflt_value, pk, hidden
  FROM pragma_table_xinfo(?1)
 WHERE hidden <> 1
 ORDER BY cid
