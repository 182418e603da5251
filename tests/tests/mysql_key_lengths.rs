//! Indexed text columns going to MySQL, through the `ferry` binary against the real
//! MariaDB and PostgreSQL of scripts/servers.sh: a text column of a primary or unique key
//! whose longest stored value (in characters) fits InnoDB's 3,072-byte key (768 utf8mb4
//! characters, shared by the parts of a multi-column key) gets `varchar(n)` with `n` its
//! whole share of the key, so later values up to that still fit; a longer one stays text with
//! an index prefix and a warning naming table and column. A column only plain indexes use keeps its text type
//! (no length for later values to break) and its indexes cover a prefix.

use ferry_tests::{ferry, read_report, MyDb, PgDb, TempDir};

/// `n` characters: `emoji` 4-byte ones, then 2-byte `é`s up to `n - pad`, then ASCII.
fn text(n: usize, emoji: usize, accents: usize) -> String {
    assert!(emoji + accents <= n);
    format!(
        "{}{}{}",
        "😀".repeat(emoji),
        "é".repeat(accents),
        "x".repeat(n - emoji - accents)
    )
}

/// `ferry migrate` to `to`, with content verification; returns the JSON report.
fn migrate(from: &str, to: &str, tmp: &TempDir) -> serde_json::Value {
    let json = tmp.join("report.json");
    let run = ferry(&[
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--verify",
        "content",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    assert_eq!(report["status"], "complete", "{report}");
    report
}

/// `COLUMN_TYPE` of a column of the target table.
fn column_type(db: &MyDb, table: &str, column: &str) -> String {
    db.text(&format!(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}' AND COLUMN_NAME = '{column}'",
        db.name
    ))
    .unwrap_or_else(|| panic!("{table}.{column} missing"))
}

/// The index prefix (`SUB_PART`) of `column` in index `index`, `None` for a whole column.
fn sub_part(db: &MyDb, table: &str, index: &str, column: &str) -> Option<String> {
    let found = db.text(&format!(
        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}' AND INDEX_NAME = '{index}' AND COLUMN_NAME = '{column}'",
        db.name
    ));
    assert_eq!(found.as_deref(), Some("1"), "index {index} on {column}");
    db.text(&format!(
        "SELECT SUB_PART FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}' AND INDEX_NAME = '{index}' AND COLUMN_NAME = '{column}'",
        db.name
    ))
}

