-- Key columns of one index (?1); cid -2 is an expression, -1 the rowid.
SELECT cid, name, "desc"
  FROM pragma_index_xinfo(?1)
 WHERE key = 1
 ORDER BY seqno
