//! Crash and resume: ferry is killed (SIGKILL) at random points of a load — during the
//! schema, the chunks of a big table, index builds, foreign keys, sequences and the count
//! check — each in a separate run; `ferry migrate --resume` then finishes the job and
//! `--verify content` proves the target identical to the source: no row missing, none
//! doubled, with or without a key. The kill points are aimed at each phase in turn, and
//! where each landed (the last line the killed run printed) is counted.

use ferry_tests::{ferry, ferry_bin, read_report, MyDb, PgDb, TempDir};
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIG: i64 = 80_000;
const CHUNK_ROWS: &str = "10000";

/// A source with a big chunked table (integer key, indexes, a foreign key), a table
/// without any key, and a small parent table.
fn source_database(path: &std::path::Path) {
    source_database_of(path, BIG);
}

/// [`source_database`] with `big` rows in the big table.
fn source_database_of(path: &std::path::Path, big: i64) {
    let mut c = Connection::open(path).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL REFERENCES owners(id),
                              code TEXT NOT NULL, amount NUMERIC(12,2), at DATETIME NOT NULL, note TEXT);
         CREATE INDEX orders_owner ON orders(owner);
         CREATE INDEX orders_at ON orders(at, code);
         CREATE UNIQUE INDEX orders_code ON orders(code);
         CREATE TABLE readings (sensor TEXT NOT NULL, value REAL, taken DATETIME);",
    )
    .expect("schema");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO owners VALUES (?1, ?2)")
            .expect("prepare");
        for i in 1..=50 {
            ins.execute(rusqlite::params![i, format!("owner {i} 🚢")])
                .expect("insert");
        }
        let mut ins = tx
            .prepare("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .expect("prepare");
        for i in 1..=big {
            let at = format!(
                "2024-{:02}-{:02} {:02}:{:02}:{:02}",
                i % 12 + 1,
                i % 28 + 1,
                i % 24,
                i % 60,
                (i * 7) % 60
            );
            ins.execute(rusqlite::params![
                i,
                i % 50 + 1,
                format!("C{i:08}"),
                format!("{}.{:02}", i * 3, i % 100),
                at,
                "n".repeat((i % 90) as usize)
            ])
            .expect("insert");
        }
        let mut ins = tx
            .prepare("INSERT INTO readings VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for i in 0..big / 4 {
            // Repeated rows: a keyless table is compared as a multiset.
            ins.execute(rusqlite::params![
                format!("s{}", i % 7),
                (i % 1000) as f64 / 8.0,
                format!("2024-03-01 00:00:{:02}", i % 60)
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
}

enum Target {
    Pg(PgDb),
    My(MyDb),
}

impl Target {
    fn url(&self) -> &str {
        match self {
            Target::Pg(d) => &d.url,
            Target::My(d) => &d.url,
        }
    }

    fn text(&self, sql: &str) -> Option<String> {
        match self {
            Target::Pg(d) => d.text(sql),
            Target::My(d) => d.text(sql),
        }
    }

    /// What a resume will find of the big table: its rows in the target must be exactly
    /// the rows of the chunks recorded as done (they commit together), and no chunk may
    /// hold more than half of `--chunk-rows`, so the two in flight at the kill — all a
    /// resume repeats — hold at most `--chunk-rows` rows.
    fn check_recorded_chunks(&self, chunk_rows: &str, context: &str) {
        if !self.has_progress_table() {
            return;
        }
        let num = |sql: &str| -> i64 {
            self.text(sql)
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{context}: {sql}"))
        };
        let chunks = "FROM _ferry_progress WHERE step = 'chunk' AND tbl LIKE '%orders'";
        if num(&format!("SELECT count(*) {chunks}")) == 0 {
            return;
        }
        let limit: i64 = chunk_rows.parse().expect("chunk rows");
        let widest = num(&format!("SELECT max(hi - lo) {chunks}"));
        assert!(widest <= limit / 2, "{context}: a chunk of {widest} keys");
        let recorded = num(&format!(
            "SELECT COALESCE(sum(rows_done), 0) {chunks} AND done = 1"
        ));
        let present = num("SELECT count(*) FROM orders");
        assert_eq!(
            present, recorded,
            "{context}: rows in the target vs rows of chunks recorded as done"
        );
    }

    /// The target's keys, indexes and foreign keys (with whether each is valid), as one
    /// sorted list: a resumed run must leave the same as an undisturbed one.
    fn shape(&self) -> String {
        let sql = match self {
            Target::Pg(_) => {
                "SELECT string_agg(x, ',' ORDER BY x) FROM (\
                 SELECT i.indexrelid::regclass::text || ':' || i.indisvalid::text FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
                 UNION ALL SELECT conrelid::regclass::text || '.' || conname || ':' || contype::text || ':' || convalidated \
                 FROM pg_constraint WHERE contype IN ('p', 'u', 'f', 'c') \
                 AND connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)) s(x)"
            }
            Target::My(_) => {
                "SELECT GROUP_CONCAT(x ORDER BY x) FROM (\
                 SELECT CONCAT(TABLE_NAME, '.', INDEX_NAME, ':', NON_UNIQUE) x FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE \
                 UNION ALL SELECT CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME, ':', CONSTRAINT_TYPE) \
                 FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE()) s"
            }
        };
        self.text(sql).unwrap_or_default()
    }

    fn has_progress_table(&self) -> bool {
        match self {
            Target::Pg(d) => pg_has_progress(d),
            Target::My(d) => {
                d.text("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_ferry_progress'")
                    .as_deref()
                    == Some("1")
            }
        }
    }
}

fn pg_has_progress(d: &PgDb) -> bool {
    d.text("SELECT to_regclass('_ferry_progress') IS NOT NULL")
        .as_deref()
        == Some("true")
}

/// A small xorshift generator: the points are random, and the seed printed with every
/// failure makes a run reproducible (FERRY_TEST_SEED).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("FERRY_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
                    | 1
            });
        Rng(seed)
    }

    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn migrate_args<'a>(from: &'a str, to: &'a str) -> Vec<&'a str> {
    migrate_args_with(from, to, CHUNK_ROWS)
}

