//! [`PgSource`]: PostgreSQL as a source, read with binary `COPY ... TO STDOUT` inside one
//! exported snapshot.
//!
//! A coordinator connection opens a repeatable-read transaction and exports its snapshot
//! (`pg_export_snapshot()`), then stays open for the life of the source; every reader opens
//! its own connection and imports that snapshot with `SET TRANSACTION SNAPSHOT`, so parallel
//! readers see one consistent database. Rows stream in batches: at most one batch plus one
//! network chunk of a table is in memory at a time.

use crate::conn::{connect, map_error};
use crate::decode::{decode, tuple_fields, Frame, Framer, Wire};
use crate::introspect::introspect_with_warnings;
use async_trait::async_trait;
use bytes::{Buf, BytesMut};
use ferry_core::{
    BadRow, BatchSender, ConnUrl, Dialect, Error, ErrorKind, ReadOptions, ReadStats, Result,
    RowLoop, RowOut, Schema, Source, Table, Value,
};
use ferry_schema::quote::{pg_ident as quote, pg_table as qualified};
use futures::StreamExt;
use tokio_postgres::Client;

const WIRE_TYPES_SQL: &str = include_str!("../sql/wire_types.sql");

/// A PostgreSQL database ferry reads from, inside one exported snapshot.
pub struct PgSource {
    pub(crate) url: ConnUrl,
    /// Holds the snapshot open; also used for introspection and counts.
    pub(crate) coordinator: Client,
    /// The exported snapshot's id; replaced by the replication slot's snapshot when
    /// replication is prepared (before any read).
    pub(crate) snapshot: std::sync::Mutex<String>,
    /// The slot and publication made for replication, and whether the copy's position
    /// was handed over (else `close` drops them: nothing can resume from them).
    pub(crate) replication: std::sync::Mutex<Option<(crate::replication::Prepared, bool)>>,
    schemas: Option<Vec<String>>,
    /// What the last [`Source::schema`] call approximated or left behind.
    warnings: std::sync::Mutex<Vec<String>>,
    /// Set when the coordinator connection is plaintext to a host outside loopback.
    plaintext: Option<String>,
}

/// What a read of `table` selects from: the table's own rows (`ONLY`), so a parent with
/// plain inheritance children does not hand over its children's rows, which are copied
/// as tables of their own. A partitioned table keeps its rows in its partitions, which
/// are not copied on their own: it is read whole.
async fn rows_of(client: &Client, table: &Table) -> Result<String> {
    let name = qualified(table);
    let row = client
        .query_one(
            "SELECT relkind = 'p' FROM pg_class WHERE oid = $1::text::regclass",
            &[&name],
        )
        .await
        .map_err(|e| map_error(e).context(format!("table `{}`", table.display_name())))?;
    Ok(if row.get::<_, bool>(0) {
        name
    } else {
        format!("ONLY {name}")
    })
}

