//! Logical replication from a PostgreSQL source: ferry's own publication and slot, the
//! copy's snapshot taken from the slot, and the change stream that follows it.
//!
//! - [`prepare`] (before the copy reads a row): a publication for the replicated tables, then
//!   on a replication connection `CREATE_REPLICATION_SLOT ... LOGICAL pgoutput
//!   EXPORT_SNAPSHOT`; the source's coordinator imports that snapshot (and re-exports it for
//!   the readers), so the copy reads exactly the database the slot starts after.
//! - [`PgPosition`] `slot:LSN` is what the target records: the slot to stream from and the
//!   end of the last applied transaction.
//! - [`stream::PgChanges`] streams with `pgoutput` in binary and reports as flushed only
//!   what the engine acknowledged after the target committed it. From PostgreSQL 14 on it
//!   asks for protocol 2 with in-progress transactions streamed; their blocks wait in a
//!   temporary file per transaction (`spill`) until their Stream Commit.
//! - [`end`] drops the slot and publication (cutover, `ferry replicate --stop`).
//!
//! Why ferry's own protocol code: tokio-postgres 0.7 cannot open a replication connection;
//! the pure-Rust replication crates either create slots through SQL (which cannot export a
//! snapshot) or bring their own TLS set-up, so the copy could not be tied to the slot, nor
//! the connection secured by ferry's TLS rules. The protocol needed is small and built on
//! `postgres-protocol`'s codecs and SCRAM client ([`wire`]).

mod decoder;
pub mod pgoutput;
mod shape;
mod spill;
pub mod stream;
pub mod wire;

use crate::conn::{connect, map_error};
use ferry_core::{ConnUrl, Error, Position, Result, Table};
use ferry_schema::quote::{pg_ident, pg_literal};
use tokio_postgres::Client;

const PRECONDITIONS_SQL: &str = include_str!("../../sql/replication_preconditions.sql");
const IDENTITY_SQL: &str = include_str!("../../sql/replica_identity.sql");

/// Where a PostgreSQL change stream stands: the slot (and publication) it reads and an LSN,
/// recorded as `slot:LSN` (`ferry_1a2b3c4d5e6f:0/1A2B3C8`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgPosition {
    /// The replication slot, also the publication's name.
    pub slot: String,
    /// The end of the last transaction covered.
    pub lsn: u64,
}

impl PgPosition {
    /// Parse `slot:LSN` (or a bare LSN, as a cutover's drain target, with no slot).
    pub fn parse(p: &Position) -> Result<PgPosition> {
        let (slot, lsn) = match p.0.split_once(':') {
            Some((s, l)) => (s.to_string(), l),
            None => (String::new(), p.0.as_str()),
        };
        let lsn = pgoutput::parse_lsn(lsn).ok_or_else(|| {
            Error::config(format!(
                "`{p}` is not a PostgreSQL replication position (slot:LSN)"
            ))
        })?;
        Ok(PgPosition { slot, lsn })
    }

    /// `slot:LSN`.
    pub fn render(&self) -> String {
        if self.slot.is_empty() {
            pgoutput::format_lsn(self.lsn)
        } else {
            format!("{}:{}", self.slot, pgoutput::format_lsn(self.lsn))
        }
    }

    /// As the engine stores it.
    pub fn to_position(&self) -> Position {
        Position(self.render())
    }
}

/// What [`prepare`] made: the slot (and publication) and where the exported snapshot stands.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Slot and publication name.
    pub slot: String,
    /// The LSN the slot became consistent at: the copy's snapshot sees every transaction
    /// committed before it, the slot streams every one after.
    pub consistent_point: u64,
}

