//! Everything the terminal shows: progress bars (or log lines when stderr is not a
//! terminal), the summary table, the JSON report, and error lines.

use ferry_engine::{Event, EventHandler, Report, TableStatus};
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
        let line = format!("[{:>7.1}s] {msg}", self.started.elapsed().as_secs_f64());
        if self.tty {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    fn on(&self, e: &Event) {
        match e {
            Event::Phase(p) => self.log(&format!("phase: {p}")),
            Event::Warning(w) => self.log(&format!("warning: {w}")),
            Event::Planned { tables } => {
                let total: u64 = tables.iter().filter_map(|(_, n)| *n).sum();
                self.log(&format!(
                    "copying {} tables (about {total} rows)",
                    tables.len()
                ));
                if self.tty {
                    let bar = self.multi.add(ProgressBar::new(total.max(1)));
                    bar.set_style(style("{prefix:>20.bold} [{bar:30}] {human_pos}/{human_len} rows {per_sec} eta {eta}"));
                    bar.set_prefix("total");
                    if let Ok(mut o) = self.overall.lock() {
                        *o = Some(bar);
                    }
                }
            }
            Event::TableStarted {
                table,
                estimated_rows,
            } => {
                if self.tty {
                    let bar = self
                        .multi
                        .add(ProgressBar::new(estimated_rows.unwrap_or(0).max(1)));
                    bar.set_style(style("{prefix:>20} [{bar:30}] {human_pos}/{human_len} rows {per_sec} eta {eta} {msg}"));
                    bar.set_prefix(short(table));
                    if let Ok(mut bars) = self.bars.lock() {
                        bars.insert(table.clone(), bar);
                    }
                } else {
                    let est = estimated_rows
                        .map(|n| format!(" (about {n} rows)"))
                        .unwrap_or_default();
                    self.log(&format!("{table}: copying{est}"));
                }
            }
            Event::TableProgress { table, rows, .. } => {
                if self.tty {
                    if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(table).cloned()) {
                        let delta = rows.saturating_sub(bar.position());
                        bar.set_position(*rows);
                        if let Some(o) = self.overall.lock().ok().and_then(|o| o.clone()) {
                            o.inc(delta);
                        }
                    }
                } else if let Ok(mut last) = self.last_log.lock() {
                    let due = last.get(table).is_none_or(|t| t.elapsed().as_secs() >= 5);
                    if due {
                        last.insert(table.clone(), Instant::now());
                        drop(last);
                        self.log(&format!("{table}: {rows} rows"));
                    }
                }
            }
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
            } => {
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

/// Print the per-table summary of a migration to stdout.
pub fn print_summary(r: &Report) {
    let width = r
        .tables
        .iter()
        .map(|t| t.table.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>9}  {:>8}  {:>8}  {:>8}  status",
        "table", "read", "written", "rejected", "seconds", "counts", "content"
    );
    for t in &r.tables {
        println!(
            "{:<width$}  {:>12}  {:>12}  {:>9}  {:>8.2}  {:>8}  {:>8}  {}",
            t.table,
            t.rows_read,
            t.rows_written,
            t.rows_rejected,
            t.seconds,
            t.verification.counts,
            t.verification.content,
            status_text(t.status)
        );
    }
    let tt = &r.totals;
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>9}  {:>8.2}  ({:.0} rows/s, {:.1} MB/s)",
        "TOTAL",
        tt.rows_read,
        tt.rows_written,
        tt.rows_rejected,
        r.seconds,
        tt.rows_per_second,
        tt.mb_per_second
    );
    for t in r.tables.iter().filter(|t| t.reject_file.is_some()) {
        println!(
            "rejected rows of {}: {}",
            t.table,
            t.reject_file.as_deref().unwrap_or("")
        );
    }
    for t in &r.tables {
        for d in &t.verification.differences {
            println!("{}: {d}", t.table);
        }
        if let Some(e) = &t.error {
            println!("{}: {e}", t.table);
        }
    }
    let incomplete: Vec<&str> = r
        .tables
        .iter()
        .filter(|t| t.status != TableStatus::Complete)
        .map(|t| t.table.as_str())
        .collect();
    if !incomplete.is_empty() {
        println!("incomplete tables: {}", incomplete.join(", "));
    }
    if !r.warnings.is_empty() {
        println!(
            "{} warning(s); see the log above or the JSON report",
            r.warnings.len()
        );
    }
}

/// Print a verification table to stdout.
pub fn print_verify(r: &Report) {
    let width = r
        .tables
        .iter()
        .map(|t| t.table.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>8}  {:>8}",
        "table", "source", "target", "counts", "content"
    );
    for t in &r.tables {
        let v = &t.verification;
        let n = |x: Option<u64>| x.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "{:<width$}  {:>12}  {:>12}  {:>8}  {:>8}",
            t.table,
            n(v.source_rows),
            n(v.target_rows),
            v.counts,
            v.content
        );
        for d in &v.differences {
            println!("  {d}");
        }
    }
    let bad = r
        .tables
        .iter()
        .filter(|t| t.verification.counts != "ok" || t.verification.content == "differs")
        .count();
    if bad == 0 {
        println!("all {} tables match", r.tables.len());
    } else {
        println!("{bad} of {} tables differ", r.tables.len());
    }
}

/// Write the report as pretty JSON.
pub fn write_json(path: &Path, report: &Report) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n")
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
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
        return line;
    }
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
