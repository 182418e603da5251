//! `--check`: everything a run would find out before its first write, found out without
//! writing. Both sides are opened, the source's schema is read and translated, and the
//! target is asked (from its catalog only) whether the names the run creates are free and
//! whether the user holds every privilege the run needs. The result is the plan and the
//! list of problems; nothing is created, dropped, locked or recorded (no progress table).

use crate::migrate::{MigrateOptions, OnError};
use crate::progress::fingerprint;
use crate::verify::VerifyOptions;
use ferry_core::objects::list;
use ferry_core::{
    Connector, DbObject, Dialect, Error, IfExists, ObjectKind, Sink, Source, TargetNeeds,
    PROGRESS_TABLE,
};
use ferry_schema::Translation;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;

/// One table of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedTable {
    /// The source table.
    pub source: String,
    /// The table it becomes in the target.
    pub target: String,
    /// The source's estimate of its rows, when it has one.
    pub estimated_rows: Option<u64>,
    /// Whether the target already has it.
    pub exists: bool,
}

/// Something that stops the run, with the statement that fixes it when there is one.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// What is wrong (which privilege on which object, which name is taken ...).
    pub message: String,
    /// The statement that fixes it (a GRANT, an ALTER ... OWNER, a server setting).
    pub fix: Option<String>,
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        let fix = e.fix().map(str::to_string);
        let mut message = e.full_message();
        // The fix is printed on its own line.
        if let Some(f) = &fix {
            if let Some(i) = message.find(&format!("; fix: {f}")) {
                message.replace_range(i..i + f.len() + 7, "");
            }
        }
        Problem { message, fix }
    }
}

/// What `--check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// `migrate` or `verify`.
    pub command: String,
    /// The source URL (no password).
    pub source: String,
    /// The target URL (no password).
    pub target: String,
    /// The tables, in the source's order.
    pub tables: Vec<PlannedTable>,
    /// The DDL statements the run would execute (schemas, types, tables, indexes, keys).
    pub ddl_statements: usize,
    /// What the translation changes or loses (lossy types), and connection warnings.
    pub warnings: Vec<String>,
    /// How rows would go into the target.
    pub load_method: String,
    /// Tables copied at once.
    pub jobs: usize,
    /// What the run would do about tables the target already has (refuse, resume, drop,
    /// empty), when it has any.
    pub existing: Option<String>,
    /// Why the run could not go ahead; empty when it could.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// Whether the run could go ahead.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, e: &Error) {
        self.problems.push(Problem::from(e));
    }
}

/// Check a migration: see the module notes. Errors are collected as problems, so every
/// problem found is listed; `Err` is never returned for what the sides say.
pub async fn check_migrate(opts: &MigrateOptions, drivers: &dyn Connector) -> CheckReport {
    let mut report = CheckReport {
        command: "migrate".into(),
        source: opts.from.to_string(),
        target: opts.to.to_string(),
        jobs: opts.jobs,
        ..CheckReport::default()
    };
    let (source, sink) = open_both(&opts.from, &opts.to, drivers, &mut report).await;
    let Some(source) = source else {
        return report;
    };
    if opts.replicate {
        if let Err(e) = source.check_replication().await {
            report.problem(&e.context("--replicate"));
        }
    }
    let target = sink
        .as_ref()
        .map_or_else(|| dialect_of(opts), |s| Some(s.dialect()));
    let translation = match target {
        Some(d) => planned(source.as_ref(), d, &opts.config, drivers, &mut report).await,
        None => None,
    };
    if let (Some(t), Some(sink)) = (&translation, &sink) {
        check_target(opts, sink.as_ref(), t, &mut report).await;
        report.warnings.extend(crate::plan::connection_warnings(
            source.as_ref(),
            sink.as_ref(),
        ));
    }
    if let Some(t) = &translation {
        if opts.on_error == OnError::Reject {
            for p in &t.tables {
                if let Err(e) = crate::reject::RejectFile::new(&opts.reject_dir, &p.source).check()
                {
                    report.problem(&e);
                }
            }
        }
    }
    let _ = source.close().await;
    report
}

