//! An in-memory source and target with fault injection, to test the engine's scheduling
//! (chunks, retries, cancellation, foreign keys) without servers. The target keeps its
//! progress with the same typed records a real driver stores.

#![allow(dead_code)]

use async_trait::async_trait;
use ferry_core::{
    Batch, BatchBuilder, BatchSender, Chunk, ChunkDone, Column, ConnUrl, Connector, DataType,
    Dialect, Error, ErrorKind, ForeignKey, NoPlanning, ProgressRow, ProgressStore, ReadOptions,
    ReadStats, RecordedRun, Result, RunStart, Schema, Sink, Source, StepDone, Table, TableWriter,
    TargetPlanner, Value, WriteOutcome,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Where an injected failure strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strike {
    /// The reader fails after sending its first batch.
    Read,
    /// The commit fails before anything is stored.
    BeforeCommit,
    /// The rows and the record are stored, then the commit reports a failure (a
    /// connection lost after the server committed).
    AfterCommit,
}

/// One injected failure: `times` times, for the chunk of `table` starting at key `lo`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub table: String,
    pub lo: i64,
    pub strike: Strike,
    pub kind: ErrorKind,
    pub times: u32,
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// A read of `table`'s key range started.
    Read { table: String, lo: i64, hi: i64 },
    /// A chunk committed with `rows` rows.
    Committed { table: String, lo: i64, rows: u64 },
    /// A statement ran in the target.
    Executed(String),
}

/// The state both ends share: the source's rows, the target's, faults, and a log.
#[derive(Default)]
pub struct World {
    /// Source tables with their keys (each row is `(id, parent_id)`).
    pub source: Vec<(Table, Vec<i64>)>,
    /// Target rows per table (key, row), committed only.
    pub target: Mutex<HashMap<String, BTreeMap<i64, Vec<Value>>>>,
    pub faults: Mutex<Vec<Fault>>,
    pub log: Mutex<Vec<Happened>>,
    pub progress: Mutex<Option<Vec<ProgressRow>>>,
    /// Rows written but not committed, now and at most.
    pub in_flight: Mutex<(u64, u64)>,
}

impl World {
    /// A world whose source holds `tables`: (name, rows, parent table) — each row has
    /// keys 1..=rows and a `parent_id` column referencing the parent table when there is one.
    pub fn new(tables: &[(&str, i64, Option<&str>)]) -> Arc<World> {
        let source = tables
            .iter()
            .map(|(name, rows, parent)| (table(name, *rows, *parent), (1..=*rows).collect()))
            .collect();
        Arc::new(World {
            source,
            ..World::default()
        })
    }

    pub fn inject(&self, fault: Fault) {
        self.faults.lock().expect("faults").push(fault);
    }

    fn strike(&self, table: &str, lo: i64, strike: Strike) -> Option<Error> {
        let mut faults = self.faults.lock().expect("faults");
        let f = faults
            .iter_mut()
            .find(|f| f.table == table && f.lo == lo && f.strike == strike && f.times > 0)?;
        f.times -= 1;
        Some(Error::new(
            f.kind,
            format!("injected {strike:?} failure in `{table}` at {lo}"),
        ))
    }

    fn happened(&self, h: Happened) {
        self.log.lock().expect("log").push(h);
    }

    pub fn log(&self) -> Vec<Happened> {
        self.log.lock().expect("log").clone()
    }

    /// The reads of `table`, as (lo, hi).
    pub fn reads(&self, table: &str) -> Vec<(i64, i64)> {
        self.log()
            .into_iter()
            .filter_map(|h| match h {
                Happened::Read { table: t, lo, hi } if t == table => Some((lo, hi)),
                _ => None,
            })
            .collect()
    }