fn migrate_args_with<'a>(from: &'a str, to: &'a str, chunk_rows: &'a str) -> Vec<&'a str> {
    vec![
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--jobs",
        "2",
        "--chunk-rows",
        chunk_rows,
        "--batch-rows",
        "2000",
    ]
}

/// The phases of a run, as its log lines show them.
const PHASES: [&str; 6] = [
    "schema",
    "load",
    "keys",
    "foreign keys",
    "sequences",
    "verify",
];

/// The phase a run is in once it printed `line` (the CLI's log: "phase: copy",
/// "orders: copying", "orders: building keys and indexes", ...); `None`: the line does not
/// start a phase (a warning, a table done, a row count).
fn phase_started_by(line: &str) -> Option<&'static str> {
    match line.strip_prefix("phase: ") {
        Some("schema") => Some("schema"),
        Some("copy") => Some("load"),
        Some(p) => PHASES.iter().copied().find(|q| *q == p),
        None if line.ends_with(": building keys and indexes") => Some("keys"),
        None if line.contains(": copying") => Some("load"),
        None => None,
    }
}

/// The phase after each of `lines`.
fn phases_of(lines: &[(Duration, String)]) -> Vec<&'static str> {
    let mut phase = "schema";
    lines
        .iter()
        .map(|(_, l)| {
            phase = phase_started_by(l).unwrap_or(phase);
            phase
        })
        .collect()
}

/// One path to crash and resume.
struct Case<'a> {
    from: &'a str,
    /// Rows of the big table.
    big: i64,
    chunk_rows: &'a str,
    /// Whether the source's row estimate is exact (SQLite), so the chunk count is known.
    exact_estimate: bool,
}

/// Where the kills landed: by what the resumed run found of the big table, and by the
/// phase the killed run was in (the last phase its log had started).
#[derive(Default, Debug)]
struct Landed {
    /// Kills that found ferry still running.
    hit: usize,
    /// ... before any chunk of the big table committed.
    before_big: usize,
    /// ... with some of its chunks committed.
    mid_big: usize,
    /// ... after all its chunks committed (indexes, foreign keys, sequences, counts).
    after_big: usize,
    /// Kills per phase.
    phases: std::collections::BTreeMap<&'static str, usize>,
}

impl Landed {
    fn add(&mut self, other: &Landed) {
        self.hit += other.hit;
        self.before_big += other.before_big;
        self.mid_big += other.mid_big;
        self.after_big += other.after_big;
        for (p, n) in &other.phases {
            *self.phases.entry(p).or_default() += n;
        }
    }
}