/// Check a verification: both sides open, the source's tables planned, and the user may
/// read each one the target has.
pub async fn check_verify(opts: &VerifyOptions, drivers: &dyn Connector) -> CheckReport {
    let mut report = CheckReport {
        command: "verify".into(),
        source: opts.from.to_string(),
        target: opts.to.to_string(),
        jobs: opts.jobs,
        ..CheckReport::default()
    };
    let (source, sink) = open_both(&opts.from, &opts.to, drivers, &mut report).await;
    let (Some(source), Some(sink)) = (source, sink) else {
        return report;
    };
    if let Some(t) = planned(
        source.as_ref(),
        sink.dialect(),
        &opts.config,
        drivers,
        &mut report,
    )
    .await
    {
        let targets: Vec<ferry_core::Table> = t.tables.iter().map(|p| p.target.clone()).collect();
        match sink.existing_tables(&targets).await {
            Ok(found) => {
                let mut missing = Vec::new();
                for row in &mut report.tables {
                    row.exists = found.contains(&row.target);
                    if !row.exists {
                        missing.push(row.target.clone());
                    }
                }
                if !missing.is_empty() {
                    report.existing = Some(format!(
                        "the target lacks {} table(s) ({}): verify would report them missing",
                        missing.len(),
                        missing.join(", ")
                    ));
                }
                let needs = TargetNeeds {
                    read: targets
                        .into_iter()
                        .filter(|t| found.contains(&t.display_name()))
                        .collect(),
                    ..TargetNeeds::default()
                };
                privileges(sink.as_ref(), &needs, &mut report).await;
            }
            Err(e) => report.problem(&e.context("looking for the tables in the target")),
        }
    }
    let _ = source.close().await;
    report
}

fn dialect_of(opts: &MigrateOptions) -> Option<Dialect> {
    opts.to.dialect()
}

async fn open_both(
    from: &ferry_core::ConnUrl,
    to: &ferry_core::ConnUrl,
    drivers: &dyn Connector,
    report: &mut CheckReport,
) -> (Option<Arc<dyn Source>>, Option<Arc<dyn Sink>>) {
    let (source, sink) = tokio::join!(drivers.open_source(from), drivers.open_sink(to));
    // Name the side, and its URL unless the driver's message has it already.
    let side = |e: Error, what: &str, url: &ferry_core::ConnUrl| {
        if e.message().contains(&url.to_string()) {
            e.context(what)
        } else {
            e.context(format!("{what} {url}"))
        }
    };
    let source = source
        .map_err(|e| report.problem(&side(e, "source", from)))
        .ok();
    let sink = sink
        .map_err(|e| report.problem(&side(e, "target", to)))
        .ok();
    (source, sink)
}

async fn planned(
    source: &dyn Source,
    target: Dialect,
    config: &crate::Config,
    drivers: &dyn Connector,
    report: &mut CheckReport,
) -> Option<Translation> {
    match crate::plan::plan(source, target, config, drivers).await {
        Ok(t) => {
            report.tables = t
                .tables
                .iter()
                .map(|p| PlannedTable {
                    source: p.source.display_name(),
                    target: p.target.display_name(),
                    estimated_rows: p.source.estimated_rows,
                    exists: false,
                })
                .collect();
            report.ddl_statements = t.pre.len()
                + t.tables
                    .iter()
                    .map(|p| {
                        p.ddl.create.len()
                            + p.ddl.indexes.len()
                            + p.ddl.post_load.len()
                            + p.ddl.foreign_keys.len()
                    })
                    .sum::<usize>();
            report
                .warnings
                .extend(t.warnings.iter().map(ToString::to_string));
            Some(t)
        }
        Err(e) => {
            report.problem(&e.context("reading and translating the source's schema"));
            None
        }
    }
}

