//! `ferry grant`: the app's own login on the loopback PostgreSQL and MariaDB, its password
//! in a secret held by moto. The app user, connected with the password read back from the
//! secret, reads and writes every migrated table and uses their sequences / AUTO_INCREMENT,
//! also on a table created after the grant; it is refused CREATE, DROP, ALTER and another
//! database; running `ferry grant` again keeps the login and password and takes away any
//! right given to it by hand in between.
//!
//! Also the PostgreSQL 15 report of issue 16: migrating as a role that was only given
//! `GRANT ALL ON DATABASE` fails on schema `public`, and the error names the grant and the
//! statements that fix it.

use ferry_tests::{
    block_on, block_on_thread, ferry, ferry_bin, moto_endpoint, mysql_admin_url, mysql_connect,
    pg_admin_url, pg_connect, unique_aws_name, unique_name, MyDb, PgDb, Run, TempDir, AWS_TEST_ENV,
};
use mysql_async::prelude::Queryable;
use std::process::Command;

/// `ferry` with a sealed-off AWS environment whose every call goes to moto on loopback.
fn ferry_aws(args: &[&str]) -> Run {
    let endpoint = moto_endpoint();
    assert!(
        ferry_aws::endpoint_is_loopback(&endpoint),
        "refusing to run: {endpoint} is not a loopback address"
    );
    let mut cmd = Command::new(ferry_bin());
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key == ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV {
            cmd.env_remove(key);
        }
    }
    cmd.envs(AWS_TEST_ENV)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .args(args);
    Run::from_output(cmd.output().expect("run ferry"))
}

/// The app user's secret as moto holds it.
fn read_secret(id: &str) -> ferry_aws::RdsSecret {
    let id = id.to_string();
    block_on_thread(async move {
        for (key, value) in AWS_TEST_ENV {
            std::env::set_var(key, value);
        }
        let clients = ferry_aws::AwsClients::connect(&ferry_aws::AwsOptions {
            region: Some("us-east-1".into()),
            profile: None,
            endpoint_url: Some(moto_endpoint()),
        })
        .await
        .expect("moto clients");
        ferry_aws::secret::read_secret(&clients, &id)
            .await
            .expect("the app user's secret")
    })
}

fn sqlite(dir: &TempDir, sql: &str) -> String {
    let path = dir.join("app.db");
    rusqlite::Connection::open(&path)
        .expect("sqlite")
        .execute_batch(sql)
        .expect("schema");
    format!("sqlite:{}", path.display())
}

/// The SQLite app of the seed story: two tables with integer keys the target numbers.
const APP_SQL: &str = "CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL);
     CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), total REAL);
     INSERT INTO customers (name) VALUES ('Ada'), ('Grace');
     INSERT INTO orders (customer_id, total) VALUES (1, 9.5), (2, 3.25), (1, 1.0);";

/// A PostgreSQL login dropped after the databases it has rights in.
struct PgRole(String);

impl Drop for PgRole {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            block_on(async {
                let c = pg_connect(&pg_admin_url()).await;
                let _ = c
                    .batch_execute(&format!("DROP ROLE IF EXISTS \"{name}\""))
                    .await;
            })
        })
        .join();
    }
}

/// Connect as the app user with what its secret says (not through a URL: the generated
/// password may hold characters a URL would need escaped).
async fn pg_as(secret: &ferry_aws::RdsSecret, db: &str) -> Result<tokio_postgres::Client, String> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&secret.host)
        .port(secret.port)
        .user(&secret.username)
        .password(secret.password.expose())
        .dbname(db);
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// The SQLSTATE of a statement the app user runs, `None` when it succeeds.
async fn pg_try(c: &tokio_postgres::Client, sql: &str) -> Option<String> {
    match c.batch_execute(sql).await {
        Ok(()) => None,
        Err(e) => Some(
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.code().code().to_string()),
        ),
    }
}

const DENIED: &str = "42501";

