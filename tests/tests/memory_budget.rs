//! The run's memory budget (issue 11, part 6): every reader takes a share of one byte budget
//! before it sends a batch and the sink gives it back once written. A budget far smaller than
//! what the busy chunk lanes would hold (lanes x channel batches x batch size), with batches
//! bigger than the whole budget among them, still moves every row exactly and does not hang.

use ferry_core::ConnUrl;
use ferry_engine::events::ignore;
use ferry_engine::{migrate, MigrateOptions, RunStatus};
use ferry_tests::{MyDb, PgDb, TempDir};
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

/// Rows per table.
const ROWS: i64 = 12_000;

/// The text of row `id` in table `t`: short in `narrow`, 3 KB in `wide`.
fn body(table: &str, id: i64) -> String {
    let len = if table == "wide" {
        3_000
    } else {
        10 + (id % 50) as usize
    };
    let seed = format!("{table}-{id}-");
    seed.chars().cycle().take(len).collect()
}

const TABLES: [&str; 4] = ["narrow", "narrow2", "narrow3", "wide"];

fn source(dir: &TempDir) -> String {
    let path = dir.join("src.db");
    let mut c = Connection::open(&path).expect("sqlite");
    let tx = c.transaction().expect("tx");
    for t in TABLES {
        tx.execute_batch(&format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, body TEXT NOT NULL)"
        ))
        .expect("create");
        let mut insert = tx
            .prepare(&format!("INSERT INTO {t} VALUES (?1, ?2, ?3)"))
            .expect("prepare");
        for id in 1..=ROWS {
            insert
                .execute(rusqlite::params![id, id * 7, body(t, id)])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    format!("sqlite://{}", path.display())
}

/// Run the migration on a 4-thread runtime; a run that does not finish in 10 minutes (a
/// budget that never frees would hang it) fails the test.
fn run(opts: &MigrateOptions, events: ferry_engine::events::EventHandler) -> ferry_engine::Report {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(600),
                migrate(opts, &ferry_drivers::Drivers::default(), events),
            )
            .await
        })
        .expect("the run finished (a budget that never frees would hang it)")
        .expect("migrate")
}

#[test]
fn a_budget_smaller_than_lanes_times_batches_moves_every_row_exactly() {
    let dir = TempDir::new("budget");
    let from = source(&dir);
    let db = PgDb::new("budget");
    let mut opts = MigrateOptions::new(
        ConnUrl::parse(&from).expect("from"),
        ConnUrl::parse(&db.url).expect("to"),
    );
    opts.jobs = 4;
    // 12,000 rows in chunks of 2,000: every table loads in several chunk lanes at once.
    opts.chunk_rows = 2_000;
    opts.batch.max_rows = 250;
    // One `wide` batch holds about 750 KB; a `narrow` one about 25 KB. 8 lanes with 3
    // batches each in flight would hold megabytes; the budget is 64 KB.
    opts.memory_budget = 64 << 10;
    opts.verify_content = true;
    let report = run(&opts, ignore());
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
    for t in TABLES {
        let line = report
            .tables
            .iter()
            .find(|r| r.table == t)
            .unwrap_or_else(|| panic!("no report line for {t}"));
        assert_eq!(line.rows_written, ROWS as u64, "{t}");
        assert!(line.chunks > 1, "{t} loaded in one chunk: {}", line.chunks);
        // Every row, once, with its values.
        let rows = db.with(async |c| {
            c.query(&format!("SELECT id, n, body FROM {t} ORDER BY id"), &[])
                .await
                .expect("select")
        });
        assert_eq!(rows.len(), ROWS as usize, "{t}");
        for (row, id) in rows.iter().zip(1..=ROWS) {
            assert_eq!(row.get::<_, i64>(0), id, "{t}");
            assert_eq!(row.get::<_, i64>(1), id * 7, "{t} id {id}");
            assert_eq!(row.get::<_, String>(2), body(t, id), "{t} id {id}");
        }
    }
}

/// The chunk lanes of one table load into MariaDB side by side under a small budget, with
/// no lane waiting on another. With `unique_checks = 0` as well as `foreign_key_checks = 0`,
/// MariaDB 10.6+ loaded into an empty table in bulk mode under a table lock held to the
/// transaction's end: the second lane waited for the first one's commit while its batches
/// held the budget the first lane needed, until the lock wait timeout (50 s) or a deadlock,
/// and the chunk was retried (this test took 54 s and failed). Readers with nothing in
/// flight also never wait for the budget now, so a lane stalled on the target cannot
/// starve the others.
#[test]
fn chunk_lanes_of_one_table_load_into_mariadb_without_waiting_on_each_other() {
    let dir = TempDir::new("budget_my");
    let from = source(&dir);
    let db = MyDb::new("budget_my");
    let mut opts = MigrateOptions::new(
        ConnUrl::parse(&from).expect("from"),
        ConnUrl::parse(&db.url).expect("to"),
    );
    opts.jobs = 4;
    opts.chunk_rows = 3_000;
    opts.batch.max_rows = 250;
    opts.memory_budget = 256 << 10;
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&warnings);
    let events: ferry_engine::events::EventHandler = Arc::new(move |e| {
        if let ferry_engine::events::Event::Warning(w) = e {
            seen.lock().expect("lock").push(w.clone());
        }
    });
    let report = run(&opts, events);
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
    let warnings = warnings.lock().expect("lock").clone();
    assert!(
        !warnings.iter().any(|w| w.contains("retrying")),
        "a chunk waited for a lock and was retried: {warnings:#?}"
    );
    for t in TABLES {
        let line = report
            .tables
            .iter()
            .find(|r| r.table == t)
            .unwrap_or_else(|| panic!("no report line for {t}"));
        assert_eq!(line.rows_written, ROWS as u64, "{t}");
        assert!(line.chunks > 1, "{t} loaded in one chunk: {}", line.chunks);
    }
}