/// The report's warnings about `table.column`.
fn warnings_about(report: &serde_json::Value, table: &str, column: &str) -> Vec<String> {
    let prefix = format!("{table}.{column}: ");
    report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| w.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn sqlite_text_keys_get_varchar_when_the_longest_value_fits() {
    let tmp = TempDir::new("keylen_sqlite");
    let path = tmp.join("src.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch(
        "CREATE TABLE items (code TEXT PRIMARY KEY, name TEXT, note TEXT, body TEXT, tag TEXT, free TEXT);
         CREATE INDEX items_name ON items (name);
         CREATE UNIQUE INDEX items_note ON items (note);
         CREATE INDEX items_body ON items (body);
         CREATE INDEX items_tag_name ON items (tag, name);
         CREATE TABLE empty (k TEXT PRIMARY KEY);",
    )
    .expect("schema");
    // Longest values: code 1 character, name 37 (67 bytes), note 300 (1,100 bytes: sized by
    // bytes it would not fit a key), body 1,000 (too long for a key), tag 400 (fits a
    // one-part key but not its half of the two-part one). `free` is not indexed.
    let rows: Vec<[String; 6]> = vec![
        [
            "a".into(),
            text(37, 10, 5),
            text(300, 250, 50),
            text(1000, 3, 0),
            text(400, 1, 1),
            text(2000, 0, 0),
        ],
        [
            "b".into(),
            text(36, 0, 0),
            text(299, 0, 0),
            text(999, 0, 0),
            text(399, 0, 0),
            "short".into(),
        ],
        [
            "c".into(),
            "n".into(),
            "o".into(),
            "b".into(),
            "t".into(),
            "f".into(),
        ],
    ];
    for r in &rows {
        conn.execute(
            "INSERT INTO items VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![r[0], r[1], r[2], r[3], r[4], r[5]],
        )
        .expect("insert");
    }
    drop(conn);
    let from = format!("sqlite:{}", path.display());

    // `ferry schema` shows the measured types and the warnings before anything is written.
    let schema = ferry(&["schema", "--from", &from, "--to-dialect", "mysql"]);
    assert_eq!(schema.code, 0, "{}", schema.all());
    for want in [
        "`code` varchar(768)",
        "`name` longtext",
        "`note` varchar(768)",
        "`body` longtext",
        "`tag` longtext",
        "`k` varchar(768)",
        "`name`(768)",
        "`body`(768)",
        "`tag`(384), `name`(384)",
    ] {
        assert!(schema.stdout.contains(want), "{want}:\n{}", schema.stdout);
    }
    assert!(
        schema
            .stderr
            .contains("items.note: a MySQL key needs this text column whole: varchar(768)"),
        "{}",
        schema.stderr
    );

    let dst = MyDb::new("ferry_keylen_sqlite");
    let report = migrate(&from, &dst.url, &tmp);
    assert_eq!(column_type(&dst, "items", "code"), "varchar(768)");
    assert_eq!(column_type(&dst, "items", "name"), "longtext");
    assert_eq!(column_type(&dst, "items", "note"), "varchar(768)");
    assert_eq!(column_type(&dst, "items", "body"), "longtext");
    assert_eq!(column_type(&dst, "items", "tag"), "longtext");
    assert_eq!(column_type(&dst, "items", "free"), "longtext");
    assert_eq!(column_type(&dst, "empty", "k"), "varchar(768)");
    assert_eq!(sub_part(&dst, "items", "PRIMARY", "code"), None);
    assert_eq!(
        sub_part(&dst, "items", "items_name", "name").as_deref(),
        Some("768")
    );
    assert_eq!(sub_part(&dst, "items", "items_note", "note"), None);
    assert_eq!(
        sub_part(&dst, "items", "items_body", "body").as_deref(),
        Some("768")
    );
    assert_eq!(
        sub_part(&dst, "items", "items_tag_name", "tag").as_deref(),
        Some("384")
    );
    assert_eq!(
        sub_part(&dst, "items", "items_tag_name", "name").as_deref(),
        Some("384")
    );
    // Every value arrived whole: the longest note is 300 characters in MySQL too.
    assert_eq!(
        dst.text("SELECT MAX(CHAR_LENGTH(note)) FROM items")
            .as_deref(),
        Some("300")
    );
    assert_eq!(
        dst.text("SELECT note FROM items WHERE code = 'a'"),
        Some(text(300, 250, 50))
    );
    for (column, needle) in [
        (
            "code",
            "varchar(768), the most its key holds whole in utf8mb4 (its longest stored value has 1 characters)",
        ),
        (
            "note",
            "varchar(768), the most its key holds whole in utf8mb4 (its longest stored value has 300 characters)",
        ),
    ] {
        let found = warnings_about(&report, "items", column);
        assert!(
            found.iter().any(|w| w.contains(needle)),
            "{column}: {found:?}"
        );
    }
    // Plain indexes only: nothing is narrowed, so there is nothing to warn about, and the
    // longest values (1,000 and 400 characters) arrived whole.
    for column in ["name", "body", "tag"] {
        assert!(
            warnings_about(&report, "items", column).is_empty(),
            "{column}: {report}"
        );
    }
    assert_eq!(
        dst.text("SELECT MAX(CHAR_LENGTH(body)) FROM items")
            .as_deref(),
        Some("1000")
    );
    assert!(warnings_about(&report, "items", "free").is_empty());
}

#[test]
fn postgres_text_keys_get_varchar_when_the_longest_value_fits() {
    let src = PgDb::new("ferry_keylen_pg_src");
    src.exec(
        "CREATE TABLE docs (slug text PRIMARY KEY, title text NOT NULL UNIQUE, body text, plain varchar(20));
         CREATE INDEX docs_body ON docs (body);",
    );
    let rows = [
        (text(37, 10, 5), text(300, 250, 50), text(800, 2, 2)),
        (text(20, 0, 0), text(10, 0, 0), text(10, 0, 0)),
        ("z".to_string(), "t".to_string(), "b".to_string()),
    ];
    src.with(async |c| {
        for (slug, title, body) in &rows {
            c.execute(
                "INSERT INTO docs (slug, title, body, plain) VALUES ($1, $2, $3, 'p')",
                &[slug, title, body],
            )
            .await
            .expect("insert");
        }
    });
    let tmp = TempDir::new("keylen_pg");
    let dst = MyDb::new("ferry_keylen_pg_dst");
    let report = migrate(&src.url, &dst.url, &tmp);
    assert_eq!(column_type(&dst, "docs", "slug"), "varchar(768)");
    assert_eq!(column_type(&dst, "docs", "title"), "varchar(768)");
    assert_eq!(column_type(&dst, "docs", "body"), "longtext");
    assert_eq!(column_type(&dst, "docs", "plain"), "varchar(20)");
    assert_eq!(sub_part(&dst, "docs", "PRIMARY", "slug"), None);
    assert_eq!(
        sub_part(&dst, "docs", "docs_body", "body").as_deref(),
        Some("768")
    );
    assert_eq!(
        dst.text("SELECT MAX(CHAR_LENGTH(body)) FROM docs")
            .as_deref(),
        Some("800")
    );
    assert!(
        warnings_about(&report, "public.docs", "body").is_empty(),
        "a plain index narrows nothing: {report}"
    );
    let title = warnings_about(&report, "public.docs", "title");
    assert!(title.iter().any(|w| w.contains("varchar(768)")), "{report}");
}
