//! A run killed mid-table leaves no partial rows behind, and a re-run with
//! `--if-exists drop` gives a correct target.

use ferry_tests::{ferry, ferry_bin, read_report, PgDb, TempDir};
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const ROWS: i64 = 400_000;

fn big_database(path: &std::path::Path) {
    let mut c = Connection::open(path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at DATETIME NOT NULL, body TEXT);
         CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO small VALUES (1, 'one'), (2, 'two');",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO events VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        for i in 1..=ROWS {
            let at = format!(
                "2024-01-{:02} 12:{:02}:{:02}",
                i % 28 + 1,
                i % 60,
                (i * 7) % 60
            );
            ins.execute(rusqlite::params![
                i,
                format!("kind{}", i % 17),
                at,
                "x".repeat((i % 200) as usize)
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
}

#[test]
fn killed_mid_table_then_rerun_with_drop_is_complete() {
    let tmp = TempDir::new("crash");
    let file = tmp.join("big.db");
    big_database(&file);
    let from = format!("sqlite:{}", file.display());
    let db = PgDb::new("crash");

    let mut child = Command::new(ferry_bin())
        .args([
            "migrate",
            "--from",
            &from,
            "--to",
            &db.url,
            "--batch-rows",
            "500",
            "--jobs",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let stderr = child.stderr.take().expect("stderr");
    let mut saw_rows = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("line");
        // The first progress line of the big table: the COPY is under way.
        if line.contains("events: ") && line.ends_with(" rows") && !line.contains("about") {
            saw_rows = true;
            break;
        }
    }
    assert!(saw_rows, "ferry never reported progress on `events`");
    child.kill().expect("kill -9");
    let status = child.wait().expect("wait");
    assert!(!status.success());

    // The interrupted COPY was rolled back: no partial table content.
    assert_eq!(db.text("SELECT count(*) FROM events").as_deref(), Some("0"));
    let refused = ferry(&["migrate", "--from", &from, "--to", &db.url]);
    assert_eq!(refused.code, 2, "{}", refused.all());

    let json = tmp.join("r.json");
    let rerun = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--if-exists",
        "drop",
        "--verify",
        "content",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(rerun.code, 0, "{}", rerun.all());
    assert_eq!(
        db.text("SELECT count(*) FROM events").as_deref(),
        Some(ROWS.to_string().as_str())
    );
    assert_eq!(
        db.text("SELECT count(DISTINCT id) FROM events").as_deref(),
        Some(ROWS.to_string().as_str())
    );
    assert_eq!(
        db.text("SELECT sum(length(body)) FROM events").as_deref(),
        Some(
            ((0..ROWS).map(|i| (i + 1) % 200).sum::<i64>())
                .to_string()
                .as_str()
        )
    );
    assert_eq!(
        db.text("SELECT at FROM events WHERE id = 123457")
            .as_deref(),
        Some("2024-01-06 12:37:19")
    );
    let report = read_report(&json);
    assert_eq!(report["status"], "complete");
    for t in report["tables"].as_array().expect("tables") {
        assert_eq!(t["verification"]["content"], "ok", "{t}");
    }
    assert_eq!(report["totals"]["rows_written"], ROWS + 2);
}