impl PgSource {
    /// Connect, open the coordinator transaction and export its snapshot. `schemas` limits
    /// the tables to those schemas (`None`: every non-system schema); the URL's `schema`
    /// parameter (comma-separated) is used when `schemas` is `None`.
    pub async fn open(url: ConnUrl, schemas: Option<Vec<String>>) -> Result<PgSource> {
        let (coordinator, plaintext) = crate::conn::connect_noting(&url).await?;
        coordinator
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| map_error(e).context(format!("{url}: starting the snapshot")))?;
        let row = coordinator
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(|e| map_error(e).context(format!("{url}: exporting the snapshot")))?;
        let snapshot: String = row.get(0);
        let schemas = schemas.or_else(|| {
            url.param("schema").map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
        });
        if let Some(wanted) = &schemas {
            check_schemas(&coordinator, &url, wanted).await?;
        }
        Ok(PgSource {
            url,
            coordinator,
            snapshot: std::sync::Mutex::new(snapshot),
            replication: std::sync::Mutex::new(None),
            schemas,
            warnings: std::sync::Mutex::new(Vec::new()),
            plaintext,
        })
    }

    /// The exported snapshot's id (`00000003-0000001B-1`).
    pub fn snapshot_id(&self) -> String {
        self.snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A new connection inside the source's snapshot.
    pub async fn snapshot_client(&self) -> Result<Client> {
        let client = connect(&self.url).await?;
        // The id comes from the server; quote it anyway.
        let sql = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            self.snapshot_id().replace('\'', "''")
        );
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| map_error(e).context(format!("{}: importing the snapshot", self.url)))?;
        Ok(client)
    }

    /// The SELECT list and wire forms for reading `table`'s copied columns as the neutral
    /// types its columns carry; columns whose own type travels differently are cast.
    async fn plan_columns(
        &self,
        client: &Client,
        table: &Table,
    ) -> Result<(Vec<String>, Vec<Wire>)> {
        let rows = client
            .query(WIRE_TYPES_SQL, &[&qualified(table)])
            .await
            .map_err(|e| {
                map_error(e).context(format!(
                    "table `{}`: reading column types",
                    table.display_name()
                ))
            })?;
        let mut select = Vec::new();
        let mut wires = Vec::new();
        for col in table.copied_columns() {
            let row = rows
                .iter()
                .find(|r| r.get::<_, String>("column_name") == col.name)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "table `{}`: column `{}` not found",
                            table.display_name(),
                            col.name
                        ),
                    )
                })?;
            let have = Wire::from_catalog(
                &row.get::<_, String>("wire_type"),
                &row.get::<_, String>("wire_kind"),
                &row.get::<_, String>("elem_type"),
                &row.get::<_, String>("elem_kind"),
            );
            let (want, cast) = Wire::for_type(&col.data_type);
            if have.serves(&want) {
                select.push(quote(&col.name));
                wires.push(have);
            } else if want == Wire::Time && row.get::<_, String>("wire_type") == "timetz" {
                // A time with its offset becomes that time of day in UTC (a plain cast
                // would drop the offset and keep the local time).
                select.push(format!("({} AT TIME ZONE 'UTC')::time", quote(&col.name)));
                wires.push(want);
            } else {
                select.push(format!("{}::{cast}", quote(&col.name)));
                wires.push(want);
            }
        }
        Ok((select, wires))
    }
}

impl PgSource {
    /// The `COPY ... TO STDOUT (FORMAT binary)` that reads `table` under `options`, and the
    /// wire form of each column it sends (none in raw mode, where tuples pass undecoded).
    async fn copy_query(
        &self,
        client: &Client,
        table: &Table,
        options: &ReadOptions,
    ) -> Result<(String, Vec<Wire>)> {
        let (select, wires) = if options.raw_pg_copy {
            let cols: Vec<String> = table.copied_columns().map(|c| quote(&c.name)).collect();
            (cols, Vec::new())
        } else {
            self.plan_columns(client, table).await?
        };
        let from = rows_of(client, table).await?;
        let mut sql = format!("SELECT {} FROM {from}", select.join(", "));
        if let Some((lo, hi)) = options.key_range {
            let key = table.row_key();
            let [key] = key.as_slice() else {
                return Err(Error::config(format!(
                    "table `{}`: a key range needs a single-column key",
                    table.display_name()
                )));
            };
            let k = quote(key);
            sql.push_str(&format!(" WHERE {k} >= {lo} AND {k} < {hi}"));
        }
        Ok((format!("COPY ({sql}) TO STDOUT (FORMAT binary)"), wires))
    }
}

/// Fail, naming them, when some of the chosen schemas do not exist in the source database.
async fn check_schemas(client: &Client, url: &ConnUrl, wanted: &[String]) -> Result<()> {
    let rows = client
        .query(
            "SELECT s FROM unnest($1::text[]) s \
             WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s)",
            &[&wanted],
        )
        .await
        .map_err(|e| map_error(e).context(format!("{url}: looking up the chosen schemas")))?;
    let missing: Vec<String> = rows
        .iter()
        .map(|r| format!("`{}`", r.get::<_, String>(0)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let have: Vec<String> = client
        .query(
            "SELECT nspname::text FROM pg_namespace \
             WHERE nspname NOT IN ('pg_catalog', 'information_schema') \
               AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%' \
             ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| map_error(e).context(format!("{url}: listing schemas")))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "{url}: no schema {} in the source database (it has: {})",
            missing.join(", "),
            have.join(", ")
        ),
    ))
}

