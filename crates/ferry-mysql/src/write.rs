//! [`MySqlSink`]: DDL, and a table writer that loads rows with `LOAD DATA LOCAL INFILE`
//! fed from memory (one statement per batch) when the server allows
//! it, else with multi-row INSERTs.
//!
//! Each writer loads through its own session with `foreign_key_checks = 0` (keys and
//! indexes come after the load), inside one transaction that
//! [`TableWriter::finish`] commits together with the caller's record — a writer dropped
//! before that leaves the table as it was. One statement per batch: the AUTO-INC lock that
//! `LOAD DATA` into an AUTO_INCREMENT table holds to the end of its statement
//! (`innodb_autoinc_lock_mode = 1`) is held for one batch, not a whole chunk, so two
//! chunks of a table load side by side. Each value is checked against the target column
//! (read from the target's catalog) before it is sent, so a bad value is reported by
//! table, column and key.

use crate::conn::{exec_one, map_error, Target};
use crate::introspect::quote;
use crate::types::{escape_into, render, Cell, WriteCol};
use async_trait::async_trait;
use bytes::Bytes;
use ferry_core::url::ConnUrl;
use ferry_core::{
    Batch, Dialect, Error, ErrorKind, Locator, RejectedRow, Result, Sink, Table, TableWriter,
    WriteOutcome,
};
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

const TARGET_COLUMNS: &str = include_str!("sql/target_columns.sql");
/// MySQL's limit on placeholders in one prepared statement.
const MAX_PLACEHOLDERS: usize = 65_535;

/// How rows are loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadMethod {
    /// `LOAD DATA LOCAL INFILE` when the server's `local_infile` is on, else INSERT.
    #[default]
    Auto,
    /// Always `LOAD DATA LOCAL INFILE` (fails clearly when the server refuses it).
    Infile,
    /// Always multi-row INSERT.
    Insert,
}

impl LoadMethod {
    /// Parse `auto`, `infile` or `insert` (the `--mysql-load` flag).
    pub fn parse(text: &str) -> Option<LoadMethod> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Some(LoadMethod::Auto),
            "infile" | "load-data" => Some(LoadMethod::Infile),
            "insert" => Some(LoadMethod::Insert),
            _ => None,
        }
    }
}

/// A MySQL or MariaDB database to write to.
pub struct MySqlSink {
    target: Target,
    infile: bool,
    max_packet: usize,
}

impl MySqlSink {
    /// Connect once (so bad credentials fail at once), read `local_infile` and
    /// `max_allowed_packet`, and choose the load method.
    pub async fn open(url: &ConnUrl, method: LoadMethod) -> Result<MySqlSink> {
        let target = Target::from_url(url)?;
        let mut conn = target.connect().await?;
        let row: Option<(Option<i64>, Option<u64>)> = conn
            .query_first("SELECT @@GLOBAL.local_infile, @@max_allowed_packet")
            .await
            .map_err(|e| map_error(e, &format!("{}: reading server settings", target.shown)))?;
        drop(conn.disconnect().await);
        let (infile_on, max_packet) = row.unwrap_or((Some(0), Some(4 << 20)));
        let server_infile = infile_on.unwrap_or(0) == 1;
        let infile =
            match method {
                LoadMethod::Auto => server_infile,
                LoadMethod::Insert => false,
                LoadMethod::Infile if server_infile => true,
                LoadMethod::Infile => {
                    return Err(Error::config(format!(
                        "{}: --mysql-load infile, but the server has local_infile=0; use --mysql-load insert or enable local_infile",
                        target.shown
                    ))
                    .with_fix(
                        "SET GLOBAL local_infile = 1;  -- on RDS/Aurora: local_infile = 1 in \
                         the DB parameter group",
                    ))
                }
            };
        Ok(MySqlSink {
            target,
            infile,
            max_packet: max_packet.unwrap_or(4 << 20) as usize,
        })
    }

    /// Run one query (one statement only) and return its rows as text (`None` for NULL).
    pub async fn query_text(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut conn = self.target.connect().await?;
        // The binary protocol runs one statement only (see exec_one).
        let stmt = conn.prep(sql).await.map_err(|e| statement_error(e, sql))?;
        let rows: Vec<mysql_async::Row> = conn
            .exec(&stmt, ())
            .await
            .map_err(|e| statement_error(e, sql))?;
        let _ = conn.close(stmt).await;
        drop(conn.disconnect().await);
        Ok(rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => {
                            Some(String::from_utf8_lossy(&b).into_owned())
                        }
                        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
                    })
                    .collect()
            })
            .collect())
    }

    /// Where and how this sink connects.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Whether writers use `LOAD DATA LOCAL INFILE` (else multi-row INSERT).
    pub fn uses_infile(&self) -> bool {
        self.infile
    }

    async fn session(&self) -> Result<Conn> {
        let mut conn = self.target.connect().await?;
        // unique_checks stays on: with both checks off, MariaDB 10.6+ loads into an empty
        // table in bulk mode under a table lock held to the transaction's end, so the chunk
        // lanes of one table waited on each other (until the lock wait timeout, or a
        // deadlock). Secondary indexes are built after the load, so it bought nothing else.
        conn.query_drop("SET foreign_key_checks = 0")
            .await
            .map_err(|e| map_error(e, &format!("{}: bulk-load settings", self.target.shown)))?;
        Ok(conn)
    }
}

