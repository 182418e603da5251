//! Issue 13: defaults, SET and zero dates on every source -> target path, SQLite's NULL
//! keys, and one bad table never sinking the rest in reject mode.
//!
//! The defaults matrix: each source fixture (`fixtures/fidelity/<source>.sql`) has a table
//! `defaults` whose row 1 the source filled with its own defaults. After `ferry migrate`, the
//! test inserts row 2 on the target with only its key, so the target's defaults fill it, and
//! compares the two rows column by column in the target's own terms: every default either
//! carries over with the same meaning (time-based ones within a tolerance) or is dropped with
//! a warning quoting the user's SQL. Which ones are dropped is fixed per path by the column
//! names' prefixes (see [`expected_dropped`]).
//!
//! The golden DDL of each path (`fixtures/expected/fidelity.<source>.<target>.sql`) is
//! compared, never written: `scripts/update-golden` rewrites the files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_tests::golden::{Golden, Source, Src, Tgt};
use ferry_tests::{block_on, ferry, mysql_connect, read_report, MyDb, PgDb, TempDir};
use mysql_async::prelude::Queryable;

/// A target database for one path.
enum Target {
    Mysql(MyDb),
    Postgres(PgDb),
}

impl Target {
    fn new(tgt: Tgt) -> Target {
        match tgt {
            Tgt::Mysql => Target::Mysql(MyDb::new("fidelity_dst")),
            Tgt::Postgres => Target::Postgres(PgDb::new("fidelity_dst")),
        }
    }

    fn url(&self) -> &str {
        match self {
            Target::Mysql(db) => &db.url,
            Target::Postgres(db) => &db.url,
        }
    }

    fn exec(&self, sql: &str) {
        match self {
            Target::Mysql(db) => db.exec(sql),
            Target::Postgres(db) => db.exec(sql),
        }
    }

    /// Column names of `table` in order, and the rows as text (NULL as `None`), by key.
    fn rows(&self, table: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
        match self {
            Target::Postgres(db) => db.with(async |c| {
                let cols: Vec<String> = c
                    .query(
                        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                        &[&table],
                    )
                    .await
                    .expect("columns")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let list: Vec<String> = cols.iter().map(|c| format!("\"{c}\"::text")).collect();
                let rows = c
                    .query(
                        &format!("SELECT {} FROM \"{table}\" ORDER BY 1", list.join(", ")),
                        &[],
                    )
                    .await
                    .expect("rows");
                let rows = rows
                    .iter()
                    .map(|r| (0..cols.len()).map(|i| r.get(i)).collect())
                    .collect();
                (cols, rows)
            }),
            Target::Mysql(db) => db.with(async |c| {
                let cols: Vec<String> = c
                    .exec(
                        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                        (table,),
                    )
                    .await
                    .expect("columns");
                let list: Vec<String> = cols
                    .iter()
                    .map(|c| format!("CAST(`{c}` AS CHAR)"))
                    .collect();
                let rows: Vec<mysql_async::Row> = c
                    .query(format!(
                        "SELECT {} FROM `{table}` ORDER BY 1",
                        list.join(", ")
                    ))
                    .await
                    .expect("rows");
                let rows = rows
                    .into_iter()
                    .map(|r| {
                        (0..cols.len())
                            .map(|i| r.get::<Option<String>, _>(i).flatten())
                            .collect()
                    })
                    .collect();
                (cols, rows)
            }),
        }
    }
}

/// Whether the default of `column` is expected to be dropped (with a warning) on this path.
fn expected_dropped(src: Src, tgt: Tgt, column: &str) -> bool {
    let same = matches!(
        (src, tgt),
        (Src::Mysql, Tgt::Mysql) | (Src::Postgres, Tgt::Postgres)
    );
    if same {
        return false;
    }
    column.starts_with("x_")
        || column.starts_with("z_")
        || (tgt == Tgt::Mysql && column.starts_with("to_mysql_x_"))
}

/// Seconds since the epoch of the leading `YYYY-MM-DD[ HH:MM:SS]` of a value.
fn seconds(text: &str) -> i64 {
    let head: String = text.chars().take(19).collect();
    let parsed = ferry_core::time::parse_timestamp(&head.replace('T', " "))
        .unwrap_or_else(|| panic!("`{text}` is not a timestamp"));
    parsed.micros / 1_000_000
}

