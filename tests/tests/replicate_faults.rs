//! Replication against servers of the test's own (never the shared ones): the source
//! server, or the target, is restarted (fast shutdown, start again) while a workload writes
//! and ferry replicates, and ferry reconnects and continues from its recorded position; and the
//! change streams (MariaDB's binlog dump, PostgreSQL's walsender) run over TLS when the URL
//! asks for verified TLS, as the server sees it. Each ends with `ferry cutover` exit 0, every
//! value equal.

#![allow(clippy::unwrap_used)]

use ferry_tests::{
    block_on, exit_within, ferry, pg_connect, spawn_ferry, wait_for, MariaDbOptions, MyDb, PgDb,
    PgOptions, PrivateMariaDb, PrivatePg, TestCerts,
};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PG_SCHEMA: &str = "
CREATE TABLE accounts (id serial PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL,
  updated timestamptz NOT NULL DEFAULT now());
CREATE TABLE ledger (id bigserial PRIMARY KEY, account_id int NOT NULL, amount numeric(14,2) NOT NULL);
INSERT INTO accounts (owner, balance) SELECT 'owner' || g, g FROM generate_series(1, 200) g;
";

const MY_SCHEMA: &str = "
CREATE TABLE accounts (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, owner varchar(40) NOT NULL,
  balance decimal(14,2) NOT NULL, updated datetime(6) NOT NULL) ENGINE=InnoDB;
CREATE TABLE ledger (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, account_id int NOT NULL,
  amount decimal(14,2) NOT NULL) ENGINE=InnoDB;
";

/// One source transaction of the workload (the same SQL on both servers but for `now`).
fn step(n: u64, now: &str) -> String {
    let a = 1 + n % 150;
    let b = 1 + (n * 7) % 150;
    match n % 4 {
        0 | 1 => format!(
            "START TRANSACTION; UPDATE accounts SET balance = balance - 1.5, updated = {now} WHERE id = {a}; \
             UPDATE accounts SET balance = balance + 1.5, updated = {now} WHERE id = {b}; \
             INSERT INTO ledger (account_id, amount) VALUES ({a}, -1.5), ({b}, 1.5); COMMIT"
        ),
        2 => format!("INSERT INTO accounts (owner, balance, updated) VALUES ('new{n}', 0, {now})"),
        _ => format!("DELETE FROM ledger WHERE id = {}", 1 + n / 2),
    }
}

