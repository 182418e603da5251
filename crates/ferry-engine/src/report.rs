//! The run report: what the summary table shows and what `--json` writes.

use serde::Serialize;

/// Version of the JSON report's format (`version`), described by `docs/report.schema.json`.
/// Raised when a field is removed or changes meaning; new fields keep it.
pub const REPORT_VERSION: u32 = 1;

/// How one table ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// Every row arrived (rejects, if any, are in the reject file).
    Complete,
    /// The copy failed; chunks that committed stay, recorded for `--resume`.
    Failed,
    /// The run stopped before this table finished.
    Cancelled,
    /// The run stopped before this table started.
    NotStarted,
}

/// What one comparison of a table found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Outcome {
    /// Both sides hold the same (`ok` in the report).
    #[serde(rename = "ok")]
    Match,
    /// The sides differ, or the table is missing on one side.
    #[serde(rename = "differs")]
    Differs,
    /// Not compared.
    #[default]
    #[serde(rename = "skipped")]
    Skipped,
    /// A side could not be read (a missing grant, a lost connection): the run fails.
    #[serde(rename = "error")]
    Unreadable,
}

impl Outcome {
    /// The word the report uses.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Match => "ok",
            Outcome::Differs => "differs",
            Outcome::Skipped => "skipped",
            Outcome::Unreadable => "error",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

/// Row-count comparison of one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    /// Rows in the source.
    pub source_rows: Option<u64>,
    /// Rows in the target.
    pub target_rows: Option<u64>,
    /// How the row counts compare.
    pub counts: Outcome,
    /// How every value compares (`--verify content`).
    pub content: Outcome,
    /// Keys (or descriptions) of rows that differ, at most a few hundred.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// Seconds the verification took.
    pub seconds: f64,
}

impl Verification {
    /// Whether a side could not be read: the run fails rather than report a difference.
    pub fn unreadable(&self) -> bool {
        self.counts == Outcome::Unreadable || self.content == Outcome::Unreadable
    }

    /// Whether a comparison found a difference.
    pub fn differs(&self) -> bool {
        self.counts == Outcome::Differs || self.content == Outcome::Differs
    }
}

/// One table's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// Source table name.
    pub table: String,
    /// Target table name.
    pub target_table: String,
    /// How it ended.
    pub status: TableStatus,
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows written to the target.
    pub rows_written: u64,
    /// Rows rejected (in the reject file).
    pub rows_rejected: u64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// Key-range chunks the table was loaded in, each committed on its own.
    pub chunks: u64,
    /// Of `rows_written`, rows an earlier run had committed (`--resume`).
    #[serde(skip_serializing_if = "is_zero")]
    pub rows_resumed: u64,
    /// Seconds from start of copy to indexes built.
    pub seconds: f64,
    /// Where rejected rows went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_file: Option<String>,
    /// Why the table failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Verification.
    pub verification: Verification,
}

impl TableReport {
    /// A table's report line before anything happened to it.
    pub fn new(plan: &ferry_schema::TablePlan) -> Self {
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
            verification: Default::default(),
        }
    }
}

/// How the whole run ended; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything arrived and verified.
    Complete,
    /// The run finished, but rows were rejected or a verification differs.
    Incomplete,
    /// The run stopped on an error.
    Failed,
}

/// Totals over all tables.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Tables in the plan.
    pub tables: usize,
    /// Rows read.
    pub rows_read: u64,
    /// Rows written.
    pub rows_written: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Rows written per second of the whole run.
    pub rows_per_second: f64,
    /// Payload megabytes (10^6) per second of the whole run.
    pub mb_per_second: f64,
    /// The process's peak resident set size so far, in bytes (the kernel's high-water
    /// mark, what `getrusage` reports as `ru_maxrss`); `None` where the OS does not say.
    pub peak_rss_bytes: Option<u64>,
}

/// Seconds spent per phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Phases {
    /// Introspection, translation, creating tables.
    pub schema: f64,
    /// Copying rows and building each table's keys and indexes.
    pub copy: f64,
    /// Foreign keys.
    pub foreign_keys: f64,
    /// Sequences.
    pub sequences: f64,
    /// Verification.
    pub verify: f64,
}

/// The report of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Format version of this report ([`REPORT_VERSION`]).
    pub version: u32,
    /// ferry's version.
    pub ferry_version: String,
    /// Source URL, password redacted.
    pub source: String,
    /// Target URL, password redacted.
    pub target: String,
    /// How the run ended.
    pub status: RunStatus,
    /// Seconds for the whole run.
    pub seconds: f64,
    /// Per phase.
    pub phases: Phases,
    /// Per table, in plan order.
    pub tables: Vec<TableReport>,
    /// Totals.
    pub totals: Totals,
    /// Everything the schema translation could not carry over exactly.
    pub warnings: Vec<String>,
    /// The error that stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether this run continued an unfinished one (`--resume`).
    pub resumed: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Report {
    /// Fill totals from the tables.
    pub fn compute_totals(&mut self) {
        let mut t = Totals {
            tables: self.tables.len(),
            ..Totals::default()
        };
        for r in &self.tables {
            t.rows_read += r.rows_read;
            t.rows_written += r.rows_written;
            t.rows_rejected += r.rows_rejected;
            t.bytes += r.bytes;
        }
        if self.seconds > 0.0 {
            t.rows_per_second = t.rows_written as f64 / self.seconds;
            t.mb_per_second = t.bytes as f64 / 1e6 / self.seconds;
        }
        t.peak_rss_bytes = peak_rss_bytes();
        self.totals = t;
    }
}

/// The process's peak resident set size in bytes: `VmHWM` of `/proc/self/status` on Linux
/// (the same high-water mark `getrusage(RUSAGE_SELF).ru_maxrss` reads, without unsafe code);
/// `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().expect("VmHWM");
            // A test process holds at least a megabyte and far less than a terabyte.
            assert!((1 << 20..1 << 40).contains(&rss), "{rss}");
        }
    }
}
