//! `ferry bench` (issue 17): a generated, deterministic dataset loaded through the normal
//! migrate pipeline into the loopback PostgreSQL and MariaDB, for every profile: the run
//! verifies every value, the report conforms to `docs/report.schema.json` and names the
//! generated source, the target holds exactly the rows the profile makes, the same seed
//! gives identical target content and another seed different content.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_generate::{GeneratedConnector, GeneratedSource, Profile};
use ferry_tests::{ferry, json_schema, read_report, repo_root, MyDb, PgDb, Run, TempDir};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const ROWS: u64 = 5_000;
const PROFILES: [(&str, &str); 4] = [
    ("narrow", "bench_narrow"),
    ("wide", "bench_wide"),
    ("text-heavy", "bench_text"),
    ("blob", "bench_blob"),
];

fn bench(to: &str, profile: &str, rows: u64, seed: u64, extra: &[&str]) -> Run {
    let rows = rows.to_string();
    let seed = seed.to_string();
    let mut args = vec![
        "bench",
        "--to",
        to,
        "--rows",
        &rows,
        "--profile",
        profile,
        "--seed",
        &seed,
        // Small chunks: every table is loaded as several key ranges in parallel.
        "--chunk-rows",
        "1500",
        "--jobs",
        "3",
    ];
    args.extend_from_slice(extra);
    ferry(&args)
}

/// The report at `path`, checked against the schema and for what every bench report says.
fn conforming(path: &Path, source: &str, tables: &[&str], rows: u64) -> Value {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("docs/report.schema.json")).expect("schema"),
    )
    .expect("the schema is JSON");
    let report = read_report(path);
    let broken = json_schema::violations(&schema, &report);
    assert!(
        broken.is_empty(),
        "{source}: the report breaks docs/report.schema.json:\n{}\n{report:#}",
        broken.join("\n")
    );
    assert_eq!(report["source"], source, "{report:#}");
    assert_eq!(report["status"], "complete", "{report:#}");
    let reported: Vec<&str> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["table"].as_str().expect("name"))
        .collect();
    assert_eq!(reported, tables, "{report:#}");
    for t in report["tables"].as_array().expect("tables") {
        assert_eq!(t["rows_read"], rows, "{t:#}");
        assert_eq!(t["rows_written"], rows, "{t:#}");
        assert_eq!(t["verification"]["counts"], "ok", "{t:#}");
        assert_eq!(t["verification"]["content"], "ok", "{t:#}");
    }
    assert_eq!(report["totals"]["rows_written"], rows * tables.len() as u64);
    assert!(
        report["totals"]["rows_per_second"]
            .as_f64()
            .expect("rows/s")
            > 0.0
    );
    report
}

