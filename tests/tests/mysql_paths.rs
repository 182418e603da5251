//! Paths through MySQL end to end, through the `ferry` binary, against the real MariaDB
//! servers (`local_infile=1` and `local_infile=0`) and PostgreSQL of scripts/servers.sh:
//! Chinook's MySQL script -> MySQL and -> PostgreSQL, SQLite Chinook -> MySQL (emoji
//! included), the INSERT load path, and a target that already has the tables.

use ferry_tests::{
    ferry, mysql_noinfile_admin_url, read_report, repo_root, MyDb, PgDb, Run, TempDir,
};

/// Chinook's tables with their row counts (the same in the MySQL and SQLite fixtures).
const COUNTS: [(&str, u64); 11] = [
    ("Album", 347),
    ("Artist", 275),
    ("Customer", 59),
    ("Employee", 8),
    ("Genre", 25),
    ("Invoice", 412),
    ("InvoiceLine", 2240),
    ("MediaType", 5),
    ("Playlist", 18),
    ("PlaylistTrack", 8715),
    ("Track", 3503),
];

/// Invoice 1's date from MySQL Chinook, whose `DATETIME` columns a MySQL target keeps.
const MYSQL_DATE: &str = "2021-01-01 00:00:00";
/// Invoice 1's date from SQLite Chinook: a SQLite `DATETIME` may hold fractions of a
/// second, so MySQL gets `datetime(6)`.
const SQLITE_DATE: &str = "2021-01-01 00:00:00.000000";