#[async_trait]
impl Source for PgSource {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn raw_rows(&self, table: &Table) -> Option<Box<dyn ferry_core::RawRows>> {
        Some(Box::new(crate::raw::CopyRows::new(table)?))
    }

    async fn schema(&self) -> Result<Schema> {
        let (schema, warnings) =
            introspect_with_warnings(&self.coordinator, self.schemas.as_deref()).await?;
        *self
            .warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = warnings;
        Ok(schema)
    }

    fn connection_warning(&self) -> Option<String> {
        self.plaintext.clone()
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn supports_key_ranges(&self) -> bool {
        true
    }

    /// The bounds of a single-column integer key, read inside the shared snapshot.
    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        let Some(key) = table.integer_key() else {
            return Ok(None);
        };
        let client = self.snapshot_client().await?;
        let sql = format!(
            "SELECT min({k})::int8, max({k})::int8 FROM {}",
            rows_of(&client, table).await?,
            k = quote(&key)
        );
        let row = client.query_one(&sql, &[]).await.map_err(|e| {
            map_error(e).context(format!("table `{}`: key bounds", table.display_name()))
        })?;
        Ok(row
            .get::<_, Option<i64>>(0)
            .zip(row.get::<_, Option<i64>>(1)))
    }

    /// Steps through the single-column integer key inside the shared snapshot.
    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        let Some(key) = table.integer_key() else {
            return Ok(Vec::new());
        };
        let client = self.snapshot_client().await?;
        let sql = format!(
            "SELECT {k}::int8 FROM {} WHERE {k} >= $1 ORDER BY {k} LIMIT 1 OFFSET $2",
            rows_of(&client, table).await?,
            k = quote(&key)
        );
        let name = table.display_name();
        let failed = |e| map_error(e).context(format!("table `{name}`: stepping through the key"));
        let stmt = client.prepare(&sql).await.map_err(failed)?;
        let every = i64::try_from(every.max(1)).unwrap_or(i64::MAX);
        let mut cuts = Vec::new();
        let mut from = i64::MIN;
        while cuts.len() < max {
            let Some(row) = client
                .query_opt(&stmt, &[&from, &every])
                .await
                .map_err(failed)?
            else {
                break;
            };
            from = row.get::<_, i64>(0);
            cuts.push(from);
        }
        Ok(cuts)
    }

    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats> {
        let client = self.snapshot_client().await?;
        let name = table.display_name();
        let (copy, wires) = self.copy_query(&client, table, options).await?;
        let stream = client
            .copy_out(&copy)
            .await
            .map_err(|e| map_error(e).context(format!("table `{name}`: starting COPY")))?;
        let mut stream = std::pin::pin!(stream);
        let mut framer = Framer::default();
        let mut pending = BytesMut::with_capacity(1 << 16);
        let mut out = RowLoop::new(table, options, tx);
        // Raw mode: complete tuples collect at the front of `pending` up to `raw_end`.
        let mut raw_end = 0usize;
        let mut raw_rows = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| map_error(e).context(format!("table `{name}`: COPY")))?;
            pending.extend_from_slice(&chunk);
            loop {
                let frame = framer
                    .next_frame(&pending[raw_end..])
                    .map_err(|why| Error::other(format!("table `{name}`: {why}")))?;
                match frame {
                    Frame::Incomplete => break,
                    Frame::Skip(n) => {
                        if raw_end == 0 {
                            pending.advance(n);
                        } else {
                            // Only the trailer follows tuples; drop it from the buffer.
                            pending.truncate(raw_end);
                        }
                    }
                    Frame::Tuple(n) if options.raw_pg_copy => {
                        raw_end += n;
                        raw_rows += 1;
                        if out.raw_is_full(raw_rows, raw_end) {
                            let chunk = pending.split_to(raw_end).freeze();
                            out.raw(chunk, raw_rows).await?;
                            raw_end = 0;
                            raw_rows = 0;
                            // The sent chunk keeps the old allocation; start the next one
                            // big enough for a whole batch instead of growing it by doubling.
                            pending.reserve(options.limits.max_bytes.min(16 << 20) + (64 << 10));
                        }
                    }
                    Frame::Tuple(n) => {
                        out.row(|values| decode_row(&pending[..n], &wires, values))
                            .await?;
                        pending.advance(n);
                    }
                }
                if framer.finished {
                    break;
                }
            }
        }
        if !framer.finished {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("table `{name}`: COPY stream ended before its trailer"),
            ));
        }
        if raw_rows > 0 {
            let chunk = pending.split_to(raw_end).freeze();
            out.raw(chunk, raw_rows).await?;
        }
        out.finish().await
    }

    async fn check_replication(&self) -> Result<()> {
        crate::replication::check(&self.coordinator, &self.url).await
    }

    async fn prepare_replication(
        &self,
        tables: &[Table],
        set_replica_identity: bool,
    ) -> Result<()> {
        self.prepare_replication_now(tables, set_replica_identity)
            .await
    }

    async fn snapshot_position(&self) -> Result<Option<ferry_core::Position>> {
        Ok(self.hand_over())
    }

    async fn current_position(&self) -> Result<ferry_core::Position> {
        crate::replication::current_position(&self.url).await
    }

    async fn changes(
        &self,
        tables: &[Table],
        from: &ferry_core::Position,
        until: Option<&ferry_core::Position>,
        _options: &ReadOptions,
    ) -> Result<Box<dyn ferry_core::ChangeStream>> {
        self.open_changes(tables, from, until).await
    }

    async fn end_replication(&self, at: &ferry_core::Position) -> Result<()> {
        crate::replication::end(&self.url, at).await
    }

    async fn replication_notes(&self, at: &ferry_core::Position) -> Result<Vec<String>> {
        crate::replication::slot_notes(&self.url, at).await
    }

    async fn close(&self) -> Result<()> {
        self.abandon_unused_slot().await?;
        // Ends the coordinator's transaction, and with it the exported snapshot.
        self.coordinator
            .batch_execute("COMMIT")
            .await
            .map_err(|e| map_error(e).context(format!("{}: ending the snapshot", self.url)))
    }

    async fn max_char_lengths(
        &self,
        table: &Table,
        columns: &[String],
    ) -> Result<Vec<Option<u64>>> {
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        // char_length counts characters, as MySQL's varchar(n) does.
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("max(char_length({}::text))::int8", quote(c)))
            .collect();
        let from = rows_of(&self.coordinator, table).await?;
        let sql = format!("SELECT {} FROM {from}", list.join(", "));
        let row = self.coordinator.query_one(&sql, &[]).await.map_err(|e| {
            map_error(e).context(format!(
                "table `{}`: measuring the longest text values",
                table.display_name()
            ))
        })?;
        Ok((0..columns.len())
            .map(|i| row.get::<_, Option<i64>>(i).map(|v| v.max(0) as u64))
            .collect())
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        let row = self
            .coordinator
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}",
                    rows_of(&self.coordinator, table).await?
                ),
                &[],
            )
            .await
            .map_err(|e| map_error(e).context(format!("counting `{}`", table.display_name())))?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

/// Decode one tuple with the columns' wire forms.
fn decode_row(
    tuple: &[u8],
    wires: &[Wire],
    out: &mut RowOut<'_>,
) -> std::result::Result<(), BadRow> {
    for (i, field) in tuple_fields(tuple).enumerate() {
        let Some(w) = wires.get(i) else { break };
        let value = match field {
            None => Value::Null,
            Some(bytes) => match decode(w, bytes) {
                Ok(v) => v,
                Err(reason) => {
                    // The values that do decode, to name the row by its key and reload it
                    // by hand.
                    let values = tuple_fields(tuple)
                        .zip(wires)
                        .map(|(f, w)| match f {
                            None => Value::Null,
                            Some(b) => decode(w, b).unwrap_or(Value::Null),
                        })
                        .collect();
                    return Err(BadRow {
                        column: i,
                        reason,
                        values,
                    });
                }
            },
        };
        out.push(value);
    }
    Ok(())
}
