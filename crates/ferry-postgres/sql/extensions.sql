-- Extensions installed in the source database (plpgsql is always there).
SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname
