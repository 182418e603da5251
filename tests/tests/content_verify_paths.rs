//! Content verification on every path besides SQLite -> PostgreSQL (content_verify.rs):
//! Chinook copied by ferry compares equal value by value, and five kinds of corruption on
//! the target — a changed character, a timestamp one second off, a decimal changed in its
//! last digit, a deleted row, a duplicated row in a table without a key — are each found
//! and named by table and key.

use ferry_tests::{ferry, read_report, repo_root, MyDb, PgDb, TempDir};

/// Chinook's names in the two spellings of the fixtures.
struct Names {
    artist: &'static str,
    artist_id: &'static str,
    name: &'static str,
    invoice: &'static str,
    invoice_id: &'static str,
    invoice_date: &'static str,
    invoice_line: &'static str,
    invoice_line_id: &'static str,
    unit_price: &'static str,
    playlist_track: &'static str,
    playlist_id: &'static str,
    track_id: &'static str,
}

/// SQLite's and MySQL's Chinook.
const CAMEL: Names = Names {
    artist: "Artist",
    artist_id: "ArtistId",
    name: "Name",
    invoice: "Invoice",
    invoice_id: "InvoiceId",
    invoice_date: "InvoiceDate",
    invoice_line: "InvoiceLine",
    invoice_line_id: "InvoiceLineId",
    unit_price: "UnitPrice",
    playlist_track: "PlaylistTrack",
    playlist_id: "PlaylistId",
    track_id: "TrackId",
};

/// PostgreSQL's Chinook.
const SNAKE: Names = Names {
    artist: "artist",
    artist_id: "artist_id",
    name: "name",
    invoice: "invoice",
    invoice_id: "invoice_id",
    invoice_date: "invoice_date",
    invoice_line: "invoice_line",
    invoice_line_id: "invoice_line_id",
    unit_price: "unit_price",
    playlist_track: "playlist_track",
    playlist_id: "playlist_id",
    track_id: "track_id",
};

/// The keyless table every source gets: two equal rows and one other.
const NOTES: &str = "INSERT INTO notes VALUES ('same', 1, '2024-01-01 00:00:00'), ('same', 1, '2024-01-01 00:00:00'), ('other', 2, NULL)";

enum Db {
    Sqlite { _dir: TempDir, url: String },
    Pg(PgDb),
    My(MyDb),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite { url, .. } => url.clone(),
            Db::Pg(d) => d.url.clone(),
            Db::My(d) => d.url.clone(),
        }
    }

    /// Corrupt the copy: one of each kind.
    fn corrupt(&self, n: &Names) {
        let (q, second, dup): (fn(&str) -> String, &str, &str) = match self {
            Db::Pg(_) => (
                |s| format!("\"{s}\""),
                "interval '1 second'",
                "SELECT * FROM notes WHERE body = 'other'",
            ),
            // MySQL cannot select from the table it inserts into without a derived table.
            Db::My(_) => (
                |s| format!("`{s}`"),
                "INTERVAL 1 SECOND",
                "SELECT * FROM (SELECT * FROM notes WHERE body = 'other') AS o",
            ),
            Db::Sqlite { .. } => unreachable!("SQLite is never a target"),
        };
        let sql = format!(
            "UPDATE {a} SET {nm} = 'AC/DD' WHERE {aid} = 1;
             UPDATE {i} SET {idt} = {idt} + {second} WHERE {iid} = 5;
             UPDATE {il} SET {up} = {up} - 0.01 WHERE {ilid} = 1;
             DELETE FROM {pt} WHERE {pid} = 1 AND {tid} = 3402;
             INSERT INTO notes {dup};",
            a = q(n.artist),
            nm = q(n.name),
            aid = q(n.artist_id),
            i = q(n.invoice),
            idt = q(n.invoice_date),
            iid = q(n.invoice_id),
            il = q(n.invoice_line),
            up = q(n.unit_price),
            ilid = q(n.invoice_line_id),
            pt = q(n.playlist_track),
            pid = q(n.playlist_id),
            tid = q(n.track_id),
        );
        match self {
            Db::Pg(d) => d.exec(&sql),
            Db::My(d) => d.exec(&sql),
            Db::Sqlite { .. } => unreachable!("SQLite is never a target"),
        }
    }
}

