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

/// One `<testcase>` of a JUnit file.
#[derive(Debug, Default)]
struct Case {
    name: String,
    /// The `message` of its `<failure>`, if it has one.
    failure: Option<String>,
    /// The `message` of its `<error>`, if it has one.
    error: Option<String>,
}

/// A JUnit file read with a real XML tokenizer: it must be well-formed (every element
/// closed by its own name, known entities only); returns the attributes of the root
/// `<testsuites>` and the test cases.
fn parse_junit(xml: &str) -> (std::collections::BTreeMap<String, String>, Vec<Case>) {
    use xmlparser::{ElementEnd, Token, Tokenizer};
    let unescape = |text: &str| -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let end = rest[i..]
                .find(';')
                .unwrap_or_else(|| panic!("bad entity in {text}"));
            out.push(match &rest[i + 1..i + end] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                other => panic!("unknown entity &{other}; in {text}"),
            });
            rest = &rest[i + end + 1..];
        }
        out.push_str(rest);
        out
    };
    let mut root = std::collections::BTreeMap::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut current = String::new();
    for token in Tokenizer::from(xml) {
        match token.unwrap_or_else(|e| panic!("JUnit is not well-formed XML: {e}\n{xml}")) {
            Token::ElementStart { local, .. } => {
                current = local.as_str().to_string();
                if current == "testcase" {
                    cases.push(Case::default());
                }
            }
            Token::Attribute { local, value, .. } => {
                let value = unescape(value.as_str());
                match (current.as_str(), local.as_str()) {
                    ("testsuites", k) => {
                        root.insert(k.to_string(), value);
                    }
                    ("testcase", "name") => cases.last_mut().expect("case").name = value,
                    ("failure", "message") => {
                        cases.last_mut().expect("failure in a case").failure = Some(value)
                    }
                    ("error", "message") => {
                        cases.last_mut().expect("error in a case").error = Some(value)
                    }
                    _ => {}
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => stack.push(std::mem::take(&mut current)),
                ElementEnd::Empty => current.clear(),
                ElementEnd::Close(_, local) => {
                    let open = stack.pop().unwrap_or_default();
                    assert_eq!(open, local.as_str(), "mismatched tags in\n{xml}");
                }
            },
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?} in\n{xml}");
    (root, cases)
}

/// The `<testcase ...>` elements of a JUnit file, each as (name, failure message or "").
fn junit_cases(xml: &str) -> Vec<(String, String)> {
    parse_junit(xml)
        .1
        .into_iter()
        .map(|c| (c.name, c.failure.unwrap_or_default()))
        .collect()
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
    assert!(
        out.contains("FAIL: the new run did not complete (status incomplete)"),
        "rows were rejected: {out}"
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
    // A report of a format this ferry does not know, an empty file, a directory, a report
    // whose numbers are not numbers: exit 2 naming the file, never a comparison.
    let future = edited(&base, "future.json", |v| {
        v["version"] = serde_json::json!(2)
    });
    let (code, out) = compare(&base, &future, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("future.json") && out.contains("report format version 2"),
        "{out}"
    );
    let empty = tmp.join("empty.json");
    std::fs::write(&empty, "").expect("write");
    let (code, out) = compare(&empty, &base, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("empty.json"), "{out}");
    let (code, out) = compare(&base, &tmp.0, &[]);
    assert_eq!(code, 2, "{out}");
    let text_rows = edited(&base, "text_rows.json", |v| {
        v["tables"][0]["rows_written"] = serde_json::json!("3");
    });
    let (code, out) = compare(&base, &text_rows, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("`rows_written` is not a count"), "{out}");
    assert!(!out.contains("FAIL:") && !out.contains("ok:"), "{out}");
}

/// A run that stopped (exit 2): its JUnit has the errored case `(run)` with the cause and
/// the failed table, its summary says so, and the gate fails it (exit 1, not 2: the
/// report is readable, the run is what failed).
#[test]
fn a_stopped_run_is_an_errored_junit_case_and_fails_the_gate() {
    let tmp = TempDir::new("ci_stopped");
    let from = source(&tmp);
    let db = PgDb::new("ci_stopped");
    let (json, junit, md) = (
        tmp.join("stopped.json"),
        tmp.join("stopped.xml"),
        tmp.join("stopped.md"),
    );
    let r = run(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &db.url,
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
        "--summary-md",
        md.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    let cause = "table `bad`, column `n`, rowid 2: text that is not an integer";
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let (suites, cases) = parse_junit(&xml);
    assert_eq!(suites["errors"], "1", "{xml}");
    assert_eq!(suites["tests"], cases.len().to_string(), "{xml}");
    let run_case = cases.iter().find(|c| c.name == "(run)").expect("(run)");
    assert!(
        run_case
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(cause)),
        "{xml}"
    );
    let bad = cases.iter().find(|c| c.name == "bad").expect("bad");
    assert!(
        bad.failure
            .as_deref()
            .is_some_and(|f| f.starts_with(&format!("table failed: {cause}"))),
        "{xml}"
    );
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    assert_eq!(suites["failures"], failures.to_string(), "{xml}");
    let summary = std::fs::read_to_string(&md).expect("summary written");
    assert!(
        summary.starts_with("### ❌ ferry migrate: failed"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("**Error:** {cause}")),
        "{summary}"
    );
    conforming(&json, "stopped");

    // The gate against a complete load of the same tables.
    let ok_db = PgDb::new("ci_stopped_ok");
    let base = tmp.join("base.json");
    let r = run(&[
        "migrate",
        "--from",
        &from,
        "--to",
        &ok_db.url,
        "--on-error",
        "reject",
        "--reject-dir",
        tmp.0.to_str().expect("utf8"),
        "--json",
        base.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let (code, out) = compare(
        &base,
        &json,
        &["--max-slower", "100000%", "--max-rss-growth", "1000%"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL: the new run did not complete (status failed)"),
        "{out}"
    );
}

/// A `--junit` or `--summary-md` path that cannot be written stops the run before a row
/// moves (and before anything is made in the target), naming the flag.
#[test]
fn an_unwritable_ci_report_path_stops_before_the_run() {
    let tmp = TempDir::new("ci_badpath");
    let from = source(&tmp);
    let db = PgDb::new("ci_badpath");
    let missing = tmp.join("no/such/dir/junit.xml");
    let dir = tmp.0.to_str().expect("utf8").to_string();
    for (flag, path) in [
        ("--junit", missing.to_str().expect("utf8")),
        ("--summary-md", dir.as_str()),
    ] {
        let r = run(&["migrate", "--from", &from, "--to", &db.url, flag, path]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains(&format!("{flag} {path}")), "{}", r.all());
        assert_eq!(
            db.text("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'")
                .as_deref(),
            Some("0"),
            "{flag}: nothing was made"
        );
    }
    let r = run(&[
        "verify",
        "--from",
        &from,
        "--to",
        &db.url,
        "--junit",
        missing.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("does not exist"), "{}", r.all());
}
