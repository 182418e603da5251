//! A run's progress kept in a MySQL target ([`ProgressStore`] for [`MySqlSink`]): the rows
//! of [`ferry_core::progress`] in the table [`PROGRESS_TABLE`], written with bound
//! parameters (no literal is ever spliced into the SQL).

use crate::conn::map_error;
use crate::introspect::quote;
use crate::write::MySqlSink;
use async_trait::async_trait;
use ferry_core::{
    Chunk, ChunkDone, ErrorKind, ProgressRow, ProgressStore, RecordedRun, Result, RunStart,
    StepDone, PROGRESS_TABLE,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

/// Rows per INSERT when a table's chunks are recorded.
const ROWS_PER_INSERT: usize = 500;

fn table() -> String {
    quote(PROGRESS_TABLE)
}

fn create_sql() -> String {
    format!(
        "CREATE TABLE {} (tbl varchar(191) NOT NULL, step varchar(32) NOT NULL, lo bigint NOT NULL, hi bigint NOT NULL, done smallint NOT NULL DEFAULT 0, rows_done bigint NOT NULL DEFAULT 0, info text, PRIMARY KEY (tbl, step, lo)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        table()
    )
}

fn params(row: &ProgressRow, out: &mut Vec<Value>) {
    out.extend([
        Value::from(row.tbl.as_str()),
        Value::from(row.step.as_str()),
        Value::from(row.lo),
        Value::from(row.hi),
        Value::from(i16::from(row.done)),
        Value::from(row.rows_done),
        row.info.as_deref().map_or(Value::NULL, Value::from),
    ]);
}

/// Write `rows` in multi-row INSERTs; with `again`, a row already there is marked done
/// instead (a step noted twice is noted once).
async fn insert(conn: &mut Conn, rows: &[ProgressRow], again: bool) -> Result<()> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        let tuples = vec!["(?, ?, ?, ?, ?, ?, ?)"; part.len()].join(", ");
        let mut sql = format!(
            "INSERT INTO {} (tbl, step, lo, hi, done, rows_done, info) VALUES {tuples}",
            table()
        );
        if again {
            sql.push_str(" ON DUPLICATE KEY UPDATE done = 1");
        }
        let mut values = Vec::with_capacity(part.len() * 7);
        for row in part {
            params(row, &mut values);
        }
        conn.exec_drop(sql, values)
            .await
            .map_err(|e| map_error(e, &format!("recording progress in {PROGRESS_TABLE}")))?;
    }
    Ok(())
}

async fn run(conn: &mut Conn, sql: &str, what: &str) -> Result<()> {
    match conn.query_drop(sql).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = map_error(e, what);
            Err(crate::privilege::naming_account(conn, err).await)
        }
    }
}

/// Record a chunk as loaded, inside the chunk's own transaction on `conn`.
pub(crate) async fn record_chunk(conn: &mut Conn, done: &ChunkDone) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET done = 1, rows_done = ? WHERE tbl = ? AND step = 'chunk' AND lo = ?",
        table()
    );
    let rows = i64::try_from(done.rows).unwrap_or(i64::MAX);
    conn.exec_drop(sql, (rows, done.table.as_str(), done.chunk.lo))
        .await
        .map_err(|e| map_error(e, &format!("recording a loaded chunk in {PROGRESS_TABLE}")))
}

async fn start_record(conn: &mut Conn, rows: &[ProgressRow]) -> Result<()> {
    // The engine says which table this is about; each step says what it did.
    run(
        conn,
        &format!("DROP TABLE IF EXISTS {}", table()),
        "DROP TABLE IF EXISTS",
    )
    .await?;
    run(conn, &create_sql(), "CREATE TABLE").await?;
    // MySQL's DDL commits on its own; the rows go in together.
    let what = "recording the run";
    run(conn, "START TRANSACTION", what).await?;
    insert(conn, rows, false).await?;
    run(conn, "COMMIT", what).await
}

type StoredRow = (String, String, i64, i64, i16, i64, Option<String>);

async fn read_rows(conn: &mut Conn) -> Result<Vec<StoredRow>> {
    let sql = format!(
        "SELECT tbl, step, lo, hi, done, rows_done, info FROM {}",
        table()
    );
    conn.query::<StoredRow, _>(sql)
        .await
        .map_err(|e| map_error(e, "reading ferry's progress table"))
}

async fn insert_chunks(conn: &mut Conn, rows: &[ProgressRow]) -> Result<()> {
    let what = "recording the table's chunks";
    run(conn, "START TRANSACTION", what).await?;
    insert(conn, rows, false).await?;
    run(conn, "COMMIT", what).await
}

#[async_trait]
impl ProgressStore for MySqlSink {
    async fn start(&self, start: &RunStart) -> Result<()> {
        let mut conn = self.target().connect().await?;
        let out = start_record(&mut conn, &start.rows()).await;
        drop(conn.disconnect().await);
        out
    }

    async fn load(&self) -> Result<Option<RecordedRun>> {
        let mut conn = self.target().connect().await?;
        let rows = read_rows(&mut conn).await;
        drop(conn.disconnect().await);
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        RecordedRun::from_rows(rows.into_iter().map(
            |(tbl, step, lo, hi, done, rows_done, info)| ProgressRow {
                tbl,
                step,
                lo,
                hi,
                done: done != 0,
                rows_done,
                info,
            },
        ))
    }

    async fn plan_chunks(&self, table: &str, chunks: &[Chunk]) -> Result<()> {
        let rows = ferry_core::progress::planned_chunk_rows(table, chunks);
        let mut conn = self.target().connect().await?;
        let out = insert_chunks(&mut conn, &rows).await;
        drop(conn.disconnect().await);
        out
    }

    async fn record(&self, done: &StepDone) -> Result<()> {
        let mut conn = self.target().connect().await?;
        let out = insert(&mut conn, &[done.row()], true).await;
        drop(conn.disconnect().await);
        out
    }

    async fn clear(&self) -> Result<()> {
        let mut conn = self.target().connect().await?;
        let sql = format!("DROP TABLE IF EXISTS {}", table());
        let out = run(&mut conn, &sql, "dropping ferry's progress table").await;
        drop(conn.disconnect().await);
        out
    }
}