/// A fresh database on the infile server holding Chinook from its MySQL script.
fn chinook_mysql() -> MyDb {
    let script = std::fs::read_to_string(repo_root().join("fixtures/chinook/Chinook_MySql.sql"))
        .expect("Chinook MySQL fixture");
    // The script makes and selects its own `Chinook` database; load it into ours instead.
    let body: String = script
        .lines()
        .filter(|l| {
            !l.starts_with("DROP DATABASE")
                && !l.starts_with("CREATE DATABASE")
                && !l.starts_with("USE ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let db = MyDb::new("chinook_src");
    db.exec(&body);
    db
}

/// SQLite Chinook as a `sqlite:` URL.
fn chinook_sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite:{}", path.display())
}

/// A temp copy of SQLite Chinook with one more artist whose name holds a 4-byte character.
fn chinook_sqlite_with_emoji(tmp: &TempDir) -> String {
    let path = tmp.join("chinook.sqlite");
    std::fs::copy(
        repo_root().join("fixtures/chinook/Chinook_Sqlite.sqlite"),
        &path,
    )
    .expect("copy fixture");
    // The fixture is read-only; its copy must not be.
    let mut perms = std::fs::metadata(&path).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).expect("chmod");
    let conn = rusqlite::Connection::open(&path).expect("open copy");
    conn.execute(
        "INSERT INTO Artist (ArtistId, Name) VALUES (276, 'Emoji 😀 band')",
        [],
    )
    .expect("insert emoji artist");
    drop(conn);
    chinook_sqlite_url(&path)
}

/// `ferry migrate` with a JSON report; returns the run and the report path's directory.
fn migrate(from: &str, to: &str, extra: &[&str], tmp: &TempDir) -> (Run, serde_json::Value) {
    let json = tmp.join(&format!("report_{}.json", ferry_tests::unique_name("m")));
    let mut args = vec![
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--json",
        json.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    (run, report)
}

/// Every table of `counts` was written whole and counted equal on both sides.
fn assert_counts(report: &serde_json::Value, counts: &[(&str, u64)]) {
    let tables = report["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), counts.len(), "{report}");
    for (name, n) in counts {
        let t = tables.iter().find(|t| t["table"] == *name).expect(name);
        assert_eq!(t["rows_written"], *n, "{name}");
        assert_eq!(t["verification"]["counts"], "ok", "{name}");
    }
}

/// `ferry verify --content` finds every value equal.
fn assert_content_matches(from: &str, to: &str, tables: usize) {
    let run = ferry(&["verify", "--content", "--from", from, "--to", to]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(&format!("all {tables} tables match")),
        "{}",
        run.stdout
    );
}

/// The MySQL target holds Chinook's rows and values. `first_date` is invoice 1's date as
/// the target's column type prints it.
fn assert_chinook_on_mysql(db: &MyDb, counts: &[(&str, u64)], first_date: &str) {
    for (name, n) in counts {
        assert_eq!(
            db.text(&format!("SELECT COUNT(*) FROM `{name}`"))
                .as_deref(),
            Some(n.to_string().as_str()),
            "{name}"
        );
    }
    assert_eq!(
        db.text("SELECT Total FROM Invoice WHERE InvoiceId = 1")
            .as_deref(),
        Some("1.98")
    );
    assert_eq!(
        db.text("SELECT SUM(Total) FROM Invoice").as_deref(),
        Some("2328.60")
    );
    assert_eq!(
        db.text("SELECT InvoiceDate FROM Invoice WHERE InvoiceId = 1")
            .as_deref(),
        Some(first_date)
    );
    assert_eq!(
        db.text("SELECT CONCAT(FirstName, ' ', LastName) FROM Customer WHERE CustomerId = 1")
            .as_deref(),
        Some("Luís Gonçalves")
    );
    // Keys and foreign keys exist after the load.
    let q = |kind: &str| {
        format!(
            "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = '{}' AND CONSTRAINT_TYPE = '{kind}'",
            db.name
        )
    };
    assert_eq!(db.text(&q("PRIMARY KEY")).as_deref(), Some("11"));
    assert_eq!(db.text(&q("FOREIGN KEY")).as_deref(), Some("11"));
}

#[test]
fn chinook_mysql_to_mysql_keeps_rows_types_and_values() {
    let src = chinook_mysql();
    let dst = MyDb::new("chinook_dst");
    let tmp = TempDir::new("mysql_paths");
    let (_, report) = migrate(&src.url, &dst.url, &[], &tmp);
    assert_counts(&report, &COUNTS);
    assert_eq!(report["totals"]["rows_written"], 15607);
    assert_chinook_on_mysql(&dst, &COUNTS, MYSQL_DATE);
    // Same dialect: declared types and character sets are kept as they were.
    let col = |db: &MyDb, table: &str, column: &str| {
        db.text(&format!(
            "SELECT CONCAT(COLUMN_TYPE, ' ', IFNULL(CHARACTER_SET_NAME, '-')) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}' AND COLUMN_NAME = '{column}'",
            db.name
        ))
    };
    for (table, column) in [
        ("Invoice", "Total"),
        ("Invoice", "InvoiceDate"),
        ("Customer", "FirstName"),
    ] {
        assert!(col(&src, table, column).is_some(), "{table}.{column}");
        assert_eq!(
            col(&src, table, column),
            col(&dst, table, column),
            "{table}.{column}"
        );
    }
    assert_content_matches(&src.url, &dst.url, 11);
}

#[test]
fn chinook_mysql_to_postgres_keeps_rows_and_values() {
    let src = chinook_mysql();
    let dst = PgDb::new("chinook_my2pg");
    let tmp = TempDir::new("mysql_paths");
    let (_, report) = migrate(&src.url, &dst.url, &[], &tmp);
    assert_counts(&report, &COUNTS);
    for (name, n) in COUNTS {
        assert_eq!(
            dst.text(&format!("SELECT count(*) FROM \"{name}\""))
                .as_deref(),
            Some(n.to_string().as_str()),
            "{name}"
        );
    }
    assert_eq!(
        dst.text("SELECT \"Total\" FROM \"Invoice\" WHERE \"InvoiceId\" = 1")
            .as_deref(),
        Some("1.98")
    );
    assert_eq!(
        dst.text("SELECT sum(\"Total\") FROM \"Invoice\"")
            .as_deref(),
        Some("2328.60")
    );
    assert_eq!(
        dst.text("SELECT \"InvoiceDate\" FROM \"Invoice\" WHERE \"InvoiceId\" = 1")
            .as_deref(),
        Some("2021-01-01 00:00:00")
    );
    assert_eq!(
        dst.text("SELECT \"FirstName\" || ' ' || \"LastName\" FROM \"Customer\" WHERE \"CustomerId\" = 1")
            .as_deref(),
        Some("Luís Gonçalves")
    );
    assert_eq!(dst.text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\"Invoice\"'::regclass AND attname = 'Total'").as_deref(), Some("numeric(10,2)"));
    assert_eq!(dst.text("SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype = 'f'").as_deref(), Some("11"));
    assert_content_matches(&src.url, &dst.url, 11);
}

#[test]
fn sqlite_chinook_to_mysql_keeps_emoji() {
    let tmp = TempDir::new("mysql_paths");
    let from = chinook_sqlite_with_emoji(&tmp);
    let dst = MyDb::new("chinook_lite2my");
    let (_, report) = migrate(&from, &dst.url, &[], &tmp);
    let mut counts = COUNTS;
    counts[1] = ("Artist", 276);
    assert_counts(&report, &counts);
    assert_chinook_on_mysql(&dst, &counts, SQLITE_DATE);
    assert_eq!(
        dst.text("SELECT Name FROM Artist WHERE ArtistId = 276")
            .as_deref(),
        Some("Emoji 😀 band")
    );
    assert_eq!(
        dst.text(&format!("SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'Artist' AND COLUMN_NAME = 'Name'", dst.name))
            .as_deref(),
        Some("utf8mb4")
    );
    assert_content_matches(&from, &dst.url, 11);
}

#[test]
fn insert_path_on_a_server_without_local_infile() {
    let tmp = TempDir::new("mysql_paths");
    let from = chinook_sqlite_with_emoji(&tmp);
    let mut counts = COUNTS;
    counts[1] = ("Artist", 276);

    // Forcing LOAD DATA where the server refuses it stops before anything is created.
    let refused = MyDb::on(&mysql_noinfile_admin_url(), "lite_noinfile_refused");
    let run = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &refused.url,
        "--mysql-load",
        "infile",
    ]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.all().contains("local_infile=0"), "{}", run.all());
    assert!(
        !run.all().contains("ferrytest"),
        "password leaked: {}",
        run.all()
    );
    assert_eq!(
        refused
            .text(&format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}'",
                refused.name
            ))
            .as_deref(),
        Some("0")
    );

    // Forced INSERTs.
    let dst = MyDb::on(&mysql_noinfile_admin_url(), "lite_noinfile");
    let (_, report) = migrate(&from, &dst.url, &["--mysql-load", "insert"], &tmp);
    assert_counts(&report, &counts);
    assert_chinook_on_mysql(&dst, &counts, SQLITE_DATE);
    assert_eq!(
        dst.text("SELECT Name FROM Artist WHERE ArtistId = 276")
            .as_deref(),
        Some("Emoji 😀 band")
    );
    assert_content_matches(&from, &dst.url, 11);

    // Automatic choice on that server: MySQL Chinook goes in by INSERT too.
    let src = chinook_mysql();
    let auto = MyDb::on(&mysql_noinfile_admin_url(), "chinook_noinfile");
    let (_, report) = migrate(&src.url, &auto.url, &[], &tmp);
    assert_counts(&report, &COUNTS);
    assert_chinook_on_mysql(&auto, &COUNTS, MYSQL_DATE);
    assert_content_matches(&src.url, &auto.url, 11);
}

