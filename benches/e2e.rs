//! `ferry-bench`: the end-to-end throughput run. Generates a deterministic SQLite database
//! (or takes an existing source URL), migrates it with the release `ferry` binary into a
//! fresh PostgreSQL database, samples the process's peak RSS, and writes JSON.
//!
//! ```text
//! cargo build --release --bin ferry --bin ferry-bench
//! target/release/ferry-bench --rows 1000000 --pg postgres://postgres:ferrytest@127.0.0.1:55439/postgres --json bench.json
//! ```

use ferry_benches::generate_sqlite;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    rows: u64,
    db: PathBuf,
    from: Option<String>,
    pg: String,
    ferry: PathBuf,
    json: Option<PathBuf>,
    jobs: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        rows: 1_000_000,
        db: PathBuf::from("target/bench/source.db"),
        from: None,
        pg: std::env::var("FERRY_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres:ferrytest@127.0.0.1:55439/postgres".into()),
        ferry: PathBuf::from("target/release/ferry"),
        json: None,
        jobs: "4".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = val()?.parse().map_err(|_| "--rows: not a number")?,
            "--db" => a.db = PathBuf::from(val()?),
            "--from" => a.from = Some(val()?),
            "--pg" => a.pg = val()?,
            "--ferry" => a.ferry = PathBuf::from(val()?),
            "--json" => a.json = Some(PathBuf::from(val()?)),
            "--jobs" => a.jobs = val()?,
            other => {
                return Err(format!(
                    "unknown flag {other}; see the doc comment in benches/e2e.rs"
                ))
            }
        }
    }
    Ok(a)
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-qc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<(), String> {
    let a = parse()?;
    let from = match &a.from {
        Some(f) => f.clone(),
        None => {
            if !a.db.exists() {
                if let Some(dir) = a.db.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                eprintln!("generating {} rows into {}", a.rows, a.db.display());
                let n = generate_sqlite(&a.db, a.rows).map_err(|e| e.to_string())?;
                eprintln!("generated {n} rows");
            }
            format!("sqlite:{}", a.db.display())
        }
    };
    let target_db = "ferry_bench";
    psql(
        &a.pg,
        &format!("DROP DATABASE IF EXISTS {target_db} WITH (FORCE)"),
    )?;
    psql(&a.pg, &format!("CREATE DATABASE {target_db}"))?;
    let target = format!(
        "{}/{target_db}",
        a.pg.rsplit_once('/').map_or(a.pg.as_str(), |(b, _)| b)
    );
    let report_path = std::env::temp_dir().join(format!("ferry-bench-{}.json", std::process::id()));

    let started = Instant::now();
    let mut child = Command::new(&a.ferry)
        .args([
            "migrate", "--from", &from, "--to", &target, "--jobs", &a.jobs, "--json",
        ])
        .arg(&report_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", a.ferry.display()))?;
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = started.elapsed().as_secs_f64();
    let report: serde_json::Value = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_file(&report_path);
    let rows = report["totals"]["rows_written"].as_u64().unwrap_or(0);
    let bytes = report["totals"]["bytes"].as_u64().unwrap_or(0);
    let out = serde_json::json!({
        "source": from,
        "exit_code": status.code(),
        "rows": rows,
        "payload_bytes": bytes,
        "seconds": seconds,
        "rows_per_second": rows as f64 / seconds,
        "mb_per_second": bytes as f64 / 1e6 / seconds,
        "peak_rss_mb": peak as f64 / 1024.0,
        "phases": report["phases"],
        "status": report["status"],
    });
    let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    match &a.json {
        Some(p) => std::fs::write(p, &text).map_err(|e| e.to_string())?,
        None => println!("{text}"),
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!("ferry exited with {status}"))
    }
}
