//! [`MySqlSource`]: introspection plus a streaming reader whose parallel connections all see
//! one point in time.
//!
//! # One snapshot for every reader, without `FLUSH TABLES WITH READ LOCK`
//!
//! RDS and Aurora forbid `FLUSH TABLES WITH READ LOCK`, and a single InnoDB snapshot cannot
//! be shared between connections in MySQL (there is no `pg_export_snapshot`). So, the first
//! time rows are needed, a coordinator connection takes `LOCK TABLES t1 READ, t2 READ, ...`
//! on every table of the database — this waits for writing transactions on those tables to
//! finish and holds new writes back — and while it holds the lock each reader connection
//! runs `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY`. No write can commit between
//! the first and the last snapshot, so all of them see the same state; the coordinator then
//! unlocks, typically a few milliseconds later (this is mydumper's `--lock-all-tables`).
//! If the user lacks the `LOCK TABLES` privilege the snapshots are opened back to back
//! without it and [`MySqlSource::snapshot_is_shared`] says so.
//!
//! Every session pins `time_zone = '+00:00'`, so `TIMESTAMP` values arrive in UTC, and
//! `NAMES utf8mb4`, so latin1 and other columns arrive as UTF-8.

use crate::binlog::{self, BinlogChanges, BinlogPosition};
use crate::conn::{is_mariadb, map_error, Target};
use crate::introspect::{introspect, quote};
use crate::types::{Bad, ReadCodec};
use async_trait::async_trait;
use ferry_core::url::ConnUrl;
use ferry_core::{
    BadRow, BatchSender, ChangeStream, Dialect, Error, ErrorKind, Position, ReadOptions, ReadStats,
    Result, RowLoop, RowOut, Schema, Source, Table, Value,
};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Mutex, OnceCell, Semaphore};

/// Reader connections opened by default (one per table read at once).
pub const DEFAULT_READERS: usize = 4;

/// A MySQL or MariaDB database to read from.
pub struct MySqlSource {
    target: Target,
    readers: usize,
    snapshot: OnceCell<Pool>,
    shared: AtomicBool,
    /// Views, triggers and routines, which are not copied (warning lines).
    not_copied: std::sync::Mutex<Vec<String>>,
}

struct Pool {
    conns: Mutex<Vec<Conn>>,
    permits: Semaphore,
    /// The binlog position the snapshots were taken at, read under the table lock; `None`
    /// when the binlog is off, unreadable, or the lock was refused.
    position: Option<BinlogPosition>,
}

