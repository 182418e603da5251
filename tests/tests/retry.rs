//! The target kills ferry's COPY session mid-load (`pg_terminate_backend`, as an operator or
//! a failover would): the chunk it was loading is retried and the run ends complete, with
//! every row once.

use ferry_tests::{ferry_bin, read_report, PgDb, TempDir};
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const ROWS: i64 = 500_000;

#[test]
fn a_killed_target_session_is_retried_and_nothing_is_lost_or_doubled() {
    let tmp = TempDir::new("retry");
    let file = tmp.join("src.db");
    let mut c = Connection::open(&file).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at DATETIME NOT NULL);",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO events VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for i in 1..=ROWS {
            ins.execute(rusqlite::params![
                i,
                format!("kind {}", i % 13),
                1_700_000_000 + i
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    drop(c);

    let db = PgDb::new("retry");
    let json = tmp.join("r.json");
    let from = format!("sqlite:{}", file.display());
    let mut child = Command::new(ferry_bin())
        .args([
            "migrate",
            "--from",
            &from,
            "--to",
            &db.url,
            "--batch-rows",
            "500",
            "--verify",
            "content",
            "--json",
        ])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut lines = stderr.lines();
    let mut log = String::new();
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.expect("line");
        log.push_str(&line);
        log.push('\n');
        if !killed
            && line.contains("events: ")
            && line.ends_with(" rows")
            && !line.contains("about")
        {
            let name = db.name.clone();
            let n = db.text(&format!(
                "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity \
                 WHERE datname = '{name}' AND query LIKE 'COPY%' LIMIT 1) AS one"
            ));
            assert_eq!(n.as_deref(), Some("1"), "one COPY session was killed");
            killed = true;
        }
    }
    let status = child.wait().expect("wait");
    assert!(killed, "ferry never reported progress: {log}");
    assert!(status.success(), "{log}");
    // Only the killed chunk (a key range) is loaded again, not the whole table.
    assert!(log.contains("retrying the key range ["), "{log}");
    assert!(log.contains("(1/3)"), "{log}");
    assert_eq!(
        db.text("SELECT count(*) FROM events").as_deref(),
        Some(ROWS.to_string().as_str())
    );
    assert_eq!(
        db.text("SELECT count(DISTINCT id) FROM events").as_deref(),
        Some(ROWS.to_string().as_str())
    );
    let report = read_report(&json);
    assert_eq!(report["status"], "complete");
    assert_eq!(report["tables"][0]["verification"]["content"], "ok");
    assert_eq!(report["tables"][0]["rows_written"], ROWS);
    assert_eq!(
        report["tables"][0]["chunks"], 4,
        "500,000 rows in chunks of half the default --chunk-rows (250,000)"
    );
}
