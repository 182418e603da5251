//! Load chunks planned from real row counts and key bounds: sparse keys (epoch-millisecond
//! ids, big gaps, a dense cluster beside a sparse tail) give few chunks, none empty and none
//! over the piece size, on a real SQLite file, PostgreSQL and MariaDB source.

use ferry_core::{ConnUrl, Table};
use ferry_engine::chunking::{plan_table, ChunkPlan, MAX_CHUNKS};
use ferry_engine::progress::Chunk;
use ferry_tests::{block_on, ferry, read_report, MyDb, PgDb, TempDir};
use rusqlite::Connection;

/// Rows per chunk asked for.
const PIECE: u64 = 5_000;

/// Keys: 20,000 dense (1..=20,000) and 10,000 sparse ones a billion apart.
fn skewed_keys() -> Vec<i64> {
    (1..=20_000i64)
        .chain((1..=10_000i64).map(|i| i * 1_000_000_000))
        .collect()
}

/// The three epoch-millisecond ids of the report.
const EPOCH_IDS: [i64; 3] = [1, 1_700_000_000_000, 1_800_000_000_000];

async fn plan(url: &str, table: &str, piece: u64) -> (ChunkPlan, Table) {
    let url = ConnUrl::parse(url).expect("url");
    let source = ferry_core::Connector::open_source(&ferry_drivers::Drivers::default(), &url)
        .await
        .expect("open source");
    let schema = source.schema().await.expect("schema");
    let t = schema
        .tables
        .iter()
        .find(|t| t.name == table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .clone();
    let planned = plan_table(source.as_ref(), &t, piece).await.expect("plan");
    let _ = source.close().await;
    (planned, t)
}

/// The chunks cover every key once, each holds 1..=`piece` rows, and there are as few as
/// the rows need.
fn check(chunks: &[Chunk], keys: &[i64], piece: u64, context: &str) {
    let rows = keys.len() as u64;
    if chunks == [Chunk::WHOLE] {
        assert!(
            rows <= piece,
            "{context}: {rows} rows in one whole-table chunk"
        );
        return;
    }
    assert_eq!(
        chunks.len() as u64,
        rows.div_ceil(piece),
        "{context}: {chunks:?}"
    );
    for w in chunks.windows(2) {
        assert_eq!(w[0].hi, w[1].lo, "{context}: gap or overlap");
    }
    for c in chunks {
        let n = keys.iter().filter(|&&k| k >= c.lo && k < c.hi).count() as u64;
        assert!(
            (1..=piece).contains(&n),
            "{context}: chunk {c:?} holds {n} rows"
        );
    }
    let covered = keys
        .iter()
        .filter(|&&k| chunks.iter().any(|c| k >= c.lo && k < c.hi))
        .count();
    assert_eq!(covered, keys.len(), "{context}: keys outside every chunk");
}

fn sqlite_file(dir: &TempDir, keys: &[i64]) -> String {
    let path = dir.join("src.db");
    let mut c = Connection::open(&path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE notes (body TEXT NOT NULL);",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    for &k in keys {
        tx.execute(
            "INSERT INTO events VALUES (?1, ?2)",
            rusqlite::params![k, format!("event {k}")],
        )
        .expect("insert");
        // A table without a declared key: split on its hidden rowid.
        tx.execute(
            "INSERT INTO notes (rowid, body) VALUES (?1, ?2)",
            rusqlite::params![k, format!("note {k}")],
        )
        .expect("insert");
    }
    tx.commit().expect("commit");
    format!("sqlite://{}", path.display())
}

#[test]
fn sqlite_sparse_keys_plan_few_full_chunks() {
    for (name, keys) in [("epoch ids", EPOCH_IDS.to_vec()), ("skewed", skewed_keys())] {
        let dir = TempDir::new("chunk_sqlite");
        let url = sqlite_file(&dir, &keys);
        for table in ["events", "notes"] {
            let context = format!("{name}, {table}");
            let (p, _) = block_on(plan(&url, table, PIECE));
            check(&p.chunks, &keys, PIECE, &context);
            assert_eq!(p.widened, None, "{context}");
            let (p, _) = block_on(plan(&url, table, 1));
            if keys.len() <= 3 {
                // One row per chunk: three chunks, not trillions.
                check(&p.chunks, &keys, 1, &context);
            } else {
                // 30,000 one-row chunks would pass the cap: three rows each instead.
                assert_eq!(p.widened, Some(3), "{context}");
                check(&p.chunks, &keys, 3, &context);
                assert!(p.chunks.len() as u64 <= MAX_CHUNKS, "{context}");
            }
        }
    }
}

#[test]
fn dense_keys_are_split_by_key_range_without_counting_rows() {
    // 1..=12,000 with every third key deleted: dense enough for equal key ranges.
    let keys: Vec<i64> = (1..=12_000i64).filter(|k| k % 3 != 0).collect();
    let dir = TempDir::new("chunk_dense");
    let url = sqlite_file(&dir, &keys);
    let (p, _) = block_on(plan(&url, "events", 1_000));
    // Keys 1..=11,999 in equal ranges of at most 1,000 values: 12 chunks for 8,000 rows.
    assert_eq!(p.chunks.len(), 12, "{:?}", p.chunks);
    assert!(p.chunks.iter().all(|c| c.hi - c.lo <= 1_000));
    assert_eq!(p.chunks[0].lo, 1);
    assert_eq!(p.chunks[11].hi, 12_000);
    for c in &p.chunks {
        let n = keys.iter().filter(|&&k| k >= c.lo && k < c.hi).count();
        assert!((1..=1_000).contains(&n), "chunk {c:?} holds {n} rows");
    }
}

#[test]
fn postgres_sparse_keys_plan_few_full_chunks() {
    let db = PgDb::new("chunk_pg");
    let keys = skewed_keys();
    db.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL);
         CREATE TABLE epoch (id bigint PRIMARY KEY, body text NOT NULL);
         INSERT INTO epoch VALUES (1, 'a'), (1700000000000, 'b'), (1800000000000, 'c');",
    );
    let values: Vec<String> = keys.iter().map(|k| format!("({k}, 'e{k}')")).collect();
    db.exec(&format!("INSERT INTO events VALUES {}", values.join(", ")));
    // Never analysed: the planner's estimate is 0, the plan must not trust it.
    let (p, _) = block_on(plan(&db.url, "events", PIECE));
    check(&p.chunks, &keys, PIECE, "postgres skewed");
    let (p, _) = block_on(plan(&db.url, "epoch", 1));
    check(&p.chunks, &EPOCH_IDS, 1, "postgres epoch ids");
}