impl MySqlSource {
    /// Check that the database answers (so a wrong password or port fails at once) and
    /// prepare to read it with `readers` parallel connections.
    pub async fn open(url: &ConnUrl, readers: usize) -> Result<MySqlSource> {
        let target = Target::from_url(url)?;
        let conn = target.connect().await?;
        drop(conn.disconnect().await);
        Ok(MySqlSource {
            target,
            readers: readers.max(1),
            snapshot: OnceCell::new(),
            shared: AtomicBool::new(true),
            not_copied: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Whether every reader's snapshot was taken under one table lock (see the module
    /// documentation); `false` only when `LOCK TABLES` was refused.
    pub fn snapshot_is_shared(&self) -> bool {
        self.shared.load(Ordering::Relaxed)
    }

    /// End the snapshot: commit the readers' read-only transactions and disconnect them, so
    /// the metadata locks they hold no longer block DDL on the source. Reading again after
    /// this fails.
    pub async fn close(&self) {
        if let Some(pool) = self.snapshot.get() {
            pool.permits.close();
            let conns: Vec<Conn> = std::mem::take(&mut *pool.conns.lock().await);
            for mut c in conns {
                let _ = c.query_drop("COMMIT").await;
                let _ = c.disconnect().await;
            }
        }
    }

    async fn pool(&self) -> Result<&Pool> {
        self.snapshot
            .get_or_try_init(|| self.open_snapshots())
            .await
    }

    async fn open_snapshots(&self) -> Result<Pool> {
        let ctx = |what: &str| format!("{}: {what}", self.target.shown);
        let mut coordinator = self.target.connect().await?;
        let names: Vec<String> = coordinator
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')",
                (&self.target.database,),
            )
            .await
            .map_err(|e| map_error(e, &ctx("listing tables")))?;
        let locked = if names.is_empty() {
            true
        } else {
            let list: Vec<String> = names.iter().map(|n| format!("{} READ", quote(n))).collect();
            coordinator
                .query_drop(format!("LOCK TABLES {}", list.join(", ")))
                .await
                .is_ok()
        };
        self.shared.store(locked, Ordering::Relaxed);
        let mut conns = Vec::with_capacity(self.readers);
        for _ in 0..self.readers {
            let mut c = self.target.connect().await?;
            c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .await
                .map_err(|e| map_error(e, &ctx("setting the isolation level")))?;
            c.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .await
                .map_err(|e| map_error(e, &ctx("starting a consistent snapshot")))?;
            conns.push(c);
        }
        // While the lock holds no write to these tables can commit, so the binlog position
        // now is exactly where the snapshots stand: replication starts there.
        let position = if locked {
            binlog::position::current(&mut coordinator)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        if locked {
            coordinator
                .query_drop("UNLOCK TABLES")
                .await
                .map_err(|e| map_error(e, &ctx("unlocking tables")))?;
        }
        drop(coordinator.disconnect().await);
        Ok(Pool {
            permits: Semaphore::new(conns.len()),
            conns: Mutex::new(conns),
            position,
        })
    }

    /// Run `f` on a snapshot connection; the connection goes back to the pool only when `f`
    /// succeeded (after an error its state is unknown).
    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> futures::future::BoxFuture<'c, Result<T>>,
    {
        let pool = self.pool().await?;
        let permit = pool
            .permits
            .acquire()
            .await
            .map_err(|_| Error::new(ErrorKind::Cancelled, "reader pool closed"))?;
        let mut conn =
            pool.conns.lock().await.pop().ok_or_else(|| {
                Error::other("no reader connection left (an earlier read failed)")
            })?;
        let out = f(&mut conn).await;
        if out.is_ok() {
            pool.conns.lock().await.push(conn);
            drop(permit);
        } else {
            permit.forget();
        }
        out
    }
}

#[async_trait]
impl Source for MySqlSource {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn connection_warning(&self) -> Option<String> {
        self.target.connection_warning()
    }

    async fn schema(&self) -> Result<Schema> {
        let mut conn = self.target.connect().await?;
        let mariadb = is_mariadb(&mut conn).await?;
        let schema = introspect(&mut conn, &self.target.database, mariadb).await;
        let not_copied = match schema {
            Ok(_) => crate::introspect::not_copied(&mut conn, &self.target.database).await,
            Err(_) => Ok(Vec::new()),
        };
        drop(conn.disconnect().await);
        *self
            .not_copied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = not_copied?;
        schema
    }

    fn warnings(&self) -> Vec<String> {
        self.not_copied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats> {
        let table = table.clone();
        let options = options.clone();
        self.with_conn(move |conn| Box::pin(read_rows(conn, table, options, tx)))
            .await
    }

    fn supports_key_ranges(&self) -> bool {
        true
    }

    /// The bounds of a single-column integer key, read inside the snapshot.
    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        let Some(key) = table.integer_key() else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT MIN({k}), MAX({k}) FROM {}",
            quote(&table.name),
            k = quote(&key)
        );
        let name = table.name.clone();
        self.with_conn(move |conn| {
            Box::pin(async move {
                let row: Option<(Option<i64>, Option<i64>)> = conn
                    .query_first(sql)
                    .await
                    .map_err(|e| map_error(e, &format!("key bounds of `{name}`")))?;
                Ok(row.and_then(|(lo, hi)| lo.zip(hi)))
            })
        })
        .await
    }

    /// Steps through the single-column integer key inside the snapshot.
    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        let Some(key) = table.integer_key() else {
            return Ok(Vec::new());
        };
        let every = every.max(1);
        let (t, k) = (quote(&table.name), quote(&key));
        let name = table.name.clone();
        self.with_conn(move |conn| {
            Box::pin(async move {
                let mut cuts = Vec::new();
                let mut from = i64::MIN;
                while cuts.len() < max {
                    let sql = format!(
                        "SELECT {k} FROM {t} WHERE {k} >= {from} ORDER BY {k} LIMIT 1 OFFSET {every}"
                    );
                    let next: Option<i64> = conn.query_first(sql).await.map_err(|e| {
                        map_error(e, &format!("stepping through the key of `{name}`"))
                    })?;
                    let Some(key) = next else { break };
                    cuts.push(key);
                    from = key;
                }
                Ok(cuts)
            })
        })
        .await
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", quote(&table.name));
        let name = table.name.clone();
        self.with_conn(move |conn| {
            Box::pin(async move {
                let n: Option<u64> = conn
                    .query_first(sql)
                    .await
                    .map_err(|e| map_error(e, &format!("counting rows of `{name}`")))?;
                Ok(n.unwrap_or(0))
            })
        })
        .await
    }

    async fn close(&self) -> Result<()> {
        MySqlSource::close(self).await;
        Ok(())
    }

    async fn snapshot_position(&self) -> Result<Option<Position>> {
        Ok(self
            .pool()
            .await?
            .position
            .as_ref()
            .map(BinlogPosition::to_position))
    }

    async fn check_replication(&self) -> Result<()> {
        let mut conn = self.target.connect().await?;
        let checked = binlog::position::check_preconditions(&mut conn).await;
        drop(conn.disconnect().await);
        checked
    }

    async fn prepare_replication(&self, tables: &[Table], _set_identity: bool) -> Result<()> {
        let mut conn = self.target.connect().await?;
        let versioned: Result<Vec<String>> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SYSTEM VERSIONED'",
                (&self.target.database,),
            )
            .await
            .map_err(|e| map_error(e, "listing system-versioned tables"));
        drop(conn.disconnect().await);
        let named: Vec<String> = versioned?
            .into_iter()
            .filter(|v| tables.iter().any(|t| &t.name == v))
            .map(|v| quote(&v))
            .collect();
        if named.is_empty() {
            return Ok(());
        }
        Err(Error::config(format!(
            "system-versioned table(s) {} cannot be replicated: their binlog rows include the history rows every update and delete writes, which replication cannot tell from current ones. Exclude them ([tables] exclude in the config) or ALTER TABLE ... DROP SYSTEM VERSIONING on the source",
            named.join(", ")
        )))
    }

