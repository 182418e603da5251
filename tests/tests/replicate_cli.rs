//! The low-downtime flow through the `ferry` binary, MariaDB (row binlog) -> PostgreSQL and
//! -> MariaDB: `ferry migrate --replicate` copies and keeps applying while the source is
//! written to; `ferry replicate` is killed with SIGKILL at random moments under a
//! concurrent workload and restarted; `ferry cutover` drains, verifies every value and
//! says "safe to switch" (exit 0) — and exit 1 when the target was changed behind ferry's back.

#![allow(clippy::unwrap_used)]

use ferry_tests::{
    exit_within, exits_within, ferry, mysql_binlog_admin_url as binlog_admin_url, seeded_rng,
    spawn_ferry, wait_for, MyDb, PgDb,
};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCHEMA: &str = "
CREATE TABLE accounts (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, owner varchar(40) NOT NULL,
  balance decimal(14,2) NOT NULL, kind enum('a','b','c') NOT NULL, updated datetime(6) NOT NULL) ENGINE=InnoDB;
CREATE TABLE ledger (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, account_id int NOT NULL,
  amount decimal(14,2) NOT NULL, memo text) ENGINE=InnoDB;
CREATE TABLE tags (account_id int, tag varchar(20)) ENGINE=InnoDB;
";

/// Seed rows so the copy has something to move.
fn seed(src: &MyDb) {
    let mut sql = String::from("INSERT INTO accounts (owner, balance, kind, updated) VALUES ");
    let rows: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "('owner{i}', {i}.25, '{}', '2024-01-01 00:00:00')",
                ["a", "b", "c"][i % 3]
            )
        })
        .collect();
    sql.push_str(&rows.join(","));
    src.exec(&sql);
    src.exec("INSERT INTO tags VALUES (1, 'x'), (1, 'x'), (2, 'y')");
}

/// One transaction of the workload, chosen by `n`: transfers between accounts (two updates
/// and two ledger inserts in one transaction), new accounts, deletes, key changes, keyless
/// duplicates.
fn step(n: u64) -> String {
    let a = 1 + n % 250;
    let b = 1 + (n * 7) % 250;
    match n % 6 {
        0 | 1 => format!(
            "START TRANSACTION; UPDATE accounts SET balance = balance - 1.5, updated = NOW(6) WHERE id = {a}; \
             UPDATE accounts SET balance = balance + 1.5, updated = NOW(6) WHERE id = {b}; \
             INSERT INTO ledger (account_id, amount, memo) VALUES ({a}, -1.5, 'to {b}'), ({b}, 1.5, 'from {a}'); COMMIT"
        ),
        2 => format!("INSERT INTO accounts (owner, balance, kind, updated) VALUES ('new{n}', 0, 'b', NOW(6))"),
        3 => format!("DELETE FROM ledger WHERE id = {}", 1 + n / 3),
        4 => format!("INSERT INTO tags VALUES ({a}, 't{}'), ({a}, 't{}')", n % 3, n % 3),
        _ => format!("DELETE FROM tags WHERE account_id = {a} LIMIT 1"),
    }
}