    /// The keys the target holds for `table`.
    pub fn target_keys(&self, table: &str) -> Vec<i64> {
        self.target
            .lock()
            .expect("target")
            .get(table)
            .map(|rows| rows.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Where in the log the first statement containing `text` ran.
    pub fn executed_at(&self, text: &str) -> Option<usize> {
        self.log()
            .iter()
            .position(|h| matches!(h, Happened::Executed(s) if s.contains(text)))
    }

    /// Where in the log the last chunk of `table` committed.
    pub fn last_commit_of(&self, table: &str) -> Option<usize> {
        self.log()
            .iter()
            .rposition(|h| matches!(h, Happened::Committed { table: t, .. } if t == table))
    }
}

fn table(name: &str, rows: i64, parent: Option<&str>) -> Table {
    let mut t = Table::new(name);
    t.columns = vec![
        Column {
            nullable: false,
            ..Column::new("id", "INTEGER", DataType::Int64)
        },
        Column::new("parent_id", "INTEGER", DataType::Int64),
    ];
    t.primary_key = vec!["id".into()];
    t.estimated_rows = Some(rows as u64);
    if let Some(p) = parent {
        t.foreign_keys = vec![ForeignKey {
            name: Some(format!("{name}_parent")),
            columns: vec!["parent_id".into()],
            ref_table: p.to_string(),
            ref_columns: vec!["id".into()],
            on_delete: None,
            on_update: None,
            enforced: true,
            deferrable: ferry_core::Deferrable::No,
        }];
    }
    t
}

/// The source end.
pub struct MemSource(pub Arc<World>);

impl MemSource {
    fn keys(&self, table: &Table) -> Result<&Vec<i64>> {
        self.0
            .source
            .iter()
            .find(|(t, _)| t.name == table.name)
            .map(|(_, k)| k)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no table `{}`", table.name)))
    }
}

#[async_trait]
impl Source for MemSource {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn schema(&self) -> Result<Schema> {
        Ok(Schema {
            tables: self.0.source.iter().map(|(t, _)| t.clone()).collect(),
            ..Schema::default()
        })
    }

    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats> {
        let (lo, hi) = options.key_range.unwrap_or((i64::MIN, i64::MAX));
        self.0.happened(Happened::Read {
            table: table.name.clone(),
            lo,
            hi,
        });
        let keys: Vec<i64> = self
            .keys(table)?
            .iter()
            .copied()
            .filter(|k| *k >= lo && *k < hi)
            .collect();
        let mut b = BatchBuilder::new(2, options.limits);
        let mut stats = ReadStats::default();
        let mut sent = 0;
        for k in keys {
            b.push(Value::Int(k));
            b.push(Value::Int(k));
            stats.rows_read += 1;
            if b.is_full() {
                send(&tx, b.take()).await?;
                sent += 1;
                if sent == 1 {
                    if let Some(e) = self.0.strike(&table.name, lo_of(options), Strike::Read) {
                        return Err(e);
                    }
                }
            }
        }
        if !b.is_empty() {
            send(&tx, b.take()).await?;
        }
        if sent == 0 {
            if let Some(e) = self.0.strike(&table.name, lo_of(options), Strike::Read) {
                return Err(e);
            }
        }
        Ok(stats)
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        Ok(self.keys(table)?.len() as u64)
    }

    fn supports_key_ranges(&self) -> bool {
        true
    }

    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        let keys = self.keys(table)?;
        Ok(keys.first().copied().zip(keys.last().copied()))
    }

    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        let keys = self.keys(table)?;
        Ok(keys
            .iter()
            .copied()
            .step_by(every.max(1) as usize)
            .skip(1)
            .take(max)
            .collect())
    }
}

fn lo_of(options: &ReadOptions) -> i64 {
    options.key_range.map_or(0, |(lo, _)| lo)
}

async fn send(tx: &BatchSender, batch: Batch) -> Result<()> {
    // Yield so that chunks and tables interleave as they would on real connections.
    tokio::task::yield_now().await;
    tx.send(batch)
        .await
        .map_err(|_| Error::new(ErrorKind::Cancelled, "the writer stopped"))
}

/// The target end.
pub struct MemSink(pub Arc<World>);

#[async_trait]
impl Sink for MemSink {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn existing_tables(&self, _tables: &[Table]) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn drop_objects(&self, _objects: &[ferry_core::DbObject]) -> Result<()> {
        Ok(())
    }

    async fn execute(&self, statements: &[String]) -> Result<()> {
        for s in statements {
            self.0.happened(Happened::Executed(s.clone()));
        }
        Ok(())
    }

    async fn open_writer(&self, table: &Table, _reject: bool) -> Result<Box<dyn TableWriter>> {
        Ok(Box::new(MemWriter {
            world: Arc::clone(&self.0),
            table: table.name.clone(),
            rows: Vec::new(),
        }))
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        Ok(self.0.target_keys(&table.name).len() as u64)
    }

