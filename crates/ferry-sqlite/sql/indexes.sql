-- Indexes of one table (?1) except the primary key's, with their CREATE statement.
SELECT il.name, il."unique", il.origin, il.partial, m.sql
  FROM pragma_index_list(?1) AS il
  LEFT JOIN sqlite_master AS m ON m.type = 'index' AND m.name = il.name
 WHERE il.origin <> 'pk'
 ORDER BY il.seq DESC
