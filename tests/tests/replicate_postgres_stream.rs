//! Large PostgreSQL transactions streamed while still in progress (pgoutput protocol 2,
//! `streaming 'on'`), through the `ferry` binary, into PostgreSQL and into MariaDB.
//!
//! The replication session sets `logical_decoding_work_mem` to 64kB (the test-only
//! `FERRY_TEST_LOGICAL_DECODING_WORK_MEM`; the server is shared, so no ALTER SYSTEM), so the
//! server streams every transaction of more than a few hundred rows in blocks before it
//! commits, interleaved with the small transactions a workload commits meanwhile. Covered:
//! a 100,000-row transaction of wide values with updates and deletes of its own rows;
//! `ROLLBACK TO SAVEPOINT` inside a streamed transaction (nested savepoints too); a streamed
//! transaction rolled back entirely; ferry killed with SIGKILL while a transaction is
//! streaming (before its commit) and again while it applies one, then `ferry replicate`
//! resumed. `ferry cutover` then compares every value (exit 0), the server's slot statistics
//! prove the transactions were streamed, and nothing of the rolled-back parts arrived.

#![allow(clippy::unwrap_used)]

use ferry_tests::{ferry, seeded_rng, spawn_ferry, wait_for, MyDb, PgDb, PgWorkload};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SCHEMA: &str = "
CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL, n int);
CREATE TABLE small (id serial PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO small (v, note) SELECT g, 'seed' FROM generate_series(1, 50) g;
";

/// Rows of the large transaction.
const BIG: i64 = 100_000;

/// A source database whose replication slots are dropped before the database itself.
struct Source {
    db: PgDb,
}

impl Drop for Source {
    fn drop(&mut self) {
        ferry_tests::drop_replication_slots(&self.db.name);
    }
}

impl Source {
    /// Transactions the server streamed from this database's slot while in progress, and
    /// the stream blocks it sent.
    fn streamed(&self) -> (i64, i64) {
        let name = self.db.name.clone();
        ferry_tests::block_on(async move {
            let row = ferry_tests::pg_connect(&ferry_tests::pg_admin_url())
                .await
                .query_one(
                    "SELECT coalesce(sum(stream_txns), 0)::int8, coalesce(sum(stream_count), 0)::int8 \
                     FROM pg_stat_replication_slots s JOIN pg_replication_slots r USING (slot_name) \
                     WHERE r.database = $1",
                    &[&name],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        })
    }

    /// Wait (up to 180 s) until the target holds everything committed so far: the slot's
    /// confirmed position (reported only after the target committed) reaches the WAL's end.
    fn wait_applied(&self) {
        let lsn = self.db.text("SELECT pg_current_wal_lsn()::text").unwrap();
        let start = Instant::now();
        while self.db.text(&format!(
            "SELECT bool_and(confirmed_flush_lsn >= '{lsn}') FROM pg_replication_slots \
             WHERE database = current_database()"
        )) != Some("true".into())
        {
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "the target did not catch up with {lsn}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Wait (up to 60 s) until the server has sent more than `blocks` stream blocks.
    fn wait_streamed_past(&self, blocks: i64) {
        let start = Instant::now();
        while self.streamed().1 <= blocks {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the server streamed no block of the open transaction"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The small transactions committed while the large ones stream.
fn small_step(n: u64) -> String {
    match n % 3 {
        0 => format!("INSERT INTO small (v, note) VALUES ({n}, 'w{n}')"),
        1 => format!("UPDATE small SET v = v + 1 WHERE id = {}", 1 + n % 50),
        _ => format!(
            "BEGIN; UPDATE small SET note = 'moved {n}' WHERE id = {}; \
             DELETE FROM small WHERE id = (SELECT max(id) FROM small WHERE note LIKE 'w%'); COMMIT",
            1 + (n * 7) % 50
        ),
    }
}

/// A transaction held open on its own connection: `first` runs now, `rest` (ending with
/// COMMIT) once the returned sender is told to go on; the handle ends after it.
fn open_transaction(
    url: &str,
    first: String,
    rest: String,
) -> (
    mpsc::Sender<()>,
    mpsc::Receiver<()>,
    std::thread::JoinHandle<()>,
) {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let url = url.to_string();
    let handle = std::thread::spawn(move || {
        ferry_tests::block_on(async move {
            let db = ferry_tests::pg_connect(&url).await;
            db.batch_execute(&first).await.unwrap();
            ran_tx.send(()).unwrap();
            while go_rx.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            db.batch_execute(&rest).await.unwrap();
        })
    });
    (go_tx, ran_rx, handle)
}

fn count(text: Option<String>) -> i64 {
    text.unwrap().parse().unwrap()
}

fn streams_large_transactions(target: &str, target_count: &dyn Fn(&str) -> i64) {
    // Every ferry this test starts inherits it.
    std::env::set_var("FERRY_TEST_LOGICAL_DECODING_WORK_MEM", "64kB");
    let mut random = seeded_rng();
    let src = Source {
        db: PgDb::new("repl_stream_src"),
    };
    src.db.exec(SCHEMA);
    let from = src.db.url.clone();
    let (mut child, rx) = spawn_ferry(&["migrate", "--from", &from, "--to", target, "--replicate"]);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    let work = PgWorkload::start(&from, Duration::from_millis(5), small_step);

    // One large transaction of wide values, touching its own rows again before it commits.
    src.db.exec(&format!(
        "BEGIN; \
         INSERT INTO big SELECT g, repeat(md5(g::text), 8), g FROM generate_series(1, {BIG}) g; \
         UPDATE big SET n = -n, payload = 'updated ' || id WHERE id % 1000 = 0; \
         DELETE FROM big WHERE id % 5000 = 1; \
         COMMIT"
    ));
    // Savepoints inside a streamed transaction: b nests in a; a is rolled back (with b),
    // c is released, d is rolled back.
    src.db.exec(
        "BEGIN; \
         INSERT INTO big SELECT g, 'kept ' || g, 1 FROM generate_series(1000001, 1020000) g; \
         SAVEPOINT a; \
         INSERT INTO big SELECT g, 'lost a ' || g, 2 FROM generate_series(2000001, 2020000) g; \
         SAVEPOINT b; \
         INSERT INTO big SELECT g, 'lost b ' || g, 3 FROM generate_series(2100001, 2105000) g; \
         RELEASE b; \
         ROLLBACK TO a; \
         INSERT INTO big SELECT g, 'kept after a ' || g, 4 FROM generate_series(3000001, 3005000) g; \
         SAVEPOINT c; \
         UPDATE big SET payload = 'kept c' WHERE id BETWEEN 1000001 AND 1000100; \
         RELEASE c; \
         SAVEPOINT d; \
         DELETE FROM big WHERE id BETWEEN 1000101 AND 1010000; \
         ROLLBACK TO d; \
         COMMIT",
    );
    // A streamed transaction rolled back entirely.
    src.db.exec(
        "BEGIN; \
         INSERT INTO big SELECT g, 'rolled back ' || g, 5 FROM generate_series(4000001, 4030000) g; \
         ROLLBACK",
    );

    // ferry is killed while a transaction streams, before its commit: the next ferry gets
    // it again from the start. (Once the transactions above are applied, the next stream
    // block the server sends is the open transaction's.)
    src.wait_applied();
    let before = src.streamed().1;
    let (go, ran, open) = open_transaction(
        &from,
        "BEGIN; INSERT INTO big SELECT g, 'open ' || g, 6 FROM generate_series(5000001, 5060000) g"
            .into(),
        "INSERT INTO big SELECT g, 'open later ' || g, 7 FROM generate_series(5060001, 5090000) g; \
         UPDATE big SET n = 0 WHERE id BETWEEN 5000001 AND 5000500; COMMIT"
            .into(),
    );
    ran.recv_timeout(Duration::from_secs(120)).unwrap();
    src.wait_streamed_past(before);
    child.kill().unwrap();
    child.wait().unwrap();
    let (c, _rx) = spawn_ferry(&["replicate", "--from", &from, "--to", target]);
    child = c;
    std::thread::sleep(Duration::from_millis(500 + (random() * 1500.0) as u64));
    go.send(()).unwrap();
    open.join().unwrap();
    // Killed again at a random moment while the committed transaction applies.
    std::thread::sleep(Duration::from_millis(200 + (random() * 2500.0) as u64));
    child.kill().unwrap();
    child.wait().unwrap();
    let (c, _rx) = spawn_ferry(&["replicate", "--from", &from, "--to", target]);
    child = c;
    std::thread::sleep(Duration::from_secs(2));

    let written = work.finish();
    assert!(
        written > 50,
        "the workload wrote only {written} transactions"
    );
    let (txns, blocks) = src.streamed();
    assert!(
        txns >= 4 && blocks > 20,
        "the server streamed {txns} transactions in {blocks} blocks: streaming was not used"
    );

    let cut = ferry(&[
        "cutover",
        "--from",
        &from,
        "--to",
        target,
        "--timeout",
        "300s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the applier kept running after the cutover"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        count(
            src.db.text(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"
            )
        ),
        0,
        "the cutover left a slot"
    );

    // What the source holds arrived (the cutover compared every value); what was rolled
    // back did not.
    let expected = BIG - BIG / 5000 + 20_000 + 5_000 + 90_000;
    assert_eq!(count(src.db.text("SELECT count(*) FROM big")), expected);
    assert_eq!(target_count("SELECT count(*) FROM big"), expected);
    assert_eq!(
        target_count("SELECT count(*) FROM big WHERE id BETWEEN 2000001 AND 2999999"),
        0,
        "rolled-back savepoint rows arrived"
    );
    assert_eq!(
        target_count("SELECT count(*) FROM big WHERE id BETWEEN 4000001 AND 4999999"),
        0,
        "rows of a rolled-back transaction arrived"
    );
    assert_eq!(
        target_count("SELECT count(*) FROM big WHERE payload = 'kept c'"),
        100
    );
    assert_eq!(
        target_count("SELECT count(*) FROM big WHERE n = 0 AND id > 5000000"),
        500
    );
    assert_eq!(
        target_count("SELECT count(*) FROM small"),
        count(src.db.text("SELECT count(*) FROM small"))
    );
}

#[test]
fn large_streamed_transactions_postgres_to_postgres() {
    let dst = PgDb::new("repl_stream_pg");
    streams_large_transactions(&dst.url, &|sql| count(dst.text(sql)));
}

#[test]
fn large_streamed_transactions_postgres_to_mysql() {
    let dst = MyDb::new("repl_stream_my");
    streams_large_transactions(&dst.url, &|sql| count(dst.text(sql)));
}
