//! A MySQL target that loses ferry's loading connection mid-load.
//!
//! - `KILL <id>` of the loading session (as an operator or a failover would), on the
//!   `LOAD DATA LOCAL INFILE` server and on the INSERT server: the table is retried and the
//!   run ends complete, every row once, content verified.
//! - The server itself goes away for good mid-load: a throwaway MariaDB of this test's own
//!   (own temp data directory, own loopback port, started with `mariadbd` directly as
//!   scripts/servers.sh does, stopped by its PID) is shut down while ferry loads into it. The
//!   run fails with a one-line error, a non-zero exit and a report naming the incomplete
//!   table, and nothing prints the password.
//! - The same server restarts mid-load: the chunks whose sessions it dropped are retried
//!   once it is back, and the run ends complete with every row once, content verified.

use ferry_tests::{
    block_on, ferry_bin, mysql_connect, mysql_noinfile_admin_url, read_report, MyDb, TempDir,
};
use mysql_async::prelude::Queryable;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: i64 = 300_000;

/// An SQLite file with `ROWS` rows in table `events`.
fn sqlite_source(tmp: &TempDir) -> String {
    let file = tmp.join("src.db");
    let mut c = rusqlite::Connection::open(&file).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, note TEXT, at DATETIME NOT NULL);",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO events VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        for i in 1..=ROWS {
            ins.execute(rusqlite::params![
                i,
                format!("kind {}", i % 13),
                format!("note {i} ü 😀"),
                1_700_000_000 + i
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    drop(c);
    format!("sqlite:{}", file.display())
}

/// `ferry migrate` running in the background; stderr comes line by line, stdout (the
/// summary) goes to `stdout`.
fn spawn_migrate(from: &str, to: &str, json: &Path, stdout: &Path) -> Child {
    Command::new(ferry_bin())
        .args([
            "migrate",
            "--from",
            from,
            "--to",
            to,
            "--batch-rows",
            "500",
            "--verify",
            "content",
            "--json",
        ])
        .arg(json)
        .stdout(std::fs::File::create(stdout).expect("stdout file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry")
}

/// Whether a stderr line is a progress line of table `events` with rows moved.
fn is_progress(line: &str) -> bool {
    line.contains("events: ") && line.ends_with(" rows") && !line.contains("about")
}

/// The id of a session loading into database `db`: one running its LOAD DATA, or one of
/// its INSERTs (between two INSERTs the session idles, so look for a few seconds).
async fn loading_session(c: &mut mysql_async::Conn, db: &str) -> Option<u64> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let id = c
            .exec_first(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? \
                 AND (INFO LIKE 'LOAD DATA%' OR INFO LIKE 'INSERT INTO%') ORDER BY ID LIMIT 1",
                (db,),
            )
            .await
            .expect("processlist");
        if id.is_some() {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// Kill ferry's loading session on `admin`'s server at its first progress line; the run
/// must retry the table and end complete with every row once.
fn killed_session_is_retried(db: &MyDb, admin: &str) {
    let tmp = TempDir::new("my_kill");
    let from = sqlite_source(&tmp);
    let json = tmp.join("r.json");
    let mut child = spawn_migrate(&from, &db.url, &json, &tmp.join("out.txt"));
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut log = String::new();
    let mut killed = false;
    for line in stderr.lines() {
        let line = line.expect("line");
        log.push_str(&line);
        log.push('\n');
        if !killed && is_progress(&line) {
            let name = db.name.clone();
            killed = block_on(async {
                let mut c = mysql_connect(admin).await;
                let Some(id) = loading_session(&mut c, &name).await else {
                    return false;
                };
                c.query_drop(format!("KILL {id}")).await.expect("kill");
                true
            });
            assert!(
                killed,
                "no loading session found at a progress line:\n{log}"
            );
        }
    }
    let status = child.wait().expect("wait");
    assert!(killed, "ferry never reported progress:\n{log}");
    assert!(status.success(), "{log}");
    // Only the chunk (key range) whose session was killed is loaded again.
    assert!(log.contains("retrying the key range ["), "{log}");
    assert!(log.contains("(1/3)"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    let rows = ROWS.to_string();
    assert_eq!(
        db.text("SELECT COUNT(*) FROM events").as_deref(),
        Some(rows.as_str())
    );
    assert_eq!(
        db.text("SELECT COUNT(DISTINCT id) FROM events").as_deref(),
        Some(rows.as_str())
    );
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    let t = &report["tables"][0];
    assert_eq!(t["status"], "complete", "{report}");
    assert_eq!(t["rows_written"], ROWS, "{report}");
    assert_eq!(t["verification"]["counts"], "ok", "{report}");
    assert_eq!(t["verification"]["content"], "ok", "{report}");
}

#[test]
fn a_killed_load_data_session_is_retried() {
    let db = MyDb::new("ferry_kill_infile");
    killed_session_is_retried(&db, &ferry_tests::mysql_admin_url());
}

#[test]
fn a_killed_insert_session_is_retried() {
    let admin = mysql_noinfile_admin_url();
    let db = MyDb::on(&admin, "ferry_kill_insert");
    killed_session_is_retried(&db, &admin);
}

/// A MariaDB server of this test's own: temp data directory, free loopback port, killed
/// by its PID when dropped if the test has not stopped it.
struct Throwaway {
    server: Child,
    port: u16,
    socket: PathBuf,
    _dir: TempDir,
}

impl Throwaway {
    /// Root's password on 127.0.0.1.
    const PASSWORD: &'static str = "Outage-S3cret-pw";

    fn start() -> Throwaway {
        let dir = TempDir::new("ferry_throwaway_mariadb");
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=normal"])
            .args(["--skip-test-db"])
            .args(Self::user())
            .arg(format!("--datadir={}", dir.join("data").display()))
            .output()
            .expect("mariadb-install-db (Debian's mariadb-server; scripts/servers.sh installs it)");
        assert!(
            install.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&install.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let socket = dir.join("mysqld.sock");
        let server = Self::launch(&dir, port, &socket);
        let mut me = Throwaway {
            server,
            port,
            socket,
            _dir: dir,
        };
        me.wait_until_up(&format!(
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; \
             ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{}'; \
             GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; \
             CREATE DATABASE outage CHARACTER SET utf8mb4;",
            Self::PASSWORD
        ));
        me
    }

    /// mariadbd runs as root only when told so; as another user it runs as that user.
    fn user() -> &'static [&'static str] {
        let root = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata("/proc/self").expect("/proc/self"),
        ) == 0;
        if root {
            &["--user=root"]
        } else {
            &[]
        }
    }

    fn launch(dir: &TempDir, port: u16, socket: &Path) -> Child {
        Command::new("mariadbd")
            .args(["--no-defaults"])
            .args(Self::user())
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--local-infile=1",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=64M",
                "--max-allowed-packet=64M",
                "--skip-log-bin",
                "--default-time-zone=+00:00",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd")
    }

    /// Wait until the server answers `sql` on its socket.
    fn wait_until_up(&mut self, sql: &str) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                panic!("mariadbd exited at start: {status}");
            }
            if self.socket.exists() && self.socket_sql(sql) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "mariadbd did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Shut the server down and start it again on the same data and port (a restart, as
    /// a managed database does for maintenance or a failover).
    fn restart(&mut self) {
        self.shut_down();
        self.server = Self::launch(&self._dir, self.port, &self.socket);
        self.wait_until_up("SELECT 1");
    }

    /// Run SQL as root over the server's socket; whether it worked.
    fn socket_sql(&self, sql: &str) -> bool {
        Command::new("mariadb")
            .args(["--no-defaults", "--protocol=SOCKET", "-u", "root"])
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-e", sql])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn url(&self) -> String {
        format!(
            "mysql://root:{}@127.0.0.1:{}/outage",
            Self::PASSWORD,
            self.port
        )
    }

    /// Shut the server down (SIGTERM to its PID) and wait until it has exited.
    fn shut_down(&mut self) {
        let pid = self.server.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGTERM to mariadbd {pid}");
        let started = Instant::now();
        while self.server.try_wait().expect("wait mariadbd").is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.server.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if let Ok(None) = self.server.try_wait() {
            let _ = self.server.kill();
            let _ = self.server.wait();
        }
    }
}

#[test]
fn a_target_that_goes_away_mid_load_fails_clearly_and_names_the_table() {
    let mut server = Throwaway::start();
    let tmp = TempDir::new("my_gone");
    let from = sqlite_source(&tmp);
    let json = tmp.join("r.json");
    let to = server.url();
    let started = Instant::now();
    let out = tmp.join("out.txt");
    let mut child = spawn_migrate(&from, &to, &json, &out);
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut log = String::new();
    let mut stopped = false;
    for line in stderr.lines() {
        let line = line.expect("line");
        log.push_str(&line);
        log.push('\n');
        if !stopped && is_progress(&line) {
            // The load is running in a session on the server that is about to go.
            let loading = block_on(async {
                let mut c = mysql_connect(&to).await;
                let id = loading_session(&mut c, "outage").await;
                let _ = c.disconnect().await;
                id
            });
            assert!(loading.is_some(), "no loading session:\n{log}");
            server.shut_down();
            stopped = true;
        }
    }
    let status = child.wait().expect("wait");
    let elapsed = started.elapsed();
    assert!(stopped, "ferry never reported progress:\n{log}");
    assert!(!status.success(), "{log}");
    assert!(status.code().is_some(), "ferry died of a signal:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains(Throwaway::PASSWORD), "{log}");
    let text = std::fs::read_to_string(&json).expect("report");
    assert!(!text.contains(Throwaway::PASSWORD), "{text}");
    let report = read_report(&json);
    assert_eq!(report["status"], "failed", "{report}");
    let t = &report["tables"][0];
    assert_eq!(t["table"], "events", "{report}");
    assert_ne!(t["status"], "complete", "{report}");
    let error = t["error"].as_str().expect("the table's error").to_string();
    assert!(!error.contains('\n'), "{error}");
    assert!(error.contains("`events`"), "{error}");
    assert!(
        ["connection", "shutdown", "refused", "closed"]
            .iter()
            .any(|w| error.to_lowercase().contains(w)),
        "{error}"
    );
    // The summary says the same in one line and names the incomplete table.
    let stdout = std::fs::read_to_string(&out).expect("stdout");
    assert!(!stdout.contains(Throwaway::PASSWORD), "{stdout}");
    assert!(!stdout.contains("panicked"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l == format!("events: {error}")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "incomplete tables: events"),
        "{stdout}"
    );
    // Retries and their backoff stay short when the server is gone for good.
    assert!(
        elapsed < Duration::from_secs(60),
        "took {elapsed:?}:\n{log}"
    );
}

#[test]
fn a_target_that_restarts_mid_load_is_retried_to_a_complete_run() {
    let mut server = Throwaway::start();
    let tmp = TempDir::new("my_restart");
    let from = sqlite_source(&tmp);
    let json = tmp.join("r.json");
    let to = server.url();
    let out = tmp.join("out.txt");
    let mut child = spawn_migrate(&from, &to, &json, &out);
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut log = String::new();
    let mut restarted = false;
    for line in stderr.lines() {
        let line = line.expect("line");
        log.push_str(&line);
        log.push('\n');
        if !restarted && is_progress(&line) {
            let loading = block_on(async {
                let mut c = mysql_connect(&to).await;
                let id = loading_session(&mut c, "outage").await;
                let _ = c.disconnect().await;
                id
            });
            assert!(loading.is_some(), "no loading session:\n{log}");
            server.restart();
            restarted = true;
        }
    }
    let status = child.wait().expect("wait");
    assert!(restarted, "ferry never reported progress:\n{log}");
    assert!(status.success(), "{log}");
    assert!(log.contains("retrying"), "the restart cost a retry:\n{log}");
    assert!(!log.contains(Throwaway::PASSWORD), "{log}");
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    let t = &report["tables"][0];
    assert_eq!(t["rows_written"], ROWS, "{report}");
    assert_eq!(t["verification"]["counts"], "ok", "{report}");
    assert_eq!(t["verification"]["content"], "ok", "{report}");
    let (rows, distinct) = block_on(async {
        let mut c = mysql_connect(&to).await;
        let counts: (i64, i64) = c
            .query_first("SELECT COUNT(*), COUNT(DISTINCT id) FROM events")
            .await
            .expect("count")
            .expect("a row");
        let _ = c.disconnect().await;
        counts
    });
    assert_eq!((rows, distinct), (ROWS, ROWS), "every row once");
}
