//! No secret on the screen, in the report or in a reject file: every failing (and one
//! succeeding) invocation of the real `ferry` binary is run with a known password, and its
//! stdout, stderr, JSON report and reject files are searched for the password, its
//! URL-encoded form and fragments of both. Also: PGPASSWORD / MYSQL_PWD and FERRY_FROM /
//! FERRY_TO keep passwords off the command line. Needs the loopback servers of
//! `scripts/servers.sh` (PostgreSQL, MariaDB, moto) and the sqlite3 and psql CLIs.
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

mod common;

use common::{ferry_via, run, unique};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The known password: `/`, `?` and `#` make the malformed-URL cases.
const PW: &str = "Qz8Leak/Pw?x#1";
/// Its URL-encoded form.
const PW_ENC: &str = "Qz8Leak%2FPw%3Fx%231";
/// What must appear nowhere: the password, its encoded form, and pieces of both.
const FRAGMENTS: &[&str] = &[PW, PW_ENC, "Qz8Leak", "Pw?x", "x#1", "Pw%3F", "%231"];

use ferry_test_support::{mysql_admin_url as mysql_admin, pg_admin_url as pg_admin};

/// `host:port` of an admin URL (loopback only).
fn hostport(url: &str) -> String {
    let u = ferry_core::ConnUrl::parse(url).expect("admin URL");
    let host = u.host.expect("host");
    assert!(
        ferry_aws::is_loopback_host(&host),
        "{url} must be on loopback"
    );
    format!("{host}:{}", u.port.expect("port"))
}

/// A loopback port nobody listens on.
fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// Each statement on its own (CREATE DATABASE cannot share a transaction).
fn psql(statements: &[&str]) {
    let mut cmd = Command::new("psql");
    cmd.args([pg_admin().as_str(), "-v", "ON_ERROR_STOP=1", "-q"]);
    for sql in statements {
        cmd.args(["-c", sql]);
    }
    let out = cmd.output().expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sqlite(path: &Path, sql: &str) -> String {
    let status = Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .status()
        .expect("sqlite3");
    assert!(status.success());
    format!("sqlite:{}", path.display())
}

/// Every file under `dir`, with its text.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_none_or(|e| e != "db") {
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
            out.push((path, text));
        }
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    for f in FRAGMENTS {
        assert!(!text.contains(f), "{what}: `{f}` leaked:\n{text}");
    }
}

/// A working directory with a good and a bad SQLite source, cleaned up on drop.
struct Work {
    dir: PathBuf,
    good: String,
    bad: String,
}

impl Work {
    fn new() -> Work {
        let dir = std::env::temp_dir().join(unique("ferry-secrets"));
        std::fs::create_dir_all(dir.join("rejects")).expect("dir");
        let good = sqlite(
            &dir.join("good.db"),
            "CREATE TABLE good (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO good VALUES (1, 'a'), (2, 'b');",
        );
        // A NUL character: PostgreSQL text cannot hold it, so the row is rejected.
        let bad = sqlite(
            &dir.join("bad.db"),
            "CREATE TABLE bad (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO bad VALUES (1, 'ok'), (2, 'x' || char(0) || 'y');",
        );
        Work { dir, good, bad }
    }

