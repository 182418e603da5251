//! A run's progress kept in a PostgreSQL target ([`ProgressStore`] for [`PgSink`]): the
//! rows of [`ferry_core::progress`] in the table [`PROGRESS_TABLE`], written with bound
//! parameters (no literal is ever spliced into the SQL).

use crate::conn::map_error;
use crate::write::PgSink;
use async_trait::async_trait;
use ferry_core::{
    Chunk, ChunkDone, ErrorKind, ProgressRow, ProgressStore, RecordedRun, Result, RunStart,
    StepDone, PROGRESS_TABLE,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

fn create_sql() -> String {
    format!(
        "CREATE TABLE {} (tbl text NOT NULL, step text NOT NULL, lo bigint NOT NULL, hi bigint NOT NULL, done smallint NOT NULL DEFAULT 0, rows_done bigint NOT NULL DEFAULT 0, info text, PRIMARY KEY (tbl, step, lo))",
        table()
    )
}

fn table() -> String {
    ferry_schema::quote::pg_ident(PROGRESS_TABLE)
}

fn insert_sql() -> String {
    format!(
        "INSERT INTO {} (tbl, step, lo, hi, done, rows_done, info) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        table()
    )
}

/// Write `row`; with `again`, a row already there is marked done instead (a step noted
/// twice is noted once).
async fn insert(client: &impl GenericClient, row: &ProgressRow, again: bool) -> Result<()> {
    let mut sql = insert_sql();
    if again {
        sql.push_str(" ON CONFLICT (tbl, step, lo) DO UPDATE SET done = 1");
    }
    let done = i16::from(row.done);
    let params: [&(dyn ToSql + Sync); 7] = [
        &row.tbl,
        &row.step,
        &row.lo,
        &row.hi,
        &done,
        &row.rows_done,
        &row.info,
    ];
    client
        .execute(&sql, &params)
        .await
        .map(|_| ())
        .map_err(|e| map_error(e).context(format!("recording progress in {PROGRESS_TABLE}")))
}

/// Record `done`, inside whatever transaction `client` is in.
pub(crate) async fn record_step(client: &impl GenericClient, done: &StepDone) -> Result<()> {
    insert(client, &done.row(), true).await
}

/// Record a chunk as loaded, inside the chunk's own transaction.
pub(crate) async fn record_chunk(client: &impl GenericClient, done: &ChunkDone) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET done = 1, rows_done = $1 WHERE tbl = $2 AND step = 'chunk' AND lo = $3",
        table()
    );
    let rows = i64::try_from(done.rows).unwrap_or(i64::MAX);
    client
        .execute(&sql, &[&rows, &done.table, &done.chunk.lo])
        .await
        .map(|_| ())
        .map_err(|e| map_error(e).context(format!("recording a loaded chunk in {PROGRESS_TABLE}")))
}

#[async_trait]
impl ProgressStore for PgSink {
    async fn start(&self, run: &RunStart) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_error)?;
        let role = self.role();
        let fail = |e| map_error(e).naming_user(&role);
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", table()))
            .await
            .map_err(fail)?;
        tx.batch_execute(&create_sql()).await.map_err(fail)?;
        for row in run.rows() {
            insert(&tx, &row, false).await?;
        }
        tx.commit().await.map_err(fail)
    }

    async fn load(&self) -> Result<Option<RecordedRun>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT tbl, step, lo, hi, done, rows_done, info FROM {}",
            table()
        );
        let rows = match client.query(&sql, &[]).await.map_err(map_error) {
            Ok(rows) => rows,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.context("reading ferry's progress table")),
        };
        RecordedRun::from_rows(rows.iter().map(|r| ProgressRow {
            tbl: r.get(0),
            step: r.get(1),
            lo: r.get(2),
            hi: r.get(3),
            done: r.get::<_, i16>(4) != 0,
            rows_done: r.get(5),
            info: r.get(6),
        }))
    }

    async fn plan_chunks(&self, table: &str, chunks: &[Chunk]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_error)?;
        // Sent together: the client pipelines them in one round trip.
        let rows = ferry_core::progress::planned_chunk_rows(table, chunks);
        futures::future::try_join_all(rows.iter().map(|row| insert(&tx, row, false))).await?;
        tx.commit()
            .await
            .map_err(|e| map_error(e).context("recording the table's chunks"))
    }

    async fn record(&self, done: &StepDone) -> Result<()> {
        record_step(&self.client().await?, done).await
    }

    async fn clear(&self) -> Result<()> {
        self.client()
            .await?
            .batch_execute(&format!("DROP TABLE IF EXISTS {}", table()))
            .await
            .map_err(|e| map_error(e).context("dropping ferry's progress table"))
    }
}
