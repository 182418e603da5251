//! PostgreSQL as a source, end to end through the `ferry` binary against a real PostgreSQL:
//! Chinook, a Flask-style uuid-ossp schema, every type, a table larger than one batch, and
//! a target role that is not a superuser.

use ferry_tests::{
    block_on, ferry, pg_admin_url, pg_connect, read_report, repo_root, unique_name, MyDb, PgDb,
    TempDir,
};

/// The Chinook PostgreSQL script without the lines that create and switch databases.
fn chinook_sql() -> String {
    let path = repo_root().join("fixtures/chinook/Chinook_PostgreSql.sql");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| {
            !(l.starts_with("DROP DATABASE")
                || l.starts_with("CREATE DATABASE")
                || l.starts_with("\\c"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn every_type_sql() -> String {
    let path = repo_root().join("fixtures/postgres/every_type.sql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn migrate(from: &str, to: &str, extra: &[&str]) -> serde_json::Value {
    let tmp = TempDir::new("pgsrc");
    let json = tmp.join("report.json");
    let mut args = vec![
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--json",
        json.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    report
}

fn table_report<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("{name} not in report"))
}

#[test]
fn chinook_postgres_to_postgres() {
    let src = PgDb::new("ferry_pgsrc_chinook_src");
    let dst = PgDb::new("ferry_pgsrc_chinook_dst");
    src.exec(&chinook_sql());
    let report = migrate(&src.url, &dst.url, &[]);
    let counts = [
        ("album", 347),
        ("artist", 275),
        ("customer", 59),
        ("employee", 8),
        ("genre", 25),
        ("invoice", 412),
        ("invoice_line", 2240),
        ("media_type", 5),
        ("playlist", 18),
        ("playlist_track", 8715),
        ("track", 3503),
    ];
    assert_eq!(
        report["tables"].as_array().expect("tables").len(),
        counts.len()
    );
    for (name, n) in counts {
        let t = table_report(&report, &format!("public.{name}"));
        assert_eq!(t["rows_written"], n, "{name}");
        assert_eq!(t["verification"]["counts"], "ok", "{name}");
        assert_eq!(
            dst.text(&format!("SELECT count(*) FROM {name}")).as_deref(),
            Some(n.to_string().as_str())
        );
    }
    assert_eq!(report["totals"]["rows_written"], 15607);
    assert_eq!(
        dst.text("SELECT total FROM invoice WHERE invoice_id = 1")
            .as_deref(),
        Some("1.98")
    );
    assert_eq!(
        dst.text("SELECT sum(total) FROM invoice").as_deref(),
        Some("2328.60")
    );
    assert_eq!(
        dst.text("SELECT invoice_date FROM invoice WHERE invoice_id = 1")
            .as_deref(),
        src.text("SELECT invoice_date FROM invoice WHERE invoice_id = 1")
            .as_deref()
    );
    assert_eq!(
        dst.text("SELECT first_name || ' ' || last_name FROM customer WHERE customer_id = 1")
            .as_deref(),
        Some("Luís Gonçalves")
    );
    // Types exactly as in the source, keys, indexes and foreign keys recreated.
    let types = "SELECT string_agg(table_name || '.' || column_name || ':' || format_type(atttypid, atttypmod), ',' ORDER BY table_name, column_name) \
                 FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_name))::regclass AND a.attname = c.column_name \
                 WHERE c.table_schema = 'public'";
    assert_eq!(dst.text(types), src.text(types));
    let fks = "SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype = 'f' AND convalidated";
    assert_eq!(dst.text(fks).as_deref(), Some("11"));
    let idx = "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'";
    assert_eq!(dst.text(idx), src.text(idx));
    // Whole-table content matches.
    for (name, _) in counts {
        let q = format!("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {name} t");
        assert_eq!(dst.text(&q), src.text(&q), "{name}");
    }
}

#[test]
fn flask_app_with_uuid_ossp_keeps_working_on_the_target() {
    let src = PgDb::new("ferry_pgsrc_flask_src");
    let dst = PgDb::new("ferry_pgsrc_flask_dst");
    src.exec(&ferry_tests::fixture("postgres/flask_app.sql"));

    let schema = ferry(&["schema", "--from", &src.url, "--to-dialect", "postgres"]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    assert!(
        schema
            .stdout
            .contains("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\""),
        "{}",
        schema.stdout
    );
    assert!(
        schema.stdout.contains("DEFAULT uuid_generate_v4()"),
        "{}",
        schema.stdout
    );

    let report = migrate(&src.url, &dst.url, &[]);
    assert_eq!(table_report(&report, "public.users")["rows_written"], 3);
    assert_eq!(table_report(&report, "public.posts")["rows_written"], 4);
    assert_eq!(
        dst.text("SELECT count(*) FROM pg_extension WHERE extname = 'uuid-ossp'")
            .as_deref(),
        Some("1")
    );
    // The join between the two tables gives the same answer, uuids and all.
    let join = "SELECT string_agg(u.id || ' ' || u.email || ' ' || p.id || ' ' || p.title || ' ' || p.created_at, '|' ORDER BY p.id) \
                FROM posts p JOIN users u ON u.id = p.user_id";
    let joined = dst.text(join);
    assert!(
        joined
            .as_deref()
            .is_some_and(|j| j.contains("zoë@example.com")),
        "{joined:?}"
    );
    assert_eq!(joined, src.text(join));
    // New rows on the target still get generated uuids, timestamps and counters.
    dst.exec("INSERT INTO users (email) VALUES ('new@example.com')");
    assert_eq!(
        dst.text("SELECT (id IS NOT NULL AND created_at IS NOT NULL AND login_count = 0) FROM users WHERE email = 'new@example.com'")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        dst.text("SELECT count(DISTINCT id) FROM users").as_deref(),
        Some("4")
    );
    // The foreign key is enforced and cascades.
    dst.exec("DELETE FROM users WHERE email = 'ann@example.com'");
    assert_eq!(dst.text("SELECT count(*) FROM posts").as_deref(), Some("2"));
}

/// A login role that is not a superuser (as the RDS master user), dropped at the end. Declare
/// it before the databases it owns so it is dropped after them.
struct Role {
    name: String,
}

impl Role {
    fn new() -> Role {
        let name = unique_name("ferry_app");
        let sql = format!(
            "CREATE ROLE {name} LOGIN PASSWORD 'app-secret' NOSUPERUSER NOCREATEDB NOCREATEROLE"
        );
        block_on(async {
            pg_connect(&pg_admin_url())
                .await
                .batch_execute(&sql)
                .await
                .expect("create role")
        });
        Role { name }
    }

    /// A database owned by this role, and the URL to reach it as this role.
    fn database(&self, prefix: &str) -> PgDb {
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE \"{name}\" OWNER {}", self.name);
        let admin = pg_admin_url();
        block_on(async {
            pg_connect(&admin)
                .await
                .batch_execute(&sql)
                .await
                .expect("create database")
        });
        let (scheme_and_auth, rest) = admin.split_once('@').expect("admin url has user@host");
        let scheme = scheme_and_auth
            .split_once("://")
            .map_or("postgres", |(s, _)| s);
        let host = rest.split_once('/').map_or(rest, |(h, _)| h);
        PgDb {
            url: format!("{scheme}://{}:app-secret@{host}/{name}", self.name),
            name,
        }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let sql = format!("DROP ROLE IF EXISTS {}", self.name);
        let admin = pg_admin_url();
        let _ = std::thread::spawn(move || {
            block_on(async { pg_connect(&admin).await.batch_execute(&sql).await })
        })
        .join();
    }
}

#[test]
fn every_type_and_a_large_table_to_a_non_superuser_target() {
    let role = Role::new();
    let src = PgDb::new("ferry_pgsrc_types_src");
    let dst = role.database("ferry_pgsrc_types_dst");
    src.exec(&every_type_sql());
    src.exec(
        "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL, body jsonb);
         INSERT INTO events (at, body) SELECT timestamptz '2024-01-01 00:00Z' + g * interval '1 minute', jsonb_build_object('n', g)
         FROM generate_series(1, 30000) g;",
    );
    assert_eq!(
        dst.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .as_deref(),
        Some("false")
    );

    let report = migrate(&src.url, &dst.url, &["--batch-rows", "5000", "--jobs", "2"]);
    assert_eq!(
        table_report(&report, "public.events")["rows_written"],
        30000
    );
    assert_eq!(
        table_report(&report, "public.every_type")["rows_written"],
        3
    );
    assert_eq!(
        table_report(&report, "inventory.warehouse")["rows_written"],
        2
    );
    assert!(
        !report.to_string().contains("app-secret"),
        "password in the report"
    );

    for q in [
        "SELECT string_agg(x::text, '|' ORDER BY id) FROM every_type x",
        "SELECT string_agg(x::text, '|' ORDER BY id) FROM inventory.warehouse x",
        "SELECT md5(string_agg(x::text, '|' ORDER BY id)) FROM events x",
        "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'",
        "SELECT string_agg(t.typname || ':' || t.typtype::text, ',' ORDER BY t.typname) FROM pg_type t \
         WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')",
        "SELECT string_agg(indexdef, '|' ORDER BY indexname) FROM pg_indexes WHERE schemaname IN ('public', 'inventory')",
        "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), '|' ORDER BY conname) FROM pg_constraint \
         WHERE connamespace IN ('public'::regnamespace, 'inventory'::regnamespace) AND contype IN ('c', 'f', 'p')",
    ] {
        assert_eq!(dst.text(q), src.text(q), "{q}");
    }
    // Identity and serial counters continue after the loaded maximum; generated columns compute.
    dst.exec("INSERT INTO events (at) VALUES (now())");
    assert_eq!(
        dst.text("SELECT max(id) FROM events").as_deref(),
        Some("30001")
    );
    dst.exec("INSERT INTO every_type (int_col) VALUES (21)");
    assert_eq!(
        dst.text("SELECT id || ':' || doubled || ':' || m FROM every_type WHERE int_col = 21")
            .as_deref(),
        Some("4:42:ok")
    );
    dst.exec("INSERT INTO inventory.warehouse (name) VALUES ('east')");
    assert_eq!(
        dst.text("SELECT id FROM inventory.warehouse WHERE name = 'east'")
            .as_deref(),
        Some("3")
    );
    drop(dst);
    drop(src);
    drop(role);
}

#[test]
fn schema_option_chooses_the_source_schemas() {
    let src = PgDb::new("ferry_pgsrc_schemas_src");
    let dst = PgDb::new("ferry_pgsrc_schemas_dst");
    src.exec(
        "CREATE TABLE public.skipped (id int PRIMARY KEY);
         INSERT INTO public.skipped VALUES (1);
         CREATE SCHEMA app;
         CREATE TABLE app.orders (id int PRIMARY KEY, note text);
         INSERT INTO app.orders VALUES (1, 'a'), (2, 'b');
         CREATE SCHEMA audit;
         CREATE TABLE audit.log (id int PRIMARY KEY, orders_id int);
         INSERT INTO audit.log VALUES (1, 1);",
    );

    let schema = ferry(&[
        "schema",
        "--from",
        &src.url,
        "--to-dialect",
        "postgres",
        "--schema",
        "app,audit",
    ]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    assert!(
        schema.stdout.contains("CREATE TABLE app.orders"),
        "{}",
        schema.stdout
    );
    assert!(
        schema.stdout.contains("CREATE TABLE audit.log"),
        "{}",
        schema.stdout
    );
    assert!(!schema.stdout.contains("skipped"), "{}", schema.stdout);

    let report = migrate(&src.url, &dst.url, &["--schema", "app"]);
    let tables: Vec<&str> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["table"].as_str().expect("name"))
        .collect();
    assert_eq!(tables, vec!["app.orders"]);
    assert_eq!(
        dst.text("SELECT string_agg(note, ',' ORDER BY id) FROM app.orders")
            .as_deref(),
        Some("a,b")
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM pg_tables WHERE tablename IN ('skipped', 'log')")
            .as_deref(),
        Some("0")
    );

    // Verify compares only the chosen schema: without --schema, the tables the target lacks
    // make it fail.
    let verify = ferry(&[
        "verify", "--from", &src.url, "--to", &dst.url, "--schema", "app",
    ]);
    assert_eq!(verify.code, 0, "{}", verify.all());
    let everything = ferry(&["verify", "--from", &src.url, "--to", &dst.url]);
    assert_ne!(everything.code, 0, "{}", everything.all());

    // The flag is the URL's ?schema= parameter, and replaces it.
    let with_param = format!("{}?schema=public", src.url);
    let schema = ferry(&[
        "schema",
        "--from",
        &with_param,
        "--to-dialect",
        "postgres",
        "--schema",
        "audit",
    ]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    assert!(
        schema.stdout.contains("CREATE TABLE audit.log"),
        "{}",
        schema.stdout
    );
    assert!(!schema.stdout.contains("skipped"), "{}", schema.stdout);

    // An unknown schema is an error naming it, before anything is written.
    let fresh = PgDb::new("ferry_pgsrc_schemas_none");
    for cmd in [
        vec![
            "migrate", "--from", &src.url, "--to", &fresh.url, "--schema", "app,nope",
        ],
        vec![
            "verify", "--from", &src.url, "--to", &fresh.url, "--schema", "nope",
        ],
        vec![
            "schema",
            "--from",
            &src.url,
            "--to-dialect",
            "mysql",
            "--schema",
            "nope",
        ],
    ] {
        let run = ferry(&cmd);
        assert_eq!(run.code, 2, "{cmd:?}: {}", run.all());
        assert!(
            run.stderr.contains("no schema `nope`") && run.stderr.contains("app, audit, public"),
            "{cmd:?}: {}",
            run.all()
        );
    }
    assert_eq!(
        fresh
            .text("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn arrays_of_enums_and_domains_postgres_to_postgres() {
    let src = PgDb::new("ferry_pgsrc_udtarr_src");
    let dst = PgDb::new("ferry_pgsrc_udtarr_dst");
    src.exec(&ferry_tests::fixture("postgres/udt_arrays.sql"));
    let report = migrate(&src.url, &dst.url, &["--verify", "content"]);
    let t = table_report(&report, "app.feelings");
    assert_eq!(t["rows_written"], 4);
    assert_eq!(t["verification"]["content"], "ok", "{report}");
    for q in [
        "SELECT string_agg(x::text, '|' ORDER BY id) FROM app.feelings x",
        "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum) \
         FROM pg_attribute WHERE attrelid = 'app.feelings'::regclass AND attnum > 0",
        "SELECT moods[3]::text || cardinality(counts) || sizes[1] FROM app.feelings WHERE id = 1",
    ] {
        assert_eq!(dst.text(q), src.text(q), "{q}");
    }
    assert_eq!(
        dst.text(
            "SELECT string_agg(coalesce(moods::text, 'null'), '|' ORDER BY id) FROM app.feelings"
        )
        .as_deref(),
        Some("{sad,NULL,happy}|{}|null|{ok}")
    );
    // The domains still hold on the target.
    let bad = dst.with(async |c| {
        c.batch_execute("INSERT INTO app.feelings (id, sizes) VALUES (9, '{0}')")
            .await
            .map_err(|e| e.to_string())
    });
    assert!(bad.is_err(), "the domain's CHECK was not recreated");
}

/// Composite types, one holding an enum, a domain, an array and another composite, and a
/// column that is an array of them: created on the target before the tables, every value
/// copied, and content verification comparing them (their binary form names attribute type
/// OIDs, which differ between the databases) and naming a changed one.
#[test]
fn composite_types_postgres_to_postgres() {
    let src = PgDb::new("ferry_pgsrc_composite_src");
    let dst = PgDb::new("ferry_pgsrc_composite_dst");
    src.exec(
        "CREATE SCHEMA geo;
         CREATE TYPE mood AS ENUM ('sad', 'happy');
         CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
         CREATE TYPE geo.address AS (street text, zip varchar(10));
         CREATE TYPE \"Rich\" AS (m mood, tags text[], at geo.address, n posint);
         CREATE TABLE people (id int PRIMARY KEY, home geo.address, r \"Rich\", history \"Rich\"[]);
         INSERT INTO people VALUES
           (1, ROW('Main St', '12345'), ROW('happy', '{a,\"b c\"}', ROW('x', NULL), 3),
            ARRAY[ROW('sad', NULL, NULL, NULL)::\"Rich\", NULL]),
           (2, NULL, NULL, NULL)",
    );
    let report = migrate(&src.url, &dst.url, &["--verify", "content"]);
    assert_eq!(
        table_report(&report, "public.people")["verification"]["content"],
        "ok",
        "{report}"
    );
    let q = "SELECT string_agg(p::text, '|' ORDER BY id) FROM people p";
    assert_eq!(dst.text(q), src.text(q));
    assert_eq!(
        dst.text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'history'")
            .as_deref(),
        Some("\"Rich\"[]")
    );
    dst.exec("UPDATE people SET r = ROW('sad', '{a,\"b c\"}', ROW('x', NULL), 3) WHERE id = 1");
    let verify = ferry(&["verify", "--content", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(verify.code, 1, "{}", verify.all());
    assert!(
        verify.all().contains("id=1: differs in r"),
        "{}",
        verify.all()
    );
}

/// Deferrable foreign keys (every key Django makes on PostgreSQL) stay deferrable, each as
/// the source declares it, so an app that inserts a child before its parent inside a
/// transaction keeps working on the target.
#[test]
fn deferrable_foreign_keys_stay_deferrable() {
    let src = PgDb::new("ferry_pgsrc_deferrable_src");
    let dst = PgDb::new("ferry_pgsrc_deferrable_dst");
    src.exec(
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE child (id int PRIMARY KEY,
           late int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED,
           maybe int REFERENCES parent (id) DEFERRABLE,
           now int REFERENCES parent (id));
         INSERT INTO parent VALUES (1);
         INSERT INTO child VALUES (1, 1, 1, 1);",
    );
    let report = migrate(&src.url, &dst.url, &["--verify", "content"]);
    assert!(
        !report.to_string().contains("DEFERRABLE in the source"),
        "{report}"
    );
    let q =
        "SELECT string_agg(conname || ':' || condeferrable || condeferred, ',' ORDER BY conname) \
             FROM pg_constraint WHERE contype = 'f'";
    assert_eq!(
        dst.text(q).as_deref(),
        Some("child_late_fkey:truetrue,child_maybe_fkey:truefalse,child_now_fkey:falsefalse")
    );
    assert_eq!(dst.text(q), src.text(q));
    dst.exec(
        "BEGIN; INSERT INTO child (id, late) VALUES (2, 2); INSERT INTO parent VALUES (2); COMMIT",
    );
}

/// A UNIQUE constraint stays a constraint (not only a unique index), so an app's `INSERT ...
/// ON CONFLICT ON CONSTRAINT name` keeps working on the target; a bare unique index stays
/// an index.
#[test]
fn unique_constraints_stay_constraints() {
    let src = PgDb::new("ferry_pgsrc_unique_src");
    let dst = PgDb::new("ferry_pgsrc_unique_dst");
    src.exec(
        "CREATE TABLE users (id int PRIMARY KEY, email text CONSTRAINT users_email_key UNIQUE, nick text);
         CREATE UNIQUE INDEX users_nick_idx ON users (nick);
         INSERT INTO users VALUES (1, 'a@x.io', 'a');",
    );
    migrate(&src.url, &dst.url, &["--verify", "content"]);
    let q =
        "SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) FROM pg_constraint \
             WHERE conrelid = 'users'::regclass";
    assert_eq!(
        dst.text(q).as_deref(),
        Some("users_email_key:u,users_pkey:p")
    );
    assert_eq!(dst.text(q), src.text(q));
    dst.exec(
        "INSERT INTO users VALUES (2, 'a@x.io', 'b') ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING",
    );
    assert_eq!(dst.text("SELECT count(*) FROM users").as_deref(), Some("1"));
}

#[test]
fn index_details_and_collations_are_kept_exactly() {
    let src = PgDb::new("ferry_pgsrc_idx_src");
    let dst = PgDb::new("ferry_pgsrc_idx_dst");
    src.exec(&ferry_tests::fixture("postgres/index_details.sql"));
    let schema = ferry(&["schema", "--from", &src.url, "--to-dialect", "postgres"]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    assert!(
        schema.stderr.contains("no warnings"),
        "PG->PG loses nothing: {}",
        schema.all()
    );
    let report = migrate(&src.url, &dst.url, &["--verify", "content"]);
    assert_eq!(
        table_report(&report, "public.docs")["verification"]["content"],
        "ok"
    );
    let indexes = "SELECT string_agg(indexdef, '|' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'docs'";
    let got = dst.text(indexes);
    assert_eq!(got, src.text(indexes));
    for needle in [
        "(title text_pattern_ops)",
        "USING gin (body jsonb_path_ops)",
        "(slug COLLATE \"C\" varchar_pattern_ops DESC NULLS LAST)",
        "(slug) INCLUDE (score, created)",
        "(score NULLS FIRST, created DESC)",
        "(lower((slug)::text) COLLATE \"C\")",
    ] {
        assert!(
            got.as_deref().is_some_and(|g| g.contains(needle)),
            "{needle} missing: {got:?}"
        );
    }
    let collations = "SELECT string_agg(attname || ':' || attcollation::regcollation::text, ',' ORDER BY attnum) \
                      FROM pg_attribute WHERE attrelid = 'docs'::regclass AND attnum > 0 AND attcollation <> 0";
    assert_eq!(dst.text(collations), src.text(collations));
    assert_eq!(
        dst.text(collations).as_deref(),
        Some("title:\"C\",slug:\"default\"")
    );
    // The "C" collation orders by bytes: upper case first.
    assert_eq!(
        dst.text("SELECT string_agg(title, '' ORDER BY title) FROM docs")
            .as_deref(),
        Some("Bab")
    );
}

#[test]
fn objects_ferry_does_not_copy_are_named_in_warnings() {
    let src = PgDb::new("ferry_pgsrc_notcopied_src");
    let dst = PgDb::new("ferry_pgsrc_notcopied_dst");
    src.exec(
        "CREATE TABLE t (id serial PRIMARY KEY, a int, p point,
                         CONSTRAINT t_a_u UNIQUE (a) DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO t (a, p) VALUES (1, '(1,2)'), (2, NULL);
         CREATE SEQUENCE standalone_seq;
         CREATE VIEW v AS SELECT id, a FROM t;
         CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
         CREATE FUNCTION f(x int, y text) RETURNS int LANGUAGE sql AS 'SELECT 1';
         CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';
         CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
         CREATE TRIGGER t_stamp BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION stamp();
         CREATE RULE v_insert AS ON INSERT TO v DO INSTEAD INSERT INTO t (a) VALUES (NEW.a);
         ALTER TABLE t ENABLE ROW LEVEL SECURITY;
         CREATE POLICY positive ON t USING (a > 0);
         CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         INSERT INTO m VALUES (1, '2024-05-01');
         CREATE TABLE booking (room int, during int4range, EXCLUDE USING gist (during WITH &&));
         CREATE SCHEMA other;
         CREATE VIEW other.elsewhere AS SELECT 1 AS one;",
    );
    let expected = [
        "view public.v is not copied",
        "materialized view public.mv is not copied",
        "sequence public.standalone_seq is not copied",
        "function public.f(x integer, y text) is not copied",
        "function public.stamp() is not copied",
        "procedure public.pr() is not copied",
        "trigger t_stamp on public.t is not copied",
        "rule v_insert on public.v is not copied",
        "policy positive on public.t is not copied",
        "row-level security on public.t is not enabled on the copy",
        "partitioned table public.m is copied as a plain table",
        "public.t.p: type point: no type rule for this PostgreSQL type",
        "public.booking.during: type int4range: no type rule",
    ];
    let schema = ferry(&[
        "schema",
        "--from",
        &src.url,
        "--to-dialect",
        "mysql",
        "--schema",
        "public",
    ]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    for w in expected {
        assert!(schema.stderr.contains(w), "`{w}` not in: {}", schema.stderr);
    }
    // MySQL has no exclusion constraints or deferred unique checks; a PostgreSQL target
    // gets both (below).
    assert!(
        schema.stderr.contains(
            "unique constraint `t_a_u` is DEFERRABLE in the source; MySQL checks it at each row"
        ),
        "{}",
        schema.stderr
    );
    assert!(
        schema
            .stderr
            .contains("exclusion constraint `booking_during_excl` (EXCLUDE USING gist (during WITH &&)) not carried over"),
        "{}",
        schema.stderr
    );
    // Only the chosen schemas are looked at; serial sequences belong to their column.
    for absent in ["other.elsewhere", "t_id_seq", "m_2024"] {
        assert!(
            !schema.stderr.contains(absent),
            "{absent}: {}",
            schema.stderr
        );
    }

    let report = migrate(&src.url, &dst.url, &["--verify", "content"]);
    let warnings = report["warnings"].to_string();
    for w in expected {
        assert!(warnings.contains(w), "`{w}` not in the report: {warnings}");
    }
    assert!(
        warnings.contains("view other.elsewhere is not copied"),
        "{warnings}"
    );
    assert_eq!(table_report(&report, "public.m")["rows_written"], 1);
    assert_eq!(table_report(&report, "public.t")["rows_written"], 2);
    assert_eq!(
        dst.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'x'")
            .as_deref(),
        Some("EXCLUDE USING gist (during WITH &&)")
    );
    assert_eq!(
        dst.text("SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'u' AND conrelid = 't'::regclass")
            .as_deref(),
        Some("t_a_u UNIQUE (a) DEFERRABLE INITIALLY DEFERRED")
    );
}

/// A parent with plain inheritance children: each table is copied with its own rows, so the
/// children's rows are not copied twice (once through the parent), on both targets and
/// through the chunked read of a big parent.
#[test]
fn inheritance_parents_are_copied_without_their_childrens_rows() {
    let src = PgDb::new("ferry_pgsrc_inherit_src");
    src.exec(
        "CREATE TABLE cities (id bigint PRIMARY KEY, name text NOT NULL);
         CREATE TABLE capitals (state text NOT NULL) INHERITS (cities);
         INSERT INTO cities SELECT g, 'city ' || g FROM generate_series(1, 3000) g;
         INSERT INTO capitals SELECT g, 'capital ' || g, 'S' || g
             FROM generate_series(100001, 100040) g;
         ANALYZE;",
    );
    assert_eq!(
        src.text("SELECT count(*) FROM cities").as_deref(),
        Some("3040"),
        "the parent's own scan includes the children"
    );
    let pg = PgDb::new("ferry_pgsrc_inherit_dst");
    let my = MyDb::new("ferry_pgsrc_inherit");
    for to in [pg.url.as_str(), my.url.as_str()] {
        // Chunks of 1,000 rows: the key-range reads and bounds see the parent's rows only.
        let report = migrate(
            &src.url,
            to,
            &["--verify", "content", "--chunk-rows", "1000"],
        );
        assert_eq!(
            table_report(&report, "public.cities")["rows_written"],
            3000,
            "{to}"
        );
        assert_eq!(
            table_report(&report, "public.capitals")["rows_written"],
            40,
            "{to}"
        );
        for t in report["tables"].as_array().expect("tables") {
            assert_eq!(t["verification"]["counts"], "ok", "{t}");
            assert_eq!(t["verification"]["content"], "ok", "{t}");
        }
        let warnings = report["warnings"].to_string();
        assert!(
            warnings.contains("inheritance of public.capitals from public.cities is not kept"),
            "{warnings}"
        );
    }
    assert_eq!(
        pg.text("SELECT count(*) FROM cities WHERE id > 100000")
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        my.text("SELECT CAST(count(*) AS CHAR) FROM capitals WHERE state LIKE 'S%'")
            .as_deref(),
        Some("40")
    );
}

#[test]
fn extensions_the_target_role_cannot_create() {
    let role = Role::new();
    let src = PgDb::new("ferry_pgsrc_ext_src");
    // sslinfo is not a trusted extension: only a superuser creates it.
    src.exec(
        "CREATE EXTENSION sslinfo;
         CREATE TABLE notes (id int PRIMARY KEY, body text);
         INSERT INTO notes VALUES (1, 'kept');",
    );
    let dst = role.database("ferry_pgsrc_ext_dst");
    let report = migrate(&src.url, &dst.url, &[]);
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("extension `sslinfo` is not created on the target (the target role cannot create it: permission denied to create extension \\\"sslinfo\\\"")
            && warnings.contains("no copied table uses it"),
        "{warnings}"
    );
    assert_eq!(dst.text("SELECT body FROM notes").as_deref(), Some("kept"));

    // A table whose default calls the extension cannot be created without it: the run stops
    // before creating anything, naming the extension and the default.
    src.exec("CREATE TABLE conn_log (id int PRIMARY KEY, secure boolean DEFAULT ssl_is_used())");
    let dst = role.database("ferry_pgsrc_ext_dst2");
    let run = ferry(&["migrate", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("extension `sslinfo` cannot be created on the target")
            && run
                .stderr
                .contains("needed by public.conn_log: default of column secure (ssl_is_used())"),
        "{}",
        run.all()
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .as_deref(),
        Some("0")
    );

    // A role without CREATE on the database cannot create even a trusted extension such as
    // uuid-ossp; the Flask app's uuid defaults need it.
    let flask = PgDb::new("ferry_pgsrc_ext_flask");
    flask.exec(&ferry_tests::fixture("postgres/flask_app.sql"));
    let dst = PgDb::new("ferry_pgsrc_ext_dst3");
    dst.exec(&format!("GRANT CREATE ON SCHEMA public TO {}", role.name));
    let as_role = dst.url.replacen(
        "postgres:ferrytest@",
        &format!("{}:app-secret@", role.name),
        1,
    );
    assert_ne!(as_role, dst.url);
    let run = ferry(&["migrate", "--from", &flask.url, "--to", &as_role]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("extension `uuid-ossp` cannot be created on the target (the target role cannot create it: permission denied")
            && run.stderr.contains("default of column id (uuid_generate_v4())"),
        "{}",
        run.all()
    );
    drop(dst);
    drop(flask);
    drop(src);
    drop(role);
}
