//! What a team asks for on day one (issue 16, part 3): `--check` touches nothing and lists
//! every problem with its fix; permission errors name the GRANT that fixes them; URLs and
//! run settings come from flags, then the `--config` file, then the environment
//! (`FERRY_FROM`/`DATABASE_URL`, `FERRY_TO`/`FERRY_URL`, `PG*`, `~/.pgpass`).

use ferry_tests::{ferry_bin, pg_admin_url, unique_name, MyDb, PgDb, Run, TempDir};
use std::process::Command;

/// Variables the tests set themselves; removed from what ferry inherits so a developer's
/// own settings cannot change a result.
const CLEARED: &[&str] = &[
    "FERRY_FROM",
    "FERRY_TO",
    "FERRY_URL",
    "DATABASE_URL",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "MYSQL_PWD",
];

/// Run ferry with exactly `env` of the variables above (and HOME pointed at `home`, so
/// no real `~/.pgpass` is read).
fn ferry_env(args: &[&str], env: &[(&str, &str)], home: &TempDir) -> Run {
    let mut cmd = Command::new(ferry_bin());
    cmd.args(args);
    for name in CLEARED {
        cmd.env_remove(name);
    }
    cmd.env("HOME", &home.0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from_output(cmd.output().expect("run ferry"))
}

fn sqlite(dir: &TempDir, name: &str) -> String {
    let path = dir.join(name);
    rusqlite::Connection::open(&path)
        .expect("sqlite")
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO users VALUES (1, 'ann'), (2, 'bob');
             CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), total REAL);
             CREATE INDEX orders_user ON orders (user_id);
             INSERT INTO orders VALUES (1, 1, 9.5);",
        )
        .expect("schema");
    format!("sqlite:{}", path.display())
}

/// Everything of a PostgreSQL database's catalog a run could change: its schemas with their
/// grants, relations, types, and the database's own grants.
fn pg_catalog(db: &PgDb) -> String {
    db.text(
        "SELECT concat_ws(' | ',
            (SELECT string_agg(nspname || '=' || coalesce(nspacl::text, ''), ',' ORDER BY nspname)
               FROM pg_namespace),
            (SELECT string_agg(format('%s.%s:%s', n.nspname, c.relname, c.relkind), ',' ORDER BY n.nspname, c.relname)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')),
            (SELECT count(*)::text FROM pg_type),
            (SELECT coalesce(datacl::text, '') FROM pg_database WHERE datname = current_database()))",
    )
    .expect("catalog")
}

/// A login role made for one test, dropped with its grants when the value is dropped
/// (also when the test fails; declare it after its database).
struct Role {
    name: String,
    password: String,
    db_url: String,
}

impl Drop for Role {
    fn drop(&mut self) {
        let sql = format!("DROP OWNED BY \"{0}\"; DROP ROLE \"{0}\"", self.name);
        let url = self.db_url.clone();
        let _ = std::thread::spawn(move || {
            ferry_tests::block_on(async {
                let c = ferry_tests::pg_connect(&url).await;
                let _ = c.batch_execute(&sql).await;
            })
        })
        .join();
    }
}

impl Role {
    fn new(prefix: &str, db: &PgDb) -> Role {
        let name = unique_name(prefix).to_lowercase();
        let password = "conv-pw-8831".to_string();
        db.exec(&format!(
            "CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'; \
             GRANT CONNECT ON DATABASE \"{}\" TO \"{name}\"",
            db.name
        ));
        Role {
            name,
            password,
            db_url: db.url.clone(),
        }
    }

    fn url(&self, db: &PgDb) -> String {
        format!(
            "postgres://{}:{}@{}/{}",
            self.name,
            self.password,
            host_port(&pg_admin_url()),
            db.name
        )
    }
}

fn host_port(url: &str) -> String {
    url.split_once('@')
        .and_then(|(_, h)| h.split_once('/'))
        .map(|(h, _)| h.to_string())
        .expect("host:port in the test URL")
}

