//! Logical replication against the real test PostgreSQL (`FERRY_TEST_PG`, wal_level=logical):
//! the slot's exported snapshot is what the copy reads, the pgoutput stream carries exactly
//! the transactions after it (every change kind, unchanged TOAST, key changes, truncate, a
//! large transaction in bounded pieces) with the copy's values, the slot's confirmed flush
//! moves only when acknowledged, a changed table stops the stream naming the change, and the
//! slot is dropped at the end. Every test drops its slots even when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_core::{
    Batch, ChangeKind, ChangeStream, ConnUrl, ErrorKind, Position, ReadOptions, Source,
    StreamEvent, Table, Value,
};
use ferry_postgres::PgSource;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn admin_url() -> String {
    std::env::var("FERRY_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres:ferrytest@127.0.0.1:55439/postgres".into())
}

async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("test PostgreSQL unreachable: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A database for one test; dropping it first drops every replication slot on it (a leaked
/// slot would retain WAL and block the database's drop).
struct Db {
    name: String,
    url: String,
}

impl Db {
    async fn new(prefix: &str) -> Db {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "ferry_{prefix}_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        raw_client(&admin_url())
            .await
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create database");
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Db {
            url: format!("{base}/{name}"),
            name,
        }
    }

    async fn client(&self) -> tokio_postgres::Client {
        raw_client(&self.url).await
    }

    fn conn_url(&self) -> ConnUrl {
        ConnUrl::parse(&self.url).expect("url")
    }

    async fn slots(&self) -> Vec<(String, Option<String>)> {
        raw_client(&admin_url())
            .await
            .query(
                "SELECT slot_name::text, confirmed_flush_lsn::text FROM pg_replication_slots WHERE database = $1",
                &[&self.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = admin_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let c = raw_client(&admin).await;
                for _ in 0..50 {
                    let _ = c
                        .execute(
                            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL",
                            &[&name],
                        )
                        .await;
                    let dropped = c
                        .execute(
                            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
                            &[&name],
                        )
                        .await;
                    if dropped.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let _ = c
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            })
        })
        .join();
    }
}

const SCHEMA: &str = "
CREATE TABLE acct (id int PRIMARY KEY, name text NOT NULL, big text, n numeric(10,2),
  addr inet, tags text[], doc jsonb, at timestamptz);
CREATE TABLE plain (a int, b text);
-- Out of line and uncompressed: an update that leaves `big` alone sends it as unchanged.
ALTER TABLE acct ALTER COLUMN big SET STORAGE EXTERNAL;
INSERT INTO acct SELECT g, 'n' || g, repeat('x', 6000) || g, g * 1.25, ('10.0.0.' || g)::inet,
  ARRAY['t' || g, NULL], jsonb_build_object('g', g), '2024-01-01 00:00+00'
  FROM generate_series(1, 100) g;
INSERT INTO plain VALUES (1, 'one'), (1, 'one'), (2, 'two');
";

async fn read_all(source: &PgSource, table: &Table) -> Vec<Vec<Value>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let t = table.clone();
    let reader = async move { source.read_table(&t, &ReadOptions::default(), tx).await };
    let collect = async move {
        let mut out: Vec<Batch> = Vec::new();
        while let Some(b) = rx.recv().await {
            out.push(b);
        }
        out
    };
    let (stats, batches) = tokio::join!(reader, collect);
    stats.expect("read");
    let mut rows = Vec::new();
    for b in batches {
        for i in 0..b.rows() {
            rows.push(b.row(i).to_vec());
        }
    }
    rows
}

fn table(tables: &[Table], name: &str) -> Table {
    tables.iter().find(|t| t.name == name).unwrap().clone()
}