#[async_trait]
impl Sink for MySqlSink {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn connection_warning(&self) -> Option<String> {
        self.target.connection_warning()
    }

    async fn missing_privileges(
        &self,
        needs: &ferry_core::TargetNeeds,
    ) -> Result<Vec<ferry_core::Error>> {
        crate::access::missing_privileges(&self.target, needs, self.infile).await
    }

    fn load_method(&self) -> String {
        if self.infile {
            "LOAD DATA LOCAL INFILE".to_string()
        } else {
            "multi-row INSERT (local_infile is off, or --mysql-load insert)".to_string()
        }
    }

    async fn existing_tables(&self, tables: &[Table]) -> Result<Vec<String>> {
        let mut conn = self.target.connect().await?;
        let names: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
                (),
            )
            .await
            .map_err(|e| map_error(e, &format!("{}: listing tables", self.target.shown)))?;
        drop(conn.disconnect().await);
        Ok(tables
            .iter()
            .filter(|t| names.iter().any(|n| n.eq_ignore_ascii_case(&t.name)))
            .map(|t| t.name.clone())
            .collect())
    }

    async fn existing_objects(
        &self,
        objects: &[ferry_core::DbObject],
    ) -> Result<Vec<ferry_core::DbObject>> {
        let mut conn = self.target.connect().await?;
        let found = crate::objects::existing(&mut conn, objects).await;
        drop(conn.disconnect().await);
        found
    }

    async fn drop_objects(&self, objects: &[ferry_core::DbObject]) -> Result<()> {
        let mut conn = self.session().await?;
        let dropped = crate::objects::drop(&mut conn, objects).await;
        drop(conn.disconnect().await);
        dropped
    }

    async fn execute(&self, statements: &[String]) -> Result<()> {
        let mut conn = self.session().await?;
        for sql in statements {
            if let Err(e) = exec_one(&mut conn, sql).await {
                let err = statement_error(e, sql);
                return Err(crate::privilege::naming_account(&mut conn, err).await);
            }
        }
        drop(conn.disconnect().await);
        Ok(())
    }

    async fn open_writer(
        &self,
        table: &Table,
        reject_bad_rows: bool,
    ) -> Result<Box<dyn TableWriter>> {
        let name = table.name.clone();
        let mut conn = self.session().await?;
        let rows: Vec<(String, String, String, String)> = conn
            .exec(TARGET_COLUMNS, (&name,))
            .await
            .map_err(|e| map_error(e, &format!("reading the columns of `{name}`")))?;
        conn.query_drop("START TRANSACTION")
            .await
            .map_err(|e| map_error(e, &format!("loading `{name}`")))?;
        let mut writer = MySqlWriter {
            table: name.clone(),
            cols: Vec::new(),
            key: Vec::new(),
            reject: reject_bad_rows,
            written: 0,
            rows_seen: 0,
            infile: self.infile,
            max_packet: self.max_packet,
            load_sql: String::new(),
            conn,
            buf: Vec::new(),
        };
        let cols = write_cols(table, &rows)?;
        writer.key = table
            .row_key()
            .into_iter()
            .filter_map(|k| cols.iter().position(|c| c.name == k).map(|i| (i, k)))
            .collect();
        writer.load_sql = load_data_sql(&name, &cols);
        writer.cols = cols;
        Ok(Box::new(writer))
    }

    fn progress(&self) -> &dyn ferry_core::ProgressStore {
        self
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        let mut conn = self.target.connect().await?;
        let n: Option<u64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {}", quote(&table.name)))
            .await
            .map_err(|e| map_error(e, &format!("counting rows of `{}`", table.name)))?;
        drop(conn.disconnect().await);
        Ok(n.unwrap_or(0))
    }

    async fn open_change_writer(
        &self,
        tables: &[ferry_core::ReplicatedTable],
    ) -> Result<Box<dyn ferry_core::ChangeWriter>> {
        Ok(Box::new(
            crate::apply::MySqlChangeWriter::open(&self.target, tables).await?,
        ))
    }

    async fn request_stop(&self, at: Option<&ferry_core::Position>) -> Result<()> {
        let mut conn = self.target.connect().await?;
        let done = crate::apply::request_stop(&mut conn, &self.target.shown, at).await;
        drop(conn.disconnect().await);
        done
    }

    async fn replication_status(&self) -> Result<Option<ferry_core::ReplicationStatus>> {
        let mut conn = self.target.connect().await?;
        let status = crate::apply::status(&mut conn, &self.target.shown).await;
        drop(conn.disconnect().await);
        status
    }
}

