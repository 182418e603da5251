//! SQLite -> PostgreSQL end to end, through the `ferry` binary, against a real PostgreSQL.

use ferry_tests::{ferry, read_report, repo_root, PgDb, TempDir};
use rusqlite::Connection;

fn chinook() -> String {
    format!(
        "sqlite:{}",
        repo_root()
            .join("fixtures/chinook/Chinook_Sqlite.sqlite")
            .display()
    )
}

#[test]
fn chinook_arrives_with_every_row_key_and_value() {
    let db = PgDb::new("chinook");
    let tmp = TempDir::new("chinook");
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &chinook(),
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete");
    let counts = [
        ("Album", 347),
        ("Artist", 275),
        ("Customer", 59),
        ("Employee", 8),
        ("Genre", 25),
        ("Invoice", 412),
        ("InvoiceLine", 2240),
        ("MediaType", 5),
        ("Playlist", 18),
        ("PlaylistTrack", 8715),
        ("Track", 3503),
    ];
    let tables = report["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), counts.len());
    for (name, n) in counts {
        let t = tables.iter().find(|t| t["table"] == name).expect(name);
        assert_eq!(t["rows_written"], n, "{name}");
        assert_eq!(t["verification"]["counts"], "ok", "{name}");
        assert_eq!(
            db.text(&format!("SELECT count(*) FROM \"{name}\""))
                .as_deref(),
            Some(n.to_string().as_str())
        );
    }
    assert_eq!(report["totals"]["rows_written"], 15607);
    // Spot values: a decimal total, a date, a non-ASCII name.
    assert_eq!(
        db.text("SELECT \"Total\" FROM \"Invoice\" WHERE \"InvoiceId\" = 1")
            .as_deref(),
        Some("1.98")
    );
    assert_eq!(
        db.text("SELECT sum(\"Total\") FROM \"Invoice\"").as_deref(),
        Some("2328.60")
    );
    assert_eq!(
        db.text("SELECT \"InvoiceDate\" FROM \"Invoice\" WHERE \"InvoiceId\" = 1")
            .as_deref(),
        Some("2021-01-01 00:00:00")
    );
    assert_eq!(
        db.text("SELECT \"FirstName\" || ' ' || \"LastName\" FROM \"Customer\" WHERE \"CustomerId\" = 1").as_deref(),
        Some("Luís Gonçalves")
    );
    assert_eq!(db.text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\"Invoice\"'::regclass AND attname = 'Total'").as_deref(), Some("numeric(10,2)"));
    // Keys, indexes and foreign keys exist; identities continue after the loaded maximum.
    assert_eq!(db.text("SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype = 'f' AND convalidated").as_deref(), Some("11"));
    assert_eq!(db.text("SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype = 'p'").as_deref(), Some("11"));
    assert_eq!(db.text("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'IFK_%'").as_deref(), Some("11"));
    db.exec("INSERT INTO \"Genre\" (\"Name\") VALUES ('Sea shanty')");
    assert_eq!(
        db.text("SELECT max(\"GenreId\") FROM \"Genre\"").as_deref(),
        Some("26")
    );

    // ferry verify notices the added row, agrees once it is gone, then notices a deleted row.
    let extra = ferry(&["verify", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(extra.code, 1, "{}", extra.all());
    assert!(
        extra.stdout.contains("source has 25 rows, target has 26"),
        "{}",
        extra.stdout
    );
    db.exec("DELETE FROM \"Genre\" WHERE \"Name\" = 'Sea shanty'");
    let ok = ferry(&["verify", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert!(ok.stdout.contains("all 11 tables match"), "{}", ok.stdout);
    db.exec("DELETE FROM \"PlaylistTrack\" WHERE \"PlaylistId\" = 1 AND \"TrackId\" = 3402");
    let bad = ferry(&["verify", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(
        bad.stdout.contains("PlaylistTrack")
            && bad.stdout.contains("source has 8715 rows, target has 8714"),
        "{}",
        bad.stdout
    );
}

#[test]
fn a_second_run_is_refused_unless_told_to_drop_or_truncate() {
    let db = PgDb::new("rerun");
    let first = ferry(&["migrate", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(first.code, 0, "{}", first.all());
    let again = ferry(&["migrate", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("already has 11 of the tables")
            && again.stderr.contains("--if-exists"),
        "{}",
        again.stderr
    );
    for mode in ["drop", "truncate"] {
        let run = ferry(&[
            "migrate",
            "--from",
            &chinook(),
            "--to",
            &db.url,
            "--if-exists",
            mode,
        ]);
        assert_eq!(run.code, 0, "{mode}: {}", run.all());
        assert_eq!(
            db.text("SELECT count(*) FROM \"Track\"").as_deref(),
            Some("3503"),
            "{mode}"
        );
        assert_eq!(db.text("SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype = 'f'").as_deref(), Some("11"), "{mode}");
    }
}

#[test]
fn schema_command_matches_the_golden_ddl() {
    // Compares only; scripts/update-golden rewrites the file.
    ferry_tests::golden::Golden::ChinookSqlitePostgres.assert_matches();
}

/// A database with every storage class, date habit and naming edge case.
fn edge_database(path: &std::path::Path) {
    let c = Connection::open(path).expect("create sqlite");
    let long_a = format!("{}_alpha", "x".repeat(64));
    let long_b = format!("{}_beta", "x".repeat(64));
    c.execute_batch(&format!(
        r#"
        CREATE TABLE "Order Items" (
            "Id" INTEGER PRIMARY KEY AUTOINCREMENT,
            "select" TEXT NOT NULL DEFAULT 'none',
            qty INT NOT NULL DEFAULT 0 CHECK (qty >= 0),
            price NUMERIC(10,2),
            ratio REAL,
            active BOOLEAN NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            flag BOOL,
            created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
            updated TIMESTAMP DEFAULT (datetime('now')),
            born DATE,
            payload BLOB,
            anything,
            note VARCHAR(5),
            "{long_a}" TEXT,
            "{long_b}" TEXT
        );
        CREATE INDEX "Order Items by qty" ON "Order Items" (qty) WHERE qty > 0;
        CREATE UNIQUE INDEX uq_note ON "Order Items" (note);
        CREATE TABLE pairs (a INTEGER NOT NULL, b TEXT NOT NULL, v, PRIMARY KEY (a, b)) WITHOUT ROWID;
        CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES tree(id) ON DELETE CASCADE, item INTEGER REFERENCES "Order Items");
        INSERT INTO "Order Items" ("select", qty, price, ratio, active, flag, created, updated, born, payload, anything, note, "{long_a}", "{long_b}") VALUES
            ('iso', 1, 9.99, 0.5, 1, 'yes', '2024-02-29 13:45:10', '2024-02-29T13:45:10.250Z', '2024-02-29', X'00FF10', 42, 'a', 'A', 'B'),
            ('julian', 2, '12.5', 1e-3, 0, 0, 2460263.425925926, 2460263.5, '1999-12-31', NULL, 7, 'b', NULL, NULL),
            ('epoch s', 3, 0, -2.25, 1, 't', 1700000000, 1700000000, NULL, X'', 1, 'c', NULL, NULL),
            ('epoch ms', 0, NULL, NULL, 0, 'false', 1700000000123, '1700000000', NULL, NULL, 2, NULL, NULL, NULL),
            ('ünïcödé 日本語 🚢', 5, 100, 3.141592653589793, 1, NULL, '2024-01-01 00:00:00+02:00', NULL, NULL, NULL, 3, 'é', NULL, NULL);
        INSERT INTO "Order Items" ("Id", created) VALUES (100, '2020-01-01');
        INSERT INTO pairs VALUES (1, 'x', 1), (1, 'y', 2.5), (2, 'x', 'text');
        INSERT INTO tree VALUES (1, NULL, 1), (2, 1, 100), (3, 2, NULL);
        "#
    ))
    .expect("fill sqlite");
}

#[test]
fn every_storage_class_and_edge_case_arrives() {
    let tmp = TempDir::new("edge");
    let file = tmp.join("edge.db");
    edge_database(&file);
    let db = PgDb::new("edge");
    let json = tmp.join("r.json");
    let from = format!("sqlite:{}", file.display());
    let run = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let t = "\"Order Items\"";
    let q = |sql: &str| db.text(sql).unwrap_or_else(|| "NULL".into());
    // Names kept as written; long names cut to 63 bytes without colliding.
    assert_eq!(q(&format!("SELECT count(*) FROM {t}")), "6");
    assert_eq!(q("SELECT count(DISTINCT attname) FROM pg_attribute WHERE attrelid = '\"Order Items\"'::regclass AND attname LIKE 'xxxx%'"), "2");
    // Every date habit becomes the same kind of timestamp.
    assert_eq!(
        q(&format!("SELECT created FROM {t} WHERE \"select\" = 'iso'")),
        "2024-02-29 13:45:10"
    );
    assert_eq!(
        q(&format!("SELECT updated FROM {t} WHERE \"select\" = 'iso'")),
        "2024-02-29 13:45:10.25"
    );
    assert_eq!(
        q(&format!(
            "SELECT created FROM {t} WHERE \"select\" = 'julian'"
        )),
        "2023-11-14 22:13:20"
    );
    assert_eq!(
        q(&format!(
            "SELECT updated FROM {t} WHERE \"select\" = 'julian'"
        )),
        "2023-11-15 00:00:00"
    );
    assert_eq!(
        q(&format!(
            "SELECT created FROM {t} WHERE \"select\" = 'epoch s'"
        )),
        "2023-11-14 22:13:20"
    );
    assert_eq!(
        q(&format!(
            "SELECT created FROM {t} WHERE \"select\" = 'epoch ms'"
        )),
        "2023-11-14 22:13:20.123"
    );
    assert_eq!(
        q(&format!(
            "SELECT updated FROM {t} WHERE \"select\" = 'epoch ms'"
        )),
        "2023-11-14 22:13:20"
    );
    assert_eq!(
        q(&format!(
            "SELECT created FROM {t} WHERE \"select\" LIKE 'ü%'"
        )),
        "2023-12-31 22:00:00"
    );
    assert_eq!(
        q(&format!("SELECT born FROM {t} WHERE \"select\" = 'iso'")),
        "2024-02-29"
    );
    // Numbers, booleans, text, blobs, untyped.
    assert_eq!(
        q(&format!(
            "SELECT price FROM {t} WHERE \"select\" = 'julian'"
        )),
        "12.50"
    );
    assert_eq!(
        q(&format!("SELECT ratio FROM {t} WHERE \"select\" LIKE 'ü%'")),
        "3.141592653589793"
    );
    assert_eq!(
        q(&format!(
            "SELECT string_agg(active::text, ',' ORDER BY \"Id\") FROM {t}"
        )),
        "true,false,true,false,true,true"
    );
    assert_eq!(
        q(&format!(
            "SELECT string_agg(coalesce(flag::text, '-'), ',' ORDER BY \"Id\") FROM {t}"
        )),
        "true,false,true,false,-,-"
    );
    assert_eq!(
        q(&format!("SELECT \"select\" FROM {t} WHERE qty = 5")),
        "ünïcödé 日本語 🚢"
    );
    assert_eq!(
        q(&format!(
            "SELECT encode(payload, 'hex') FROM {t} WHERE \"select\" = 'iso'"
        )),
        "00ff10"
    );
    assert_eq!(
        q(&format!(
            "SELECT length(payload) FROM {t} WHERE \"select\" = 'epoch s'"
        )),
        "0"
    );
    assert_eq!(q("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\"Order Items\"'::regclass AND attname = 'anything'"), "bigint");
    assert_eq!(q("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'pairs'::regclass AND attname = 'v'"), "text");
    assert_eq!(
        q("SELECT string_agg(v, ',' ORDER BY a, b) FROM pairs"),
        "1,2.5,text"
    );
    // Defaults, checks, identity, partial index, composite key, self FK.
    db.exec("INSERT INTO \"Order Items\" (qty) VALUES (9)");
    assert_eq!(q(&format!("SELECT \"Id\" FROM {t} WHERE qty = 9")), "101");
    assert_eq!(q(&format!("SELECT \"select\" || active::text || (created > now() AT TIME ZONE 'UTC' - interval '1 hour')::text FROM {t} WHERE qty = 9")), "nonetruetrue");
    let check = db.with(async |c| {
        c.batch_execute("INSERT INTO \"Order Items\" (qty) VALUES (-1)")
            .await
            .is_err()
    });
    assert!(check, "CHECK (qty >= 0) must be enforced");
    assert_eq!(q("SELECT indexdef FROM pg_indexes WHERE indexname = 'Order Items by qty'"), "CREATE INDEX \"Order Items by qty\" ON public.\"Order Items\" USING btree (qty) WHERE (qty > 0)");
    assert_eq!(q("SELECT count(*) FROM pg_constraint WHERE conrelid = 'pairs'::regclass AND contype = 'p'"), "1");
    assert_eq!(q("SELECT count(*) FROM pg_constraint WHERE conrelid = 'tree'::regclass AND contype = 'f' AND convalidated"), "2");
    assert_eq!(q("SELECT confdeltype FROM pg_constraint WHERE conrelid = 'tree'::regclass AND confrelid = 'tree'::regclass"), "c");
    // The boolean domain check was recognised; the untyped column's choice was reported.
    let report = read_report(&json);
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("anything") && warnings.contains("stored values"),
        "{warnings}"
    );
}

fn bad_rows_database(path: &std::path::Path) {
    let c = Connection::open(path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE good (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO good VALUES (1, 'a'), (2, 'b');
         CREATE TABLE bad (id INTEGER PRIMARY KEY, n INTEGER, s TEXT);
         INSERT INTO bad VALUES (1, 1, 'fine'), (2, 'twelve', 'text in an integer column'), (3, 3, 'fine too');
         INSERT INTO bad VALUES (4, 4, CAST(X'61006200' AS TEXT));
         INSERT INTO bad VALUES (5, 5, CAST(X'C328' AS TEXT));
         INSERT INTO bad VALUES (6, 6, 'last');",
    )
    .expect("fill");
}

#[test]
fn bad_rows_stop_the_run_by_default_and_go_to_reject_files_on_request() {
    let tmp = TempDir::new("bad");
    let file = tmp.join("bad.db");
    bad_rows_database(&file);
    let from = format!("sqlite:{}", file.display());

    let db = PgDb::new("bad_stop");
    let json = tmp.join("stop.json");
    let stop = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(stop.code, 2, "{}", stop.all());
    assert!(
        stop.stdout
            .contains("table `bad`, column `n`, rowid 2: text that is not an integer"),
        "{}",
        stop.stdout
    );
    // `good` either finished before `bad` failed (complete) or was stopped with the run
    // (cancelled, listed as incomplete); `bad` is always incomplete.
    let incomplete = stop
        .stdout
        .lines()
        .find(|l| l.starts_with("incomplete tables:"))
        .unwrap_or("");
    assert!(incomplete.ends_with("bad"), "{}", stop.stdout);
    let good_line = stop
        .stdout
        .lines()
        .find(|l| l.starts_with("good "))
        .unwrap_or("");
    if good_line.ends_with(" complete") {
        assert_eq!(incomplete, "incomplete tables: bad", "{}", stop.stdout);
        assert_eq!(db.text("SELECT count(*) FROM good").as_deref(), Some("2"));
    } else {
        assert!(good_line.ends_with("cancelled"), "{}", stop.stdout);
        assert_eq!(
            incomplete, "incomplete tables: good, bad",
            "{}",
            stop.stdout
        );
    }
    assert!(
        !stop.all().contains("twelve"),
        "the value stays out of the output"
    );
    let report = read_report(&json);
    assert_eq!(report["status"], "failed");

    let db = PgDb::new("bad_reject");
    let json = tmp.join("reject.json");
    let rejects = tmp.join("rejects");
    let args = [
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--on-error",
        "reject",
        "--reject-dir",
        rejects.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ];
    let run = ferry(&args);
    assert_eq!(run.code, 1, "rejects make the exit non-zero: {}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "incomplete");
    let bad = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == "bad")
        .expect("bad")
        .clone();
    assert_eq!(bad["rows_read"], 6);
    assert_eq!(bad["rows_written"], 3);
    assert_eq!(bad["rows_rejected"], 3);
    assert_eq!(
        bad["verification"]["counts"], "ok",
        "source = written + rejected"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(rejects.join("bad.reject.jsonl"))
        .expect("reject file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["locator"], "rowid 2");
    assert_eq!(lines[0]["row"]["n"], "twelve");
    assert!(
        lines.iter().any(|l| l["locator"] == "rowid 4"
            && l["reason"].as_str().is_some_and(|r| r.contains("NUL"))),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l["locator"] == "rowid 5"
            && l["reason"].as_str().is_some_and(|r| r.contains("UTF-8"))
            && l["row"]["s"]["hex"] == "c328"),
        "{lines:?}"
    );
    assert_eq!(
        db.text("SELECT string_agg(id::text, ',' ORDER BY id) FROM bad")
            .as_deref(),
        Some("1,3,6")
    );

    let db = PgDb::new("bad_allow");
    let mut allowed: Vec<&str> = args.to_vec();
    allowed[4] = &db.url;
    allowed.push("--allow-rejects");
    let run = ferry(&allowed);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn bad_connections_and_files_give_one_clear_line() {
    let db = PgDb::new("conn");
    let wrong_password = db.url.replacen(":ferrytest@", ":Wr0ngS3cret@", 1);
    let cases = [
        (
            format!("sqlite:{}", "/nonexistent/app.db"),
            db.url.clone(),
            "does not exist",
        ),
        (chinook(), wrong_password, "password authentication failed"),
        (
            chinook(),
            "postgres://postgres:Wr0ngS3cret@127.0.0.1:1/x".to_string(),
            "cannot connect",
        ),
        (
            chinook(),
            db.url.replace(&db.name, "no_such_database_here"),
            "does not exist",
        ),
        (chinook(), "oracle://x".to_string(), "unknown URL scheme"),
    ];
    for (from, to, want) in cases {
        let run = ferry(&["migrate", "--from", &from, "--to", &to]);
        assert_eq!(run.code, 2, "{from} -> {to}: {}", run.all());
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
        assert!(
            !run.all().contains("Wr0ngS3cret"),
            "password leaked: {}",
            run.all()
        );
        assert!(!run.all().contains("panicked"), "{}", run.all());
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("ferry:"))
                .count(),
            1,
            "{}",
            run.stderr
        );
    }
    let tmp = TempDir::new("notsqlite");
    let junk = tmp.join("junk.db");
    std::fs::write(
        &junk,
        b"this is not a database file, just some text that goes on for a while...",
    )
    .expect("write");
    let run = ferry(&[
        "migrate",
        "--from",
        &format!("sqlite:{}", junk.display()),
        "--to",
        &db.url,
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not an SQLite database"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_overrides_types_and_selects_tables() {
    let tmp = TempDir::new("cfg");
    let cfg = tmp.join("ferry.toml");
    std::fs::write(&cfg, "[tables]\nexclude = [\"PlaylistTrack\", \"Playlist\"]\n[types]\nINTEGER = \"integer\"\n[columns]\n\"Track.Milliseconds\" = \"bigint\"\n").expect("cfg");
    let db = PgDb::new("cfg");
    let run = ferry(&[
        "migrate",
        "--from",
        &chinook(),
        "--to",
        &db.url,
        "--config",
        cfg.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.text("SELECT to_regclass('\"PlaylistTrack\"')::text"),
        None
    );
    let ty = |col: &str| {
        db.text(&format!("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\"Track\"'::regclass AND attname = '{col}'"))
    };
    assert_eq!(ty("TrackId").as_deref(), Some("integer"));
    assert_eq!(ty("Milliseconds").as_deref(), Some("bigint"));
    std::fs::write(&cfg, "[types]\nINTEGER = \"integr\"\n").expect("cfg");
    let run = ferry(&[
        "migrate",
        "--from",
        &chinook(),
        "--to",
        &db.url,
        "--config",
        cfg.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("\"INTEGER\" = \"integr\": unknown type name"),
        "{}",
        run.stderr
    );
}

/// A Django app's SQLite database: a JSONField (text with a JSON_VALID CHECK) becomes jsonb
/// with no CHECK left over, and the foreign keys Django declares DEFERRABLE INITIALLY
/// DEFERRED stay so, as Django's own PostgreSQL schema has them.
#[test]
fn a_django_database_keeps_json_fields_and_deferred_keys() {
    let tmp = TempDir::new("django");
    let path = tmp.join("db.sqlite3");
    let c = Connection::open(&path).expect("open");
    c.execute_batch(
        r#"CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "username" varchar(150) NOT NULL UNIQUE);
           CREATE TABLE "shop_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
             "uuid" char(32) NOT NULL UNIQUE,
             "data" text NOT NULL CHECK ((JSON_VALID("data") OR "data" IS NULL)),
             "owner_id" integer NOT NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED);
           INSERT INTO auth_user VALUES (1, 'admin');
           INSERT INTO shop_item VALUES (1, '0b6a8f5e3c2d4e1f9a8b7c6d5e4f3a2b', '{"b": [1, 2], "a": null}', 1),
                                        (2, '1b6a8f5e3c2d4e1f9a8b7c6d5e4f3a2b', 'null', 1);"#,
    )
    .expect("django schema");
    drop(c);
    let dst = PgDb::new("ferry_sqlite_django");
    let url = format!("sqlite://{}", path.display());
    let run = ferry(&[
        "migrate", "--from", &url, "--to", &dst.url, "--verify", "content",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("JSON_VALID"), "{}", run.all());
    assert_eq!(
        dst.text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'shop_item'::regclass AND attname = 'data'")
            .as_deref(),
        Some("jsonb")
    );
    assert_eq!(
        dst.text("SELECT data -> 'b' ->> 1 FROM shop_item WHERE id = 1")
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        dst.text("SELECT count(*) FROM pg_constraint WHERE conrelid = 'shop_item'::regclass AND contype = 'c'")
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        dst.text("SELECT condeferrable::text || condeferred::text FROM pg_constraint WHERE conrelid = 'shop_item'::regclass AND contype = 'f'")
            .as_deref(),
        Some("truetrue")
    );
    dst.exec("BEGIN; INSERT INTO shop_item (uuid, data, owner_id) VALUES ('x', '{}', 2); INSERT INTO auth_user VALUES (2, 'late'); COMMIT");
    // Django's UUIDField is 32 hex digits on SQLite: the run says how to make it a uuid,
    // and with that override every value arrives as one.
    assert!(
        run.all()
            .contains("map it with `[columns] \"shop_item.uuid\" = \"uuid\"`"),
        "{}",
        run.all()
    );
    let config = tmp.join("ferry.toml");
    std::fs::write(&config, "[columns]\n\"shop_item.uuid\" = \"uuid\"\n").expect("config");
    let dst = PgDb::new("ferry_sqlite_django_uuid");
    let run = ferry(&[
        "migrate",
        "--from",
        &url,
        "--to",
        &dst.url,
        "--config",
        config.to_str().expect("utf8"),
        "--verify",
        "content",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        dst.text("SELECT pg_typeof(uuid)::text || ' ' || uuid FROM shop_item WHERE id = 1")
            .as_deref(),
        Some("uuid 0b6a8f5e-3c2d-4e1f-9a8b-7c6d5e4f3a2b")
    );
}
