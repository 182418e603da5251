//! The copy scheduler: tables copied `--jobs` at a time, biggest first; each table's chunks
//! loaded ([`crate::chunk_load`]), then its keys and indexes built, then the foreign keys
//! that now have both ends started ([`crate::foreign_keys`]).

use crate::events::{Event, EventHandler};
use crate::foreign_keys::ForeignKeyScheduler;
use crate::migrate::{MigrateOptions, OnError};
use crate::progress::StepRecorder;
use crate::reject::RejectFile;
use crate::report::{TableReport, TableStatus};
use ferry_core::{ErrorKind, Result, Sink, Source, Step};
use ferry_schema::{TablePlan, Translation};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{watch, Semaphore};

/// What the copy of every table shares.
pub(crate) struct CopyRun {
    pub(crate) opts: MigrateOptions,
    pub(crate) source: Arc<dyn Source>,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) events: EventHandler,
    /// The run's memory budget, shared by every reader.
    pub(crate) budget: ferry_core::MemoryBudget,
    /// Set when a table failed outside reject mode: the others stop.
    pub(crate) cancel: AtomicBool,
    /// Tables that existed before (truncate mode): their keys and indexes exist already.
    pub(crate) kept: HashSet<String>,
    pub(crate) steps: StepRecorder,
    pub(crate) foreign_keys: ForeignKeyScheduler,
}

impl CopyRun {
    /// Whether the run was stopped.
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// The order tables start in: biggest (by the source's estimate) first, so the longest one
/// starts at once.
pub(crate) fn biggest_first(t: &Translation) -> Vec<usize> {
    let mut order: Vec<usize> = (0..t.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(t.tables[i].source.estimated_rows.unwrap_or(0)));
    order
}

/// Copy every table in `order`, `--jobs` at a time; returns the reports in plan order.
pub(crate) async fn copy_all(
    run: &Arc<CopyRun>,
    translation: &Translation,
    order: &[usize],
) -> Vec<TableReport> {
    let permits = Arc::new(Semaphore::new(run.opts.jobs.max(1)));
    // Tables kept from before the run keep their foreign keys: a child loads after its
    // parents.
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
        let parents: Vec<watch::Receiver<bool>> = if run.kept.is_empty() {
            Vec::new()
        } else {
            plan.ddl
                .foreign_keys
                .iter()
                .filter(|fk| fk.ref_table != plan.target.name)
                .filter_map(|fk| done_rx.get(&fk.ref_table).cloned())
                .collect()
        };
        let done = done_tx.remove(&plan.target.name);
        let (run, permits) = (Arc::clone(run), Arc::clone(&permits));
        handles.push((
            i,
            tokio::spawn(async move {
                for mut p in parents {
                    let _ = p.wait_for(|v| *v).await;
                }
                let permit = permits.acquire_owned().await;
                let report = copy_table(&run, &plan).await;
                drop(permit);
                if report.status == TableStatus::Complete {
                    run.foreign_keys.table_complete(
                        &plan.target.name,
                        report.rows_rejected,
                        &run.sink,
                    );
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
        out[i] = Some(h.await.unwrap_or_else(|e| {
            let mut r = TableReport::new(&translation.tables[i]);
            r.status = TableStatus::Failed;
            r.error = Some(format!("internal error: {e}"));
            r
        }));
    }
    out.into_iter()
        .zip(&translation.tables)
        .map(|(r, p)| r.unwrap_or_else(|| TableReport::new(p)))
        .collect()
}

/// Copy one table: its chunks, then its keys and indexes.
async fn copy_table(run: &CopyRun, plan: &TablePlan) -> TableReport {
    let mut report = TableReport::new(plan);
    if run.cancelled() {
        return report;
    }
    let started = Instant::now();
    let name = plan.source.display_name();
    let events: &EventHandler = &run.events;
    events(&Event::TableStarted {
        table: name.clone(),
        estimated_rows: plan.source.estimated_rows,
    });
    let rejects = RejectFile::new(&run.opts.reject_dir, &plan.source);
    let result = crate::chunk_load::load_table(run, plan, &mut report, &rejects).await;
    if report.rows_rejected > 0 {
        report.reject_file = Some(rejects.path().display().to_string());
    }
    let result = match result {
        Ok(()) if !run.kept.contains(&plan.target.display_name()) => {
            events(&Event::TableIndexing {
                table: name.clone(),
            });
            build_indexes(run.sink.as_ref(), plan, &run.steps)
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
            if run.opts.on_error != OnError::Reject {
                run.cancel.store(true, Ordering::SeqCst);
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

/// Build a table's indexes at the same time on separate connections (the server builds
/// each with its own workers), then attach keys and add CHECKs in order; each is recorded
/// as done, so a resumed run builds only the missing ones.
async fn build_indexes(sink: &dyn Sink, plan: &TablePlan, steps: &StepRecorder) -> Result<()> {
    let table = plan.target.display_name();
    let builds = plan.ddl.indexes.iter().enumerate().map(|(i, sql)| {
        steps.run(
            sink,
            &table,
            Step::Index(i as u32),
            std::slice::from_ref(sql),
        )
    });
    for result in futures::future::join_all(builds).await {
        result?;
    }
    for (i, sql) in plan.ddl.post_load.iter().enumerate() {
        steps
            .run(
                sink,
                &table,
                Step::PostLoad(i as u32),
                std::slice::from_ref(sql),
            )
            .await?;
    }
    Ok(())
}
