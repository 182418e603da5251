//! `ferry report compare BASE.json NEW.json`: the regression gate of CI loads. Prints per
//! table and in total rows, rows/s, MB/s, wall time and peak RSS of both runs; exits 1
//! when NEW is slower or larger than allowed or moved different row counts, 2 when a
//! report cannot be read.

use crate::Exit;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `ferry report ...`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Compare two JSON reports (`--json`) of the same load: exit 1 when NEW is slower or
    /// uses more memory than allowed, or moved different row counts; 2 on unreadable input.
    Compare(CompareArgs),
}

/// `ferry report compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline report.
    base: PathBuf,
    /// The new run's report.
    new: PathBuf,
    /// Most the new run's wall time may exceed the baseline's, in percent.
    #[arg(long, default_value = "10%", value_parser = percent)]
    max_slower: f64,
    /// Most the new run's peak RSS may exceed the baseline's, in percent.
    #[arg(long, default_value = "20%", value_parser = percent)]
    max_rss_growth: f64,
}

/// `10%` or `10` -> 10.0; a finite number of at least 0.
fn percent(text: &str) -> Result<f64, String> {
    let n: f64 = text
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage (like 10%)"))?;
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        Err(format!("`{text}`: a percentage of 0 or more"))
    }
}

/// Run `ferry report`.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    match args.command {
        Command::Compare(a) => Ok(compare(&a)),
    }
}

/// One run's numbers, for the whole run or one table.
#[derive(Debug, Clone, Copy, Default)]
struct Numbers {
    rows: u64,
    bytes: u64,
    seconds: f64,
}

impl Numbers {
    fn rows_per_second(self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn mb_per_second(self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }
}

/// What compare reads of a report.
#[derive(Debug)]
struct Run {
    status: String,
    total: Numbers,
    peak_rss: Option<u64>,
    tables: BTreeMap<String, Numbers>,
}

fn num(v: &Value, what: &str) -> Result<u64, String> {
    v.as_u64().ok_or(format!("`{what}` is not a count"))
}

fn secs(v: &Value, what: &str) -> Result<f64, String> {
    v.as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or(format!("`{what}` is not a number of seconds"))
}

/// Read a ferry JSON report; the error says what is wrong with it.
fn read(path: &Path) -> Result<Run, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    if !v["ferry_version"].is_string() {
        return Err("not a ferry report (no `ferry_version`)".into());
    }
    match v["version"].as_u64() {
        // Reports before the format had a version hold the same fields.
        None | Some(1) => {}
        Some(n) => {
            return Err(format!(
                "report format version {n}; this ferry reads version 1"
            ))
        }
    }
    let mut tables = BTreeMap::new();
    let list = v["tables"].as_array().ok_or("`tables` is not a list")?;
    for t in list {
        let name = t["table"].as_str().ok_or("a table without `table`")?;
        tables.insert(
            name.to_string(),
            Numbers {
                rows: num(&t["rows_written"], "rows_written")?,
                bytes: num(&t["bytes"], "bytes")?,
                seconds: secs(&t["seconds"], "seconds")?,
            },
        );
    }
    Ok(Run {
        status: v["status"].as_str().unwrap_or("").to_string(),
        total: Numbers {
            rows: num(&v["totals"]["rows_written"], "totals.rows_written")?,
            bytes: num(&v["totals"]["bytes"], "totals.bytes")?,
            seconds: secs(&v["seconds"], "seconds")?,
        },
        peak_rss: v["totals"]["peak_rss_bytes"].as_u64(),
        tables,
    })
}

/// `+12.3%` from `base` to `new`; `n/a` without a base.
fn change(base: f64, new: f64) -> String {
    if base > 0.0 {
        format!("{:+.1}%", (new - base) / base * 100.0)
    } else {
        "n/a".into()
    }
}

