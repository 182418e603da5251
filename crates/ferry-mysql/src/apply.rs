//! [`MySqlChangeWriter`]: replicated changes applied to a MySQL/MariaDB target, each group
//! of source transactions in one target transaction together with the stream position it
//! reaches (table `_ferry_replication`), under a named lock (`GET_LOCK`) that keeps a second
//! applier out.
//!
//! Values are checked and rendered exactly as the copy's loader renders them
//! ([`render`](crate::types::render)) and bound as prepared-statement parameters.

use crate::conn::{map_error, Target};
use crate::introspect::quote;
use crate::types::{render, Cell, WriteCol};
use async_trait::async_trait;
use ferry_core::{
    Change, ChangeKind, ChangeWriter, Error, ErrorKind, Position, ReplicatedTable, Result, Value,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Statement, Value as MyValue};
use std::collections::HashMap;

const TARGET_COLUMNS: &str = include_str!("sql/target_columns.sql");

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
}

/// Applies replicated changes to MySQL or MariaDB.
pub struct MySqlChangeWriter {
    conn: Conn,
    shown: String,
    tables: Vec<ApplyTable>,
    statements: HashMap<(usize, Shape), Statement>,
    open: bool,
    buf: Vec<u8>,
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
        for c in changes {
            self.apply_one(c).await?;
        }
        Ok(())
    }

    async fn commit(&mut self, position: &Position, commit_micros: Option<i64>) -> Result<()> {
        self.begin().await?;
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
