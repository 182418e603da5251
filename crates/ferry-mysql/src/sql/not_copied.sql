-- What ferry does not copy from one database (the same name bound four times), as
-- (kind, name, table) rows for the run's warnings: views, sequences, the history of
-- system-versioned tables (MariaDB; their current rows are copied), triggers, stored
-- procedures and functions, and events.
SELECT kind, name, tbl FROM (
    SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence'
                           ELSE 'history of system-versioned table' END AS kind,
           TABLE_NAME AS name, '' AS tbl
    FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('VIEW', 'SEQUENCE', 'SYSTEM VERSIONED')
    UNION ALL
    SELECT 'trigger', TRIGGER_NAME, EVENT_OBJECT_TABLE
    FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
    UNION ALL
    SELECT CASE ROUTINE_TYPE WHEN 'PROCEDURE' THEN 'procedure' WHEN 'FUNCTION' THEN 'function'
                             ELSE LOWER(ROUTINE_TYPE) END,
           ROUTINE_NAME, ''
    FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
    UNION ALL
    SELECT 'event', EVENT_NAME, '' FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?
) x
ORDER BY kind, name
