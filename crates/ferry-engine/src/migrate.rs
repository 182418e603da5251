//! One migration: plan, create, copy tables in parallel, keys and indexes, foreign keys,
//! sequences, verification.

use crate::config::Config;
use crate::connect::{open_sink, open_source};
use crate::events::{Event, EventHandler};
use crate::reject::RejectFile;
use crate::report::{Phases, Report, RunStatus, TableReport, TableStatus, Verification};
use ferry_core::{
    BatchLimits, ConnUrl, Error, ErrorKind, IfExists, ReadOptions, Result, Sink, Source,
};
use ferry_schema::{translate, TablePlan, Translation};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch, Semaphore};

/// What to do with a row the target cannot store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop the run at the first bad row (default).
    #[default]
    Stop,
    /// Write the row to the table's reject file and go on.
    Reject,
}

/// How a migration runs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Where rows come from.
    pub from: ConnUrl,
    /// Where rows go.
    pub to: ConnUrl,
    /// The config file's content.
    pub config: Config,
    /// Tables copied at once.
    pub jobs: usize,
    /// What to do with tables the target already has.
    pub if_exists: IfExists,
    /// What to do with bad rows.
    pub on_error: OnError,
    /// Where reject files go.
    pub reject_dir: PathBuf,
    /// Batch limits.
    pub batch: BatchLimits,
    /// Batches buffered per table between reader and writer.
    pub channel_batches: usize,
    /// Verify row counts at the end.
    pub verify_counts: bool,
    /// Also compare every value at the end (`--verify content`).
    pub verify_content: bool,
    /// Put differing values into the report.
    pub show_values: bool,
}

impl MigrateOptions {
    /// Options with ferry's defaults.
    pub fn new(from: ConnUrl, to: ConnUrl) -> Self {
        MigrateOptions {
            from,
            to,
            config: Config::default(),
            jobs: 4,
            if_exists: IfExists::Fail,
            on_error: OnError::Stop,
            reject_dir: PathBuf::from("."),
            batch: BatchLimits {
                max_rows: 8192,
                max_bytes: 2 << 20,
            },
            channel_batches: 2,
            verify_counts: true,
            verify_content: false,
            show_values: false,
        }
    }
}

/// Plan a migration: introspect the source, apply the config, translate for the target.
pub async fn plan(
    source: &dyn Source,
    target: ferry_core::Dialect,
    config: &Config,
) -> Result<Translation> {
    let mut schema = source.schema().await?;
    config.select(&mut schema)?;
    let (overrides, sized) = crate::measure::key_overrides(source, &schema, target, config).await?;
    let mut translation = translate(&schema, source.dialect(), target, &overrides)?;
    translation.warnings.extend(sized);
    for w in source.warnings() {
        translation.warnings.insert(
            0,
            ferry_schema::Warning {
                table: None,
                column: None,
                message: w,
            },
        );
    }
    Ok(translation)
}

fn empty_report(opts: &MigrateOptions) -> Report {
    Report {
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        source: opts.from.to_string(),
        target: opts.to.to_string(),
        status: RunStatus::Failed,
        seconds: 0.0,
        phases: Phases::default(),
        tables: Vec::new(),
        totals: Default::default(),
        warnings: Vec::new(),
        error: None,
    }
}

/// A table's report line before anything happened to it.
pub(crate) fn table_report(plan: &TablePlan) -> TableReport {
    TableReport {
        table: plan.source.display_name(),
        target_table: plan.target.display_name(),
        status: TableStatus::NotStarted,
        rows_read: 0,
        rows_written: 0,
        rows_rejected: 0,
        bytes: 0,
        seconds: 0.0,
        reject_file: None,
        error: None,
        verification: Verification {
            counts: "skipped".into(),
            content: "skipped".into(),
            ..Default::default()
        },
    }
}

/// Run a migration. Errors before any row moves (connection, schema, existing tables) are
/// returned as `Err`; errors while copying are recorded in the report, whose status decides
/// the exit code.
pub async fn migrate(opts: &MigrateOptions, events: EventHandler) -> Result<Report> {
    let started = Instant::now();
    events(&Event::Phase("schema"));
    let source = open_source(&opts.from).await?;
    // The source's snapshot ends whatever happened, so its locks do not outlive the run.
    let result = migrate_from(opts, &events, &source, started).await;
    close_source(source.as_ref(), &events).await;
    result
}