    /// Run `ferry ARGS` (AWS calls to moto only) in the work directory with `env`; check
    /// that nothing it printed or wrote holds the password; return (code, stdout+stderr).
    fn ferry(&self, what: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let endpoint = common::endpoint();
        let mut cmd = ferry_via(&endpoint, args);
        cmd.current_dir(&self.dir);
        for var in ["PGPASSWORD", "MYSQL_PWD", "FERRY_FROM", "FERRY_TO"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (code, out, err) = run(&mut cmd);
        let all = format!("{out}{err}");
        assert_clean(&format!("{what}: output"), &all);
        for (path, text) in files(&self.dir) {
            assert_clean(&format!("{what}: {}", path.display()), &text);
        }
        (code, all)
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Failing invocations of every kind: none prints or writes the password.
#[test]
fn failing_invocations_never_show_the_password() {
    let w = Work::new();
    let pg = hostport(&pg_admin());
    let my = hostport(&mysql_admin());
    let port = refused_port();
    let cases: Vec<(&str, String)> = vec![
        (
            "unencoded / ? # in the password",
            format!("postgres://app:{PW}@{pg}/postgres"),
        ),
        (
            "user:password without @host",
            "postgres://app:Qz8LeakPw/postgres".into(),
        ),
        ("mysql, unencoded", format!("mysql://app:{PW}@{my}/mysql")),
        ("no scheme", format!("app:{PW_ENC}@{pg}/postgres")),
        (
            "misspelt scheme",
            format!("postgress://app:{PW_ENC}@{pg}/postgres"),
        ),
        (
            "bad port",
            format!("postgres://app:{PW_ENC}@127.0.0.1:Qz8Leak/postgres"),
        ),
        (
            "unknown parameter",
            format!("postgres://app:{PW_ENC}@{pg}/postgres?sslmod=require"),
        ),
        (
            "refused port, postgres",
            format!("postgres://app:{PW_ENC}@127.0.0.1:{port}/postgres"),
        ),
        (
            "refused port, mysql",
            format!("mysql://app:{PW_ENC}@127.0.0.1:{port}/mysql"),
        ),
        (
            "wrong password, postgres",
            format!("postgres://postgres:{PW_ENC}@{pg}/postgres"),
        ),
        (
            "wrong password, mysql",
            format!("mysql://root:{PW_ENC}@{my}/mysql"),
        ),
        (
            "TLS required, server has none",
            format!("postgres://postgres:{PW_ENC}@{pg}/postgres?sslmode=require"),
        ),
        (
            "bad sslmode",
            format!("postgres://postgres:{PW_ENC}@{pg}/postgres?sslmode=verify-fulll"),
        ),
    ];
    for (what, url) in &cases {
        for args in [
            vec![
                "migrate",
                "--from",
                &w.good,
                "--to",
                url,
                "--json",
                "report.json",
                "--reject-dir",
                "rejects",
            ],
            vec![
                "verify",
                "--from",
                &w.good,
                "--to",
                url,
                "--json",
                "report.json",
            ],
            vec!["schema", "--from", url, "--to-dialect", "mysql"],
        ] {
            let (code, all) = w.ferry(what, &args, &[]);
            assert_eq!(code, 2, "{what} {args:?}: {all}");
        }
    }
    // The same through the environment instead of the command line.
    let (code, all) = w.ferry(
        "FERRY_TO, wrong password",
        &["migrate", "--from", &w.good],
        &[(
            "FERRY_TO",
            &format!("postgres://postgres:{PW_ENC}@{pg}/postgres"),
        )],
    );
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("password authentication failed"), "{all}");
    for (var, url) in [
        ("PGPASSWORD", format!("postgres://postgres@{pg}/postgres")),
        ("MYSQL_PWD", format!("mysql://root@{my}/mysql")),
    ] {
        let (code, all) = w.ferry(
            var,
            &["verify", "--from", &w.good, "--to", &url],
            &[(var, PW)],
        );
        assert_eq!(code, 2, "{var}: {all}");
        assert!(
            all.contains("password") || all.contains("access denied"),
            "{var}: {all}"
        );
    }
    // A URL where clap expects none: its usage error quotes the argument, redacted.
    let stray = format!("postgres://postgres:{PW_ENC}@{pg}/postgres");
    let (code, all) = w.ferry(
        "stray argument",
        &["migrate", &stray, "--from", &w.good],
        &[],
    );
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("postgres://postgres:***@"), "{all}");
    // A missing secret, with the password in the other URL.
    let from = format!("postgres://postgres:{PW_ENC}@{pg}/postgres");
    let (code, all) = w.ferry(
        "missing secret",
        &[
            "migrate",
            "--from",
            &from,
            "--to",
            "secret://ferry-no-such-secret-Zx",
        ],
        &[],
    );
    assert_eq!(code, 2, "{all}");
    // Help never shows an environment value.
    let (code, all) = w.ferry(
        "help",
        &["migrate", "--help"],
        &[("FERRY_FROM", &from), ("FERRY_TO", &from)],
    );
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("FERRY_FROM"), "{all}");
}