    async fn current_position(&self) -> Result<Position> {
        let mut conn = self.target.connect().await?;
        let position = binlog::position::current(&mut conn).await;
        drop(conn.disconnect().await);
        position?.map(|p| p.to_position()).ok_or_else(|| {
            Error::config(format!(
                "{}: binary logging is off on the source, so there is no change stream",
                self.target.shown
            ))
        })
    }

    async fn changes(
        &self,
        tables: &[Table],
        from: &Position,
        until: Option<&Position>,
        options: &ReadOptions,
    ) -> Result<Box<dyn ChangeStream>> {
        let from = BinlogPosition::parse(from)?;
        let until = until.map(BinlogPosition::parse).transpose()?;
        Ok(Box::new(
            BinlogChanges::open(&self.target, tables, &from, until, options.keep_zero_dates)
                .await?,
        ))
    }
}

/// The SELECT for a table's copied columns and optional key range.
fn select_sql(table: &Table, options: &ReadOptions) -> String {
    let cols: Vec<String> = table.copied_columns().map(select_expr).collect();
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), quote(&table.name));
    if let (Some((lo, hi)), [key]) = (options.key_range, table.row_key().as_slice()) {
        sql.push_str(&format!(
            " WHERE {k} >= {lo} AND {k} < {hi}",
            k = quote(key)
        ));
    }
    sql
}

