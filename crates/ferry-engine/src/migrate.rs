//! One migration, phase by phase: plan, start (or resume), copy, foreign keys, sequences,
//! verification, and the run's status.

use crate::config::Config;
use crate::copy::{biggest_first, copy_all, CopyRun};
use crate::events::{Event, EventHandler};
use crate::foreign_keys::ForeignKeyScheduler;
use crate::progress::{StepRecorder, PROGRESS_TABLE};
use crate::reject::RejectFile;
use crate::report::{Phases, Report, RunStatus, TableStatus};
use ferry_core::{BatchLimits, ConnUrl, Connector, Error, IfExists, Result, Sink, Source};
use ferry_schema::Translation;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

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
    /// With `replicate`: give source tables that cannot name the old row of an update
    /// (no primary key) what replication needs (PostgreSQL: REPLICA IDENTITY FULL) instead
    /// of refusing them.
    pub set_replica_identity: bool,
}

impl MigrateOptions {
    /// Options with ferry's defaults ([`crate::defaults`]).
    pub fn new(from: ConnUrl, to: ConnUrl) -> Self {
        use crate::defaults as d;
        MigrateOptions {
            from,
            to,
            config: Config::default(),
            jobs: d::JOBS,
            if_exists: IfExists::Fail,
            on_error: OnError::Stop,
            reject_dir: PathBuf::from(d::REJECT_DIR),
            batch: BatchLimits::default(),
            channel_batches: d::CHANNEL_BATCHES,
            memory_budget: d::MEMORY_BUDGET,
            verify_counts: true,
            verify_content: false,
            show_values: false,
            resume: false,
            chunk_rows: d::CHUNK_ROWS,
            replicate: false,
            set_replica_identity: false,
        }
    }
}

