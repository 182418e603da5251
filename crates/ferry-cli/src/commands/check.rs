//! Printing what `--check` found (`ferry migrate/verify/schema --check`): the plan, then
//! every problem with the statement that fixes it. Exit 0 when the run could go ahead.

use crate::output::Channel;
use crate::Exit;
use ferry_engine::check::CheckReport;

/// Print `report` on `out` and give the exit code: 0 when the run could go ahead, 2 with
/// the problems listed otherwise.
pub fn finish(report: &CheckReport, out: Channel) -> Exit {
    let line = |s: &str| out.line(s);
    line(&format!(
        "ferry {} --check: {} -> {} (nothing was written)",
        report.command, report.source, report.target
    ));
    if !report.tables.is_empty() {
        let rows: u64 = report.tables.iter().filter_map(|t| t.estimated_rows).sum();
        let mut plan = format!(
            "plan: {} table(s), about {rows} row(s), {} DDL statement(s), jobs {}",
            report.tables.len(),
            report.ddl_statements,
            report.jobs
        );
        if !report.load_method.is_empty() {
            plan.push_str(&format!(", load: {}", report.load_method));
        }
        line(&plan);
        let width = report
            .tables
            .iter()
            .map(|t| t.source.chars().count())
            .max()
            .unwrap_or(0);
        for t in &report.tables {
            let rows = t
                .estimated_rows
                .map_or_else(|| "rows unknown".to_string(), |n| format!("~{n} rows"));
            let there = if t.exists {
                "  (exists in the target)"
            } else {
                ""
            };
            line(&format!(
                "  {:<width$} -> {}  {rows}{there}",
                t.source, t.target
            ));
        }
    }
    if !report.warnings.is_empty() {
        line(&format!(
            "{} warning(s) (lossy or changed types, connections):",
            report.warnings.len()
        ));
        for w in &report.warnings {
            line(&format!("  - {w}"));
        }
    }
    if let Some(existing) = &report.existing {
        line(&format!("existing tables: {existing}"));
    }
    if report.ok() {
        line("check passed: the run could go ahead");
        return Exit::Ok;
    }
    line(&format!(
        "check failed: {} problem(s) would stop the run:",
        report.problems.len()
    ));
    for (i, p) in report.problems.iter().enumerate() {
        line(&format!("  {}. {}", i + 1, p.message));
        if let Some(fix) = &p.fix {
            line(&format!("     fix: {fix}"));
        }
    }
    Exit::Failed
}
