//! PostgreSQL -> MySQL end to end, through the `ferry` binary, against the real PostgreSQL
//! and MariaDB of scripts/servers.sh: Chinook, the Flask-style uuid-ossp app, and every type.

use ferry_tests::{ferry, read_report, repo_root, MyDb, PgDb, TempDir};

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

fn migrate(from: &str, to: &str) -> serde_json::Value {
    let tmp = TempDir::new("pgmy");
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    report
}

#[test]
fn chinook_postgres_to_mysql() {
    let src = PgDb::new("ferry_pgmy_chinook_src");
    let dst = MyDb::new("ferry_pgmy_chinook_dst");
    src.exec(&chinook_sql());
    let report = migrate(&src.url, &dst.url);
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
    assert_eq!(report["totals"]["rows_written"], 15607);
    for (name, n) in counts {
        assert_eq!(
            dst.text(&format!("SELECT COUNT(*) FROM `{name}`"))
                .as_deref(),
            Some(n.to_string().as_str()),
            "{name}"
        );
    }
    assert_eq!(
        dst.text("SELECT total FROM invoice WHERE invoice_id = 1")
            .as_deref(),
        Some("1.98")
    );
    assert_eq!(
        dst.text("SELECT SUM(total) FROM invoice").as_deref(),
        Some("2328.60")
    );
    assert_eq!(
        dst.text("SELECT DATE_FORMAT(invoice_date, '%Y-%m-%d %H:%i:%s') FROM invoice WHERE invoice_id = 1")
            .as_deref(),
        src.text("SELECT to_char(invoice_date, 'YYYY-MM-DD HH24:MI:SS') FROM invoice WHERE invoice_id = 1")
            .as_deref()
    );
    assert_eq!(
        dst.text("SELECT CONCAT(first_name, ' ', last_name) FROM customer WHERE customer_id = 1")
            .as_deref(),
        Some("Luís Gonçalves")
    );
    let fks = format!(
        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
        dst.name
    );
    assert_eq!(dst.text(&fks).as_deref(), Some("11"));
    // Text content survives byte for byte.
    let pg = src.text("SELECT md5(string_agg(name, '|' ORDER BY track_id)) FROM track");
    assert!(pg.is_some());
    let my_long = dst.with(async |c| {
        use mysql_async::prelude::Queryable;
        c.query_drop("SET SESSION group_concat_max_len = 100000000")
            .await
            .expect("set");
        c.query_first::<Option<String>, _>(
            "SELECT MD5(GROUP_CONCAT(name ORDER BY track_id SEPARATOR '|')) FROM track",
        )
        .await
        .expect("md5")
        .flatten()
    });
    assert_eq!(my_long, pg);
}

#[test]
fn flask_app_postgres_to_mysql() {
    let src = PgDb::new("ferry_pgmy_flask_src");
    let dst = MyDb::new("ferry_pgmy_flask_dst");
    src.exec(&ferry_tests::fixture("postgres/flask_app.sql"));
    migrate(&src.url, &dst.url);
    let pg = src.text(
        "SELECT string_agg(u.id || ' ' || u.email || ' ' || p.id || ' ' || p.title, '|' ORDER BY p.id::text) \
         FROM posts p JOIN users u ON u.id = p.user_id",
    );
    let my = dst.text(
        "SELECT GROUP_CONCAT(CONCAT(u.id, ' ', u.email, ' ', p.id, ' ', p.title) ORDER BY p.id SEPARATOR '|') \
         FROM posts p JOIN users u ON u.id = p.user_id",
    );
    assert!(pg.as_deref().is_some_and(|s| s.contains("zoë@example.com")));
    assert_eq!(my, pg);
    // New rows get a generated uuid, a timestamp and a zero counter.
    dst.exec("INSERT INTO users (email) VALUES ('new@example.com')");
    assert_eq!(
        dst.text("SELECT CONCAT(LENGTH(id), ' ', created_at IS NOT NULL, ' ', login_count) FROM users WHERE email = 'new@example.com'")
            .as_deref(),
        Some("36 1 0")
    );
    dst.exec("DELETE FROM users WHERE email = 'ann@example.com'");
    assert_eq!(dst.text("SELECT COUNT(*) FROM posts").as_deref(), Some("2"));
}

