//! A table made on the source after the copy, while ferry replicates (from a MariaDB binlog
//! and from PostgreSQL logical replication): the copied tables keep replicating and the
//! applier warns by name that the new table's changes are not carried; the cutover says the
//! target lacks it (exit 1, "NOT safe to switch") rather than failing on the missing table;
//! with the table excluded in the config, the cutover passes.

#![allow(clippy::unwrap_used)]

use ferry_tests::{ferry, mysql_binlog_admin_url, spawn_ferry, wait_for, MyDb, PgDb};
use std::time::Duration;

const SCHEMA: &str = "CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL);
INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');";

fn new_table_after_the_copy(
    from: &str,
    to: &str,
    source: &dyn Fn(&str),
    target_items: &dyn Fn() -> Option<String>,
) {
    let (mut child, rx) = spawn_ferry(&["migrate", "--from", from, "--to", to, "--replicate"]);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    child.kill().unwrap();
    child.wait().unwrap();

    source("CREATE TABLE later (id int PRIMARY KEY, v varchar(10))");
    source("INSERT INTO later VALUES (1, 'a')");
    source("INSERT INTO items VALUES (4, 'four')");
    source("UPDATE items SET name = 'TWO' WHERE id = 2");

    // `ferry replicate` carries the copied table and names the one it does not.
    let (mut child, rx) = spawn_ferry(&["replicate", "--from", from, "--to", to]);
    let said = wait_for(&rx, "not on the target", Duration::from_secs(60));
    let warned = said.last().unwrap();
    assert!(warned.contains("later`"), "{warned}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while target_items().as_deref() != Some("4 TWO") {
        assert!(
            std::time::Instant::now() < deadline,
            "items not replicated: {:?}",
            target_items()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The cutover compares the tables and finds the target lacks one.
    let cut = ferry(&["cutover", "--from", from, "--to", to, "--timeout", "60s"]);
    assert_eq!(cut.code, 1, "{}", cut.all());
    assert!(cut.all().contains("NOT safe to switch"), "{}", cut.all());
    assert!(cut.all().contains("later"), "{}", cut.all());

    // Left out by the config, the new table is no difference.
    let dir = ferry_tests::TempDir::new("repl_new_tbl");
    let config = dir.join("ferry.toml");
    std::fs::write(&config, "[tables]\nexclude = [\"later\"]\n").unwrap();
    let config = config.to_str().unwrap();
    let cut = ferry(&["cutover", "--from", from, "--to", to, "--config", config]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
}

#[test]
fn mysql_source_table_made_after_the_copy_is_named_not_fatal() {
    let src = MyDb::on(&mysql_binlog_admin_url(), "repl_new_tbl_src");
    src.exec(SCHEMA);
    let dst = PgDb::new("repl_new_tbl_pg");
    new_table_after_the_copy(&src.url, &dst.url, &|sql| src.exec(sql), &|| {
        dst.text("SELECT count(*) || ' ' || (SELECT name FROM items WHERE id = 2) FROM items")
    });
}

#[test]
fn postgres_source_table_made_after_the_copy_is_named_not_fatal() {
    let src = PgDb::new("repl_new_tbl_pgsrc");
    src.exec(SCHEMA);
    let dst = MyDb::new("repl_new_tbl_my");
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        new_table_after_the_copy(&src.url, &dst.url, &|sql| src.exec(sql), &|| {
            dst.text(
                "SELECT concat(count(*), ' ', (SELECT name FROM items WHERE id = 2)) FROM items",
            )
        })
    }));
    // The final cutover dropped the slot; a failed run may have left it.
    ferry_tests::drop_replication_slots(&src.name);
    if let Err(e) = run {
        std::panic::resume_unwind(e);
    }
}
