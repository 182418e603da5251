//! Databases reached through an SSH bastion (`--ssh`, `--source-ssh`), end to end through
//! the `ferry` binary, against the OpenSSH server of `scripts/servers.sh start sshd` and the
//! loopback PostgreSQL and MariaDB.
//!
//! - SQLite -> PostgreSQL with the target through the bastion, content verified, then
//!   `ferry verify` through it.
//! - PostgreSQL -> MariaDB with the source and the target each through the bastion, and
//!   `ferry schema --source-ssh`.
//! - A key the bastion does not accept, an unknown host key (refused; recorded with
//!   `--ssh-accept-new-host-key`) and a changed host key (refused even with that flag): each
//!   a clear error, exit 2, nothing created in the target.
//! - A bastion killed mid-load (a second sshd of this test's own, on its own port, stopped
//!   by PID): the run fails with a non-zero exit and leaves a resumable state; after the
//!   bastion restarts, `--resume` completes with every row once, content verified. Its
//!   debug log proves the rows went through the bastion.

use ferry_tests::{
    exit_within, ferry, ferry_bin, free_port, read_report, ssh_bastion, MyDb, OwnSshd, PgDb,
    SshBastion, TempDir,
};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An SQLite file with `rows` rows in table `items`.
fn sqlite_source(tmp: &TempDir, rows: i64) -> String {
    let file = tmp.join("src.db");
    let mut c = rusqlite::Connection::open(&file).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, note TEXT);",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO items VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        for i in 1..=rows {
            ins.execute(rusqlite::params![
                i,
                format!("item {i} ü 😀"),
                i as f64 / 4.0,
                (i % 7 == 0).then(|| format!("note {i}"))
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    format!("sqlite:{}", file.display())
}

/// `--ssh` (or `--source-ssh` with `prefix` "--source-ssh") and its key and known_hosts.
fn ssh_flags(b: &SshBastion, prefix: &str) -> Vec<String> {
    vec![
        prefix.to_string(),
        b.target(),
        format!("{prefix}-key"),
        b.key.clone(),
        format!("{prefix}-known-hosts"),
        b.known_hosts.clone(),
    ]
}

fn run(args: &[String]) -> ferry_tests::Run {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ferry(&refs)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The SHA256 fingerprint of the bastion's host key, as `ssh-keygen -l` prints it.
fn host_fingerprint(b: &SshBastion) -> String {
    let pub_key = Path::new(&b.config).with_file_name("host_ed25519.pub");
    let out = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&pub_key)
        .output()
        .expect("ssh-keygen");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("no fingerprint in {text:?}"))
        .to_string()
}

#[test]
fn sqlite_to_postgres_through_the_bastion() {
    let b = ssh_bastion();
    let tmp = TempDir::new("ferry_tunnel_sqlite");
    let from = sqlite_source(&tmp, 5_000);
    let dst = PgDb::new("ferry_tunnel_sqlite_pg");
    let json = tmp.join("report.json");
    let mut args = strings(&[
        "migrate", "--from", &from, "--to", &dst.url, "--verify", "content",
    ]);
    args.extend(ssh_flags(&b, "--ssh"));
    args.extend(strings(&["--json", json.to_str().expect("utf8")]));
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["totals"]["rows_written"], 5_000, "{report}");
    let t = &report["tables"][0];
    assert_eq!(t["verification"]["content"], "ok", "{report}");
    // The report names the server the user gave, not the tunnel's local end.
    let target = report["target"].as_str().expect("target");
    assert!(
        target.contains(":55439/") || target.contains(&dst.name),
        "{target}"
    );
    assert!(
        !r.all().contains("ferrytest"),
        "a password was printed: {}",
        r.all()
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM items").as_deref(),
        Some("5000")
    );
    assert_eq!(
        dst.text("SELECT name FROM items WHERE id = 4242")
            .as_deref(),
        Some("item 4242 ü 😀")
    );

    // `ferry verify` through the same bastion.
    let mut args = strings(&["verify", "--from", &from, "--to", &dst.url, "--content"]);
    args.extend(ssh_flags(&b, "--ssh"));
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn postgres_to_mariadb_with_source_and_target_each_through_the_bastion() {
    let b = ssh_bastion();
    let src = PgDb::new("ferry_tunnel_pg_src");
    let dst = MyDb::new("ferry_tunnel_my_dst");
    src.exec(
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE,
            balance numeric(12,2) NOT NULL, created timestamptz NOT NULL, tags jsonb);
         CREATE TABLE orders (id serial PRIMARY KEY,
            account_id bigint NOT NULL REFERENCES accounts(id), total numeric(10,2));
         INSERT INTO accounts (email, balance, created, tags)
            SELECT 'user' || g || '@example.com', g * 1.25, '2024-01-01'::timestamptz + g * interval '1 minute',
                   jsonb_build_object('n', g)
            FROM generate_series(1, 3000) g;
         INSERT INTO orders (account_id, total) SELECT 1 + g % 3000, g / 3.0 FROM generate_series(1, 4000) g;",
    );
    let tmp = TempDir::new("ferry_tunnel_pgmy");
    let json = tmp.join("report.json");
    let mut args = strings(&[
        "migrate", "--from", &src.url, "--to", &dst.url, "--verify", "content",
    ]);
    args.extend(ssh_flags(&b, "--source-ssh"));
    args.extend(ssh_flags(&b, "--ssh"));
    args.extend(strings(&["--json", json.to_str().expect("utf8")]));
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["totals"]["rows_written"], 7_000, "{report}");
    for t in report["tables"].as_array().expect("tables") {
        assert_eq!(t["verification"]["content"], "ok", "{report}");
    }
    assert_eq!(
        dst.text("SELECT email FROM accounts WHERE id = 1234")
            .as_deref(),
        Some("user1234@example.com")
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM orders").as_deref(),
        Some("4000")
    );

    // `ferry schema` reads the source through its bastion.
    let mut args = strings(&["schema", "--from", &src.url, "--to-dialect", "mysql"]);
    args.extend(ssh_flags(&b, "--source-ssh"));
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("CREATE TABLE `accounts`"), "{}", r.all());
}

