//! A statement ferry built runs as one statement on the real MariaDB: text holding a second
//! statement fails instead of running it, and string literals are read with the rules
//! `ferry_schema::quote::mysql_literal` writes them for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_core::Sink;
use ferry_mysql::{LoadMethod, MySqlSink};
use ferry_test_support::{mysql_admin_url as infile_url, MyDb};
use mysql_async::prelude::Queryable;

async fn canary_rows(db: &MyDb) -> Vec<String> {
    let mut c = db.conn().await;
    let rows: Vec<String> = c.query("SELECT v FROM canary").await.expect("canary");
    drop(c.disconnect().await);
    rows
}

#[tokio::test]
async fn a_second_statement_never_runs() {
    let db = MyDb::on(&infile_url(), "one_stmt");
    db.exec("CREATE TABLE canary (v text); INSERT INTO canary VALUES ('alive')");
    let sink = MySqlSink::open(&db.conn_url(), LoadMethod::Auto)
        .await
        .expect("sink");
    for sql in [
        "CREATE TABLE t (v text); DROP TABLE canary",
        "SELECT 1; DROP TABLE canary",
        "INSERT INTO canary VALUES ('x'); DROP TABLE canary",
    ] {
        let e = sink
            .execute(&[sql.to_string()])
            .await
            .expect_err("two statements are refused");
        assert!(e.to_string().contains("MySQL error"), "{e}");
        sink.query_text(sql)
            .await
            .expect_err("two statements are refused");
    }
    assert_eq!(canary_rows(&db).await, vec!["alive".to_string()]);
}

#[tokio::test]
async fn literals_read_back_as_written() {
    let db = MyDb::on(&infile_url(), "literals");
    db.exec("CREATE TABLE canary (v text); INSERT INTO canary VALUES ('alive')");
    let sink = MySqlSink::open(&db.conn_url(), LoadMethod::Auto)
        .await
        .expect("sink");
    let hostile = [
        "\\",
        "'",
        "\\'",
        "')); DROP TABLE canary; -- ",
        "a\\0b\n\u{1}😀",
    ];
    let list: Vec<String> = hostile
        .iter()
        .map(|s| ferry_schema::quote::mysql_literal(s))
        .collect();
    let rows = sink
        .query_text(&format!("SELECT {}", list.join(", ")))
        .await
        .expect("select");
    let got: Vec<String> = rows[0]
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect();
    assert_eq!(got, hostile.map(String::from).to_vec());
    assert_eq!(canary_rows(&db).await, vec!["alive".to_string()]);
}

/// The progress table round trip on MariaDB: what is recorded reads back exactly, names with
/// quotes and backslashes included, a step recorded twice is there once, a chunk's record
/// commits with its rows, and a new start replaces the old record.
#[tokio::test]
async fn progress_reads_back_as_recorded() {
    use ferry_core::{
        Batch, Chunk, ChunkDone, Column, DataType, DbObject, IfExists, ObjectKind, RunStart, Step,
        StepDone, Table, Value,
    };
    let db = MyDb::on(&infile_url(), "progress");
    db.exec("CREATE TABLE canary (v text); INSERT INTO canary VALUES ('alive')");
    let sink = MySqlSink::open(&db.conn_url(), LoadMethod::Auto)
        .await
        .expect("sink");
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
        &["CREATE TABLE t (v int)".to_string()],
        &StepDone::new(odd, Step::ForeignKey(1)),
    )
    .await
    .expect("recorded");
    let mut t = Table::new("t");
    t.columns = vec![Column::new("v", "int", DataType::Int32)];
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
    assert_eq!(canary_rows(&db).await, vec!["alive".to_string()]);
}
