//! Verification: row counts on both sides (and, with `--content`, every value).

use crate::config::Config;
use crate::content::{ContentOptions, TablePair};
use crate::events::{Event, EventHandler};
use crate::migrate::close_source;
use crate::plan::plan;
use crate::report::{Outcome, Phases, Report, RunStatus, TableReport, TableStatus};
use ferry_core::{ConnUrl, Connector, Result, Sink, Source};
use ferry_schema::Translation;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// What `ferry verify` compares.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The source.
    pub from: ConnUrl,
    /// The target.
    pub to: ConnUrl,
    /// Which tables (same config as the migration).
    pub config: Config,
    /// Tables compared at once.
    pub jobs: usize,
    /// Compare every value, not only the counts.
    pub content: bool,
    /// Put differing values into the report.
    pub show_values: bool,
    /// Batch limits for reading both sides.
    pub batch: ferry_core::BatchLimits,
}

/// Compare every value of every table (see [`crate::content`]) and record the outcome.
/// Tables whose rows were rejected are skipped: their difference is the reject file.
pub async fn verify_content(
    source: &Arc<dyn Source>,
    target: &Arc<dyn Source>,
    translation: &Translation,
    tables: &mut [TableReport],
    jobs: usize,
    opts: ContentOptions,
) {
    let sem = Arc::new(Semaphore::new(jobs.max(1)));
    let work = translation.tables.iter().zip(tables.iter()).map(|(p, r)| {
        let sem = Arc::clone(&sem);
        let mut v = r.verification.clone();
        let skip = r.rows_rejected > 0;
        async move {
            if skip {
                v.content = Outcome::Skipped;
                v.differences
                    .push("content not compared: rows were rejected (see the reject file)".into());
                return v;
            }
            let _permit = sem.acquire().await;
            let started = Instant::now();
            let pair = TablePair {
                source,
                target,
                src_table: &p.source,
                tgt_table: &p.target,
            };
            if let Err(e) = crate::content::compare_table(&pair, opts, &mut v).await {
                // A table missing on one side differs; one that could not be read (a missing
                // grant, a lost connection) makes the run fail rather than report a mismatch.
                v.content = if e.kind() == ferry_core::ErrorKind::NotFound {
                    Outcome::Differs
                } else {
                    Outcome::Unreadable
                };
                v.differences.push(format!(
                    "content could not be compared: {}",
                    e.full_message()
                ));
            }
            v.seconds += started.elapsed().as_secs_f64();
            v
        }
    });
    let results = futures::future::join_all(work).await;
    for (r, v) in tables.iter_mut().zip(results) {
        r.verification = v;
    }
}

/// Count every table on both sides and record the outcome in `tables` (same order as the
/// translation). A table whose rows were rejected verifies when source = target + rejected.
pub async fn verify_counts(
    source: &dyn Source,
    sink: &dyn Sink,
    translation: &Translation,
    tables: &mut [TableReport],
    jobs: usize,
) {
    let sem = Arc::new(Semaphore::new(jobs.max(1)));
    let counts = translation.tables.iter().map(|p| {
        let sem = Arc::clone(&sem);
        async move {
            let _permit = sem.acquire().await;
            let started = Instant::now();
            let (s, t) = tokio::join!(source.count_rows(&p.source), sink.count_rows(&p.target));
            (s, t, started.elapsed().as_secs_f64())
        }
    });
    let results = futures::future::join_all(counts).await;
    for (report, (s, t, secs)) in tables.iter_mut().zip(results) {
        let v = &mut report.verification;
        v.seconds = secs;
        match (s, t) {
            (Ok(s), Ok(t)) => {
                v.source_rows = Some(s);
                v.target_rows = Some(t);
                v.counts = if s == t + report.rows_rejected {
                    Outcome::Match
                } else {
                    Outcome::Differs
                };
                if v.counts == Outcome::Differs {
                    v.differences.push(format!(
                        "source has {s} rows, target has {t}{}",
                        if report.rows_rejected > 0 {
                            format!(" and {} were rejected", report.rows_rejected)
                        } else {
                            String::new()
                        }
                    ));
                }
            }
            (s, t) => {
                // A table missing on one side is a difference; one that is there but cannot
                // be read (a missing grant, a lost connection) fails the run.
                let missing = |r: &Result<u64>| {
                    r.as_ref()
                        .is_err_and(|e| e.kind() == ferry_core::ErrorKind::NotFound)
                };
                v.counts = if missing(&s) || missing(&t) {
                    Outcome::Differs
                } else {
                    Outcome::Unreadable
                };
                for (side, e) in [("source", s.err()), ("target", t.err())] {
                    if let Some(e) = e {
                        v.differences
                            .push(format!("cannot count the {side}: {}", e.full_message()));
                    }
                }
            }
        }
    }
}

/// `ferry verify`: compare the source and the target table by table.
pub async fn verify(
    opts: &VerifyOptions,
    drivers: &dyn Connector,
    events: EventHandler,
) -> Result<Report> {
    let started = Instant::now();
    let source = drivers.open_source(&opts.from).await?;
    let result = verify_from(opts, drivers, &events, &source, started).await;
    close_source(source.as_ref(), &events).await;
    result
}

async fn verify_from(
    opts: &VerifyOptions,
    drivers: &dyn Connector,
    events: &EventHandler,
    source: &Arc<dyn Source>,
    started: Instant,
) -> Result<Report> {
    let sink = drivers.open_sink(&opts.to).await?;
    let translation = plan(source.as_ref(), sink.dialect(), &opts.config, drivers).await?;
    let warnings = crate::plan::connection_warnings(source.as_ref(), sink.as_ref());
    for w in &warnings {
        events(&Event::Warning(w.clone()));
    }
    events(&Event::Phase("verify"));
    // Nothing is copied here: every table starts "complete" and only verification fills in.
    let mut tables: Vec<TableReport> = translation
        .tables
        .iter()
        .map(|p| TableReport {
            status: TableStatus::Complete,
            ..TableReport::new(p)
        })
        .collect();
    verify_counts(
        source.as_ref(),
        sink.as_ref(),
        &translation,
        &mut tables,
        opts.jobs,
    )
    .await;
    if opts.content {
        let target = drivers.open_source(&opts.to).await?;
        let copts = ContentOptions {
            show_values: opts.show_values,
            batch: opts.batch,
        };
        verify_content(source, &target, &translation, &mut tables, opts.jobs, copts).await;
        close_source(target.as_ref(), events).await;
    }
    let failed = tables.iter().any(|t| t.verification.unreadable());
    let differs = tables
        .iter()
        .any(|t| t.verification.counts != Outcome::Match || t.verification.differs());
    let mut report = Report {
        version: crate::report::REPORT_VERSION,
        resumed: false,
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        source: opts.from.to_string(),
        target: opts.to.to_string(),
        status: if failed {
            RunStatus::Failed
        } else if differs {
            RunStatus::Incomplete
        } else {
            RunStatus::Complete
        },
        seconds: started.elapsed().as_secs_f64(),
        phases: Phases {
            verify: started.elapsed().as_secs_f64(),
            ..Phases::default()
        },
        tables,
        totals: Default::default(),
        warnings,
        error: None,
    };
    report.compute_totals();
    Ok(report)
}