/// Writes the workload to the source until stopped; counts transactions.
struct Workload {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Workload {
    fn start(url: &str, from: u64) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let (s, d, url) = (stop.clone(), done.clone(), url.to_string());
        let handle = std::thread::spawn(move || {
            ferry_tests::block_on(async move {
                use mysql_async::prelude::Queryable;
                let mut db = ferry_tests::mysql_connect(&url).await;
                let mut n = from;
                while !s.load(Ordering::Relaxed) {
                    db.query_drop(step(n)).await.unwrap();
                    n += 1;
                    d.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        });
        Workload {
            stop,
            done,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
        self.done.load(Ordering::Relaxed)
    }
}

/// `ferry migrate --replicate` in the background, once its copy is complete.
fn copy_then_replicate(from: &str, to: &str) -> (Child, std::sync::mpsc::Receiver<String>) {
    let (child, rx) = spawn_ferry(&["migrate", "--from", from, "--to", to, "--replicate"]);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    (child, rx)
}

fn low_downtime(target: &str) {
    let src = MyDb::on(&binlog_admin_url(), "repl_cli_src");
    src.exec(SCHEMA);
    seed(&src);
    let mut random = seeded_rng();

    // Writes run while the copy runs and after it.
    let work = Workload::start(&src.url, 0);
    let (mut child, _rx) = copy_then_replicate(&src.url, target);
    std::thread::sleep(Duration::from_millis(500));

    // Kill ferry at random moments, restart `ferry replicate` each time.
    let mut kills = 0;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100 + (random() * 600.0) as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        let (c, _rx) = spawn_ferry(&["replicate", "--from", &src.url, "--to", target]);
        child = c;
        std::thread::sleep(Duration::from_millis((random() * 400.0) as u64));
    }
    assert_eq!(kills, 10);
    let status = ferry(&["replicate", "--status", "--from", &src.url, "--to", target]);
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(
        status.stdout.contains("position      mysql-bin."),
        "{}",
        status.all()
    );

    let written = work.finish();
    assert!(
        written > 50,
        "the workload wrote only {written} transactions"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let cut = ferry(&[
        "cutover",
        "--from",
        &src.url,
        "--to",
        target,
        "--timeout",
        "60s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
}

#[test]
fn mysql_to_postgres_survives_kills_under_load_and_cuts_over() {
    let dst = PgDb::new("repl_cli_pg");
    low_downtime(&dst.url);
    // After cutover the target's sequences are past the replicated rows.
    let max: i64 = dst
        .text("SELECT max(id) FROM accounts")
        .unwrap()
        .parse()
        .unwrap();
    dst.exec("INSERT INTO accounts (owner, balance, kind, updated) VALUES ('app', 0, 'a', now())");
    let new: i64 = dst
        .text("SELECT max(id) FROM accounts")
        .unwrap()
        .parse()
        .unwrap();
    assert!(new > max);
}

#[test]
fn mysql_to_mysql_survives_kills_under_load_and_cuts_over() {
    let dst = MyDb::new("repl_cli_my");
    low_downtime(&dst.url);
}

#[test]
fn cutover_says_not_safe_when_the_target_was_changed() {
    let src = MyDb::on(&binlog_admin_url(), "repl_cli_diff_src");
    src.exec(SCHEMA);
    seed(&src);
    let dst = PgDb::new("repl_cli_diff");
    let (mut child, _rx) = copy_then_replicate(&src.url, &dst.url);
    child.kill().unwrap();
    child.wait().unwrap();
    dst.exec("UPDATE accounts SET owner = 'tampered' WHERE id = 7");
    let cut = ferry(&["cutover", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(cut.code, 1, "{}", cut.all());
    assert!(cut.all().contains("NOT safe to switch"), "{}", cut.all());
}

#[test]
fn cutover_stops_a_running_applier_which_exits_zero() {
    let src = MyDb::on(&binlog_admin_url(), "repl_cli_stop_src");
    src.exec(SCHEMA);
    seed(&src);
    let dst = MyDb::new("repl_cli_stop");
    let (mut child, rx) = copy_then_replicate(&src.url, &dst.url);
    for n in 0..40 {
        src.exec(&step(n));
    }
    let cut = ferry(&[
        "cutover",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--timeout",
        "60s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    // The running applier drained to the cutover's position and ended by itself, with 0.
    let status = exit_within(
        &mut child,
        Duration::from_secs(30),
        "the applier kept running",
    );
    assert_eq!(status.code(), Some(0));
    let said: Vec<String> = rx.try_iter().collect();
    assert!(
        said.iter().any(|l| l.contains("a cutover asked for it")),
        "{said:#?}"
    );
}

/// Kill every connection of `db` on its server (from an admin session of that server);
/// `only` narrows to one kind of session (`Binlog Dump` for the source's stream). Returns
/// how many were killed.
fn kill_sessions(db: &MyDb, only: Option<&str>) -> usize {
    use mysql_async::prelude::Queryable;
    let filter = only.map_or(String::new(), |c| format!(" AND COMMAND LIKE '{c}%'"));
    db.with(async |c| {
        let ids: Vec<u64> = c
            .query(format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{}' AND ID <> CONNECTION_ID(){filter}",
                db.name
            ))
            .await
            .unwrap();
        for id in &ids {
            // A session may end on its own between the two statements.
            let _ = c.query_drop(format!("KILL CONNECTION {id}")).await;
        }
        ids.len()
    })
}

#[test]
fn dropped_connections_at_both_ends_are_reopened_from_the_recorded_position() {
    let src = MyDb::on(&binlog_admin_url(), "repl_cli_drop_src");
    src.exec(SCHEMA);
    seed(&src);
    let dst = MyDb::new("repl_cli_drop");
    let work = Workload::start(&src.url, 0);
    let (mut child, rx) = copy_then_replicate(&src.url, &dst.url);
    std::thread::sleep(Duration::from_millis(700));
    let again = "starting again from the recorded position";

    // The source's binlog stream goes away: the applier says so and reads on from the
    // recorded position. (Writes pause around the kill: MariaDB 10.11 can leave a commit
    // hanging when its binlog dump thread is killed at the same instant.)
    let mut written = work.finish();
    let start = Instant::now();
    while kill_sessions(&src, Some("Binlog Dump")) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no binlog stream seen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let said = wait_for(&rx, again, Duration::from_secs(30));
    assert!(
        said.iter().any(|l| l.contains("reading the binlog")),
        "{said:#?}"
    );
    let work = Workload::start(&src.url, 100_000);
    // Applying again (a progress line), so the next failure is a new one.
    wait_for(&rx, "replication: at", Duration::from_secs(30));

    // The target's sessions go away, the applier's (and its lock) among them.
    assert!(kill_sessions(&dst, None) > 0, "no target session seen");
    let said = wait_for(&rx, again, Duration::from_secs(30));
    assert!(
        said.iter()
            .any(|l| l.contains(&dst.name) || l.contains("table `")),
        "{said:#?}"
    );
    // Applying again before the cutover (one that came while the applier waits to
    // reconnect would find the lock free and finish without it).
    wait_for(&rx, "replication: at", Duration::from_secs(30));

    written += work.finish();
    assert!(
        written > 50,
        "the workload wrote only {written} transactions"
    );
    assert!(child.try_wait().unwrap().is_none(), "the applier gave up");
    // The running applier drains for the cutover, which verifies every value.
    let cut = ferry(&[
        "cutover",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--timeout",
        "60s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Wait until the target has the source's rows (up to 60 s); panics with what the
/// applier said otherwise.
fn caught_up(src: &MyDb, dst: &MyDb, rx: &std::sync::mpsc::Receiver<String>) {
    let count = "SELECT concat((SELECT count(*) FROM accounts), '/', (SELECT count(*) FROM ledger), '/', (SELECT count(*) FROM tags))";
    let start = Instant::now();
    while src.text(count) != dst.text(count) {
        if start.elapsed() > Duration::from_secs(60) {
            let said: Vec<String> = rx.try_iter().collect();
            panic!(
                "the applier did not catch up: source {:?}, target {:?}: {said:#?}",
                src.text(count),
                dst.text(count)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Drop the applier's binlog stream until its reconnect backoff is 8 s long (each drop
/// doubles it), and return while it waits out that backoff.
fn drop_stream_until_a_long_backoff(
    src: &MyDb,
    dst: &MyDb,
    rx: &std::sync::mpsc::Receiver<String>,
) {
    let mut n = 500_000;
    loop {
        // Changes to read, then the stream goes away (writes pause around the kill, as above).
        for _ in 0..5 {
            src.exec(&step(n));
            n += 1;
        }
        caught_up(src, dst, rx);
        let start = Instant::now();
        while kill_sessions(src, Some("Binlog Dump")) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no binlog stream seen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let said = wait_for(
            rx,
            "starting again from the recorded position",
            Duration::from_secs(30),
        );
        if said.last().is_some_and(|l| l.ends_with("in 8s")) {
            return;
        }
    }
}

/// A `ferry replicate` whose source stream dropped is waiting to reconnect when `ferry
/// cutover` runs. The cutover finishes (exit 0, every value equal), and the applier, once
/// back, sees the cutover and ends with 0 instead of following the source on: a row written
/// to the source after the cutover never reaches the target. With `target_too`, the
/// applier's target session (and so its lock) is gone as well, so the cutover applies
/// the rest itself while the applier is away.
fn cutover_while_the_applier_backs_off(target_too: bool) {
    let src = MyDb::on(&binlog_admin_url(), "repl_cli_backoff_src");
    src.exec(SCHEMA);
    seed(&src);
    let dst = MyDb::new("repl_cli_backoff");
    let (mut child, rx) = copy_then_replicate(&src.url, &dst.url);
    drop_stream_until_a_long_backoff(&src, &dst, &rx);
    if target_too {
        assert!(kill_sessions(&dst, None) > 0, "no target session seen");
    }
    // Written while the applier is away: the cutover must carry these.
    for n in 900_000..900_020 {
        src.exec(&step(n));
    }
    let cut = ferry(&[
        "cutover",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--timeout",
        "60s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    // After the cutover the source is written again (a straggler of the old application):
    // nothing of it may reach the switched-over target.
    src.exec("INSERT INTO accounts (owner, balance, kind, updated) VALUES ('after-cutover', 0, 'a', NOW(6))");
    let status = exits_within(&mut child, Duration::from_secs(90))
        .expect("the applier kept following the source after the cutover");
    let said: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(0), "{said:#?}");
    assert!(
        said.iter().any(|l| l.contains("a cutover asked for it")),
        "{said:#?}"
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM accounts WHERE owner = 'after-cutover'")
            .as_deref(),
        Some("0"),
        "a change made after the cutover was applied"
    );
    // Nothing applied twice: apart from the row written after the cutover, the target
    // still equals the source.
    src.exec("DELETE FROM accounts WHERE owner = 'after-cutover'");
    let verify = ferry(&["verify", "--content", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(verify.code, 0, "{}", verify.all());
    // A `ferry replicate` started later sees the cutover too and applies nothing.
    src.exec(
        "INSERT INTO accounts (owner, balance, kind, updated) VALUES ('later', 0, 'a', NOW(6))",
    );
    let (mut again, rx) = spawn_ferry(&["replicate", "--from", &src.url, "--to", &dst.url]);
    let status = exits_within(&mut again, Duration::from_secs(30))
        .expect("a later `ferry replicate` followed the source after the cutover");
    let said: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(0), "{said:#?}");
    assert!(
        said.iter().any(|l| l.contains("a cutover asked for it")),
        "{said:#?}"
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM accounts WHERE owner = 'later'")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn cutover_while_the_applier_waits_to_reconnect_to_the_source() {
    cutover_while_the_applier_backs_off(false);
}

#[test]
fn cutover_while_the_applier_waits_to_reconnect_to_both_ends() {
    cutover_while_the_applier_backs_off(true);
}
