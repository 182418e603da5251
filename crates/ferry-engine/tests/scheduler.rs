//! The copy scheduler against an in-memory source and target with injected failures: which
//! chunks are read again, what stops, how big a chunk gets, when foreign keys are added,
//! and that the counts come out exact. No servers; time is paused, so retry waits cost
//! nothing.

mod memory;

use ferry_core::{ConnUrl, ErrorKind};
use ferry_engine::{migrate, MigrateOptions, Outcome, Report, RunStatus, TableStatus};
use memory::{Fault, Happened, MemConnector, Strike, World};
use std::sync::Arc;

fn options(chunk_rows: u64, jobs: usize) -> MigrateOptions {
    let from = ConnUrl::parse("sqlite:/nonexistent/memory.db").expect("url");
    let to = ConnUrl::parse("postgres://ferry@127.0.0.1:1/memory").expect("url");
    let mut opts = MigrateOptions::new(from, to);
    opts.chunk_rows = chunk_rows;
    opts.jobs = jobs;
    opts.batch.max_rows = 10;
    opts.reject_dir = std::env::temp_dir().join(format!("ferry-scheduler-{}", std::process::id()));
    opts
}

async fn run(world: &Arc<World>, opts: &MigrateOptions) -> Report {
    let drivers = MemConnector(Arc::clone(world));
    migrate(opts, &drivers, ferry_engine::events::ignore())
        .await
        .expect("the run starts")
}

fn table<'a>(report: &'a Report, name: &str) -> &'a ferry_engine::TableReport {
    report
        .tables
        .iter()
        .find(|t| t.table == name)
        .expect("table in report")
}

fn fault(table: &str, lo: i64, strike: Strike, kind: ErrorKind, times: u32) -> Fault {
    Fault {
        table: table.into(),
        lo,
        strike,
        kind,
        times,
    }
}

/// A transient failure in one chunk reads that chunk again, and only that one.
#[tokio::test(start_paused = true)]
async fn only_the_failed_chunk_is_read_again() {
    let world = World::new(&[("t", 1000, None)]);
    // --chunk-rows 200: chunks of 100 keys, [1, 101), [101, 201), ...
    world.inject(fault("t", 301, Strike::Read, ErrorKind::Transient, 2));
    let report = run(&world, &options(200, 1)).await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
    let reads = world.reads("t");
    assert_eq!(reads.len(), 10 + 2, "{reads:?}");
    for (lo, hi) in &reads {
        let times = reads.iter().filter(|r| *r == &(*lo, *hi)).count();
        assert_eq!(
            times,
            if *lo == 301 { 3 } else { 1 },
            "[{lo}, {hi}) read {times} times"
        );
    }
    assert_eq!(world.target_keys("t"), (1..=1000).collect::<Vec<_>>());
    let t = table(&report, "t");
    assert_eq!((t.rows_read, t.rows_written, t.chunks), (1000, 1000, 10));
}

/// A failure that is not transient stops the table's other chunks and the other tables.
#[tokio::test(start_paused = true)]
async fn a_hard_failure_cancels_the_rest() {
    let world = World::new(&[("big", 5000, None), ("bad", 400, None)]);
    world.inject(fault("bad", 1, Strike::Read, ErrorKind::Data, 1));
    let report = run(&world, &options(200, 2)).await;
    assert_eq!(report.status, RunStatus::Failed);
    let bad = table(&report, "bad");
    assert_eq!(bad.status, TableStatus::Failed);
    assert!(
        bad.error
            .as_deref()
            .is_some_and(|e| e.contains("injected Read failure")),
        "the cause is reported, not a cancellation: {:?}",
        bad.error
    );
    // Of bad's four chunks, the failed one and at most the one beside it were read.
    assert!(world.reads("bad").len() <= 2, "{:?}", world.reads("bad"));
    let big = table(&report, "big");
    assert_eq!(big.status, TableStatus::Cancelled);
    assert!(
        world.reads("big").len() < 50,
        "big stopped early: {} of 50 chunks read",
        world.reads("big").len()
    );
    assert!(world.target_keys("big").len() < 5000);
    // Nothing was retried, and the record stays for --resume.
    assert_eq!(world.reads("bad").iter().filter(|r| r.0 == 1).count(), 1);
    assert!(world.progress.lock().expect("progress").is_some());
}

/// No chunk holds more than half of --chunk-rows, so the rows loaded but not committed
/// (two chunks at a time) never pass --chunk-rows.
#[tokio::test(start_paused = true)]
async fn rows_in_flight_stay_within_chunk_rows() {
    let world = World::new(&[("t", 1234, None)]);
    let report = run(&world, &options(100, 1)).await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
    for (lo, hi) in world.reads("t") {
        assert!(hi - lo <= 50, "chunk [{lo}, {hi}) spans more than 50 keys");
    }
    let committed: Vec<u64> = world
        .log()
        .into_iter()
        .filter_map(|h| match h {
            Happened::Committed { rows, .. } => Some(rows),
            _ => None,
        })
        .collect();
    assert_eq!(committed.iter().sum::<u64>(), 1234);
    assert!(committed.iter().all(|&r| r <= 50), "{committed:?}");
    let max_in_flight = world.in_flight.lock().expect("in flight").1;
    assert!(
        max_in_flight <= 100,
        "{max_in_flight} rows were uncommitted at once"
    );
    assert!(max_in_flight > 50, "two chunks were loaded at once");
    assert_eq!(table(&report, "t").chunks, 25);
}

/// A foreign key is added only after both its tables are loaded.
#[tokio::test(start_paused = true)]
async fn foreign_keys_wait_for_both_tables() {
    let world = World::new(&[("parent", 600, None), ("child", 900, Some("parent"))]);
    // The parent's last chunk fails once: it finishes late.
    world.inject(fault(
        "parent",
        501,
        Strike::BeforeCommit,
        ErrorKind::Transient,
        1,
    ));
    let report = run(&world, &options(200, 2)).await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
    let add = world
        .executed_at("FOREIGN KEY")
        .expect("the foreign key was added");
    for t in ["parent", "child"] {
        let last = world.last_commit_of(t).expect("committed");
        assert!(
            add > last,
            "the key was added (at {add}) before {t} was loaded (at {last})"
        );
    }
    assert!(
        report.warnings.iter().all(|w| !w.contains("foreign key")),
        "{:?}",
        report.warnings
    );
}

/// Failures before and after a commit reached the target leave every row exactly once,
/// and the counts say so.
#[tokio::test(start_paused = true)]
async fn counts_are_exact_after_failed_commits() {
    let world = World::new(&[("t", 1000, None)]);
    world.inject(fault("t", 1, Strike::BeforeCommit, ErrorKind::Transient, 1));
    world.inject(fault(
        "t",
        201,
        Strike::AfterCommit,
        ErrorKind::Transient,
        1,
    ));
    world.inject(fault("t", 401, Strike::Read, ErrorKind::Connect, 1));
    let report = run(&world, &options(200, 1)).await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.error);
    let t = table(&report, "t");
    assert_eq!((t.rows_read, t.rows_written), (1000, 1000));
    assert_eq!(t.verification.counts, Outcome::Match);
    assert_eq!(t.verification.target_rows, Some(1000));
    assert_eq!(world.target_keys("t"), (1..=1000).collect::<Vec<_>>());
    // The chunk whose commit reached the target is not loaded again.
    assert_eq!(world.reads("t").iter().filter(|r| r.0 == 201).count(), 1);
    assert_eq!(world.reads("t").iter().filter(|r| r.0 == 1).count(), 2);
    // A finished run drops its record.
    assert!(world.progress.lock().expect("progress").is_none());
}
