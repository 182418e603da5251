-- Extensions installed in the source database (plpgsql is always there), in the order they
-- were created, so one an extension requires comes before it.
SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY oid
