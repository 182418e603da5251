//! `ferry up --app-user` and the provisioning flags of issue 16, through the binary against
//! moto on loopback; `--output json` of `provision`, `up` and `teardown` parses, numbers as
//! numbers.
#![cfg(feature = "aws")]

mod common;
#[path = "../../ferry-aws/tests/common/throttle.rs"]
mod throttle;

use common::{endpoint, run, unique};
use std::process::Command;

fn ferry(args: &[&str]) -> Command {
    common::ferry_via(&endpoint(), args)
}

/// The local PostgreSQL of `scripts/servers.sh`, as (host:port, admin URL).
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

async fn admin_sql(sql: &str) {
    ferry_test_support::pg_connect(&ferry_test_support::pg_admin_url())
        .await
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `ferry up --app-user`: after the load, the app's own login exists with its password in
/// `ferry/NAME/app`; the env output names that secret as PG_CREDENTIALS_SECRET and the
/// master's as PG_ADMIN_CREDENTIALS_SECRET; a re-run keeps both; teardown removes both
/// secrets. moto's endpoints resolve nowhere, so FERRY_TEST_ENDPOINT_OVERRIDE sends the
/// connections to the local PostgreSQL, whose `ferry_admin` gets the master secret's password.
#[tokio::test]
async fn up_with_an_app_user_gives_the_app_its_own_secret() {
    let name = unique("upapp");
    let db = name.replace('-', "_");
    let app_user: String = format!("app_{}", db).chars().take(32).collect();
    let dir = std::env::temp_dir().join(format!("ferry-upapp-{name}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = dir.join("app.db");
    let status = Command::new("sqlite3")
        .arg(&sqlite)
        .arg(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO customers (name) VALUES ('Ada'), ('Grace');",
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
    let master = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}"))
        .await
        .expect("master secret");
    let (hostport, _) = local_pg();
    // The shared ferry_admin role takes the password as a SCRAM verifier (never in SQL text).
    let verifier = postgres_protocol_verifier(master.password.expose());
    admin_sql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ferry_admin') THEN CREATE ROLE ferry_admin LOGIN CREATEDB; END IF; END$$")
        .await;
    // Like the RDS master user, it may create roles (the app user).
    admin_sql(&format!(
        "ALTER ROLE ferry_admin CREATEROLE PASSWORD '{verifier}'"
    ))
    .await;
    admin_sql(&format!("CREATE DATABASE {db} OWNER ferry_admin")).await;
    let _cleanup = Cleanup {
        db: db.clone(),
        role: app_user.clone(),
    };

    let from = format!("sqlite://{}", sqlite.display());
    let up = |extra: &[&str]| {
        let mut args = vec![
            "up",
            "--from",
            &from,
            "--engine",
            "postgres",
            "--name",
            &name,
            "--app-user",
            &app_user,
        ];
        args.extend_from_slice(extra);
        let mut cmd = ferry(&args);
        cmd.env(ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV, &hostport);
        run(&mut cmd)
    };
    // `ferry provision --app-user` on the still empty database: the login exists before
    // any table, and the tables the load creates later are its through default privileges.
    let mut cmd = ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
        "--app-user",
        &app_user,
    ]);
    cmd.env(ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV, &hostport);
    let (code, provisioned, err) = run(&mut cmd);
    assert_eq!(code, 0, "stdout: {provisioned}\nstderr: {err}");
    assert!(
        err.contains(&format!("app user `{app_user}` created")),
        "{err}"
    );
    assert!(
        provisioned.contains(&format!("secret:ferry/{name}/app-")),
        "{provisioned}"
    );

    let (code, out, err) = up(&["--output", "json"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON object");
    assert_eq!(json["PG_PORT"], 5432, "a number: {json}");
    let app_arn = json["PG_CREDENTIALS_SECRET"]
        .as_str()
        .expect("app secret")
        .to_string();
    let admin_arn = json["PG_ADMIN_CREDENTIALS_SECRET"]
        .as_str()
        .expect("admin secret");
    assert!(
        app_arn.contains(&format!("secret:ferry/{name}/app")),
        "{app_arn}"
    );
    assert!(
        admin_arn.contains(&format!("secret:ferry/{name}-")),
        "{admin_arn}"
    );
    assert_eq!(
        json["FERRY_URL"],
        format!("secret://{admin_arn}"),
        "ferry keeps the master"
    );
    assert!(
        err.contains(&format!("app user `{app_user}` reset")),
        "{err}"
    );

    let app = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}/app"))
        .await
        .expect("app secret");
    assert_eq!(app.username, app_user);
    assert_eq!(app.engine, "postgres");
    assert_eq!(app.dbname.as_deref(), Some(db.as_str()));
    assert_eq!(
        app.host, master.host,
        "the secret names the RDS endpoint, not the test's"
    );
    assert_eq!(app.db_instance_identifier.as_deref(), Some(name.as_str()));
    for text in [&out, &err] {
        assert!(
            !text.contains(app.password.expose()),
            "app password printed"
        );
        assert!(
            !text.contains(master.password.expose()),
            "master password printed"
        );
    }

    // The app user, with its secret's password, on the loaded table; no DDL.
    let (host, port) = hostport.split_once(':').expect("host:port");
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(host)
        .port(port.parse().expect("port"))
        .user(&app.username)
        .password(app.password.expose())
        .dbname(&db);
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .expect("app user connects");
    tokio::spawn(conn);
    client
        .batch_execute("INSERT INTO customers (name) VALUES ('Linus')")
        .await
        .expect("insert without id");
    let n: i64 = client
        .query_one("SELECT count(*) FROM customers", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 3);
    // Deleted again, so the re-run below finds the target as the source.
    client
        .batch_execute("DELETE FROM customers WHERE name = 'Linus'")
        .await
        .expect("delete");
    let refused = client
        .batch_execute("CREATE TABLE sneaky (id int)")
        .await
        .expect_err("DDL");
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
    drop(client);

    // Again, as env lines: the same secrets, the app password kept, the login reset.
    let (code, again, err) = up(&[]);
    assert_eq!(code, 0, "stdout: {again}\nstderr: {err}");
    assert!(
        again.contains(&format!("PG_CREDENTIALS_SECRET={app_arn}\n")),
        "{again}"
    );
    assert!(
        again.contains(&format!("PG_ADMIN_CREDENTIALS_SECRET={admin_arn}\n")),
        "{again}"
    );
    assert!(
        err.contains(&format!("app user `{app_user}` reset")),
        "{err}"
    );
    let kept = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}/app"))
        .await
        .expect("app secret");
    assert_eq!(kept.password, app.password, "the password is kept");

    let (code, gone, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
        "--output",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let gone: serde_json::Value = serde_json::from_str(&gone).expect("teardown JSON");
    let deleted: Vec<&str> = gone["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        deleted.contains(&format!("secret ferry/{name}/app").as_str()),
        "{gone}"
    );
    assert!(
        deleted.contains(&format!("secret ferry/{name}").as_str()),
        "{gone}"
    );
    assert_eq!(gone["secret_recovery_days"], serde_json::Value::Null);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Drops the test's database, then its app user, also when the test fails.
struct Cleanup {
    db: String,
    role: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (db, role) = (self.db.clone(), self.role.clone());
        let _ = std::thread::spawn(move || {
            ferry_test_support::block_on(async {
                let c = ferry_test_support::pg_connect(&ferry_test_support::pg_admin_url()).await;
                let _ = c
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await;
                let _ = c
                    .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
                    .await;
            })
        })
        .join();
    }
}

/// A SCRAM-SHA-256 verifier for `password`, as `ALTER ROLE ... PASSWORD` accepts it.
fn postgres_protocol_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

/// `--multi-az`, `--availability-zone`, `--port`, `--performance-insights` and
/// `--parameter-group` reach RDS: moto's DescribeDBInstances / DescribeDBClusters show them.
#[tokio::test]
async fn placement_flags_reach_rds() {
    let clients = common::moto_clients().await;
    let group = unique("pg16");
    clients
        .rds
        .create_db_parameter_group()
        .db_parameter_group_name(&group)
        .db_parameter_group_family("postgres16")
        .description("ferry test")
        .send()
        .await
        .expect("parameter group");

    // Through a recording proxy in front of moto: moto does not keep Performance Insights,
    // so that one is checked on the request RDS received.
    let proxy = throttle::ThrottleProxy::start(&endpoint(), Vec::new());
    let name = unique("flags");
    let (code, out, err) = run(&mut common::ferry_via(
        proxy.url(),
        &[
            "provision",
            "--engine",
            "postgres",
            "--name",
            &name,
            "--multi-az",
            "--port",
            "6543",
            "--performance-insights",
            "--parameter-group",
            &group,
            "--output",
            "json",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("provision JSON");
    assert_eq!(json["PG_PORT"], 6543, "{json}");
    let found = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(&name)
        .send()
        .await
        .expect("describe");
    let i = found.db_instances().first().expect("instance");
    assert_eq!(i.multi_az(), Some(true));
    assert_eq!(i.endpoint().and_then(|e| e.port()), Some(6543));
    let sent: Vec<String> = proxy
        .log()
        .into_iter()
        .filter(|s| s.operation == "CreateDBInstance")
        .filter_map(|s| s.rds_form)
        .collect();
    assert_eq!(sent.len(), 1, "one CreateDBInstance");
    for param in [
        "EnablePerformanceInsights=true",
        "MultiAZ=true",
        "Port=6543",
        &format!("DBParameterGroupName={group}"),
    ] {
        assert!(sent[0].split('&').any(|kv| kv == param), "{param} not sent");
    }
    assert!(
        i.db_parameter_groups()
            .iter()
            .any(|g| g.db_parameter_group_name() == Some(group.as_str())),
        "{:?}",
        i.db_parameter_groups()
    );
    let secret = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}"))
        .await
        .expect("secret");
    assert_eq!(secret.port, 6543, "the secret names the port");

    // A zone of its own (not with --multi-az, which RDS places itself).
    let zoned = unique("zone");
    let (code, _, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "mysql",
        "--name",
        &zoned,
        "--availability-zone",
        "us-east-1b",
    ]));
    assert_eq!(code, 0, "{err}");
    let found = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(&zoned)
        .send()
        .await
        .expect("describe");
    let z = found.db_instances().first().expect("instance");
    assert_eq!(z.availability_zone(), Some("us-east-1b"));
    let (code, _, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "mysql",
        "--name",
        &unique("both"),
        "--availability-zone",
        "us-east-1b",
        "--multi-az",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--availability-zone cannot be combined with --multi-az"),
        "{err}"
    );

    // Aurora: the cluster's port and cluster parameter group; --multi-az adds a reader.
    let cluster = unique("aur");
    let (code, out, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "aurora-postgresql",
        "--name",
        &cluster,
        "--port",
        "6544",
        "--multi-az",
        "--performance-insights",
        "--availability-zone",
        "us-east-1c",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("PG_PORT=6544\n"), "{out}");
    assert!(
        out.contains("PG_READER_HOST="),
        "Multi-AZ Aurora has a reader: {out}"
    );
    let found = clients
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .expect("describe cluster");
    let c = found.db_clusters().first().expect("cluster");
    assert_eq!(c.port(), Some(6544));
    let writer = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(format!("{cluster}-writer"))
        .send()
        .await
        .expect("describe writer");
    let w = writer.db_instances().first().expect("writer");
    assert_eq!(w.availability_zone(), Some("us-east-1c"));

    for n in [&name, &zoned, &cluster] {
        let (code, out, err) = run(&mut ferry(&[
            "teardown",
            "--name",
            n,
            "--skip-final-snapshot",
            "--force",
            "--output",
            "json",
        ]));
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("teardown JSON");
        assert_eq!(v["dry_run"], false);
        assert!(!v["deleted"].as_array().expect("deleted").is_empty(), "{v}");
    }
}

/// `--dry-run` with `--app-user` says what the app user step will do.
#[test]
fn dry_run_names_the_app_user_step() {
    let name = unique("dryapp");
    let (code, out, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
        "--app-user",
        "shop_app",
        "--multi-az",
        "--port",
        "6000",
        "--dry-run",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("then: create app user shop_app")
            && out.contains(&format!("secret ferry/{name}/app")),
        "{out}"
    );
    assert!(
        out.contains("multi_az = true") && out.contains("port = 6000"),
        "{out}"
    );
    let (code, out, _) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--dry-run",
        "--output",
        "json",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["would"], serde_json::json!([]), "nothing was made");
}