/// Check that the server can do logical replication for this login; each missing piece is
/// named with its fix.
pub async fn check(client: &Client, url: &ConnUrl) -> Result<()> {
    let row = client
        .query_one(PRECONDITIONS_SQL, &[])
        .await
        .map_err(|e| map_error(e).context(format!("{url}: reading replication settings")))?;
    let on_rds: bool = row.get("on_rds");
    let mut missing = Vec::new();
    let version: i32 = row.get("version");
    if version < 140000 {
        missing.push(format!(
            "PostgreSQL {}.{} is too old: replication needs PostgreSQL 14 or later (binary logical replication)",
            version / 10000,
            version % 10000 / 100
        ));
    }
    let wal_level: String = row.get("wal_level");
    if wal_level != "logical" {
        missing.push(if on_rds {
            format!("wal_level is `{wal_level}`: set rds.logical_replication = 1 in the instance's DB parameter group (cluster parameter group for Aurora) and reboot it")
        } else {
            format!("wal_level is `{wal_level}`: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL")
        });
    }
    let (max_slots, used_slots): (i32, i32) = (row.get("max_slots"), row.get("used_slots"));
    if used_slots >= max_slots {
        missing.push(format!(
            "all {max_slots} replication slots are in use (max_replication_slots): drop an unused one (SELECT pg_drop_replication_slot(name)) or raise max_replication_slots and restart"
        ));
    }
    let (max_senders, used_senders): (i32, i32) = (row.get("max_senders"), row.get("used_senders"));
    if used_senders >= max_senders {
        missing.push(format!(
            "all {max_senders} WAL senders are busy (max_wal_senders): raise max_wal_senders and restart"
        ));
    }
    let role = crate::privilege::role_name(url.user.as_deref());
    let grant = if on_rds {
        format!("GRANT rds_replication TO {role};")
    } else {
        format!("ALTER ROLE {role} WITH REPLICATION;")
    };
    let can_replicate = row.get::<_, bool>("can_replicate");
    if missing.is_empty() && !can_replicate {
        // The one thing missing is a grant: say it as one, with its statement.
        return Err(Error::permission(
            format!("{url}: the login may not replicate"),
            "the REPLICATION attribute (logical replication; or use a superuser)",
            grant,
        ));
    }
    if !can_replicate {
        missing.push(format!(
            "the login may not replicate: {grant} (or use a superuser)"
        ));
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::config(format!(
        "{url}: the source cannot be replicated from yet:\n  - {}",
        missing.join("\n  - ")
    )))
}

/// Check that every table can identify its old rows to logical replication (a primary key,
/// REPLICA IDENTITY FULL, or an index identity that is the table's row key); with
/// `set_identity` give the others REPLICA IDENTITY FULL, else refuse naming them all.
pub async fn check_identities(client: &Client, tables: &[Table], set_identity: bool) -> Result<()> {
    let mut lacking = Vec::new();
    for t in tables {
        let name = crate::write::qualified(t);
        let row = client
            .query_one(IDENTITY_SQL, &[&name])
            .await
            .map_err(|e| {
                map_error(e).context(format!("table `{}`: replica identity", t.display_name()))
            })?;
        let identity: String = row.get("identity");
        let has_pk: bool = row.get("has_pk");
        let mut columns: Vec<String> = row.get("identity_columns");
        columns.sort();
        let mut key = t.row_key();
        key.sort();
        let ok = match identity.as_str() {
            "f" => true,
            "d" => has_pk,
            "i" => !key.is_empty() && columns == key,
            _ => false,
        };
        if !ok {
            lacking.push((t, name));
        }
    }
    if lacking.is_empty() {
        return Ok(());
    }
    if set_identity {
        for (t, name) in &lacking {
            client
                .batch_execute(&format!("ALTER TABLE {name} REPLICA IDENTITY FULL"))
                .await
                .map_err(|e| {
                    map_error(e).context(format!(
                        "table `{}`: setting REPLICA IDENTITY FULL",
                        t.display_name()
                    ))
                })?;
        }
        return Ok(());
    }
    let names: Vec<String> = lacking
        .iter()
        .map(|(t, _)| format!("`{}`", t.display_name()))
        .collect();
    Err(Error::config(format!(
        "table {} cannot be replicated: without a primary key PostgreSQL cannot name the old row of an update or delete (and refuses such changes on a published table); add a primary key, or name its unique NOT NULL index with ALTER TABLE ... REPLICA IDENTITY USING INDEX ..., or run ALTER TABLE ... REPLICA IDENTITY FULL (or pass --set-replica-identity to have ferry do that)",
        names.join(", ")
    )))
}

