//! [`MySqlChangeWriter`]: replicated changes applied to a MySQL/MariaDB target, each group
//! of source transactions in one target transaction together with the stream position it
//! reaches (table `_ferry_replication`), under a named lock (`GET_LOCK`) that keeps a second
//! applier out.
//!
//! Values are checked and rendered exactly as the copy's loader renders them
//! ([`render`](crate::types::render)) and bound as prepared-statement parameters.
//!
//! Changes are buffered until the group commits (or the buffer is full) and then applied
//! table by table: a keyed table's run goes as its net effect ([`net`]) in a few multi-row
//! `DELETE ... IN` and `INSERT` statements; a run that cannot (one change, no key, values
//! the source left out, or a sequence only a diverged target allows) goes row by row. If a
//! multi-row statement fails or matches fewer rows than planned, the run is undone to a
//! savepoint and replayed row by row, which names the exact row that diverged.

mod net;

use crate::conn::{map_error, Target};
use crate::introspect::quote;
use crate::types::{render, Cell, WriteCol};
use async_trait::async_trait;
use ferry_core::{
    Change, ChangeKind, ChangeWriter, Error, ErrorKind, Position, ReplicatedTable, Result, Value,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Statement, Value as MyValue};
use std::collections::{BTreeMap, HashMap};

const TARGET_COLUMNS: &str = include_str!("../sql/target_columns.sql");

const STATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _ferry_replication (\
     id int NOT NULL PRIMARY KEY, position text NOT NULL, source_commit datetime(6) NULL, \
     applied_at datetime(6) NOT NULL) ENGINE=InnoDB";

const RECORD: &str = "INSERT INTO _ferry_replication (id, position, source_commit, applied_at) \
     VALUES (1, ?, FROM_UNIXTIME(? / 1000000), UTC_TIMESTAMP(6)) \
     ON DUPLICATE KEY UPDATE position = VALUES(position), \
     source_commit = VALUES(source_commit), applied_at = VALUES(applied_at)";