fn sqlite_chinook() -> Db {
    let tmp = TempDir::new("cvp-sqlite");
    let file = tmp.join("chinook.db");
    std::fs::copy(
        repo_root().join("fixtures/chinook/Chinook_Sqlite.sqlite"),
        &file,
    )
    .expect("copy chinook");
    let c = rusqlite::Connection::open(&file).expect("open copy");
    c.execute_batch(&format!(
        "CREATE TABLE notes (body TEXT, n INTEGER, at DATETIME); {NOTES};"
    ))
    .expect("keyless table");
    let url = format!("sqlite:{}", file.display());
    Db::Sqlite { _dir: tmp, url }
}

/// A fixture script without its own database switching.
fn script(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path))
        .expect("fixture")
        .lines()
        .filter(|l| {
            !(l.starts_with("DROP DATABASE")
                || l.starts_with("CREATE DATABASE")
                || l.starts_with("USE ")
                || l.starts_with("\\c"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn mysql_chinook() -> Db {
    let db = MyDb::new("cvp_src");
    db.exec(&script("fixtures/chinook/Chinook_MySql.sql"));
    db.exec(&format!(
        "CREATE TABLE notes (body TEXT, n INT, at DATETIME); {NOTES}"
    ));
    Db::My(db)
}

fn postgres_chinook() -> Db {
    let db = PgDb::new("cvp_src");
    db.exec(&script("fixtures/chinook/Chinook_PostgreSql.sql"));
    db.exec(&format!(
        "CREATE TABLE notes (body text, n int, at timestamp); {NOTES}"
    ));
    Db::Pg(db)
}

/// Copy `src` into `dst` with `--verify content`, corrupt the copy, and check that
/// `ferry verify --content` finds and names every corruption.
fn check_path(src: Db, dst: Db, names: &Names) {
    let tmp = TempDir::new("cvp");
    let json = tmp.join("r.json");
    let json_arg = json.display().to_string();
    let (from, to) = (src.url(), dst.url());
    let run = ferry(&[
        "migrate", "--from", &from, "--to", &to, "--verify", "content", "--json", &json_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    let tables = report["tables"].as_array().expect("tables");
    assert!(tables.len() >= 12, "{report}");
    for t in tables {
        assert_eq!(t["verification"]["content"], "ok", "{t}");
    }

    dst.corrupt(names);
    let bad = ferry(&[
        "verify",
        "--content",
        "--from",
        &from,
        "--to",
        &to,
        "--json",
        &json_arg,
    ]);
    assert_eq!(bad.code, 1, "{}", bad.all());
    for want in [
        format!("{}=1: differs in {}", names.artist_id, names.name),
        format!("{}=5: differs in {}", names.invoice_id, names.invoice_date),
        format!(
            "{}=1: differs in {}",
            names.invoice_line_id, names.unit_price
        ),
        format!(
            "{}=1, {}=3402: missing in target",
            names.playlist_id, names.track_id
        ),
        "1 in source, 2 in target".to_string(),
    ] {
        assert!(
            bad.stdout.contains(&want),
            "missing `{want}` in:\n{}",
            bad.stdout
        );
    }
    assert!(
        !bad.stdout.contains("AC/DD"),
        "values only with --show-values"
    );
    let report = read_report(&json);
    let mut differing: Vec<String> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter(|t| t["verification"]["content"] == "differs")
        .map(|t| {
            let name = t["table"].as_str().unwrap_or("");
            name.rsplit('.').next().unwrap_or(name).to_string()
        })
        .collect();
    differing.sort();
    let mut want = vec![
        names.artist.to_string(),
        names.invoice.to_string(),
        names.invoice_line.to_string(),
        names.playlist_track.to_string(),
        "notes".to_string(),
    ];
    want.sort();
    assert_eq!(differing, want);
}

#[test]
fn sqlite_to_mysql() {
    check_path(sqlite_chinook(), Db::My(MyDb::new("cvp_dst")), &CAMEL);
}

#[test]
fn mysql_to_postgres() {
    check_path(mysql_chinook(), Db::Pg(PgDb::new("cvp_dst")), &CAMEL);
}

#[test]
fn mysql_to_mysql() {
    check_path(mysql_chinook(), Db::My(MyDb::new("cvp_dst")), &CAMEL);
}

#[test]
fn postgres_to_postgres() {
    check_path(postgres_chinook(), Db::Pg(PgDb::new("cvp_dst")), &SNAKE);
}

#[test]
fn postgres_to_mysql() {
    check_path(postgres_chinook(), Db::My(MyDb::new("cvp_dst")), &SNAKE);
}
