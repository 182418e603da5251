//! [`PgChangeWriter`]: replicated changes applied to a PostgreSQL target, each group of
//! source transactions in one target transaction together with the stream position it
//! reaches (table `_ferry_replication`), under an advisory lock that keeps a second applier
//! out.
//!
//! Values are encoded exactly as the copy encodes them (the binary COPY field encoder) and
//! bound as binary parameters whose types the server infers from the columns, so a
//! replicated row equals a copied one.

use crate::conn::{connect, map_error};
use crate::encode::RowEncoder;
use crate::write::qualified;
use async_trait::async_trait;
use bytes::BytesMut;
use ferry_core::{
    Change, ChangeKind, ChangeWriter, ConnUrl, DataType, Error, ErrorKind, Position,
    ReplicatedTable, Result, Value,
};
use ferry_schema::quote::pg_ident as quote;
use std::collections::HashMap;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{Client, Statement};

/// The advisory lock key every ferry applier of a database takes (`hashtext` of a fixed name).
const LOCK: &str = "SELECT pg_try_advisory_lock(hashtext('ferry replication apply'))";

const STATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _ferry_replication (\
     id int PRIMARY KEY, position text NOT NULL, source_commit timestamptz, \
     applied_at timestamptz NOT NULL DEFAULT now())";

const RECORD: &str = "INSERT INTO _ferry_replication (id, position, source_commit, applied_at) \
     VALUES (1, $1, to_timestamp($2::float8 / 1e6), now()) \
     ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, \
     source_commit = EXCLUDED.source_commit, applied_at = EXCLUDED.applied_at";

/// A field already in PostgreSQL's binary format, bound as is (the server infers its type
/// from the column it meets).
#[derive(Debug)]
struct Raw<'a>(Option<&'a [u8]>);