/// Release a source at the end of a run. A failure to do so cannot change what was copied or
/// compared, so it is reported as a warning.
pub(crate) async fn close_source(source: &dyn Source, events: &EventHandler) {
    if let Err(e) = source.close().await {
        events(&Event::Warning(format!("closing the source: {e}")));
    }
}

async fn migrate_from(
    opts: &MigrateOptions,
    events: &EventHandler,
    source: &Arc<dyn Source>,
    started: Instant,
) -> Result<Report> {
    let mut report = empty_report(opts);
    let sink = open_sink(&opts.to).await?;
    let translation = plan(source.as_ref(), sink.dialect(), &opts.config).await?;
    report.warnings = translation
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    for w in &report.warnings {
        events(&Event::Warning(w.clone()));
    }
    let existing = prepare_target(sink.as_ref(), &translation, opts.if_exists).await?;
    report.phases.schema = started.elapsed().as_secs_f64();
    report.tables = translation.tables.iter().map(table_report).collect();

    // Copy, biggest tables first so the longest one starts at once.
    let copy_started = Instant::now();
    events(&Event::Phase("copy"));
    let mut order: Vec<usize> = (0..translation.tables.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(translation.tables[i].source.estimated_rows.unwrap_or(0))
    });
    events(&Event::Planned {
        tables: order
            .iter()
            .map(|&i| {
                (
                    translation.tables[i].source.display_name(),
                    translation.tables[i].source.estimated_rows,
                )
            })
            .collect(),
    });
    let fks = Arc::new(ForeignKeys::new(&translation, &existing, opts.jobs));
    let results = copy_all(
        opts,
        source,
        &sink,
        &translation,
        &order,
        &existing,
        events,
        &fks,
    )
    .await;
    for (i, r) in results.into_iter().enumerate() {
        report.tables[i] = r;
    }
    report.phases.copy = copy_started.elapsed().as_secs_f64();

    let failed = report
        .tables
        .iter()
        .any(|t| t.status != TableStatus::Complete);
    // Foreign keys started as soon as their tables were complete; wait for the rest.
    let fk_started = Instant::now();
    events(&Event::Phase("foreign keys"));
    for w in fks.finish().await {
        events(&Event::Warning(w.clone()));
        report.warnings.push(w);
    }
    report.phases.foreign_keys = fk_started.elapsed().as_secs_f64();
    if failed {
        report.error = report.tables.iter().find_map(|t| t.error.clone());
    } else {
        let seq_started = Instant::now();
        events(&Event::Phase("sequences"));
        let seqs: Vec<String> = translation
            .tables
            .iter()
            .flat_map(|t| t.ddl.reset_sequences.clone())
            .collect();
        sink.execute(&seqs)
            .await
            .map_err(|e| e.context("resetting sequences"))?;
        report.phases.sequences = seq_started.elapsed().as_secs_f64();
    }

    if opts.verify_counts {
        let verify_started = Instant::now();
        events(&Event::Phase("verify"));
        crate::verify::verify_counts(
            source.as_ref(),
            sink.as_ref(),
            &translation,
            &mut report.tables,
            opts.jobs,
        )
        .await;
        if opts.verify_content && !failed {
            let target = open_source(&opts.to).await?;
            let copts = crate::content::ContentOptions {
                show_values: opts.show_values,
                batch: opts.batch,
            };
            crate::verify::verify_content(
                source.as_ref(),
                target.as_ref(),
                &translation,
                &mut report.tables,
                opts.jobs,
                copts,
            )
            .await;
            close_source(target.as_ref(), events).await;
        }
        report.phases.verify = verify_started.elapsed().as_secs_f64();
    }

    report.seconds = started.elapsed().as_secs_f64();
    report.compute_totals();
    report.status = if failed {
        RunStatus::Failed
    } else if report.tables.iter().any(|t| {
        t.rows_rejected > 0
            || t.verification.counts == "differs"
            || t.verification.content == "differs"
    }) {
        RunStatus::Incomplete
    } else {
        RunStatus::Complete
    };
    Ok(report)
}

