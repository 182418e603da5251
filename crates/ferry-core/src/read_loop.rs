//! [`RowLoop`]: the row-emitting loop every reader shares.
//!
//! A reader walks its cursor and, for each source row, hands [`RowLoop::row`] (or
//! [`RowLoop::row_blocking`] on a blocking thread) a closure that decodes the row's values
//! into a [`RowOut`]. The loop does the rest, the same way for every source:
//!
//! - a row that decoded goes into the batch being built;
//! - a row with a bad value either stops the read with an error naming table, column and
//!   [`Locator`], or (reject mode) goes whole into the batch's rejects;
//! - a full batch acquires its share of the run's [`MemoryBudget`] and is sent; a closed
//!   channel (the writer stopped) ends the read as cancelled.
//!
//! [`RowLoop::finish`] sends the last batch and returns the [`ReadStats`].

use crate::batch::{Batch, BatchBuilder, Locator, RejectedRow};
use crate::budget::MemoryBudget;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::Table;
use crate::source::{BatchSender, ReadOptions, ReadStats};
use crate::value::Value;
use bytes::Bytes;

/// A row that could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// Position of the bad value among the copied columns.
    pub column: usize,
    /// Why, without the value itself.
    pub reason: String,
    /// The row's values in copied-column order, as close to the source as can be shown
    /// (they name the row by its key and go into the reject file).
    pub values: Vec<Value>,
}

/// Where a reader puts the decoded values of one row.
pub struct RowOut<'a> {
    builder: &'a mut BatchBuilder,
    row_id: &'a mut Option<i64>,
}

impl RowOut<'_> {
    /// Append the next value of the row.
    #[inline]
    pub fn push(&mut self, value: Value) {
        self.builder.push(value);
    }

    /// The values pushed so far for this row (to show a row whose later value is bad).
    pub fn pushed(&self) -> &[Value] {
        self.builder.partial_row()
    }

    /// The source's own id of the row (SQLite's rowid); it names the row in messages.
    pub fn row_id(&mut self, id: i64) {
        *self.row_id = Some(id);
    }
}

/// The shared read loop of one table (see the module documentation).
pub struct RowLoop {
    table: String,
    columns: Vec<String>,
    /// Positions of the row key's columns among the copied columns.
    key: Vec<(usize, String)>,
    reject_bad_rows: bool,
    max_rows: usize,
    max_bytes: usize,
    budget: Option<MemoryBudget>,
    /// Counts this reader's batches in flight (see [`MemoryBudget::acquire_for`]).
    lane: std::sync::Arc<()>,
    builder: BatchBuilder,
    stats: ReadStats,
    tx: BatchSender,
}

impl RowLoop {
    /// A loop reading `table`'s copied columns under `options`, sending into `tx`.
    pub fn new(table: &Table, options: &ReadOptions, tx: BatchSender) -> RowLoop {
        let columns: Vec<String> = table.copied_columns().map(|c| c.name.clone()).collect();
        let key = table
            .row_key()
            .into_iter()
            .filter_map(|k| columns.iter().position(|c| *c == k).map(|i| (i, k)))
            .collect();
        RowLoop {
            table: table.display_name(),
            builder: BatchBuilder::new(columns.len(), options.limits),
            columns,
            key,
            reject_bad_rows: options.reject_bad_rows,
            max_rows: options.limits.max_rows,
            max_bytes: options.limits.max_bytes,
            budget: options.budget.clone(),
            lane: std::sync::Arc::new(()),
            stats: ReadStats::default(),
            tx,
        }
    }