/// A new slot name: `ferry_` and 12 hex digits, unique enough for a cluster's slots.
fn new_slot_name() -> String {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    std::time::SystemTime::now().hash(&mut h);
    std::process::id().hash(&mut h);
    format!("ferry_{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Create the publication for `tables` and the slot, and hand back the slot's exported
/// snapshot imported into `coordinator` (which must have no open transaction worth keeping)
/// and exported again for the readers. On failure nothing is left behind.
pub async fn prepare(
    url: &ConnUrl,
    coordinator: &Client,
    tables: &[Table],
    set_identity: bool,
) -> Result<(Prepared, String)> {
    let admin = connect(url).await?;
    check(&admin, url).await?;
    check_identities(&admin, tables, set_identity).await?;
    for t in tables {
        shape::TableShape::load(&admin, t).await?;
    }
    let slot = new_slot_name();
    let list: Vec<String> = tables.iter().map(crate::write::qualified).collect();
    let create = if list.is_empty() {
        format!("CREATE PUBLICATION {}", pg_ident(&slot))
    } else {
        format!(
            "CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)",
            pg_ident(&slot),
            list.join(", ")
        )
    };
    admin
        .batch_execute(&create)
        .await
        .map_err(|e| map_error(e).context(format!("{url}: creating publication {slot}")))?;
    let made = async {
        let mut repl = wire::ReplConnection::connect(url).await?;
        let rows = repl
            .simple_query(&format!(
                "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT",
                pg_ident(&slot)
            ))
            .await?;
        let point = rows
            .get(0, "consistent_point")
            .and_then(pgoutput::parse_lsn)
            .ok_or_else(|| Error::other("CREATE_REPLICATION_SLOT returned no consistent point"))?;
        let exported = rows
            .get(0, "snapshot_name")
            .ok_or_else(|| Error::other("CREATE_REPLICATION_SLOT exported no snapshot"))?
            .to_string();
        // The slot's snapshot lives while the replication session stays idle: import it
        // into the coordinator and export it again there, then let the session go.
        let imported = async {
            coordinator
                .batch_execute(&format!(
                    "COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                    pg_literal(&exported)
                ))
                .await
                .map_err(|e| map_error(e).context(format!("{url}: importing the slot's snapshot")))?;
            let row = coordinator
                .query_one("SELECT pg_export_snapshot()", &[])
                .await
                .map_err(|e| map_error(e).context(format!("{url}: exporting the snapshot")))?;
            Ok::<String, Error>(row.get(0))
        }
        .await;
        repl.terminate().await;
        Ok::<(u64, String), Error>((point, imported?))
    }
    .await;
    match made {
        Ok((consistent_point, snapshot)) => Ok((
            Prepared {
                slot,
                consistent_point,
            },
            snapshot,
        )),
        Err(e) => {
            let _ = drop_slot_and_publication(&admin, &slot).await;
            Err(e.context("creating the replication slot"))
        }
    }
}

async fn drop_slot_and_publication(client: &Client, slot: &str) -> Result<()> {
    let lit = pg_literal(slot);
    // A stream that just ended may hold the slot for a moment longer.
    let mut tries = 0;
    loop {
        let sql = format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {lit}"
        );
        match client.batch_execute(&sql).await {
            Ok(()) => break,
            Err(e) if tries < 50 && e.code().map(|c| c.code()) == Some("55006") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(map_error(e).context(format!("dropping replication slot {slot}"))),
        }
    }
    client
        .batch_execute(&format!("DROP PUBLICATION IF EXISTS {}", pg_ident(slot)))
        .await
        .map_err(|e| map_error(e).context(format!("dropping publication {slot}")))
}

/// Drop the slot and publication a recorded position names: replication from it ends.
pub async fn end(url: &ConnUrl, at: &Position) -> Result<()> {
    let p = PgPosition::parse(at)?;
    if p.slot.is_empty() {
        return Err(Error::config(format!("`{at}` names no replication slot")));
    }
    let client = connect(url).await?;
    drop_slot_and_publication(&client, &p.slot).await
}

/// Drop `slot` and its publication (a copy that failed after [`prepare`]).
pub async fn abandon(url: &ConnUrl, slot: &str) -> Result<()> {
    let client = connect(url).await?;
    drop_slot_and_publication(&client, slot).await
}

/// The source's position now, for a cutover's drain: a transaction of its own commits
/// synchronously, so the flushed WAL end then covers every transaction committed before.
pub async fn current_position(url: &ConnUrl) -> Result<Position> {
    let client = connect(url).await?;
    let row = client
        .query_one(
            "SELECT set_config('synchronous_commit', 'on', false), txid_current()",
            &[],
        )
        .await
        .map_err(|e| map_error(e).context(format!("{url}: reading the WAL position")))?;
    drop(row);
    let lsn: String = client
        .query_one("SELECT pg_current_wal_flush_lsn()::text", &[])
        .await
        .map_err(|e| map_error(e).context(format!("{url}: reading the WAL position")))?
        .get(0);
    let lsn = pgoutput::parse_lsn(&lsn)
        .ok_or_else(|| Error::other(format!("unexpected WAL position `{lsn}`")))?;
    Ok(PgPosition {
        slot: String::new(),
        lsn,
    }
    .to_position())
}

/// Lines about what the slot of `at` holds back on the source (retained WAL), or that it is
/// gone; and about any other ferry slot of this database that nothing reads (one a killed
/// copy made before anything recorded it), which keeps WAL until someone drops it.
pub async fn slot_notes(url: &ConnUrl, at: &Position) -> Result<Vec<String>> {
    let p = PgPosition::parse(at)?;
    if p.slot.is_empty() {
        return Ok(Vec::new());
    }
    let client = connect(url).await?;
    let rows = client
        .query(
            "SELECT slot_name::text, \
                    pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), active \
             FROM pg_replication_slots \
             WHERE slot_name = $1 \
                OR (slot_name LIKE 'ferry\\_%' AND database = current_database() AND NOT active) \
             ORDER BY slot_name <> $1, slot_name",
            &[&p.slot],
        )
        .await
        .map_err(|e| map_error(e).context(format!("{url}: reading replication slot {}", p.slot)))?;
    let mut notes = Vec::new();
    if !rows.iter().any(|r| r.get::<_, String>(0) == p.slot) {
        notes.push(format!(
            "replication slot {} no longer exists on the source: replication cannot resume",
            p.slot
        ));
    }
    for r in &rows {
        let (name, size, active) = (
            r.get::<_, String>(0),
            r.get::<_, Option<String>>(1)
                .unwrap_or_else(|| "an unknown amount".into()),
            r.get::<_, bool>(2),
        );
        notes.push(if name == p.slot {
            format!(
                "replication slot {name} on the source retains {size} of WAL ({}); it is dropped by `ferry cutover` or `ferry replicate --stop`",
                if active { "streaming" } else { "no reader connected" }
            )
        } else {
            format!(
                "replication slot {name} on the source is not this target's and nothing reads it; it retains {size} of WAL: unless another target records it (`ferry replicate --status` there), drop it with SELECT pg_drop_replication_slot('{name}')"
            )
        });
    }
    Ok(notes)
}

impl crate::PgSource {
    /// [`prepare`] for this source, once; later reads use the slot's snapshot.
    pub(crate) async fn prepare_replication_now(
        &self,
        tables: &[Table],
        set_identity: bool,
    ) -> Result<()> {
        if self.lock_replication().is_some() {
            return Ok(());
        }
        let (prepared, snapshot) =
            prepare(&self.url, &self.coordinator, tables, set_identity).await?;
        *self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = snapshot;
        *self
            .replication
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((prepared, false));
        Ok(())
    }

    fn lock_replication(&self) -> Option<(Prepared, bool)> {
        self.replication
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The slot's consistent point as the copy's position; from now on the slot is the
    /// caller's to keep or drop.
    pub(crate) fn hand_over(&self) -> Option<Position> {
        let mut guard = self
            .replication
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (prepared, handed) = guard.as_mut()?;
        *handed = true;
        Some(
            PgPosition {
                slot: prepared.slot.clone(),
                lsn: prepared.consistent_point,
            }
            .to_position(),
        )
    }

    /// A slot made for a copy that never handed its position over can never be resumed
    /// from: drop it, so it does not hold WAL forever.
    pub(crate) async fn abandon_unused_slot(&self) -> Result<()> {
        let unused = match self.lock_replication() {
            Some((p, false)) => p.slot,
            _ => return Ok(()),
        };
        abandon(&self.url, &unused).await?;
        *self
            .replication
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        Ok(())
    }

    /// The change stream from a recorded `slot:LSN` position.
    pub(crate) async fn open_changes(
        &self,
        tables: &[Table],
        from: &Position,
        until: Option<&Position>,
    ) -> Result<Box<dyn ferry_core::ChangeStream>> {
        let from = PgPosition::parse(from)?;
        if from.slot.is_empty() {
            return Err(Error::config(format!(
                "the recorded position {} names no replication slot",
                from.render()
            )));
        }
        let until = until.map(PgPosition::parse).transpose()?.map(|p| p.lsn);
        Ok(Box::new(
            stream::PgChanges::open(&self.url, tables, &from, until).await?,
        ))
    }
}