/// How a column is selected. A `FLOAT` is sent as text with 6 significant digits (MariaDB,
/// MySQL 5.7: 16777216 arrives as `16777200`), so it is read as `col + 0e0`, a DOUBLE holding
/// the stored single exactly, which the server prints in full. A column is taken for a
/// FLOAT when it is read as a float and declared as one: `float` on a MySQL source, and on a
/// target ferry made, whatever single-precision type its source declared (`real`), which
/// ferry creates as `float`. A text column a config reads as a float keeps plain text, so a
/// value that is no number is still refused rather than turned into 0.
fn select_expr(column: &ferry_core::Column) -> String {
    let name = quote(&column.name);
    let declared = column.source_type.trim_start().to_ascii_lowercase();
    let float_declared = ["float", "real"].iter().any(|p| declared.starts_with(p));
    let read_as_float = matches!(
        column.data_type,
        ferry_core::DataType::Float32 | ferry_core::DataType::Float64
    );
    if float_declared && read_as_float {
        format!("{name} + 0e0")
    } else {
        name
    }
}

async fn read_rows(
    conn: &mut Conn,
    table: Table,
    options: ReadOptions,
    tx: BatchSender,
) -> Result<ReadStats> {
    let codecs: Vec<(String, ReadCodec)> = table
        .copied_columns()
        .map(|c| {
            (
                c.name.clone(),
                ReadCodec {
                    keep_zero_dates: options.keep_zero_dates,
                    ..ReadCodec::new(&c.source_type, c.data_type.clone(), c.nullable)
                },
            )
        })
        .collect();
    let tname = table.display_name();
    let sql = select_sql(&table, &options);
    let mut result = conn
        .query_iter(sql)
        .await
        .map_err(|e| map_error(e, &format!("reading `{tname}`")))?;
    let mut out = RowLoop::new(&table, &options, tx);
    while let Some(row) = result
        .next()
        .await
        .map_err(|e| map_error(e, &format!("reading `{tname}`")))?
    {
        out.row(|values| decode_row(row, &tname, &codecs, values))
            .await?;
    }
    drop(result);
    out.finish().await
}

/// Decode one row's cells with the columns' codecs.
fn decode_row(
    row: mysql_async::Row,
    table: &str,
    codecs: &[(String, ReadCodec)],
    out: &mut RowOut<'_>,
) -> std::result::Result<(), BadRow> {
    let mut cells = row.unwrap_raw().into_iter().map(|v| match v {
        Some(mysql_async::Value::Bytes(b)) => Some(b),
        Some(mysql_async::Value::NULL) | None => None,
        Some(other) => Some(other.as_sql(true).into_bytes()),
    });
    for (i, (name, codec)) in codecs.iter().enumerate() {
        let why = match codec.decode(cells.next().flatten()) {
            Ok(v) => {
                out.push(v);
                continue;
            }
            Err(Bad::ZeroDate) if codec.nullable => {
                out.push(Value::Null);
                continue;
            }
            Err(Bad::ZeroDate) => crate::types::zero_date_refusal(table, name),
            Err(Bad::Invalid(why)) => why,
        };
        // Cells before `i` were decoded, `i` was consumed, those after are raw.
        let mut values = out.pushed().to_vec();
        values.push(Value::Null);
        values.extend(cells.map(|c| match c {
            None => Value::Null,
            Some(b) => match String::from_utf8(b) {
                Ok(s) => Value::Text(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
        }));
        return Err(BadRow {
            column: i,
            reason: why,
            values,
        });
    }
    Ok(())
}