#[test]
fn every_type_postgres_to_mysql() {
    let src = PgDb::new("ferry_pgmy_types_src");
    let dst = MyDb::new("ferry_pgmy_types_dst");
    let path = repo_root().join("fixtures/postgres/every_type.sql");
    src.exec(&std::fs::read_to_string(&path).expect("fixture"));
    // Row 2 holds NaN and Infinity, which MySQL cannot store: the default run stops and
    // names the table, column and key; reject mode sets the row aside and loads the rest.
    let stop = ferry(&["migrate", "--from", &src.url, "--to", &dst.url]);
    assert_ne!(stop.code, 0, "{}", stop.all());
    assert!(stop.all().contains("column `r`, id=2"), "{}", stop.all());
    let dst = MyDb::new("ferry_pgmy_types_dst2");
    let tmp = TempDir::new("pgmy_rejects");
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--on-error",
        "reject",
        "--allow-rejects",
        "--reject-dir",
        tmp.0.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    let text = report.to_string();
    for needle in [
        "every_type_lower_t",
        "every_type_flagged",
        "n_free",
        "interval",
    ] {
        assert!(text.contains(needle), "no warning about {needle}: {text}");
    }
    let v = |col: &str| {
        dst.text(&format!(
            "SELECT CAST({col} AS CHAR) FROM every_type WHERE id = 1"
        ))
    };
    assert_eq!(v("flag").as_deref(), Some("1"));
    assert_eq!(v("big").as_deref(), Some("9007199254740993"));
    assert_eq!(v("n").as_deref(), Some("12345.678"));
    assert_eq!(v("vc").as_deref(), Some("héllo"));
    assert_eq!(v("t").as_deref(), Some("Zoë says \"hi\""));
    assert_eq!(v("HEX(b)").as_deref(), Some("00FF10"));
    assert_eq!(v("dt").as_deref(), Some("2024-02-29"));
    assert_eq!(
        v("tstz").as_deref(),
        Some("2024-06-01 10:00:00.000000"),
        "UTC"
    );
    assert_eq!(
        v("u").as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440000")
    );
    assert_eq!(v("JSON_EXTRACT(jb, '$.b.c')").as_deref(), Some("null"));
    assert_eq!(v("JSON_LENGTH(ints)").as_deref(), Some("3"));
    assert_eq!(v("m").as_deref(), Some("happy"));
    assert_eq!(v("e").as_deref(), Some("Ann@Example.com"));
    assert_eq!(v("bits + 0").as_deref(), Some("5"));
    assert_eq!(v("addr").as_deref(), Some("192.168.0.1/24"));
    // An interval reads as PostgreSQL itself prints it.
    assert_eq!(v("iv").as_deref(), Some("1 year 2 mons 3 days 04:05:06.7"));
    assert_eq!(
        dst.text("SELECT COUNT(*) FROM every_type").as_deref(),
        Some("2")
    );
    assert_eq!(
        dst.text("SELECT COUNT(*) FROM warehouse").as_deref(),
        Some("2")
    );
}

/// A `timetz` becomes its time of day in UTC (as the warning says), and an interval the text
/// PostgreSQL prints for it; content verification finds both equal.
#[test]
fn times_with_zones_become_utc_and_intervals_read_as_postgres_prints_them() {
    let src = PgDb::new("ferry_pgmy_tz_src");
    let dst = MyDb::new("ferry_pgmy_tz_dst");
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, tz timetz, iv interval);
         INSERT INTO t VALUES
           (1, '12:00:00+05:30', '1 year 2 mons 3 days 04:05:06.789'),
           (2, '23:30:00.25-02', '-1 days +02:00:00'),
           (3, '00:00:00+00', '0'),
           (4, NULL, '-14 mons -00:00:00.000001'),
           (5, '00:15:00+01', '25 hours');",
    );
    let run = ferry(&[
        "migrate", "--from", &src.url, "--to", &dst.url, "--verify", "content",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run
        .all()
        .contains("time with time zone becomes a time of day in UTC"));
    let rows = dst.text(
        "SELECT GROUP_CONCAT(CONCAT_WS('|', id, IFNULL(CAST(tz AS CHAR), '-'), iv) ORDER BY id SEPARATOR ';') FROM t",
    );
    assert_eq!(
        rows.as_deref(),
        Some(
            "1|06:30:00.000000|1 year 2 mons 3 days 04:05:06.789;\
             2|01:30:00.250000|-1 days +02:00:00;\
             3|00:00:00.000000|00:00:00;\
             4|-|-1 years -2 mons -00:00:00.000001;\
             5|23:15:00.000000|25:00:00"
        )
    );
    // A changed interval is a difference, named by column.
    dst.exec("UPDATE t SET iv = '25:00:00.000001' WHERE id = 5");
    let verify = ferry(&["verify", "--content", "--from", &src.url, "--to", &dst.url]);
    assert_eq!(verify.code, 1, "{}", verify.all());
    assert!(verify.all().contains("iv"), "{}", verify.all());
}

