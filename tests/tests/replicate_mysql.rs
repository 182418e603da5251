//! MySQL/MariaDB binlog replication end to end, through the engine, against the real
//! MariaDB with a row binlog (`scripts/servers.sh start mysql-binlog`) and the PostgreSQL and
//! MariaDB targets: copy with the snapshot's binlog position recorded, then changes of every
//! kind on the source, applied exactly once, and `verify --content` equal on both targets.

#![allow(clippy::unwrap_used)]

use ferry_core::ConnUrl;
use ferry_core::Connector;
use ferry_drivers::Drivers;
use ferry_engine::events::ignore;
use ferry_engine::replicate::{apply, replicated_tables, ApplyOptions};
use ferry_engine::{migrate, verify, Config, MigrateOptions, RunStatus, VerifyOptions};
use ferry_tests::{block_on, MyDb, PgDb};

fn binlog_admin_url() -> String {
    std::env::var("FERRY_TEST_MYSQL_BINLOG")
        .unwrap_or_else(|_| "mysql://root:ferrytest@127.0.0.1:53311/mysql".into())
}

const SCHEMA: &str = "
CREATE TABLE customers (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email varchar(120) NOT NULL UNIQUE,
  tier enum('free','pro','team') NOT NULL DEFAULT 'free',
  flags set('beta','vip'),
  balance decimal(12,2) NOT NULL DEFAULT 0,
  visits int unsigned NOT NULL DEFAULT 0,
  active tinyint(1) NOT NULL DEFAULT 1,
  joined datetime(6) NOT NULL,
  seen timestamp NULL,
  profile json,
  avatar blob
) ENGINE=InnoDB;
CREATE TABLE orders (
  id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id int NOT NULL,
  total double NOT NULL,
  note text,
  placed date NOT NULL,
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
CREATE TABLE audit (who varchar(40), what varchar(200), at datetime) ENGINE=InnoDB;
";

const SEED: &str = "
INSERT INTO customers (email, tier, flags, balance, visits, active, joined, seen, profile, avatar) VALUES
 ('a@x.io', 'pro', 'beta', 10.50, 4000000000, 1, '2024-01-01 10:00:00.123456', '2024-01-01 10:00:00', '{\"lang\": \"en\"}', x'0102'),
 ('b@x.io', 'free', '', 0, 0, 0, '2024-02-02 00:00:00', NULL, NULL, NULL);
INSERT INTO orders (customer_id, total, note, placed) VALUES (1, 9.99, 'first', '2024-01-02'), (2, 0.1, NULL, '2024-02-03');
INSERT INTO audit VALUES ('seed', 'x', '2024-01-01 00:00:00'), ('seed', 'x', '2024-01-01 00:00:00');
";

/// Changes of every kind: inserts, updates, a key change, deletes, a multi-table
/// transaction, keyless duplicates, and a truncate.
const WORKLOAD: &[&str] = &[
    "INSERT INTO customers (email, tier, flags, joined, profile) VALUES ('c@x.io', 'team', 'beta,vip', '2024-03-03 03:03:03.5', JSON_ARRAY(1, 'two', NULL))",
    "UPDATE customers SET balance = balance + 1.25, visits = visits + 1, seen = '2024-05-05 05:05:05', flags = 'vip' WHERE email = 'a@x.io'",
    "START TRANSACTION; INSERT INTO orders (customer_id, total, note, placed) VALUES (3, 42.0, REPEAT('ü', 500), '2024-03-04'); UPDATE customers SET tier = 'pro' WHERE id = 3; INSERT INTO audit VALUES ('app', 'upgrade 3', NOW()); COMMIT",
    "UPDATE orders SET id = 100 WHERE id = 2",
    "DELETE FROM audit WHERE who = 'seed' LIMIT 1",
    "UPDATE audit SET what = 'changed' WHERE who = 'seed'",
    "DELETE FROM orders WHERE id = 1",
    "UPDATE customers SET active = 0, avatar = x'ff00ff', profile = NULL WHERE id = 1",
    "INSERT INTO customers (email, joined) VALUES ('d@x.io', '2024-06-06 06:06:06')",
    "TRUNCATE TABLE audit",
    "INSERT INTO audit VALUES ('after', 'truncate', '2024-07-07 07:07:07')",
];

fn migrate_with_position(from: &str, to: &str) {
    let mut opts = MigrateOptions::new(ConnUrl::parse(from).unwrap(), ConnUrl::parse(to).unwrap());
    opts.replicate = true;
    opts.verify_content = true;
    let report = block_on(migrate(&opts, &Drivers::default(), ignore())).expect("copy");
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
}

fn apply_until_now(from: &str, to: &str) -> ferry_engine::replicate::ApplyStats {
    block_on(async {
        let source = Drivers::default()
            .open_source(&ConnUrl::parse(from).unwrap())
            .await
            .unwrap();
        let sink = Drivers::default()
            .open_sink(&ConnUrl::parse(to).unwrap())
            .await
            .unwrap();
        let tables = replicated_tables(
            source.as_ref(),
            sink.dialect(),
            &Config::default(),
            &Drivers::default(),
        )
        .await
        .unwrap();
        source.close().await.unwrap();
        let until = source.current_position().await.unwrap();
        let opts = ApplyOptions {
            until: Some(until),
            ..ApplyOptions::default()
        };
        apply(source.as_ref(), sink.as_ref(), &tables, &opts, &ignore())
            .await
            .expect("apply")
    })
}

fn assert_equal(from: &str, to: &str) {
    let opts = VerifyOptions {
        from: ConnUrl::parse(from).unwrap(),
        to: ConnUrl::parse(to).unwrap(),
        config: Config::default(),
        jobs: 2,
        content: true,
        show_values: true,
        batch: Default::default(),
    };
    let report = block_on(verify(&opts, &Drivers::default(), ignore())).expect("verify");
    for t in &report.tables {
        assert_eq!(
            t.verification.content,
            ferry_engine::Outcome::Match,
            "{}: {:?}",
            t.table,
            t.verification.differences
        );
    }
    assert_eq!(report.status, RunStatus::Complete);
}

fn replicate_to(target_url: &str) {
    let src = MyDb::on(&binlog_admin_url(), "repl_src");
    src.exec(SCHEMA);
    src.exec(SEED);
    migrate_with_position(&src.url, target_url);
    for stmt in WORKLOAD {
        src.exec(stmt);
    }
    let stats = apply_until_now(&src.url, target_url);
    // 11 statements, the multi-table one a single transaction.
    assert_eq!(stats.transactions, 11, "{stats:?}");
    assert!(stats.changes >= 13, "{stats:?}");
    assert_equal(&src.url, target_url);

    // Applying again from the recorded position finds nothing new: nothing applies twice.
    let again = apply_until_now(&src.url, target_url);
    assert_eq!((again.transactions, again.changes), (0, 0), "{again:?}");

    // More changes later continue from the recorded position.
    src.exec("UPDATE customers SET email = 'renamed@x.io' WHERE id = 2; DELETE FROM customers WHERE id = 4");
    let more = apply_until_now(&src.url, target_url);
    assert_eq!(more.transactions, 2, "{more:?}");
    assert_equal(&src.url, target_url);
}

#[test]
fn mysql_changes_replicate_into_postgres_exactly_once() {
    let dst = PgDb::new("repl_pg");
    replicate_to(&dst.url);
}

#[test]
fn mysql_changes_replicate_into_mysql_exactly_once() {
    let dst = MyDb::new("repl_my");
    replicate_to(&dst.url);
}

#[test]
fn a_second_applier_on_the_same_target_is_refused() {
    let src = MyDb::on(&binlog_admin_url(), "repl_lock_src");
    src.exec("CREATE TABLE t (id int PRIMARY KEY)");
    let dst = PgDb::new("repl_lock");
    migrate_with_position(&src.url, &dst.url);
    block_on(async {
        let sink = Drivers::default()
            .open_sink(&ConnUrl::parse(&dst.url).unwrap())
            .await
            .unwrap();
        let source = Drivers::default()
            .open_source(&ConnUrl::parse(&src.url).unwrap())
            .await
            .unwrap();
        let tables = replicated_tables(
            source.as_ref(),
            sink.dialect(),
            &Config::default(),
            &Drivers::default(),
        )
        .await
        .unwrap();
        let first = sink
            .open_change_writer(&tables)
            .await
            .expect("first applier");
        let second = sink.open_change_writer(&tables).await;
        let err = second.err().expect("a second applier was let in");
        assert!(err.to_string().contains("another ferry process"), "{err}");
        drop(first);
        source.close().await.unwrap();
    });
}

#[test]
fn replicate_refuses_a_resumed_copy() {
    let mut opts = MigrateOptions::new(
        ConnUrl::parse(&binlog_admin_url()).unwrap(),
        ConnUrl::parse(&ferry_tests::pg_admin_url()).unwrap(),
    );
    opts.replicate = true;
    opts.resume = true;
    let err = block_on(migrate(&opts, &Drivers::default(), ignore())).expect_err("refused");
    assert!(err.to_string().contains("two snapshots"), "{err}");
}

#[test]
fn zero_dates_replicate_exactly_between_mysql_servers() {
    let src = MyDb::on(&binlog_admin_url(), "repl_zero_src");
    src.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         CREATE TABLE legacy (id int PRIMARY KEY, born date NOT NULL, seen datetime NOT NULL, partial date NOT NULL);
         INSERT INTO legacy VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '2024-00-00')",
    );
    let dst = MyDb::new("repl_zero_dst");
    migrate_with_position(&src.url, &dst.url);
    src.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         INSERT INTO legacy VALUES (2, '0000-00-00', '2024-01-01 00:00:00', '2024-05-00');
         UPDATE legacy SET seen = '0000-00-00 00:00:00', partial = '1999-00-31' WHERE id = 2;
         UPDATE legacy SET born = '2020-02-02' WHERE id = 1",
    );
    let stats = apply_until_now(&src.url, &dst.url);
    assert_eq!(stats.transactions, 3, "{stats:?}");
    assert_eq!(
        dst.text("SELECT CONCAT_WS('|', born, seen, partial) FROM legacy WHERE id = 2")
            .as_deref(),
        Some("0000-00-00|0000-00-00 00:00:00|1999-00-31")
    );
    assert_equal(&src.url, &dst.url);
}

#[test]
fn replicate_checks_the_source_before_copying() {
    // The plain test MariaDB runs without a binlog: refused up front, nothing created.
    let src = MyDb::new("repl_nobinlog_src");
    src.exec("CREATE TABLE t (id int PRIMARY KEY)");
    let dst = PgDb::new("repl_nobinlog");
    let mut opts = MigrateOptions::new(
        ConnUrl::parse(&src.url).unwrap(),
        ConnUrl::parse(&dst.url).unwrap(),
    );
    opts.replicate = true;
    let err = block_on(migrate(&opts, &Drivers::default(), ignore())).expect_err("refused");
    assert!(err.to_string().contains("--log-bin"), "{err}");
    assert_eq!(
        dst.text("SELECT to_regclass('t') IS NOT NULL").as_deref(),
        Some("false")
    );
}
