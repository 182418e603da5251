//! Saying what is not copied, and refusing what is not a database (issue 11, part 8): views,
//! triggers and routines of SQLite and MySQL sources are named in the warnings; a file that
//! is not SQLite is an error; FTS and R*Tree tables can be excluded; a table that cannot be
//! read fails `ferry verify` (exit 2) with the cause; a missing grant is named.

use ferry_tests::{block_on, ferry, pg_admin_url, pg_connect, unique_name, MyDb, PgDb, TempDir};

fn sqlite(dir: &TempDir, sql: &str) -> String {
    let path = dir.join("src.db");
    rusqlite::Connection::open(&path)
        .expect("sqlite")
        .execute_batch(sql)
        .expect("schema");
    format!("sqlite:{}", path.display())
}

#[test]
fn sqlite_views_and_triggers_are_named_in_the_warnings() {
    let dir = TempDir::new("ferry_nc_sqlite");
    let from = sqlite(
        &dir,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);
         CREATE VIEW recent AS SELECT * FROM t;
         CREATE TRIGGER stamp AFTER INSERT ON t BEGIN SELECT 1; END;",
    );
    let run = ferry(&["schema", "--from", &from, "--to-dialect", "postgres"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        !run.stderr.contains("everything translates exactly"),
        "{}",
        run.stderr
    );
    for want in [
        "view \"recent\" is not copied",
        "trigger \"stamp\" on \"t\" is not copied",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    let db = PgDb::new("ferry_nc_sqlite");
    let report = dir.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        &report.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v = ferry_tests::read_report(&report);
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("view \\\"recent\\\" is not copied"),
        "{warnings}"
    );
}

