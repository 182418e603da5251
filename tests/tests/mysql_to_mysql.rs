//! MySQL -> MySQL through the engine (the `ferry` binary) against the real MariaDB servers
//! (`scripts/servers.sh start mysql mysql-noinfile`): every type of issue 3, zero dates,
//! unsigned maxima, emoji, a latin1 table and a 16 MB blob through both load methods, and
//! Chinook onto both servers, compared with `CHECKSUM TABLE` and `SHOW CREATE TABLE`. Zero
//! dates into PostgreSQL become NULL where the column allows it and stop the run (or are
//! rejected) where it does not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_tests::{
    ferry, mysql_admin_url, mysql_noinfile_admin_url, read_report, repo_root, MyDb, PgDb, TempDir,
};
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
  tripled BIGINT AS (normal * 3) STORED,
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

fn load_every_type(db: &MyDb) {
    db.exec(EVERY_TYPE);
    // A 16 MB blob of every byte value (invalid UTF-8 included), sent as a parameter.
    let blob: Vec<u8> = (0..16_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    db.with(async |c| {
        c.exec_drop("INSERT INTO big_blob VALUES (1, ?)", (blob,))
            .await
            .expect("blob")
    });
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

/// `CHECKSUM TABLE` of one table.
fn checksum(db: &MyDb, table: &str) -> Option<u64> {
    db.with(async |c| {
        let row: Option<(String, Option<u64>)> = c
            .query_first(format!("CHECKSUM TABLE `{table}`"))
            .await
            .expect("checksum");
        row.and_then(|r| r.1)
    })
}

/// `SHOW CREATE TABLE` text of one table.
fn show_create(db: &MyDb, table: &str) -> String {
    db.with(async |c| {
        let row: Option<(String, String)> = c
            .query_first(format!("SHOW CREATE TABLE `{table}`"))
            .await
            .expect("show create");
        row.map(|r| r.1).unwrap_or_default()
    })
}

/// `ferry migrate` with `extra` flags and a JSON report; returns the exit code, everything
/// printed and the report.
fn migrate(from: &str, to: &str, extra: &[&str]) -> (i32, String, serde_json::Value) {
    let tmp = TempDir::new("my2my");
    let json = tmp.join("report.json");
    let mut args = vec![
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--json",
        json.to_str().expect("utf8"),
        "--reject-dir",
        tmp.0.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    let report = if json.exists() {
        read_report(&json)
    } else {
        serde_json::Value::Null
    };
    (run.code, run.all(), report)
}

/// Rows written and rejected per table, from a report.
fn moved(report: &serde_json::Value) -> Vec<(String, u64, u64)> {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["table"].as_str().expect("name").to_string(),
                t["rows_written"].as_u64().expect("written"),
                t["rows_rejected"].as_u64().expect("rejected"),
            )
        })
        .collect()
}

fn every_type_round_trip(target_server: &str, load: &str) {
    let src = MyDb::new("src");
    let dst = MyDb::on(target_server, "dst");
    load_every_type(&src);
    let (code, out, report) = migrate(&src.url, &dst.url, &["--mysql-load", load]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(moved(&report).len(), 5, "{report}");
    for table in ["every_type", "latin", "parent", "child", "big_blob"] {
        assert_eq!(
            normalized(&show_create(&src, table)),
            normalized(&show_create(&dst, table)),
            "{table} DDL"
        );
        let (a, b) = (checksum(&src, table), checksum(&dst, table));
        assert!(a.is_some());
        assert_eq!(a, b, "{table} content");
    }
    assert_eq!(
        dst.text("SELECT name FROM latin WHERE id = 1").as_deref(),
        Some("Åsa Öberg")
    );
    assert_eq!(
        dst.text("SELECT vc FROM every_type WHERE id = 1")
            .as_deref(),
        Some("emoji 😀 and ümlaut")
    );
    assert_eq!(
        dst.text(&format!("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'child'", dst.name)).as_deref(),
        Some("4"),
        "AUTO_INCREMENT past the loaded maximum"
    );
}

#[test]
fn every_type_through_load_data_infile() {
    every_type_round_trip(&mysql_admin_url(), "infile");
}

#[test]
fn every_type_through_insert_on_a_server_without_local_infile() {
    every_type_round_trip(&mysql_noinfile_admin_url(), "auto");
}

#[test]
fn zero_dates_copy_exactly_between_mysql_servers() {
    let src = MyDb::new("zeroexact");
    src.exec(
        "SET SESSION sql_mode = '';
         CREATE TABLE z (id INT PRIMARY KEY, d DATE NOT NULL DEFAULT '0000-00-00',
           dt DATETIME(3) NOT NULL DEFAULT '0000-00-00 00:00:00.000', ts TIMESTAMP NULL, dn DATE NULL);
         INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '2024-00-00'),
           (2, '2024-05-00', '2020-00-15 10:11:12.345', NULL, '2024-07-00'),
           (3, '2020-01-02', '2020-01-02 03:04:05.500', '2021-01-01 00:00:00', NULL);",
    );
    type Row = (i32, String, String, Option<String>, Option<String>);
    let sql = "SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR), CAST(ts AS CHAR), CAST(dn AS CHAR) FROM z ORDER BY id";
    let rows = |db: &MyDb| -> Vec<Row> { db.with(async |c| c.query(sql).await.expect("rows")) };
    let want = rows(&src);
    for load in ["infile", "insert"] {
        let dst = MyDb::new("zeroexactdst");
        let (code, out, report) = migrate(&src.url, &dst.url, &["--mysql-load", load]);
        assert_eq!(code, 0, "zero dates copy as they are ({load}): {out}");
        assert_eq!(moved(&report), vec![("z".to_string(), 3, 0)]);
        let got = rows(&dst);
        assert_eq!(got, want, "{load}");
        assert_eq!(got[0].1, "0000-00-00");
        assert_eq!(got[1].2, "2020-00-15 10:11:12.345");
        // The defaults came along too: a row without those columns gets the zero dates.
        dst.exec("SET SESSION sql_mode = ''; INSERT INTO z (id) VALUES (9)");
        assert_eq!(
            dst.text("SELECT CONCAT(CAST(d AS CHAR), '|', CAST(dt AS CHAR)) FROM z WHERE id = 9")
                .as_deref(),
            Some("0000-00-00|0000-00-00 00:00:00.000"),
            "{load}"
        );
    }
}

