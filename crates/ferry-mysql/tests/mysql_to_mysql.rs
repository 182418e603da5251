//! MySQL -> MySQL against the real MariaDB servers (`scripts/servers.sh start mysql
//! mysql-noinfile`): every type of issue 3, zero dates, unsigned maxima, emoji, a latin1
//! table, a 16 MB blob, and Chinook, through both load methods.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{checksum, copy, copy_with, infile_url, noinfile_url, show_create, TestDb};
use ferry_core::{Batch, ConnUrl, ErrorKind, Sink, Table, Value};
use ferry_mysql::{LoadMethod, MySqlSink, MySqlSource};
use mysql_async::prelude::Queryable;

const EVERY_TYPE: &str = r#"
CREATE TABLE every_type (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  flag TINYINT(1) NOT NULL DEFAULT 0,
  tiny TINYINT, tiny_u TINYINT UNSIGNED, small SMALLINT, small_u SMALLINT UNSIGNED,
  medium MEDIUMINT, medium_u MEDIUMINT UNSIGNED, normal INT, normal_u INT(10) UNSIGNED ZEROFILL,
  big BIGINT, big_u BIGINT UNSIGNED,
  yr YEAR, b1 BIT(1), b12 BIT(12),
  f FLOAT, d DOUBLE, money DECIMAL(12,2) DEFAULT '0.00', wide DECIMAL(65,30),
  c CHAR(3), vc VARCHAR(255) COLLATE utf8mb4_bin, tt TINYTEXT, t TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  bin BINARY(4), vbin VARBINARY(16), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  j JSON, dt DATE, dtm DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, tm TIME(3),
  created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  mood ENUM('happy','sad','it''s ok') DEFAULT 'happy', tags SET('a','b','c-d'),
  g GEOMETRY,
  doubled BIGINT AS (normal * 2) VIRTUAL,
  KEY vc_prefix (vc(10)), UNIQUE KEY small_big (small, big), KEY dt_desc (dt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO every_type (flag, tiny, tiny_u, small, small_u, medium, medium_u, normal, normal_u, big, big_u,
  yr, b1, b12, f, d, money, wide, c, vc, tt, t, mt, lt, bin, vbin, tb, bl, mb, lb, j, dt, dtm, ts, tm, created, mood, tags, g)
VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
  1901, b'1', b'111111111111', 3.5, 2.718281828459045, -1234567890.12, '12345678901234567890.123456789012345678901234567890',
  'abc', 'emoji 😀 and ümlaut', 'tiny', 'tab\there\nnewline \\ backslash', 'medium', 'long',
  0x00FF0A09, 0x5C0D0A00, 0x01, 0xDEADBEEF, 0x00, 0xFF, '{"k": [1, 2, "😀"]}', '2024-02-29', '1999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07', '-838:59:59.000', '2020-01-01 00:00:00', 'it''s ok', 'a,c-d', ST_GeomFromText('POINT(1 2)')),
 (0, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  2155, b'0', b'000000000001', -1.25e-10, -1e300, 0, 0, '', '', '', '', '', '', NULL, '', '', '', '', '', 'null', '1000-01-01',
  '9999-12-31 23:59:59', '1970-01-01 00:00:01', '838:59:59', '2020-01-01 00:00:00', 'sad', '', NULL),
 (0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2020-01-01 00:00:00', NULL, NULL, NULL);

CREATE TABLE latin (
  id INT PRIMARY KEY,
  name VARCHAR(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO latin VALUES (1, 'Åsa Öberg'), (2, 'façade'), (3, 'plain');

CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20) UNIQUE) ENGINE=InnoDB;
CREATE TABLE child (id INT PRIMARY KEY AUTO_INCREMENT, parent_id INT, amount INT CHECK (amount >= 0),
  CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 'one'), (2, 'two');
INSERT INTO child (parent_id, amount) VALUES (1, 5), (2, 6), (NULL, 0);

CREATE TABLE big_blob (id INT PRIMARY KEY, data LONGBLOB NOT NULL) ENGINE=InnoDB;
"#;

async fn load_every_type(db: &TestDb) {
    db.run(EVERY_TYPE).await;
    // A 16 MB blob of every byte value (invalid UTF-8 included), sent as a parameter.
    let blob: Vec<u8> = (0..16_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut c = db.conn().await;
    c.exec_drop("INSERT INTO big_blob VALUES (1, ?)", (blob,))
        .await
        .expect("blob");
    drop(c.disconnect().await);
}

/// `SHOW CREATE TABLE` without the AUTO_INCREMENT counter, which legitimately differs.
/// `NO ACTION` spelled out or left implicit means the same.
/// Key order follows creation order, so lines are compared as a sorted set.
fn normalized(ddl: &str) -> String {
    let mut lines: Vec<&str> = ddl.lines().map(|l| l.trim_end_matches(',')).collect();
    lines.sort_unstable();
    lines
        .join("\n")
        .replace(" ON DELETE NO ACTION", "")
        .replace(" ON UPDATE NO ACTION", "")
        .split(' ')
        .filter(|w| !w.starts_with("AUTO_INCREMENT="))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn every_type_round_trip(target_server: String, method: LoadMethod) {
    let src = TestDb::create(&infile_url(), "src").await;
    let dst = TestDb::create(&target_server, "dst").await;
    load_every_type(&src).await;
    let copied = copy(&src.url, &dst.url, method, false).await.expect("copy");
    assert_eq!(copied.len(), 5, "{copied:?}");
    for table in ["every_type", "latin", "parent", "child", "big_blob"] {
        assert_eq!(
            normalized(&show_create(&src, table).await),
            normalized(&show_create(&dst, table).await),
            "{table} DDL"
        );
        let (a, b) = (checksum(&src, table).await, checksum(&dst, table).await);
        assert!(a.is_some());
        assert_eq!(a, b, "{table} content");
    }
    let mut c = dst.conn().await;
    let name: Option<String> = c
        .query_first("SELECT name FROM latin WHERE id = 1")
        .await
        .expect("latin");
    assert_eq!(name.as_deref(), Some("Åsa Öberg"));
    let emoji: Option<String> = c
        .query_first("SELECT vc FROM every_type WHERE id = 1")
        .await
        .expect("emoji");
    assert_eq!(emoji.as_deref(), Some("emoji 😀 and ümlaut"));
    let next: Option<u64> = c
        .query_first(format!("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'child'", dst.name))
        .await
        .expect("auto_increment");
    assert_eq!(next, Some(4), "AUTO_INCREMENT past the loaded maximum");
    drop(c.disconnect().await);
    src.drop_db().await;
    dst.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_through_load_data_infile() {
    every_type_round_trip(infile_url(), LoadMethod::Infile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_through_insert_on_a_server_without_local_infile() {
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
    every_type_round_trip(noinfile_url(), LoadMethod::Auto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_dates_copy_exactly_between_mysql_servers() {
    let src = TestDb::create(&infile_url(), "zeroexact").await;
    src.run(
        "SET SESSION sql_mode = '';
         CREATE TABLE z (id INT PRIMARY KEY, d DATE NOT NULL DEFAULT '0000-00-00',
           dt DATETIME(3) NOT NULL DEFAULT '0000-00-00 00:00:00.000', ts TIMESTAMP NULL, dn DATE NULL);
         INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '2024-00-00'),
           (2, '2024-05-00', '2020-00-15 10:11:12.345', NULL, '2024-07-00'),
           (3, '2020-01-02', '2020-01-02 03:04:05.500', '2021-01-01 00:00:00', NULL);",
    )
    .await;
    for method in [LoadMethod::Infile, LoadMethod::Insert] {
        let dst = TestDb::create(&infile_url(), "zeroexactdst").await;
        let copied = copy(&src.url, &dst.url, method, false)
            .await
            .expect("zero dates copy as they are");
        assert_eq!(copied, vec![("z".to_string(), 3, 0)]);
        let sql = "SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR), CAST(ts AS CHAR), CAST(dn AS CHAR) FROM z ORDER BY id";
        type Row = (i32, String, String, Option<String>, Option<String>);
        let mut a = src.conn().await;
        let want: Vec<Row> = a.query(sql).await.expect("source rows");
        let mut b = dst.conn().await;
        let got: Vec<Row> = b.query(sql).await.expect("target rows");
        assert_eq!(got, want, "{method:?}");
        assert_eq!(got[0].1, "0000-00-00");
        assert_eq!(got[1].2, "2020-00-15 10:11:12.345");
        // The defaults came along too: a row without those columns gets the zero dates.
        b.query_drop("SET SESSION sql_mode = ''; INSERT INTO z (id) VALUES (9)")
            .await
            .expect("insert with defaults");
        let row: Option<(String, String)> = b
            .query_first("SELECT CAST(d AS CHAR), CAST(dt AS CHAR) FROM z WHERE id = 9")
            .await
            .expect("row");
        assert_eq!(
            row,
            Some(("0000-00-00".into(), "0000-00-00 00:00:00.000".into()))
        );
        drop(a.disconnect().await);
        drop(b.disconnect().await);
        dst.drop_db().await;
    }
    src.drop_db().await;
}

/// What a reader for another target does: NULL where allowed, else a bad value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_dates_become_null_or_stop_the_run_for_other_targets() {
    let src = TestDb::create(&infile_url(), "zero").await;
    let dst = TestDb::create(&infile_url(), "zerodst").await;
    src.run(
        "SET SESSION sql_mode = '';
         CREATE TABLE z (id INT PRIMARY KEY, d DATE NULL, dt DATETIME NULL);
         INSERT INTO z VALUES (1, '0000-00-00', '2020-00-15 00:00:00'), (2, '2020-01-02', '2020-01-02 03:04:05');",
    )
    .await;
    copy_with(&src.url, &dst.url, LoadMethod::Auto, false, false)
        .await
        .expect("nullable zero dates load");
    let mut c = dst.conn().await;
    let row: Option<(Option<String>, Option<String>)> = c
        .query_first("SELECT CAST(d AS CHAR), CAST(dt AS CHAR) FROM z WHERE id = 1")
        .await
        .expect("row");
    assert_eq!(row, Some((None, None)));
    drop(c.disconnect().await);
    dst.drop_db().await;

    src.run("SET SESSION sql_mode = ''; CREATE TABLE zn (id INT PRIMARY KEY, d DATE NOT NULL); INSERT INTO zn VALUES (7, '2021-01-01'), (8, '0000-00-00');").await;
    let dst = TestDb::create(&infile_url(), "zerodst").await;
    let err = copy_with(&src.url, &dst.url, LoadMethod::Auto, false, false)
        .await
        .expect_err("NOT NULL zero date stops");
    assert_eq!(err.kind(), ErrorKind::Data);
    let msg = err.to_string();
    assert!(
        msg.contains("`zn`") && msg.contains("`d`") && msg.contains("id=8"),
        "{msg}"
    );
    dst.drop_db().await;
    let dst = TestDb::create(&infile_url(), "zerodst").await;
    let copied = copy_with(&src.url, &dst.url, LoadMethod::Auto, true, false)
        .await
        .expect("reject mode goes on");
    assert!(
        copied
            .iter()
            .any(|(t, n, r)| t == "zn" && *n == 1 && *r == 1),
        "{copied:?}"
    );
    dst.drop_db().await;
    src.drop_db().await;
}

async fn load_chinook(db: &TestDb) {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/chinook/Chinook_MySql.sql"
    ))
    .expect("fixture");
    let body: String = script
        .lines()
        .filter(|l| {
            !l.starts_with("DROP DATABASE")
                && !l.starts_with("CREATE DATABASE")
                && !l.starts_with("USE ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    db.run(&body).await;
}

async fn chinook_round_trip(target_server: String) {
    let src = TestDb::create(&infile_url(), "chinook").await;
    let dst = TestDb::create(&target_server, "chinookdst").await;
    load_chinook(&src).await;
    let copied = copy(&src.url, &dst.url, LoadMethod::Auto, false)
        .await
        .expect("copy");
    let counts: std::collections::BTreeMap<String, u64> =
        copied.iter().map(|(t, n, _)| (t.clone(), *n)).collect();
    assert_eq!(counts.get("Track"), Some(&3503));
    assert_eq!(counts.get("Invoice"), Some(&412));
    assert_eq!(counts.get("InvoiceLine"), Some(&2240));
    assert_eq!(counts.len(), 11);
    for t in counts.keys() {
        assert_eq!(checksum(&src, t).await, checksum(&dst, t).await, "{t}");
        assert_eq!(
            normalized(&show_create(&src, t).await),
            normalized(&show_create(&dst, t).await),
            "{t} DDL"
        );
    }
    let mut c = dst.conn().await;
    let total: Option<String> = c
        .query_first("SELECT CAST(Total AS CHAR) FROM Invoice WHERE InvoiceId = 1")
        .await
        .expect("total");
    assert_eq!(total.as_deref(), Some("1.98"));
    let name: Option<String> = c
        .query_first("SELECT Name FROM Artist WHERE ArtistId = 130")
        .await
        .expect("artist");
    assert!(name.is_some());
    drop(c.disconnect().await);
    // The source's snapshot readers agree with the copy.
    let source = MySqlSource::open(&src.url, 2).await.expect("open");
    let mut t = Table::new("Track");
    t.columns.push(ferry_core::Column::new(
        "TrackId",
        "int",
        ferry_core::DataType::Int32,
    ));
    assert_eq!(
        ferry_core::Source::count_rows(&source, &t)
            .await
            .expect("count"),
        3503
    );
    source.close().await;
    src.drop_db().await;
    dst.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinook_to_infile_server() {
    chinook_round_trip(infile_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinook_to_insert_server() {
    chinook_round_trip(noinfile_url()).await;
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
        let db = TestDb::create(&server, "badval").await;
        db.run("CREATE TABLE t (id INT PRIMARY KEY, v TINYINT UNSIGNED NOT NULL, s VARCHAR(3))")
            .await;
        let sink = MySqlSink::open(&db.url, LoadMethod::Auto)
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
        db.drop_db().await;
    }
}
