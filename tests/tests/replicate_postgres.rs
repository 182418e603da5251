//! The low-downtime flow from PostgreSQL (logical replication, pgoutput) through the `ferry`
//! binary, into PostgreSQL and into MariaDB: `ferry migrate --replicate
//! --set-replica-identity` copies from the slot's snapshot and keeps applying while the
//! source is written to; `ferry replicate` is killed with SIGKILL at random moments under a
//! concurrent workload (transfers, inserts, deletes, key changes, keyless duplicates,
//! updates that leave a TOASTed column alone, large transactions) and restarted; `ferry
//! cutover` drains, verifies every value, says "safe to switch" — and leaves no replication
//! slot or publication on the source. Every test drops its source's slots, also on failure.

#![allow(clippy::unwrap_used)]

use ferry_tests::{exit_within, ferry, seeded_rng, spawn_ferry, wait_for, MyDb, PgDb, PgWorkload};
use std::time::{Duration, Instant};

const SCHEMA: &str = "
CREATE TABLE accounts (id serial PRIMARY KEY, owner varchar(40) NOT NULL,
  balance numeric(14,2) NOT NULL, kind text NOT NULL, updated timestamptz NOT NULL,
  note text, addr inet);
ALTER TABLE accounts ALTER COLUMN note SET STORAGE EXTERNAL;
CREATE TABLE ledger (id bigserial PRIMARY KEY, account_id int NOT NULL,
  amount numeric(14,2) NOT NULL, memo text, doc jsonb);
CREATE TABLE tags (account_id int, tag varchar(20));
INSERT INTO accounts (owner, balance, kind, updated, note, addr)
  SELECT 'owner' || g, g + 0.25, (ARRAY['a','b','c'])[1 + g % 3], '2024-01-01 00:00+00',
         repeat(md5(g::text), 120), ('10.1.' || (g % 200) || '.' || (g % 250))::inet
  FROM generate_series(1, 300) g;
INSERT INTO tags VALUES (1, 'x'), (1, 'x'), (2, 'y');
";

/// A source database whose replication slots are dropped before the database itself.
struct Source {
    db: PgDb,
}

impl Source {
    fn new(prefix: &str) -> Source {
        Source::with(prefix, SCHEMA)
    }

    fn with(prefix: &str, schema: &str) -> Source {
        let db = PgDb::new(prefix);
        db.exec(schema);
        Source { db }
    }

    fn slots(&self) -> i64 {
        self.db.slots()
    }
}

impl Source {
    /// Terminate the backend streaming from this database's slot, once one does (up to
    /// 20 s); whether one was terminated.
    fn terminate_walsender(&self) -> bool {
        let name = self.db.name.clone();
        ferry_tests::block_on(async move {
            let c = ferry_tests::pg_connect(&ferry_tests::pg_admin_url()).await;
            for _ in 0..200 {
                let n = c
                    .execute(
                        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                         WHERE database = $1 AND active_pid IS NOT NULL",
                        &[&name],
                    )
                    .await
                    .unwrap();
                if n > 0 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        })
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        ferry_tests::drop_replication_slots(&self.db.name);
    }
}

/// One source transaction of the workload, chosen by `n`.
fn step(n: u64) -> String {
    let a = 1 + n % 250;
    let b = 1 + (n * 7) % 250;
    match n % 9 {
        0 | 1 => format!(
            "BEGIN; UPDATE accounts SET balance = balance - 1.5, updated = now() WHERE id = {a}; \
             UPDATE accounts SET balance = balance + 1.5, updated = now() WHERE id = {b}; \
             INSERT INTO ledger (account_id, amount, memo, doc) VALUES ({a}, -1.5, 'to {b}', '{{\"n\": {n}}}'), \
             ({b}, 1.5, 'from {a}', NULL); COMMIT"
        ),
        2 => format!(
            "INSERT INTO accounts (owner, balance, kind, updated, note, addr) \
             VALUES ('new{n}', 0, 'b', now(), repeat(md5('{n}'), 100), '::1')"
        ),
        3 => format!("DELETE FROM ledger WHERE id = {}", 1 + n / 3),
        4 => format!("INSERT INTO tags VALUES ({a}, 't{}'), ({a}, 't{}')", n % 3, n % 3),
        5 => format!(
            "DELETE FROM tags WHERE ctid = (SELECT ctid FROM tags WHERE account_id = {a} LIMIT 1)"
        ),
        6 => format!("UPDATE accounts SET id = id + 1000000 WHERE id = {}", 251 + n % 40),
        7 if n % 63 == 7 => format!(
            "INSERT INTO ledger (account_id, amount, memo) \
             SELECT {a}, g, 'bulk {n}' FROM generate_series(1, 3000) g"
        ),
        _ => format!("UPDATE accounts SET kind = 'c' WHERE id = {b}"),
    }
}

fn low_downtime(src: &Source, target: &str) {
    let from = src.db.url.as_str();
    let mut random = seeded_rng();
    // A keyless table is refused until the flag lets ferry give it REPLICA IDENTITY FULL.
    let refused = ferry(&["migrate", "--from", from, "--to", target, "--replicate"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("--set-replica-identity"),
        "{}",
        refused.all()
    );
    assert_eq!(src.slots(), 0, "a refused start leaves no slot");

    let work = PgWorkload::start(from, Duration::from_millis(2), step);
    let (mut child, rx) = spawn_ferry(&[
        "migrate",
        "--from",
        from,
        "--to",
        target,
        "--replicate",
        "--set-replica-identity",
    ]);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(500));

    // Kill ferry at random moments, restart `ferry replicate` each time.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(150 + (random() * 700.0) as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        let (c, _rx) = spawn_ferry(&["replicate", "--from", from, "--to", target]);
        child = c;
        std::thread::sleep(Duration::from_millis((random() * 400.0) as u64));
    }
    // The source drops the replication connection: the applier reconnects and goes on.
    assert!(
        src.terminate_walsender(),
        "no applier streamed from the slot"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the applier ended when its replication connection was dropped"
    );
    let status = ferry(&["replicate", "--status", "--from", from, "--to", target]);
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(
        status.stdout.contains("position      ferry_"),
        "{}",
        status.all()
    );
    assert!(status.all().contains("retains"), "{}", status.all());

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
        from,
        "--to",
        target,
        "--timeout",
        "60s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    assert_eq!(src.slots(), 0, "cutover dropped the slot");
    let pubs = src.db.text("SELECT count(*) FROM pg_publication").unwrap();
    assert_eq!(pubs, "0", "cutover dropped the publication");
}