    /// The table's name as users see it.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Rows read so far (rejected ones included).
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// Decode one source row with `decode`, keep or reject it, and send the batch when full.
    pub async fn row(
        &mut self,
        decode: impl FnOnce(&mut RowOut<'_>) -> std::result::Result<(), BadRow>,
    ) -> Result<()> {
        if let Some(batch) = self.take_row(decode)? {
            self.send(batch).await?;
        }
        Ok(())
    }

    /// [`RowLoop::row`] for a reader on a blocking thread.
    pub fn row_blocking(
        &mut self,
        decode: impl FnOnce(&mut RowOut<'_>) -> std::result::Result<(), BadRow>,
    ) -> Result<()> {
        if let Some(batch) = self.take_row(decode)? {
            self.send_blocking(batch)?;
        }
        Ok(())
    }

    /// Send a chunk already in the sink's wire format (the PostgreSQL -> PostgreSQL fast
    /// path) holding `rows` rows.
    pub async fn raw(&mut self, chunk: Bytes, rows: u64) -> Result<()> {
        self.stats.rows_read += rows;
        let batch = Batch {
            width: self.columns.len(),
            bytes: chunk.len(),
            raw: Some(chunk),
            raw_rows: rows,
            ..Batch::default()
        };
        self.send(batch).await
    }

    /// Whether a raw chunk of `rows` rows and `bytes` bytes reached the batch limits.
    pub fn raw_is_full(&self, rows: u64, bytes: usize) -> bool {
        rows as usize >= self.max_rows || bytes >= self.max_bytes
    }

    /// Send what is left and return the stats.
    pub async fn finish(mut self) -> Result<ReadStats> {
        if !self.builder.is_empty() {
            let batch = self.builder.take();
            self.send(batch).await?;
        }
        Ok(self.stats)
    }

    /// [`RowLoop::finish`] for a reader on a blocking thread.
    pub fn finish_blocking(mut self) -> Result<ReadStats> {
        if !self.builder.is_empty() {
            let batch = self.builder.take();
            self.send_blocking(batch)?;
        }
        Ok(self.stats)
    }

    /// Decode one row into the builder; the batch to send when it became full.
    fn take_row(
        &mut self,
        decode: impl FnOnce(&mut RowOut<'_>) -> std::result::Result<(), BadRow>,
    ) -> Result<Option<Batch>> {
        self.stats.rows_read += 1;
        let mut row_id = None;
        let decoded = decode(&mut RowOut {
            builder: &mut self.builder,
            row_id: &mut row_id,
        });
        match decoded {
            Ok(()) => {
                if let Some(id) = row_id {
                    self.builder.push_row_id(id);
                }
            }
            Err(bad) => {
                self.builder.discard_partial_row();
                self.bad_row(row_id, bad)?;
            }
        }
        Ok(self.builder.is_full().then(|| self.builder.take()))
    }

    /// Stop on a bad row, or keep it among the rejects.
    fn bad_row(&mut self, row_id: Option<i64>, bad: BadRow) -> Result<()> {
        let key: Vec<(usize, &str)> = self.key.iter().map(|(i, n)| (*i, n.as_str())).collect();
        let locator = Locator::of_row(
            row_id,
            &key,
            &bad.values,
            Some(bad.column),
            self.stats.rows_read,
        );
        let column = self
            .columns
            .get(bad.column)
            .cloned()
            .unwrap_or_else(|| "?".into());
        if !self.reject_bad_rows {
            return Err(Error::data(format!(
                "table `{}`, column `{column}`, {locator}: {}",
                self.table, bad.reason
            )));
        }
        self.stats.rows_rejected += 1;
        self.builder.reject(RejectedRow {
            locator,
            column,
            reason: bad.reason,
            values: bad.values,
        });
        Ok(())
    }

    fn cancelled(&self) -> Error {
        Error::new(
            ErrorKind::Cancelled,
            format!("reading `{}` stopped: the writer is gone", self.table),
        )
    }

    async fn send(&mut self, mut batch: Batch) -> Result<()> {
        if let Some(budget) = &self.budget {
            batch.permit = Some(budget.acquire_for(batch.held_bytes(), &self.lane).await?);
        }
        self.tx.send(batch).await.map_err(|_| self.cancelled())
    }

    fn send_blocking(&mut self, mut batch: Batch) -> Result<()> {
        if let Some(budget) = &self.budget {
            batch.permit = Some(budget.acquire_for_blocking(batch.held_bytes(), &self.lane)?);
        }
        self.tx.blocking_send(batch).map_err(|_| self.cancelled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchLimits;
    use crate::schema::{Column, DataType};

    fn table() -> Table {
        let mut t = Table::new("t");
        t.columns
            .push(Column::new("id", "INTEGER", DataType::Int64));
        t.columns.push(Column::new("v", "TEXT", DataType::Text));
        t.primary_key = vec!["id".into()];
        t
    }

    fn options(reject: bool, budget: Option<MemoryBudget>) -> ReadOptions {
        ReadOptions {
            limits: BatchLimits {
                max_rows: 2,
                max_bytes: 1 << 20,
            },
            reject_bad_rows: reject,
            budget,
            ..ReadOptions::default()
        }
    }

    fn good(id: i64) -> impl FnOnce(&mut RowOut<'_>) -> std::result::Result<(), BadRow> {
        move |out| {
            out.push(Value::Int(id));
            out.push(Value::Text(format!("v{id}")));
            Ok(())
        }
    }

    fn bad(id: i64) -> impl FnOnce(&mut RowOut<'_>) -> std::result::Result<(), BadRow> {
        move |out| {
            out.push(Value::Int(id));
            Err(BadRow {
                column: 1,
                reason: "not text".into(),
                values: vec![Value::Int(id), Value::Bytes(vec![0xff])],
            })
        }
    }

    #[tokio::test]
    async fn full_batches_are_sent_and_bad_rows_rejected_by_key() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let mut rows = RowLoop::new(&table(), &options(true, None), tx);
        rows.row(good(1)).await.expect("ok");
        rows.row(bad(2)).await.expect("ok");
        rows.row(good(3)).await.expect("ok");
        let stats = rows.finish().await.expect("ok");
        assert_eq!(stats.rows_read, 3);
        assert_eq!(stats.rows_rejected, 1);
        let first = rx.recv().await.expect("ok");
        assert_eq!(
            first.rows(),
            2,
            "the reject does not count towards max_rows"
        );
        assert_eq!(first.rejects.len(), 1);
        assert_eq!(first.rejects[0].locator, "id=2");
        assert_eq!(first.rejects[0].column, "v");
        assert!(rx.recv().await.is_none(), "finish sent everything");
    }

    #[tokio::test]
    async fn stop_mode_names_table_column_and_row() {
        let (tx, _rx) = tokio::sync::mpsc::channel(8);
        let mut rows = RowLoop::new(&table(), &options(false, None), tx);
        rows.row(good(1)).await.expect("ok");
        let err = rows.row(bad(7)).await.expect_err("fails");
        assert_eq!(err.message(), "table `t`, column `v`, id=7: not text");
        let mut no_key = table();
        no_key.primary_key.clear();
        let (tx, _rx) = tokio::sync::mpsc::channel(8);
        let mut rows = RowLoop::new(&no_key, &options(false, None), tx);
        rows.row(good(1)).await.expect("ok");
        let err = rows
            .row(|out| {
                out.row_id(41);
                Err(BadRow {
                    column: 0,
                    reason: "bad".into(),
                    values: vec![Value::Null, Value::Null],
                })
            })
            .await
            .expect_err("fails");
        assert!(
            err.message().contains("column `id`, rowid 41: bad"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_closed_channel_cancels_the_read() {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        drop(rx);
        let mut rows = RowLoop::new(&table(), &options(false, None), tx);
        rows.row(good(1)).await.expect("ok");
        let err = rows.row(good(2)).await.expect_err("fails");
        assert_eq!(err.kind(), ErrorKind::Cancelled);
    }

    #[tokio::test]
    async fn sent_batches_hold_the_budget_until_dropped() {
        let budget = MemoryBudget::new(1 << 20);
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let mut rows = RowLoop::new(&table(), &options(false, Some(budget.clone())), tx);
        for id in 0..4 {
            rows.row(good(id)).await.expect("ok");
        }
        let one = rx.recv().await.expect("ok");
        let two = rx.recv().await.expect("ok");
        let held = one.held_bytes() + two.held_bytes();
        assert_eq!(budget.available(), (1 << 20) - held);
        drop((one, two));
        assert_eq!(budget.available(), 1 << 20);
    }

    #[tokio::test]
    async fn a_budget_smaller_than_one_batch_still_moves_every_row() {
        let budget = MemoryBudget::new(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let reader = tokio::spawn(async move {
            let mut rows = RowLoop::new(&table(), &options(false, Some(budget)), tx);
            for id in 0..1_000 {
                rows.row(good(id)).await?;
            }
            rows.finish().await
        });
        let mut seen = Vec::new();
        while let Some(batch) = rx.recv().await {
            seen.extend(batch.iter_rows().map(|r| r[0].clone()));
        }
        assert_eq!(reader.await.expect("ok").expect("ok").rows_read, 1_000);
        assert_eq!(seen, (0..1_000).map(Value::Int).collect::<Vec<_>>());
    }
}
