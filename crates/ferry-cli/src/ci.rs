//! Reports CI systems read, made from the JSON report (`docs/report.schema.json`):
//! `--junit FILE` (JUnit XML, one test case per table) and `--summary-md FILE` (a Markdown
//! table for a job summary page, e.g. `$GITHUB_STEP_SUMMARY`).

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The CI report flags of `ferry migrate` and `ferry verify`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CiArgs {
    /// Also write the result as JUnit XML to this file: one test case per table, failed
    /// when counts or content differ or rows were rejected, with the reason.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown summary table to this file (appended to, so it can be
    /// `$GITHUB_STEP_SUMMARY`).
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
}

impl CiArgs {
    /// Refuse, before the run starts, a `--junit` / `--summary-md` path that cannot be
    /// written (a missing directory, a directory), so that a run is not done for nothing
    /// and its CI report lost at the end.
    pub fn check(&self) -> anyhow::Result<()> {
        for (flag, path) in [("--junit", &self.junit), ("--summary-md", &self.summary_md)] {
            let Some(path) = path else { continue };
            if path.is_dir() {
                anyhow::bail!("{flag} {}: is a directory; give a file", path.display());
            }
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                anyhow::bail!(
                    "{flag} {}: the directory `{}` does not exist",
                    path.display(),
                    dir.display()
                );
            }
        }
        Ok(())
    }

    /// Write the files asked for, from `report` of the command `command` (`migrate` or
    /// `verify`).
    pub fn write(&self, command: &str, report: &ferry_engine::Report) -> anyhow::Result<()> {
        if self.junit.is_none() && self.summary_md.is_none() {
            return Ok(());
        }
        let report = serde_json::to_value(report)?;
        if let Some(path) = &self.junit {
            write_file(path, &junit(command, &report), false)
                .map_err(|e| anyhow::anyhow!("--junit {}: {e}", path.display()))?;
        }
        if let Some(path) = &self.summary_md {
            write_file(path, &summary_md(command, &report), true)
                .map_err(|e| anyhow::anyhow!("--summary-md {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

fn write_file(path: &Path, text: &str, append: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)?;
    f.write_all(text.as_bytes())
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// Why one table of the report failed, one reason a line; empty when it passed.
pub fn table_failures(t: &Value) -> Vec<String> {
    let mut why = Vec::new();
    let status = s(&t["status"]);
    if status != "complete" {
        let mut line = format!("table {}", status.replace('_', " "));
        if let Some(e) = t["error"].as_str() {
            line.push_str(&format!(": {e}"));
        }
        why.push(line);
    }
    let rejected = u(&t["rows_rejected"]);
    if rejected > 0 {
        let mut line = format!("{rejected} rows rejected");
        if let Some(file) = t["reject_file"].as_str() {
            line.push_str(&format!(" (in {file})"));
        }
        why.push(line);
    }
    let v = &t["verification"];
    let side = |k: &str| v[k].as_u64().map_or("?".to_string(), |n| n.to_string());
    match s(&v["counts"]) {
        "differs" => why.push(format!(
            "row counts differ: source {}, target {}",
            side("source_rows"),
            side("target_rows")
        )),
        "error" => why.push("row counts could not be read".to_string()),
        _ => {}
    }
    match s(&v["content"]) {
        "differs" => why.push("content differs".to_string()),
        "error" => why.push("content could not be read".to_string()),
        _ => {}
    }
    if !why.is_empty() {
        for d in v["differences"].as_array().into_iter().flatten().take(10) {
            why.push(format!("  {}", s(d)));
        }
    }
    why
}

/// Text safe inside XML 1.0 attributes and elements.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML of a report: a test suite for the run, a test case per table (failed with
/// the reasons of [`table_failures`]), and an errored case `(run)` when the run stopped.
pub fn junit(command: &str, report: &Value) -> String {
    let tables = report["tables"].as_array().cloned().unwrap_or_default();
    let mut cases = String::new();
    let mut failures = 0;
    let class = format!("ferry.{command}");
    for t in &tables {
        let name = s(&t["table"]);
        cases.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">\n",
            xml(&class),
            xml(name),
            f(&t["seconds"]) + f(&t["verification"]["seconds"])
        ));
        let why = table_failures(t);
        if let Some(first) = why.first() {
            failures += 1;
            cases.push_str(&format!(
                "      <failure message=\"{}\" type=\"ferry\">{}</failure>\n",
                xml(first),
                xml(&why.join("\n"))
            ));
        }
        cases.push_str(&format!(
            "      <system-out>{} rows read, {} written, {} rejected, {} bytes</system-out>\n    </testcase>\n",
            u(&t["rows_read"]),
            u(&t["rows_written"]),
            u(&t["rows_rejected"]),
            u(&t["bytes"])
        ));
    }
    let mut errors = 0;
    if let Some(e) = report["error"].as_str() {
        errors = 1;
        cases.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"(run)\" time=\"0\">\n      <error message=\"{}\" type=\"ferry\">{}</error>\n    </testcase>\n",
            xml(&class),
            xml(e),
            xml(e)
        ));
    }
    let n = tables.len() + errors;
    let suite = format!(
        "ferry {command} {} -> {}",
        s(&report["source"]),
        s(&report["target"])
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ferry\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{secs:.3}\">\n  <testsuite name=\"{name}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{secs:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        secs = f(&report["seconds"]),
        name = xml(&suite),
    )
}

