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
use ferry_tests::{block_on, mysql_binlog_admin_url as binlog_admin_url, MyDb, PgDb};

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
    let report = copy_for_replication(from, to, Config::default());
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
}

fn copy_for_replication(from: &str, to: &str, config: Config) -> ferry_engine::Report {
    let mut opts = MigrateOptions::new(ConnUrl::parse(from).unwrap(), ConnUrl::parse(to).unwrap());
    opts.replicate = true;
    opts.verify_content = true;
    opts.config = config;
    block_on(migrate(&opts, &Drivers::default(), ignore())).expect("copy")
}

fn apply_until_now(from: &str, to: &str) -> ferry_engine::replicate::ApplyStats {
    try_apply_until_now(from, to).expect("apply")
}

fn try_apply_until_now(
    from: &str,
    to: &str,
) -> ferry_core::Result<ferry_engine::replicate::ApplyStats> {
    apply_with(from, to, &Config::default())
}

fn apply_with(
    from: &str,
    to: &str,
    config: &Config,
) -> ferry_core::Result<ferry_engine::replicate::ApplyStats> {
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
            sink.as_ref(),
            config,
            &Drivers::default(),
            &ignore(),
        )
        .await
        .unwrap();
        source.close().await.unwrap();
        let until = source.current_position().await.unwrap();
        let opts = ApplyOptions {
            until: Some(until),
            ..ApplyOptions::default()
        };
        apply(source.as_ref(), sink.as_ref(), &tables, &opts, &ignore()).await
    })
}

fn assert_equal(from: &str, to: &str) {
    assert_equal_with(from, to, Config::default())
}

/// Every value equal, with the copy's `config` (its type overrides say how to read the target).
fn assert_equal_with(from: &str, to: &str, config: Config) {
    let opts = VerifyOptions {
        from: ConnUrl::parse(from).unwrap(),
        to: ConnUrl::parse(to).unwrap(),
        config,
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
            sink.as_ref(),
            &Config::default(),
            &Drivers::default(),
            &ignore(),
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

/// WordPress's shape into PostgreSQL: `bigint unsigned AUTO_INCREMENT` keys become bigint
/// identities (and the foreign key pointing at one a bigint), NOT NULL datetimes with a
/// zero-date default become nullable; zero dates then arrive as NULL, copied and
/// replicated, and every value verifies.
#[test]
fn wordpress_shaped_tables_copy_and_replicate_into_postgres() {
    let src = MyDb::on(&binlog_admin_url(), "repl_wp_src");
    src.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         CREATE TABLE wp_posts (
           ID bigint(20) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
           post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
           post_title text NOT NULL);
         CREATE TABLE wp_postmeta (
           meta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
           post_id bigint(20) unsigned NOT NULL,
           meta_key varchar(255),
           FOREIGN KEY (post_id) REFERENCES wp_posts (ID));
         INSERT INTO wp_posts VALUES (1, '2024-01-01 10:00:00', 'Hello'), (2, '0000-00-00 00:00:00', 'draft');
         INSERT INTO wp_postmeta (post_id, meta_key) VALUES (1, '_edit_lock'), (2, NULL)",
    );
    let dst = PgDb::new("repl_wp_dst");
    migrate_with_position(&src.url, &dst.url);
    let column = |table: &str, column: &str| {
        dst.text(&format!(
            "SELECT concat_ws('|', data_type, is_identity, is_nullable) FROM information_schema.columns \
             WHERE table_name = '{table}' AND column_name = '{column}'"
        ))
    };
    assert_eq!(column("wp_posts", "ID").as_deref(), Some("bigint|YES|NO"));
    assert_eq!(
        column("wp_postmeta", "post_id").as_deref(),
        Some("bigint|NO|NO")
    );
    assert_eq!(
        column("wp_posts", "post_date").as_deref(),
        Some("timestamp without time zone|NO|YES")
    );
    src.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         INSERT INTO wp_posts (post_title) VALUES ('another draft');
         INSERT INTO wp_postmeta (post_id, meta_key) VALUES (3, 'k');
         UPDATE wp_posts SET post_date = '0000-00-00 00:00:00' WHERE ID = 1",
    );
    apply_until_now(&src.url, &dst.url);
    assert_eq!(
        dst.text("SELECT string_agg(\"ID\" || ':' || coalesce(post_date::text, '-'), ',' ORDER BY \"ID\") FROM wp_posts")
            .as_deref(),
        Some("1:-,2:-,3:-")
    );
    assert_equal(&src.url, &dst.url);
}