/// One run per profile into `url` (a fresh database each), with content verification and
/// every CI report; `count` reads a table's row count in that database.
fn every_profile(new_db: impl Fn(&str) -> (String, Box<dyn Fn(&str) -> u64>)) {
    let tmp = TempDir::new("bench_cmd");
    for (profile, table) in PROFILES {
        let (url, count) = new_db(profile);
        let json = tmp.join(&format!("{profile}.json"));
        let junit = tmp.join(&format!("{profile}.xml"));
        let md = tmp.join(&format!("{profile}.md"));
        let r = bench(
            &url,
            profile,
            ROWS,
            11,
            &[
                "--verify",
                "content",
                "--json",
                json.to_str().unwrap(),
                "--junit",
                junit.to_str().unwrap(),
                "--summary-md",
                md.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{profile}: {}", r.all());
        assert!(r.stdout.contains("rows/s"), "{}", r.stdout);
        let source = format!("generated:{profile}?rows={ROWS}&seed=11");
        conforming(&json, &source, &[table], ROWS);
        assert_eq!(count(table), ROWS, "{profile}: rows in the target");
        let junit = std::fs::read_to_string(&junit).expect("junit");
        assert!(
            junit.contains(&format!("name=\"{table}\"")) && !junit.contains("<failure"),
            "{junit}"
        );
        let md = std::fs::read_to_string(&md).expect("summary");
        assert!(
            md.contains(&source) && md.contains("rows/s"),
            "the summary names the generated source and the speed: {md}"
        );
    }
}

#[test]
fn every_profile_loads_into_postgres_and_verifies_every_value() {
    every_profile(|profile| {
        let db = Arc::new(PgDb::new(&format!("bench_{}", profile.replace('-', "_"))));
        let url = db.url.clone();
        (
            url,
            Box::new(move |t: &str| {
                db.text(&format!("SELECT count(*)::text FROM {t}"))
                    .expect("count")
                    .parse()
                    .expect("number")
            }),
        )
    });
}

#[test]
fn every_profile_loads_into_mariadb_and_verifies_every_value() {
    every_profile(|profile| {
        let db = Arc::new(MyDb::new(&format!("bench_{}", profile.replace('-', "_"))));
        let url = db.url.clone();
        (
            url,
            Box::new(move |t: &str| {
                db.text(&format!("SELECT CAST(count(*) AS CHAR) FROM {t}"))
                    .expect("count")
                    .parse()
                    .expect("number")
            }),
        )
    });
}

/// A checksum of every row of `table` in PostgreSQL, in key order.
fn pg_checksum(db: &PgDb, table: &str) -> String {
    db.text(&format!(
        "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM {table} t"
    ))
    .expect("checksum")
}

/// MariaDB's checksum of every row of `table`.
fn my_checksum(db: &MyDb, table: &str) -> u64 {
    let sql = format!("CHECKSUM TABLE {table}");
    db.with(async |c| {
        use mysql_async::prelude::Queryable;
        let row: (String, Option<u64>) = c.query_first(&sql).await.expect(&sql).expect("a row");
        row.1.expect("a checksum")
    })
}

#[test]
fn the_same_seed_gives_identical_content_and_another_seed_different_content() {
    let tables: Vec<&str> = PROFILES.iter().map(|(_, t)| *t).collect();
    let tmp = TempDir::new("bench_seed");
    let pg: Vec<PgDb> = (0..3).map(|_| PgDb::new("bench_seed")).collect();
    let my: Vec<MyDb> = (0..3).map(|_| MyDb::new("bench_seed")).collect();
    for (i, seed) in [7, 7, 8].into_iter().enumerate() {
        for url in [&pg[i].url, &my[i].url] {
            let json = tmp.join(&format!("run{i}.json"));
            let r = bench(url, "all", 2_000, seed, &["--json", json.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{}", r.all());
            let source = format!("generated:all?rows=2000&seed={seed}");
            let report = read_report(&json);
            assert_eq!(report["source"], source);
            assert_eq!(report["totals"]["rows_written"], 8_000);
        }
    }
    for t in &tables {
        let p: Vec<String> = pg.iter().map(|db| pg_checksum(db, t)).collect();
        assert_eq!(p[0], p[1], "{t}: same seed, same content in PostgreSQL");
        assert_ne!(p[0], p[2], "{t}: another seed, other content in PostgreSQL");
        let m: Vec<u64> = my.iter().map(|db| my_checksum(db, t)).collect();
        assert_eq!(m[0], m[1], "{t}: same seed, same content in MariaDB");
        assert_ne!(m[0], m[2], "{t}: another seed, other content in MariaDB");
    }
    // Running again over the tables (`--if-exists drop`) reproduces them too.
    let r = bench(&pg[0].url, "all", 2_000, 7, &["--if-exists", "drop"]);
    assert_eq!(r.code, 0, "{}", r.all());
    for t in &tables {
        assert_eq!(pg_checksum(&pg[0], t), pg_checksum(&pg[1], t), "{t}");
    }
}

/// Content verification against a generated source is a real comparison: one changed value
/// in the target is found, in the table and column where it is.
#[test]
fn content_verification_finds_a_changed_value() {
    let db = PgDb::new("bench_changed");
    let r = bench(&db.url, "wide", 3_000, 5, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    db.exec("UPDATE bench_wide SET name = name || 'x' WHERE id = 1234");
    let source = GeneratedSource::new(Profile::Wide, 3_000, 5).expect("source");
    let drivers = GeneratedConnector::new(source, Arc::new(ferry_drivers::Drivers::default()));
    let opts = ferry_engine::VerifyOptions {
        from: GeneratedConnector::placeholder_url().expect("url"),
        to: db.conn_url(),
        config: ferry_engine::Config::default(),
        jobs: 2,
        content: true,
        show_values: false,
        batch: ferry_core::BatchLimits::default(),
    };
    let report = ferry_tests::block_on(ferry_engine::verify::verify(
        &opts,
        &drivers,
        ferry_engine::events::ignore(),
    ))
    .expect("verify runs");
    let t = &report.tables[0];
    assert_eq!(t.table, "bench_wide");
    assert!(t.verification.differs(), "{:?}", t.verification);
    let all = t.verification.differences.join("\n");
    assert!(all.contains("id=1234") || all.contains("1234"), "{all}");
}
