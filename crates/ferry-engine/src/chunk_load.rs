//! Loading one table: its key-range chunks ([`crate::chunking`]), [`LANES`] at a time,
//! each through its own reader and writer and committed with its record, each tried again
//! after a transient failure while the others go on.

use crate::copy::CopyRun;
use crate::dialect_pair::DialectPair;
use crate::events::Event;
use crate::migrate::OnError;
use crate::progress::Chunk;
use crate::reject::{RejectFile, RejectPart};
use crate::report::TableReport;
use ferry_core::{ChunkDone, Error, ErrorKind, ReadOptions, Result, TableWriter};
use ferry_schema::TablePlan;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Chunks of one table loaded at the same time, each with its own reader and writer, so a
/// big table's load keeps both a reader and a COPY session busy. A table bigger than
/// `--chunk-rows` is cut into pieces of `chunk_rows / LANES` rows, so the rows of a table
/// that are loaded but not yet committed never pass `--chunk-rows`: that is all a resume
/// can have to repeat.
pub const LANES: usize = 2;

/// How often a chunk's copy is tried again after a transient failure (a dropped
/// connection, a server restart, a deadlock), with 1, 2 and 4 seconds between tries.
const COPY_RETRIES: u32 = 3;

/// Errors worth another try of a chunk: transient ones, and connection refusals while a
/// restarting server comes back.
fn is_retryable(e: &Error) -> bool {
    e.kind().is_retryable() || e.kind() == ErrorKind::Connect
}

/// Rows written and bytes moved so far (of a table, or of one attempt at a chunk).
#[derive(Default)]
struct Moved {
    written: AtomicU64,
    bytes: AtomicU64,
}

impl Moved {
    /// Take back what a failed attempt had counted.
    fn subtract(&self, attempt: &Moved) {
        for (mine, theirs) in [
            (&self.written, &attempt.written),
            (&self.bytes, &attempt.bytes),
        ] {
            mine.fetch_sub(theirs.load(Ordering::SeqCst), Ordering::SeqCst);
        }
    }
}

/// Load every chunk of `plan`'s table not loaded yet, [`LANES`] at a time; fills the
/// report's row counts, chunks and rejects.
pub(crate) async fn load_table(
    run: &CopyRun,
    plan: &TablePlan,
    report: &mut TableReport,
    rejects: &RejectFile,
) -> Result<()> {
    let chunks = table_chunks(run, plan).await?;
    report.chunks = chunks.len() as u64;
    report.rows_resumed = chunks.iter().filter_map(|(_, rows)| *rows).sum();
    let pending: Vec<Chunk> = chunks
        .iter()
        .filter(|(_, rows)| rows.is_none())
        .map(|(c, _)| *c)
        .collect();
    let table_moved = Moved::default();
    table_moved
        .written
        .store(report.rows_resumed, Ordering::SeqCst);
    let loader = ChunkLoader {
        run,
        plan,
        table_moved: &table_moved,
        abort: AtomicBool::new(false),
        rejects,
    };
    let loaded_now = !pending.is_empty();
    let loader = &loader;
    let (loaded, results): (Vec<Chunk>, Vec<Result<(u64, u64)>>) = futures::stream::iter(pending)
        .map(|chunk| async move { (chunk, loader.load_chunk(chunk).await) })
        .buffer_unordered(LANES)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .unzip();
    // The reject file holds the rows rejected by every committed chunk, this run's and
    // an earlier one's, in key order.
    let committed: Vec<Chunk> = chunks
        .iter()
        .filter(|(c, rows)| {
            rows.is_some()
                || loaded
                    .iter()
                    .zip(&results)
                    .any(|(l, r)| l == c && r.is_ok())
        })
        .map(|(c, _)| *c)
        .collect();
    let complete = committed.len() == chunks.len();
    report.rows_rejected = rejects.assemble(&committed, complete, loaded_now)?;
    report.bytes = table_moved.bytes.load(Ordering::SeqCst);
    report.rows_read = report.rows_resumed;
    report.rows_written = report.rows_resumed;
    for (read, written) in results.iter().flatten() {
        report.rows_read += read;
        report.rows_written += written;
    }
    first_cause(results)
}