impl ToSql for Raw<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            None => Ok(IsNull::Yes),
            Some(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// One target table's apply statements.
struct Target {
    name: String,
    shown: String,
    columns: Vec<String>,
    encoder: RowEncoder,
    /// Key columns (indexes among the copied columns); empty for a table without a key.
    key: Vec<usize>,
    /// Columns a keyless row is matched on (those with an equality operator).
    matchable: Vec<usize>,
    /// Per column, the cast a parameter needs when the column's own type is not the one
    /// its neutral value travels as (PostgreSQL -> PostgreSQL keeps `inet`, `money`, ...:
    /// such a value is sent as the copy read it and cast by the server, `$1::text::inet`).
    casts: Vec<Option<String>>,
}

impl Target {
    /// Parameter `p` for column `i`, cast when the column needs it.
    fn param(&self, i: usize, p: String) -> String {
        match &self.casts[i] {
            Some(cast) => format!("{p}{cast}"),
            None => p,
        }
    }
}

const COLUMNS_SQL: &str = include_str!("../sql/replica_columns.sql");

/// The casts each copied column of `table` needs (see [`Target::casts`]).
async fn casts(client: &Client, table: &ferry_core::Table) -> Result<Vec<Option<String>>> {
    let rows = client
        .query(COLUMNS_SQL, &[&qualified(table)])
        .await
        .map_err(|e| {
            map_error(e).context(format!("table `{}`: column types", table.display_name()))
        })?;
    Ok(table
        .copied_columns()
        .map(|c| {
            let row = rows
                .iter()
                .find(|r| r.get::<_, String>("column_name") == c.name)?;
            let have = crate::decode::Wire::from_catalog(
                &row.get::<_, String>("wire_type"),
                &row.get::<_, String>("wire_kind"),
                &row.get::<_, String>("elem_type"),
                &row.get::<_, String>("elem_kind"),
            );
            let (want, natural) = crate::decode::Wire::for_type(&c.data_type);
            // A `json` column is served by the jsonb decoder, but the encoder writes jsonb's
            // binary form (a version byte first), which `json` does not read.
            let json_as_jsonb = have == crate::decode::Wire::Json;
            (json_as_jsonb || !have.serves(&want))
                .then(|| format!("::{natural}::{}", row.get::<_, String>("type_name")))
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Shape {
    Insert,
    Update(Vec<usize>),
    Delete,
}

/// Applies replicated changes to PostgreSQL.
pub struct PgChangeWriter {
    client: Client,
    tables: Vec<Target>,
    statements: HashMap<(usize, Shape), Statement>,
    open: bool,
    /// Changes encoded and not yet sent: sent together (pipelined) when the queue is full,
    /// before a truncate, and before the commit, so small source transactions do not cost
    /// a round trip each.
    queue: Vec<(Statement, Call, Change)>,
}

/// Changes queued before the writer sends them at once.
const PIPELINE: usize = 1_000;

impl PgChangeWriter {
    /// Connect, take the applier lock, and make sure the state table exists.
    pub async fn open(url: &ConnUrl, tables: &[ReplicatedTable]) -> Result<PgChangeWriter> {
        let client = connect(url).await?;
        let locked: bool = client.query_one(LOCK, &[]).await.map_err(map_error)?.get(0);
        if !locked {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{url}: another ferry process is applying changes to this database (it holds the replication lock); stop it, or let `ferry cutover` wait for it"),
            ));
        }
        client
            .batch_execute(STATE_TABLE)
            .await
            .map_err(|e| map_error(e).context("creating _ferry_replication"))?;
        // The rows this session writes carry the source's own values: the triggers that
        // stand in for MySQL's ON UPDATE CURRENT_TIMESTAMP leave them alone.
        client
            .batch_execute(&format!(
                "SET {} = 'on'",
                ferry_schema::target::postgres::APPLYING_SETTING
            ))
            .await
            .map_err(map_error)?;
        let mut cast_lists = Vec::with_capacity(tables.len());
        for t in tables {
            cast_lists.push(casts(&client, &t.target).await?);
        }
        let tables = tables
            .iter()
            .zip(cast_lists)
            .map(|(t, casts)| {
                let copied: Vec<&ferry_core::Column> = t.target.copied_columns().collect();
                let key: Vec<usize> = t
                    .target
                    .row_key()
                    .iter()
                    .filter_map(|k| copied.iter().position(|c| &c.name == k))
                    .collect();
                let matchable = copied
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !matches!(c.data_type, DataType::Json))
                    .map(|(i, _)| i)
                    .collect();
                Target {
                    name: qualified(&t.target),
                    shown: t.target.display_name(),
                    columns: copied.iter().map(|c| quote(&c.name)).collect(),
                    encoder: RowEncoder::new(&t.target),
                    key,
                    matchable,
                    casts,
                }
            })
            .collect();
        Ok(PgChangeWriter {
            client,
            tables,
            statements: HashMap::new(),
            open: false,
            queue: Vec::new(),
        })
    }

    async fn begin(&mut self) -> Result<()> {
        if !self.open {
            self.client
                .batch_execute("BEGIN")
                .await
                .map_err(map_error)?;
            self.open = true;
        }
        Ok(())
    }

    async fn statement(&mut self, table: usize, shape: &Shape) -> Result<Statement> {
        if let Some(s) = self.statements.get(&(table, shape.clone())) {
            return Ok(s.clone());
        }
        let t = &self.tables[table];
        let sql = sql_for(t, shape);
        let stmt = self.client.prepare(&sql).await.map_err(|e| {
            map_error(e).context(format!("table `{}`: preparing the apply", t.shown))
        })?;
        self.statements.insert((table, shape.clone()), stmt.clone());
        Ok(stmt)
    }

    /// Queue `changes` in order; a truncate first sends what is queued.
    async fn apply_all(&mut self, changes: &[Change]) -> Result<()> {
        for change in changes {
            if change.kind == ChangeKind::Truncate {
                self.flush().await?;
                let t = &self.tables[change.table];
                let sql = format!("TRUNCATE {}", t.name);
                self.client.batch_execute(&sql).await.map_err(|e| {
                    map_error(e).context(format!("table `{}`: truncating", t.shown))
                })?;
                continue;
            }
            let shape = match change.kind {
                ChangeKind::Insert => Shape::Insert,
                ChangeKind::Update => Shape::Update(change.unchanged.clone()),
                _ => Shape::Delete,
            };
            let stmt = self.statement(change.table, &shape).await?;
            let call = Call::encode(&self.tables[change.table], change)?;
            self.queue.push((stmt, call, change.clone()));
            if self.queue.len() >= PIPELINE {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Send every queued change at once and read the results in order (tokio-postgres
    /// sends requests in the order their futures are first polled): about one round trip
    /// for the whole queue. A change that does not match exactly one row fails the group.
    async fn flush(&mut self) -> Result<()> {
        let queue = std::mem::take(&mut self.queue);
        let client = &self.client;
        let sent = queue.iter().map(|(stmt, call, _)| async move {
            let raws: Vec<Raw<'_>> = call
                .params
                .iter()
                .map(|&i| Raw(call.fields[i].clone().map(|r| &call.buf[r])))
                .collect();
            let params: Vec<&(dyn ToSql + Sync)> =
                raws.iter().map(|r| r as &(dyn ToSql + Sync)).collect();
            client.execute(stmt, &params).await
        });
        let results = futures::future::join_all(sent).await;
        for ((_, _, change), result) in queue.iter().zip(results) {
            let t = &self.tables[change.table];
            let n = result.map_err(|e| {
                map_error(e).context(format!("table `{}`: applying a change", t.shown))
            })?;
            if n != 1 {
                return Err(diverged(t, change, n));
            }
        }
        Ok(())
    }
}

/// One change's parameters, encoded: the after-image's fields first (insert, update), then
/// the before-image's identifying ones.
struct Call {
    buf: BytesMut,
    fields: Vec<Option<std::ops::Range<usize>>>,
    params: Vec<usize>,
}

impl Call {
    fn encode(t: &Target, change: &Change) -> Result<Call> {
        let mut call = Call {
            buf: BytesMut::new(),
            fields: Vec::new(),
            params: Vec::new(),
        };
        if let Some(after) = &change.after {
            let at = encode(t, after, &change.unchanged, &mut call.buf, &mut call.fields)?;
            for i in 0..t.columns.len() {
                if !change.unchanged.contains(&i) {
                    call.params.push(at + i);
                }
            }
        }
        if let Some(before) = &change.before {
            let ident: &[usize] = if t.key.is_empty() {
                &t.matchable
            } else {
                &t.key
            };
            // Only the identifying columns of the old row are bound; the others may be
            // placeholders (an old key carries nothing else).
            let unused: Vec<usize> = (0..t.columns.len())
                .filter(|i| !ident.contains(i))
                .collect();
            let at = encode(t, before, &unused, &mut call.buf, &mut call.fields)?;
            call.params.extend(ident.iter().map(|i| at + i));
        }
        Ok(call)
    }
}

/// Encode `row` (the columns in `absent` as NULL, unchecked: they are not bound) and append
/// each field's byte range (None for NULL) to `fields`; returns the index of the row's first
/// field.
fn encode(
    t: &Target,
    row: &[Value],
    absent: &[usize],
    buf: &mut BytesMut,
    fields: &mut Vec<Option<std::ops::Range<usize>>>,
) -> Result<usize> {
    let first = fields.len();
    let start = buf.len();
    t.encoder.encode_row_except(row, absent, buf).map_err(|e| {
        Error::data(format!(
            "table `{}`, column `{}`: a replicated value does not fit: {}",
            t.shown,
            t.encoder.column_name(e.column),
            e.reason
        ))
    })?;
    // Walk the encoded tuple: an i16 field count, then (i32 length, bytes) per field.
    let mut at = start + 2;
    for _ in 0..t.columns.len() {
        let len = i32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        at += 4;
        if len < 0 {
            fields.push(None);
        } else {
            let end = at + len as usize;
            fields.push(Some(at..end));
            at = end;
        }
    }
    Ok(first)
}

fn diverged(t: &Target, change: &Change, n: u64) -> Error {
    let before = change.before.as_deref().unwrap_or_default();
    let key: Vec<(&str, Option<&Value>)> = t
        .key
        .iter()
        .map(|&i| (t.columns[i].as_str(), before.get(i)))
        .collect();
    ferry_core::change::diverged(&t.shown, &key, change.kind, n)
}

fn sql_for(t: &Target, shape: &Shape) -> String {
    let n = t.columns.len();
    let mut p = 0usize;
    let mut next = || {
        p += 1;
        format!("${p}")
    };
    match shape {
        Shape::Insert => {
            let values: Vec<String> = (0..n).map(|i| t.param(i, next())).collect();
            format!(
                "INSERT INTO {} ({}) VALUES ({})",
                t.name,
                t.columns.join(", "),
                values.join(", ")
            )
        }
        Shape::Update(unchanged) => {
            let sets: Vec<String> = (0..n)
                .filter(|i| !unchanged.contains(i))
                .map(|i| format!("{} = {}", t.columns[i], t.param(i, next())))
                .collect();
            let filter = identify(t, &mut next);
            format!("UPDATE {} SET {} WHERE {filter}", t.name, sets.join(", "))
        }
        Shape::Delete => {
            let filter = identify(t, &mut next);
            format!("DELETE FROM {} WHERE {filter}", t.name)
        }
    }
}

/// The WHERE clause naming one row: its key, or for a keyless table one row (by `ctid`)
/// equal to the before-image, NULLs included.
fn identify(t: &Target, next: &mut dyn FnMut() -> String) -> String {
    if !t.key.is_empty() {
        return t
            .key
            .iter()
            .map(|&i| format!("{} = {}", t.columns[i], t.param(i, next())))
            .collect::<Vec<_>>()
            .join(" AND ");
    }
    let matches: Vec<String> = t
        .matchable
        .iter()
        .map(|&i| {
            format!(
                "{} IS NOT DISTINCT FROM {}",
                t.columns[i],
                t.param(i, next())
            )
        })
        .collect();
    format!(
        "ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)",
        t.name,
        if matches.is_empty() {
            "true".to_string()
        } else {
            matches.join(" AND ")
        }
    )
}

#[async_trait]
impl ChangeWriter for PgChangeWriter {
    async fn recorded(&mut self) -> Result<Option<Position>> {
        let row = self
            .client
            .query_opt("SELECT position FROM _ferry_replication WHERE id = 1", &[])
            .await
            .map_err(map_error)?;
        Ok(row.map(|r| Position(r.get(0))))
    }

    async fn apply(&mut self, changes: &[Change]) -> Result<()> {
        self.begin().await?;
        self.apply_all(changes).await
    }

    async fn commit(&mut self, position: &Position, commit_micros: Option<i64>) -> Result<()> {
        self.begin().await?;
        self.flush().await?;
        let micros = commit_micros.map(|m| m as f64);
        self.client
            .execute(RECORD, &[&position.0, &micros])
            .await
            .map_err(|e| map_error(e).context("recording the replication position"))?;
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| map_error(e).context("committing replicated changes"))?;
        self.open = false;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<()> {
        self.queue.clear();
        if self.open {
            self.open = false;
            self.client
                .batch_execute("ROLLBACK")
                .await
                .map_err(map_error)?;
        }
        Ok(())
    }

    async fn stop_requested(&mut self) -> Result<Option<Position>> {
        let row = self
            .client
            .query_opt(STOP_READ, &[])
            .await
            .map_err(map_error)?;
        Ok(row.map(|r| Position(r.get(0))))
    }
}

/// Row 2 of the state table: the position a cutover asked the applier to stop at.
const STOP_READ: &str = "SELECT position FROM _ferry_replication WHERE id = 2";

/// Ask the running applier to stop at `at` (or withdraw the request).
pub async fn request_stop(client: &Client, at: Option<&Position>) -> Result<()> {
    client
        .batch_execute(STATE_TABLE)
        .await
        .map_err(|e| map_error(e).context("creating _ferry_replication"))?;
    match at {
        Some(p) => client
            .execute(
                "INSERT INTO _ferry_replication (id, position) VALUES (2, $1) \
                 ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, applied_at = now()",
                &[&p.0],
            )
            .await
            .map(|_| ()),
        None => client
            .execute("DELETE FROM _ferry_replication WHERE id = 2", &[])
            .await
            .map(|_| ()),
    }
    .map_err(|e| map_error(e).context("requesting the applier to stop"))
}

/// The recorded replication state, read without the applier lock.
pub async fn status(client: &Client) -> Result<Option<ferry_core::ReplicationStatus>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('_ferry_replication') IS NOT NULL", &[])
        .await
        .map_err(map_error)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT position, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), \
             to_char(source_commit AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), \
             extract(epoch FROM applied_at - source_commit)::float8 \
             FROM _ferry_replication WHERE id = 1",
            &[],
        )
        .await
        .map_err(map_error)?;
    Ok(row.map(|r| ferry_core::ReplicationStatus {
        position: Position(r.get(0)),
        applied_at: r.get(1),
        source_commit: r.get(2),
        lag_seconds: r.get(3),
    }))
}