fn row(name: &str, base: Option<Numbers>, new: Option<Numbers>) -> String {
    let cell = |n: Option<Numbers>, f: fn(Numbers) -> String| n.map_or("-".to_string(), f);
    let ch = |f: fn(Numbers) -> f64| match (base, new) {
        (Some(b), Some(n)) => change(f(b), f(n)),
        _ => String::new(),
    };
    format!(
        "{name:<24} {:>10} {:>10} | {:>11} {:>11} {:>7} | {:>8} {:>8} {:>7} | {:>8} {:>8} {:>7}",
        cell(base, |n| n.rows.to_string()),
        cell(new, |n| n.rows.to_string()),
        cell(base, |n| format!("{:.0}", n.rows_per_second())),
        cell(new, |n| format!("{:.0}", n.rows_per_second())),
        ch(Numbers::rows_per_second),
        cell(base, |n| format!("{:.2}", n.mb_per_second())),
        cell(new, |n| format!("{:.2}", n.mb_per_second())),
        ch(Numbers::mb_per_second),
        cell(base, |n| format!("{:.2}", n.seconds)),
        cell(new, |n| format!("{:.2}", n.seconds)),
        ch(|n| n.seconds),
    )
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Print the per-table and total rows, rows/s, MB/s and seconds; returns the row count
/// differences.
fn compare_rows(base: &Run, new: &Run) -> Vec<String> {
    println!(
        "{:<24} {:>10} {:>10} | {:>11} {:>11} {:>7} | {:>8} {:>8} {:>7} | {:>8} {:>8} {:>7}",
        "table",
        "rows base",
        "rows new",
        "rows/s base",
        "rows/s new",
        "change",
        "MB/s base",
        "MB/s new",
        "change",
        "s base",
        "s new",
        "change"
    );
    let mut names: Vec<&String> = base.tables.keys().chain(new.tables.keys()).collect();
    names.sort();
    names.dedup();
    let mut failures = Vec::new();
    for name in names {
        let (b, n) = (
            base.tables.get(name).copied(),
            new.tables.get(name).copied(),
        );
        println!("{}", row(name, b, n));
        match (b, n) {
            (Some(b), Some(n)) if b.rows != n.rows => failures.push(format!(
                "table {name}: {} rows, the baseline moved {}",
                n.rows, b.rows
            )),
            (Some(_), None) => failures.push(format!("table {name}: missing from the new run")),
            (None, Some(_)) => failures.push(format!("table {name}: not in the baseline")),
            _ => {}
        }
    }
    println!("{}", row("total", Some(base.total), Some(new.total)));
    if base.total.rows != new.total.rows {
        failures.push(format!(
            "total: {} rows, the baseline moved {}",
            new.total.rows, base.total.rows
        ));
    }
    failures
}

/// Print the peak RSS of both runs and fail a growth above `max_growth` percent.
fn compare_rss(base: Option<u64>, new: Option<u64>, max_growth: f64, failures: &mut Vec<String>) {
    match (base, new) {
        (Some(b), Some(n)) => {
            println!(
                "peak RSS: {} -> {} ({})",
                mb(b),
                mb(n),
                change(b as f64, n as f64)
            );
            if n as f64 > b as f64 * (1.0 + max_growth / 100.0) {
                failures.push(format!(
                    "peak RSS {} is {} of the baseline's {} (at most +{max_growth}% allowed)",
                    mb(n),
                    change(b as f64, n as f64),
                    mb(b),
                ));
            }
        }
        (b, n) => {
            println!(
                "peak RSS: {} -> {} (not compared: a report without it)",
                b.map_or("-".into(), mb),
                n.map_or("-".into(), mb)
            );
        }
    }
}

/// Print the comparison and decide the exit.
fn compare(a: &CompareArgs) -> Exit {
    let (base, new) = match (read(&a.base), read(&a.new)) {
        (Ok(b), Ok(n)) => (b, n),
        (b, n) => {
            for (path, r) in [(&a.base, b.err()), (&a.new, n.err())] {
                if let Some(e) = r {
                    eprintln!("ferry: cannot read report {}: {e}", path.display());
                }
            }
            return Exit::Failed;
        }
    };
    let mut failures = compare_rows(&base, &new);
    if new.status != "complete" {
        failures.push(format!(
            "the new run did not complete (status {})",
            new.status
        ));
    }
    let allowed = base.total.seconds * (1.0 + a.max_slower / 100.0);
    if new.total.seconds > allowed {
        failures.push(format!(
            "wall time {:.2} s is {} of the baseline's {:.2} s (at most +{}% allowed)",
            new.total.seconds,
            change(base.total.seconds, new.total.seconds),
            base.total.seconds,
            a.max_slower
        ));
    }
    compare_rss(base.peak_rss, new.peak_rss, a.max_rss_growth, &mut failures);
    if failures.is_empty() {
        println!(
            "ok: same rows, within +{}% wall time and +{}% peak RSS",
            a.max_slower, a.max_rss_growth
        );
        Exit::Ok
    } else {
        for f in &failures {
            println!("FAIL: {f}");
        }
        Exit::Incomplete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_with_or_without_the_sign() {
        assert_eq!(percent("10%"), Ok(10.0));
        assert_eq!(percent("2.5"), Ok(2.5));
        assert!(percent("-1%").is_err());
        assert!(percent("ten").is_err());
        assert!(percent("inf").is_err());
    }

    #[test]
    fn changes_are_signed_percentages() {
        assert_eq!(change(10.0, 11.0), "+10.0%");
        assert_eq!(change(10.0, 9.0), "-10.0%");
        assert_eq!(change(0.0, 9.0), "n/a");
    }
}