/// When one chunk fails the others stop as "cancelled": the error of the chunk that failed
/// first for a reason of its own, else the first error.
fn first_cause(results: Vec<Result<(u64, u64)>>) -> Result<()> {
    let cause = results
        .iter()
        .position(|r| r.as_ref().is_err_and(|e| e.kind() != ErrorKind::Cancelled))
        .or_else(|| results.iter().position(Result::is_err));
    match cause.and_then(|i| results.into_iter().nth(i)) {
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}

/// The table's chunks: as recorded by an earlier run, or planned now from the key's bounds
/// and the real row count (see [`crate::chunking`]) and recorded before any is loaded.
async fn table_chunks(run: &CopyRun, plan: &TablePlan) -> Result<Vec<(Chunk, Option<u64>)>> {
    let target = plan.target.display_name();
    let prior = &run.steps.prior;
    if let Some(recorded) = prior.recorded.chunks.get(&target) {
        return Ok(recorded.clone());
    }
    if prior.finished {
        let rows = run.sink.count_rows(&plan.target).await?;
        return Ok(vec![(Chunk::WHOLE, Some(rows))]);
    }
    let piece = (run.opts.chunk_rows / LANES as u64).max(1);
    let planned = crate::chunking::plan_table(run.source.as_ref(), &plan.source, piece)
        .await
        .map_err(|e| e.context("planning the table's chunks"))?;
    if let Some(per) = planned.widened {
        (run.events)(&Event::Warning(format!(
            "table `{}`: more rows than {} chunks of --chunk-rows; each chunk holds up to {per} rows, all a resume may load again",
            plan.source.display_name(),
            crate::chunking::MAX_CHUNKS
        )));
    }
    let chunks = planned.chunks;
    run.sink
        .progress()
        .plan_chunks(&target, &chunks)
        .await
        .map_err(|e| e.context("recording the table's chunks"))?;
    Ok(chunks.into_iter().map(|c| (c, None)).collect())
}

/// What every chunk of one table shares.
struct ChunkLoader<'a> {
    run: &'a CopyRun,
    plan: &'a TablePlan,
    /// The table's totals (for progress events).
    table_moved: &'a Moved,
    /// Set when a chunk failed for good: the others stop.
    abort: AtomicBool,
    rejects: &'a RejectFile,
}