/// A role with only CONNECT (PostgreSQL 15: no CREATE on `public`): `--check` fails naming
/// the GRANT and changes nothing; the real run fails with the same statement; after the
/// GRANT the check passes, the run goes through, and a second check names the tables that
/// would collide.
#[test]
fn check_names_the_missing_grant_and_touches_nothing_on_postgres() {
    let home = TempDir::new("conv_pg_home");
    let from = sqlite(&home, "app.db");
    let db = PgDb::new("conv_pgcheck");
    db.exec("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    let role = Role::new("conv_lim", &db);
    let to = role.url(&db);
    let before = pg_catalog(&db);

    let check = ferry_env(
        &["migrate", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    let fix = format!("fix: GRANT CREATE ON SCHEMA public TO {};", role.name);
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(check.stdout.contains(&fix), "{}", check.stdout);
    assert!(
        check.stdout.contains("-> users  ~2 rows"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("load: binary COPY"),
        "{}",
        check.stdout
    );
    assert!(!check.all().contains(&role.password), "password shown");
    // `--dry-run` is the same, and so is `ferry schema --check`.
    let dry = ferry_env(
        &["migrate", "--dry-run", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    assert_eq!(dry.code, 2, "{}", dry.all());
    assert!(dry.stdout.contains(&fix), "{}", dry.stdout);
    let schema = ferry_env(
        &["schema", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    assert_eq!(schema.code, 2, "{}", schema.all());
    assert!(schema.stdout.contains(&fix), "{}", schema.stdout);
    // Nothing was created, not even ferry's progress table.
    assert_eq!(
        pg_catalog(&db),
        before,
        "--check changed the target's catalog"
    );
    assert_eq!(db.text("to_regclass('_ferry_progress')::text"), None);

    // The run itself stops at its first CREATE with the same statement.
    let run = ferry_env(&["migrate", "--from", &from, "--to", &to], &[], &home);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&fix), "{}", run.stderr);
    assert!(
        run.stderr.contains("permission denied for schema public"),
        "{}",
        run.stderr
    );

    // After the GRANT: the check passes, still touching nothing, and the run goes through.
    db.exec(&format!(
        "GRANT CREATE ON SCHEMA public TO \"{}\"",
        role.name
    ));
    let before = pg_catalog(&db);
    let check = ferry_env(
        &["migrate", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(check.stdout.contains("check passed"), "{}", check.stdout);
    assert_eq!(
        pg_catalog(&db),
        before,
        "--check changed the target's catalog"
    );
    let run = ferry_env(&["migrate", "--from", &from, "--to", &to], &[], &home);
    assert_eq!(run.code, 0, "{}", run.all());

    // Now the names are taken: the check says the run would refuse and names them, and
    // that --if-exists drop would go ahead.
    let check = ferry_env(
        &["migrate", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(
        check.stdout.contains("the run would refuse"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("(exists in the target)"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("--if-exists drop"),
        "{}",
        check.stdout
    );
    let drop = ferry_env(
        &[
            "migrate",
            "--check",
            "--if-exists",
            "drop",
            "--from",
            &from,
            "--to",
            &to,
        ],
        &[],
        &home,
    );
    assert_eq!(drop.code, 0, "{}", drop.all());
    assert!(drop.stdout.contains("would drop"), "{}", drop.stdout);
    assert_eq!(
        db.text("(SELECT count(*) FROM users)::text").as_deref(),
        Some("2")
    );
}

/// `ferry verify --check` with a role that may not read the migrated tables names the
/// GRANT SELECT; the real verify fails with it too.
#[test]
fn verify_check_names_select_grants() {
    let home = TempDir::new("conv_vf_home");
    let from = sqlite(&home, "app.db");
    let db = PgDb::new("conv_vfcheck");
    let run = ferry_env(&["migrate", "--from", &from, "--to", &db.url], &[], &home);
    assert_eq!(run.code, 0, "{}", run.all());
    let role = Role::new("conv_noread", &db);
    let to = role.url(&db);
    let check = ferry_env(
        &["verify", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(
        check.stdout.contains(&format!(
            "fix: GRANT SELECT ON TABLE public.users TO {};",
            role.name
        )),
        "{}",
        check.stdout
    );
    let run = ferry_env(&["verify", "--from", &from, "--to", &to], &[], &home);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout.contains("GRANT SELECT, INSERT ON TABLE"),
        "{}",
        run.all()
    );
    db.exec(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{}\"",
        role.name
    ));
    let check = ferry_env(
        &["verify", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    assert_eq!(check.code, 0, "{}", check.all());
}

/// MariaDB: a user with SELECT only on the target database. `--check` lists the missing
/// privileges in one GRANT and creates nothing; the run fails naming the GRANT.
#[test]
fn check_names_the_missing_grants_on_mysql() {
    let home = TempDir::new("conv_my_home");
    let from = sqlite(&home, "app.db");
    let db = MyDb::new("conv_mycheck");
    let user = unique_name("cu").chars().take(30).collect::<String>();
    db.exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'my-pw-5512'; GRANT SELECT ON `{}`.* TO '{user}'@'%'",
        db.name
    ));
    let to = format!(
        "mysql://{user}:my-pw-5512@{}/{}",
        host_port(&db.url),
        db.name
    );
    let tables = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()";
    let check = ferry_env(
        &["migrate", "--check", "--from", &from, "--to", &to],
        &[],
        &home,
    );
    let run = ferry_env(&["migrate", "--from", &from, "--to", &to], &[], &home);
    let after_check_and_run = db.text(tables);
    db.exec(&format!("DROP USER '{user}'@'%'"));
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(
        check.stdout.contains(&format!(
            "fix: GRANT INSERT, UPDATE, CREATE, DROP, ALTER, INDEX, REFERENCES ON `{}`.* TO '{user}'@'%';",
            db.name
        )),
        "{}",
        check.stdout
    );
    assert!(!check.all().contains("my-pw-5512"), "password shown");
    assert_eq!(
        after_check_and_run.as_deref(),
        Some("0"),
        "tables were created"
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "fix: GRANT DROP ON `{}`.* TO '{user}'@'%';",
            db.name
        )),
        "{}",
        run.stderr
    );
}

/// `--check` with the target's password from a pgpass file and the rest from PG*:
/// `postgres:///DB` is completed from the environment, and the check connects for real.
/// A pgpass file others may read is ignored with libpq's warning.
#[cfg(unix)]
#[test]
fn pg_variables_and_pgpass_complete_a_url() {
    use std::os::unix::fs::PermissionsExt;
    let home = TempDir::new("conv_pgpass_home");
    let from = sqlite(&home, "app.db");
    let db = PgDb::new("conv_pgpass");
    let admin = ferry_core::ConnUrl::parse(&pg_admin_url()).expect("admin url");
    let (host, port) = (
        admin.host.clone().expect("host"),
        admin.port.expect("port").to_string(),
    );
    let user = admin.user.clone().expect("user");
    let password = admin.password().expect("password").expose().to_string();
    let pgpass = home.join("pgpass");
    // The first line is for another database; the wildcard line matches.
    std::fs::write(
        &pgpass,
        format!("{host}:{port}:other_db:{user}:wrong\n{host}:{port}:*:{user}:{password}\n"),
    )
    .expect("write pgpass");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let pgpass = pgpass.display().to_string();
    let to = format!("postgres:///{}", db.name);
    let env = [
        ("PGHOST", host.as_str()),
        ("PGPORT", port.as_str()),
        ("PGUSER", user.as_str()),
        ("PGPASSFILE", pgpass.as_str()),
    ];
    let check = ferry_env(
        &[
            "migrate",
            "--check",
            "--verbose",
            "--from",
            &from,
            "--to",
            &to,
        ],
        &env,
        &home,
    );
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(
        check
            .stderr
            .contains(&format!("--to: password from {pgpass} line 2")),
        "{}",
        check.stderr
    );
    assert!(
        check.stderr.contains("--to: host from PGHOST"),
        "{}",
        check.stderr
    );
    assert!(!check.all().contains(&password), "password shown");
    // Group-readable: ignored with a warning, so the connection has no password.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let check = ferry_env(
        &["migrate", "--check", "--from", &from, "--to", &to],
        &env,
        &home,
    );
    assert!(
        check.stderr.contains("has group or world access"),
        "{}",
        check.all()
    );
    assert_eq!(check.code, 2, "{}", check.all());
}

/// Precedence: the flag beats the config file, which beats the environment; for URLs and
/// for run settings (`jobs`). `DATABASE_URL` is the source and `FERRY_URL` the target
/// when nothing else names them; the same database on both sides is refused.
#[test]
fn flags_beat_the_config_file_which_beats_the_environment() {
    let home = TempDir::new("conv_prec_home");
    let flag_db = sqlite(&home, "flag.db");
    let file_db = sqlite(&home, "file.db");
    let env_db = sqlite(&home, "env.db");
    let url_db = sqlite(&home, "database_url.db");
    let db = PgDb::new("conv_prec");
    let config = home.join("ferry.toml");
    std::fs::write(
        &config,
        format!("from = \"{file_db}\"\njobs = 7\n[tables]\nexclude = [\"orders\"]\n"),
    )
    .expect("config");
    let config = config.display().to_string();
    let env = [
        ("FERRY_FROM", env_db.as_str()),
        ("DATABASE_URL", url_db.as_str()),
        ("FERRY_URL", db.url.as_str()),
    ];
    let check = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["migrate", "--check", "--verbose"];
        all.extend_from_slice(args);
        let run = ferry_env(&all, env, &home);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        run
    };
    // Flag over file over env.
    let run = check(
        &["--config", &config, "--from", &flag_db, "--jobs", "2"],
        &env,
    );
    assert!(
        run.stdout.contains(&format!("{flag_db} ->")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("jobs 2"), "{}", run.stdout);
    assert!(
        run.stderr.contains("(from the --from flag)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(from FERRY_URL)"), "{}", run.stderr);
    // The file's [tables] applies with its run settings.
    assert!(!run.stdout.contains("-> orders"), "{}", run.stdout);
    let run = check(&["--config", &config], &env);
    assert!(
        run.stdout.contains(&format!("{file_db} ->")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("jobs 7"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("(from `from` in config `{config}`)")),
        "{}",
        run.stderr
    );
    // Without the file: FERRY_FROM, then DATABASE_URL; the default jobs.
    let run = check(&[], &env);
    assert!(
        run.stdout.contains(&format!("{env_db} ->")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("jobs 4"), "{}", run.stdout);
    let run = check(&[], &env[1..]);
    assert!(
        run.stdout.contains(&format!("{url_db} ->")),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("(from DATABASE_URL)"), "{}", run.stderr);
    let admin = ferry_core::ConnUrl::parse(&db.url).expect("url");
    let password = admin.password().expect("password").expose();
    assert!(
        !run.all().contains(password),
        "password shown: {}",
        run.all()
    );
    // Nothing names a target: the error says where one may come from.
    let run = ferry_env(&["migrate", "--check", "--from", &flag_db], &[], &home);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("FERRY_TO or FERRY_URL"),
        "{}",
        run.stderr
    );
    // The same database on both sides of a run that writes is refused.
    let run = ferry_env(
        &["migrate", "--check"],
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("FERRY_URL", db.url.as_str()),
        ],
        &home,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("are the same database"),
        "{}",
        run.stderr
    );
}

/// An unknown key in the config file is an error naming it (and the nearest known one);
/// a value that is not one of a flag's choices names the key and the choices.
#[test]
fn a_bad_config_key_is_named() {
    let home = TempDir::new("conv_badkey");
    let from = sqlite(&home, "app.db");
    let config = home.join("ferry.toml");
    std::fs::write(&config, "jbos = 3\n").expect("config");
    let config_s = config.display().to_string();
    let run = ferry_env(
        &[
            "migrate",
            "--config",
            &config_s,
            "--from",
            &from,
            "--to",
            "postgres://u@127.0.0.1:1/x",
        ],
        &[],
        &home,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("unknown key `jbos`; did you mean `jobs`?"),
        "{}",
        run.stderr
    );
    std::fs::write(&config, "mysql-load = \"fast\"\n").expect("config");
    let run = ferry_env(
        &[
            "migrate",
            "--config",
            &config_s,
            "--from",
            &from,
            "--to",
            "postgres://u@127.0.0.1:1/x",
        ],
        &[],
        &home,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("mysql-load = \"fast\": expected one of auto, infile, insert"),
        "{}",
        run.stderr
    );
}

/// Replication from a PostgreSQL source whose login lacks the REPLICATION attribute: the
/// check and the run both name `ALTER ROLE ... WITH REPLICATION;`, and nothing is made in
/// the target.
#[test]
fn replication_names_the_missing_role_attribute() {
    let home = TempDir::new("conv_rep_home");
    let src = PgDb::new("conv_repsrc");
    let dst = PgDb::new("conv_repdst");
    src.exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')");
    let role = Role::new("conv_norep", &src);
    src.exec(&format!("GRANT SELECT ON t TO \"{}\"", role.name));
    let from = role.url(&src);
    let fix = format!("fix: ALTER ROLE {} WITH REPLICATION;", role.name);
    let before = pg_catalog(&dst);
    let check = ferry_env(
        &[
            "migrate",
            "--check",
            "--replicate",
            "--from",
            &from,
            "--to",
            &dst.url,
        ],
        &[],
        &home,
    );
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(check.stdout.contains(&fix), "{}", check.stdout);
    let run = ferry_env(
        &["migrate", "--replicate", "--from", &from, "--to", &dst.url],
        &[],
        &home,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&fix), "{}", run.stderr);
    assert_eq!(
        pg_catalog(&dst),
        before,
        "the refused run changed the target"
    );
}

/// A run that stopped at a bad row leaves its record in the target: `--check` says the
/// run would refuse and that `--resume` continues it; `--check --resume` says it would
/// resume and passes; neither changes the record.
#[test]
fn check_says_whether_a_run_would_resume() {
    let home = TempDir::new("conv_resume_home");
    let path = home.join("bad.db");
    rusqlite::Connection::open(&path)
        .expect("sqlite")
        .execute_batch(
            "CREATE TABLE good (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO good VALUES (1, 'a');
             CREATE TABLE bad (id INTEGER PRIMARY KEY, n INTEGER);
             INSERT INTO bad VALUES (1, 'not a number');",
        )
        .expect("schema");
    let from = format!("sqlite:{}", path.display());
    let db = PgDb::new("conv_resume");
    let run = ferry_env(&["migrate", "--from", &from, "--to", &db.url], &[], &home);
    assert_eq!(run.code, 2, "{}", run.all());
    let recorded = || db.text("(SELECT count(*) FROM _ferry_progress)::text");
    let before = (pg_catalog(&db), recorded());
    assert!(before.1.is_some(), "the stopped run left no record");
    let check = ferry_env(
        &["migrate", "--check", "--from", &from, "--to", &db.url],
        &[],
        &home,
    );
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(
        check.stdout.contains("the run would refuse"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("add --resume to continue it"),
        "{}",
        check.stdout
    );
    let resume = ferry_env(
        &[
            "migrate", "--check", "--resume", "--from", &from, "--to", &db.url,
        ],
        &[],
        &home,
    );
    assert_eq!(resume.code, 0, "{}", resume.all());
    assert!(
        resume.stdout.contains("--resume would continue it"),
        "{}",
        resume.stdout
    );
    assert_eq!(
        (pg_catalog(&db), recorded()),
        before,
        "--check changed the target"
    );
}

/// A config file holding a password that others may read gets a warning; neither the
/// warning nor `--verbose` shows the password.
#[cfg(unix)]
#[test]
fn a_readable_config_with_a_password_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let home = TempDir::new("conv_cfgpw");
    let from = sqlite(&home, "app.db");
    let db = PgDb::new("conv_cfgpw");
    let config = home.join("ferry.toml");
    std::fs::write(&config, format!("from = \"{from}\"\nto = \"{}\"\n", db.url)).expect("config");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = config.display().to_string();
    let password = ferry_core::ConnUrl::parse(&db.url)
        .expect("url")
        .password()
        .expect("password")
        .expose()
        .to_string();
    let run = ferry_env(
        &["migrate", "--check", "--verbose", "--config", &config],
        &[],
        &home,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains("holds a password in `to` and others may read"),
        "{}",
        run.stderr
    );
    assert!(
        !run.all().contains(&password),
        "password shown: {}",
        run.all()
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let run = ferry_env(&["migrate", "--check", "--config", &config], &[], &home);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("others may read"), "{}", run.stderr);
}
