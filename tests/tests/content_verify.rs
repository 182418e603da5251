//! Content verification, SQLite -> PostgreSQL: a correct copy compares equal value by value;
//! each kind of corruption is found and named by table, key and column.

use ferry_tests::{ferry, read_report, repo_root, PgDb, TempDir};
use rusqlite::Connection;

#[test]
fn content_verify_passes_on_a_copy_and_names_every_corruption() {
    let tmp = TempDir::new("content");
    let file = tmp.join("chinook.db");
    std::fs::copy(
        repo_root().join("fixtures/chinook/Chinook_Sqlite.sqlite"),
        &file,
    )
    .expect("copy chinook");
    let c = Connection::open(&file).expect("open copy");
    c.execute_batch(
        "CREATE TABLE notes (body TEXT, n INTEGER, at DATETIME);
         INSERT INTO notes VALUES ('same', 1, '2024-01-01 00:00:00'), ('same', 1, '2024-01-01 00:00:00'), ('other', 2, NULL);",
    )
    .expect("keyless table");
    drop(c);
    let from = format!("sqlite:{}", file.display());
    let db = PgDb::new("content");
    let json = tmp.join("r.json");
    let run = ferry(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--verify",
        "content",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    for t in report["tables"].as_array().expect("tables") {
        assert_eq!(t["verification"]["content"], "ok", "{t}");
    }
    let clean = ferry(&["verify", "--content", "--from", &from, "--to", &db.url]);
    assert_eq!(clean.code, 0, "{}", clean.all());

    db.exec(
        "UPDATE \"Artist\" SET \"Name\" = 'AC/DD' WHERE \"ArtistId\" = 1;
         UPDATE \"Invoice\" SET \"InvoiceDate\" = \"InvoiceDate\" + interval '1 second' WHERE \"InvoiceId\" = 5;
         UPDATE \"InvoiceLine\" SET \"UnitPrice\" = 0.98 WHERE \"InvoiceLineId\" = 1;
         DELETE FROM \"PlaylistTrack\" WHERE \"PlaylistId\" = 1 AND \"TrackId\" = 3402;
         INSERT INTO notes SELECT * FROM notes WHERE body = 'other';",
    );
    let bad = ferry(&[
        "verify",
        "--content",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(bad.code, 1, "{}", bad.all());
    for want in [
        "ArtistId=1: differs in Name",
        "InvoiceId=5: differs in InvoiceDate",
        "InvoiceLineId=1: differs in UnitPrice",
        "PlaylistId=1, TrackId=3402: missing in target",
        "1 in source, 2 in target",
    ] {
        assert!(
            bad.stdout.contains(want),
            "missing `{want}` in:\n{}",
            bad.stdout
        );
    }
    assert!(
        !bad.stdout.contains("AC/DD"),
        "values stay out unless --show-values"
    );
    let report = read_report(&json);
    let differing: Vec<&str> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter(|t| t["verification"]["content"] == "differs")
        .map(|t| t["table"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        differing,
        vec!["Artist", "Invoice", "InvoiceLine", "PlaylistTrack", "notes"]
    );
    let shown = ferry(&[
        "verify",
        "--content",
        "--show-values",
        "--from",
        &from,
        "--to",
        &db.url,
    ]);
    assert!(
        shown.stdout.contains("source \"AC/DC\" target \"AC/DD\""),
        "{}",
        shown.stdout
    );
}