#[test]
fn arrays_of_enums_and_domains_become_json_arrays() {
    let src = PgDb::new("ferry_pgmy_udtarr_src");
    let dst = MyDb::new("ferry_pgmy_udtarr_dst");
    src.exec(&ferry_tests::fixture("postgres/udt_arrays.sql"));
    let tmp = TempDir::new("pgmy_udtarr");
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--verify",
        "content",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(
        report["tables"][0]["verification"]["content"], "ok",
        "{report}"
    );
    assert_eq!(
        dst.text(
            "SELECT GROUP_CONCAT(CONCAT_WS(' ', id, COALESCE(moods, 'null'), COALESCE(counts, 'null'), \
             COALESCE(sizes, 'null')) ORDER BY id SEPARATOR '|') FROM feelings"
        )
        .as_deref(),
        Some(
            "1 [\"sad\",null,\"happy\"] [1,null,3] [7,null,9]|2 [] [] []|3 null null null|4 [\"ok\"] [-5] [2147483647]"
        )
    );
    for col in ["moods", "counts", "sizes"] {
        assert_eq!(
            dst.text(&format!(
                "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'feelings' AND COLUMN_NAME = '{col}'"
            ))
            .as_deref(),
            // MariaDB's JSON is LONGTEXT with a JSON_VALID check.
            Some("longtext"),
            "{col}"
        );
        assert_eq!(
            dst.text(&format!(
                "SELECT JSON_TYPE(JSON_EXTRACT({col}, '$[0]')) FROM feelings WHERE id = 4"
            ))
            .as_deref(),
            Some(if col == "moods" { "STRING" } else { "INTEGER" }),
            "{col}"
        );
    }
}

#[test]
fn index_details_mysql_cannot_keep_are_warnings() {
    let src = PgDb::new("ferry_pgmy_idx_src");
    let dst = MyDb::new("ferry_pgmy_idx_dst");
    src.exec(&ferry_tests::fixture("postgres/index_details.sql"));
    let expected = [
        "public.docs.title: collation \"C\" not carried over",
        "index `docs_title_pattern`: operator class text_pattern_ops on `title` not carried over",
        "index `docs_body_path` (GIN) not carried over: MySQL has no counterpart",
        "index `docs_slug_c`: operator class varchar_pattern_ops on `slug` not carried over",
        "index `docs_slug_c`: COLLATE \"C\" on `slug` not carried over",
        "index `docs_slug_c`: NULLS LAST on `slug` not carried over",
        "index `docs_score_nulls`: NULLS FIRST on `score` not carried over",
        "index `docs_slug_incl`: INCLUDE (score, created) not carried over",
        "index `docs_lower_slug` on an expression not translated",
    ];
    let schema = ferry(&["schema", "--from", &src.url, "--to-dialect", "mysql"]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    for w in expected {
        assert!(schema.stderr.contains(w), "`{w}` not in: {}", schema.stderr);
    }
    let tmp = TempDir::new("pgmy_idx");
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &src.url,
        "--to",
        &dst.url,
        "--verify",
        "content",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().expect("text"))
        .collect();
    for w in expected {
        assert!(
            warnings.iter().any(|x| x.contains(w)),
            "`{w}` not in the report: {warnings:#?}"
        );
    }
    // The GIN index is left out, not rebuilt as a btree that would serve none of its queries.
    assert_eq!(
        dst.text(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'docs' AND INDEX_NAME = 'docs_body_path'"
        )
        .as_deref(),
        Some("0")
    );
    // What MySQL can keep is kept: the unique key (without its INCLUDE) and DESC.
    assert_eq!(
        dst.text(
            "SELECT GROUP_CONCAT(CONCAT(INDEX_NAME, ':', COLUMN_NAME, ':', NON_UNIQUE, ':', COALESCE(COLLATION, '-')) \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX SEPARATOR ',') FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'docs' AND INDEX_NAME IN ('docs_slug_incl', 'docs_score_nulls')"
        )
        .as_deref(),
        Some("docs_score_nulls:score:1:A,docs_score_nulls:created:1:D,docs_slug_incl:slug:0:A")
    );
}

/// A partitioned table whose serial comes second in its primary key (Pagila's `payment`,
/// keyed by date first): one plain MySQL table with every partition's rows, and the
/// AUTO_INCREMENT column leading a key of its own, as InnoDB requires; new rows continue
/// the sequence.
#[test]
fn a_partitioned_table_with_its_serial_second_in_the_key_loads_into_mysql() {
    let src = PgDb::new("ferry_pgmy_part_src");
    let dst = MyDb::new("ferry_pgmy_part_dst");
    src.exec(
        "CREATE TABLE payment (payment_id serial, amount numeric(5,2) NOT NULL,
           payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id))
           PARTITION BY RANGE (payment_date);
         CREATE TABLE payment_p1 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
         CREATE TABLE payment_p2 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
         INSERT INTO payment (amount, payment_date) VALUES (2.99, '2022-01-15 10:00+00'),
           (0.99, '2022-02-03 11:30+00'), (5.99, '2022-02-20 23:59:59.5+00');",
    );
    let report = migrate(&src.url, &dst.url);
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(
        dst.text(
            "SELECT GROUP_CONCAT(CONCAT(INDEX_NAME, ':', COLUMN_NAME) ORDER BY INDEX_NAME, SEQ_IN_INDEX) \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'payment'"
        )
        .as_deref(),
        Some("payment_payment_id_auto:payment_id,PRIMARY:payment_date,PRIMARY:payment_id")
    );
    dst.exec("INSERT INTO payment (amount, payment_date) VALUES (1.00, '2022-02-21')");
    assert_eq!(
        dst.text("SELECT MAX(payment_id) FROM payment").as_deref(),
        Some("4")
    );
}