#[test]
fn a_key_the_bastion_does_not_accept_is_refused() {
    let b = ssh_bastion();
    let tmp = TempDir::new("ferry_tunnel_wrongkey");
    let key = tmp.join("other_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let from = sqlite_source(&tmp, 10);
    let dst = PgDb::new("ferry_tunnel_wrongkey");
    let mut args = strings(&["migrate", "--from", &from, "--to", &dst.url]);
    args.extend(ssh_flags(&b, "--ssh"));
    assert_eq!(args[7], "--ssh-key");
    args[8] = key.display().to_string();
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.all());
    let err = r.stderr.clone();
    assert!(err.contains("refused the key"), "{err}");
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(err.contains("for user root"), "{err}");
    assert!(!err.contains("ferrytest"), "{err}");
    assert_eq!(
        dst.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .as_deref(),
        Some("0")
    );

    // A key file that does not exist says which flag named it.
    args[8] = tmp.join("missing").display().to_string();
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("--ssh-key"), "{}", r.all());
    assert!(r.stderr.contains("missing"), "{}", r.all());
}

#[test]
fn unknown_host_keys_are_refused_unless_accepted_and_changed_ones_always() {
    let b = ssh_bastion();
    let fingerprint = host_fingerprint(&b);
    let tmp = TempDir::new("ferry_tunnel_hostkey");
    let from = sqlite_source(&tmp, 100);
    let dst = PgDb::new("ferry_tunnel_hostkey");
    let known = tmp.join("known_hosts");
    let base = |known: &Path| {
        let mut args = strings(&[
            "migrate",
            "--from",
            &from,
            "--to",
            &dst.url,
            "--if-exists",
            "drop",
        ]);
        let mut flags = ssh_flags(&b, "--ssh");
        flags[5] = known.display().to_string();
        args.extend(flags);
        args
    };

    // Unknown: refused, naming the host, the key's fingerprint and the flag that accepts it.
    std::fs::write(&known, "").expect("empty known_hosts");
    let r = run(&base(&known));
    assert_eq!(r.code, 2, "{}", r.all());
    let err = &r.stderr;
    assert!(err.contains("is not known"), "{err}");
    assert!(err.contains(&format!("[127.0.0.1]:{}", b.port)), "{err}");
    assert!(err.contains(&fingerprint), "{err}");
    assert!(err.contains("--ssh-accept-new-host-key"), "{err}");
    assert_eq!(std::fs::read_to_string(&known).expect("read"), "");
    assert_eq!(
        dst.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .as_deref(),
        Some("0")
    );

    // Accepted on first use: recorded, and the migration runs.
    let mut args = base(&known);
    args.push("--ssh-accept-new-host-key".into());
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.all());
    let recorded = std::fs::read_to_string(&known).expect("read");
    let host_pub = std::fs::read_to_string(Path::new(&b.config).with_file_name("host_ed25519.pub"))
        .expect("host key");
    let host_blob = host_pub.split_whitespace().nth(1).expect("blob");
    assert_eq!(
        recorded.trim(),
        format!("[127.0.0.1]:{} ssh-ed25519 {host_blob}", b.port)
    );
    // Known now: no flag needed.
    let r = run(&base(&known));
    assert_eq!(r.code, 0, "{}", r.all());

    // Changed: another ed25519 key on record for the host is refused, with the flag too,
    // and the file is left alone.
    let client_pub = std::fs::read_to_string(format!("{}.pub", b.key)).expect("client pub");
    let other_blob = client_pub.split_whitespace().nth(1).expect("blob");
    let changed = format!("[127.0.0.1]:{} ssh-ed25519 {other_blob}\n", b.port);
    std::fs::write(&known, &changed).expect("write");
    let mut args = base(&known);
    args.push("--ssh-accept-new-host-key".into());
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("CHANGED"), "{}", r.all());
    assert!(r.stderr.contains(&fingerprint), "{}", r.all());
    assert!(r.stderr.contains("line 1 of"), "{}", r.all());
    assert_eq!(std::fs::read_to_string(&known).expect("read"), changed);
}