impl ChunkLoader<'_> {
    fn stopped(&self) -> bool {
        self.abort.load(Ordering::SeqCst) || self.run.cancelled()
    }

    fn stopped_error(&self) -> Error {
        Error::new(
            ErrorKind::Cancelled,
            format!("table `{}`: run stopped", self.plan.source.display_name()),
        )
    }

    /// Load one chunk and commit it with its record, trying again after transient
    /// failures. Returns the rows read and written.
    async fn load_chunk(&self, chunk: Chunk) -> Result<(u64, u64)> {
        let mut attempt = 0;
        loop {
            if self.stopped() {
                return Err(self.stopped_error());
            }
            let mine = Moved::default();
            let err = match self.copy_chunk(chunk, &mine).await {
                Ok(done) => return Ok(done),
                Err(e) => e,
            };
            self.table_moved.subtract(&mine);
            if !is_retryable(&err) || attempt >= COPY_RETRIES || self.run.cancelled() {
                return Err(self.given_up(err));
            }
            attempt += 1;
            let wait = Duration::from_millis(500 << attempt);
            self.warn_retry(chunk, &err, attempt, wait);
            tokio::time::sleep(wait).await;
            // The failure may have come after the commit reached the server: the record,
            // committed with the rows, tells.
            if let Some(rows) = self.committed_rows(chunk).await {
                return Ok((rows, rows));
            }
        }
    }

    /// A chunk that will not be tried again: the others stop, and the error names the
    /// table when the driver's message does not (a refused connection).
    fn given_up(&self, err: Error) -> Error {
        if err.kind() == ErrorKind::Cancelled {
            return err;
        }
        self.abort.store(true, Ordering::SeqCst);
        let name = self.plan.source.display_name();
        let named = err.message().contains(&format!("`{name}`"))
            || err
                .message()
                .contains(&format!("`{}`", self.plan.target.name));
        if named {
            err
        } else {
            err.context(format!("table `{name}`"))
        }
    }

    fn warn_retry(&self, chunk: Chunk, err: &Error, attempt: u32, wait: Duration) {
        (self.run.events)(&Event::Warning(format!(
            "table `{}`: {} — retrying {} ({attempt}/{COPY_RETRIES}) in {:.0} s",
            self.plan.source.display_name(),
            err.full_message(),
            match chunk.range() {
                Some((lo, hi)) => format!("the key range [{lo}, {hi})"),
                None => "the table".to_string(),
            },
            wait.as_secs_f64()
        )));
    }

    /// The rows recorded for `chunk` when its commit reached the target after all.
    async fn committed_rows(&self, chunk: Chunk) -> Option<u64> {
        let recorded = self.run.sink.progress().load().await.ok()??;
        recorded.chunk_rows(&self.plan.target.display_name(), chunk)
    }

    /// Stream one chunk through its own reader and writer, then commit it with its record.
    async fn copy_chunk(&self, chunk: Chunk, mine: &Moved) -> Result<(u64, u64)> {
        let (run, plan) = (self.run, self.plan);
        let reject_mode = run.opts.on_error == OnError::Reject;
        let writer = run.sink.open_writer(&plan.target, reject_mode).await?;
        let (tx, rx) = mpsc::channel(run.opts.channel_batches.max(1));
        let pair = DialectPair::new(run.source.dialect(), run.sink.dialect());
        let read_opts = ReadOptions {
            limits: run.opts.batch,
            reject_bad_rows: reject_mode,
            key_range: chunk.range(),
            raw_pg_copy: pair.raw_pass_through(),
            keep_zero_dates: pair.keeps_zero_dates(),
            budget: Some(run.budget.clone()),
        };
        let reader = run.source.read_table(&plan.source, &read_opts, tx);
        let rejects = self.rejects.part(chunk)?;
        // Reader and writer run together; the bounded channel is the backpressure.
        let (read_result, write_result) =
            tokio::join!(reader, self.write_all(rx, writer, rejects, mine));
        let (writer, mut rejects) = write_result?;
        let stats = read_result?;
        // The chunk's rejected rows are on disk before the chunk commits.
        rejects.sync()?;
        let done = ChunkDone {
            table: plan.target.display_name(),
            chunk,
            rows: mine.written.load(Ordering::SeqCst),
        };
        let committed = writer.finish(Some(&done)).await?;
        Ok((stats.rows_read, committed))
    }

    /// Write every batch the reader sends. The writer owns the receiver, so a failed writer
    /// drops it and the reader stops.
    async fn write_all<'r>(
        &self,
        mut rx: mpsc::Receiver<ferry_core::Batch>,
        mut writer: Box<dyn TableWriter>,
        mut rejects: RejectPart<'r>,
        mine: &Moved,
    ) -> Result<(Box<dyn TableWriter>, RejectPart<'r>)> {
        let name = self.plan.source.display_name();
        while let Some(batch) = rx.recv().await {
            if self.stopped() {
                return Err(self.stopped_error());
            }
            rejects.write(&batch.rejects)?;
            let size = batch.bytes as u64;
            mine.bytes.fetch_add(size, Ordering::SeqCst);
            let bytes = self.table_moved.bytes.fetch_add(size, Ordering::SeqCst) + size;
            let outcome = writer.write(batch).await?;
            rejects.write(&outcome.rejected)?;
            mine.written.fetch_add(outcome.written, Ordering::SeqCst);
            let rows = self
                .table_moved
                .written
                .fetch_add(outcome.written, Ordering::SeqCst)
                + outcome.written;
            (self.run.events)(&Event::TableProgress {
                table: name.clone(),
                rows,
                bytes,
            });
        }
        Ok((writer, rejects))
    }
}
