//! `ferry provision` / `ferry teardown` through the binary, against moto on loopback
//! (`scripts/servers.sh start moto`; `FERRY_TEST_AWS_ENDPOINT` overrides the default
//! `http://127.0.0.1:55500`). Refuses to run against anything but loopback.
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

mod common;

use common::{endpoint, psql, run, unique};
use std::process::Command;

/// `ferry` with every AWS call sent to the emulator.
fn ferry(args: &[&str]) -> Command {
    common::ferry_via(&endpoint(), args)
}

/// The password in secret `ferry/NAME`, read in-process (so the test can prove it never
/// reaches the binary's output).
async fn secret_password(name: &str) -> String {
    let clients = common::moto_clients().await;
    let s = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}"))
        .await
        .expect("secret");
    s.password.expose().to_string()
}

#[tokio::test]
async fn provision_rerun_and_teardown_through_the_binary() {
    let name = unique("cli");
    let (code, out, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("PG_HOST="), "{out}");
    for key in [
        "PG_PORT=5432",
        "PG_DATABASE=",
        "PG_CREDENTIALS_SECRET=arn:",
        "FERRY_URL=secret://arn:",
    ] {
        assert!(out.contains(key), "{key} in {out}");
    }
    assert!(err.contains("creating secret"), "{err}");
    let password = secret_password(&name).await;

    let (code, again, err2) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
    ]));
    assert_eq!(code, 0, "{err2}");
    assert_eq!(again, out, "re-run reports the same connection");
    assert!(err2.contains("found DB instance"), "{err2}");

    let (code, json, _) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
        "--output",
        "json",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["PG_PORT"], 5432, "a number");

    let (code, _, err3) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
    ]));
    assert_eq!(code, 2);
    assert!(
        err3.contains("deletion protection") && err3.contains("--force"),
        "{err3}"
    );
    assert_eq!(err3.trim().lines().count(), 1, "one line: {err3}");

    let (code, gone, err4) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
    ]));
    assert_eq!(code, 0, "{err4}");
    assert!(
        gone.contains(&format!("deleted DB instance {name}")),
        "{gone}"
    );
    assert!(
        gone.contains(&format!("deleted secret ferry/{name}")),
        "{gone}"
    );

    for text in [&out, &err, &again, &err2, &json, &err3, &gone, &err4] {
        assert!(!text.contains(&password), "password leaked");
    }
}

#[test]
fn dry_run_prints_the_plan_and_creates_nothing() {
    let name = unique("clidry");
    let args = [
        "provision",
        "--engine",
        "aurora-postgresql",
        "--name",
        &name,
        "--serverless-v2",
        "0.5-2",
        "--read-replica",
        "--dry-run",
    ];
    let (code, out, err) = run(&mut ferry(&args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would create: DB cluster"), "{out}");
    assert!(out.contains("publicly_accessible = false"), "{out}");
    let (code, _, _) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
    ]));
    assert_eq!(code, 0);
    let (_, out, _) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
    ]));
    assert!(out.contains("nothing to tear down"), "{out}");
}

