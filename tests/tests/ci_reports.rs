//! What CI systems read (issue 17), from real runs of the `ferry` binary against the
//! loopback PostgreSQL: the JSON report conforms to `docs/report.schema.json` in every way a
//! run can end (complete, incomplete with rejects, failed, a content verification that
//! differs), carries its format `version` and the process's peak RSS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_tests::{ferry, json_schema, read_report, repo_root, PgDb, Run, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A SQLite source: `good` (3 rows that fit anywhere) and `bad` (6 rows, 3 of which hold
/// text in an integer column).
fn source(tmp: &TempDir) -> String {
    let path = tmp.join("source.db");
    let c = rusqlite::Connection::open(&path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE good (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO good VALUES (1, 'one'), (2, 'two'), (3, 'three');
         CREATE TABLE bad (id INTEGER PRIMARY KEY, n INTEGER);
         INSERT INTO bad VALUES (1, 1), (2, 'twelve'), (3, 3), (4, 'x'), (5, 5), (6, 'y');",
    )
    .expect("fixture");
    format!("sqlite:{}", path.display())
}

/// A config that copies only `good`.
fn only_good(tmp: &TempDir) -> PathBuf {
    let p = tmp.join("only_good.toml");
    std::fs::write(&p, "[tables]\ninclude = [\"good\"]\n").expect("config");
    p
}

fn schema() -> Value {
    let text = std::fs::read_to_string(repo_root().join("docs/report.schema.json"))
        .expect("docs/report.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The report at `path` conforms to the schema; returns it.
fn conforming(path: &Path, what: &str) -> Value {
    let report = read_report(path);
    let broken = json_schema::violations(&schema(), &report);
    assert!(
        broken.is_empty(),
        "{what}: the report breaks docs/report.schema.json:\n{}\n{report:#}",
        broken.join("\n")
    );
    assert_eq!(report["version"], 1, "{what}");
    let rss = report["totals"]["peak_rss_bytes"]
        .as_u64()
        .expect("peak RSS on Linux");
    // ferry holds at least a few megabytes, and far less than 10 GB for these tables.
    assert!((2 << 20..10 << 30).contains(&rss), "{what}: peak RSS {rss}");
    report
}

fn run(args: &[&str]) -> Run {
    ferry(args)
}

#[test]
fn reports_of_every_ending_conform_to_the_schema() {
    let tmp = TempDir::new("ci_reports");
    let from = source(&tmp);
    let config = only_good(&tmp);
    let config = config.to_str().expect("utf8");

    // Complete, with content verification.
    let db = PgDb::new("ci_complete");
    let json = tmp.join("complete.json");
    let r = run(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--config",
        config,
        "--verify",
        "content",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let report = conforming(&json, "complete");
    assert_eq!(report["status"], "complete");
    assert_eq!(report["totals"]["rows_written"], 3);

    // Incomplete: rows rejected, with a reject file.
    let db = PgDb::new("ci_rejects");
    let json = tmp.join("rejects.json");
    let rejects = tmp.join("rejects");
    let r = run(&[
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
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let report = conforming(&json, "rejects");
    assert_eq!(report["status"], "incomplete");
    assert_eq!(report["totals"]["rows_rejected"], 3);

    // Failed: the first bad row stops the run.
    let db = PgDb::new("ci_failed");
    let json = tmp.join("failed.json");
    let r = run(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    let report = conforming(&json, "failed");
    assert_eq!(report["status"], "failed");
    assert!(report["error"].is_string(), "{report:#}");

    // verify --content on a target changed after the copy: differences are listed.
    let db = PgDb::new("ci_verify");
    let r = run(&[
        "migrate", "--from", &from, "--to", &db.url, "--config", config,
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    db.exec("UPDATE good SET name = 'changed' WHERE id = 2");
    let json = tmp.join("verify.json");
    let r = run(&[
        "verify",
        "--content",
        "--from",
        &from,
        "--to",
        &db.url,
        "--config",
        config,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let report = conforming(&json, "verify");
    let good = &report["tables"][0];
    assert_eq!(good["verification"]["content"], "differs", "{report:#}");
    assert!(
        good["verification"]["differences"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{report:#}"
    );
}

/// The `<testcase ...>` elements of a JUnit file, each as (name, failure message or "").
fn junit_cases(xml: &str) -> Vec<(String, String)> {
    let mut cases = Vec::new();
    for part in xml.split("<testcase ").skip(1) {
        let body = part.split("</testcase>").next().unwrap_or("");
        let name = body
            .split(" name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("")
            .to_string();
        let failure = body
            .split("<failure message=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("")
            .to_string();
        cases.push((name, failure));
    }
    cases
}

#[test]
fn junit_and_markdown_summary_of_migrate_and_verify() {
    let tmp = TempDir::new("ci_junit");
    let from = source(&tmp);
    let db = PgDb::new("ci_junit");
    let (junit, md) = (tmp.join("migrate.xml"), tmp.join("summary.md"));
    let rejects = tmp.join("rejects");
    let r = run(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--on-error",
        "reject",
        "--reject-dir",
        rejects.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
        "--summary-md",
        md.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.starts_with("<?xml version=\"1.0\""), "{xml}");
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    let mut cases = junit_cases(&xml);
    cases.sort();
    assert_eq!(cases.len(), 2, "{xml}");
    assert_eq!(cases[0].0, "bad");
    assert!(cases[0].1.starts_with("3 rows rejected (in "), "{xml}");
    assert_eq!(cases[1], ("good".to_string(), String::new()), "{xml}");
    let summary = std::fs::read_to_string(&md).expect("summary written");
    assert!(summary.contains("ferry migrate: incomplete"), "{summary}");
    assert!(summary.contains("| good | ✅ | 3 | 0 |"), "{summary}");
    assert!(summary.contains("| bad | ❌ | 3 | 3 |"), "{summary}");
    assert!(
        summary.contains("| **total** (2 tables) | ⚠️ | 6 | 3 |"),
        "{summary}"
    );

    // verify: the counts of `bad` differ (3 of 6 rows arrived); then, after a change, the
    // content of `good`. The summary file is appended to, as $GITHUB_STEP_SUMMARY wants.
    let junit = tmp.join("verify.xml");
    let r = run(&[
        "verify",
        "--from",
        &from,
        "--to",
        &db.url,
        "--junit",
        junit.to_str().expect("utf8"),
        "--summary-md",
        md.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let mut cases = junit_cases(&xml);
    cases.sort();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert_eq!(cases[0].1, "row counts differ: source 6, target 3", "{xml}");
    assert_eq!(cases[1].1, "", "{xml}");

    db.exec("UPDATE good SET name = 'changed' WHERE id = 2");
    let config = only_good(&tmp);
    let r = run(&[
        "verify",
        "--content",
        "--from",
        &from,
        "--to",
        &db.url,
        "--config",
        config.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
        "--summary-md",
        md.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = std::fs::read_to_string(&junit).expect("junit replaced");
    let cases = junit_cases(&xml);
    assert_eq!(
        cases,
        vec![("good".to_string(), "content differs".to_string())],
        "{xml}"
    );
    assert!(
        xml.contains("id=2"),
        "the differing key is in the details: {xml}"
    );
    let summary = std::fs::read_to_string(&md).expect("summary");
    assert_eq!(summary.matches("### ").count(), 3, "{summary}");
    assert!(summary.contains("ferry verify: incomplete"), "{summary}");
}

/// `ferry report compare` of two files: (exit code, everything printed).
fn compare(base: &Path, new: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "report",
        "compare",
        base.to_str().expect("utf8"),
        new.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    (r.code, r.all())
}

/// A copy of the report at `path` with `edit` applied, written beside it as `name`.
fn edited(path: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut v = read_report(path);
    edit(&mut v);
    let out = path.with_file_name(name);
    std::fs::write(&out, serde_json::to_string(&v).expect("json")).expect("write");
    out
}

#[test]
fn report_compare_gates_speed_memory_and_rows() {
    let tmp = TempDir::new("ci_compare");
    let from = source(&tmp);
    let config = only_good(&tmp);
    let config = config.to_str().expect("utf8");
    let load = |name: &str| {
        let db = PgDb::new("ci_cmp");
        let json = tmp.join(name);
        let r = run(&[
            "migrate",
            "--from",
            &from,
            "--to",
            &db.url,
            "--config",
            config,
            "--json",
            json.to_str().expect("utf8"),
        ]);
        assert_eq!(r.code, 0, "{}", r.all());
        json
    };
    let (base, new) = (load("base.json"), load("new.json"));

    // Two real loads of the same data: same rows; timings of a 3-row load are noise, so a
    // generous allowance passes.
    let (code, out) = compare(
        &base,
        &new,
        &["--max-slower", "100000%", "--max-rss-growth", "100%"],
    );
    assert_eq!(code, 0, "{out}");
    for want in [
        "good",
        "total",
        "rows/s base",
        "MB/s new",
        "peak RSS:",
        "ok: same rows",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }

    // Slower than allowed.
    let slow = edited(&base, "slow.json", |v| {
        v["seconds"] = serde_json::json!(v["seconds"].as_f64().unwrap() * 1.5 + 1.0);
    });
    let (code, out) = compare(&base, &slow, &["--max-slower", "10%"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL: wall time"), "{out}");
    let (code, out) = compare(&slow, &base, &["--max-slower", "10%"]);
    assert_eq!(code, 0, "faster is fine: {out}");

    // Larger than allowed.
    let big = edited(&base, "big.json", |v| {
        let rss = v["totals"]["peak_rss_bytes"].as_u64().unwrap();
        v["totals"]["peak_rss_bytes"] = serde_json::json!(rss * 13 / 10);
    });
    let (code, out) = compare(&base, &big, &["--max-slower", "100000%"]);
    assert_eq!(code, 1, "+30% RSS against the default 20%: {out}");
    assert!(out.contains("FAIL: peak RSS"), "{out}");
    let (code, out) = compare(
        &base,
        &big,
        &["--max-slower", "100000%", "--max-rss-growth", "35%"],
    );
    assert_eq!(code, 0, "{out}");

    // Different rows: a real load of both tables (with rejects) against one of `good`.
    let db = PgDb::new("ci_cmp_rows");
    let both = tmp.join("both.json");
    let r = run(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--on-error",
        "reject",
        "--reject-dir",
        tmp.0.to_str().expect("utf8"),
        "--json",
        both.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let (code, out) = compare(
        &base,
        &both,
        &["--max-slower", "100000%", "--max-rss-growth", "1000%"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL: table bad: not in the baseline"),
        "{out}"
    );
    assert!(
        out.contains("FAIL: total: 6 rows, the baseline moved 3"),
        "{out}"
    );
    let fewer = edited(&base, "fewer.json", |v| {
        v["tables"][0]["rows_written"] = serde_json::json!(2);
    });
    let (code, out) = compare(&base, &fewer, &["--max-slower", "100000%"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL: table good: 2 rows, the baseline moved 3"),
        "{out}"
    );

    // Unreadable input: exit 2 naming the file.
    let garbage = tmp.join("garbage.json");
    std::fs::write(&garbage, "{not json").expect("write");
    let (code, out) = compare(&base, &garbage, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("garbage.json") && out.contains("not JSON"),
        "{out}"
    );
    let (code, out) = compare(&tmp.join("missing.json"), &base, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("missing.json"), "{out}");
    let other = edited(&base, "other.json", |v| {
        v.as_object_mut().unwrap().remove("ferry_version");
    });
    let (code, out) = compare(&other, &base, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not a ferry report"), "{out}");
    let (code, out) = compare(&base, &new, &["--max-slower", "fast"]);
    assert_eq!(code, 2, "{out}");
}