/// A failed DDL statement; the foreign-key check statements of ferry-schema fail with
/// error 1172 (two rows selected into one variable) exactly when a row references a
/// missing parent (the caller names the key).
fn statement_error(e: mysql_async::Error, sql: &str) -> Error {
    if let mysql_async::Error::Server(s) = &e {
        if s.code == 1172 && sql.starts_with(ferry_schema::target::mysql::VALIDATE_FK_MARK) {
            return Error::data("some rows reference rows that do not exist in the parent table");
        }
    }
    let head: String = sql.chars().take(120).collect();
    map_error(e, &format!("running `{head}`"))
}

fn load_data_sql(table: &str, cols: &[WriteCol]) -> String {
    let mut targets = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        match c.sql_wrapper() {
            Some(wrapper) => {
                let var = format!("@v{i}");
                targets.push(var.clone());
                sets.push(format!(
                    "{} = {}",
                    quote(&c.name),
                    wrapper.replace('?', &var)
                ));
            }
            None => targets.push(quote(&c.name)),
        }
    }
    let mut sql = format!(
        "LOAD DATA LOCAL INFILE 'ferry-stream' INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        quote(table),
        targets.join(", ")
    );
    if !sets.is_empty() {
        sql.push_str(" SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// Bytes of LOAD DATA input handed to the driver at a time. The driver copies each piece
/// into a packet buffer (and keeps up to 128 such buffers pooled for the life of the
/// process), so the pieces stay small whatever the batch size.
const INFILE_PIECE: usize = 256 << 10;

/// Loads one table (see the module documentation).
pub struct MySqlWriter {
    table: String,
    cols: Vec<WriteCol>,
    key: Vec<(usize, String)>,
    reject: bool,
    written: u64,
    rows_seen: u64,
    /// One `LOAD DATA LOCAL INFILE` statement per batch (else multi-row INSERTs).
    infile: bool,
    max_packet: usize,
    load_sql: String,
    /// The writer's session, inside its transaction.
    conn: Conn,
    buf: Vec<u8>,
}

impl MySqlWriter {
    fn locator(&self, batch: &Batch, i: usize) -> Locator {
        let key: Vec<(usize, &str)> = self.key.iter().map(|(i, n)| (*i, n.as_str())).collect();
        batch.locator(i, &key, self.rows_seen)
    }

    fn bad(&self, batch: &Batch, i: usize, col: usize, why: String) -> Result<RejectedRow> {
        let row = batch.row(i);
        let locator = self.locator(batch, i);
        let column = self.cols[col].name.clone();
        if !self.reject {
            return Err(Error::data(format!(
                "table `{}`, column `{column}`, {locator}: {why}",
                self.table
            )));
        }
        Ok(RejectedRow {
            locator,
            column,
            reason: why,
            values: row.to_vec(),
        })
    }

    async fn write_infile(&mut self, batch: &Batch) -> Result<WriteOutcome> {
        let mut out = Vec::with_capacity(batch.bytes + batch.rows() * self.cols.len() * 2);
        let mut outcome = WriteOutcome::default();
        let mut buf = std::mem::take(&mut self.buf);
        for i in 0..batch.rows() {
            let row = batch.row(i);
            let start = out.len();
            let mut failed = None;
            for (j, (v, col)) in row.iter().zip(&self.cols).enumerate() {
                if j > 0 {
                    out.push(b'\t');
                }
                match render(v, col, &mut buf) {
                    Ok(Cell::Null) => out.extend_from_slice(b"\\N"),
                    Ok(Cell::Data) => escape_into(&buf, &mut out),
                    Err(why) => {
                        failed = Some((j, why));
                        break;
                    }
                }
            }
            match failed {
                None => {
                    out.push(b'\n');
                    outcome.written += 1;
                }
                Some((j, why)) => {
                    out.truncate(start);
                    let r = self.bad(batch, i, j, why);
                    self.buf = std::mem::take(&mut buf);
                    outcome.rejected.push(r?);
                }
            }
        }
        self.buf = buf;
        if outcome.written == 0 {
            return Ok(outcome);
        }
        let data = Bytes::from(out);
        let conn = &mut self.conn;
        conn.set_infile_handler(async move {
            let pieces: Vec<_> = (0..data.len())
                .step_by(INFILE_PIECE)
                .map(|at| Ok(data.slice(at..(at + INFILE_PIECE).min(data.len()))))
                .collect();
            Ok(futures::stream::iter(pieces).boxed())
        });
        conn.query_drop(self.load_sql.as_str())
            .await
            .map_err(|e| map_error(e, &format!("loading `{}`", self.table)))?;
        let stored = conn.affected_rows();
        if stored != outcome.written {
            return Err(Error::data(format!(
                "loading `{}`: the server stored {stored} rows of {} sent",
                self.table, outcome.written
            )));
        }
        Ok(outcome)
    }

    async fn write_insert(&mut self, batch: &Batch) -> Result<WriteOutcome> {
        let width = self.cols.len().max(1);
        let mut outcome = WriteOutcome::default();
        let mut params: Vec<mysql_async::Value> = Vec::new();
        let mut rows_in_stmt = 0usize;
        let mut bytes_in_stmt = 0usize;
        let max_packet = self.max_packet;
        let budget = (max_packet / 2).max(64 << 10);
        let mut buf = std::mem::take(&mut self.buf);
        for i in 0..batch.rows() {
            let row = batch.row(i);
            let mut cells = Vec::with_capacity(width);
            let mut failed = None;
            let mut row_bytes = 0;
            for (j, (v, col)) in row.iter().zip(&self.cols).enumerate() {
                match render(v, col, &mut buf) {
                    Ok(Cell::Null) => cells.push(mysql_async::Value::NULL),
                    Ok(Cell::Data) => {
                        row_bytes += buf.len() + 9;
                        cells.push(mysql_async::Value::Bytes(buf.clone()));
                    }
                    Err(why) => {
                        failed = Some((j, why));
                        break;
                    }
                }
            }
            if let Some((j, why)) = failed {
                let r = self.bad(batch, i, j, why);
                self.buf = std::mem::take(&mut buf);
                outcome.rejected.push(r?);
                continue;
            }
            if rows_in_stmt > 0
                && ((rows_in_stmt + 1) * width > MAX_PLACEHOLDERS
                    || bytes_in_stmt + row_bytes > budget)
            {
                self.flush_insert(rows_in_stmt, std::mem::take(&mut params))
                    .await?;
                rows_in_stmt = 0;
                bytes_in_stmt = 0;
            }
            params.extend(cells);
            rows_in_stmt += 1;
            bytes_in_stmt += row_bytes;
            outcome.written += 1;
        }
        self.buf = buf;
        if rows_in_stmt > 0 {
            self.flush_insert(rows_in_stmt, params).await?;
        }
        Ok(outcome)
    }

    async fn flush_insert(&mut self, rows: usize, params: Vec<mysql_async::Value>) -> Result<()> {
        let one: Vec<&str> = self
            .cols
            .iter()
            .map(|c| c.sql_wrapper().unwrap_or("?"))
            .collect();
        let tuple = format!("({})", one.join(", "));
        let names: Vec<String> = self.cols.iter().map(|c| quote(&c.name)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            quote(&self.table),
            names.join(", ")
        );
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&tuple);
        }
        let table = self.table.clone();
        self.conn
            .exec_drop(sql, params)
            .await
            .map_err(|e| map_error(e, &format!("loading `{table}`")))
    }
}