#[test]
fn postgres_to_postgres_survives_kills_under_load_and_cuts_over() {
    let src = Source::new("repl_pg_src");
    let dst = PgDb::new("repl_pg_pg");
    low_downtime(&src, &dst.url);
    // Values the workload never touched after the copy kept their TOASTed notes.
    let same = dst
        .text("SELECT count(*) FROM accounts WHERE note = repeat(md5(id::text), 120)")
        .unwrap();
    assert_ne!(same, "0");
    let nulls = dst
        .text("SELECT count(*) FROM accounts WHERE note IS NULL")
        .unwrap();
    assert_eq!(nulls, "0", "an unchanged TOAST value never becomes NULL");
}

#[test]
fn postgres_to_mysql_survives_kills_under_load_and_cuts_over() {
    let src = Source::new("repl_pg_src_my");
    let dst = MyDb::new("repl_pg_my");
    low_downtime(&src, &dst.url);
}

#[test]
fn replicate_stop_drops_the_slot_and_a_changed_table_stops_replication() {
    let src = Source::new("repl_pg_stop_src");
    let dst = PgDb::new("repl_pg_stop");
    let from = src.db.url.clone();
    let (mut child, rx) = copy_then_replicate(&from, &dst.url);
    // Once the applier streams (it plans from the source as it is when it starts).
    src.db.exec(&step(0));
    wait_for(&rx, "replication: at", Duration::from_secs(60));
    src.db.exec("ALTER TABLE ledger ADD COLUMN extra int");
    src.db
        .exec("INSERT INTO ledger (account_id, amount, extra) VALUES (1, 1, 1)");
    let status = exit_within(&mut child, Duration::from_secs(60), "replication went on");
    assert_ne!(status.code(), Some(0));
    // The process ended, so its stderr closes and the reader thread ends the channel.
    let said: Vec<String> = rx.iter().collect();
    assert!(
        said.iter()
            .any(|l| l.contains("`public.ledger`") && l.contains("column `extra` was added")),
        "{said:#?}"
    );
    // The error does not leave the slot behind silently.
    assert!(
        said.iter()
            .any(|l| l.starts_with("warning: replication slot ferry_")
                && l.contains("retains")
                && l.contains("ferry replicate --stop")),
        "{said:#?}"
    );
    assert_eq!(src.slots(), 1);
    let stop = ferry(&["replicate", "--stop", "--from", &from, "--to", &dst.url]);
    assert_eq!(stop.code, 0, "{}", stop.all());
    assert_eq!(src.slots(), 0);
}