/// Into PostgreSQL, which has no zero dates: NULL where the column allows it, else a bad
/// value that stops the run naming table, column and key, or is rejected on request.
#[test]
fn zero_dates_become_null_or_stop_the_run_for_other_targets() {
    let src = MyDb::new("zero");
    src.exec(
        "SET SESSION sql_mode = '';
         CREATE TABLE z (id INT PRIMARY KEY, d DATE NULL, dt DATETIME NULL);
         INSERT INTO z VALUES (1, '0000-00-00', '2020-00-15 00:00:00'), (2, '2020-01-02', '2020-01-02 03:04:05');",
    );
    let dst = PgDb::new("zerodst");
    let (code, out, _) = migrate(&src.url, &dst.url, &[]);
    assert_eq!(code, 0, "nullable zero dates load: {out}");
    assert_eq!(
        dst.text("SELECT concat_ws('|', d::text, dt::text, 'end') FROM z WHERE id = 1")
            .as_deref(),
        Some("end"),
        "zero dates arrive as NULL"
    );
    assert_eq!(
        dst.text("SELECT d::text FROM z WHERE id = 2").as_deref(),
        Some("2020-01-02")
    );

    src.exec("SET SESSION sql_mode = ''; CREATE TABLE zn (id INT PRIMARY KEY, d DATE NOT NULL); INSERT INTO zn VALUES (7, '2021-01-01'), (8, '0000-00-00');");
    let dst = PgDb::new("zerodst");
    let (code, out, _) = migrate(&src.url, &dst.url, &[]);
    assert_ne!(code, 0, "a NOT NULL zero date stops the run: {out}");
    assert!(
        out.contains("zn") && out.contains("`d`") && out.contains("id=8"),
        "{out}"
    );
    let dst = PgDb::new("zerodst");
    let (code, out, report) = migrate(&src.url, &dst.url, &["--on-error", "reject"]);
    assert_eq!(code, 1, "rejects make the exit non-zero: {out}");
    let moved = moved(&report);
    assert!(
        moved.contains(&("zn".to_string(), 1, 1)) && moved.contains(&("z".to_string(), 2, 0)),
        "reject mode goes on: {moved:?}"
    );
}

/// A fresh database on `server` holding Chinook from its MySQL script.
fn chinook_on(server: &str) -> MyDb {
    let script = std::fs::read_to_string(repo_root().join("fixtures/chinook/Chinook_MySql.sql"))
        .expect("Chinook MySQL fixture");
    let body: String = script
        .lines()
        .filter(|l| {
            !l.starts_with("DROP DATABASE")
                && !l.starts_with("CREATE DATABASE")
                && !l.starts_with("USE ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let db = MyDb::on(server, "chinook");
    db.exec(&body);
    db
}

fn chinook_round_trip(target_server: &str) {
    let src = chinook_on(&mysql_admin_url());
    let dst = MyDb::on(target_server, "chinookdst");
    let (code, out, report) = migrate(&src.url, &dst.url, &[]);
    assert_eq!(code, 0, "{out}");
    let counts: std::collections::BTreeMap<String, u64> =
        moved(&report).into_iter().map(|(t, n, _)| (t, n)).collect();
    assert_eq!(counts.get("Track"), Some(&3503));
    assert_eq!(counts.get("Invoice"), Some(&412));
    assert_eq!(counts.get("InvoiceLine"), Some(&2240));
    assert_eq!(counts.len(), 11);
    for t in counts.keys() {
        let a = checksum(&src, t);
        assert!(a.is_some(), "{t}");
        assert_eq!(a, checksum(&dst, t), "{t}");
        assert_eq!(
            normalized(&show_create(&src, t)),
            normalized(&show_create(&dst, t)),
            "{t} DDL"
        );
    }
    assert_eq!(
        dst.text("SELECT CAST(Total AS CHAR) FROM Invoice WHERE InvoiceId = 1")
            .as_deref(),
        Some("1.98")
    );
}

#[test]
fn chinook_to_infile_server() {
    chinook_round_trip(&mysql_admin_url());
}

#[test]
fn chinook_to_insert_server() {
    chinook_round_trip(&mysql_noinfile_admin_url());
}
