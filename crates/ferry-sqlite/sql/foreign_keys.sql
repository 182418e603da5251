-- Foreign keys of one table (?1), one row per column pair; "to" is NULL for the parent's PK.
SELECT id, seq, "table", "from", "to", on_update, on_delete
  FROM pragma_foreign_key_list(?1)
 ORDER BY id, seq