/// Create what the target lacks, honouring `--if-exists`. Returns the target names of
/// tables that were kept (truncated) with their own keys, indexes and foreign keys.
async fn prepare_target(
    sink: &dyn Sink,
    t: &Translation,
    if_exists: IfExists,
) -> Result<HashSet<String>> {
    let targets: Vec<ferry_core::Table> = t.tables.iter().map(|p| p.target.clone()).collect();
    let existing = sink.existing_tables(&targets).await?;
    if !existing.is_empty() && if_exists == IfExists::Fail {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "the target already has {} of the tables to create ({}); pass --if-exists drop to replace them or --if-exists truncate to empty them",
                existing.len(),
                existing.join(", ")
            ),
        ));
    }
    match if_exists {
        IfExists::Drop => {
            let drops: Vec<String> = t
                .tables
                .iter()
                .rev()
                .flat_map(|p| p.ddl.drop.clone())
                .collect();
            sink.execute(&drops).await?;
            sink.execute(&t.drop_pre).await?;
            sink.execute(&t.pre).await?;
            let creates: Vec<String> = t.tables.iter().flat_map(|p| p.ddl.create.clone()).collect();
            sink.execute(&creates).await?;
            Ok(HashSet::new())
        }
        IfExists::Truncate | IfExists::Fail => {
            let missing: Vec<&TablePlan> = t
                .tables
                .iter()
                .filter(|p| !existing.contains(&p.target.display_name()))
                .collect();
            if existing.is_empty() {
                sink.execute(&t.pre).await?;
            }
            let kept: Vec<&ferry_core::Table> = t
                .tables
                .iter()
                .map(|p| &p.target)
                .filter(|t| existing.contains(&t.display_name()))
                .collect();
            sink.execute(&ferry_schema::truncate_all(t.target, &kept))
                .await?;
            let creates: Vec<String> = missing.iter().flat_map(|p| p.ddl.create.clone()).collect();
            sink.execute(&creates).await?;
            Ok(existing.into_iter().collect())
        }
    }
}

/// Shared state of the copy phase.
struct CopyCtx {
    cancel: AtomicBool,
    /// Tables that existed before (truncate mode): their keys and indexes exist already.
    existing: HashSet<String>,
}

#[allow(clippy::too_many_arguments)]
async fn copy_all(
    opts: &MigrateOptions,
    source: &Arc<dyn Source>,
    sink: &Arc<dyn Sink>,
    translation: &Translation,
    order: &[usize],
    existing: &HashSet<String>,
    events: &EventHandler,
    fks: &Arc<ForeignKeys>,
) -> Vec<TableReport> {
    let ctx = Arc::new(CopyCtx {
        cancel: AtomicBool::new(false),
        existing: existing.clone(),
    });
    let permits = Arc::new(Semaphore::new(opts.jobs.max(1)));
    // In truncate mode the target keeps its foreign keys, so a table waits for its parents.
    let mut done_tx: HashMap<String, watch::Sender<bool>> = HashMap::new();
    let mut done_rx: HashMap<String, watch::Receiver<bool>> = HashMap::new();
    for p in &translation.tables {
        let (tx, rx) = watch::channel(false);
        done_tx.insert(p.target.name.clone(), tx);
        done_rx.insert(p.target.name.clone(), rx);
    }
    let mut handles = Vec::new();
    for &i in order {
        let plan = translation.tables[i].clone();
        let parents: Vec<watch::Receiver<bool>> = if opts.if_exists == IfExists::Truncate {
            plan.ddl
                .foreign_keys
                .iter()
                .filter(|fk| fk.ref_table != plan.target.name)
                .filter_map(|fk| done_rx.get(&fk.ref_table).cloned())
                .collect()
        } else {
            Vec::new()
        };
        let done = done_tx.remove(&plan.target.name);
        let (source, sink, events, ctx, permits, opts, fks) = (
            Arc::clone(source),
            Arc::clone(sink),
            Arc::clone(events),
            Arc::clone(&ctx),
            Arc::clone(&permits),
            opts.clone(),
            Arc::clone(fks),
        );
        handles.push((
            i,
            tokio::spawn(async move {
                for mut p in parents {
                    let _ = p.wait_for(|v| *v).await;
                }
                let _permit = permits.acquire_owned().await;
                let report =
                    copy_table(&opts, source.as_ref(), sink.as_ref(), &plan, &events, &ctx).await;
                drop(_permit);
                if report.status == TableStatus::Complete {
                    fks.table_complete(&plan.target.name, &sink);
                }
                if let Some(done) = done {
                    let _ = done.send(true);
                }
                report
            }),
        ));
    }
    let mut out: Vec<Option<TableReport>> = vec![None; translation.tables.len()];
    for (i, h) in handles {
        let r = match h.await {
            Ok(r) => r,
            Err(e) => {
                let mut r = table_report(&translation.tables[i]);
                r.status = TableStatus::Failed;
                r.error = Some(format!("internal error: {e}"));
                r
            }
        };
        out[i] = Some(r);
    }
    out.into_iter()
        .zip(&translation.tables)
        .map(|(r, p)| r.unwrap_or_else(|| table_report(p)))
        .collect()
}

