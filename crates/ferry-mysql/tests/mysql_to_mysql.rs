//! The MySQL driver on its own against the real MariaDB servers (`scripts/servers.sh start
//! mysql mysql-noinfile`): which load method a server gets, clear connection errors, and bad
//! values named before the server sees them. Copies from MySQL to MySQL go through the
//! engine and are tested end to end in `tests/tests/mysql_to_mysql.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_core::{Batch, ConnUrl, ErrorKind, Sink, Table, Value};
use ferry_mysql::{LoadMethod, MySqlSink, MySqlSource};
use ferry_test_support::{
    mysql_admin_url as infile_url, mysql_noinfile_admin_url as noinfile_url, MyDb,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_local_infile_gets_inserts_and_refuses_forced_infile() {
    let sink_url = ConnUrl::parse(&noinfile_url()).expect("url");
    let sink = MySqlSink::open(&sink_url, LoadMethod::Auto)
        .await
        .expect("open");
    assert!(
        !sink.uses_infile(),
        "the local_infile=0 server must get INSERTs"
    );
    let err = MySqlSink::open(&sink_url, LoadMethod::Infile)
        .await
        .err()
        .expect("forced infile refused");
    assert_eq!(err.kind(), ErrorKind::Config);
    let infile = MySqlSink::open(
        &ConnUrl::parse(&infile_url()).expect("url"),
        LoadMethod::Auto,
    )
    .await
    .expect("open");
    assert!(
        infile.uses_infile(),
        "the local_infile=1 server gets LOAD DATA"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_connections_give_one_clear_line_without_the_password() {
    let good = ConnUrl::parse(&infile_url()).expect("url");
    let mut wrong = good.clone();
    wrong.set_password(Some(ferry_core::url::Secret::new("Sup3rSecretPw")));
    let err = MySqlSource::open(&wrong, 1)
        .await
        .err()
        .expect("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(
        !err.full_message().contains("Sup3rSecretPw"),
        "{}",
        err.full_message()
    );
    assert!(err.to_string().contains("access denied"), "{err}");

    let mut refused = good.clone();
    refused.port = Some(1);
    let err = MySqlSink::open(&refused, LoadMethod::Auto)
        .await
        .err()
        .expect("refused");
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(err.to_string().contains("refused"), "{err}");

    let mut missing = good.clone();
    missing.database = Some("ferry_no_such_db".into());
    let err = MySqlSource::open(&missing, 1)
        .await
        .err()
        .expect("missing db");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("ferry_no_such_db"), "{err}");
    assert!(!err.to_string().contains("ferrytest"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_name_table_column_and_key_before_the_server_sees_them() {
    for server in [infile_url(), noinfile_url()] {
        let db = MyDb::on(&server, "badval");
        db.exec("CREATE TABLE t (id INT PRIMARY KEY, v TINYINT UNSIGNED NOT NULL, s VARCHAR(3))");
        let sink = MySqlSink::open(&db.conn_url(), LoadMethod::Auto)
            .await
            .expect("open");
        let mut table = Table::new("t");
        table.primary_key = vec!["id".into()];
        for (n, ty) in [
            ("id", ferry_core::DataType::Int32),
            ("v", ferry_core::DataType::Int16),
            ("s", ferry_core::DataType::VarChar(3)),
        ] {
            table.columns.push(ferry_core::Column::new(n, "", ty));
        }
        let batch = || Batch {
            width: 3,
            values: vec![
                Value::Int(1),
                Value::Int(5),
                Value::Text("ok".into()),
                Value::Int(2),
                Value::Int(300),
                Value::Text("ok".into()),
                Value::Int(3),
                Value::Int(6),
                Value::Text("too long".into()),
            ],
            ..Batch::default()
        };
        let mut w = sink.open_writer(&table, false).await.expect("writer");
        let err = w
            .write(batch())
            .await
            .expect_err("300 does not fit tinyint unsigned");
        assert_eq!(err.kind(), ErrorKind::Data);
        let msg = err.to_string();
        assert!(
            msg.contains("`t`") && msg.contains("`v`") && msg.contains("id=2"),
            "{msg}"
        );
        drop(w);
        let mut w = sink.open_writer(&table, true).await.expect("writer");
        let out = w.write(batch()).await.expect("reject mode");
        assert_eq!(out.written, 1);
        assert_eq!(out.rejected.len(), 2);
        assert_eq!(out.rejected[1].column, "s");
        assert_eq!(w.finish(None).await.expect("finish"), 1);
        assert_eq!(sink.count_rows(&table).await.expect("count"), 1);
    }
}