/// Kill ferry at `points` random moments of a load into fresh targets, resume each, and
/// prove every result identical to the source. Point `k` aims at phase `k % 6`: it waits
/// for a log line that starts or continues that phase in its own run, then for a random
/// part of the time to the next line (as an undisturbed run timed it), so the points
/// follow the run's progress however busy the machine is.
fn crash_and_resume(case: &Case, new_target: &dyn Fn() -> Target, points: usize) -> Landed {
    let from = case.from;
    let tmp = TempDir::new("resume");
    let mut rng = Rng::new();
    let seed = rng.0;
    let calibration = new_target();
    let (status, lines) = run_logged(from, calibration.url(), case.chunk_rows, None);
    assert!(status.success(), "calibration run: {lines:?}");
    assert!(
        !calibration.has_progress_table(),
        "a finished run drops its progress"
    );
    let expected_shape = calibration.shape();
    assert!(expected_shape.contains("orders"), "{expected_shape}");
    drop(calibration);
    let phases = phases_of(&lines);
    for p in PHASES {
        assert!(phases.contains(&p), "no `{p}` in the log: {lines:?}");
    }

    let mut landed = Landed::default();
    for k in 0..points {
        let aim = PHASES[k % PHASES.len()];
        let candidates: Vec<usize> = (0..lines.len()).filter(|&i| phases[i] == aim).collect();
        let line = candidates[(rng.unit() * candidates.len() as f64) as usize % candidates.len()];
        // The same line in the killed run: its text, seen as often as up to here.
        let text = lines[line].1.clone();
        let nth = lines[..=line].iter().filter(|l| l.1 == text).count();
        let gap = lines
            .get(line + 1)
            .map_or(Duration::from_millis(50), |next| next.0 - lines[line].0);
        let wait = gap.mul_f64(rng.unit());
        let target = new_target();
        let (status, seen) = run_logged(
            from,
            target.url(),
            case.chunk_rows,
            Some((text.as_str(), nth, wait)),
        );
        let running = status.signal() == Some(9);
        let phase = phases_of(&seen).last().copied().unwrap_or("schema");
        let context = format!(
            "seed {seed}, point {k} aimed at {aim}: {:.3} s after `{text}`, landed in {phase} after `{}`",
            wait.as_secs_f64(),
            seen.last().map_or("", |l| l.1.as_str())
        );
        if !running {
            // The run ended before the kill: it must have ended complete, and there is
            // nothing to resume.
            assert!(
                status.success(),
                "{context}: the run failed by itself: {seen:?}"
            );
            let run = ferry(&["verify", "--from", from, "--to", target.url(), "--content"]);
            assert_eq!(run.code, 0, "{context}: {}", run.all());
            continue;
        }
        landed.hit += 1;
        *landed.phases.entry(phase).or_default() += 1;

        target.check_recorded_chunks(case.chunk_rows, &context);
        let json = tmp.join(&format!("resume-{k}.json"));
        let mut args = migrate_args_with(from, target.url(), case.chunk_rows);
        args.extend(["--resume", "--verify", "content", "--json"]);
        let json_arg = json.display().to_string();
        args.push(&json_arg);
        let run = ferry(&args);
        assert_eq!(run.code, 0, "{context}: resume failed: {}", run.all());
        let report = read_report(&json);
        assert_eq!(report["status"], "complete", "{context}: {report}");
        for t in report["tables"].as_array().expect("tables") {
            assert_eq!(t["verification"]["counts"], "ok", "{context}: {t}");
            assert_eq!(t["verification"]["content"], "ok", "{context}: {t}");
        }
        let orders = report["tables"]
            .as_array()
            .and_then(|ts| {
                ts.iter().find(|t| {
                    t["table"]
                        .as_str()
                        .is_some_and(|n| n == "orders" || n.ends_with(".orders"))
                })
            })
            .expect("orders in the report");
        assert_eq!(orders["rows_written"], case.big, "{context}: {orders}");
        // The big table in pieces of half of --chunk-rows, unless the killed run had
        // finished (and dropped its record) and the resume only checked the result.
        let piece = case.chunk_rows.parse::<i64>().expect("chunk rows") / 2;
        if run.stderr.contains("the earlier run finished") {
            assert_eq!(phase, "verify", "{context}: {}", run.all());
        } else if case.exact_estimate {
            assert_eq!(orders["chunks"], case.big / piece, "{context}: {orders}");
        } else {
            assert!(orders["chunks"].as_i64() >= Some(2), "{context}: {orders}");
        }
        assert!(
            !target.has_progress_table(),
            "{context}: the progress table outlived the run"
        );
        // Every key, index and foreign key is there once, and valid.
        assert_eq!(target.shape(), expected_shape, "{context}");
        match orders["rows_resumed"].as_i64().unwrap_or(0) {
            0 => landed.before_big += 1,
            n if n == case.big => landed.after_big += 1,
            _ => landed.mid_big += 1,
        }
    }
    eprintln!("kills (seed {seed}): {landed:?}");
    landed
}

