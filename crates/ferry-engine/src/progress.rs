//! A run's durable progress, as the engine uses it. The target's driver keeps it
//! ([`ferry_core::ProgressStore`], in a table named [`PROGRESS_TABLE`]); this module knows
//! what an earlier run left ([`PriorRun`]) and records steps as they are done
//! ([`StepRecorder`]).
//!
//! Why the target and not a file beside the report: a chunk's rows and the record that the
//! chunk is loaded commit in the same transaction ([`TableWriter::finish`]), so after a
//! crash, a kill -9 or a lost connection the record is true exactly when the rows are
//! there. A file is written after the target commits, and a crash between the two would
//! make a resume load the chunk twice (or, for tables split on SQLite's hidden rowid, with
//! no key in the target to delete it by). The table also travels with the target: a resume
//! from another machine, or a CI job that lost its disk, still finds it. It lives only while
//! a run is unfinished: a run that completes drops it.
//!
//! [`TableWriter::finish`]: ferry_core::TableWriter::finish

pub use ferry_core::{Chunk, PROGRESS_TABLE};
use ferry_core::{ErrorKind, RecordedRun, Result, Sink, Step, StepDone};
use ferry_schema::Translation;
use std::sync::Arc;

/// What an earlier run of the same plan left behind.
#[derive(Debug, Default)]
pub struct PriorRun {
    /// What it recorded.
    pub recorded: RecordedRun,
    /// The earlier run had finished and dropped its record (a kill between that and its
    /// exit): every step counts as done, only verification is left.
    pub finished: bool,
}

impl PriorRun {
    /// Whether `step` of `table` is done.
    pub fn done(&self, table: &str, step: Step) -> bool {
        self.finished || self.recorded.done(table, step)
    }
}

/// Runs steps of the run once: a step an earlier run recorded is skipped, and each step is
/// recorded as it is done.
#[derive(Clone)]
pub(crate) struct StepRecorder {
    /// What an earlier run recorded (empty for a fresh run).
    pub(crate) prior: Arc<PriorRun>,
    /// Whether this run continues an earlier one.
    pub(crate) resuming: bool,
}

impl StepRecorder {
    /// Run `statements` as `step` of `table` unless an earlier run did, and record it. When
    /// resuming, "already exists" means the earlier run did it but was stopped before
    /// recording it (possible where DDL is not transactional, or while its server session
    /// was still finishing): the step counts as done.
    pub(crate) async fn run(
        &self,
        sink: &dyn Sink,
        table: &str,
        step: Step,
        statements: &[String],
    ) -> Result<()> {
        if self.prior.done(table, step) {
            return Ok(());
        }
        let done = StepDone::new(table, step);
        match sink.execute_recorded(statements, &done).await {
            Err(e) if self.resuming && e.kind() == ErrorKind::AlreadyExists => {
                sink.progress().record(&done).await
            }
            other => other,
        }
    }
}

/// A fingerprint of everything a run creates, so a resume refuses a changed plan (another
/// source, another config, another ferry version's DDL).
pub fn fingerprint(t: &Translation) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in &t.tables {
        eat(&p.target.display_name());
        for s in p
            .ddl
            .create
            .iter()
            .chain(&p.ddl.indexes)
            .chain(&p.ddl.post_load)
        {
            eat(s);
        }
        for fk in &p.ddl.foreign_keys {
            eat(&fk.add);
        }
    }
    for s in &t.pre {
        eat(s);
    }
    format!("{h:016x}")
}
