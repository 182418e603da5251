//! Content verification in bounded memory: a table whose every row differs is reported
//! with a capped list of keys and the total count, without holding its rows; buckets are
//! sized from real row counts, not from a planner estimate (0 on a never-analysed
//! PostgreSQL table).

use ferry_tests::{ferry, ferry_bin, read_report, PgDb, TempDir};
use rusqlite::Connection;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Run `ferry` and return its exit code and peak resident memory in KiB, read from the
/// kernel's high-water mark (`VmHWM`) while it runs.
fn ferry_peak_kib(args: &[&str]) -> (i32, u64) {
    let mut child = Command::new(ferry_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ferry");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_row_differing_is_reported_with_a_capped_list_in_bounded_memory() {
    const ROWS: i64 = 200_000;
    let tmp = TempDir::new("content_bounded");
    let file = tmp.join("src.db");
    let mut c = Connection::open(&file).expect("sqlite");
    c.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL);")
        .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO items VALUES (?1, ?2)")
            .expect("prepare");
        for i in 1..=ROWS {
            ins.execute(rusqlite::params![i, format!("{i:08} {}", "b".repeat(400))])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    drop(c);
    let from = format!("sqlite:{}", file.display());
    let db = PgDb::new("content_bounded");
    let run = ferry(&["migrate", "--from", &from, "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.all());

    let json = tmp.join("r.json");
    let json = json.to_str().expect("utf8");
    let args = [
        "verify",
        "--content",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        json,
    ];
    let (code, equal_peak) = ferry_peak_kib(&args);
    assert_eq!(code, 0, "the copy compares equal");

    db.exec("UPDATE items SET body = body || 'x'");
    let (code, differing_peak) = ferry_peak_kib(&args);
    assert_eq!(code, 1, "every row differs");
    let report = read_report(std::path::Path::new(json));
    let v = &report["tables"][0]["verification"];
    assert_eq!(v["content"], "differs", "{v}");
    let lines: Vec<&str> = v["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .map(|l| l.as_str().unwrap_or(""))
        .collect();
    // The first keys by name, then the total.
    assert!(lines.len() <= 1001, "{} lines", lines.len());
    assert!(
        lines.len() > 100,
        "the list names many keys: {}",
        lines.len()
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("id=") && l.ends_with("differs in body")),
        "{:?}",
        &lines[..3]
    );
    let last = lines[lines.len() - 1];
    assert!(
        last.starts_with(&format!("{ROWS} rows differ in all")),
        "{last}"
    );
    eprintln!("peak: {equal_peak} KiB equal, {differing_peak} KiB with every row differing");
    // 200,000 rows of 400 bytes, both sides, would be held whole without the cap.
    assert!(
        differing_peak <= equal_peak + 40 * 1024,
        "peak {differing_peak} KiB with every row differing, {equal_peak} KiB when equal"
    );
}

#[test]
fn a_never_analysed_postgres_table_gets_buckets_from_its_real_count() {
    let src = PgDb::new("content_unanalysed_src");
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL) WITH (autovacuum_enabled = false);
         INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 30000) g;",
    );
    assert_eq!(
        src.text("SELECT reltuples FROM pg_class WHERE relname = 't'")
            .as_deref(),
        Some("-1"),
        "the table must not have been analysed"
    );
    let dst = PgDb::new("content_unanalysed_dst");
    let run = ferry(&["migrate", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    dst.exec("UPDATE t SET v = v || '!'");
    let run = ferry(&["verify", "--content", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(run.code, 1, "{}", run.all());
    // 30,000 rows: 29 row groups of about 1,024 rows, not the 16 of an estimate of 0.
    assert!(
        run.stdout
            .contains("30000 rows differ in all (29 of 29 row groups)"),
        "{}",
        run.stdout
    );
}