/// Run `ferry migrate` into `to`, collecting its log lines with their time since the
/// start. With `kill: Some((text, n, wait))`, SIGKILL it `wait` after the `n`th line that
/// reads `text`; the lines it printed before it died are all collected.
fn run_logged(
    from: &str,
    to: &str,
    chunk_rows: &str,
    kill: Option<(&str, usize, Duration)>,
) -> (std::process::ExitStatus, Vec<(Duration, String)>) {
    let started = Instant::now();
    let mut child = Command::new(ferry_bin())
        .args(migrate_args_with(from, to, chunk_rows))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // "[    1.2s] orders: copying": keep what follows the timestamp.
            let text = line.split_once("] ").map_or(line.as_str(), |(_, t)| t);
            if tx.send((started.elapsed(), text.to_string())).is_err() {
                break;
            }
        }
    });
    let mut lines: Vec<(Duration, String)> = Vec::new();
    let mut seen = 0;
    while let Ok(line) = rx.recv() {
        let hit = kill.is_some_and(|(text, n, _)| {
            if line.1 == text {
                seen += 1;
            }
            line.1 == text && seen == n
        });
        lines.push(line);
        if let (true, Some((_, _, wait))) = (hit, kill) {
            std::thread::sleep(wait);
            child.kill().ok();
        }
    }
    let status = child.wait().expect("wait");
    let _ = reader.join();
    (status, lines)
}

fn source(tmp: &TempDir) -> String {
    let file = tmp.join("src.db");
    source_database(&file);
    format!("sqlite:{}", file.display())
}

/// [`source`] with [`SMALL_BIG`] rows in the big table.
fn small_source(tmp: &TempDir) -> String {
    let file = tmp.join("src.db");
    source_database_of(&file, SMALL_BIG);
    format!("sqlite:{}", file.display())
}

/// Rows of the big table of the crash runs: enough for a dozen chunks.
const SMALL_BIG: i64 = 12_000;
const SMALL_CHUNK_ROWS: &str = "2000";

/// The phase-aimed kills on one path; the counts of where they landed.
fn phase_aimed(from: &str, exact_estimate: bool, new_target: &dyn Fn() -> Target) -> Landed {
    let case = Case {
        from,
        big: SMALL_BIG,
        chunk_rows: SMALL_CHUNK_ROWS,
        exact_estimate,
    };
    crash_and_resume(&case, new_target, 8)
}