/// `ON UPDATE CURRENT_TIMESTAMP` into PostgreSQL: a trigger stands in for it, so the app's
/// updates on the target still stamp the row; replicated changes keep the source's own
/// stamps, even one the source left unchanged on purpose.
#[test]
fn on_update_current_timestamp_becomes_a_trigger_that_replication_leaves_alone() {
    let src = MyDb::on(&binlog_admin_url(), "repl_onupd_src");
    src.exec(
        "CREATE TABLE items (
           id int PRIMARY KEY,
           qty int NOT NULL,
           changed timestamp NOT NULL DEFAULT '2001-01-01 00:00:00' ON UPDATE current_timestamp(),
           touched datetime(3) DEFAULT NULL ON UPDATE current_timestamp(3));
         INSERT INTO items (id, qty) VALUES (1, 1), (2, 2)",
    );
    let dst = PgDb::new("repl_onupd_dst");
    migrate_with_position(&src.url, &dst.url);
    src.exec(
        "UPDATE items SET qty = 10 WHERE id = 1;
         UPDATE items SET qty = 20, changed = changed, touched = touched WHERE id = 2",
    );
    apply_until_now(&src.url, &dst.url);
    // Row 2 kept its stamps on the source, and so on the target.
    assert_eq!(
        dst.text("SELECT concat_ws('|', qty, changed = '2001-01-01 00:00:00+00', touched IS NULL) FROM items WHERE id = 2")
            .as_deref(),
        Some("20|t|t")
    );
    assert_equal(&src.url, &dst.url);
    // The app's own update on the target stamps the row, unless it sets the column itself.
    dst.exec("UPDATE items SET qty = 21 WHERE id = 2");
    assert_eq!(
        dst.text("SELECT concat_ws('|', changed > now() - interval '1 minute', touched IS NOT NULL) FROM items WHERE id = 2")
            .as_deref(),
        Some("t|t")
    );
    dst.exec("UPDATE items SET qty = 22, changed = '2002-02-02 00:00:00+00' WHERE id = 2");
    assert_eq!(
        dst.text("SELECT changed = '2002-02-02 00:00:00+00' FROM items WHERE id = 2")
            .as_deref(),
        Some("true")
    );
}

/// TIME with every number of fractional digits, negative values with a fraction among them
/// (their binlog encoding borrows from the seconds), replicated into MariaDB and PostgreSQL:
/// every value equals the source's, as a copy reads it.
#[test]
fn times_of_every_precision_replicate_exactly() {
    const VALUES: &[&str] = &[
        "'00:00:00'",
        "'-00:00:00.5'",
        "'-00:00:01.25'",
        "'-01:02:03.75'",
        "'-625:00:00.5'",
        "'-700:10:20.99'",
        "'-838:59:59'",
        "'838:59:59'",
        "'12:34:56.789'",
        "'-12:34:56.0001'",
        "'-00:00:00.000001'",
    ];
    let src = MyDb::on(&binlog_admin_url(), "repl_time_src");
    src.exec(
        "CREATE TABLE times (id int PRIMARY KEY, t0 time, t1 time(1), t2 time(2), t3 time(3),
           t4 time(4), t5 time(5), t6 time(6));
         INSERT INTO times VALUES (0, '-01:00:00.5', '-01:00:00.5', '-01:00:00.5', '-01:00:00.5',
           '-01:00:00.5', '-01:00:00.5', '-01:00:00.5')",
    );
    // PostgreSQL's time is a time of day: a negative or 24 h+ TIME is refused by table,
    // column and key, and mapped to interval it arrives whole.
    let refused = copy_for_replication(
        &src.url,
        &PgDb::new("repl_time_refused").url,
        Config::default(),
    );
    assert_eq!(refused.status, RunStatus::Failed);
    let said = refused.error.unwrap_or_default();
    assert!(
        said.contains("table `times`, column `t0`, id=0: -01:00:00 is not a time of day")
            && said.contains("interval"),
        "{said}"
    );
    let mut as_interval = Config::default();
    for c in ["t0", "t1", "t2", "t3", "t4", "t5", "t6"] {
        as_interval
            .columns
            .insert(format!("times.{c}"), "interval".into());
    }
    let to_mysql = MyDb::new("repl_time_my");
    let to_pg = PgDb::new("repl_time_pg");
    migrate_with_position(&src.url, &to_mysql.url);
    let copied = copy_for_replication(&src.url, &to_pg.url, as_interval.clone());
    assert_eq!(copied.status, RunStatus::Complete, "{:?}", copied.error);
    for (i, v) in VALUES.iter().enumerate() {
        let id = i + 1;
        src.exec(&format!(
            "INSERT INTO times VALUES ({id}, {v}, {v}, {v}, {v}, {v}, {v}, {v})"
        ));
    }
    src.exec("UPDATE times SET t1 = '-00:00:02.5', t2 = '-00:00:02.55', t4 = '-03:00:00.0005' WHERE id = 0");
    src.exec("DELETE FROM times WHERE id = 3");
    for (target, config) in [
        (&to_mysql.url, Config::default()),
        (&to_pg.url, as_interval),
    ] {
        let stats = apply_with(&src.url, target, &config).expect("apply");
        assert_eq!(stats.transactions, VALUES.len() as u64 + 2, "{stats:?}");
        assert_equal_with(&src.url, target, config);
    }
    assert_eq!(
        to_mysql
            .text("SELECT CONCAT_WS('|', t1, t2, t4) FROM times WHERE id = 0")
            .as_deref(),
        Some("-00:00:02.5|-00:00:02.55|-03:00:00.0005")
    );
    assert_eq!(
        to_pg
            .text("SELECT t2::text FROM times WHERE id = 4")
            .as_deref(),
        Some("-01:02:03.75")
    );
}