/// Run `ferry migrate` for one path and check every default of table `defaults`.
fn defaults_path(src: Src, tgt: Tgt) {
    let source = Source::load(src);
    let target = Target::new(tgt);
    let tmp = TempDir::new("fidelity_report");
    let json = tmp.join("report.json");
    let config = tmp.join("only_defaults.toml");
    std::fs::write(&config, "[tables]\ninclude = [\"defaults\"]\n").expect("config");
    let run = ferry(&[
        "migrate",
        "--from",
        source.url(),
        "--to",
        target.url(),
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    let path = format!("{} -> {}", src.name(), tgt.name());
    assert_eq!(run.code, 0, "{path}: {}", run.all());
    let report = read_report(&json);
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_string())
        .collect();
    for w in &warnings {
        for debug in [
            "Number(",
            "Text(",
            "Expression {",
            "CurrentTimestamp",
            "Bool(",
        ] {
            assert!(
                !w.contains(debug),
                "{path}: a warning shows Rust debug text: {w}"
            );
        }
    }
    target.exec("INSERT INTO defaults (id) VALUES (2)");
    let (cols, rows) = target.rows("defaults");
    assert_eq!(rows.len(), 2, "{path}");
    let (copied, fresh) = (&rows[0], &rows[1]);
    let mut checked = 0;
    for (i, col) in cols.iter().enumerate().skip(1) {
        let warned = warnings
            .iter()
            .find(|w| w.contains(&format!("defaults.{col}: default ")));
        if expected_dropped(src, tgt, col) {
            let w = warned.unwrap_or_else(|| {
                panic!(
                    "{path}: the default of `{col}` should be dropped with a warning: {warnings:?}"
                )
            });
            assert!(
                w.ends_with("the default was not carried over"),
                "{path}: {w}"
            );
            assert_eq!(
                fresh[i], None,
                "{path}: `{col}` has no default on the target"
            );
            continue;
        }
        assert!(
            warned.is_none(),
            "{path}: the default of `{col}` should carry over: {warned:?}"
        );
        let (a, b) = (&copied[i], &fresh[i]);
        if col.starts_with("now_") || col.starts_with("today_") {
            let (a, b) = (
                a.as_deref()
                    .unwrap_or_else(|| panic!("{path}: `{col}` copied NULL")),
                b.as_deref()
                    .unwrap_or_else(|| panic!("{path}: `{col}` got no default")),
            );
            let tolerance = if col.starts_with("now_") { 600 } else { 86_400 };
            assert!(
                (seconds(a) - seconds(b)).abs() <= tolerance,
                "{path}: `{col}`: source's default {a}, target's {b}"
            );
        } else if col.starts_with("uuid_") {
            let b = b
                .as_deref()
                .unwrap_or_else(|| panic!("{path}: `{col}` got no UUID"));
            assert_eq!(b.len(), 36, "{path}: `{col}` = {b}");
            assert_ne!(a.as_deref(), Some(b), "{path}: `{col}` is generated anew");
        } else {
            assert_eq!(
                a, b,
                "{path}: `{col}`: the source's default arrived as {a:?}, the target's default gives {b:?}"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 15,
        "{path}: only {checked} defaults carried over"
    );
}

#[test]
fn defaults_sqlite_to_postgres() {
    defaults_path(Src::Sqlite, Tgt::Postgres);
}

#[test]
fn defaults_sqlite_to_mysql() {
    defaults_path(Src::Sqlite, Tgt::Mysql);
}

#[test]
fn defaults_mysql_to_postgres() {
    defaults_path(Src::Mysql, Tgt::Postgres);
}

#[test]
fn defaults_mysql_to_mysql() {
    defaults_path(Src::Mysql, Tgt::Mysql);
}

#[test]
fn defaults_postgres_to_postgres() {
    defaults_path(Src::Postgres, Tgt::Postgres);
}

#[test]
fn defaults_postgres_to_mysql() {
    defaults_path(Src::Postgres, Tgt::Mysql);
}

/// `ferry schema` of one path against its golden file (DDL, then the warnings); compares
/// only, `scripts/update-golden` rewrites the files.
fn golden_path(src: Src, tgt: Tgt) {
    Golden::Fidelity(src, tgt).assert_matches();
}

#[test]
fn golden_ddl_sqlite_to_postgres() {
    golden_path(Src::Sqlite, Tgt::Postgres);
}

#[test]
fn golden_ddl_sqlite_to_mysql() {
    golden_path(Src::Sqlite, Tgt::Mysql);
}

#[test]
fn golden_ddl_mysql_to_postgres() {
    golden_path(Src::Mysql, Tgt::Postgres);
}

#[test]
fn golden_ddl_mysql_to_mysql() {
    golden_path(Src::Mysql, Tgt::Mysql);
}

#[test]
fn golden_ddl_postgres_to_postgres() {
    golden_path(Src::Postgres, Tgt::Postgres);
}

#[test]
fn golden_ddl_postgres_to_mysql() {
    golden_path(Src::Postgres, Tgt::Mysql);
}

/// SQLite lets a PRIMARY KEY column that is not INTEGER PRIMARY KEY hold NULL.
fn null_key_database(path: &std::path::Path) {
    let c = rusqlite::Connection::open(path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE items (id integer auto_increment primary key, name TEXT);
         INSERT INTO items VALUES (1, 'a'), (NULL, 'null key'), (3, 'c');
         CREATE TABLE pairs (a TEXT, b INTEGER, PRIMARY KEY (a, b));
         INSERT INTO pairs VALUES ('x', 1), ('y', NULL);",
    )
    .expect("fill");
}

#[test]
fn sqlite_null_keys_stop_the_run_or_go_to_the_reject_file() {
    let tmp = TempDir::new("nullkey");
    let file = tmp.join("nullkey.db");
    null_key_database(&file);
    let from = format!("sqlite:{}", file.display());

    let db = PgDb::new("nullkey_stop");
    let stop = ferry(&["migrate", "--from", &from, "--to", &db.url, "--jobs", "1"]);
    assert_eq!(stop.code, 2, "{}", stop.all());
    let out = stop.all();
    assert!(
        out.contains("table `items`, column `id`, rowid 2: NULL in a PRIMARY KEY column")
            || out.contains("table `pairs`, column `b`, rowid 2: NULL in a PRIMARY KEY column"),
        "{out}"
    );
    assert!(!out.contains("contains null values"), "{out}");

    for target in [Target::new(Tgt::Postgres), Target::new(Tgt::Mysql)] {
        let rejects = tmp.join("rejects");
        let json = tmp.join("reject.json");
        let run = ferry(&[
            "migrate",
            "--from",
            &from,
            "--to",
            target.url(),
            "--on-error",
            "reject",
            "--reject-dir",
            rejects.to_str().expect("utf8"),
            "--json",
            json.to_str().expect("utf8"),
        ]);
        assert_eq!(run.code, 1, "{}", run.all());
        let report = read_report(&json);
        assert_eq!(report["status"], "incomplete", "{}", run.all());
        for (table, column) in [("items", "id"), ("pairs", "b")] {
            let t = report["tables"]
                .as_array()
                .expect("tables")
                .iter()
                .find(|t| t["table"] == table)
                .expect("table")
                .clone();
            assert_eq!(t["status"], "complete", "{t}");
            assert_eq!(t["rows_rejected"], 1, "{t}");
            let line = std::fs::read_to_string(rejects.join(format!("{table}.reject.jsonl")))
                .expect("reject file");
            let line: serde_json::Value =
                serde_json::from_str(line.lines().next().expect("one line")).expect("json");
            assert_eq!(line["locator"], "rowid 2", "{line}");
            assert_eq!(line["column"], column, "{line}");
            assert_eq!(line["row"][column], serde_json::Value::Null, "{line}");
        }
        let (_, items) = target.rows("items");
        assert_eq!(items.len(), 2);
        let _ = std::fs::remove_dir_all(&rejects);
    }
}

#[test]
fn in_reject_mode_one_failed_table_does_not_stop_the_others() {
    // `a` and `A` differ in SQLite but are the same in MySQL's case-insensitive collation:
    // the unique key of `tags` cannot be built on the target.
    let tmp = TempDir::new("onefails");
    let file = tmp.join("onefails.db");
    let c = rusqlite::Connection::open(&file).expect("sqlite");
    let mut sql = String::from(
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(20) UNIQUE);
         INSERT INTO tags VALUES (1, 'a'), (2, 'A');",
    );
    for t in ["t1", "t2", "t3", "t4"] {
        sql.push_str(&format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO {t} VALUES (1, 'one'), (2, 'two');"
        ));
    }
    c.execute_batch(&sql).expect("fill");
    drop(c);
    let from = format!("sqlite:{}", file.display());
    let db = MyDb::new("onefails");
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--jobs",
        "1",
        "--on-error",
        "reject",
        "--reject-dir",
        tmp.join("rejects").to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_ne!(run.code, 0, "not everything arrived: {}", run.all());
    let report = read_report(&json);
    for t in report["tables"].as_array().expect("tables") {
        if t["table"] == "tags" {
            assert_eq!(t["status"], "failed", "{t}");
            let err = t["error"].as_str().unwrap_or_default();
            assert!(err.contains("tags") && err.contains("Duplicate"), "{err}");
        } else {
            assert_eq!(t["status"], "complete", "{t}: {}", run.all());
            assert_eq!(t["rows_written"], 2, "{t}");
        }
    }
    assert!(run.stdout.contains("FAILED"), "{}", run.stdout);
}

#[test]
fn mysql_to_mysql_zero_dates_arrive_and_verify_by_content() {
    let src = MyDb::new("zero_src");
    src.exec(
        "SET SESSION sql_mode = '';
         CREATE TABLE z (id INT PRIMARY KEY, d DATE NOT NULL, dt DATETIME NOT NULL, dn DATE NULL);
         INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '2024-00-00'),
                              (2, '2024-05-00', '2024-01-02 03:04:05', NULL);",
    );
    let dst = MyDb::new("zero_dst");
    let run = ferry(&[
        "migrate", "--from", &src.url, "--to", &dst.url, "--verify", "content",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let verify = ferry(&["verify", "--from", &src.url, "--to", &dst.url, "--content"]);
    assert_eq!(verify.code, 0, "{}", verify.all());
    let rows = dst.with(async |c| {
        let rows: Vec<(i32, String, String, Option<String>)> = c
            .query(
                "SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR), CAST(dn AS CHAR) FROM z ORDER BY id",
            )
            .await
            .expect("rows");
        rows
    });
    assert_eq!(
        rows,
        vec![
            (
                1,
                "0000-00-00".to_string(),
                "0000-00-00 00:00:00".to_string(),
                Some("2024-00-00".to_string())
            ),
            (
                2,
                "2024-05-00".to_string(),
                "2024-01-02 03:04:05".to_string(),
                None
            ),
        ]
    );
    // A changed zero date is a content difference.
    block_on(async {
        let mut c = mysql_connect(&dst.url).await;
        c.query_drop("SET SESSION sql_mode = ''; UPDATE z SET d = '0000-01-00' WHERE id = 1")
            .await
            .expect("update");
        let _ = c.disconnect().await;
    });
    let verify = ferry(&["verify", "--from", &src.url, "--to", &dst.url, "--content"]);
    assert_ne!(verify.code, 0, "{}", verify.all());
}

/// The value a row of table `edge` holds (see the fixtures), checked in the target's text.
fn edge_value_arrived(id: i64, row: &[Option<String>]) -> Result<(), String> {
    let (f, n, t, d) = (&row[1], &row[2], &row[3], &row[4]);
    let float = || -> f64 {
        let s = f.as_deref().unwrap_or("NULL");
        s.parse::<f64>()
            .unwrap_or_else(|_| panic!("row {id}: `{s}` is not a float"))
    };
    let ok = match id {
        1 => float() == 0.0 && float().is_sign_negative(),
        2 => float() == f64::INFINITY,
        3 => float() == f64::NEG_INFINITY,
        4 => float().is_nan(),
        5 => n.as_deref() == Some("NaN"),
        6 => t.as_deref() == Some(""),
        7 => t.as_deref() == Some("x".repeat(100_000).as_str()),
        8 => t.as_deref() == Some("🚢 naïve 𝄞"),
        9 => d.as_deref() == Some("0000-00-00"),
        10 => d.as_deref() == Some("2024-00-00"),
        11 => float() == 1.5,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "row {id} changed: f={f:?} n={n:?} d={d:?} t={:?}",
            t.as_deref().map(|s| s.chars().take(40).collect::<String>())
        ))
    }
}