#[test]
fn a_bastion_killed_mid_load_leaves_a_resumable_run() {
    const ROWS: i64 = 200_000;
    let b = ssh_bastion();
    let tmp = TempDir::new("ferry_tunnel_killed");
    let mut sshd = OwnSshd::start(&b, &tmp.join("sshd.log"));
    let port = sshd.port;
    let known = tmp.join("known_hosts");
    std::fs::write(&known, sshd.known_hosts_line()).expect("known_hosts");
    let from = sqlite_source(&tmp, ROWS);
    let dst = PgDb::new("ferry_tunnel_killed");
    let json = tmp.join("report.json");
    let args = |resume: bool| {
        let mut a = strings(&[
            "migrate",
            "--from",
            &from,
            "--to",
            &dst.url,
            "--batch-rows",
            "500",
            "--chunk-rows",
            "10000",
            "--verify",
            "content",
            "--ssh",
            &format!("{}@127.0.0.1:{port}", b.user),
            "--ssh-key",
            &b.key,
            "--ssh-known-hosts",
            known.to_str().expect("utf8"),
            "--json",
            json.to_str().expect("utf8"),
        ]);
        if resume {
            a.push("--resume".into());
        }
        a
    };

    let mut child = Command::new(ferry_bin())
        .args(args(false))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let start = Instant::now();
    let mut killed = false;
    while start.elapsed() < Duration::from_secs(120) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let progress =
                    line.contains("items: ") && line.ends_with(" rows") && !line.contains("about");
                log.push(line);
                if progress {
                    sshd.kill_all();
                    killed = true;
                    break;
                }
            }
            Err(_) => {
                if child.try_wait().expect("wait").is_some() {
                    break;
                }
            }
        }
    }
    assert!(killed, "ferry never reported progress:\n{}", log.join("\n"));
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "ferry did not end after the bastion died"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    log.extend(rx.try_iter());
    let log = log.join("\n");
    eprintln!("ferry's stderr, the bastion killed mid-load:\n{log}");
    assert!(
        !status.success(),
        "the run ended well without its bastion:\n{log}"
    );
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("ferrytest"), "a password was printed:\n{log}");
    // The tunnel says why the retries failed.
    assert!(
        log.contains(&format!(
            "--ssh root@127.0.0.1:{port}: cannot connect to the bastion"
        )),
        "{log}"
    );
    let loaded: i64 = dst
        .text("SELECT count(*) FROM items")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(loaded < ROWS, "everything arrived before the kill:\n{log}");

    // The bastion is back: the run resumes and completes.
    sshd.restart();
    let r = run(&args(true));
    assert_eq!(r.code, 0, "{}", r.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(
        report["tables"][0]["verification"]["content"], "ok",
        "{report}"
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM items").as_deref(),
        Some("200000")
    );
    assert_eq!(
        dst.text("SELECT count(DISTINCT id) FROM items").as_deref(),
        Some("200000")
    );
    // The rows went through the bastion: it forwarded connections to PostgreSQL's port.
    let pg_port = dst
        .url
        .rsplit_once(':')
        .and_then(|(_, r)| r.split('/').next())
        .expect("port");
    let sshd_log = std::fs::read_to_string(&sshd.log).unwrap_or_default();
    assert!(
        sshd_log.contains(&format!("target 127.0.0.1 port {pg_port}")),
        "no direct-tcpip to {pg_port} in the bastion's log"
    );
}

/// Drops the replication slots of a source database before the database itself is
/// dropped (declare it after the `PgDb`, so it is dropped first).
struct Slots(String);

impl Drop for Slots {
    fn drop(&mut self) {
        ferry_tests::drop_replication_slots(&self.0);
    }
}