#[test]
fn killed_in_every_phase_on_three_paths_every_resume_ends_identical() {
    let tmp = TempDir::new("resume-phases");
    let sqlite = small_source(&tmp);
    let mut total = Landed::default();

    // SQLite -> PostgreSQL.
    total.add(&phase_aimed(&sqlite, true, &|| {
        Target::Pg(PgDb::new("resume_phase"))
    }));

    // MySQL -> MySQL: the MySQL source is the SQLite source loaded by ferry.
    let my_src = MyDb::new("resume_src");
    let run = ferry(&["migrate", "--from", &sqlite, "--to", &my_src.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    my_src.exec("ANALYZE TABLE orders, owners, readings");
    total.add(&phase_aimed(&my_src.url, false, &|| {
        Target::My(MyDb::new("resume_phase"))
    }));

    // PostgreSQL -> MySQL.
    let pg_src = PgDb::new("resume_src");
    let run = ferry(&["migrate", "--from", &sqlite, "--to", &pg_src.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    pg_src.exec("ANALYZE");
    total.add(&phase_aimed(&pg_src.url, false, &|| {
        Target::My(MyDb::new("resume_phase"))
    }));

    eprintln!("kills on the three paths: {total:?}");
    assert!(total.hit >= 20, "{total:?}");
    for p in PHASES {
        assert!(
            total.phases.get(p).copied().unwrap_or(0) >= 1,
            "no kill landed in `{p}`: {total:?}"
        );
    }
}

#[test]
fn sqlite_to_mysql_killed_mid_load_resumes_to_an_identical_target() {
    let tmp = TempDir::new("resume-src-my");
    let from = small_source(&tmp);
    let case = Case {
        from: &from,
        big: SMALL_BIG,
        chunk_rows: SMALL_CHUNK_ROWS,
        exact_estimate: true,
    };
    let landed = crash_and_resume(&case, &|| Target::My(MyDb::new("resume")), 4);
    assert!(landed.hit >= 3, "{landed:?}");
}

#[test]
fn postgres_to_postgres_killed_mid_load_resumes_to_an_identical_target() {
    let tmp = TempDir::new("resume-src-pg");
    let sqlite = small_source(&tmp);
    // The PostgreSQL source is the SQLite source loaded by ferry.
    let src = PgDb::new("resume_src");
    let run = ferry(&["migrate", "--from", &sqlite, "--to", &src.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    src.exec("ANALYZE");
    let case = Case {
        from: &src.url,
        big: SMALL_BIG,
        chunk_rows: SMALL_CHUNK_ROWS,
        exact_estimate: true,
    };
    let landed = crash_and_resume(&case, &|| Target::Pg(PgDb::new("resume")), 4);
    assert!(landed.hit >= 3, "{landed:?}");
}

#[test]
fn resume_refuses_a_changed_plan_and_a_plain_rerun_points_to_resume() {
    let tmp = TempDir::new("resume-refuse");
    let from = source(&tmp);
    let target = PgDb::new("resume_refuse");
    // Leave an unfinished run behind: kill it once it has started loading.
    let mut child = Command::new(ferry_bin())
        .args(migrate_args(&from, &target.url))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferry");
    let deadline = Instant::now() + Duration::from_secs(60);
    while target
        .text("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'")
        .as_deref()
        != Some("1")
    {
        assert!(Instant::now() < deadline, "ferry never created its tables");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok();
    child.wait().expect("wait");
    assert!(pg_has_progress(&target), "the killed run left its progress");

    let run = ferry(&migrate_args(&from, &target.url));
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("add --resume to continue it"),
        "{}",
        run.all()
    );

    // A different plan (one table left out by a config) is refused, not mixed in.
    let config = tmp.join("only.toml");
    std::fs::write(&config, "[tables]\ninclude = [\"orders\", \"owners\"]\n").expect("config");
    let mut args = migrate_args(&from, &target.url);
    let config_arg = config.display().to_string();
    args.extend(["--resume", "--config", &config_arg]);
    let run = ferry(&args);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("start over without --resume"),
        "{}",
        run.all()
    );
}

/// In reject mode, a chunk that is loaded again (after a kill) must not list its rejected
/// rows twice: the reject file after the resume names every bad row exactly once, and the
/// report's count of rejects covers both runs, so source = written + rejected still holds.
#[test]
fn rejected_rows_are_listed_once_after_a_kill_and_resume() {
    let tmp = TempDir::new("resume-rejects");
    let file = tmp.join("src.db");
    source_database(&file);
    // A NUL in `note` every 4,000 rows: at least one bad row in each chunk.
    let bad: Vec<i64> = (1..=BIG).filter(|i| i % 4000 == 0).collect();
    Connection::open(&file)
        .expect("sqlite")
        .execute(
            "UPDATE orders SET note = 'bad' || char(0) || 'value' WHERE id % 4000 = 0",
            [],
        )
        .expect("update");
    let from = format!("sqlite:{}", file.display());
    let target = PgDb::new("resume_rejects");
    let dir = tmp.join("rejects");
    let dir_arg = dir.display().to_string();
    let mut args = migrate_args(&from, &target.url);
    args.extend(["--on-error", "reject", "--reject-dir", &dir_arg]);

    let mut child = Command::new(ferry_bin())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferry");
    // Kill it once some, but not all, of the big table's chunks have committed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let done_sql = "SELECT count(*) FROM _ferry_progress WHERE step = 'chunk' AND done = 1 \
         AND tbl LIKE '%orders'";
    loop {
        let done: i64 = if pg_has_progress(&target) {
            target
                .text(done_sql)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0)
        } else {
            0
        };
        if done >= 2 {
            break;
        }
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "ferry finished before two chunks were seen"
        );
        assert!(Instant::now() < deadline, "no chunk committed in time");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().ok();
    child.wait().expect("wait");

    let json = tmp.join("resumed.json");
    let json_arg = json.display().to_string();
    args.extend(["--resume", "--allow-rejects", "--json", &json_arg]);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = read_report(&json);
    let orders = report["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["table"] == "orders"))
        .expect("orders")
        .clone();
    let resumed = orders["rows_resumed"].as_i64().expect("rows_resumed");
    assert!(resumed > 0 && resumed < BIG, "killed mid-table: {orders}");
    assert_eq!(orders["rows_rejected"], bad.len(), "{orders}");
    assert_eq!(orders["rows_written"], BIG - bad.len() as i64, "{orders}");
    assert_eq!(orders["verification"]["counts"], "ok", "{orders}");

    let text = std::fs::read_to_string(dir.join("orders.reject.jsonl")).expect("reject file");
    let mut listed: Vec<i64> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["row"]["id"].as_i64().expect("id")
        })
        .collect();
    let lines = listed.len();
    listed.sort_unstable();
    listed.dedup();
    assert_eq!(lines, listed.len(), "a rejected row listed twice");
    assert_eq!(listed, bad);
    // No part files are left once the table is complete.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("reject dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(
        target.text("SELECT count(*) FROM orders").as_deref(),
        Some((BIG - bad.len() as i64).to_string().as_str())
    );
}

/// A kill while the server is still at work on a step after the load: the server goes on
/// with the killed run's statement (an index build, a foreign key's validation) and commits
/// it with its record after the client died. The resume must wait for it instead of running
/// the same step beside it (which failed with `duplicate key value violates unique
/// constraint "pg_class_relname_nsp_index"` and `... "_ferry_progress_pkey"`). An event
/// trigger in the target makes such a statement last eight seconds, and ferry is killed
/// once the server is seen running one.
#[test]
fn a_kill_while_the_server_still_builds_keys_resumes_after_the_servers_work() {
    let tmp = TempDir::new("resume-orphans");
    let from = small_source(&tmp);
    let reference = Target::Pg(PgDb::new("resume_ref"));
    let (status, _) = run_logged(&from, reference.url(), SMALL_CHUNK_ROWS, None);
    assert!(status.success());
    let expected_shape = reference.shape();
    drop(reference);

    // Kill once the server runs the step for ferry: an index build, a foreign key. Only
    // that kind of statement is slowed down, long enough for any resume to start meanwhile.
    for (step, like) in [
        ("an index build", "%CREATE %INDEX%"),
        ("a foreign key", "%FOREIGN KEY%"),
    ] {
        let db = PgDb::new("resume_orphans");
        db.exec(&format!(
            "CREATE FUNCTION slow_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF current_query() LIKE '{like}' THEN PERFORM pg_sleep(8); END IF; END $$;
             CREATE EVENT TRIGGER slow_ddl ON ddl_command_end WHEN TAG IN ('CREATE INDEX', 'ALTER TABLE') EXECUTE FUNCTION slow_ddl();",
        ));
        let mut child = Command::new(ferry_bin())
            .args(migrate_args_with(&from, &db.url, SMALL_CHUNK_ROWS))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry");
        let busy = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '{like}'"
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        while db.text(&busy).as_deref() == Some("0") {
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "ferry ended before {step} was seen"
            );
            assert!(Instant::now() < deadline, "{step} never seen");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().ok();
        child.wait().expect("wait");
        // The killed run's statement sleeps on; the resume's own ones need not.
        db.exec("DROP EVENT TRIGGER slow_ddl");
        let target = Target::Pg(db);
        let after = format!("a kill during {step}");
        let mut args = migrate_args_with(&from, target.url(), SMALL_CHUNK_ROWS);
        args.extend(["--resume", "--verify", "content"]);
        let run = ferry(&args);
        assert_eq!(run.code, 0, "{after}: {}", run.all());
        assert!(
            run.stderr.contains("session(s) of the stopped run"),
            "{after}: the resume waited for the server's work: {}",
            run.all()
        );
        assert_eq!(target.shape(), expected_shape, "{after}");
        assert!(!target.has_progress_table());
    }
}
