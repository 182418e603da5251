//! PgSink against the real test PostgreSQL: its sessions read string literals with
//! `standard_conforming_strings = on` even where the database says otherwise, and a
//! statement ferry built runs as one statement.

use ferry_core::{Sink, Step, StepDone};
use ferry_postgres::PgSink;
use ferry_test_support::PgDb;

/// A database whose sessions default to `standard_conforming_strings = off`, with a canary.
fn hostile_db() -> PgDb {
    let db = PgDb::new("pg_session");
    db.exec(&format!(
        "CREATE TABLE canary (v text); INSERT INTO canary VALUES ('alive');
         ALTER DATABASE \"{}\" SET standard_conforming_strings = off",
        db.name
    ));
    db
}

async fn canary(db: &PgDb) -> Vec<String> {
    db.client()
        .await
        .query("SELECT v FROM canary", &[])
        .await
        .expect("canary")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn literals_mean_what_ferry_wrote_and_one_statement_runs() {
    let db = hostile_db();
    let sink = PgSink::open(db.conn_url()).await.expect("sink");
    // With standard_conforming_strings off, '\' would open an escape and the rest of the
    // text would become SQL; ferry's session reads it as one backslash.
    sink.execute(&[
        r"CREATE TABLE t (v text DEFAULT '\' CHECK (v IN ('\', ')); DROP TABLE canary; -- ')))"
            .to_string(),
        r"INSERT INTO t DEFAULT VALUES".to_string(),
    ])
    .await
    .expect("one statement each");
    let rows = sink.query_text("SELECT v FROM t").await.expect("select");
    assert_eq!(rows, vec![vec![Some("\\".to_string())]]);
    for sql in [
        "SELECT 1; DROP TABLE canary",
        "CREATE TABLE u (v text); DROP TABLE canary",
    ] {
        sink.execute(&[sql.to_string()])
            .await
            .expect_err("two statements are refused");
        sink.execute_recorded(&[sql.to_string()], &StepDone::new("t", Step::Index(0)))
            .await
            .expect_err("two statements are refused");
    }
    assert_eq!(canary(&db).await, vec!["alive".to_string()]);
}

/// `standard_conforming_strings = off`: what is recorded reads back exactly, names with
/// quotes and backslashes included, a step recorded twice is there once, a chunk's record
/// commits with its rows, and a new start replaces the old record.
#[tokio::test]
async fn progress_reads_back_as_recorded() {
    use ferry_core::{
        Batch, Chunk, ChunkDone, Column, DataType, DbObject, IfExists, ObjectKind, RunStart, Table,
        Value,
    };
    let db = hostile_db();
    let sink = PgSink::open(db.conn_url()).await.expect("sink");
    let store = sink.progress();
    assert!(store.load().await.expect("load").is_none());
    let odd = r#"a'b\c"; DROP TABLE canary; --"#;
    let start = RunStart {
        fingerprint: "f1".into(),
        if_exists: IfExists::Drop,
        kept: vec![odd.into()],
        made: vec![DbObject::new(ObjectKind::Table, Some(odd), odd)],
    };
    store.start(&start).await.expect("start");
    let chunks: Vec<Chunk> = (0..1200)
        .map(|i| Chunk {
            lo: i * 10,
            hi: i * 10 + 10,
        })
        .collect();
    store.plan_chunks(odd, &chunks).await.expect("chunks");
    for _ in 0..2 {
        store
            .record(&StepDone::new(odd, Step::Index(2)))
            .await
            .expect("step");
    }
    sink.execute_recorded(
        &["CREATE TABLE t (v integer)".to_string()],
        &StepDone::new(odd, Step::ForeignKey(1)),
    )
    .await
    .expect("recorded");
    let mut t = Table::new("t");
    t.columns = vec![Column::new("v", "integer", DataType::Int32)];
    let mut writer = sink.open_writer(&t, false).await.expect("writer");
    let batch = Batch {
        width: 1,
        values: vec![Value::Int(7)],
        ..Batch::default()
    };
    writer.write(batch).await.expect("write");
    let done = ChunkDone {
        table: odd.into(),
        chunk: chunks[7],
        rows: 1,
    };
    assert_eq!(writer.finish(Some(&done)).await.expect("finish"), 1);
    let run = store.load().await.expect("load").expect("recorded");
    assert_eq!(run.fingerprint, "f1");
    assert_eq!(run.if_exists, Some(IfExists::Drop));
    assert!(run.kept.contains(odd));
    assert_eq!(run.made, start.made);
    assert_eq!(run.chunks[odd].len(), 1200);
    assert_eq!(run.chunk_rows(odd, chunks[7]), Some(1));
    assert_eq!(run.chunk_rows(odd, chunks[8]), None);
    assert!(run.done(odd, Step::Index(2)) && run.done(odd, Step::ForeignKey(1)));
    assert_eq!(run.steps.len(), 2);
    store.start(&start).await.expect("start again");
    assert!(store
        .load()
        .await
        .expect("load")
        .expect("recorded")
        .chunks
        .is_empty());
    store.clear().await.expect("clear");
    assert!(store.load().await.expect("load").is_none());
    assert_eq!(canary(&db).await, vec!["alive".to_string()]);
}