    fn progress(&self) -> &dyn ProgressStore {
        self
    }
}

#[async_trait]
impl ProgressStore for MemSink {
    async fn start(&self, run: &RunStart) -> Result<()> {
        *self.0.progress.lock().expect("progress") = Some(run.rows());
        Ok(())
    }

    async fn load(&self) -> Result<Option<RecordedRun>> {
        match self.0.progress.lock().expect("progress").clone() {
            Some(rows) => RecordedRun::from_rows(rows),
            None => Ok(None),
        }
    }

    async fn plan_chunks(&self, table: &str, chunks: &[Chunk]) -> Result<()> {
        let mut p = self.0.progress.lock().expect("progress");
        let rows = p.as_mut().ok_or_else(|| Error::other("no record"))?;
        rows.extend(ferry_core::progress::planned_chunk_rows(table, chunks));
        Ok(())
    }

    async fn record(&self, done: &StepDone) -> Result<()> {
        let mut p = self.0.progress.lock().expect("progress");
        p.as_mut()
            .ok_or_else(|| Error::other("no record"))?
            .push(done.row());
        Ok(())
    }

    async fn clear(&self) -> Result<()> {
        *self.0.progress.lock().expect("progress") = None;
        Ok(())
    }
}

/// Holds a chunk's rows until it commits.
struct MemWriter {
    world: Arc<World>,
    table: String,
    rows: Vec<Vec<Value>>,
}

impl MemWriter {
    fn commit(&self, done: Option<&ChunkDone>) {
        let w = &self.world;
        let mut target = w.target.lock().expect("target");
        let stored = target.entry(self.table.clone()).or_default();
        for row in &self.rows {
            if let Value::Int(k) = row[0] {
                assert!(
                    stored.insert(k, row.clone()).is_none(),
                    "key {k} loaded twice"
                );
            }
        }
        drop(target);
        if let Some(done) = done {
            let mut p = w.progress.lock().expect("progress");
            if let Some(row) = p.as_mut().and_then(|rows| {
                rows.iter_mut()
                    .find(|r| r.tbl == done.table && r.step == "chunk" && r.lo == done.chunk.lo)
            }) {
                row.done = true;
                row.rows_done = done.rows as i64;
            }
        }
        w.happened(Happened::Committed {
            table: self.table.clone(),
            lo: done.map_or(0, |d| d.chunk.lo),
            rows: self.rows.len() as u64,
        });
    }
}

impl Drop for MemWriter {
    fn drop(&mut self) {
        if let Ok(mut f) = self.world.in_flight.lock() {
            f.0 -= self.rows.len() as u64;
        }
    }
}

#[async_trait]
impl TableWriter for MemWriter {
    async fn write(&mut self, batch: Batch) -> Result<WriteOutcome> {
        let n = batch.rows() as u64;
        self.rows.extend(batch.iter_rows().map(<[Value]>::to_vec));
        let mut f = self.world.in_flight.lock().expect("in flight");
        f.0 += n;
        f.1 = f.1.max(f.0);
        Ok(WriteOutcome {
            written: n,
            rejected: Vec::new(),
        })
    }

    async fn finish(self: Box<Self>, done: Option<&ChunkDone>) -> Result<u64> {
        let lo = done.map_or(0, |d| d.chunk.lo);
        if let Some(e) = self.world.strike(&self.table, lo, Strike::BeforeCommit) {
            return Err(e);
        }
        self.commit(done);
        if let Some(e) = self.world.strike(&self.table, lo, Strike::AfterCommit) {
            return Err(e);
        }
        Ok(self.rows.len() as u64)
    }
}

/// Opens the in-memory ends whatever the URL.
pub struct MemConnector(pub Arc<World>);

#[async_trait]
impl Connector for MemConnector {
    async fn open_source(&self, _url: &ConnUrl) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(MemSource(Arc::clone(&self.0))))
    }

    async fn open_sink(&self, _url: &ConnUrl) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(MemSink(Arc::clone(&self.0))))
    }

    fn planner(&self, _target: Dialect) -> Arc<dyn TargetPlanner> {
        Arc::new(NoPlanning)
    }
}
