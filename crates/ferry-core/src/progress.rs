//! A run's bookkeeping: typed records of what is done, kept in the target by its driver.
//!
//! The engine says *what* is done ([`StepDone`], [`ChunkDone`]); the target's driver keeps
//! it ([`ProgressStore`]) and renders its own SQL. Every SQL driver stores the same rows
//! ([`ProgressRow`]) in a table named [`PROGRESS_TABLE`], so the record of a run stopped by
//! one ferry version is read by the next:
//!
//! `('', 'plan')` with the plan's fingerprint and `--if-exists` mode; `(table, 'kept')` for
//! tables that existed before the run; `(name, 'made', n)` for each table, type and domain
//! the run creates; `('', 'schema')` once the tables are created; `(table, 'chunk', lo, hi)`
//! for each key range of a table (`lo = hi = 0`: the whole table), done when its rows
//! committed; `(table, 'index', i)` and `(table, 'post', i)` for index builds and keys;
//! `(table, 'fk', i)` and `(table, 'fk-valid', i)` for foreign keys.

use crate::error::{Error, Result};
use crate::objects::{DbObject, ObjectKind};
use crate::sink::IfExists;
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};

/// The progress table's name in the target.
pub const PROGRESS_TABLE: &str = "_ferry_progress";

/// One key range of a table: `key >= lo AND key < hi`, or the whole table when `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chunk {
    /// Inclusive lower bound.
    pub lo: i64,
    /// Exclusive upper bound.
    pub hi: i64,
}

impl Chunk {
    /// The chunk that is the whole table.
    pub const WHOLE: Chunk = Chunk { lo: 0, hi: 0 };

    /// The key range to read, `None` for the whole table.
    pub fn range(self) -> Option<(i64, i64)> {
        (self.hi > self.lo).then_some((self.lo, self.hi))
    }
}

/// A step of a run that is recorded once its work committed, so a resumed run skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Every table of the plan was created (the run's own step; its table is `""`).
    Schema,
    /// Index number `n` of the table was built.
    Index(u32),
    /// Post-load statement number `n` (a key, a CHECK) was applied to the table.
    PostLoad(u32),
    /// Foreign key number `n` of the table was added (existing rows not yet checked).
    ForeignKey(u32),
    /// Foreign key number `n` of the table was checked against existing rows (or needed
    /// no check).
    ForeignKeyChecked(u32),
}

impl Step {
    /// The word and number the step is stored under.
    fn stored(self) -> (&'static str, i64) {
        match self {
            Step::Schema => ("schema", 0),
            Step::Index(n) => ("index", i64::from(n)),
            Step::PostLoad(n) => ("post", i64::from(n)),
            Step::ForeignKey(n) => ("fk", i64::from(n)),
            Step::ForeignKeyChecked(n) => ("fk-valid", i64::from(n)),
        }
    }

    /// The step stored as `word` with number `n`.
    fn from_stored(word: &str, n: i64) -> Option<Step> {
        let n = u32::try_from(n).ok();
        Some(match word {
            "schema" => Step::Schema,
            "index" => Step::Index(n?),
            "post" => Step::PostLoad(n?),
            "fk" => Step::ForeignKey(n?),
            "fk-valid" => Step::ForeignKeyChecked(n?),
            _ => return None,
        })
    }
}

/// A step of one table done (`table` is `""` for [`Step::Schema`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepDone {
    /// The table (target display name).
    pub table: String,
    /// What was done.
    pub step: Step,
}

impl StepDone {
    /// Step `step` of `table`.
    pub fn new(table: &str, step: Step) -> Self {
        StepDone {
            table: table.to_string(),
            step,
        }
    }

    /// The row that records it.
    pub fn row(&self) -> ProgressRow {
        let (word, n) = self.step.stored();
        ProgressRow::done(&self.table, word, n, None)
    }
}

/// One chunk of a table loaded: its rows committed together with this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDone {
    /// The table (target display name).
    pub table: String,
    /// The key range.
    pub chunk: Chunk,
    /// Rows committed.
    pub rows: u64,
}

/// What a fresh run records before it creates anything.
#[derive(Debug, Clone)]
pub struct RunStart {
    /// The plan's fingerprint (a resume refuses another plan).
    pub fingerprint: String,
    /// `--if-exists` of the run.
    pub if_exists: IfExists,
    /// Tables (target names) that existed before the run and are kept.
    pub kept: Vec<String>,
    /// What the run creates (checked absent just before): a resume drops only these.
    pub made: Vec<DbObject>,
}

