//! One migration: plan, create, copy tables in parallel, keys and indexes, foreign keys,
//! sequences, verification.

use crate::config::Config;
use crate::connect::{open_sink, open_source};
use crate::events::{Event, EventHandler};
use crate::progress::{fingerprint, Chunk, Progress, State, STATE_TABLE};
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
    /// Bytes of batches in flight between all readers and writers of the run together
    /// (`ferry_core::MemoryBudget`), whatever the number of tables and chunks loading at once.
    pub memory_budget: usize,
    /// Verify row counts at the end.
    pub verify_counts: bool,
    /// Also compare every value at the end (`--verify content`).
    pub verify_content: bool,
    /// Put differing values into the report.
    pub show_values: bool,
    /// Continue the unfinished run recorded in the target (`--resume`).
    pub resume: bool,
    /// Tables with an integer key are loaded in key-range chunks of about this many rows,
    /// each committed on its own.
    pub chunk_rows: u64,
    /// Record in the target where the copy's snapshot stands in the source's change stream,
    /// so `replicate::apply` continues exactly there (`--replicate`).
    pub replicate: bool,
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
            memory_budget: 32 << 20,
            verify_counts: true,
            verify_content: false,
            show_values: false,
            resume: false,
            chunk_rows: 250_000,
            replicate: false,
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
    refuse_unsupported(&mut schema, config)?;
    let (overrides, sized) = crate::measure::key_overrides(source, &schema, target, config).await?;
    let mut translation = translate(&schema, source.dialect(), target, &overrides)?;
    translation.warnings.extend(sized);
    for w in source.warnings().into_iter().rev() {
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

/// Drop the tables that belong to a table the config left out (an SQLite virtual table's
/// shadow tables), unless the config names them itself, then refuse any table ferry cannot
/// copy that is still selected.
fn refuse_unsupported(schema: &mut ferry_core::Schema, config: &Config) -> Result<()> {
    let kept: HashSet<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    schema.tables.retain(|t| {
        t.unsupported
            .as_ref()
            .and_then(|u| u.belongs_to.as_ref())
            .is_none_or(|owner| kept.contains(owner) || config.tables.include.contains(&t.name))
    });
    match schema
        .tables
        .iter()
        .find_map(|t| Some((t, t.unsupported.as_ref()?)))
    {
        Some((t, u)) => Err(Error::schema(format!(
            "table `{}` {}",
            t.display_name(),
            u.reason
        ))),
        None => Ok(()),
    }
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
        resumed: false,
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
        chunks: 0,
        rows_resumed: 0,
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
    if opts.replicate && opts.resume {
        return Err(Error::config(
            "--replicate cannot continue a resumed copy: the rows copied before and after the interruption come from two snapshots, so no single source position covers them; start over with --if-exists drop --replicate",
        ));
    }
    let source = open_source(&opts.from).await?;
    if opts.replicate {
        // Before anything is copied: a copy that cannot be followed is wasted.
        source.check_replication().await?;
    }
    // The source's snapshot ends whatever happened, so its locks do not outlive the run.
    let mut result = migrate_from(opts, &events, &source, started).await;
    if opts.replicate {
        if let Ok(report) = &result {
            if report.status == RunStatus::Complete {
                if let Err(e) = record_replication_start(opts, source.as_ref()).await {
                    result = Err(e);
                }
            }
        }
    }
    close_source(source.as_ref(), &events).await;
    result
}

/// After a complete copy: the tables as replication sees them, and the snapshot's source
/// position recorded in the target as where replication starts.
async fn record_replication_start(opts: &MigrateOptions, source: &dyn Source) -> Result<()> {
    let at = source.snapshot_position().await?.ok_or_else(|| {
        Error::config(
            "the copy's snapshot could not be pinned to a source position (binary logging off, or LOCK TABLES / REPLICATION CLIENT refused), so replication cannot start exactly where the copy ends",
        )
    })?;
    let sink = open_sink(&opts.to).await?;
    let tables = crate::replicate::replicated_tables(source, sink.dialect(), &opts.config).await?;
    crate::replicate::record_start(sink.as_ref(), &tables, &at).await
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
    let mut translation = plan(source.as_ref(), sink.dialect(), &opts.config).await?;
    let unavailable = sink.unavailable_extensions(&translation.extensions).await;
    translation.without_extensions(&unavailable?)?;
    if let Some(p) = translation
        .tables
        .iter()
        .find(|p| p.target.name.eq_ignore_ascii_case(STATE_TABLE))
    {
        return Err(Error::config(format!(
            "table `{}` has the name ferry keeps its progress under; rename it in the config's [tables]",
            p.source.display_name()
        )));
    }
    if opts.on_error == OnError::Reject {
        for p in &translation.tables {
            RejectFile::new(&opts.reject_dir, &p.source).check()?;
        }
    }
    report.warnings = crate::connect::connection_warnings(source.as_ref(), sink.as_ref());
    report
        .warnings
        .extend(translation.warnings.iter().map(ToString::to_string));
    for w in &report.warnings {
        events(&Event::Warning(w.clone()));
    }
    let progress = Progress::new(sink.dialect());
    let (state, existing) =
        start_or_resume(opts, events, sink.as_ref(), &translation, &progress).await?;
    report.resumed = state.is_some();
    let state = Arc::new(state.unwrap_or_default());
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
    let steps = Steps {
        progress: progress.clone(),
        state: Arc::clone(&state),
        resuming: report.resumed,
    };
    let fks = Arc::new(ForeignKeys::new(
        &translation,
        &existing,
        opts.jobs,
        steps.clone(),
    ));
    let ctx = Arc::new(CopyCtx {
        budget: ferry_core::MemoryBudget::new(opts.memory_budget),
        cancel: AtomicBool::new(false),
        existing: existing.clone(),
        steps,
    });
    let results = copy_all(
        opts,
        source,
        &sink,
        &translation,
        &order,
        &ctx,
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
        events(&Event::Warning(format!(
            "the chunks that committed are recorded in the target's {STATE_TABLE}: run the same command with --resume to continue"
        )));
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
                source,
                &target,
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
    if !failed {
        // Every table is in: the record of this run has served its purpose.
        sink.execute(&[progress.drop()])
            .await
            .map_err(|e| e.context("dropping ferry's progress table"))?;
    }

    report.seconds = started.elapsed().as_secs_f64();
    report.compute_totals();
    report.status = if failed
        || report
            .tables
            .iter()
            .any(|t| crate::verify::unreadable(&t.verification))
    {
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

/// Start a fresh run (check the target, record the plan, create the tables) or, with
/// `--resume` and a recorded unfinished run of the same plan, pick that one up. Returns the
/// recorded state when resuming, and the target names of tables kept with their own keys.
async fn start_or_resume(
    opts: &MigrateOptions,
    events: &EventHandler,
    sink: &dyn Sink,
    t: &Translation,
    progress: &Progress,
) -> Result<(Option<State>, HashSet<String>)> {
    let fp = fingerprint(t);
    sink.tag_sessions(&fp);
    let prior = if opts.resume {
        crate::target::settle_stopped_run(sink, &fp, events).await?;
        progress.load(sink).await?
    } else {
        None
    };
    if let Some(state) = prior {
        if state.fingerprint != fp {
            return Err(Error::config(format!(
                "the unfinished run recorded in the target's {STATE_TABLE} created other tables or types (the source, the config or ferry changed since); start over without --resume and with --if-exists drop"
            )));
        }
        let done: usize = state
            .chunks
            .values()
            .map(|c| c.iter().filter(|(_, rows)| rows.is_some()).count())
            .sum();
        events(&Event::Warning(format!(
            "resuming the unfinished run recorded in the target: {done} chunk(s) already loaded are kept"
        )));
        if !state.schema_done {
            // The run stopped while creating tables: drop what it recorded making, and
            // create it again. Tables it kept existed before it and are emptied again.
            crate::target::undo_schema(sink, &state).await?;
            crate::target::create(sink, t, &state.kept).await?;
            sink.execute(&[progress.step("", "schema", 0)]).await?;
        }
        let kept = state.kept.clone();
        return Ok((Some(state), kept));
    }
    if opts.resume {
        if let Some(state) = crate::target::finished_run(sink, t, &fp, events).await? {
            return Ok((Some(state), HashSet::new()));
        }
        events(&Event::Warning(
            "--resume: the target records no unfinished run; starting from the beginning".into(),
        ));
    }
    let (existing, made) = crate::target::clear(sink, t, opts.if_exists, progress, events).await?;
    let mut kept: Vec<String> = existing.iter().cloned().collect();
    kept.sort();
    sink.execute(&progress.start(&fp, opts.if_exists, &kept, &made))
        .await
        .map_err(|e| e.context(format!("creating ferry's progress table {STATE_TABLE}")))?;
    crate::target::create(sink, t, &existing).await?;
    sink.execute(&[progress.step("", "schema", 0)]).await?;
    Ok((None, existing))
}

/// What the copy needs of the run's durable progress.
#[derive(Clone)]
struct Steps {
    progress: Progress,
    /// What an earlier run recorded (empty for a fresh run).
    state: Arc<State>,
    /// Whether this run continues an earlier one.
    resuming: bool,
}

impl Steps {
    /// Run `statements` as step `n` of `table` unless an earlier run did, and record it.
    /// When resuming, "already exists" means the earlier run did it but was stopped
    /// before recording it (possible where DDL is not transactional, or while its server
    /// session was still finishing): the step counts as done.
    async fn run(
        &self,
        sink: &dyn Sink,
        table: &str,
        step: &str,
        n: i64,
        statements: &[String],
    ) -> Result<()> {
        if self.state.done(table, step, n) {
            return Ok(());
        }
        let record = [self.progress.step(table, step, n)];
        match sink.execute_recorded(statements, &record).await {
            Err(e) if self.resuming && e.kind() == ErrorKind::AlreadyExists => {
                sink.execute(&record).await
            }
            other => other,
        }
    }
}

/// Shared state of the copy phase.
struct CopyCtx {
    /// The run's memory budget, shared by every reader.
    budget: ferry_core::MemoryBudget,
    cancel: AtomicBool,
    /// Tables that existed before (truncate mode): their keys and indexes exist already.
    existing: HashSet<String>,
    steps: Steps,
}

#[allow(clippy::too_many_arguments)]
async fn copy_all(
    opts: &MigrateOptions,
    source: &Arc<dyn Source>,
    sink: &Arc<dyn Sink>,
    translation: &Translation,
    order: &[usize],
    ctx: &Arc<CopyCtx>,
    events: &EventHandler,
    fks: &Arc<ForeignKeys>,
) -> Vec<TableReport> {
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
        // Tables kept from before the run keep their foreign keys: a child loads after its
        // parents.
        let parents: Vec<watch::Receiver<bool>> = if !ctx.existing.is_empty() {
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
            Arc::clone(ctx),
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
                    fks.table_complete(&plan.target.name, report.rows_rejected, &sink);
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
    let target = plan.target.display_name();
    events(&Event::TableStarted {
        table: name.clone(),
        estimated_rows: plan.source.estimated_rows,
    });
    let rejects = RejectFile::new(&opts.reject_dir, &plan.source);
    let result = copy_chunks(opts, source, sink, plan, events, ctx, &mut report, &rejects).await;
    if report.rows_rejected > 0 {
        report.reject_file = Some(rejects.path().display().to_string());
    }
    let result = match result {
        Ok(()) if !ctx.existing.contains(&target) => {
            events(&Event::TableIndexing {
                table: name.clone(),
            });
            build_indexes(sink, plan, &ctx.steps)
                .await
                .map_err(|e| e.context(format!("table `{name}`: keys and indexes")))
        }
        other => other,
    };
    match result {
        Ok(()) => report.status = TableStatus::Complete,
        Err(e) if e.kind() == ErrorKind::Cancelled => report.status = TableStatus::Cancelled,
        Err(e) => {
            // In reject mode every table is attempted: one table's failure (a key that does
            // not build, say) is reported with its cause and the others go on.
            if opts.on_error != OnError::Reject {
                ctx.cancel.store(true, Ordering::SeqCst);
            }
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

/// How often a chunk's copy is tried again after a transient failure (a dropped
/// connection, a server restart, a deadlock), with 1, 2 and 4 seconds between tries.
const COPY_RETRIES: u32 = 3;

/// Errors worth another try of a chunk: transient ones, and connection refusals while a
/// restarting server comes back.
fn is_retryable(e: &Error) -> bool {
    e.kind().is_retryable() || e.kind() == ErrorKind::Connect
}

/// Rows and bytes moved so far.
#[derive(Default)]
struct Moved {
    written: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
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

/// Chunks of one table loaded at the same time, each with its own reader and writer, so a
/// big table's load keeps both a reader and a COPY session busy. A table bigger than
/// `--chunk-rows` is cut into pieces of `chunk_rows / LANES` rows, so the rows of a table
/// that are loaded but not yet committed never pass `--chunk-rows`: that is all a resume
/// can have to repeat.
const LANES: usize = 2;

/// The table's chunks: as recorded by an earlier run, or planned now from the key's bounds
/// and the real row count (see [`crate::chunking`]) and recorded before any is loaded.
async fn table_chunks(
    opts: &MigrateOptions,
    source: &dyn Source,
    sink: &dyn Sink,
    plan: &TablePlan,
    steps: &Steps,
    events: &EventHandler,
) -> Result<Vec<(Chunk, Option<u64>)>> {
    let target = plan.target.display_name();
    if let Some(recorded) = steps.state.chunks.get(&target) {
        return Ok(recorded.clone());
    }
    if steps.state.finished {
        let rows = sink.count_rows(&plan.target).await?;
        return Ok(vec![(Chunk::WHOLE, Some(rows))]);
    }
    let piece = (opts.chunk_rows / LANES as u64).max(1);
    let planned = crate::chunking::plan_table(source, &plan.source, piece)
        .await
        .map_err(|e| e.context("planning the table's chunks"))?;
    if let Some(per) = planned.widened {
        (events)(&Event::Warning(format!(
            "table `{}`: more rows than {} chunks of --chunk-rows; each chunk holds up to {per} rows, all a resume may load again",
            plan.source.display_name(),
            crate::chunking::MAX_CHUNKS
        )));
    }
    let chunks = planned.chunks;
    sink.execute(&steps.progress.plan_chunks(&target, &chunks))
        .await
        .map_err(|e| e.context("recording the table's chunks"))?;
    Ok(chunks.into_iter().map(|c| (c, None)).collect())
}

/// Load every chunk not loaded yet, `LANES` at a time, each committed with its record.
#[allow(clippy::too_many_arguments)]
async fn copy_chunks(
    opts: &MigrateOptions,
    source: &dyn Source,
    sink: &dyn Sink,
    plan: &TablePlan,
    events: &EventHandler,
    ctx: &CopyCtx,
    report: &mut TableReport,
    rejects: &RejectFile,
) -> Result<()> {
    let chunks = table_chunks(opts, source, sink, plan, &ctx.steps, events).await?;
    report.chunks = chunks.len() as u64;
    report.rows_resumed = chunks.iter().filter_map(|(_, rows)| *rows).sum();
    let pending: Vec<Chunk> = chunks
        .iter()
        .filter(|(_, rows)| rows.is_none())
        .map(|(c, _)| *c)
        .collect();
    let moved = Moved::default();
    moved.written.store(report.rows_resumed, Ordering::SeqCst);
    let abort = AtomicBool::new(false);
    let lane = LaneCtx {
        opts,
        source,
        sink,
        plan,
        events,
        ctx,
        moved: &moved,
        abort: &abort,
        rejects,
    };
    use futures::StreamExt;
    let loaded_now = !pending.is_empty();
    let lane = &lane;
    let (loaded, results): (Vec<Chunk>, Vec<Result<(u64, u64)>>) = futures::stream::iter(pending)
        .map(|chunk| async move { (chunk, lane.load_chunk(chunk).await) })
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
    report.bytes = moved.bytes.load(Ordering::SeqCst);
    report.rows_read = report.rows_resumed;
    report.rows_written = report.rows_resumed;
    for (read, written) in results.iter().flatten() {
        report.rows_read += read;
        report.rows_written += written;
    }
    // When one chunk fails the others stop as "cancelled": report the cause, not them.
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
    Ok(())
}

/// What every chunk of one table shares.
struct LaneCtx<'a> {
    opts: &'a MigrateOptions,
    source: &'a dyn Source,
    sink: &'a dyn Sink,
    plan: &'a TablePlan,
    events: &'a EventHandler,
    ctx: &'a CopyCtx,
    /// The table's totals (for progress).
    moved: &'a Moved,
    /// Set when a chunk failed for good: the others stop.
    abort: &'a AtomicBool,
    rejects: &'a RejectFile,
}

impl LaneCtx<'_> {
    /// Load one chunk and commit it with its record, trying again after transient
    /// failures. Returns the rows read and written.
    async fn load_chunk(&self, chunk: Chunk) -> Result<(u64, u64)> {
        let name = self.plan.source.display_name();
        let target = self.plan.target.display_name();
        let mut attempt = 0;
        loop {
            if self.abort.load(Ordering::SeqCst) || self.ctx.cancel.load(Ordering::SeqCst) {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    format!("table `{name}`: run stopped"),
                ));
            }
            let mine = Moved::default();
            let result = self.copy_chunk(chunk, &mine).await;
            let err = match result {
                Ok(done) => return Ok(done),
                Err(e) => e,
            };
            self.moved.subtract(&mine);
            if !is_retryable(&err)
                || attempt >= COPY_RETRIES
                || self.ctx.cancel.load(Ordering::SeqCst)
            {
                if err.kind() == ErrorKind::Cancelled {
                    return Err(err);
                }
                self.abort.store(true, Ordering::SeqCst);
                // Name the table when the driver's message does not (a refused connection).
                let named = err.message().contains(&format!("`{name}`"))
                    || err
                        .message()
                        .contains(&format!("`{}`", self.plan.target.name));
                return Err(if named {
                    err
                } else {
                    err.context(format!("table `{name}`"))
                });
            }
            attempt += 1;
            let wait = std::time::Duration::from_millis(500 << attempt);
            (self.events)(&Event::Warning(format!(
                "table `{name}`: {} — retrying {} ({attempt}/{COPY_RETRIES}) in {:.0} s",
                err.full_message(),
                match chunk.range() {
                    Some((lo, hi)) => format!("the key range [{lo}, {hi})"),
                    None => "the table".to_string(),
                },
                wait.as_secs_f64()
            )));
            tokio::time::sleep(wait).await;
            // The failure may have come after the commit reached the server: the record,
            // committed with the rows, tells.
            let progress = &self.ctx.steps.progress;
            if let Ok(Some(state)) = progress.load(self.sink).await {
                if let Some((_, Some(rows))) = state
                    .chunks
                    .get(&target)
                    .and_then(|c| c.iter().find(|(c, _)| *c == chunk))
                {
                    return Ok((*rows, *rows));
                }
            }
        }
    }

    /// Stream one chunk through its own reader and writer, then commit it with its record.
    async fn copy_chunk(&self, chunk: Chunk, mine: &Moved) -> Result<(u64, u64)> {
        let (opts, plan) = (self.opts, self.plan);
        let name = plan.source.display_name();
        let reject_mode = opts.on_error == OnError::Reject;
        let mut writer = self.sink.open_writer(&plan.target, reject_mode).await?;
        let (tx, mut rx) = mpsc::channel(opts.channel_batches.max(1));
        let read_opts = ReadOptions {
            limits: opts.batch,
            reject_bad_rows: reject_mode,
            key_range: chunk.range(),
            raw_pg_copy: crate::connect::raw_pass_through(
                self.source.dialect(),
                self.sink.dialect(),
            ),
            keep_zero_dates: crate::connect::mysql_to_mysql(
                self.source.dialect(),
                self.sink.dialect(),
            ),
            budget: Some(self.ctx.budget.clone()),
        };
        let reader = self.source.read_table(&plan.source, &read_opts, tx);
        let mut rejects = self.rejects.part(chunk)?;
        // The writer owns the receiver, so a failed writer drops it and the reader stops.
        let write = async move {
            let result = async {
                while let Some(batch) = rx.recv().await {
                    if self.ctx.cancel.load(Ordering::SeqCst) || self.abort.load(Ordering::SeqCst) {
                        return Err(Error::new(
                            ErrorKind::Cancelled,
                            format!("table `{name}`: run stopped"),
                        ));
                    }
                    rejects.write(&batch.rejects)?;
                    let size = batch.bytes as u64;
                    mine.bytes.fetch_add(size, Ordering::SeqCst);
                    let bytes = self.moved.bytes.fetch_add(size, Ordering::SeqCst) + size;
                    let outcome = writer.write(batch).await?;
                    rejects.write(&outcome.rejected)?;
                    mine.written.fetch_add(outcome.written, Ordering::SeqCst);
                    let rows = self
                        .moved
                        .written
                        .fetch_add(outcome.written, Ordering::SeqCst)
                        + outcome.written;
                    (self.events)(&Event::TableProgress {
                        table: name.clone(),
                        rows,
                        bytes,
                    });
                }
                Ok(())
            }
            .await;
            drop(rx);
            result.map(|()| (writer, rejects))
        };
        // Reader and writer run together; the bounded channel is the backpressure.
        let (read_result, write_result) = tokio::join!(reader, write);
        let (writer, mut rejects) = write_result?;
        let stats = read_result?;
        // The chunk's rejected rows are on disk before the chunk commits.
        rejects.sync()?;
        let written = mine.written.load(Ordering::SeqCst);
        let record =
            [self
                .ctx
                .steps
                .progress
                .chunk_done(&plan.target.display_name(), chunk, written)];
        let committed = writer.finish(&record).await?;
        Ok((stats.rows_read, committed))
    }
}

/// Build a table's indexes at the same time on separate connections (the server builds
/// each with its own workers), then attach keys and add CHECKs in order; each is recorded
/// as done, so a resumed run builds only the missing ones. Ends with the table's own
/// record: complete.
async fn build_indexes(sink: &dyn Sink, plan: &TablePlan, steps: &Steps) -> Result<()> {
    let table = plan.target.display_name();
    let builds = plan
        .ddl
        .indexes
        .iter()
        .enumerate()
        .map(|(i, sql)| steps.run(sink, &table, "index", i as i64, std::slice::from_ref(sql)));
    for result in futures::future::join_all(builds).await {
        result?;
    }
    for (i, sql) in plan.ddl.post_load.iter().enumerate() {
        steps
            .run(sink, &table, "post", i as i64, std::slice::from_ref(sql))
            .await?;
    }
    Ok(())
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
    steps: Steps,
}

/// A foreign key waiting for its tables: (child table, parent table, its number in the
/// child's list, the child's display name, DDL).
type PendingFk = (String, String, i64, String, ferry_schema::ForeignKeyDdl);

struct FkState {
    pending: Vec<PendingFk>,
    complete: HashSet<String>,
    /// Complete tables some of whose rows were rejected.
    lossy: HashSet<String>,
    running: Vec<tokio::task::JoinHandle<Option<String>>>,
}

impl ForeignKeys {
    /// The foreign keys of every table created by this run that an earlier run did not
    /// add and check already.
    fn new(t: &Translation, existing: &HashSet<String>, jobs: usize, steps: Steps) -> Self {
        let pending = t
            .tables
            .iter()
            .filter(|p| !existing.contains(&p.target.display_name()))
            .flat_map(|p| {
                p.ddl.foreign_keys.iter().enumerate().map(|(i, fk)| {
                    (
                        p.target.name.clone(),
                        fk.ref_table.clone(),
                        i as i64,
                        p.target.display_name(),
                        fk.clone(),
                    )
                })
            })
            .filter(|(_, _, i, table, _)| !steps.state.done(table, "fk-valid", *i))
            .collect();
        ForeignKeys {
            state: std::sync::Mutex::new(FkState {
                pending,
                complete: HashSet::new(),
                lossy: HashSet::new(),
                running: Vec::new(),
            }),
            add_lock: Arc::new(tokio::sync::Mutex::new(())),
            checks: Arc::new(Semaphore::new(jobs.div_ceil(2).max(1))),
            steps,
        }
    }

    /// `table` is loaded and indexed (with `rejected` of its rows left out): start every
    /// foreign key that now has both ends.
    pub fn table_complete(&self, table: &str, rejected: u64, sink: &Arc<dyn Sink>) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.complete.insert(table.to_string());
        if rejected > 0 {
            st.lossy.insert(table.to_string());
        }
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut st.pending)
            .into_iter()
            .partition(|(child, parent, _, _, _)| {
                st.complete.contains(child) && st.complete.contains(parent)
            });
        st.pending = rest;
        for (_, parent, i, child, mut fk) in ready {
            // A key the source enforced holds for rows that all arrived: checking it again
            // matters only when rows of the referenced table were rejected.
            if fk.trusted && !st.lossy.contains(&parent) {
                fk.validate = None;
            }
            let (sink, add_lock, checks, steps) = (
                Arc::clone(sink),
                Arc::clone(&self.add_lock),
                Arc::clone(&self.checks),
                self.steps.clone(),
            );
            st.running.push(tokio::spawn(async move {
                {
                    let _one_at_a_time = add_lock.lock().await;
                    let add = std::slice::from_ref(&fk.add);
                    if let Err(e) = steps.run(sink.as_ref(), &child, "fk", i, add).await {
                        return Some(format!("foreign key {} could not be added: {}", fk.name, e.full_message()));
                    }
                }
                let Some(sql) = fk.validate else {
                    return steps
                        .run(sink.as_ref(), &child, "fk-valid", i, &[])
                        .await
                        .err()
                        .map(|e| e.full_message());
                };
                let _permit = checks.acquire().await;
                steps.run(sink.as_ref(), &child, "fk-valid", i, std::slice::from_ref(&sql)).await.err().map(|e| {
                    format!(
                        "foreign key {} is not valid for existing rows ({}); the constraint stays, enforced for new rows only",
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
            .map(|(child, parent, _, _, fk)| {
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