/// One target table's apply statements.
struct ApplyTable {
    name: String,
    cols: Vec<WriteCol>,
    /// Key columns (indexes among the copied columns); empty without a key.
    key: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Shape {
    Insert,
    Update(Vec<usize>),
    Delete,
    /// `INSERT` of this many rows.
    InsertRows(usize),
    /// `DELETE ... WHERE key IN` this many keys.
    DeleteKeys(usize),
}

/// Changes buffered before a flush: bounds memory for one large source transaction.
const FLUSH_AT: usize = 5_000;

/// Placeholders in one statement stay under the protocol's 65,535.
const MAX_PARAMS: usize = 60_000;

/// Rows in one multi-row statement.
const MAX_ROWS: usize = 256;

/// Prepared statements kept per applier (a server allows 16,382 by default in all).
const MAX_STATEMENTS: usize = 512;

/// Applies replicated changes to MySQL or MariaDB.
pub struct MySqlChangeWriter {
    conn: Conn,
    shown: String,
    tables: Vec<ApplyTable>,
    statements: HashMap<(usize, Shape), Statement>,
    open: bool,
    buf: Vec<u8>,
    /// Changes applied by `apply` but not yet sent: sent at commit or when full.
    pending: Vec<Change>,
}

impl MySqlChangeWriter {
    /// Connect, take the applier lock, make sure the state table exists, and read each
    /// target table's columns as the server created them.
    pub async fn open(target: &Target, tables: &[ReplicatedTable]) -> Result<MySqlChangeWriter> {
        let shown = target.shown.clone();
        let mut conn = target.with_found_rows().connect().await?;
        let ctx = |what: &str| format!("{shown}: {what}");
        let lock = format!("ferry replication apply {}", target.database);
        let got: Option<i64> = conn
            .exec_first("SELECT GET_LOCK(?, 0)", (lock,))
            .await
            .map_err(|e| map_error(e, &ctx("taking the replication lock")))?;
        if got != Some(1) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{shown}: another ferry process is applying changes to this database (it holds the replication lock); stop it, or let `ferry cutover` wait for it"),
            ));
        }
        // The source enforced its keys when it made these changes.
        conn.query_drop("SET foreign_key_checks = 0")
            .await
            .map_err(|e| map_error(e, &ctx("session settings")))?;
        conn.query_drop(STATE_TABLE)
            .await
            .map_err(|e| map_error(e, &ctx("creating _ferry_replication")))?;
        let mut out = Vec::with_capacity(tables.len());
        for t in tables {
            let name = t.target.name.clone();
            let rows: Vec<(String, String, String, String)> = conn
                .exec(TARGET_COLUMNS, (&name,))
                .await
                .map_err(|e| map_error(e, &ctx(&format!("reading the columns of `{name}`"))))?;
            let cols = crate::write::write_cols(&t.target, &rows)?;
            let key = t
                .target
                .row_key()
                .iter()
                .filter_map(|k| cols.iter().position(|c| &c.name == k))
                .collect();
            out.push(ApplyTable { name, cols, key });
        }
        Ok(MySqlChangeWriter {
            conn,
            shown,
            tables: out,
            statements: HashMap::new(),
            open: false,
            buf: Vec::new(),
            pending: Vec::new(),
        })
    }

    async fn begin(&mut self) -> Result<()> {
        if !self.open {
            self.conn
                .query_drop("START TRANSACTION")
                .await
                .map_err(|e| map_error(e, &format!("{}: starting a transaction", self.shown)))?;
            self.open = true;
        }
        Ok(())
    }

    async fn statement(&mut self, table: usize, shape: &Shape) -> Result<Statement> {
        if let Some(s) = self.statements.get(&(table, shape.clone())) {
            return Ok(s.clone());
        }
        if self.statements.len() >= MAX_STATEMENTS {
            // Many tables: keep the server's prepared-statement count bounded.
            for (_, s) in self.statements.drain() {
                self.conn
                    .close(s)
                    .await
                    .map_err(|e| map_error(e, &format!("{}: closing statements", self.shown)))?;
            }
        }
        let t = &self.tables[table];
        let sql = sql_for(t, shape);
        let stmt = self
            .conn
            .prep(sql)
            .await
            .map_err(|e| map_error(e, &format!("table `{}`: preparing the apply", t.name)))?;
        self.statements.insert((table, shape.clone()), stmt.clone());
        Ok(stmt)
    }

    /// The parameters for `row`'s columns `which`, rendered as the loader renders them.
    fn params(&mut self, table: usize, row: &[Value], which: &[usize]) -> Result<Vec<MyValue>> {
        let t = &self.tables[table];
        let mut out = Vec::with_capacity(which.len());
        for &i in which {
            let col = &t.cols[i];
            let v = row.get(i).unwrap_or(&Value::Null);
            match render(v, col, &mut self.buf) {
                Ok(Cell::Null) => out.push(MyValue::NULL),
                Ok(Cell::Data) => out.push(MyValue::Bytes(self.buf.clone())),
                Err(why) => {
                    return Err(Error::data(format!(
                        "table `{}`, column `{}`: a replicated value does not fit: {why}",
                        t.name, col.name
                    )))
                }
            }
        }
        Ok(out)
    }

    async fn apply_one(&mut self, change: &Change) -> Result<()> {
        let table = change.table;
        if change.kind == ChangeKind::Truncate {
            // TRUNCATE would commit the open transaction; DELETE keeps it atomic.
            let sql = format!("DELETE FROM {}", quote(&self.tables[table].name));
            return self.conn.query_drop(sql).await.map_err(|e| {
                map_error(
                    e,
                    &format!("table `{}`: truncating", self.tables[table].name),
                )
            });
        }
        let n = self.tables[table].cols.len();
        let all: Vec<usize> = (0..n).collect();
        let ident: Vec<usize> = if self.tables[table].key.is_empty() {
            all.clone()
        } else {
            self.tables[table].key.clone()
        };
        let (shape, mut params) = match change.kind {
            ChangeKind::Insert => {
                let after = change.after.as_deref().unwrap_or_default();
                (Shape::Insert, self.params(table, after, &all)?)
            }
            ChangeKind::Update => {
                let set: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|i| !change.unchanged.contains(i))
                    .collect();
                let after = change.after.as_deref().unwrap_or_default();
                (
                    Shape::Update(change.unchanged.clone()),
                    self.params(table, after, &set)?,
                )
            }
            _ => (Shape::Delete, Vec::new()),
        };
        if let Some(before) = change.before.as_deref() {
            params.extend(self.params(table, before, &ident)?);
        }
        let stmt = self.statement(table, &shape).await?;
        self.conn
            .exec_drop(&stmt, Params::Positional(params))
            .await
            .map_err(|e| {
                map_error(
                    e,
                    &format!("table `{}`: applying a change", self.tables[table].name),
                )
            })?;
        // Rows matched, not changed (the connection sets CLIENT_FOUND_ROWS).
        let affected = self.conn.affected_rows();
        if affected != 1 {
            return Err(diverged(&self.tables[table], change, affected));
        }
        Ok(())
    }
    /// Send the buffered changes: each truncate where it stands, the runs between them
    /// table by table.
    async fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let mut start = 0;
        for (i, c) in pending.iter().enumerate() {
            if c.kind == ChangeKind::Truncate {
                self.flush_run(&pending[start..i]).await?;
                self.apply_one(c).await?;
                start = i + 1;
            }
        }
        self.flush_run(&pending[start..]).await
    }

    /// A run without truncates. Each table's changes keep their order; changes of different
    /// tables commute (foreign-key checks are off in this session).
    async fn flush_run(&mut self, run: &[Change]) -> Result<()> {
        let mut by_table: BTreeMap<usize, Vec<&Change>> = BTreeMap::new();
        for c in run {
            by_table.entry(c.table).or_default().push(c);
        }
        for (table, changes) in by_table {
            if !self.apply_net(table, &changes).await? {
                for c in changes {
                    self.apply_one(c).await?;
                }
            }
        }
        Ok(())
    }

    /// Apply one table's run as its net effect. `Ok(false)`: nothing of it is applied (it
    /// cannot go that way, or a statement failed or matched fewer rows than planned and was
    /// undone), so the caller applies it row by row.
    async fn apply_net(&mut self, table: usize, changes: &[&Change]) -> Result<bool> {
        let t = &self.tables[table];
        if changes.len() < 2 || t.key.is_empty() || changes.iter().any(|c| !c.unchanged.is_empty())
        {
            return Ok(false);
        }
        let key = t.key.clone();
        let planned = net::NetEffect::plan(changes, |row| {
            Ok(self
                .params(table, row, &key)?
                .into_iter()
                .map(|v| match v {
                    MyValue::Bytes(b) => Some(b),
                    _ => None,
                })
                .collect())
        })?;
        let Some(planned) = planned else {
            return Ok(false);
        };
        let ctx = format!("table `{}`: applying changes", self.tables[table].name);
        self.conn
            .query_drop("SAVEPOINT ferry_net")
            .await
            .map_err(|e| map_error(e, &ctx))?;
        let sent = self.send_net(table, changes, &planned).await;
        if let Ok(true) = sent {
            return Ok(true);
        }
        // Undo the part that went, then the caller replays the run row by row, which names
        // the row that diverged. If even the undo fails the connection is gone: say why.
        match self
            .conn
            .query_drop("ROLLBACK TO SAVEPOINT ferry_net")
            .await
        {
            Ok(()) => Ok(false),
            Err(e) => Err(sent.err().unwrap_or_else(|| map_error(e, &ctx))),
        }
    }

    /// Run one multi-row statement; whether it matched exactly the rows it names.
    async fn exec_counted(
        &mut self,
        table: usize,
        shape: Shape,
        params: Vec<MyValue>,
        ctx: &str,
    ) -> Result<bool> {
        let rows = match shape {
            Shape::InsertRows(n) | Shape::DeleteKeys(n) => n as u64,
            _ => 1,
        };
        let stmt = self.statement(table, &shape).await?;
        self.conn
            .exec_drop(&stmt, Params::Positional(params))
            .await
            .map_err(|e| map_error(e, ctx))?;
        Ok(self.conn.affected_rows() == rows)
    }

    /// The net effect's statements: the deletes of rows that must exist, counted, then the
    /// final rows. `Ok(false)` when a statement matched fewer rows than planned.
    async fn send_net(
        &mut self,
        table: usize,
        changes: &[&Change],
        planned: &net::NetEffect,
    ) -> Result<bool> {
        let ncols = self.tables[table].cols.len();
        let nkey = self.tables[table].key.len();
        let ctx = format!("table `{}`: applying changes", self.tables[table].name);
        let deletes: Vec<&net::KeyBytes> = planned.deletes().collect();
        let mut at = 0;
        for size in net::chunk_sizes(deletes.len(), MAX_ROWS.min(MAX_PARAMS / nkey.max(1))) {
            let params: Vec<MyValue> = deletes[at..at + size]
                .iter()
                .flat_map(|k| k.iter())
                .map(|b| b.clone().map_or(MyValue::NULL, MyValue::Bytes))
                .collect();
            at += size;
            if !self
                .exec_counted(table, Shape::DeleteKeys(size), params, &ctx)
                .await?
            {
                return Ok(false);
            }
        }
        let rows: Vec<usize> = planned.inserts().collect();
        let all: Vec<usize> = (0..ncols).collect();
        at = 0;
        for size in net::chunk_sizes(rows.len(), MAX_ROWS.min(MAX_PARAMS / ncols.max(1))) {
            let mut params = Vec::with_capacity(size * ncols);
            for &i in &rows[at..at + size] {
                let after = changes[i].after.as_deref().unwrap_or_default();
                params.extend(self.params(table, after, &all)?);
            }
            at += size;
            if !self
                .exec_counted(table, Shape::InsertRows(size), params, &ctx)
                .await?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn diverged(t: &ApplyTable, change: &Change, n: u64) -> Error {
    let before = change.before.as_deref().unwrap_or_default();
    let key: Vec<(&str, Option<&Value>)> = t
        .key
        .iter()
        .map(|&i| (t.cols[i].name.as_str(), before.get(i)))
        .collect();
    ferry_core::change::diverged(&t.name, &key, change.kind, n)
}

fn placeholder(col: &WriteCol) -> &'static str {
    col.sql_wrapper().unwrap_or("?")
}

fn sql_for(t: &ApplyTable, shape: &Shape) -> String {
    let name = quote(&t.name);
    let identify = || -> String {
        if t.key.is_empty() {
            let m: Vec<String> = t
                .cols
                .iter()
                .map(|c| format!("{} <=> {}", quote(&c.name), placeholder(c)))
                .collect();
            format!("{} LIMIT 1", m.join(" AND "))
        } else {
            t.key
                .iter()
                .map(|&i| format!("{} = {}", quote(&t.cols[i].name), placeholder(&t.cols[i])))
                .collect::<Vec<_>>()
                .join(" AND ")
        }
    };
    match shape {
        Shape::Insert => {
            let cols: Vec<String> = t.cols.iter().map(|c| quote(&c.name)).collect();
            let vals: Vec<&str> = t.cols.iter().map(placeholder).collect();
            format!(
                "INSERT INTO {name} ({}) VALUES ({})",
                cols.join(", "),
                vals.join(", ")
            )
        }
        Shape::Update(unchanged) => {
            let sets: Vec<String> = t
                .cols
                .iter()
                .enumerate()
                .filter(|(i, _)| !unchanged.contains(i))
                .map(|(_, c)| format!("{} = {}", quote(&c.name), placeholder(c)))
                .collect();
            format!("UPDATE {name} SET {} WHERE {}", sets.join(", "), identify())
        }
        Shape::Delete => format!("DELETE FROM {name} WHERE {}", identify()),
        Shape::InsertRows(n) => {
            let cols: Vec<String> = t.cols.iter().map(|c| quote(&c.name)).collect();
            let vals: Vec<&str> = t.cols.iter().map(placeholder).collect();
            let row = format!("({})", vals.join(", "));
            format!(
                "INSERT INTO {name} ({}) VALUES {}",
                cols.join(", "),
                vec![row; *n].join(", ")
            )
        }
        Shape::DeleteKeys(n) => {
            let keys = if let [k] = t.key[..] {
                let c = &t.cols[k];
                format!(
                    "{} IN ({})",
                    quote(&c.name),
                    vec![placeholder(c); *n].join(", ")
                )
            } else {
                let one = t
                    .key
                    .iter()
                    .map(|&i| format!("{} = {}", quote(&t.cols[i].name), placeholder(&t.cols[i])))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                vec![format!("({one})"); *n].join(" OR ")
            };
            format!("DELETE FROM {name} WHERE {keys}")
        }
    }
}

#[async_trait]
impl ChangeWriter for MySqlChangeWriter {
    async fn recorded(&mut self) -> Result<Option<Position>> {
        let p: Option<String> = self
            .conn
            .query_first("SELECT position FROM _ferry_replication WHERE id = 1")
            .await
            .map_err(|e| map_error(e, &format!("{}: reading _ferry_replication", self.shown)))?;
        Ok(p.map(Position))
    }

    async fn apply(&mut self, changes: &[Change]) -> Result<()> {
        self.begin().await?;
        self.pending.extend_from_slice(changes);
        if self.pending.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    async fn commit(&mut self, position: &Position, commit_micros: Option<i64>) -> Result<()> {
        self.begin().await?;
        self.flush().await?;
        self.conn
            .exec_drop(RECORD, (position.0.as_str(), commit_micros))
            .await
            .map_err(|e| {
                map_error(
                    e,
                    &format!("{}: recording the replication position", self.shown),
                )
            })?;
        self.conn
            .query_drop("COMMIT")
            .await
            .map_err(|e| map_error(e, &format!("{}: committing replicated changes", self.shown)))?;
        self.open = false;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<()> {
        self.pending.clear();
        if self.open {
            self.open = false;
            self.conn
                .query_drop("ROLLBACK")
                .await
                .map_err(|e| map_error(e, &format!("{}: rolling back", self.shown)))?;
        }
        Ok(())
    }

    async fn stop_requested(&mut self) -> Result<Option<Position>> {
        let p: Option<String> = self
            .conn
            .query_first("SELECT position FROM _ferry_replication WHERE id = 2")
            .await
            .map_err(|e| map_error(e, &format!("{}: reading _ferry_replication", self.shown)))?;
        Ok(p.map(Position))
    }
}

/// Ask the running applier to stop at `at` (or withdraw the request): row 2 of the state
/// table.
pub async fn request_stop(conn: &mut Conn, shown: &str, at: Option<&Position>) -> Result<()> {
    let ctx = |e| map_error(e, &format!("{shown}: requesting the applier to stop"));
    conn.query_drop(STATE_TABLE).await.map_err(ctx)?;
    match at {
        Some(p) => conn
            .exec_drop(
                "INSERT INTO _ferry_replication (id, position, applied_at) VALUES (2, ?, UTC_TIMESTAMP(6)) \
                 ON DUPLICATE KEY UPDATE position = VALUES(position), applied_at = VALUES(applied_at)",
                (p.0.as_str(),),
            )
            .await
            .map_err(ctx),
        None => conn
            .query_drop("DELETE FROM _ferry_replication WHERE id = 2")
            .await
            .map_err(ctx),
    }
}

/// The recorded replication state, read without the applier lock.
pub async fn status(conn: &mut Conn, shown: &str) -> Result<Option<ferry_core::ReplicationStatus>> {
    let exists: Option<i64> = conn
        .query_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_ferry_replication'",
        )
        .await
        .map_err(|e| map_error(e, &format!("{shown}: reading _ferry_replication")))?;
    if exists.is_none() {
        return Ok(None);
    }
    type Row = (String, Option<String>, Option<String>, Option<f64>);
    let row: Option<Row> = conn
        .query_first(
            "SELECT position, CAST(applied_at AS CHAR), CAST(source_commit AS CHAR), \
             TIMESTAMPDIFF(MICROSECOND, source_commit, applied_at) / 1e6 \
             FROM _ferry_replication WHERE id = 1",
        )
        .await
        .map_err(|e| map_error(e, &format!("{shown}: reading _ferry_replication")))?;
    Ok(row.map(|(p, a, s, lag)| ferry_core::ReplicationStatus {
        position: Position(p),
        applied_at: a,
        source_commit: s,
        lag_seconds: lag,
    }))
}
