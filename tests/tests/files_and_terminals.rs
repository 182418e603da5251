//! What ferry writes to disk and to the terminal (issue 11, part 7): reject files and the
//! JSON report are private, never written through a symlink, and replace only a file ferry
//! wrote; `--json -` puts the report alone on stdout; source names cannot send terminal
//! escapes or forge lines; a closed stdout ends the run quietly.

use ferry_tests::{ferry, ferry_bin, PgDb, TempDir};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

/// An SQLite file with a table one of whose rows PostgreSQL cannot store (a NUL in text),
/// so `--on-error reject` writes a reject file.
fn source_with_a_bad_row(dir: &TempDir) -> String {
    let path = dir.join("src.db");
    let c = rusqlite::Connection::open(&path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO items VALUES (1, 'fine'), (2, 'also fine');",
    )
    .expect("schema");
    c.execute("INSERT INTO items VALUES (3, ?1)", ["bad\0text"])
        .expect("bad row");
    format!("sqlite:{}", path.display())
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

#[test]
fn reject_file_and_report_are_private_and_replace_only_their_own() {
    let dir = TempDir::new("ferry_files");
    let from = source_with_a_bad_row(&dir);
    let db = PgDb::new("ferry_files");
    let rejects = dir.join("rejects");
    std::fs::create_dir_all(&rejects).expect("dir");
    let reject_dir = rejects.display().to_string();
    let report = dir.join("report.json");
    let report_arg = report.display().to_string();
    let migrate = |extra: &[&str]| {
        let mut args = vec![
            "migrate",
            "--from",
            &from,
            "--to",
            &db.url,
            "--on-error",
            "reject",
            "--allow-rejects",
            "--reject-dir",
            &reject_dir,
            "--json",
            &report_arg,
        ];
        args.extend_from_slice(extra);
        ferry(&args)
    };

    let run = migrate(&[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let reject_file = rejects.join("items.reject.jsonl");
    assert_eq!(mode(&reject_file), 0o600, "reject file mode");
    assert_eq!(mode(&report), 0o600, "report mode");

    // A second run (same plan) replaces ferry's own reject file and report.
    let run = migrate(&["--if-exists", "drop"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let lines = std::fs::read_to_string(&reject_file).expect("reject file");
    assert_eq!(lines.lines().count(), 1, "{lines}");

    // Someone else's file under the report's name: refused before anything is copied, kept.
    std::fs::write(&report, "my notes\n").expect("write");
    let run = migrate(&["--if-exists", "drop"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("not one ferry wrote"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&report).expect("read"),
        "my notes\n"
    );
    std::fs::remove_file(&report).expect("rm");

    // A symlink where the reject file goes: refused before any row moves; the file the link
    // points at is untouched.
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious\n").expect("victim");
    std::fs::remove_file(&reject_file).expect("rm");
    std::os::unix::fs::symlink(&victim, &reject_file).expect("symlink");
    let run = migrate(&["--if-exists", "drop"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "precious\n"
    );
    assert!(!report.exists(), "no report: the run was refused at once");

    // Someone else's file under the reject file's name: refused too, and kept.
    std::fs::remove_file(&reject_file).expect("rm");
    std::fs::write(&reject_file, "not a reject line\n").expect("write");
    let run = migrate(&["--if-exists", "drop"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("not one ferry wrote"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&reject_file).expect("read"),
        "not a reject line\n"
    );
}

#[test]
fn json_dash_puts_the_report_alone_on_stdout() {
    let dir = TempDir::new("ferry_jsondash");
    let path = dir.join("src.db");
    rusqlite::Connection::open(&path)
        .expect("sqlite")
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
        .expect("schema");
    let from = format!("sqlite:{}", path.display());
    let db = PgDb::new("ferry_jsondash");
    let run = ferry(&["migrate", "--from", &from, "--to", &db.url, "--json", "-"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is only JSON");
    assert_eq!(v["tables"][0]["rows_written"], 2);
    assert!(
        run.stderr.contains("TOTAL"),
        "summary on stderr: {}",
        run.stderr
    );
    assert!(!dir.join("-").exists() && !std::path::Path::new("-").exists());

    let run = ferry(&["verify", "--from", &from, "--to", &db.url, "--json", "-"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is only JSON");
    assert_eq!(v["status"], "complete");
    assert!(run.stderr.contains("all 1 tables match"), "{}", run.stderr);
}

#[test]
fn control_characters_in_names_are_escaped() {
    let dir = TempDir::new("ferry_ctrl");
    let path = dir.join("src.db");
    let evil = "evil\u{1b}[2J\u{1b}]0;owned\u{7}\nFORGED: all tables match\r\u{202e}x";
    let c = rusqlite::Connection::open(&path).expect("sqlite");
    c.execute_batch(&format!(
        "CREATE TABLE \"{evil}\" (id INTEGER PRIMARY KEY, \"col\u{1b}[31m\" TEXT);
         INSERT INTO \"{evil}\" VALUES (1, 'a');
         CREATE VIEW \"view\u{1b}[1m\nFORGED view\" AS SELECT 1;"
    ))
    .expect("schema");
    drop(c);
    let from = format!("sqlite:{}", path.display());
    let db = PgDb::new("ferry_ctrl");
    for args in [
        vec!["migrate", "--from", &from, "--to", &db.url],
        vec!["verify", "--from", &from, "--to", &db.url, "--content"],
        vec!["schema", "--from", &from, "--to-dialect", "mysql"],
        // A failing run: the table already exists; the error names it.
        vec!["migrate", "--from", &from, "--to", &db.url],
    ] {
        let run = ferry(&args);
        assert!(run.code == 0 || run.code == 2, "{args:?}: {}", run.all());
        // The DDL script is SQL for a file or a pipe, not for the terminal; the rest is
        // checked whole.
        let shown = if args[0] == "schema" {
            run.stderr.clone()
        } else {
            run.all()
        };
        for bad in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
            assert!(!shown.contains(bad), "{args:?}: {bad:?} in {shown:?}");
        }
        assert!(
            !shown.lines().any(|l| l.starts_with("FORGED")),
            "{args:?}: a forged line in {shown}"
        );
        // The names are there, escaped: the table in tables and errors, the view in warnings.
        let escaped = if args[0] == "schema" {
            "view \"view\\u{1b}[1m\\nFORGED view\" is not copied"
        } else {
            "evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\nFORGED: all tables match\\r\\u{202e}x"
        };
        assert!(shown.contains(escaped), "{args:?}: {shown}");
    }
}

/// `ferry migrate | head -1` style: stdout closed before the summary is printed. The run
/// still finishes, exits 0, and says nothing about the pipe (no panic).
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = TempDir::new("ferry_pipe");
    let path = dir.join("src.db");
    rusqlite::Connection::open(&path)
        .expect("sqlite")
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);")
        .expect("schema");
    let from = format!("sqlite:{}", path.display());
    let db = PgDb::new("ferry_pipe");
    for args in [
        vec!["migrate", "--from", &from, "--to", &db.url],
        vec!["verify", "--from", &from, "--to", &db.url],
        vec!["schema", "--from", &from, "--to-dialect", "postgres"],
    ] {
        let mut child = Command::new(ferry_bin())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
}