#[test]
fn mysql_views_triggers_and_routines_are_named_in_the_warnings() {
    let db = MyDb::new("ferry_nc_mysql");
    db.exec(
        "CREATE TABLE orders (id INT PRIMARY KEY, total INT);
         CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
         CREATE TRIGGER orders_check BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = NEW.total;
         CREATE PROCEDURE archive() SELECT 1;
         CREATE FUNCTION answer() RETURNS INT DETERMINISTIC RETURN 42;
         CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO SELECT 1;",
    );
    let run = ferry(&["schema", "--from", &db.url, "--to-dialect", "postgres"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for want in [
        "view `big_orders` is not copied",
        "trigger `orders_check` on `orders` is not copied",
        "procedure `archive` is not copied",
        "function `answer` is not copied",
        "event `nightly` is not copied",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    assert!(
        !run.stdout.contains("big_orders"),
        "the view is not a table: {}",
        run.stdout
    );
}

#[test]
fn files_that_are_not_sqlite_are_refused() {
    let dir = TempDir::new("ferry_notsqlite");
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").expect("empty");
    let text = dir.join("notes.db");
    std::fs::write(&text, b"id,name\n1,Ada\n").expect("text");
    let missing = dir.join("missing.db");
    let db = PgDb::new("ferry_notsqlite");
    for (path, want) in [
        (&empty, "is empty (0 bytes), not an SQLite database"),
        (&text, "is not an SQLite database"),
        (&missing, "does not exist"),
    ] {
        let from = format!("sqlite:{}", path.display());
        for args in [
            vec!["migrate", "--from", &from, "--to", &db.url],
            vec!["schema", "--from", &from, "--to-dialect", "postgres"],
            vec!["verify", "--from", &from, "--to", &db.url],
        ] {
            let run = ferry(&args);
            assert_eq!(run.code, 2, "{args:?}: {}", run.all());
            assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        }
    }
    assert!(!missing.exists(), "no file was created");
    assert_eq!(std::fs::metadata(&empty).expect("meta").len(), 0);
}

#[test]
fn fts_and_rtree_tables_can_be_excluded() {
    let dir = TempDir::new("ferry_fts");
    let from = sqlite(
        &dir,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO notes VALUES (1, 'hello'), (2, 'world');
         CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');
         CREATE VIRTUAL TABLE old_search USING fts4(body);
         CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx);
         INSERT INTO boxes VALUES (1, 0, 1);",
    );
    let db = PgDb::new("ferry_fts");
    let run = ferry(&["migrate", "--from", &from, "--to", &db.url]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("virtual table") && run.stderr.contains("exclude it in the config"),
        "{}",
        run.stderr
    );
    let config = dir.join("ferry.toml");
    std::fs::write(
        &config,
        "[tables]\nexclude = [\"notes_fts\", \"old_search\", \"boxes\"]\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let run = ferry(&[
        "migrate", "--from", &from, "--to", &db.url, "--config", &config,
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(db.text("SELECT count(*) FROM notes").as_deref(), Some("2"));
    let tables = db
        .text("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
        .unwrap_or_default();
    assert_eq!(tables, "notes", "no virtual or shadow table copied");
    // Naming a shadow table alone does not make it copyable.
    let one = dir.join("one.toml");
    std::fs::write(&one, "[tables]\ninclude = [\"boxes_node\"]\n").expect("config");
    let run = ferry(&[
        "schema",
        "--from",
        &from,
        "--to-dialect",
        "postgres",
        "--config",
        &one.display().to_string(),
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("shadow table of virtual table `boxes`"),
        "{}",
        run.stderr
    );
}

/// A PostgreSQL login role made for one test, dropped after its databases.
struct Role {
    name: String,
    password: String,
}

impl Role {
    fn new(prefix: &str) -> Role {
        let name = unique_name(prefix).to_lowercase();
        let password = "role-pw-4711".to_string();
        admin(&format!(
            "CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"
        ));
        Role { name, password }
    }

    fn url(&self, db: &PgDb) -> String {
        let admin = pg_admin_url();
        let host = admin
            .split_once('@')
            .map(|(_, h)| h)
            .and_then(|h| h.split_once('/'))
            .map(|(h, _)| h)
            .expect("host in FERRY_TEST_PG");
        format!(
            "postgres://{}:{}@{host}/{}",
            self.name, self.password, db.name
        )
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let name = self.name.clone();
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

fn admin(sql: &str) {
    block_on(async {
        pg_connect(&pg_admin_url())
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

#[test]
fn an_unreadable_table_fails_verify_with_its_cause() {
    let role = Role::new("ferry_noread");
    let dir = TempDir::new("ferry_noread");
    let from = sqlite(
        &dir,
        "CREATE TABLE secrets (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO secrets VALUES (1, 'x');",
    );
    let db = PgDb::new("ferry_noread");
    let run = ferry(&["migrate", "--from", &from, "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    db.exec(&format!(
        "REVOKE ALL ON secrets FROM PUBLIC; GRANT CONNECT ON DATABASE \"{}\" TO \"{}\"",
        db.name, role.name
    ));
    for content in [false, true] {
        let to = role.url(&db);
        let mut args = vec!["verify", "--from", &from, "--to", &to];
        if content {
            args.push("--content");
        }
        let run = ferry(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stdout.contains("permission denied for table secrets"),
            "{}",
            run.all()
        );
        assert!(run.stdout.contains("GRANT SELECT"), "{}", run.stdout);
        assert!(!run.stdout.contains("differs"), "{}", run.stdout);
        assert!(!run.all().contains(&role.password), "password shown");
    }
    // A table the target lacks is a difference (exit 1), not a failure to read.
    let empty = PgDb::new("ferry_noread_empty");
    let run = ferry(&["verify", "--from", &from, "--to", &empty.url]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("1 of 1 tables differ"),
        "{}",
        run.stdout
    );
    drop(db);
}

#[test]
fn a_missing_create_grant_is_named() {
    let role = Role::new("ferry_nocreate");
    let dir = TempDir::new("ferry_nocreate");
    let from = sqlite(&dir, "CREATE TABLE t (id INTEGER PRIMARY KEY);");
    let db = PgDb::new("ferry_nocreate");
    // PostgreSQL 15 and later: only the database owner may create in `public`.
    db.exec("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    let run = ferry(&["migrate", "--from", &from, "--to", &role.url(&db)]);
    assert_eq!(run.code, 2, "{}", run.all());
    // The statement names the role that connected, ready to run.
    assert!(
        run.stderr.contains(&format!(
            "fix: GRANT CREATE ON SCHEMA public TO {};",
            role.name
        )),
        "{}",
        run.stderr
    );
    drop(db);
}

#[test]
fn a_missing_mysql_grant_is_named() {
    let db = MyDb::new("ferry_mynocreate");
    let user = unique_name("fu").chars().take(30).collect::<String>();
    db.exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'my-pw-4711'; GRANT SELECT, INSERT, DELETE, DROP ON `{}`.* TO '{user}'@'%'",
        db.name
    ));
    let dir = TempDir::new("ferry_mynocreate");
    let from = sqlite(&dir, "CREATE TABLE t (id INTEGER PRIMARY KEY);");
    let host = db
        .url
        .split_once('@')
        .and_then(|(_, h)| h.split_once('/'))
        .map(|(h, _)| h.to_string())
        .expect("host");
    let to = format!("mysql://{user}:my-pw-4711@{host}/{}", db.name);
    let run = ferry(&["migrate", "--from", &from, "--to", &to]);
    db.exec(&format!("DROP USER '{user}'@'%'"));
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "fix: GRANT CREATE ON `{}`.* TO '{user}'@",
            db.name
        )),
        "{}",
        run.stderr
    );
}