/// Writes the workload until stopped, reconnecting whenever the server goes away; counts
/// the transactions that committed and the failures (the restart) it rode out.
struct Workload {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

enum Server {
    Pg(String),
    My(String),
}

impl Workload {
    fn start(server: Server) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let (s, d, f) = (stop.clone(), done.clone(), failed.clone());
        let handle = std::thread::spawn(move || {
            block_on(async move {
                let mut n = 0;
                while !s.load(Ordering::Relaxed) {
                    let ok = match &server {
                        Server::Pg(conninfo) => pg_session(conninfo, &s, &d, &mut n).await,
                        Server::My(url) => my_session(url, &s, &d, &mut n).await,
                    };
                    if !ok {
                        f.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            })
        });
        Workload {
            stop,
            done,
            failed,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
        (
            self.done.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Write until stopped (true) or until the session fails (false).
async fn pg_session(conninfo: &str, stop: &AtomicBool, done: &AtomicU64, n: &mut u64) -> bool {
    let Ok((client, conn)) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls).await else {
        return false;
    };
    tokio::spawn(conn);
    while !stop.load(Ordering::Relaxed) {
        let sql = step(*n, "now()").replace("START TRANSACTION", "BEGIN");
        *n += 1;
        if client.batch_execute(&sql).await.is_err() {
            return false;
        }
        done.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    true
}

async fn my_session(url: &str, stop: &AtomicBool, done: &AtomicU64, n: &mut u64) -> bool {
    use mysql_async::prelude::Queryable;
    let Ok(opts) = mysql_async::Opts::from_url(url) else {
        return false;
    };
    let Ok(mut conn) = mysql_async::Conn::new(opts).await else {
        return false;
    };
    while !stop.load(Ordering::Relaxed) {
        let sql = step(*n, "NOW(6)");
        *n += 1;
        if conn.query_drop(&sql).await.is_err() {
            return false;
        }
        done.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let _ = conn.disconnect().await;
    true
}

fn pg_exec(conninfo: &str, sql: &str) {
    let (conninfo, sql) = (conninfo.to_string(), sql.to_string());
    block_on(async move {
        pg_connect(&conninfo)
            .await
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    });
}

fn my_exec(url: &str, sql: &str) {
    use mysql_async::prelude::Queryable;
    let (url, sql) = (url.to_string(), sql.to_string());
    block_on(async move {
        let mut c = ferry_tests::mysql_connect(&url).await;
        c.query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.disconnect().await;
    });
}

/// The single value of a query, as text (the server has no TLS requirement here).
fn my_text(url: &str, sql: &str) -> String {
    use mysql_async::prelude::Queryable;
    let (url, sql) = (url.to_string(), sql.to_string());
    block_on(async move {
        let mut c = ferry_tests::mysql_connect(&url).await;
        let v: Option<String> = c.query_first(&sql).await.unwrap();
        let _ = c.disconnect().await;
        v.unwrap_or_default()
    })
}

/// `ferry migrate --replicate` in the background, once its copy is complete.
fn replicating(from: &str, to: &str) -> (Child, Receiver<String>) {
    let (child, rx) = spawn_ferry(&["migrate", "--from", from, "--to", to, "--replicate"]);
    wait_for(&rx, "copy complete", Duration::from_secs(120));
    (child, rx)
}

/// `ferry cutover` says safe to switch, and the running applier ends with 0.
fn cut_over(from: &str, to: &str, mut child: Child) {
    let cut = ferry(&["cutover", "--from", from, "--to", to, "--timeout", "90s"]);
    assert_eq!(cut.code, 0, "{}", cut.all());
    assert!(cut.stdout.contains("safe to switch"), "{}", cut.all());
    let status = exit_within(
        &mut child,
        Duration::from_secs(30),
        "the applier kept running",
    );
    assert_eq!(status.code(), Some(0));
}

/// The highest account id on each side: the source's, then the target's.
type MaxIds<'a> = (&'a dyn Fn() -> i64, &'a dyn Fn() -> i64);

/// Wait until the target has the account the source had last when called (up to 120 s).
fn applies_again(max: MaxIds<'_>) {
    let want = (max.0)();
    let start = Instant::now();
    while (max.1)() < want {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the applier did not apply again after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// While the workload writes and ferry replicates, a server restarts (`restart`: the
/// source, which the workload then notices too, or the target); ferry says it starts again
/// from the recorded position, applies what was written after the restart, and the
/// cutover (which the running applier drains for) finds every value equal.
fn ride_out_a_restart(
    from: &str,
    to: &str,
    work: Workload,
    source_restarts: bool,
    restart: impl FnOnce(),
    max: MaxIds<'_>,
    running: (Child, Receiver<String>),
) {
    let (mut child, rx) = running;
    applies_again(max);
    restart();
    let said = wait_for(
        &rx,
        "starting again from the recorded position",
        Duration::from_secs(60),
    );
    // Written after the restart, applied by the same applier.
    std::thread::sleep(Duration::from_millis(1500));
    applies_again(max);
    let (written, failed) = work.finish();
    if source_restarts {
        assert!(failed > 0, "the workload did not notice the restart");
    }
    assert!(written > 100, "the workload wrote only {written}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the applier gave up: {said:#?}"
    );
    cut_over(from, to, child);
    let said: Vec<String> = rx.try_iter().collect();
    assert!(
        said.iter().any(|l| l.contains("a cutover asked for it")),
        "the running applier drained for the cutover: {said:#?}"
    );
}

#[test]
fn postgres_source_restarted_under_replication() {
    let pg = PrivatePg::start(&PgOptions {
        logical: true,
        ..Default::default()
    });
    pg_exec(&pg.socket("postgres"), "CREATE DATABASE src");
    pg_exec(&pg.socket("src"), PG_SCHEMA);
    let from = pg.url("127.0.0.1", "src", "");
    let dst = PgDb::new("repl_restart_pg");
    let work = Workload::start(Server::Pg(pg.socket("src")));
    let running = replicating(&from, &dst.url);
    let socket = pg.socket("src");
    let src_max = || -> i64 {
        let socket = socket.clone();
        block_on(async move {
            pg_connect(&socket)
                .await
                .query_one("SELECT max(id)::int8 FROM accounts", &[])
                .await
                .unwrap()
                .get(0)
        })
    };
    let dst_max = || -> i64 {
        dst.text("SELECT max(id) FROM accounts")
            .unwrap()
            .parse()
            .unwrap()
    };
    ride_out_a_restart(
        &from,
        &dst.url,
        work,
        true,
        || pg.restart(),
        (&src_max, &dst_max),
        running,
    );
}

#[test]
fn mariadb_source_restarted_under_replication() {
    let mut my = PrivateMariaDb::start(&MariaDbOptions {
        binlog: true,
        grants: true,
        ..Default::default()
    });
    my_exec(&my.url("127.0.0.1", "mysql", ""), "CREATE DATABASE src");
    let from = my.url("127.0.0.1", "src", "");
    my_exec(&from, MY_SCHEMA);
    my_exec(
        &from,
        "INSERT INTO accounts (owner, balance, updated) SELECT concat('owner', seq), seq, NOW(6) FROM seq_1_to_200",
    );
    let dst = MyDb::new("repl_restart_my");
    let work = Workload::start(Server::My(from.clone()));
    let running = replicating(&from, &dst.url);
    let src_max = || -> i64 {
        my_text(&from, "SELECT max(id) FROM accounts")
            .parse()
            .unwrap()
    };
    let dst_max = || -> i64 {
        dst.text("SELECT max(id) FROM accounts")
            .unwrap()
            .parse()
            .unwrap()
    };
    // The server that comes back writes a new binlog file, which ferry reads on into.
    ride_out_a_restart(
        &from,
        &dst.url,
        work,
        true,
        || my.restart(),
        (&src_max, &dst_max),
        running,
    );
    assert!(
        dst.text("SELECT position FROM _ferry_replication WHERE id = 1")
            .unwrap()
            .starts_with("mysql-bin.000002:"),
        "the recorded position is in the binlog the restarted server writes"
    );
}

/// PostgreSQL's walsender for ferry's slot runs over TLS when the source URL says
/// `sslmode=verify-full` with the test CA, though the server accepts plaintext too.
#[test]
fn postgres_replication_connection_uses_tls() {
    let pg = PrivatePg::start(&PgOptions {
        logical: true,
        tls: Some(TestCerts::for_localhost("ferry replication test CA")),
        tls_only: false,
    });
    pg_exec(&pg.socket("postgres"), "CREATE DATABASE src");
    pg_exec(&pg.socket("src"), PG_SCHEMA);
    let from = pg.url(
        "localhost",
        "src",
        &format!(
            "?sslmode=verify-full&sslrootcert={}",
            pg.ca_file().display()
        ),
    );
    let dst = PgDb::new("repl_tls_pg");
    let (child, _rx) = replicating(&from, &dst.url);
    for n in 0..30 {
        pg_exec(
            &pg.socket("src"),
            &step(n, "now()").replace("START TRANSACTION", "BEGIN"),
        );
    }
    let socket = pg.socket("postgres");
    let streaming = || -> (i64, i64) {
        let socket = socket.clone();
        block_on(async move {
            let row = pg_connect(&socket)
                .await
                .query_one(
                    "SELECT count(*), count(*) FILTER (WHERE s.ssl) \
                     FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)",
                    &[],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        })
    };
    let start = Instant::now();
    let (walsenders, encrypted) = loop {
        let seen = streaming();
        if seen.0 > 0 || start.elapsed() > Duration::from_secs(60) {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(walsenders, 1, "ferry's walsender streams");
    assert_eq!(encrypted, 1, "the walsender's connection is TLS");
    cut_over(&from, &dst.url, child);
}

/// MariaDB's binlog dump for ferry runs over TLS when the source URL says
/// `ssl-mode=VERIFY_IDENTITY` with the test CA (the server accepts plaintext too).
#[test]
fn mariadb_binlog_stream_uses_tls() {
    let my = PrivateMariaDb::start(&MariaDbOptions {
        binlog: true,
        tls: Some(TestCerts::for_localhost("ferry binlog test CA")),
        grants: true,
        extra: vec!["--performance-schema=ON".into()],
    });
    let admin = my.url("127.0.0.1", "mysql", "");
    my_exec(&admin, "CREATE DATABASE src");
    my_exec(&my.url("127.0.0.1", "src", ""), MY_SCHEMA);
    let from = my.url(
        "localhost",
        "src",
        &format!(
            "?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
            my.ca_file().display()
        ),
    );
    let dst = MyDb::new("repl_tls_my");
    let (child, _rx) = replicating(&from, &dst.url);
    for n in 0..30 {
        my_exec(&my.url("127.0.0.1", "src", ""), &step(n, "NOW(6)"));
    }
    let dump_ciphers = || -> Vec<(u64, String)> {
        let admin = admin.clone();
        block_on(async move {
            use mysql_async::prelude::Queryable;
            let mut c = ferry_tests::mysql_connect(&admin).await;
            c.query(
                "SELECT t.PROCESSLIST_ID, s.VARIABLE_VALUE \
                 FROM performance_schema.threads t \
                 JOIN performance_schema.status_by_thread s USING (THREAD_ID) \
                 WHERE t.PROCESSLIST_COMMAND LIKE 'Binlog Dump%' AND s.VARIABLE_NAME = 'Ssl_cipher'",
            )
            .await
            .unwrap()
        })
    };
    let start = Instant::now();
    let ciphers = loop {
        let seen = dump_ciphers();
        if !seen.is_empty() || start.elapsed() > Duration::from_secs(60) {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ciphers.len(), 1, "ferry's binlog dump: {ciphers:?}");
    assert!(
        !ciphers[0].1.is_empty(),
        "the binlog dump's connection is TLS: {ciphers:?}"
    );
    cut_over(&from, &dst.url, child);
}

/// A URL that requires TLS is refused by a server without it, before anything is copied
/// or streamed (the shared servers have no TLS).
#[test]
fn replication_refuses_plaintext_when_tls_is_required() {
    let src = MyDb::on(
        &ferry_tests::mysql_binlog_admin_url(),
        "repl_tls_refuse_src",
    );
    src.exec(MY_SCHEMA);
    let dst = MyDb::new("repl_tls_refuse");
    let from = format!("{}?ssl-mode=REQUIRED", src.url);
    let run = ferry(&["migrate", "--from", &from, "--to", &dst.url, "--replicate"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("SSL") || run.all().contains("TLS"),
        "{}",
        run.all()
    );
    let pg = PgDb::new("repl_tls_refuse_pg");
    pg.exec(PG_SCHEMA);
    let from = format!("{}?sslmode=require", pg.url);
    let run = ferry(&["migrate", "--from", &from, "--to", &dst.url, "--replicate"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.all().contains("TLS"), "{}", run.all());
    assert_eq!(
        pg.text("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")
            .as_deref(),
        Some("0")
    );
}

/// The target restarts (fast shutdown) while ferry applies a MariaDB source's workload to
/// it: ferry starts again from the position the target recorded, and the cutover finds
/// every value equal.
#[test]
fn postgres_target_restarted_under_replication() {
    let pg = PrivatePg::start(&PgOptions::default());
    pg_exec(&pg.socket("postgres"), "CREATE DATABASE dst");
    let to = pg.url("127.0.0.1", "dst", "");
    let src = MyDb::on(
        &ferry_tests::mysql_binlog_admin_url(),
        "repl_tgt_restart_src",
    );
    src.exec(MY_SCHEMA);
    src.exec(
        "INSERT INTO accounts (owner, balance, updated) SELECT concat('owner', seq), seq, NOW(6) FROM seq_1_to_200",
    );
    let work = Workload::start(Server::My(src.url.clone()));
    let running = replicating(&src.url, &to);
    let src_max = || -> i64 {
        src.text("SELECT max(id) FROM accounts")
            .unwrap()
            .parse()
            .unwrap()
    };
    let socket = pg.socket("dst");
    let dst_max = || -> i64 {
        let socket = socket.clone();
        block_on(async move {
            pg_connect(&socket)
                .await
                .query_one("SELECT max(id)::int8 FROM accounts", &[])
                .await
                .unwrap()
                .get(0)
        })
    };
    ride_out_a_restart(
        &src.url,
        &to,
        work,
        false,
        || pg.restart(),
        (&src_max, &dst_max),
        running,
    );
}

/// MariaDB's `log_bin_compress` writes row events ferry does not read: the up-front check
/// refuses such a source, and a source that turns compression on after the copy stops
/// the applier at the first compressed event, saying that nothing after it was applied
/// (never a silently skipped change).
#[test]
fn compressed_binlog_is_refused() {
    let my = PrivateMariaDb::start(&MariaDbOptions {
        binlog: true,
        grants: true,
        extra: vec!["--log-bin-compress=ON".into()],
        ..Default::default()
    });
    let admin = my.url("127.0.0.1", "mysql", "");
    my_exec(&admin, "CREATE DATABASE src");
    let from = my.url("127.0.0.1", "src", "");
    my_exec(
        &from,
        "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL); \
         INSERT INTO notes VALUES (1, 'first')",
    );
    let dst = MyDb::new("repl_compressed");
    let refused = ferry(&["migrate", "--from", &from, "--to", &dst.url, "--replicate"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.stderr.contains("log_bin_compress is ON"),
        "{}",
        refused.all()
    );

    my_exec(&admin, "SET GLOBAL log_bin_compress = OFF");
    let (mut child, rx) = replicating(&from, &dst.url);
    my_exec(&admin, "SET GLOBAL log_bin_compress = ON");
    // Longer than log_bin_compress_min_len (256 bytes), so the server compresses it.
    my_exec(
        &from,
        &format!("INSERT INTO notes VALUES (2, '{}')", "x".repeat(2000)),
    );
    let status = exit_within(
        &mut child,
        Duration::from_secs(60),
        "the applier kept running past a compressed event",
    );
    assert_ne!(status.code(), Some(0));
    let said: Vec<String> = rx.try_iter().collect();
    assert!(
        said.iter()
            .any(|l| l.contains("compressed row event") && l.contains("nothing after this point")),
        "{said:#?}"
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM notes").unwrap(),
        "1",
        "the compressed insert was not applied"
    );
}