/// Text safe inside a Markdown table cell.
fn md(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

/// A Markdown summary of a report: a headline, a table per table, totals.
pub fn summary_md(command: &str, report: &Value) -> String {
    let status = s(&report["status"]);
    let icon = match status {
        "complete" => "✅",
        "incomplete" => "⚠️",
        _ => "❌",
    };
    let totals = &report["totals"];
    let mut out = format!(
        "### {icon} ferry {command}: {status}\n\n`{}` → `{}` in {:.1} s",
        md(s(&report["source"])),
        md(s(&report["target"])),
        f(&report["seconds"])
    );
    if command != "verify" {
        out.push_str(&format!(
            ", {:.0} rows/s, {:.1} MB/s",
            f(&totals["rows_per_second"]),
            f(&totals["mb_per_second"])
        ));
    }
    if let Some(rss) = totals["peak_rss_bytes"].as_u64() {
        out.push_str(&format!(", peak RSS {:.0} MB", rss as f64 / 1e6));
    }
    out.push_str("\n\n| table | status | rows written | rejected | seconds | counts | content | notes |\n|---|---|---:|---:|---:|---|---|---|\n");
    for t in report["tables"].as_array().into_iter().flatten() {
        let v = &t["verification"];
        let why = table_failures(t);
        let notes = why
            .iter()
            .filter(|l| !l.starts_with("  "))
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
            md(s(&t["table"])),
            if why.is_empty() { "✅" } else { "❌" },
            u(&t["rows_written"]),
            u(&t["rows_rejected"]),
            f(&t["seconds"]) + f(&v["seconds"]),
            md(s(&v["counts"])),
            md(s(&v["content"])),
            md(&notes)
        ));
    }
    out.push_str(&format!(
        "| **total** ({} tables) | {icon} | {} | {} | {:.2} | | | |\n",
        u(&totals["tables"]),
        u(&totals["rows_written"]),
        u(&totals["rows_rejected"]),
        f(&report["seconds"])
    ));
    if let Some(e) = report["error"].as_str() {
        out.push_str(&format!("\n**Error:** {}\n", md(e)));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "version": 1, "source": "sqlite:a.db", "target": "postgres://u:***@h/db",
            "status": "incomplete", "seconds": 2.5,
            "tables": [
                {"table": "ok", "status": "complete", "rows_read": 3, "rows_written": 3,
                 "rows_rejected": 0, "bytes": 30, "seconds": 1.0,
                 "verification": {"source_rows": 3, "target_rows": 3, "counts": "ok", "content": "skipped", "seconds": 0.5}},
                {"table": "b<&>\"", "status": "complete", "rows_read": 6, "rows_written": 3,
                 "rows_rejected": 3, "bytes": 30, "seconds": 1.0, "reject_file": "./b.reject.jsonl",
                 "verification": {"source_rows": 6, "target_rows": 2, "counts": "differs", "content": "differs",
                   "differences": ["id=2: n"], "seconds": 0.0}}
            ],
            "totals": {"tables": 2, "rows_written": 6, "rows_rejected": 3, "rows_per_second": 2.4, "mb_per_second": 0.0, "peak_rss_bytes": 10000000}
        })
    }

    #[test]
    fn junit_has_a_case_per_table_and_fails_with_the_reasons() {
        let x = junit("migrate", &report());
        assert!(x.contains("tests=\"2\" failures=\"1\" errors=\"0\""), "{x}");
        assert!(x.contains("name=\"b&lt;&amp;&gt;&quot;\""), "{x}");
        assert!(x.contains("3 rows rejected (in ./b.reject.jsonl)"), "{x}");
        assert!(x.contains("row counts differ: source 6, target 2"), "{x}");
        assert!(x.contains("content differs"), "{x}");
        assert!(x.contains("id=2: n"), "{x}");
        assert_eq!(x.matches("<failure").count(), 1, "{x}");
        assert_eq!(x.matches("<testcase").count(), 2, "{x}");
    }

    #[test]
    fn a_stopped_run_is_an_errored_case() {
        let mut r = report();
        r["error"] = json!("connection refused <x>");
        let x = junit("verify", &r);
        assert!(x.contains("errors=\"1\""), "{x}");
        assert!(x.contains("name=\"(run)\""), "{x}");
        assert!(x.contains("connection refused &lt;x&gt;"), "{x}");
    }

    #[test]
    fn markdown_escapes_cells_and_totals_add_up() {
        let m = summary_md("migrate", &report());
        assert!(m.starts_with("### ⚠️ ferry migrate: incomplete"), "{m}");
        assert!(m.contains("| ok | ✅ | 3 | 0 |"), "{m}");
        assert!(m.contains("| b&lt;&>\" | ❌ | 3 | 3 |"), "{m}");
        assert!(m.contains("| **total** (2 tables) | ⚠️ | 6 | 3 |"), "{m}");
        assert!(m.contains("peak RSS 10 MB"), "{m}");
        let pipes = m.lines().find(|l| l.starts_with("| b")).expect("row");
        assert_eq!(pipes.matches(" | ").count(), 7, "{pipes}");
    }
}