/// Copy table `edge` on one path in reject mode: every row arrives exactly, or is in the
/// reject file naming its key and column; `rejected` lists the ids expected there, `nulled`
/// the zero dates that arrive as NULL in a nullable column of a target other than MySQL (as
/// the README documents).
fn edge_path(src: Src, tgt: Tgt, rejected: &[i64], nulled: &[i64]) {
    let source = Source::load(src);
    let target = Target::new(tgt);
    let tmp = TempDir::new("fidelity_edge");
    let rejects = tmp.join("rejects");
    let json = tmp.join("report.json");
    let config = tmp.join("only_edge.toml");
    std::fs::write(&config, "[tables]\ninclude = [\"edge\"]\n").expect("config");
    let run = ferry(&[
        "migrate",
        "--from",
        source.url(),
        "--to",
        target.url(),
        "--config",
        config.to_str().expect("utf8"),
        "--on-error",
        "reject",
        "--reject-dir",
        rejects.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    let path = format!("{} -> {}", src.name(), tgt.name());
    let want_code = if rejected.is_empty() { 0 } else { 1 };
    assert_eq!(run.code, want_code, "{path}: {}", run.all());
    let (_, rows) = target.rows("edge");
    let mut arrived = Vec::new();
    for row in &rows {
        let id: i64 = row[0].as_deref().and_then(|s| s.parse().ok()).expect("id");
        if nulled.contains(&id) {
            assert_eq!(row[4], None, "{path}: zero date of row {id}");
            arrived.push(id);
            continue;
        }
        if let Err(why) = edge_value_arrived(id, row) {
            panic!("{path}: {why}");
        }
        arrived.push(id);
    }
    let lines: Vec<serde_json::Value> = std::fs::read_dir(&rejects)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains("edge"))
                .flat_map(|e| {
                    std::fs::read_to_string(e.path())
                        .expect("reject file")
                        .lines()
                        .map(|l| serde_json::from_str(l).expect("json line"))
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    let mut rejected_ids = Vec::new();
    for l in &lines {
        let locator = l["locator"].as_str().unwrap_or_default();
        let id: i64 = locator
            .trim_start_matches("id=")
            .trim_start_matches("rowid ")
            .parse()
            .unwrap_or_else(|_| panic!("{path}: the reject names no key: {l}"));
        assert!(
            ["f", "n", "t", "d"].contains(&l["column"].as_str().unwrap_or_default()),
            "{path}: {l}"
        );
        assert!(
            !l["reason"].as_str().unwrap_or_default().is_empty(),
            "{path}: {l}"
        );
        rejected_ids.push(id);
    }
    rejected_ids.sort_unstable();
    assert_eq!(
        rejected_ids, rejected,
        "{path}: rejected rows; arrived {arrived:?}"
    );
    let total = arrived.len() + rejected_ids.len();
    let source_rows = read_report(&json)["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| {
            t["target_table"]
                .as_str()
                .is_some_and(|n| n == "edge" || n.ends_with(".edge"))
        })
        .map(|t| t["rows_read"].as_u64().unwrap_or(0))
        .expect("edge in the report");
    assert_eq!(
        total as u64, source_rows,
        "{path}: every row arrived or was rejected"
    );
}

#[test]
fn edge_values_sqlite_to_postgres() {
    edge_path(Src::Sqlite, Tgt::Postgres, &[], &[]);
}

#[test]
fn edge_values_sqlite_to_mysql() {
    edge_path(Src::Sqlite, Tgt::Mysql, &[2, 3], &[]);
}

#[test]
fn edge_values_mysql_to_postgres() {
    edge_path(Src::Mysql, Tgt::Postgres, &[], &[9, 10]);
}

#[test]
fn edge_values_mysql_to_mysql() {
    edge_path(Src::Mysql, Tgt::Mysql, &[], &[]);
}

#[test]
fn edge_values_postgres_to_postgres() {
    edge_path(Src::Postgres, Tgt::Postgres, &[], &[]);
}

#[test]
fn edge_values_postgres_to_mysql() {
    edge_path(Src::Postgres, Tgt::Mysql, &[2, 3, 4, 5], &[]);
}

/// Copy the fixture's `table` alone from `source` to `target` with every value verified;
/// the run must succeed.
fn copy_one_table(source: &Source, target: &Target, table: &str) -> ferry_tests::Run {
    let tmp = TempDir::new("fidelity_one");
    let config = tmp.join("tables.toml");
    std::fs::write(&config, format!("[tables]\ninclude = [\"{table}\"]\n")).expect("config");
    let run = ferry(&[
        "migrate",
        "--from",
        source.url(),
        "--to",
        target.url(),
        "--config",
        config.to_str().expect("utf8"),
        "--verify",
        "content",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    run
}

/// The indexes only MySQL has (`places`: SPATIAL, FULLTEXT): copied with every value into
/// both targets; between MySQL servers they are rebuilt as they were (no prefix on the
/// spatial key, which MariaDB reports one for), into PostgreSQL they are left out with a
/// warning that says what to build instead.
fn mysql_only_indexes(tgt: Tgt, expected: &str, warned: &[&str]) {
    mysql_indexes_of("places", tgt, expected, warned)
}

/// Copy the MySQL fixture's `table` alone to `tgt` with every value verified; its indexes
/// on the target must be `expected`, and each of `warned` in the output.
fn mysql_indexes_of(table: &str, tgt: Tgt, expected: &str, warned: &[&str]) {
    let source = Source::load(Src::Mysql);
    let target = Target::new(tgt);
    let run = copy_one_table(&source, &target, table);
    let indexes = match &target {
        Target::Mysql(db) => db.text(&format!(
            "SELECT GROUP_CONCAT(CONCAT(INDEX_NAME, ':', INDEX_TYPE, ':', IFNULL(SUB_PART, '-')) \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
        )),
        // Each index's definition as PostgreSQL prints it, without the table's name.
        Target::Postgres(db) => db.text(&format!(
            "SELECT string_agg(regexp_replace(indexdef, ' ON \\S+', ''), ';' ORDER BY indexname) \
             FROM pg_indexes WHERE tablename = '{table}'"
        )),
    };
    assert_eq!(indexes.as_deref(), Some(expected), "{}", run.all());
    for w in warned {
        assert!(run.all().contains(w), "`{w}` in {}", run.all());
    }
}

#[test]
fn mysql_only_indexes_between_mysql_servers() {
    mysql_only_indexes(
        Tgt::Mysql,
        "places_location:SPATIAL:32,places_text:FULLTEXT:-,places_text:FULLTEXT:-,PRIMARY:BTREE:-",
        &[],
    );
}

#[test]
fn mysql_only_indexes_into_postgres() {
    mysql_only_indexes(
        Tgt::Postgres,
        "CREATE UNIQUE INDEX places_pkey USING btree (id)",
        &[
            "index `places_location` not carried over: a SPATIAL index",
            "index `places_text` not carried over: a FULLTEXT index",
        ],
    );
}

/// PostgreSQL's CHECK constraints (`checks`), printed back with casts, `= ANY (ARRAY[...])`
/// and `~~`, arrive in MySQL as portable constraints that refuse what the source refuses;
/// the one MySQL cannot express is named in a warning.
#[test]
fn postgres_checks_hold_in_mysql() {
    let source = Source::load(Src::Postgres);
    let target = Target::new(Tgt::Mysql);
    let run = copy_one_table(&source, &target, "checks");
    assert!(
        run.all()
            .contains("not translated: the cast to interval has no portable form"),
        "{}",
        run.all()
    );
    let Target::Mysql(db) = &target else {
        unreachable!()
    };
    let insert = |values: &str| {
        db.try_exec(&format!(
            "INSERT INTO checks (id, status, code, amount, kind, born) VALUES ({values})"
        ))
    };
    insert("2, 'new', 'C-2', 0, 5, '1901-01-01'").expect("a row the source accepts");
    for (values, broken) in [
        ("3, 'lost', 'C-3', 1, 1, NULL", "checks_status_check"),
        ("4, 'new', 'X-4', 1, 1, NULL", "checks_code_check"),
        ("5, 'new', 'C-5!', 1, 1, NULL", "checks_code_check"),
        ("6, 'new', 'C-6', -1, 1, NULL", "checks_amount_check"),
        ("7, 'new', 'C-7', 1, 3, NULL", "checks_kind_check"),
        ("8, 'new', 'C-8', 1, 1, '1899-12-31'", "checks_born_check"),
    ] {
        let err = insert(values).expect_err(values);
        assert!(err.contains(broken), "{values}: {err}");
    }
}

#[test]
fn mysql_prefix_indexes_between_mysql_servers() {
    mysql_indexes_of(
        "prefixes",
        Tgt::Mysql,
        "prefixes_body:BTREE:100,prefixes_code_body:BTREE:-,prefixes_code_body:BTREE:20,prefixes_unique:BTREE:50,prefixes_unique:BTREE:8,PRIMARY:BTREE:-",
        &[],
    );
}

/// Prefix indexes on long columns into PostgreSQL: row 1's values are longer than a btree
/// entry, so whole-column btrees would fail the run; the indexes are built, and warned of.
#[test]
fn mysql_prefix_indexes_into_postgres() {
    mysql_indexes_of(
        "prefixes",
        Tgt::Postgres,
        "CREATE INDEX prefixes_body USING hash (body);\
         CREATE INDEX prefixes_code_body USING btree (code, \"left\"(body, 20) DESC);\
         CREATE UNIQUE INDEX prefixes_pkey USING btree (id);\
         CREATE UNIQUE INDEX prefixes_unique USING btree (\"left\"(body, 50), \"substring\"(bin, 1, 8))",
        &[
            "index `prefixes_body` on a prefix of a long column becomes a hash index",
            "index `prefixes_unique` covers prefixes of long columns",
        ],
    );
}

/// A partitioned MySQL table (`parted`): between MySQL servers it arrives with the same
/// partitions (rows in each as on the source); into PostgreSQL it is one plain table, named
/// in a warning. Its column comment (a quote and a backslash in it) arrives on both.
#[test]
fn mysql_partitions_between_mysql_servers_and_into_postgres() {
    let partitions =
        "SELECT GROUP_CONCAT(CONCAT(PARTITION_NAME, ':', PARTITION_METHOD, ':', TABLE_ROWS) \
                      ORDER BY PARTITION_ORDINAL_POSITION) FROM information_schema.PARTITIONS \
                      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'parted'";
    let source = Source::load(Src::Mysql);
    let Source::Mysql(src) = &source else {
        unreachable!()
    };
    src.exec("ANALYZE TABLE parted");
    for tgt in [Tgt::Mysql, Tgt::Postgres] {
        let target = Target::new(tgt);
        let run = copy_one_table(&source, &target, "parted");
        match &target {
            Target::Mysql(db) => {
                db.exec("ANALYZE TABLE parted");
                assert_eq!(
                    db.text(partitions).as_deref(),
                    Some("p2023:RANGE:1,p2024:RANGE:1,pmax:RANGE:1"),
                    "{}",
                    run.all()
                );
                assert_eq!(
                    db.text("SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'parted' AND COLUMN_NAME = 'v'")
                        .as_deref(),
                    Some("the value; it's \\ kept")
                );
            }
            Target::Postgres(db) => {
                assert_eq!(db.text("SELECT count(*) FROM parted").as_deref(), Some("3"));
                assert_eq!(
                    db.text("SELECT col_description('parted'::regclass, 3)")
                        .as_deref(),
                    Some("the value; it's \\ kept")
                );
                assert!(
                    run.all().contains("parted: partitioning is not kept"),
                    "{}",
                    run.all()
                );
            }
        }
    }
}