async fn copy_table(
    opts: &MigrateOptions,
    source: &dyn Source,
    sink: &dyn Sink,
    plan: &TablePlan,
    events: &EventHandler,
    ctx: &CopyCtx,
) -> TableReport {
    let mut report = table_report(plan);
    if ctx.cancel.load(Ordering::SeqCst) {
        return report;
    }
    let started = Instant::now();
    let name = plan.source.display_name();
    events(&Event::TableStarted {
        table: name.clone(),
        estimated_rows: plan.source.estimated_rows,
    });
    let mut rejects = RejectFile::new(&opts.reject_dir, &plan.source);
    let mut attempt = 0;
    let result = loop {
        let result = copy_rows(
            opts,
            source,
            sink,
            plan,
            events,
            ctx,
            &mut report,
            &mut rejects,
        )
        .await;
        match result {
            Err(e)
                if is_retryable(&e)
                    && attempt < COPY_RETRIES
                    && !ctx.cancel.load(Ordering::SeqCst) =>
            {
                attempt += 1;
                let wait = std::time::Duration::from_millis(500 << attempt);
                events(&Event::Warning(format!(
                    "table `{name}`: {} — retrying the table ({attempt}/{COPY_RETRIES}) in {:.0} s",
                    e.full_message(),
                    wait.as_secs_f64()
                )));
                tokio::time::sleep(wait).await;
                // Nothing of the failed attempt was made durable; empty the table anyway so a
                // retry can never double a row.
                let empty = ferry_schema::truncate_all(sink.dialect(), &[&plan.target]);
                if let Err(e) = sink.execute(&empty).await {
                    break Err(e.context(format!("table `{name}`: emptying before a retry")));
                }
                report = table_report(plan);
                rejects = RejectFile::new(&opts.reject_dir, &plan.source);
            }
            other => break other,
        }
    };
    if rejects.count() > 0 {
        report.reject_file = Some(rejects.path().display().to_string());
    }
    let result = match result {
        Ok(()) if !ctx.existing.contains(&plan.target.display_name()) => {
            events(&Event::TableIndexing {
                table: name.clone(),
            });
            build_indexes(sink, plan)
                .await
                .map_err(|e| e.context(format!("table `{name}`: keys and indexes")))
        }
        other => other,
    };
    match result {
        Ok(()) => report.status = TableStatus::Complete,
        Err(e) if e.kind() == ErrorKind::Cancelled => report.status = TableStatus::Cancelled,
        Err(e) => {
            ctx.cancel.store(true, Ordering::SeqCst);
            report.status = TableStatus::Failed;
            report.error = Some(e.full_message());
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    events(&Event::TableFinished {
        table: name,
        ok: report.status == TableStatus::Complete,
        rows: report.rows_written,
    });
    report
}

/// How often a table's copy is tried again after a transient failure (a dropped
/// connection, a server restart, a deadlock), with 1, 2 and 4 seconds between tries.
const COPY_RETRIES: u32 = 3;

/// Errors worth another try of the whole table: transient ones, and connection refusals
/// while a restarting server comes back.
fn is_retryable(e: &Error) -> bool {
    e.kind().is_retryable() || e.kind() == ErrorKind::Connect
}

/// Rows and bytes moved so far by all ranges of one table.
#[derive(Default)]
struct Moved {
    written: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
    rejected: std::sync::atomic::AtomicU64,
}

/// Tables with more rows than this are read and written as two key ranges at once (when
/// the source can read key ranges), so a big table's load uses both a reader and a COPY
/// session per range.
const SPLIT_ROWS: u64 = 400_000;

async fn key_ranges(source: &dyn Source, plan: &TablePlan) -> Result<Vec<Option<(i64, i64)>>> {
    if plan.source.estimated_rows.unwrap_or(0) < SPLIT_ROWS || !source.supports_key_ranges() {
        return Ok(vec![None]);
    }
    Ok(match source.key_bounds(&plan.source).await? {
        Some((lo, hi)) if hi > lo => {
            let mid = lo + (hi - lo) / 2;
            vec![Some((lo, mid)), Some((mid, hi.saturating_add(1)))]
        }
        _ => vec![None],
    })
}

#[allow(clippy::too_many_arguments)]
async fn copy_rows(
    opts: &MigrateOptions,
    source: &dyn Source,
    sink: &dyn Sink,
    plan: &TablePlan,
    events: &EventHandler,
    ctx: &CopyCtx,
    report: &mut TableReport,
    rejects: &mut RejectFile,
) -> Result<()> {
    let ranges = key_ranges(source, plan).await?;
    let moved = Moved::default();
    let abort = AtomicBool::new(false);
    let rejects = std::sync::Mutex::new(rejects);
    let runs = ranges.into_iter().map(|range| {
        copy_range(
            opts, source, sink, plan, events, ctx, range, &moved, &abort, &rejects,
        )
    });
    let results = futures::future::join_all(runs).await;
    if let Ok(mut r) = rejects.lock() {
        r.finish()?;
    }
    report.bytes = moved.bytes.load(Ordering::SeqCst);
    report.rows_rejected = moved.rejected.load(Ordering::SeqCst);
    // When one range fails the others stop as "cancelled": report the cause, not them.
    if let Some(cause) = results
        .iter()
        .position(|r| r.as_ref().is_err_and(|e| e.kind() != ErrorKind::Cancelled))
        .or_else(|| results.iter().position(Result::is_err))
    {
        return Err(results
            .into_iter()
            .nth(cause)
            .and_then(Result::err)
            .unwrap_or_else(|| Error::other("copy failed")));
    }
    let mut writers = Vec::new();
    for r in results.into_iter().flatten() {
        let (writer, read) = r;
        report.rows_read += read;
        writers.push(writer);
    }
    // Every range read and wrote without error: only now make them durable, so a failure
    // in one range leaves none of this run's rows behind.
    let mut written = 0;
    for w in writers {
        written += w.finish().await?;
    }
    report.rows_written = written;
    Ok(())
}

/// Stream one key range (or the whole table) through its own reader and writer. Returns
/// the unfinished writer and the rows read.
#[allow(clippy::too_many_arguments)]
async fn copy_range(
    opts: &MigrateOptions,
    source: &dyn Source,
    sink: &dyn Sink,
    plan: &TablePlan,
    events: &EventHandler,
    ctx: &CopyCtx,
    range: Option<(i64, i64)>,
    moved: &Moved,
    abort: &AtomicBool,
    rejects: &std::sync::Mutex<&mut RejectFile>,
) -> Result<(Box<dyn ferry_core::TableWriter>, u64)> {
    let name = plan.source.display_name();
    let reject_mode = opts.on_error == OnError::Reject;
    let mut writer = sink.open_writer(&plan.target, reject_mode).await?;
    let (tx, mut rx) = mpsc::channel(opts.channel_batches.max(1));
    let read_opts = ReadOptions {
        limits: opts.batch,
        reject_bad_rows: reject_mode,
        key_range: range,
        raw_pg_copy: crate::connect::raw_pass_through(source.dialect(), sink.dialect()),
    };
    let reader = source.read_table(&plan.source, &read_opts, tx);
    let write_rejects = |rows: &[ferry_core::RejectedRow]| -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        moved
            .rejected
            .fetch_add(rows.len() as u64, Ordering::SeqCst);
        match rejects.lock() {
            Ok(mut r) => r.write(rows),
            Err(_) => Err(Error::other("reject file lock poisoned")),
        }
    };
    // The writer owns the receiver, so a failed writer drops it and the reader stops.
    let write = async move {
        let result = async {
            while let Some(batch) = rx.recv().await {
                if ctx.cancel.load(Ordering::SeqCst) || abort.load(Ordering::SeqCst) {
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        format!("table `{name}`: run stopped"),
                    ));
                }
                write_rejects(&batch.rejects)?;
                let bytes = moved.bytes.fetch_add(batch.bytes as u64, Ordering::SeqCst)
                    + batch.bytes as u64;
                let outcome = writer.write(batch).await?;
                write_rejects(&outcome.rejected)?;
                let rows =
                    moved.written.fetch_add(outcome.written, Ordering::SeqCst) + outcome.written;
                events(&Event::TableProgress {
                    table: name.clone(),
                    rows,
                    bytes,
                });
            }
            Ok(())
        }
        .await;
        drop(rx);
        result.map(|()| writer)
    };
    // Reader and writer run together; the bounded channel is the backpressure.
    let (read_result, write_result) = tokio::join!(reader, write);
    if read_result.is_err() || write_result.is_err() {
        abort.store(true, Ordering::SeqCst);
    }
    let writer = write_result?;
    let stats = read_result?;
    Ok((writer, stats.rows_read))
}