#[test]
fn bad_input_gives_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["provision", "--engine", "oracle", "--name", "x"],
            "unknown engine `oracle`",
        ),
        (
            &[
                "provision",
                "--engine",
                "mysql",
                "--name",
                "x",
                "--serverless-v2",
                "0.5-2",
            ],
            "--serverless-v2 needs an Aurora engine",
        ),
        (
            &["provision", "--engine", "mysql", "--name", "Bad_Name"],
            "--name `Bad_Name`",
        ),
    ];
    for (args, want) in cases {
        let (code, _, err) = run(&mut ferry(args));
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (code, _, err) =
        run(ferry(&["provision", "--engine", "mysql", "--name", "x"]).env_remove("AWS_REGION"));
    assert_eq!(code, 2);
    assert!(err.contains("no AWS region"), "{err}");
    let (code, _, err) = run(ferry(&["provision", "--engine", "mysql", "--name", "x"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY"));
    assert_eq!(code, 2);
    assert!(err.contains("no AWS credentials"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));
    // An endpoint nobody listens on (loopback port 1): the causes, not the SDK's dump.
    let (code, _, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "mysql",
        "--name",
        "x",
        "--endpoint-url",
        "http://127.0.0.1:1",
    ]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("DescribeSecret: dispatch failure") && err.contains("Connection refused"),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure {"), "a debug dump: {err}");
}

/// The local PostgreSQL of `scripts/servers.sh` (`FERRY_TEST_PG`), as (host:port, admin URL).
fn local_pg() -> (String, String) {
    let url = ferry_test_support::pg_admin_url();
    let parsed = ferry_core::ConnUrl::parse(&url).expect("FERRY_TEST_PG");
    let host = parsed.host.clone().expect("host");
    assert!(
        ferry_aws::is_loopback_host(&host),
        "FERRY_TEST_PG must be on loopback"
    );
    (format!("{host}:{}", parsed.port.unwrap_or(5432)), url)
}

/// `ferry up`: provision (moto), then migrate a SQLite file into the database the secret
/// describes. moto's endpoints resolve nowhere, so the test-only override
/// FERRY_TEST_ENDPOINT_OVERRIDE points the resolved secret at the local PostgreSQL, whose
/// `ferry_admin` role gets the password from the secret: the credentials really travel
/// from Secrets Manager to the driver.
#[tokio::test]
async fn up_provisions_migrates_and_verifies() {
    let name = unique("up");
    let db = name.replace('-', "_");
    let dir = std::env::temp_dir().join(format!("ferry-up-{name}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = dir.join("app.db");
    let status = Command::new("sqlite3")
        .arg(&sqlite)
        .arg(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, joined TEXT);
             INSERT INTO customers VALUES (1, 'Ada', '2024-01-02'), (2, 'Grace', NULL), (3, 'Linus', '2023-05-06');",
        )
        .status()
        .expect("sqlite3");
    assert!(status.success());

    // First the target and its secret, so the test can give the local server the password.
    let (code, _, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
    ]));
    assert_eq!(code, 0, "{err}");
    let password = secret_password(&name).await;
    let (hostport, admin) = local_pg();
    psql(
        &admin,
        &password,
        &format!(
            "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ferry_admin') THEN CREATE ROLE ferry_admin LOGIN CREATEDB; END IF; END$$;\n\
             ALTER ROLE ferry_admin PASSWORD :'pw';\n\
             CREATE DATABASE {db} OWNER ferry_admin;\n"
        ),
    );

    let from = format!("sqlite://{}", sqlite.display());
    let (code, out, err) = run(ferry(&[
        "up", "--from", &from, "--engine", "postgres", "--name", &name,
    ])
    .env(ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV, &hostport));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    // `ferry up > app.env`: stdout is env lines only (the summary went to stderr), and a
    // shell can source it.
    assert!(err.contains("TOTAL"), "the summary is on stderr: {err}");
    for line in out.lines() {
        assert!(
            line.split_once('=').is_some_and(|(k, _)| !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')),
            "not an env line: {line:?} in {out}"
        );
    }
    let env_file = dir.join("app.env");
    std::fs::write(&env_file, &out).expect("app.env");
    let sourced = Command::new("bash")
        .arg("-c")
        .arg("set -eu; . \"$1\"; printf '%s|%s|%s' \"$PG_HOST\" \"$PG_PORT\" \"$FERRY_URL\"")
        .arg("bash")
        .arg(&env_file)
        .output()
        .expect("bash");
    assert!(sourced.status.success(), "{sourced:?}");
    let sourced = String::from_utf8_lossy(&sourced.stdout).into_owned();
    let host = out
        .lines()
        .find_map(|l| l.strip_prefix("PG_HOST="))
        .expect("PG_HOST");
    assert!(
        sourced.starts_with(&format!("{host}|5432|secret://")),
        "{sourced}"
    );
    assert!(out.contains("PG_HOST="), "{out}");
    assert!(
        out.trim_end().ends_with(&format!(
            "FERRY_URL=secret://{}",
            out.lines()
                .find_map(|l| l.strip_prefix("PG_CREDENTIALS_SECRET="))
                .unwrap_or("?")
        )),
        "{out}"
    );
    assert!(
        !out.contains(&password) && !err.contains(&password),
        "password leaked"
    );

    // The rows are in the database the secret names, reached with the secret's password.
    let target = format!("postgres://postgres:ferrytest@{hostport}/{db}");
    let count = Command::new("psql")
        .args([
            target.as_str(),
            "-At",
            "-c",
            "SELECT count(*) FROM customers",
        ])
        .output()
        .expect("psql");
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "3");

    // Running the same `ferry up` again finds the database and its tables, verifies every
    // value instead of loading twice, and prints the same connection.
    // This time as `ferry up --output json > up.json`: stdout is one JSON object.
    let (code, again, err) = run(ferry(&[
        "up", "--from", &from, "--engine", "postgres", "--name", &name, "--output", "json",
    ])
    .env(ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV, &hostport));
    assert_eq!(code, 0, "stdout: {again}\nstderr: {err}");
    // The resumed load finds its earlier run finished and only checks the result, every
    // value compared (counts and content ok).
    assert!(
        err.contains("the earlier run finished; checking the result"),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with("customers")
            && l.split_whitespace()
                .collect::<Vec<_>>()
                .ends_with(&["ok", "ok", "complete"])),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(&again).expect("stdout is only JSON");
    assert_eq!(json["PG_HOST"].as_str(), Some(host), "{again}");
    let count = Command::new("psql")
        .args([
            target.as_str(),
            "-At",
            "-c",
            "SELECT count(*) FROM customers",
        ])
        .output()
        .expect("psql");
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        "3",
        "not loaded twice"
    );

    let (code, _, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
    ]));
    assert_eq!(code, 0, "{err}");
    psql(&admin, "", &format!("DROP DATABASE IF EXISTS {db};\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--iam-auth` replaces the target's password with a locally signed IAM token, which only
/// ever travels over verified TLS: the local PostgreSQL offers no TLS, so the run must fail
/// before any token is sent (and before authentication), and neither the token nor the
/// password may be printed. Without the flag the same URL connects.
#[test]
fn iam_auth_replaces_the_password_with_a_token() {
    let (_, admin) = local_pg();
    let password = ferry_core::ConnUrl::parse(&admin)
        .ok()
        .and_then(|u| u.password().map(|p| p.expose().to_string()))
        .expect("FERRY_TEST_PG has a password");
    let sqlite = std::env::temp_dir().join(format!("{}.db", unique("iam")));
    let conn = rusqlite_free_sqlite(&sqlite);
    let to = admin.clone();
    let (code, out, err) = run(&mut ferry(&[
        "verify",
        "--from",
        &conn,
        "--to",
        &to,
        "--iam-auth",
    ]));
    let all = format!("{out}{err}");
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("server does not support TLS"), "{all}");
    assert!(
        !all.contains("X-Amz-Signature") && !all.contains("Action=connect"),
        "token leaked: {all}"
    );
    assert!(!all.contains(&password), "password leaked: {all}");
    let (code, out, err) = run(&mut ferry(&["verify", "--from", &conn, "--to", &to]));
    assert_eq!(code, 0, "without --iam-auth the password works: {out}{err}");
    let _ = std::fs::remove_file(&sqlite);
}

/// An empty SQLite file (no tables) made with the sqlite3 CLI; returns its URL.
fn rusqlite_free_sqlite(path: &std::path::Path) -> String {
    let status = Command::new("sqlite3")
        .arg(path)
        .arg("CREATE TABLE t (id INTEGER PRIMARY KEY); DROP TABLE t;")
        .status()
        .expect("sqlite3");
    assert!(status.success());
    format!("sqlite:{}", path.display())
}