/// `ferry up --dry-run` prints the source URL redacted; a malformed one fails without
/// echoing it and before anything is planned.
#[test]
fn dry_runs_print_the_redacted_url() {
    let w = Work::new();
    let pg = hostport(&pg_admin());
    let name = unique("leakdry");
    let from = format!("postgres://postgres:{PW_ENC}@{pg}/postgres");
    let (code, all) = w.ferry(
        "up --dry-run",
        &[
            "up",
            "--dry-run",
            "--from",
            &from,
            "--engine",
            "postgres",
            "--name",
            &name,
        ],
        &[],
    );
    // The source is checked before anything, dry runs included: the test's password is not
    // the server's, so the run stops there, naming the source redacted.
    assert_eq!(code, 2, "{all}");
    assert!(
        all.contains(&format!("postgres://postgres:***@{pg}/postgres")),
        "{all}"
    );
    let (code, all) = w.ferry(
        "up --dry-run, malformed",
        &[
            "up",
            "--dry-run",
            "--from",
            &format!("postgres://u:{PW}@{pg}/db"),
            "--engine",
            "postgres",
            "--name",
            &name,
        ],
        &[],
    );
    assert_eq!(code, 2, "{all}");
    let (code, all) = w.ferry(
        "provision --dry-run",
        &[
            "provision",
            "--dry-run",
            "--engine",
            "postgres",
            "--name",
            &name,
        ],
        &[],
    );
    assert_eq!(code, 0, "{all}");
}

/// A run that works with the known password (given by PGPASSWORD, then in the URL), one
/// that rejects a row into a reject file, and the JSON reports: the password is in none.
#[test]
fn reports_and_reject_files_hold_no_password() {
    let w = Work::new();
    let pg = hostport(&pg_admin());
    let role = unique("leak").replace('-', "_");
    psql(&[
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{}'",
            PW.replace('\'', "''")
        ),
        &format!("CREATE DATABASE {role} OWNER {role}"),
    ]);
    let bare = format!("postgres://{role}@{pg}/{role}");
    let with_pw = format!("postgres://{role}:{PW_ENC}@{pg}/{role}");
    let (code, all) = w.ferry(
        "PGPASSWORD, good",
        &[
            "migrate",
            "--from",
            &w.good,
            "--to",
            &bare,
            "--json",
            "good.json",
        ],
        &[("PGPASSWORD", PW)],
    );
    assert_eq!(code, 0, "PGPASSWORD is the password: {all}");
    let (code, all) = w.ferry(
        "FERRY_FROM/FERRY_TO, verify",
        &["verify", "--content", "--json", "verify.json"],
        &[("FERRY_FROM", &w.good), ("FERRY_TO", &with_pw)],
    );
    assert_eq!(code, 0, "FERRY_FROM / FERRY_TO are the URLs: {all}");
    let (code, all) = w.ferry(
        "rejects",
        &[
            "migrate",
            "--from",
            &w.bad,
            "--to",
            &with_pw,
            "--on-error",
            "reject",
            "--reject-dir",
            "rejects",
            "--json",
            "bad.json",
        ],
        &[],
    );
    assert_eq!(code, 1, "one row rejected: {all}");
    let written = files(&w.dir);
    for name in ["good.json", "verify.json", "bad.json"] {
        let (_, text) = written
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .unwrap_or_else(|| panic!("{name} written"));
        assert!(
            text.contains(&format!("{role}:***@")),
            "{name} shows the redacted URL: {text}"
        );
    }
    assert!(
        written
            .iter()
            .any(|(p, _)| p.starts_with(w.dir.join("rejects"))),
        "a reject file was written: {written:?}"
    );
    psql(&[
        &format!("DROP DATABASE {role}"),
        &format!("DROP ROLE {role}"),
    ]);
}

/// MYSQL_PWD is the password of a MySQL URL that has none (and only then).
#[test]
fn mysql_pwd_is_the_password() {
    let w = Work::new();
    let admin = ferry_core::ConnUrl::parse(&mysql_admin()).expect("url");
    let real = admin.password().expect("password").expose().to_string();
    let my = hostport(&mysql_admin());
    let bare = format!("mysql://root@{my}/mysql");
    let args = [
        "schema",
        "--from",
        bare.as_str(),
        "--to-dialect",
        "postgres",
    ];
    let (code, all) = w.ferry("MYSQL_PWD", &args, &[("MYSQL_PWD", &real)]);
    assert_eq!(code, 0, "MYSQL_PWD is the password: {all}");
    let (code, all) = w.ferry("no MYSQL_PWD", &args, &[]);
    assert_eq!(code, 2, "without it the server refuses: {all}");
    // A password in the URL wins over the variable.
    let with_pw = format!("mysql://root:{PW_ENC}@{my}/mysql");
    let (code, all) = w.ferry(
        "URL password first",
        &["schema", "--from", &with_pw, "--to-dialect", "postgres"],
        &[("MYSQL_PWD", &real)],
    );
    assert_eq!(code, 2, "{all}");
}
