//! A table big enough for the engine to load as two key ranges at once (more than 400,000
//! rows from SQLite) going to MySQL with an AUTO_INCREMENT key. Two transactions loading
//! one InnoDB table block each other (the AUTO-INC lock of `LOAD DATA`, MariaDB's bulk
//! insert into an empty table) until one commits, and commit waits for both ranges: before
//! the writers of a table shared one session, this load stalled until the server's
//! `net_read_timeout` killed it, three retries included (about four minutes), then failed.

use ferry_tests::{ferry, read_report, MyDb, TempDir};

const ROWS: i64 = 420_000;

/// A 150-character value that differs from row to row.
fn note(i: i64) -> String {
    format!("{i:>10} {}", "ferry moves rows ".repeat(9))
        .chars()
        .take(150)
        .collect()
}

#[test]
fn a_table_loaded_as_two_ranges_completes() {
    let tmp = TempDir::new("my_split");
    let file = tmp.join("src.db");
    let mut c = rusqlite::Connection::open(&file).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, note TEXT NOT NULL);",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO events VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for i in 1..=ROWS {
            // Enough bytes per range (about 30 MB) that a blocked range cannot park its rows
            // in the socket buffers and finish anyway.
            ins.execute(rusqlite::params![i, format!("kind {}", i % 13), note(i)])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    drop(c);
    let db = MyDb::new("ferry_split");
    let json = tmp.join("r.json");
    let started = std::time::Instant::now();
    let run = ferry(&[
        "migrate",
        "--from",
        &format!("sqlite:{}", file.display()),
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["tables"][0]["rows_written"], ROWS);
    let rows = ROWS.to_string();
    assert_eq!(
        db.text("SELECT COUNT(DISTINCT id) FROM events").as_deref(),
        Some(rows.as_str())
    );
    assert_eq!(
        db.text("SELECT MAX(id) FROM events").as_deref(),
        Some(rows.as_str())
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}