fn empty_report(opts: &MigrateOptions) -> Report {
    Report {
        version: crate::report::REPORT_VERSION,
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

/// Run a migration, opening source and target through `drivers`. Errors before any row
/// moves (connection, schema, existing tables) are returned as `Err`; errors while copying
/// are recorded in the report, whose status decides the exit code.
pub async fn migrate(
    opts: &MigrateOptions,
    drivers: &dyn Connector,
    events: EventHandler,
) -> Result<Report> {
    migrate_until(opts, drivers, events, std::future::pending()).await
}

/// [`migrate`], stopped when `stop` completes first (the caller's SIGINT or SIGTERM, named by
/// its output). The run ends as a kill would leave it — what was committed stays, recorded for
/// `--resume` — except that the source is released properly: its snapshot ends, and a
/// replication slot made for this run is dropped rather than left holding WAL.
pub async fn migrate_until(
    opts: &MigrateOptions,
    drivers: &dyn Connector,
    events: EventHandler,
    stop: impl std::future::Future<Output = String>,
) -> Result<Report> {
    let started = Instant::now();
    events(&Event::Phase("schema"));
    if opts.replicate && opts.resume {
        return Err(Error::config(
            "--replicate cannot continue a resumed copy: the rows copied before and after the interruption come from two snapshots, so no single source position covers them; start over with --if-exists drop --replicate",
        ));
    }
    let source = drivers.open_source(&opts.from).await?;
    if opts.replicate {
        // Before anything is copied: a copy that cannot be followed is wasted.
        source.check_replication().await?;
        prepare_replication(opts, drivers, source.as_ref()).await?;
    }
    // The source's snapshot ends whatever happened, so its locks do not outlive the run.
    let mut result = tokio::select! {
        done = migrate_from(opts, drivers, &events, &source, started) => done,
        why = stop => Err(interrupted(opts, &why)),
    };
    if opts.replicate {
        if let Ok(report) = &result {
            if report.status == RunStatus::Complete {
                if let Err(e) =
                    record_replication_start(opts, drivers, source.as_ref(), &events).await
                {
                    result = Err(e);
                }
            }
        }
    }
    close_source(source.as_ref(), &events).await;
    result
}

/// The error of a run stopped by `why` (a signal's name) before it finished.
fn interrupted(opts: &MigrateOptions, why: &str) -> Error {
    let next = if opts.replicate {
        "what replication had made on the source is released; start again with --if-exists drop --replicate"
    } else {
        "what was committed stays: `ferry migrate --resume` continues"
    };
    Error::other(format!("{why}: the run stopped before it finished; {next}"))
}

/// Before the copy: what the change stream needs on the source for the planned tables
/// (PostgreSQL: the publication and the slot whose snapshot the copy then reads).
async fn prepare_replication(
    opts: &MigrateOptions,
    drivers: &dyn Connector,
    source: &dyn Source,
) -> Result<()> {
    let ferry_core::url::UrlKind::Database(target) = opts.to.kind else {
        return Err(Error::config(format!("{}: not a database URL", opts.to)));
    };
    let tables: Vec<ferry_core::Table> = crate::plan::plan(source, target, &opts.config, drivers)
        .await?
        .tables
        .into_iter()
        .map(|t| t.source)
        .collect();
    source
        .prepare_replication(&tables, opts.set_replica_identity)
        .await
}

/// After a complete copy: the tables as replication sees them, and the snapshot's source
/// position recorded in the target as where replication starts.
async fn record_replication_start(
    opts: &MigrateOptions,
    drivers: &dyn Connector,
    source: &dyn Source,
    events: &EventHandler,
) -> Result<()> {
    let at = source.snapshot_position().await?.ok_or_else(|| {
        Error::config(
            "the copy's snapshot could not be pinned to a source position (binary logging off, or LOCK TABLES / REPLICATION CLIENT refused), so replication cannot start exactly where the copy ends",
        )
    })?;
    let sink = drivers.open_sink(&opts.to).await?;
    let tables =
        crate::replicate::replicated_tables(source, sink.as_ref(), &opts.config, drivers, events)
            .await?;
    crate::replicate::record_start(sink.as_ref(), &tables, &at).await
}

/// Release a source at the end of a run. A failure to do so cannot change what was copied or
/// compared, so it is reported as a warning.
pub(crate) async fn close_source(source: &dyn Source, events: &EventHandler) {
    if let Err(e) = source.close().await {
        events(&Event::Warning(format!("closing the source: {e}")));
    }
}

/// The run's parts once source and target are open.
struct Run<'a> {
    opts: &'a MigrateOptions,
    drivers: &'a dyn Connector,
    events: &'a EventHandler,
    source: &'a Arc<dyn Source>,
    sink: Arc<dyn Sink>,
}

async fn migrate_from(
    opts: &MigrateOptions,
    drivers: &dyn Connector,
    events: &EventHandler,
    source: &Arc<dyn Source>,
    started: Instant,
) -> Result<Report> {
    let run = Run {
        opts,
        drivers,
        events,
        source,
        sink: drivers.open_sink(&opts.to).await?,
    };
    let mut report = empty_report(opts);
    let translation = run.prepare(&mut report).await?;
    let started_run =
        crate::start::start_or_resume(opts, events, run.sink.as_ref(), &translation).await?;
    report.resumed = started_run.prior.is_some();
    report.phases.schema = started.elapsed().as_secs_f64();
    let steps = StepRecorder {
        prior: Arc::new(started_run.prior.unwrap_or_default()),
        resuming: report.resumed,
    };
    let failed = run
        .copy_and_link(&translation, started_run.kept, steps, &mut report)
        .await;
    if !failed {
        run.reset_sequences(&translation, &mut report).await?;
    }
    if opts.verify_counts {
        run.verify(&translation, failed, &mut report).await?;
    }
    if !failed {
        // Every table is in: the record of this run has served its purpose.
        run.sink
            .progress()
            .clear()
            .await
            .map_err(|e| e.context("dropping ferry's progress table"))?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.compute_totals();
    report.status = status(&report, failed);
    Ok(report)
}

/// How the run ended: failed when a table did or a side could not be read; incomplete
/// when rows were rejected or a comparison differs.
fn status(report: &Report, failed: bool) -> RunStatus {
    if failed || report.tables.iter().any(|t| t.verification.unreadable()) {
        RunStatus::Failed
    } else if report
        .tables
        .iter()
        .any(|t| t.rows_rejected > 0 || t.verification.differs())
    {
        RunStatus::Incomplete
    } else {
        RunStatus::Complete
    }
}

impl Run<'_> {
    /// Plan the run and check what can be checked before anything is written.
    async fn prepare(&self, report: &mut Report) -> Result<Translation> {
        let sink = self.sink.as_ref();
        let mut translation = crate::plan::plan(
            self.source.as_ref(),
            sink.dialect(),
            &self.opts.config,
            self.drivers,
        )
        .await?;
        let unavailable = sink.unavailable_extensions(&translation.extensions).await;
        translation.without_extensions(&unavailable?)?;
        if let Some(p) = translation
            .tables
            .iter()
            .find(|p| p.target.name.eq_ignore_ascii_case(PROGRESS_TABLE))
        {
            return Err(Error::config(format!(
                "table `{}` has the name ferry keeps its progress under; rename it in the config's [tables]",
                p.source.display_name()
            )));
        }
        if self.opts.on_error == OnError::Reject {
            for p in &translation.tables {
                RejectFile::new(&self.opts.reject_dir, &p.source).check()?;
            }
        }
        report.warnings = crate::plan::connection_warnings(self.source.as_ref(), sink);
        report
            .warnings
            .extend(translation.warnings.iter().map(ToString::to_string));
        for w in &report.warnings {
            (self.events)(&Event::Warning(w.clone()));
        }
        Ok(translation)
    }

    /// Copy every table, adding foreign keys as their tables complete; returns whether a
    /// table failed.
    async fn copy_and_link(
        &self,
        translation: &Translation,
        kept: std::collections::HashSet<String>,
        steps: StepRecorder,
        report: &mut Report,
    ) -> bool {
        let events = self.events;
        let copy_started = Instant::now();
        events(&Event::Phase("copy"));
        let order = biggest_first(translation);
        events(&Event::Planned {
            tables: order
                .iter()
                .map(|&i| {
                    let t = &translation.tables[i].source;
                    (t.display_name(), t.estimated_rows)
                })
                .collect(),
        });
        let foreign_keys =
            ForeignKeyScheduler::new(translation, &kept, self.opts.jobs, steps.clone());
        let copy = Arc::new(CopyRun {
            opts: self.opts.clone(),
            source: Arc::clone(self.source),
            sink: Arc::clone(&self.sink),
            events: Arc::clone(events),
            budget: ferry_core::MemoryBudget::new(self.opts.memory_budget),
            cancel: AtomicBool::new(false),
            kept,
            steps,
            foreign_keys,
        });
        report.tables = copy_all(&copy, translation, &order).await;
        report.phases.copy = copy_started.elapsed().as_secs_f64();
        let failed = report
            .tables
            .iter()
            .any(|t| t.status != TableStatus::Complete);
        // Foreign keys started as soon as their tables were complete; wait for the rest.
        let fk_started = Instant::now();
        events(&Event::Phase("foreign keys"));
        for w in copy.foreign_keys.finish().await {
            events(&Event::Warning(w.clone()));
            report.warnings.push(w);
        }
        report.phases.foreign_keys = fk_started.elapsed().as_secs_f64();
        if failed {
            report.error = report.tables.iter().find_map(|t| t.error.clone());
            events(&Event::Warning(format!(
                "the chunks that committed are recorded in the target's {PROGRESS_TABLE}: run the same command with --resume to continue"
            )));
        }
        failed
    }

    /// Move identity/sequence/AUTO_INCREMENT counters past the copied rows.
    async fn reset_sequences(&self, translation: &Translation, report: &mut Report) -> Result<()> {
        let seq_started = Instant::now();
        (self.events)(&Event::Phase("sequences"));
        let seqs: Vec<String> = translation
            .tables
            .iter()
            .flat_map(|t| t.ddl.reset_sequences.clone())
            .collect();
        self.sink
            .execute(&seqs)
            .await
            .map_err(|e| e.context("resetting sequences"))?;
        report.phases.sequences = seq_started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Compare counts (and, with `--verify content` after a copy that did not fail, every
    /// value).
    async fn verify(
        &self,
        translation: &Translation,
        failed: bool,
        report: &mut Report,
    ) -> Result<()> {
        let verify_started = Instant::now();
        (self.events)(&Event::Phase("verify"));
        let (source, jobs) = (self.source, self.opts.jobs);
        crate::verify::verify_counts(
            source.as_ref(),
            self.sink.as_ref(),
            translation,
            &mut report.tables,
            jobs,
        )
        .await;
        if self.opts.verify_content && !failed {
            let target = self.drivers.open_source(&self.opts.to).await?;
            let copts = crate::content::ContentOptions {
                show_values: self.opts.show_values,
                batch: self.opts.batch,
            };
            crate::verify::verify_content(
                source,
                &target,
                translation,
                &mut report.tables,
                jobs,
                copts,
            )
            .await;
            close_source(target.as_ref(), self.events).await;
        }
        report.phases.verify = verify_started.elapsed().as_secs_f64();
        Ok(())
    }
}