/// `ferry migrate --replicate --set-replica-identity` in the background, once its copy is
/// complete: the process and its stderr lines.
fn copy_then_replicate(
    from: &str,
    to: &str,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let args = [
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--replicate",
        "--set-replica-identity",
    ];
    let (child, rx) = spawn_ferry(&args);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    (child, rx)
}

/// `kill SIGNAL` (e.g. `-INT`) to `child`.
fn send(child: &std::process::Child, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal}");
}

/// Send `signal` (e.g. `-INT`) to a running ferry; it must end within 30 s with `code`, and
/// say where replication stopped and what the slot left on the source holds.
fn signal_and_check(
    child: &mut std::process::Child,
    rx: std::sync::mpsc::Receiver<String>,
    signal: &str,
    code: i32,
) {
    send(child, signal);
    let status = exit_within(child, Duration::from_secs(30), "ferry ignored the signal");
    assert_eq!(status.code(), Some(code), "exit code after {signal}");
    let said: Vec<String> = rx.iter().collect();
    let name = &signal[1..];
    assert!(
        said.iter().any(
            |l| l.contains(&format!("SIG{name}: replication stopped at ferry_"))
                && l.contains("`ferry replicate` continues")
        ),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|l| l.starts_with("warning: replication slot ferry_") && l.contains("retains")),
        "{said:#?}"
    );
}