#[test]
fn postgres_app_user_reads_and_writes_and_nothing_else() {
    let dir = TempDir::new("ferry_app_pg");
    let from = sqlite(&dir, APP_SQL);
    let user = unique_name("app").to_lowercase();
    let user: String = user.chars().take(32).collect();
    let _role = PgRole(user.clone());
    let db = PgDb::new("ferry_app_pg");
    let other = PgDb::new("ferry_app_other");
    other.exec("CREATE TABLE private_data (id int); INSERT INTO private_data VALUES (1)");
    let run = ferry(&["migrate", "--from", &from, "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.all());

    let secret_name = unique_aws_name("ferry-app-pg");
    let grant = |extra: &[&str]| {
        let mut args = vec![
            "grant",
            "--to",
            &db.url,
            "--app-user",
            &user,
            "--secret",
            &secret_name,
        ];
        args.extend_from_slice(extra);
        ferry_aws(&args)
    };
    let run = grant(&[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains(&format!("app user `{user}` created")),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("PG_USER={user}\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("PG_CREDENTIALS_SECRET=arn:"),
        "{}",
        run.stdout
    );

    // moto holds the secret, in the RDS shape, naming this database.
    let secret = read_secret(&secret_name);
    assert_eq!(secret.username, user);
    assert_eq!(secret.engine, "postgres");
    assert_eq!(secret.dbname.as_deref(), Some(db.name.as_str()));
    assert_eq!(Some(secret.port), db.conn_url().port);
    let password = secret.password.expose().to_string();
    assert!(password.len() >= 32, "a generated password");
    assert!(!run.all().contains(&password), "password printed");

    block_on(async {
        let app = pg_as(&secret, &db.name)
            .await
            .expect("the app user connects");
        // Every migrated table: read, write (the key from its sequence), change, delete.
        for (table, column, insert) in [
            (
                "customers",
                "name",
                "INSERT INTO customers (name) VALUES ('Linus')",
            ),
            (
                "orders",
                "total",
                "INSERT INTO orders (customer_id, total) VALUES (1, 2.5)",
            ),
        ] {
            assert_eq!(
                pg_try(&app, &format!("SELECT * FROM {table}")).await,
                None,
                "{table}"
            );
            assert_eq!(pg_try(&app, insert).await, None, "{insert}");
            let update = format!("UPDATE {table} SET {column} = {column} WHERE id = 1");
            assert_eq!(pg_try(&app, &update).await, None, "{update}");
        }
        let n: i64 = app
            .query_one("SELECT count(*) FROM customers", &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(n, 3);
        assert_eq!(
            pg_try(&app, "DELETE FROM orders WHERE total = 2.5").await,
            None
        );
        // No DDL.
        assert_eq!(
            pg_try(&app, "CREATE TABLE sneaky (id int)")
                .await
                .as_deref(),
            Some(DENIED)
        );
        assert_eq!(
            pg_try(&app, "DROP TABLE orders").await.as_deref(),
            Some(DENIED)
        );
        assert_eq!(
            pg_try(&app, "ALTER TABLE customers ADD COLUMN x int")
                .await
                .as_deref(),
            Some(DENIED)
        );
        assert_eq!(
            pg_try(&app, "TRUNCATE orders").await.as_deref(),
            Some(DENIED)
        );
        assert_eq!(
            pg_try(&app, "CREATE SCHEMA sneaky").await.as_deref(),
            Some(DENIED)
        );
        // Another database: PUBLIC's CONNECT may let it in, but it reads nothing there.
        match pg_as(&secret, &other.name).await {
            Err(e) => assert!(e.contains("permission denied"), "{e}"),
            Ok(c) => assert_eq!(
                pg_try(&c, "SELECT * FROM private_data").await.as_deref(),
                Some(DENIED)
            ),
        }
    });

    // A table the migrating role creates after the grant is the app's too (default
    // privileges), sequence included.
    db.exec(
        "CREATE TABLE later (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)",
    );
    // A right given by hand, which the next grant must take away.
    db.exec(&format!(
        "GRANT TRUNCATE ON orders TO \"{user}\"; GRANT CREATE ON SCHEMA public TO \"{user}\""
    ));
    block_on(async {
        let app = pg_as(&secret, &db.name).await.expect("connects");
        assert_eq!(
            pg_try(&app, "INSERT INTO later (note) VALUES ('x')").await,
            None
        );
        assert_eq!(pg_try(&app, "SELECT * FROM later").await, None);
    });

    // Again: the same login and password, exactly the rights above.
    let run = grant(&["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(json["created"], false);
    assert_eq!(json["tables"], 3, "customers, orders, later: {json}");
    assert!(json["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .any(|s| s.as_str().is_some_and(|s| s.contains("PASSWORD '***'"))));
    assert!(!run.all().contains(&password), "password printed");
    let again = read_secret(&secret_name);
    assert_eq!(again.password.expose(), password, "the password is kept");
    block_on(async {
        let app = pg_as(&again, &db.name).await.expect("still connects");
        assert_eq!(
            pg_try(&app, "INSERT INTO later (note) VALUES ('y')").await,
            None
        );
        assert_eq!(
            pg_try(&app, "TRUNCATE orders").await.as_deref(),
            Some(DENIED)
        );
        assert_eq!(
            pg_try(&app, "CREATE TABLE sneaky (id int)")
                .await
                .as_deref(),
            Some(DENIED)
        );
    });

    drop(db);
    drop(other);
}

/// Connect to MariaDB as the app user with its secret's fields.
async fn my_as(
    secret: &ferry_aws::RdsSecret,
    db: &str,
) -> Result<mysql_async::Conn, mysql_async::Error> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(secret.host.clone())
        .tcp_port(secret.port)
        .user(Some(secret.username.clone()))
        .pass(Some(secret.password.expose().to_string()))
        .db_name(Some(db.to_string()))
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await
}

/// The server error code of a statement the app user runs, `None` when it succeeds.
async fn my_try(c: &mut mysql_async::Conn, sql: &str) -> Option<u16> {
    match c.query_drop(sql).await {
        Ok(()) => None,
        Err(mysql_async::Error::Server(e)) => Some(e.code),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Drops the MariaDB user `'NAME'@'%'` at the end.
struct MyUser(String);

impl Drop for MyUser {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            block_on(async {
                let mut c = mysql_connect(&mysql_admin_url()).await;
                let _ = c
                    .query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
                    .await;
            })
        })
        .join();
    }
}

#[test]
fn mysql_app_user_reads_and_writes_and_nothing_else() {
    let dir = TempDir::new("ferry_app_my");
    let from = sqlite(&dir, APP_SQL);
    let user: String = unique_name("app").to_lowercase().chars().take(32).collect();
    let _guard = MyUser(user.clone());
    let db = MyDb::new("ferry_app_my");
    let other = MyDb::new("ferry_app_myother");
    other.exec("CREATE TABLE private_data (id int); INSERT INTO private_data VALUES (1)");
    let run = ferry(&["migrate", "--from", &from, "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.all());

    let secret_name = unique_aws_name("ferry-app-my");
    let grant = |extra: &[&str]| {
        let mut args = vec![
            "grant",
            "--to",
            &db.url,
            "--app-user",
            &user,
            "--secret",
            &secret_name,
        ];
        args.extend_from_slice(extra);
        ferry_aws(&args)
    };
    let run = grant(&[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains(&format!("app user '{user}'@'%' created")),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("MYSQL_CREDENTIALS_SECRET=arn:"),
        "{}",
        run.stdout
    );
    let secret = read_secret(&secret_name);
    assert_eq!(secret.username, user);
    assert_eq!(secret.engine, "mysql");
    assert_eq!(secret.dbname.as_deref(), Some(db.name.as_str()));
    let password = secret.password.expose().to_string();
    assert!(!run.all().contains(&password), "password printed");

    // 1142: command denied for a table; 1044: access denied to a database.
    let denied = [Some(1142), Some(1044)];
    block_on(async {
        let mut app = my_as(&secret, &db.name)
            .await
            .expect("the app user connects");
        for (table, column, insert) in [
            (
                "customers",
                "name",
                "INSERT INTO customers (name) VALUES ('Linus')",
            ),
            (
                "orders",
                "total",
                "INSERT INTO orders (customer_id, total) VALUES (1, 2.5)",
            ),
        ] {
            assert_eq!(
                my_try(&mut app, &format!("SELECT * FROM {table}")).await,
                None
            );
            assert_eq!(my_try(&mut app, insert).await, None, "{insert}");
            let update = format!("UPDATE {table} SET {column} = {column} WHERE id = 1");
            assert_eq!(my_try(&mut app, &update).await, None, "{update}");
        }
        let n: Option<i64> = app
            .query_first("SELECT COUNT(*) FROM customers")
            .await
            .expect("count");
        assert_eq!(n, Some(3), "AUTO_INCREMENT numbered the new row");
        assert_eq!(
            my_try(&mut app, "DELETE FROM orders WHERE total = 2.5").await,
            None
        );
        for ddl in [
            "CREATE TABLE sneaky (id int)",
            "DROP TABLE orders",
            "ALTER TABLE customers ADD COLUMN x int",
        ] {
            let code = my_try(&mut app, ddl).await;
            assert!(denied.contains(&code), "{ddl}: {code:?}");
        }
        let code = my_try(
            &mut app,
            &format!("SELECT * FROM `{}`.private_data", other.name),
        )
        .await;
        assert!(denied.contains(&code), "another database: {code:?}");
        assert!(
            my_as(&secret, &other.name).await.is_err(),
            "connects to another database"
        );
        let _ = app.disconnect().await;
    });

    // A table created after the grant is covered (the grant is on the database).
    db.exec("CREATE TABLE later (id int AUTO_INCREMENT PRIMARY KEY, note text)");
    db.exec(&format!(
        "GRANT CREATE, DROP ON `{}`.* TO '{user}'@'%'",
        db.name
    ));
    let run = grant(&["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(json["created"], false);
    assert_eq!(json["tables"], 3);
    let again = read_secret(&secret_name);
    assert_eq!(again.password.expose(), password, "the password is kept");
    block_on(async {
        let mut app = my_as(&again, &db.name).await.expect("still connects");
        assert_eq!(
            my_try(&mut app, "INSERT INTO later (note) VALUES ('x')").await,
            None
        );
        let code = my_try(&mut app, "CREATE TABLE sneaky (id int)").await;
        assert!(
            denied.contains(&code),
            "the hand-given CREATE is gone: {code:?}"
        );
        let _ = app.disconnect().await;
    });

    // IAM: ferry sends RDS's statement; MariaDB has no such plugin and says so.
    let iam_user: String = format!("{}i", &user[..user.len().min(31)]);
    let _iam_guard = MyUser(iam_user.clone());
    let run = ferry_aws(&[
        "grant",
        "--to",
        &db.url,
        "--app-user",
        &iam_user,
        "--app-iam",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'")
            && run.stderr.contains("exists only on RDS and Aurora MySQL"),
        "{}",
        run.stderr
    );
    let exists = db.text(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = '{iam_user}'"
    ));
    assert_eq!(exists.as_deref(), Some("0"), "no half-made user");
    drop(db);
    drop(other);
}

#[test]
fn a_password_app_user_needs_a_secret() {
    let db = PgDb::new("ferry_app_nosecret");
    let run = ferry_aws(&["grant", "--to", &db.url, "--app-user", "shop_app"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("give --secret NAME"), "{}", run.stderr);
    let run = ferry_aws(&[
        "grant",
        "--to",
        &db.url,
        "--app-user",
        "Shop-App",
        "--app-iam",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("--app-user `Shop-App`"),
        "{}",
        run.stderr
    );
    let run = ferry_aws(&[
        "grant",
        "--to",
        &db.url,
        "--app-user",
        "postgres",
        "--app-iam",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    drop(db);
}

/// Issue 16: on PostgreSQL 15 `GRANT ALL ON DATABASE` gives no CREATE on schema `public`
/// (owned by `pg_database_owner`), so a migration as that role fails there; the error
/// names the missing grant and the statements that fix it.
#[test]
fn grant_all_on_database_is_not_enough_on_postgres_15() {
    let db = PgDb::new("ferry_app_pg15");
    let role: String = unique_name("mig").to_lowercase().chars().take(32).collect();
    let _role = PgRole(role.clone());
    let password = "mig-pw-4711";
    block_on(async {
        let c = pg_connect(&pg_admin_url()).await;
        c.batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'; GRANT ALL ON DATABASE \"{}\" TO \"{role}\"",
            db.name
        ))
        .await
        .expect("role");
    });
    let dir = TempDir::new("ferry_app_pg15");
    let from = sqlite(&dir, APP_SQL);
    let admin = db.conn_url();
    let url = format!(
        "postgres://{role}:{password}@{}:{}/{}",
        admin.host.as_deref().unwrap_or("127.0.0.1"),
        admin.port.unwrap_or(5432),
        db.name
    );
    let run = ferry(&["migrate", "--from", &from, "--to", &url]);
    assert_eq!(run.code, 2, "{}", run.all());
    for needle in [
        "permission denied for schema public",
        "GRANT CREATE ON SCHEMA public TO",
        "ALTER SCHEMA public OWNER TO",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(!run.all().contains(password), "password printed");
    // The statement the error names fixes it.
    db.exec(&format!("GRANT CREATE ON SCHEMA public TO \"{role}\""));
    let run = ferry(&["migrate", "--from", &from, "--to", &url]);
    assert_eq!(run.code, 0, "{}", run.all());
    drop(db);
}

/// `--output json` on `migrate` and `verify`: the report alone on stdout, valid against
/// docs/report.schema.json, numbers as numbers; the summary on stderr.
#[test]
fn migrate_and_verify_print_json_with_output_json() {
    let dir = TempDir::new("ferry_out_json");
    let from = sqlite(&dir, APP_SQL);
    let db = PgDb::new("ferry_out_json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ferry_tests::repo_root().join("docs/report.schema.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    for (args, rows_read) in [
        (
            vec![
                "migrate", "--from", &from, "--to", &db.url, "--output", "json",
            ],
            5,
        ),
        (
            vec![
                "verify", "--from", &from, "--to", &db.url, "--output", "json",
            ],
            0,
        ),
    ] {
        let run = ferry(&args);
        assert_eq!(run.code, 0, "{}", run.all());
        let report: serde_json::Value =
            serde_json::from_str(&run.stdout).expect("stdout is only the JSON report");
        let broken = ferry_tests::json_schema::violations(&schema, &report);
        assert!(broken.is_empty(), "{broken:?}");
        assert!(report["seconds"].is_number(), "{report}");
        assert_eq!(report["totals"]["tables"], 2, "{}", report["totals"]);
        assert_eq!(
            report["totals"]["rows_read"], rows_read,
            "{}",
            report["totals"]
        );
        assert!(
            run.stderr.contains("customers") && !run.stdout.contains("customers    "),
            "the summary is on stderr: {}",
            run.stderr
        );
    }
    let run = ferry(&[
        "verify", "--from", &from, "--to", &db.url, "--output", "json", "--json", "r.json",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("give one of them"), "{}", run.stderr);
    drop(db);
}

/// `--app-iam` on PostgreSQL: refused, naming `rds_iam`, on a server without RDS's role;
/// with a stand-in `rds_iam` role (as RDS has), the app user is its member and has no
/// password; switching back to a password takes the membership away. One test, so the
/// stand-in role exists only while it runs.
#[test]
fn postgres_iam_app_user_is_a_member_of_rds_iam() {
    let db = PgDb::new("ferry_app_iam");
    db.exec("CREATE TABLE t (id serial PRIMARY KEY)");
    let user: String = unique_name("iam").to_lowercase().chars().take(32).collect();
    let _role = PgRole(user.clone());
    let admin = |sql: &str| {
        let sql = sql.to_string();
        block_on(async move { pg_connect(&pg_admin_url()).await.batch_execute(&sql).await })
    };
    // Another run of this test may hold the stand-in: then the refusal cannot be seen.
    let had_rds_iam = db.text("SELECT count(*) FROM pg_roles WHERE rolname = 'rds_iam'");
    if had_rds_iam.as_deref() == Some("0") {
        let run = ferry_aws(&["grant", "--to", &db.url, "--app-user", &user, "--app-iam"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("GRANT rds_iam TO") && run.stderr.contains("exists only on RDS"),
            "{}",
            run.stderr
        );
        let made = db.text(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{user}'"
        ));
        assert_eq!(made.as_deref(), Some("0"), "rolled back: no half-made role");
        let _ = admin("CREATE ROLE rds_iam NOLOGIN");
    }
    let run = ferry_aws(&["grant", "--to", &db.url, "--app-user", &user, "--app-iam"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("PG_IAM_AUTH=true"), "{}", run.stdout);
    let member = format!(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
         JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'rds_iam' AND u.rolname = '{user}'"
    );
    assert_eq!(db.text(&member).as_deref(), Some("1"));
    let no_password =
        format!("SELECT count(*) FROM pg_authid WHERE rolname = '{user}' AND rolpassword IS NULL");
    assert_eq!(db.text(&no_password).as_deref(), Some("1"));
    // Back to a password: no rds_iam (on RDS it would disable password login).
    let secret_name = unique_aws_name("ferry-app-iam");
    let run = ferry_aws(&[
        "grant",
        "--to",
        &db.url,
        "--app-user",
        &user,
        "--secret",
        &secret_name,
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(db.text(&member).as_deref(), Some("0"));
    assert_eq!(db.text(&no_password).as_deref(), Some("0"));
    drop(db);
    if had_rds_iam.as_deref() == Some("0") {
        let _ = admin("DROP ROLE IF EXISTS rds_iam");
    }
}
