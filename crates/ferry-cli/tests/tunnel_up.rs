//! `ferry up --ssh`: the new database (never publicly accessible) is reached through the
//! bastion. moto provisions it and holds its secret; the test-only override
//! FERRY_TEST_ENDPOINT_OVERRIDE points the secret's endpoint at the loopback PostgreSQL,
//! so the `secret://` URL is resolved first and the host and port it holds are then
//! tunnelled through the OpenSSH bastion of `scripts/servers.sh start sshd`.
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

mod common;

use common::{endpoint, psql, run, unique};
use std::process::Command;

fn ferry(args: &[&str]) -> Command {
    common::ferry_via(&endpoint(), args)
}

#[tokio::test]
async fn up_reaches_the_new_database_through_the_bastion() {
    let b = ferry_test_support::ssh_bastion();
    let name = unique("upssh");
    let db = name.replace('-', "_");
    let dir = ferry_test_support::TempDir::new("ferry_upssh");
    let sqlite = dir.join("app.db");
    let status = Command::new("sqlite3")
        .arg(&sqlite)
        .arg(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             INSERT INTO notes VALUES (1, 'through'), (2, 'the'), (3, 'bastion');",
        )
        .status()
        .expect("sqlite3");
    assert!(status.success());

    let (code, _, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
    ]));
    assert_eq!(code, 0, "{err}");
    let clients = common::moto_clients().await;
    let password = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}"))
        .await
        .expect("secret")
        .password
        .expose()
        .to_string();
    let admin = ferry_test_support::pg_admin_url();
    let parsed = ferry_core::ConnUrl::parse(&admin).expect("FERRY_TEST_PG");
    let host = parsed.host.clone().expect("host");
    assert!(ferry_aws::is_loopback_host(&host), "loopback only");
    let hostport = format!("{host}:{}", parsed.port.unwrap_or(5432));
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
    let target = b.target();
    let up = |known_hosts: &str| {
        run(ferry(&[
            "up",
            "--from",
            &from,
            "--engine",
            "postgres",
            "--name",
            &name,
            "--ssh",
            &target,
            "--ssh-key",
            &b.key,
            "--ssh-known-hosts",
            known_hosts,
        ])
        .env(ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV, &hostport))
    };

    // --ssh is in force: a bastion whose host key is not known stops the run before the load.
    let empty = dir.join("known_hosts");
    std::fs::write(&empty, "").expect("known_hosts");
    let (code, out, err) = up(empty.to_str().expect("utf8"));
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("is not known"), "{err}");
    assert!(
        !out.contains(&password) && !err.contains(&password),
        "password leaked"
    );

    // With the bastion's key known: the secret is read, its endpoint tunnelled, rows loaded.
    let (code, out, err) = up(&b.known_hosts);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("TOTAL"), "{err}");
    assert!(out.contains("FERRY_URL=secret://"), "{out}");
    assert!(
        !out.contains(&password) && !err.contains(&password),
        "password leaked"
    );
    let count = Command::new("psql")
        .args([
            format!("postgres://postgres:ferrytest@{hostport}/{db}").as_str(),
            "-At",
            "-c",
            "SELECT string_agg(body, ' ' ORDER BY id) FROM notes",
        ])
        .output()
        .expect("psql");
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        "through the bastion"
    );

    // `ferry verify` of the secret through the bastion.
    let secret = format!("secret://ferry/{name}");
    let (code, out, err) = run(ferry(&[
        "verify",
        "--from",
        &from,
        "--to",
        &secret,
        "--content",
        "--ssh",
        &target,
        "--ssh-key",
        &b.key,
        "--ssh-known-hosts",
        &b.known_hosts,
    ])
    .env(ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV, &hostport));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");

    let (code, _, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
    ]));
    assert_eq!(code, 0, "{err}");
    psql(
        &admin,
        "",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE);\n"),
    );
}
