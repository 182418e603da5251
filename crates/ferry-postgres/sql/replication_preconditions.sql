-- What logical replication from this server needs: wal_level=logical, a free replication
-- slot and WAL sender, and a role allowed to replicate (REPLICATION, superuser, or RDS's
-- rds_replication).
SELECT current_setting('wal_level') AS wal_level,
       current_setting('server_version_num')::int AS version,
       current_setting('max_replication_slots')::int AS max_slots,
       (SELECT count(*) FROM pg_replication_slots)::int AS used_slots,
       current_setting('max_wal_senders')::int AS max_senders,
       (SELECT count(*) FROM pg_stat_replication)::int AS used_senders,
       coalesce((SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), false)
         OR CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
                 THEN pg_has_role(current_user, 'rds_replication', 'member') ELSE false END
         AS can_replicate,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AS on_rds,
       current_setting('rds.logical_replication', true) AS rds_logical