impl RunStart {
    /// The rows of the record, in order: the kept tables, the made objects, and last the
    /// plan row (a record without it is one whose start was cut short).
    pub fn rows(&self) -> Vec<ProgressRow> {
        let mut out: Vec<ProgressRow> = self
            .kept
            .iter()
            .map(|k| ProgressRow::done(k, "kept", 0, None))
            .collect();
        out.extend(self.made.iter().enumerate().map(|(n, o)| {
            let info = match &o.schema {
                Some(s) => format!("{}:{s}", o.kind.word()),
                None => o.kind.word().to_string(),
            };
            ProgressRow::done(&o.name, "made", n as i64, Some(info))
        }));
        let mode = match self.if_exists {
            IfExists::Fail => "fail",
            IfExists::Drop => "drop",
            IfExists::Truncate => "truncate",
        };
        out.push(ProgressRow::done(
            "",
            "plan",
            0,
            Some(format!("{} {mode}", self.fingerprint)),
        ));
        out
    }
}

/// The planned chunks of `table`, none loaded yet.
pub fn planned_chunk_rows(table: &str, chunks: &[Chunk]) -> Vec<ProgressRow> {
    chunks
        .iter()
        .map(|c| ProgressRow {
            tbl: table.to_string(),
            step: "chunk".into(),
            lo: c.lo,
            hi: c.hi,
            done: false,
            rows_done: 0,
            info: None,
        })
        .collect()
}

/// One row of the progress table as every SQL driver stores it: `(tbl, step, lo, hi, done,
/// rows_done, info)`, keyed by `(tbl, step, lo)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressRow {
    /// The table (or object) the row is about; `""` for the run itself.
    pub tbl: String,
    /// What kind of record: `plan`, `kept`, `made`, `chunk` or a [`Step`]'s word.
    pub step: String,
    /// The step's number, or a chunk's lower bound.
    pub lo: i64,
    /// A chunk's upper bound.
    pub hi: i64,
    /// Whether it is done.
    pub done: bool,
    /// A chunk's committed rows.
    pub rows_done: i64,
    /// The plan's fingerprint and mode, or a made object's kind and schema.
    pub info: Option<String>,
}

impl ProgressRow {
    fn done(tbl: &str, step: &str, lo: i64, info: Option<String>) -> Self {
        ProgressRow {
            tbl: tbl.to_string(),
            step: step.to_string(),
            lo,
            hi: 0,
            done: true,
            rows_done: 0,
            info,
        }
    }
}

/// What an earlier run of a plan left recorded.
#[derive(Debug, Clone, Default)]
pub struct RecordedRun {
    /// The plan's fingerprint.
    pub fingerprint: String,
    /// `--if-exists` of the run that started it.
    pub if_exists: Option<IfExists>,
    /// Tables (target names) that existed before that run and were kept.
    pub kept: HashSet<String>,
    /// The tables, types and domains that run creates (none of them existed before it).
    pub made: Vec<DbObject>,
    /// Whether the target's tables were all created.
    pub schema_done: bool,
    /// Per table: its chunks in key order, each with the rows committed (`None`: not yet).
    pub chunks: HashMap<String, Vec<(Chunk, Option<u64>)>>,
    /// The steps recorded as done.
    pub steps: HashSet<StepDone>,
}

impl RecordedRun {
    /// Read a record from its rows; `None` when it has no plan row (the run was stopped
    /// while starting its record, before it created anything).
    pub fn from_rows(rows: impl IntoIterator<Item = ProgressRow>) -> Result<Option<RecordedRun>> {
        let bad = || Error::other(format!("the progress table {PROGRESS_TABLE} is damaged"));
        let mut run = RecordedRun::default();
        let mut planned = false;
        let mut made = Vec::new();
        for row in rows {
            let info = row.info.unwrap_or_default();
            match row.step.as_str() {
                "plan" => {
                    planned = true;
                    let (fp, mode) = info.split_once(' ').ok_or_else(bad)?;
                    run.fingerprint = fp.to_string();
                    run.if_exists = Some(match mode {
                        "drop" => IfExists::Drop,
                        "truncate" => IfExists::Truncate,
                        _ => IfExists::Fail,
                    });
                }
                "kept" => {
                    run.kept.insert(row.tbl);
                }
                "made" => {
                    let (kind, schema) = match info.split_once(':') {
                        Some((k, s)) => (k, Some(s)),
                        None => (info.as_str(), None),
                    };
                    let kind = ObjectKind::from_word(kind).ok_or_else(bad)?;
                    made.push((row.lo, DbObject::new(kind, schema, &row.tbl)));
                }
                "schema" => run.schema_done = true,
                "chunk" => run.chunks.entry(row.tbl).or_default().push((
                    Chunk {
                        lo: row.lo,
                        hi: row.hi,
                    },
                    row.done.then_some(row.rows_done.max(0) as u64),
                )),
                word => {
                    let step = Step::from_stored(word, row.lo).ok_or_else(bad)?;
                    if row.done {
                        run.steps.insert(StepDone {
                            table: row.tbl,
                            step,
                        });
                    }
                }
            }
        }
        if !planned {
            return Ok(None);
        }
        made.sort_by_key(|(n, _)| *n);
        run.made = made.into_iter().map(|(_, o)| o).collect();
        for chunks in run.chunks.values_mut() {
            chunks.sort_by_key(|(c, _)| c.lo);
        }
        Ok(Some(run))
    }