/// Names, extensions and privileges in the target, for a migration.
async fn check_target(
    opts: &MigrateOptions,
    sink: &dyn Sink,
    t: &Translation,
    report: &mut CheckReport,
) {
    report.load_method = sink.load_method();
    match sink.unavailable_extensions(&t.extensions).await {
        Ok(missing) => {
            for (name, why) in missing {
                report.problems.push(Problem {
                    message: format!("extension {name} cannot be created in the target: {why}"),
                    fix: None,
                });
            }
        }
        Err(e) => report.problem(&e),
    }
    if let Some(p) = t
        .tables
        .iter()
        .find(|p| p.target.name.eq_ignore_ascii_case(PROGRESS_TABLE))
    {
        report.problems.push(Problem {
            message: format!(
                "table `{}` has the name ferry keeps its progress under; rename it in the config's [tables]",
                p.source.display_name()
            ),
            fix: None,
        });
    }
    let everything = crate::target::planned(t, &HashSet::new());
    let found = match sink.existing_objects(&everything).await {
        Ok(found) => found,
        Err(e) => {
            report.problem(&e.context("looking for the plan's names in the target"));
            return;
        }
    };
    let taken: Vec<DbObject> = found
        .iter()
        .filter(|f| f.kind != ObjectKind::Schema)
        .cloned()
        .collect();
    let is_taken = |table: &ferry_core::Table| {
        taken.iter().any(|o| {
            o.kind == ObjectKind::Table
                && o.name == table.name
                && o.schema.as_deref() == table.schema.as_deref()
        })
    };
    for (row, p) in report.tables.iter_mut().zip(&t.tables) {
        row.exists = is_taken(&p.target);
    }
    let recorded = sink.progress().load().await;
    let unfinished = match &recorded {
        Ok(Some(run)) => Some(run.fingerprint == fingerprint(t)),
        Ok(None) => None,
        Err(e) => {
            let mut problem = Problem::from(e);
            problem.message = format!("reading {PROGRESS_TABLE}: {}", problem.message);
            report.problems.push(problem);
            None
        }
    };
    let needs = what_the_run_needs(opts, t, &taken, &is_taken, unfinished, report);
    privileges(sink, &needs, report).await;
}

/// What the run would do with the target's tables (create, drop, write into), from the
/// names already taken there and an unfinished run it records (`Some(true)`: of this plan).
fn what_the_run_needs(
    opts: &MigrateOptions,
    t: &Translation,
    taken: &[DbObject],
    is_taken: &dyn Fn(&ferry_core::Table) -> bool,
    unfinished: Option<bool>,
    report: &mut CheckReport,
) -> TargetNeeds {
    let existing_tables: Vec<ferry_core::Table> = t
        .tables
        .iter()
        .filter(|p| is_taken(&p.target))
        .map(|p| p.target.clone())
        .collect();
    let mut needs = TargetNeeds {
        foreign_keys: t.tables.iter().any(|p| !p.ddl.foreign_keys.is_empty()),
        ..TargetNeeds::default()
    };
    let creating: Vec<ferry_core::Table> = t
        .tables
        .iter()
        .filter(|p| !is_taken(&p.target))
        .map(|p| p.target.clone())
        .collect();
    if opts.resume && unfinished == Some(true) {
        report.existing = Some(format!(
            "the target records an unfinished run of this plan: --resume would continue it, keeping what it loaded ({} of {} tables there)",
            existing_tables.len(),
            t.tables.len()
        ));
        needs.write_existing = existing_tables;
        needs.create = creating;
    } else if opts.resume && unfinished == Some(false) {
        report.problems.push(Problem {
            message: format!("the unfinished run recorded in the target's {PROGRESS_TABLE} created other tables or types (the source, the config or ferry changed since): --resume would refuse; start over without --resume and with --if-exists drop"),
            fix: None,
        });
    } else if taken.is_empty() {
        needs.create = t.tables.iter().map(|p| p.target.clone()).collect();
    } else {
        match opts.if_exists {
            IfExists::Fail => {
                let way_out = if unfinished.is_some() {
                    "it records an unfinished ferry run: add --resume to continue it, or --if-exists drop to start over"
                } else {
                    "pass --if-exists drop to replace them or --if-exists truncate to empty them"
                };
                report.existing = Some(format!("the run would refuse: {}", list(taken)));
                report.problems.push(Problem {
                    message: format!(
                        "the target already has {} of the objects to create ({}); {way_out}",
                        taken.len(),
                        list(taken)
                    ),
                    fix: None,
                });
            }
            IfExists::Drop => {
                report.existing = Some(format!(
                    "--if-exists drop would drop and create again: {}",
                    list(taken)
                ));
                needs.drop_existing = existing_tables;
                needs.create = t.tables.iter().map(|p| p.target.clone()).collect();
            }
            IfExists::Truncate => {
                report.existing = Some(format!(
                    "--if-exists truncate would empty and load into: {}",
                    list(taken)
                ));
                needs.write_existing = existing_tables;
                needs.create = creating;
            }
        }
    }
    needs
}

async fn privileges(sink: &dyn Sink, needs: &TargetNeeds, report: &mut CheckReport) {
    match sink.missing_privileges(needs).await {
        Ok(missing) => {
            for e in &missing {
                report.problem(e);
            }
        }
        Err(e) => report.problem(&e.context("reading the target's privileges")),
    }
}