#[test]
fn a_target_that_has_the_tables_is_refused_without_if_exists() {
    let tmp = TempDir::new("mysql_paths");
    let from = chinook_sqlite_url(&repo_root().join("fixtures/chinook/Chinook_Sqlite.sqlite"));
    let dst = MyDb::new("chinook_twice");
    migrate(&from, &dst.url, &[], &tmp);
    dst.exec("DELETE FROM PlaylistTrack WHERE PlaylistId = 1");
    let left = dst.text("SELECT COUNT(*) FROM PlaylistTrack");
    assert_ne!(left.as_deref(), Some("8715"));

    let again = ferry(&["migrate", "--from", &from, "--to", &dst.url]);
    assert_ne!(again.code, 0, "{}", again.all());
    assert!(again.all().contains("--if-exists"), "{}", again.all());
    // Nothing was touched: the deleted rows are still missing.
    assert_eq!(dst.text("SELECT COUNT(*) FROM PlaylistTrack"), left);

    let (_, report) = migrate(&from, &dst.url, &["--if-exists", "drop"], &tmp);
    assert_counts(&report, &COUNTS);
    assert_eq!(
        dst.text("SELECT COUNT(*) FROM PlaylistTrack").as_deref(),
        Some("8715")
    );
}

/// A value PostgreSQL cannot hold in its column's type: the run stops naming each of
/// `named`; with the column mapped to text (`[columns] "<column>" = "text"`) every value
/// moves, and `query` on the target gives `expected`.
fn refused_then_kept_as_text(
    src: &MyDb,
    prefix: &str,
    column: &str,
    named: &[&str],
    query: &str,
    expected: &str,
) {
    let dst = PgDb::new(prefix);
    let stop = ferry(&["migrate", "--from", &src.url, "--to", &dst.url]);
    assert_ne!(stop.code, 0, "{}", stop.all());
    for needle in named {
        assert!(stop.all().contains(needle), "`{needle}` in {}", stop.all());
    }
    let tmp = TempDir::new(prefix);
    let config = tmp.join("ferry.toml");
    std::fs::write(&config, format!("[columns]\n\"{column}\" = \"text\"\n")).expect("config");
    let dst = PgDb::new(prefix);
    let run = ferry(&[
        "migrate",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--config",
        config.to_str().expect("utf8"),
        "--verify",
        "content",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(dst.text(query).as_deref(), Some(expected));
}

/// A zero date in a NOT NULL column with no zero-date default has no PostgreSQL value: the
/// run stops naming table, column, key and the two ways on; the first of them, the column
/// kept as text, then moves every value as written.
#[test]
fn a_zero_date_in_a_not_null_column_names_the_ways_on() {
    let src = MyDb::new("ferry_zero_nn_src");
    src.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         CREATE TABLE legacy (id int PRIMARY KEY, d datetime NOT NULL);
         INSERT INTO legacy VALUES (1, '2024-01-01 00:00:00'), (2, '0000-00-00 00:00:00')",
    );
    refused_then_kept_as_text(
        &src,
        "ferry_zero_nn_dst",
        "legacy.d",
        &[
            "table `legacy`, column `d`, id=2",
            "[columns] \"legacy.d\" = \"text\"",
            "--on-error reject",
        ],
        "SELECT string_agg(d, ',' ORDER BY id) FROM legacy",
        "2024-01-01 00:00:00,0000-00-00 00:00:00",
    );
}

/// MySQL's ENUM error value (`''`, stored for an invalid value outside strict mode) is no
/// label of the PostgreSQL enum: the run names table, column and key and the ways on,
/// instead of PostgreSQL refusing the whole COPY without naming a row; as text it arrives.
#[test]
fn an_enum_error_value_is_named_by_row() {
    let src = MyDb::new("ferry_enum_err_src");
    src.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         CREATE TABLE e (id int PRIMARY KEY, s enum('a', 'b') NOT NULL);
         INSERT INTO e VALUES (1, 'a'), (2, 'not a label')",
    );
    refused_then_kept_as_text(
        &src,
        "ferry_enum_err_dst",
        "e.s",
        &["table `e`, column `s`, id=2: '' is not one of the enum's labels"],
        "SELECT string_agg(id || ':' || s, ',' ORDER BY id) FROM e",
        "1:a,2:",
    );
}