#[async_trait]
impl TableWriter for MySqlWriter {
    async fn write(&mut self, batch: Batch) -> Result<WriteOutcome> {
        if batch.rows() == 0 {
            return Ok(WriteOutcome::default());
        }
        if batch.raw.is_some() {
            return Err(Error::other(
                "the MySQL writer takes decoded rows, not raw chunks",
            ));
        }
        let outcome = if self.infile {
            self.write_infile(&batch).await?
        } else {
            self.write_insert(&batch).await?
        };
        self.rows_seen += batch.rows() as u64;
        self.written += outcome.written;
        Ok(outcome)
    }

    async fn finish(self: Box<Self>, done: Option<&ferry_core::ChunkDone>) -> Result<u64> {
        let MySqlWriter {
            table,
            written,
            mut conn,
            ..
        } = *self;
        if let Some(done) = done {
            crate::progress::record_chunk(&mut conn, done).await?;
        }
        exec_one(&mut conn, "COMMIT")
            .await
            .map_err(|e| map_error(e, &format!("committing `{table}`")))?;
        drop(conn.disconnect().await);
        Ok(written)
    }
}

/// `table`'s copied columns as the target server created them (rows of
/// `sql/target_columns.sql`), in the table's order.
pub(crate) fn write_cols(
    table: &Table,
    rows: &[(String, String, String, String)],
) -> Result<Vec<WriteCol>> {
    table
        .copied_columns()
        .map(|c| {
            let (n, ty, nullable, extra) = rows
                .iter()
                .find(|r| r.0.eq_ignore_ascii_case(&c.name))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "table `{}` has no column `{}` in the target",
                            table.name, c.name
                        ),
                    )
                })?;
            Ok(WriteCol::new(n.clone(), ty, nullable == "YES", extra))
        })
        .collect()
}
