//! Everything the terminal shows: progress bars (or log lines when stderr is not a
//! terminal), the summary table, the JSON report, and error lines.

pub use crate::terminal::{clean, write_failed, Channel};
use ferry_engine::{Event, EventHandler, Outcome, Report, TableStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Draws engine events.
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    tty: bool,
    started: Instant,
    multi: MultiProgress,
    overall: Mutex<Option<ProgressBar>>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    last_log: Mutex<HashMap<String, Instant>>,
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Progress {
            inner: Arc::new(Inner {
                tty,
                started: Instant::now(),
                multi,
                overall: Mutex::new(None),
                bars: Mutex::new(HashMap::new()),
                last_log: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The handler to pass to the engine.
    pub fn handler(&self) -> EventHandler {
        let inner = Arc::clone(&self.inner);
        Arc::new(move |e: &Event| inner.on(e))
    }

    /// Clear the bars.
    pub fn finish(&self) {
        if let Ok(mut o) = self.inner.overall.lock() {
            if let Some(bar) = o.take() {
                bar.finish_and_clear();
            }
        }
        let _ = self.inner.multi.clear();
    }
}

impl Inner {
    fn log(&self, msg: &str) {
        let line = format!(
            "[{:>7.1}s] {}",
            self.started.elapsed().as_secs_f64(),
            clean(msg)
        );
        if self.tty {
            let _ = self.multi.println(line);
        } else {
            Channel::Stderr.text(&format!("{line}\n"));
        }
    }

    fn on(&self, e: &Event) {
        match e {
            Event::Phase(p) => self.log(&format!("phase: {p}")),
            Event::Warning(w) => self.log(&format!("warning: {w}")),
            Event::Planned { tables } => self.planned(tables),
            Event::TableStarted {
                table,
                estimated_rows,
            } => self.table_started(table, *estimated_rows),
            Event::TableProgress { table, rows, .. } => self.table_progress(table, *rows),
            Event::TableIndexing { table } => {
                if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(table).cloned()) {
                    bar.set_message("building keys and indexes");
                } else if !self.tty {
                    self.log(&format!("{table}: building keys and indexes"));
                }
            }
            Event::TableFinished { table, ok, rows } => {
                if let Some(bar) = self.bars.lock().ok().and_then(|mut b| b.remove(table)) {
                    bar.finish_and_clear();
                }
                self.log(&format!(
                    "{table}: {} ({rows} rows)",
                    if *ok { "done" } else { "NOT complete" }
                ));
            }
            Event::Replicated {
                position,
                transactions,
                changes,
                lag_seconds,
            } => self.replicated(position, *transactions, *changes, *lag_seconds),
        }
    }

    fn planned(&self, tables: &[(String, Option<u64>)]) {
        let total: u64 = tables.iter().filter_map(|(_, n)| *n).sum();
        self.log(&format!(
            "copying {} tables (about {total} rows)",
            tables.len()
        ));
        if self.tty {
            let bar = self.multi.add(ProgressBar::new(total.max(1)));
            bar.set_style(style(
                "{prefix:>20.bold} [{bar:30}] {human_pos}/{human_len} rows {per_sec} eta {eta}",
            ));
            bar.set_prefix("total");
            if let Ok(mut o) = self.overall.lock() {
                *o = Some(bar);
            }
        }
    }

    fn table_started(&self, table: &str, estimated_rows: Option<u64>) {
        if self.tty {
            let bar = self
                .multi
                .add(ProgressBar::new(estimated_rows.unwrap_or(0).max(1)));
            bar.set_style(style(
                "{prefix:>20} [{bar:30}] {human_pos}/{human_len} rows {per_sec} eta {eta} {msg}",
            ));
            bar.set_prefix(short(&clean(table)));
            if let Ok(mut bars) = self.bars.lock() {
                bars.insert(table.to_string(), bar);
            }
        } else {
            let est = estimated_rows
                .map(|n| format!(" (about {n} rows)"))
                .unwrap_or_default();
            self.log(&format!("{table}: copying{est}"));
        }
    }

    fn table_progress(&self, table: &str, rows: u64) {
        if self.tty {
            if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(table).cloned()) {
                let delta = rows.saturating_sub(bar.position());
                bar.set_position(rows);
                if let Some(o) = self.overall.lock().ok().and_then(|o| o.clone()) {
                    o.inc(delta);
                }
            }
        } else if let Ok(mut last) = self.last_log.lock() {
            let due = last.get(table).is_none_or(|t| t.elapsed().as_secs() >= 5);
            if due {
                last.insert(table.to_string(), Instant::now());
                drop(last);
                self.log(&format!("{table}: {rows} rows"));
            }
        }
    }

    fn replicated(
        &self,
        position: &str,
        transactions: u64,
        changes: u64,
        lag_seconds: Option<f64>,
    ) {
        let due = self.last_log.lock().ok().is_some_and(|mut last| {
            let due = last
                .get("\0replication")
                .is_none_or(|t| t.elapsed().as_secs() >= 5);
            if due {
                last.insert("\0replication".into(), Instant::now());
            }
            due
        });
        if due {
            let lag = lag_seconds
                .map(|l| format!(", lag {l:.1}s"))
                .unwrap_or_default();
            self.log(&format!(
                "replication: at {position}, {transactions} transactions, {changes} changes{lag}"
            ));
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn short(name: &str) -> String {
    if name.chars().count() > 20 {
        let cut: String = name.chars().take(19).collect();
        format!("{cut}…")
    } else {
        name.to_string()
    }
}

fn status_text(s: TableStatus) -> &'static str {
    match s {
        TableStatus::Complete => "complete",
        TableStatus::Failed => "FAILED",
        TableStatus::Cancelled => "cancelled",
        TableStatus::NotStarted => "not started",
    }
}

/// Print the per-table summary of a migration on `out`.
pub fn print_summary(r: &Report, out: Channel) {
    let names: Vec<String> = r
        .tables
        .iter()
        .map(|t| clean(&t.table).into_owned())
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    out.line(&format!(
        "{:<width$}  {:>12}  {:>12}  {:>9}  {:>8}  {:>8}  {:>8}  status",
        "table", "read", "written", "rejected", "seconds", "counts", "content"
    ));
    for (t, name) in r.tables.iter().zip(&names) {
        out.line(&format!(
            "{:<width$}  {:>12}  {:>12}  {:>9}  {:>8.2}  {:>8}  {:>8}  {}",
            name,
            t.rows_read,
            t.rows_written,
            t.rows_rejected,
            t.seconds,
            t.verification.counts,
            t.verification.content,
            status_text(t.status)
        ));
    }
    let tt = &r.totals;
    out.line(&format!(
        "{:<width$}  {:>12}  {:>12}  {:>9}  {:>8.2}  ({:.0} rows/s, {:.1} MB/s)",
        "TOTAL",
        tt.rows_read,
        tt.rows_written,
        tt.rows_rejected,
        r.seconds,
        tt.rows_per_second,
        tt.mb_per_second
    ));
    for t in r.tables.iter().filter(|t| t.reject_file.is_some()) {
        out.line(&format!(
            "rejected rows of {}: {}",
            t.table,
            t.reject_file.as_deref().unwrap_or("")
        ));
    }
    for t in &r.tables {
        for d in &t.verification.differences {
            out.line(&format!("{}: {d}", t.table));
        }
        if let Some(e) = &t.error {
            out.line(&format!("{}: {e}", t.table));
        }
    }
    let incomplete: Vec<&str> = r
        .tables
        .iter()
        .filter(|t| t.status != TableStatus::Complete)
        .map(|t| t.table.as_str())
        .collect();
    if !incomplete.is_empty() {
        out.line(&format!("incomplete tables: {}", incomplete.join(", ")));
    }
    if !r.warnings.is_empty() {
        out.line(&format!(
            "{} warning(s); see the log above or the JSON report",
            r.warnings.len()
        ));
    }
}

/// Print a verification table on `out`.
pub fn print_verify(r: &Report, out: Channel) {
    let names: Vec<String> = r
        .tables
        .iter()
        .map(|t| clean(&t.table).into_owned())
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    out.line(&format!(
        "{:<width$}  {:>12}  {:>12}  {:>8}  {:>8}",
        "table", "source", "target", "counts", "content"
    ));
    for (t, name) in r.tables.iter().zip(&names) {
        let v = &t.verification;
        let n = |x: Option<u64>| x.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        out.line(&format!(
            "{:<width$}  {:>12}  {:>12}  {:>8}  {:>8}",
            name,
            n(v.source_rows),
            n(v.target_rows),
            v.counts,
            v.content
        ));
        for d in &v.differences {
            out.line(&format!("  {d}"));
        }
    }
    let unreadable = r
        .tables
        .iter()
        .filter(|t| t.verification.unreadable())
        .count();
    let bad = r
        .tables
        .iter()
        .filter(|t| t.verification.counts != Outcome::Match || t.verification.differs())
        .count();
    if unreadable > 0 {
        out.line(&format!(
            "{unreadable} of {} tables could not be read (see above); nothing was compared for them",
            r.tables.len()
        ));
    } else if bad == 0 {
        out.line(&format!("all {} tables match", r.tables.len()));
    } else {
        out.line(&format!("{bad} of {} tables differ", r.tables.len()));
    }
}

/// Whether `--json PATH` asks for the report on stdout (`-`).
pub fn json_to_stdout(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p == Path::new("-"))
}

/// Write the report as pretty JSON: to stdout for `-`, else to a file created 0600 that
/// replaces only a report ferry wrote (one with ferry's `ferry_version` field), never
/// through a symlink.
pub fn write_json(path: &Path, report: &Report) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    if json_to_stdout(Some(path)) {
        Channel::Stdout.text(&format!("{text}\n"));
        return Ok(());
    }
    ferry_engine::files::replace_private(path, "JSON report", is_report, |out| {
        use std::io::Write;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")
    })?;
    Ok(())
}

/// Refuse, before the run starts, a `--json` path the report could not replace (a symlink,
/// someone else's file), so that no run's report is lost at its end.
pub fn check_json_path(path: Option<&Path>) -> anyhow::Result<()> {
    match path {
        Some(p) if !json_to_stdout(Some(p)) => Ok(ferry_engine::files::check_replaceable(
            p,
            "JSON report",
            is_report,
        )?),
        _ => Ok(()),
    }
}

/// Whether `path` holds a report ferry wrote: a JSON object with `ferry_version`.
fn is_report(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let reader = std::io::BufReader::new(std::io::Read::take(file, 256 << 20));
    matches!(
        serde_json::from_reader::<_, serde_json::Value>(reader),
        Ok(serde_json::Value::Object(v)) if v.get("ferry_version").is_some_and(|x| x.is_string())
    )
}

/// One line for an error that stopped the run: the message with its causes.
pub fn error_line(err: &anyhow::Error) -> String {
    if let Some(e) = err.downcast_ref::<ferry_core::Error>() {
        let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
        let ctx: Vec<&String> = chain.iter().take_while(|c| **c != e.to_string()).collect();
        let mut line = ctx
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(": ");
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&e.full_message());
        return clean(&line).into_owned();
    }
    let line = err
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    clean(&line).into_owned()
}