/// Build a table's indexes at the same time on separate connections (the server builds
/// each with its own workers), then attach keys and add CHECKs in order.
async fn build_indexes(sink: &dyn Sink, plan: &TablePlan) -> Result<()> {
    let builds = plan
        .ddl
        .indexes
        .iter()
        .map(|sql| sink.execute(std::slice::from_ref(sql)));
    for result in futures::future::join_all(builds).await {
        result?;
    }
    sink.execute(&plan.ddl.post_load).await
}

/// Foreign keys, each added as soon as its table and the table it references are
/// complete, so most of them overlap the load of the remaining tables. Adding takes a short
/// lock on both tables, so adds run one at a time (no lock cycles); each is added without
/// checking existing rows, then checked, several at once. A check that fails leaves the
/// constraint in place for new rows and comes back as a warning naming the constraint.
pub struct ForeignKeys {
    state: std::sync::Mutex<FkState>,
    add_lock: Arc<tokio::sync::Mutex<()>>,
    checks: Arc<Semaphore>,
}

struct FkState {
    /// (child table, parent table, DDL) not started yet.
    pending: Vec<(String, String, ferry_schema::ForeignKeyDdl)>,
    complete: HashSet<String>,
    running: Vec<tokio::task::JoinHandle<Option<String>>>,
}