/// `migrate --replicate` and `cutover` with the PostgreSQL source (its logical replication
/// connection too) and the MariaDB target each through the bastion.
#[test]
fn replication_and_cutover_through_the_bastion() {
    let b = ssh_bastion();
    let src = PgDb::new("ferry_tunnel_repl_src");
    let _slots = Slots(src.name.clone());
    src.exec(
        "CREATE TABLE events (id serial PRIMARY KEY, body text NOT NULL);
         INSERT INTO events (body) SELECT 'e' || g FROM generate_series(1, 500) g;",
    );
    let dst = MyDb::new("ferry_tunnel_repl_dst");
    let mut args = strings(&[
        "migrate",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--replicate",
    ]);
    args.extend(ssh_flags(&b, "--source-ssh"));
    args.extend(ssh_flags(&b, "--ssh"));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mut child, rx) = ferry_tests::spawn_ferry(&refs);
    ferry_tests::wait_for(&rx, "copy complete", Duration::from_secs(120));
    src.exec(
        "INSERT INTO events (body) SELECT 'late' || g FROM generate_series(1, 200) g;
         UPDATE events SET body = 'changed' WHERE id = 7;
         DELETE FROM events WHERE id = 8;",
    );
    let mut cut = strings(&[
        "cutover",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--timeout",
        "60s",
    ]);
    cut.extend(ssh_flags(&b, "--source-ssh"));
    cut.extend(ssh_flags(&b, "--ssh"));
    let r = run(&cut);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("safe to switch"), "{}", r.all());
    let status = exit_within(
        &mut child,
        Duration::from_secs(30),
        "the applier kept running",
    );
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        dst.text("SELECT count(*) FROM events").as_deref(),
        Some("699")
    );
    assert_eq!(
        dst.text("SELECT body FROM events WHERE id = 7").as_deref(),
        Some("changed")
    );
}

/// Without `--ssh-key` the SSH agent at SSH_AUTH_SOCK signs (an `ssh-agent` of this test's
/// own, holding the bastion's client key); without an agent the error says what to do.
#[test]
fn the_ssh_agent_signs_when_no_key_is_given() {
    let b = ssh_bastion();
    let tmp = TempDir::new("ferry_tunnel_agent");
    let sock = tmp.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no agent socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(&b.key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .expect("ssh-add");
    assert!(added.status.success(), "{added:?}");
    let from = sqlite_source(&tmp, 50);
    let dst = PgDb::new("ferry_tunnel_agent");
    let args = strings(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &dst.url,
        "--ssh",
        &b.target(),
        "--ssh-known-hosts",
        &b.known_hosts,
    ]);
    let with_agent = ferry_tests::Run::from_output(
        Command::new(ferry_bin())
            .args(&args)
            .env("SSH_AUTH_SOCK", &sock)
            .output()
            .expect("ferry"),
    );
    let without = ferry_tests::Run::from_output(
        Command::new(ferry_bin())
            .args(&args)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .expect("ferry"),
    );
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(with_agent.code, 0, "{}", with_agent.all());
    assert_eq!(
        dst.text("SELECT count(*) FROM items").as_deref(),
        Some("50")
    );
    assert_eq!(without.code, 2, "{}", without.all());
    assert!(
        without.stderr.contains("SSH_AUTH_SOCK is not set"),
        "{}",
        without.all()
    );
    assert!(without.stderr.contains("--ssh-key"), "{}", without.all());
}

/// A bastion that does not answer, and a database the bastion cannot reach: each named.
#[test]
fn an_unreachable_bastion_or_database_is_named() {
    let b = ssh_bastion();
    let tmp = TempDir::new("ferry_tunnel_unreachable");
    let from = sqlite_source(&tmp, 10);
    let dst = PgDb::new("ferry_tunnel_unreachable");
    let closed = free_port();

    let mut args = strings(&["migrate", "--from", &from, "--to", &dst.url]);
    args.extend(ssh_flags(&b, "--ssh"));
    args[6] = format!("{}@127.0.0.1:{closed}", b.user);
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains(&format!(
            "--ssh root@127.0.0.1:{closed}: cannot connect to the bastion"
        )),
        "{}",
        r.all()
    );

    // The bastion answers, the database port behind it is closed.
    let port = dst.conn_url().port.expect("the test PostgreSQL's port");
    let nowhere = dst
        .url
        .replacen(&format!(":{port}/"), &format!(":{closed}/"), 1);
    assert_ne!(nowhere, dst.url, "the test PostgreSQL is on {port}");
    let mut args = strings(&["migrate", "--from", &from, "--to", &nowhere]);
    args.extend(ssh_flags(&b, "--ssh"));
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains(&format!(
            "the bastion could not open a connection to 127.0.0.1:{closed}"
        )),
        "{}",
        r.all()
    );
    assert!(!r.all().contains("ferrytest"), "{}", r.all());
}