    /// Whether `step` of `table` is recorded as done.
    pub fn done(&self, table: &str, step: Step) -> bool {
        self.steps.contains(&StepDone::new(table, step))
    }

    /// The rows committed for `chunk` of `table`, when it is recorded as loaded.
    pub fn chunk_rows(&self, table: &str, chunk: Chunk) -> Option<u64> {
        self.chunks
            .get(table)?
            .iter()
            .find(|(c, _)| *c == chunk)
            .and_then(|(_, rows)| *rows)
    }
}

/// Where a target keeps a run's progress (in [`PROGRESS_TABLE`]), provided by its driver.
///
/// Contract: a record written by [`ProgressStore::start`] is there entirely or not at all;
/// [`ProgressStore::plan_chunks`] likewise for one table's list; recording a step twice is
/// harmless (a session of a killed run may have recorded it while a resumed run found its
/// work done). Steps recorded together with their work go through
/// [`Sink::execute_recorded`](crate::Sink::execute_recorded) and
/// [`TableWriter::finish`](crate::TableWriter::finish).
#[async_trait]
pub trait ProgressStore: Send + Sync {
    /// Start a fresh record for a run, replacing any earlier one.
    async fn start(&self, run: &RunStart) -> Result<()>;

    /// Read what an earlier run recorded; `None` when there is no record (or only the
    /// start of one).
    async fn load(&self) -> Result<Option<RecordedRun>>;

    /// Record the planned chunks of `table`, none loaded yet, all or none.
    async fn plan_chunks(&self, table: &str, chunks: &[Chunk]) -> Result<()>;

    /// Record `done` on its own (its work committed earlier).
    async fn record(&self, done: &StepDone) -> Result<()>;

    /// Drop the record: the run is finished.
    async fn clear(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let start = RunStart {
            fingerprint: "abc".into(),
            if_exists: IfExists::Truncate,
            kept: vec!["kept1".into()],
            made: vec![
                DbObject::new(ObjectKind::Type, None, "mood"),
                DbObject::new(ObjectKind::Table, Some("app"), "users"),
            ],
        };
        let mut rows = start.rows();
        assert_eq!(rows.last().map(|r| r.step.as_str()), Some("plan"));
        rows.push(StepDone::new("", Step::Schema).row());
        rows.push(StepDone::new("app.users", Step::ForeignKeyChecked(2)).row());
        rows.push(StepDone::new("app.users", Step::PostLoad(0)).row());
        let mut chunks = planned_chunk_rows(
            "app.users",
            &[Chunk { lo: 5, hi: 9 }, Chunk { lo: 1, hi: 5 }],
        );
        chunks[0].done = true;
        chunks[0].rows_done = 4;
        rows.extend(chunks);
        let run = RecordedRun::from_rows(rows)
            .expect("valid")
            .expect("planned");
        assert_eq!(run.fingerprint, "abc");
        assert_eq!(run.if_exists, Some(IfExists::Truncate));
        assert!(run.kept.contains("kept1"));
        assert_eq!(run.made, start.made);
        assert!(run.schema_done);
        assert!(run.done("app.users", Step::ForeignKeyChecked(2)));
        assert!(run.done("app.users", Step::PostLoad(0)));
        assert!(!run.done("app.users", Step::ForeignKey(2)));
        assert_eq!(run.chunk_rows("app.users", Chunk { lo: 5, hi: 9 }), Some(4));
        assert_eq!(run.chunk_rows("app.users", Chunk { lo: 1, hi: 5 }), None);
        assert_eq!(run.chunks["app.users"][0].0, Chunk { lo: 1, hi: 5 });
    }

    #[test]
    fn steps_keep_their_stored_words() {
        for (step, word, n) in [
            (Step::Schema, "schema", 0),
            (Step::Index(3), "index", 3),
            (Step::PostLoad(1), "post", 1),
            (Step::ForeignKey(0), "fk", 0),
            (Step::ForeignKeyChecked(7), "fk-valid", 7),
        ] {
            assert_eq!(step.stored(), (word, n));
            assert_eq!(Step::from_stored(word, n), Some(step));
        }
        assert_eq!(Step::from_stored("nonsense", 0), None);
        // A record without its plan row is a start cut short.
        let rows = vec![StepDone::new("t", Step::Index(0)).row()];
        assert!(RecordedRun::from_rows(rows).expect("valid").is_none());
    }
}
