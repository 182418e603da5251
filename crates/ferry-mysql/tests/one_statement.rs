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
