//! PgSink against the real test PostgreSQL: its sessions read string literals with
//! `standard_conforming_strings = on` even where the database says otherwise, and a
//! statement ferry built runs as one statement.

use ferry_core::Sink;
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
        sink.execute_recorded(&[sql.to_string()], &[])
            .await
            .expect_err("two statements are refused");
    }
    assert_eq!(canary(&db).await, vec!["alive".to_string()]);
}