/// MariaDB's system-versioned tables: a copy moves their current rows (the history stays, a
/// warning says so), but their binlog rows mix history with current rows, so replicating one
/// is refused before anything is copied, naming the table and what to do.
#[test]
fn a_system_versioned_table_copies_its_current_rows_and_is_refused_for_replication() {
    let src = MyDb::on(&binlog_admin_url(), "repl_versioned_src");
    src.exec(
        "CREATE TABLE plain (id int PRIMARY KEY);
         CREATE TABLE prices (id int PRIMARY KEY, price decimal(8,2)) WITH SYSTEM VERSIONING;
         INSERT INTO prices VALUES (1, 9.99), (2, 5.00);
         UPDATE prices SET price = 10.99 WHERE id = 1;
         DELETE FROM prices WHERE id = 2;
         INSERT INTO prices VALUES (3, 1.25);",
    );
    let dst = PgDb::new("repl_versioned");
    let refused = block_on(async {
        let mut opts = MigrateOptions::new(
            ConnUrl::parse(&src.url).unwrap(),
            ConnUrl::parse(&dst.url).unwrap(),
        );
        opts.replicate = true;
        migrate(&opts, &Drivers::default(), ignore()).await
    });
    let err = refused.expect_err("replicating a system-versioned table is refused");
    assert!(
        err.to_string()
            .contains("system-versioned table(s) `prices` cannot be replicated"),
        "{err}"
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .as_deref(),
        Some("0"),
        "refused before anything was made"
    );

    let copy = ferry_tests::ferry(&[
        "migrate", "--from", &src.url, "--to", &dst.url, "--verify", "content",
    ]);
    assert_eq!(copy.code, 0, "{}", copy.all());
    assert!(
        copy.all()
            .contains("history of system-versioned table `prices` is not copied"),
        "{}",
        copy.all()
    );
    assert_eq!(
        dst.text("SELECT string_agg(id || '=' || price, ',' ORDER BY id) FROM prices")
            .as_deref(),
        Some("1=10.99,3=1.25")
    );
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

const ITEMS: &str = "
CREATE TABLE items (id int NOT NULL PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, qty int NOT NULL, note text) ENGINE=InnoDB;
CREATE TABLE pairs (a int NOT NULL, b varchar(10) NOT NULL, v int, PRIMARY KEY (a, b)) ENGINE=InnoDB;
INSERT INTO items SELECT seq, CONCAT('c', seq), seq % 7, IF(seq % 3 = 0, NULL, REPEAT('n', seq % 50)) FROM seq_1_to_300;
INSERT INTO pairs SELECT seq % 20, CONCAT('b', seq), seq FROM seq_1_to_200;
";

/// One big transaction and many small ones that touch the same keys over and over: key
/// changes, a unique value swapped between rows, delete then re-insert, insert then delete,
/// a composite key. A MySQL target applies each group as its net effect.
const CHURN: &[&str] = &[
    "START TRANSACTION;
     INSERT INTO items SELECT seq, CONCAT('c', seq), 1, 'new' FROM seq_301_to_500;
     UPDATE items SET qty = qty + 100, note = CONCAT(IFNULL(note, ''), '+') WHERE id BETWEEN 50 AND 149;
     UPDATE items SET id = id + 1000 WHERE id BETWEEN 150 AND 199;
     UPDATE items SET code = 'swap' WHERE id = 1;
     UPDATE items SET code = 'c1' WHERE id = 2;
     UPDATE items SET code = 'c2' WHERE id = 1;
     DELETE FROM items WHERE id BETWEEN 200 AND 249;
     INSERT INTO items VALUES (200, 'c200', 9, 'back');
     INSERT INTO items VALUES (900, 'gone', 0, NULL);
     DELETE FROM items WHERE id = 900;
     INSERT INTO items VALUES (901, 'kept', 0, NULL);
     UPDATE items SET qty = 42 WHERE id = 901;
     UPDATE items SET id = 249 WHERE id = 1150;
     UPDATE pairs SET v = v * 2 WHERE a < 10;
     UPDATE pairs SET b = CONCAT(b, 'x') WHERE a = 11;
     DELETE FROM pairs WHERE a = 12;
     INSERT INTO pairs VALUES (12, 'b32', -1);
     COMMIT",
    "UPDATE items SET qty = qty - 1 WHERE id = 300",
    "DELETE FROM items WHERE id = 301",
    "INSERT INTO items VALUES (301, 'c301b', 3, 'again')",
    "UPDATE items SET id = 301 + 5000 WHERE id = 301",
    "UPDATE items SET code = 'c301' WHERE id = 5301",
];

fn churn_to(target_url: &str) {
    let src = MyDb::on(&binlog_admin_url(), "repl_churn_src");
    src.exec(ITEMS);
    migrate_with_position(&src.url, target_url);
    for stmt in CHURN {
        src.exec(stmt);
    }
    let stats = apply_until_now(&src.url, target_url);
    assert_eq!(stats.transactions, CHURN.len() as u64, "{stats:?}");
    assert_equal(&src.url, target_url);
}

#[test]
fn churn_on_the_same_keys_applies_exactly_into_mysql() {
    let dst = MyDb::new("repl_churn_my");
    churn_to(&dst.url);
}

#[test]
fn churn_on_the_same_keys_applies_exactly_into_postgres() {
    let dst = PgDb::new("repl_churn_pg");
    churn_to(&dst.url);
}

/// A target changed behind ferry's back: a row the source updates is gone. The group fails
/// naming the table and key, and nothing of it is committed.
#[test]
fn a_diverged_mysql_target_is_named_by_table_and_key() {
    let src = MyDb::on(&binlog_admin_url(), "repl_diverge_src");
    src.exec(ITEMS);
    let dst = MyDb::new("repl_diverge_my");
    migrate_with_position(&src.url, &dst.url);
    dst.exec("DELETE FROM items WHERE id = 77");
    src.exec(
        "START TRANSACTION; UPDATE items SET qty = 12345 WHERE id BETWEEN 70 AND 80; \
         INSERT INTO items VALUES (1000, 'x1000', 1, NULL); COMMIT",
    );
    let err = try_apply_until_now(&src.url, &dst.url).expect_err("a diverged target was applied");
    let text = err.to_string();
    assert!(text.contains("`items`") && text.contains("id=77"), "{text}");
    assert!(text.contains("diverged"), "{text}");
    assert_eq!(
        dst.text("SELECT COUNT(*) FROM items WHERE qty = 12345")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn an_insert_over_an_existing_row_is_refused_on_mysql() {
    let src = MyDb::on(&binlog_admin_url(), "repl_dup_src");
    src.exec(ITEMS);
    let dst = MyDb::new("repl_dup_my");
    migrate_with_position(&src.url, &dst.url);
    dst.exec("INSERT INTO items VALUES (1001, 'x1001', 0, 'made on the target')");
    src.exec(
        "START TRANSACTION; INSERT INTO items VALUES (1000, 'x1000', 1, NULL), (1001, 'y1001', 1, NULL); \
         UPDATE items SET qty = 5 WHERE id = 3; COMMIT",
    );
    let err = try_apply_until_now(&src.url, &dst.url).expect_err("applied over a row");
    let text = err.to_string();
    assert!(text.contains("`items`") && text.contains("1001"), "{text}");
    // Nothing of the group was committed: the first insert is not there either.
    assert_eq!(
        dst.text("SELECT COUNT(*) FROM items WHERE id = 1000")
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        dst.text("SELECT qty FROM items WHERE id = 3").as_deref(),
        Some("3")
    );
}