#[test]
fn mysql_sparse_keys_plan_few_full_chunks() {
    let db = MyDb::new("chunk_my");
    let keys = skewed_keys();
    db.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, body varchar(40) NOT NULL);
         CREATE TABLE epoch (id bigint PRIMARY KEY, body varchar(40) NOT NULL);
         INSERT INTO epoch VALUES (1, 'a'), (1700000000000, 'b'), (1800000000000, 'c');",
    );
    let values: Vec<String> = keys.iter().map(|k| format!("({k}, 'e{k}')")).collect();
    db.exec(&format!("INSERT INTO events VALUES {}", values.join(", ")));
    let (p, _) = block_on(plan(&db.url, "events", PIECE));
    check(&p.chunks, &keys, PIECE, "mysql skewed");
    let (p, _) = block_on(plan(&db.url, "epoch", 1));
    check(&p.chunks, &EPOCH_IDS, 1, "mysql epoch ids");
}

/// The reported case end to end: three rows with epoch-millisecond ids load as one chunk
/// with the default `--chunk-rows`, and as three with `--chunk-rows 2`.
#[test]
fn three_epoch_ids_migrate_in_few_chunks() {
    let dir = TempDir::new("chunk_e2e");
    let from = sqlite_file(&dir, &EPOCH_IDS);
    for (chunk_rows, chunks) in [(None, 1), (Some("2"), 3)] {
        let target = PgDb::new("chunk_e2e");
        let report = dir.join("report.json");
        let mut args = vec![
            "migrate",
            "--from",
            &from,
            "--to",
            &target.url,
            "--verify",
            "content",
            "--json",
            report.to_str().expect("path"),
        ];
        if let Some(n) = chunk_rows {
            args.extend(["--chunk-rows", n]);
        }
        let run = ferry(&args);
        assert_eq!(run.code, 0, "{}", run.all());
        let report = read_report(&report);
        for t in report["tables"].as_array().expect("tables") {
            assert_eq!(t["rows_written"], 3, "{t}");
            assert_eq!(t["chunks"], chunks, "--chunk-rows {chunk_rows:?}: {t}");
            assert_eq!(t["verification"]["content"], "ok", "{t}");
        }
    }
}