impl ForeignKeys {
    /// The foreign keys of every table created by this run.
    pub fn new(t: &Translation, existing: &HashSet<String>, jobs: usize) -> Self {
        let pending = t
            .tables
            .iter()
            .filter(|p| !existing.contains(&p.target.display_name()))
            .flat_map(|p| {
                p.ddl
                    .foreign_keys
                    .iter()
                    .map(|fk| (p.target.name.clone(), fk.ref_table.clone(), fk.clone()))
            })
            .collect();
        ForeignKeys {
            state: std::sync::Mutex::new(FkState {
                pending,
                complete: HashSet::new(),
                running: Vec::new(),
            }),
            add_lock: Arc::new(tokio::sync::Mutex::new(())),
            checks: Arc::new(Semaphore::new(jobs.div_ceil(2).max(1))),
        }
    }

    /// `table` is loaded and indexed: start every foreign key that now has both ends.
    pub fn table_complete(&self, table: &str, sink: &Arc<dyn Sink>) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.complete.insert(table.to_string());
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut st.pending)
            .into_iter()
            .partition(|(child, parent, _)| {
                st.complete.contains(child) && st.complete.contains(parent)
            });
        st.pending = rest;
        for (_, _, fk) in ready {
            let (sink, add_lock, checks) = (
                Arc::clone(sink),
                Arc::clone(&self.add_lock),
                Arc::clone(&self.checks),
            );
            st.running.push(tokio::spawn(async move {
                {
                    let _one_at_a_time = add_lock.lock().await;
                    if let Err(e) = sink.execute(std::slice::from_ref(&fk.add)).await {
                        return Some(format!("foreign key {} could not be added: {}", fk.name, e.full_message()));
                    }
                }
                let sql = fk.validate?;
                let _permit = checks.acquire().await;
                sink.execute(std::slice::from_ref(&sql)).await.err().map(|e| {
                    format!(
                        "foreign key {} is not valid for existing rows ({}); it is kept NOT VALID and enforced for new rows",
                        fk.name,
                        e.message()
                    )
                })
            }));
        }
    }

    /// Wait for every started foreign key; returns the warnings. Keys whose tables did not
    /// complete are not added (the run has failed then), and each is named in a warning.
    pub async fn finish(&self) -> Vec<String> {
        let (running, left) = match self.state.lock() {
            Ok(mut st) => (
                std::mem::take(&mut st.running),
                std::mem::take(&mut st.pending),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let mut warnings: Vec<String> = left
            .iter()
            .map(|(child, parent, fk)| {
                format!("foreign key {} ({child} -> {parent}) not added: a table it joins is incomplete", fk.name)
            })
            .collect();
        warnings.extend(
            futures::future::join_all(running)
                .await
                .into_iter()
                .filter_map(|r| {
                    r.unwrap_or_else(|e| Some(format!("foreign key task failed: {e}")))
                }),
        );
        warnings
    }
}
