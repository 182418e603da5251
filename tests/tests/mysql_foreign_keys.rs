//! Foreign keys on a MySQL target, where ferry adds them without InnoDB checking the rows
//! (`foreign_key_checks = 0`). ferry checks the rows itself unless the source enforced the
//! key and every row of the referenced table arrived:
//!
//! - a key SQLite never enforced, with an orphan row: checked, and the orphan named;
//! - a PostgreSQL key added NOT VALID (rows may break it), with an orphan: checked;
//! - a validated PostgreSQL key whose parent lost a row to `--on-error reject`: checked;
//! - a validated PostgreSQL key with every row arriving: the run ends clean.

use ferry_tests::{ferry, read_report, MyDb, PgDb, TempDir};

/// Run a migration that is expected to finish (exit 0 or, with rejects, 1) and return the
/// report and the warnings it carries.
fn migrate(from: &str, to: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let tmp = TempDir::new("myfk");
    let json = tmp.join("report.json");
    let rejects = tmp.join("rejects");
    let mut args = vec![
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--reject-dir",
        rejects.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert!(run.code == 0 || run.code == 1, "{}", run.all());
    let report = read_report(&json);
    let warnings = report["warnings"].to_string();
    (report, warnings)
}

/// The run's warning for a key whose check found rows without a parent.
fn orphan_warning(warnings: &str, key: &str) -> bool {
    warnings.contains(&format!(
        "foreign key `{key}` is not valid for existing rows"
    )) && warnings.contains("some rows reference rows that do not exist in the parent table")
}

#[test]
fn an_sqlite_key_with_an_orphan_is_checked_and_named() {
    let tmp = TempDir::new("myfk-sqlite");
    let file = tmp.join("src.db");
    let c = rusqlite::Connection::open(&file).expect("sqlite");
    c.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE child (id INTEGER PRIMARY KEY,
                             parent_id INTEGER CONSTRAINT child_parent_fk REFERENCES parent(id));
         INSERT INTO parent VALUES (1, 'one'), (2, 'two');
         INSERT INTO child VALUES (10, 1), (11, 2), (12, 99);",
    )
    .expect("source");
    drop(c);
    let dst = MyDb::new("ferry_myfk_sqlite");
    let from = format!("sqlite:{}", file.display());
    let (_, warnings) = migrate(&from, &dst.url, &[]);
    assert!(
        warnings.contains("is not valid for existing rows")
            && warnings.contains("some rows reference rows that do not exist"),
        "the orphan (parent_id 99) is reported: {warnings}"
    );
}

#[test]
fn a_not_valid_postgres_key_with_an_orphan_is_checked() {
    let src = PgDb::new("ferry_myfk_notvalid_src");
    src.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, name text);
         CREATE TABLE child (id int PRIMARY KEY, parent_id int);
         INSERT INTO parent VALUES (1, 'one');
         INSERT INTO child VALUES (10, 1), (11, 42);
         ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id)
             REFERENCES parent(id) NOT VALID;",
    );
    let dst = MyDb::new("ferry_myfk_notvalid");
    let (_, warnings) = migrate(&src.url, &dst.url, &[]);
    assert!(orphan_warning(&warnings, "child_parent_fk"), "{warnings}");
}

#[test]
fn a_valid_postgres_key_is_checked_again_only_when_parent_rows_were_rejected() {
    let src = PgDb::new("ferry_myfk_valid_src");
    // numeric without precision becomes decimal(65,30) in MySQL: 40 integer digits do not
    // fit, so that parent row is rejected, and its child becomes an orphan in the target.
    src.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, amount numeric);
         CREATE TABLE child (id int PRIMARY KEY,
                             parent_id int CONSTRAINT child_parent_fk REFERENCES parent(id));
         INSERT INTO parent VALUES (1, 1.5), (2, 1e40), (3, 7);
         INSERT INTO child VALUES (10, 1), (11, 2), (12, 3);",
    );
    let clean = MyDb::new("ferry_myfk_valid_clean");
    src.exec("UPDATE parent SET amount = 2 WHERE id = 2");
    let (report, warnings) = migrate(&src.url, &clean.url, &[]);
    assert_eq!(report["status"], "complete", "{report}");
    assert!(!warnings.contains("is not valid"), "{warnings}");
    assert_eq!(
        clean
            .text("SELECT CAST(COUNT(*) AS CHAR) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()")
            .as_deref(),
        Some("1"),
        "the key is in place"
    );

    src.exec("UPDATE parent SET amount = 1e40 WHERE id = 2");
    let lossy = MyDb::new("ferry_myfk_valid_lossy");
    let (report, warnings) = migrate(&src.url, &lossy.url, &["--on-error", "reject"]);
    let parent = report["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["table"] == "public.parent"))
        .expect("parent in the report");
    assert_eq!(parent["rows_rejected"], 1, "{parent}");
    assert!(
        orphan_warning(&warnings, "child_parent_fk"),
        "child 11 lost its parent: {warnings}"
    );
}