/// Ctrl-C (SIGINT) of `ferry migrate --replicate` and SIGTERM of `ferry replicate`: each
/// ends promptly with the shell's code (130, 143), names the slot it leaves on the source
/// and the WAL it retains, and the slot stays so replication can resume; `ferry replicate`
/// then resumes from the recorded position and `--stop` releases it.
#[test]
fn sigint_and_sigterm_end_replication_naming_the_slot_left_behind() {
    let src = Source::new("repl_pg_sig_src");
    let dst = PgDb::new("repl_pg_sig");
    let from = src.db.url.clone();
    let (mut child, rx) = copy_then_replicate(&from, &dst.url);
    src.db.exec(&step(2));
    wait_for(&rx, "replication: at", Duration::from_secs(60));
    signal_and_check(&mut child, rx, "-INT", 130);
    assert_eq!(src.slots(), 1, "the slot stays for `ferry replicate`");

    let (mut child, rx) = spawn_ferry(&["replicate", "--from", &from, "--to", &dst.url]);
    src.db.exec(&step(2));
    wait_for(&rx, "replication: at", Duration::from_secs(60));
    // Both inserted accounts arrived: the first before SIGINT, the second after resuming.
    let deadline = Instant::now() + Duration::from_secs(30);
    while dst.text("SELECT count(*) FROM accounts").as_deref() != Some("302") {
        assert!(
            Instant::now() < deadline,
            "the resumed applier did not catch up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal_and_check(&mut child, rx, "-TERM", 143);
    assert_eq!(src.slots(), 1);
    let stop = ferry(&["replicate", "--stop", "--from", &from, "--to", &dst.url]);
    assert_eq!(stop.code, 0, "{}", stop.all());
    assert_eq!(src.slots(), 0);
}

/// Ctrl-C while `ferry migrate --replicate` is still copying: the run stops with 130 and says
/// so, and drops the slot and publication it made — nothing records them yet, so left behind
/// they would keep WAL on the source forever.
#[test]
fn sigint_during_the_copy_drops_the_slot_it_made() {
    let src = Source::with(
        "repl_pg_sigcopy_src",
        "CREATE TABLE big (id int PRIMARY KEY, note text, at timestamptz);
         INSERT INTO big SELECT g, md5(g::text), now() FROM generate_series(1, 1500000) g;",
    );
    let dst = PgDb::new("repl_pg_sigcopy");
    let (mut child, rx) = spawn_ferry(&[
        "migrate",
        "--from",
        &src.db.url,
        "--to",
        &dst.url,
        "--replicate",
    ]);
    wait_for(&rx, "phase: copy", Duration::from_secs(120));
    send(&child, "-INT");
    let status = exit_within(&mut child, Duration::from_secs(30), "ferry ignored SIGINT");
    let said: Vec<String> = rx.iter().collect();
    assert_eq!(status.code(), Some(130), "{said:#?}");
    assert!(
        said.iter()
            .any(|l| l.contains("SIGINT: the run stopped before it finished")
                && l.contains("released")),
        "{said:#?}"
    );
    assert!(
        !said.iter().any(|l| l.contains("copy complete")),
        "the copy finished before the signal: {said:#?}"
    );
    assert_eq!(src.slots(), 0, "the slot made for the run is dropped");
    let pubs = src.db.text("SELECT count(*) FROM pg_publication").unwrap();
    assert_eq!(pubs, "0", "and its publication");

    // SIGKILL cannot be caught: that copy's slot stays, recorded nowhere. A later
    // replication's status read names it, with how to drop it.
    let (mut child, rx) = spawn_ferry(&[
        "migrate",
        "--from",
        &src.db.url,
        "--to",
        &dst.url,
        "--replicate",
        "--if-exists",
        "drop",
    ]);
    wait_for(&rx, "phase: copy", Duration::from_secs(120));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(src.slots(), 1, "a killed copy leaves its slot");
    let orphan = src
        .db
        .text("SELECT slot_name FROM pg_replication_slots WHERE database = current_database()")
        .unwrap();
    let dst2 = PgDb::new("repl_pg_sigcopy2");
    let (mut child, rx) = copy_then_replicate(&src.db.url, &dst2.url);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(rx);
    let status = ferry(&[
        "replicate",
        "--status",
        "--from",
        &src.db.url,
        "--to",
        &dst2.url,
    ]);
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(
        status.stderr.contains(&format!(
            "replication slot {orphan} on the source is not this target's and nothing reads it"
        )) && status
            .stderr
            .contains(&format!("pg_drop_replication_slot('{orphan}')")),
        "{}",
        status.all()
    );
}

/// Every column type the copy reads (fixtures/postgres/every_type.sql) replicated: rows
/// inserted with each type's values (NaN and infinities too where the target stores them),
/// updates of arrays, intervals, enums and inet, a delete; the cutover compares every value.
/// Returns the source, kept until the caller is done with it.
fn every_type_replicates(target: &str, mysql: bool) -> Source {
    let fixture =
        std::fs::read_to_string(ferry_tests::repo_root().join("fixtures/postgres/every_type.sql"))
            .unwrap();
    let src = Source::with("repl_pg_types_src", &fixture);
    if mysql {
        // NaN and Infinity have no MySQL form (the copy refuses them by name).
        src.db.exec("DELETE FROM every_type WHERE id = 2");
    }
    let from = src.db.url.clone();
    // What replication cannot carry exactly is refused up front, by name, before anything
    // is made; the test then changes the source so the rest can be replicated.
    let refused = |column: &str| {
        let run = ferry(&["migrate", "--from", &from, "--to", target, "--replicate"]);
        assert_ne!(run.code, 0, "{}", run.all());
        let named = format!("`public.every_type`, column `{column}`");
        assert!(run.all().contains(&named), "{}", run.all());
        assert_eq!(src.slots(), 0);
    };
    // A bit varying value's length does not survive the neutral value.
    refused("vbits");
    src.db
        .exec("ALTER TABLE every_type ALTER COLUMN vbits TYPE bit(8) USING vbits::bit(8)");
    if mysql {
        // A MySQL target stores the generated column's values, which logical replication
        // does not send.
        refused("doubled");
        src.db
            .exec("ALTER TABLE every_type ALTER COLUMN doubled DROP EXPRESSION");
    }
    let (mut child, rx) = spawn_ferry(&["migrate", "--from", &from, "--to", target, "--replicate"]);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    src.db.exec(
        "INSERT INTO every_type (flag, small, int_col, big, r, d, n, n_free, vc, ch, t, ci, b, dt, tm, \
           ts, tstz, iv, u, u2, j, jb, ints, texts, m, e, sc, bits, vbits, addr, warehouse_id) \
         SELECT flag, small, int_col, big, r, d, n, n_free, vc, ch, t, ci, b, dt, tm, ts, tstz, iv, \
           uuid_generate_v4(), u2, j, jb, ints, texts, m, e, sc, bits, vbits, addr, warehouse_id \
         FROM every_type ORDER BY id",
    );
    src.db.exec(
        "UPDATE every_type SET t = coalesce(t, '') || '!', iv = iv * 2, \
           ints = array_append(ints, 9), m = 'sad', addr = '10.9.8.7/16', b = '\\xdeadbeef' \
         WHERE id = 1",
    );
    src.db
        .exec("INSERT INTO inventory.warehouse (name) VALUES ('east')");
    src.db.exec("DELETE FROM every_type WHERE id = 3");
    let cut = ferry(&[
        "cutover",
        "--from",
        &from,
        "--to",
        target,
        "--timeout",
        "60s",
    ]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    // The running applier drained to the cutover's position and ended by itself.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the applier kept running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(src.slots(), 0);
    src
}

#[test]
fn every_type_replicates_postgres_to_postgres() {
    let dst = PgDb::new("repl_pg_types_pg");
    let _src = every_type_replicates(&dst.url, false);
    assert_eq!(
        dst.text("SELECT count(*) FROM every_type").as_deref(),
        Some("5")
    );
}

#[test]
fn every_type_replicates_postgres_to_mysql() {
    let dst = MyDb::new("repl_pg_types_my");
    let src = every_type_replicates(&dst.url, true);
    let src_url = src.db.url.clone();
    assert_eq!(
        dst.text("SELECT count(*) FROM every_type").as_deref(),
        Some("3")
    );
    // Intervals were replicated and compared (cutover verified every value); a real
    // difference in one is still reported, by column.
    assert_eq!(
        dst.text("SELECT iv FROM every_type WHERE id = 1")
            .as_deref(),
        Some("2 years 4 mons 6 days 08:10:13.4")
    );
    dst.exec("UPDATE every_type SET iv = '2 years 4 mons 6 days 08:10:13.400001' WHERE id = 1");
    let verify = ferry(&["verify", "--content", "--from", &src_url, "--to", &dst.url]);
    assert_eq!(verify.code, 1, "{}", verify.all());
    assert!(verify.all().contains("iv"), "{}", verify.all());
}

/// Once the running `migrate --replicate` (`child`, its output on `rx`) applies changes,
/// cut over from another process: it says "safe to switch", and the applier stops.
fn cut_over_the_running_applier(
    from: &str,
    to: &str,
    child: &mut std::process::Child,
    rx: &std::sync::mpsc::Receiver<String>,
) {
    wait_for(rx, "replication: at", Duration::from_secs(60));
    let cut = ferry(&["cutover", "--from", from, "--to", to, "--timeout", "60s"]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    exit_within(
        child,
        Duration::from_secs(30),
        "the applier did not stop for the cutover",
    );
}

/// A partitioned source table (rows in its partitions, the publication naming the root):
/// inserts routed to a partition, an update that moves a row to another partition, and a
/// delete all reach the plain target table; the cutover finds every value equal.
#[test]
fn changes_to_a_partitioned_table_replicate_through_its_root() {
    let src = Source::with(
        "repl_pg_part_src",
        "CREATE TABLE payment (payment_id serial, amount numeric(5,2) NOT NULL,
           payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id))
           PARTITION BY RANGE (payment_date);
         CREATE TABLE payment_p1 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
         CREATE TABLE payment_p2 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
         INSERT INTO payment (amount, payment_date) VALUES (2.99, '2022-01-15 10:00+00'), (4.5, '2022-01-20');",
    );
    let dst = PgDb::new("repl_pg_part");
    let (mut child, rx) = copy_then_replicate(&src.db.url, &dst.url);
    src.db.exec(
        "INSERT INTO payment (amount, payment_date) VALUES (1.5, '2022-02-10');
         UPDATE payment SET payment_date = '2022-02-15' WHERE payment_id = 1;
         DELETE FROM payment WHERE payment_id = 2",
    );
    cut_over_the_running_applier(&src.db.url, &dst.url, &mut child, &rx);
    assert_eq!(
        dst.text("SELECT string_agg(payment_id || ':' || payment_date::date, ',' ORDER BY payment_id) FROM payment")
            .as_deref(),
        Some("1:2022-02-15,3:2022-02-10")
    );
}

/// A source whose foreign key is DEFERRABLE INITIALLY DEFERRED commits a child before its
/// parent in one transaction; replication applies the changes in source order, so the
/// target's key must be deferred too, as the copy makes it: the cutover finds every value
/// equal.
#[test]
fn a_child_written_before_its_parent_under_a_deferred_key_replicates() {
    let src = Source::with(
        "repl_pg_deferred_src",
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE child (id int PRIMARY KEY,
           parent_id int NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);",
    );
    let dst = PgDb::new("repl_pg_deferred");
    let (mut child, rx) = copy_then_replicate(&src.db.url, &dst.url);
    src.db
        .exec("BEGIN; INSERT INTO child VALUES (2, 2); INSERT INTO parent VALUES (2); COMMIT;");
    cut_over_the_running_applier(&src.db.url, &dst.url, &mut child, &rx);
    assert_eq!(
        dst.text("SELECT string_agg(id || ':' || parent_id, ',' ORDER BY id) FROM child")
            .as_deref(),
        Some("1:1,2:2")
    );
}