/// Events until the stream ends (it was opened with an end).
async fn drain(stream: &mut Box<dyn ChangeStream>) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let next = tokio::time::timeout_at(deadline.into(), stream.next())
            .await
            .expect("the stream reached its end in time")
            .expect("stream");
        match next {
            Some(ev) => out.push(ev),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_reads_the_slots_snapshot_and_the_stream_carries_exactly_the_rest() {
    let db = Db::new("pgrepl_stream").await;
    let c = db.client().await;
    c.batch_execute(SCHEMA).await.unwrap();
    let source = PgSource::open(db.conn_url(), None).await.expect("open");
    source
        .check_replication()
        .await
        .expect("preconditions hold");
    let tables = source.schema().await.unwrap().tables;

    // A table without a key is refused by name, before anything is created.
    let refused = source
        .prepare_replication(&tables, false)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Config);
    assert!(refused.to_string().contains("`public.plain`"), "{refused}");
    assert!(
        refused.to_string().contains("--set-replica-identity"),
        "{refused}"
    );
    assert!(db.slots().await.is_empty());
    source
        .prepare_replication(&tables, true)
        .await
        .expect("prepare");
    assert_eq!(db.slots().await.len(), 1);

    // Written after the slot: the copy must not see these, the stream must carry each once.
    // One simple query per source transaction (several in one would be one transaction).
    for txn in [
        "INSERT INTO acct VALUES (101, 'new', 'small', 1.5, '::1', '{a}', '[1]', now())",
        "UPDATE acct SET name = 'renamed' WHERE id = 1",
        "UPDATE acct SET id = 2002 WHERE id = 2",
        "DELETE FROM acct WHERE id = 3",
        "BEGIN; UPDATE acct SET n = n + 1 WHERE id = 4; \
         UPDATE plain SET b = 'uno' WHERE ctid = (SELECT min(ctid) FROM plain WHERE b = 'one'); COMMIT",
        "INSERT INTO plain SELECT g, 'bulk' FROM generate_series(1, 5000) g",
        "TRUNCATE plain",
    ] {
        c.batch_execute(txn).await.unwrap();
    }

    let acct = table(&tables, "acct");
    let copied = read_all(&source, &acct).await;
    assert_eq!(copied.len(), 100, "the copy reads the slot's snapshot");
    assert!(copied.iter().any(|r| r[1] == Value::Text("n1".into())));
    let from = source.snapshot_position().await.unwrap().expect("position");
    assert!(from.0.starts_with("ferry_"), "{from}");

    let until = source.current_position().await.unwrap();
    let mut stream = source
        .changes(&tables, &from, Some(&until), &ReadOptions::default())
        .await
        .expect("stream");
    let events = drain(&mut stream).await;
    let commits: Vec<&Position> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Commit { end, .. } => Some(end),
            _ => None,
        })
        .collect();
    assert_eq!(commits.len(), 7, "{events:#?}");
    let mut changes = Vec::new();
    let mut pieces_of_bulk = 0;
    for e in &events {
        if let StreamEvent::Changes(c) = e {
            if c.iter()
                .any(|c| c.table == 1 && c.kind == ChangeKind::Insert)
            {
                pieces_of_bulk += 1;
                assert!(c.len() <= 2_000, "pieces stay bounded");
            }
            changes.extend(c.iter().cloned());
        }
    }
    assert!(pieces_of_bulk >= 3, "a large transaction comes in pieces");
    assert_eq!(changes.len(), 1 + 1 + 1 + 1 + 2 + 5000 + 1);

    // The insert decodes exactly as the copy reads the same row.
    let fresh = PgSource::open(db.conn_url(), None).await.unwrap();
    let now_rows = read_all(&fresh, &acct).await;
    fresh.close().await.unwrap();
    let row101 = now_rows.iter().find(|r| r[0] == Value::Int(101)).unwrap();
    assert_eq!(changes[0].after.as_ref().unwrap(), row101);
    assert_eq!(changes[0].kind, ChangeKind::Insert);

    // The rename left the TOASTed column out: it is marked unchanged, not NULLed.
    let rename = &changes[1];
    assert_eq!(rename.kind, ChangeKind::Update);
    assert_eq!(rename.unchanged, vec![2], "{rename:?}");
    assert_eq!(rename.before.as_ref().unwrap()[0], Value::Int(1));
    assert_eq!(
        rename.after.as_ref().unwrap()[1],
        Value::Text("renamed".into())
    );

    // A key change names the old key.
    let rekey = &changes[2];
    assert_eq!(rekey.before.as_ref().unwrap()[0], Value::Int(2));
    assert_eq!(rekey.after.as_ref().unwrap()[0], Value::Int(2002));
    assert_eq!(changes[3].kind, ChangeKind::Delete);
    assert_eq!(changes[3].before.as_ref().unwrap()[0], Value::Int(3));
    // The keyless table's update carries the whole old row (REPLICA IDENTITY FULL).
    let keyless = &changes[5];
    assert_eq!(keyless.table, 1);
    assert_eq!(
        keyless.before.as_ref().unwrap(),
        &vec![Value::Int(1), Value::Text("one".into())]
    );
    assert_eq!(changes.last().unwrap().kind, ChangeKind::Truncate);

    // The slot's confirmed flush moves only with an acknowledgement.
    let confirmed = || async { db.slots().await[0].1.clone().unwrap_or_default() };
    let before = confirmed().await;
    let last = commits.last().unwrap().to_string();
    let last_lsn = last.split_once(':').unwrap().1.to_string();
    assert_ne!(before, last_lsn);
    drop(stream);
    let mut stream = source
        .changes(&tables, &from, None, &ReadOptions::default())
        .await
        .expect("stream again");
    // Nothing was acknowledged: the same first transaction comes again.
    let again = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(again, StreamEvent::Changes(ref c) if c[0] == changes[0]),
        "{again:?}"
    );
    stream.acknowledge(&Position(last.clone())).await.unwrap();
    let start = Instant::now();
    while confirmed().await != last_lsn {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "flush LSN never confirmed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(stream);

    // A column added on the source stops the stream, naming table and change.
    c.batch_execute(
        "ALTER TABLE acct ADD COLUMN extra int; INSERT INTO acct (id, name, extra) VALUES (500, 'x', 1);",
    )
    .await
    .unwrap();
    let mut stream = source
        .changes(
            &tables,
            &Position(last.clone()),
            None,
            &ReadOptions::default(),
        )
        .await
        .unwrap();
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("an answer in time")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    assert!(err.to_string().contains("`public.acct`"), "{err}");
    assert!(
        err.to_string().contains("column `extra` was added"),
        "{err}"
    );
    drop(stream);

    // Ending replication drops the slot and the publication.
    source.end_replication(&Position(last)).await.unwrap();
    assert!(db.slots().await.is_empty());
    let pubs: i64 = c
        .query_one("SELECT count(*) FROM pg_publication", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pubs, 0);
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_never_hands_its_position_over_drops_its_slot() {
    let db = Db::new("pgrepl_abandon").await;
    db.client()
        .await
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .unwrap();
    let source = PgSource::open(db.conn_url(), None).await.unwrap();
    let tables = source.schema().await.unwrap().tables;
    source.prepare_replication(&tables, false).await.unwrap();
    assert_eq!(db.slots().await.len(), 1);
    source.close().await.unwrap();
    assert!(db.slots().await.is_empty(), "a failed copy leaves no slot");
}
