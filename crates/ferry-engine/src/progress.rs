//! A run's durable progress, kept in a small table in the target: `_ferry_progress`.
//!
//! Why the target and not a file beside the report: a chunk's rows and the note that the
//! chunk is loaded commit in the same transaction ([`TableWriter::finish`]'s `record`), so
//! after a crash, a kill -9 or a lost connection the note is true exactly when the rows are
//! there. A file is written after the target commits, and a crash between the two would
//! make a resume load the chunk twice (or, for tables split on SQLite's hidden rowid, with
//! no key in the target to delete it by). The table also travels with the target: a
//! resume from another machine, or a CI job that lost its disk, still finds it. It lives
//! only while a run is unfinished: a run that completes drops it.
//!
//! Rows: `('', 'plan')` with the plan's fingerprint and `--if-exists` mode; `(table,
//! 'kept')` for tables that existed before the run; `(name, 'made', n)` for each table, type
//! and domain the run creates (checked absent just before: a resume drops only these);
//! `('', 'schema')` once the tables are
//! created; `(table, 'chunk', lo, hi)` for each key range of a table (`lo = hi = 0`: the
//! whole table), done when its rows committed; `(table, 'index', i)` and `(table, 'post')`
//! for index builds and keys; `(table, 'fk', i)` and `(table, 'fk-valid', i)` for foreign
//! keys.
//!
//! [`TableWriter::finish`]: ferry_core::TableWriter::finish

use ferry_core::{DbObject, Dialect, Error, ErrorKind, IfExists, ObjectKind, Result, Sink};
use ferry_schema::Translation;
use std::collections::{HashMap, HashSet};

/// The progress table's name in the target.
pub const STATE_TABLE: &str = "_ferry_progress";

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

/// What an earlier run of the same plan left behind.
#[derive(Debug, Default)]
pub struct State {
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
    /// Per table: its chunks, each with the rows committed (`None`: not yet).
    pub chunks: HashMap<String, Vec<(Chunk, Option<u64>)>>,
    /// Done steps: (table, step, number).
    pub steps: HashSet<(String, String, i64)>,
    /// The earlier run had finished and dropped its record (a kill between that and its
    /// exit): every step counts as done, only verification is left.
    pub finished: bool,
}

impl State {
    /// Whether `step` number `n` of `table` is recorded as done.
    pub fn done(&self, table: &str, step: &str, n: i64) -> bool {
        self.finished
            || self
                .steps
                .contains(&(table.to_string(), step.to_string(), n))
    }
}

/// Writes and reads the progress table of one target.
#[derive(Debug, Clone)]
pub struct Progress {
    dialect: Dialect,
}

impl Progress {
    /// Progress for a target of `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Progress { dialect }
    }

    fn table(&self) -> String {
        ferry_schema::quote::ident(self.dialect, STATE_TABLE)
    }

    /// A string literal for this dialect.
    fn lit(&self, s: &str) -> String {
        ferry_schema::quote::literal(self.dialect, s)
    }

    /// Statements that start a fresh record for `plan`: the table (replacing an old one),
    /// then in one transaction the kept tables, the objects the run will make and, last,
    /// the plan row (a record without it is one whose start was cut short).
    pub fn start(
        &self,
        fingerprint: &str,
        if_exists: IfExists,
        kept: &[String],
        made: &[DbObject],
    ) -> Vec<String> {
        let t = self.table();
        let create = match self.dialect {
            Dialect::Mysql => format!(
                "CREATE TABLE {t} (tbl varchar(191) NOT NULL, step varchar(32) NOT NULL, lo bigint NOT NULL, hi bigint NOT NULL, done smallint NOT NULL DEFAULT 0, rows_done bigint NOT NULL DEFAULT 0, info text, PRIMARY KEY (tbl, step, lo)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            ),
            _ => format!(
                "CREATE TABLE {t} (tbl text NOT NULL, step text NOT NULL, lo bigint NOT NULL, hi bigint NOT NULL, done smallint NOT NULL DEFAULT 0, rows_done bigint NOT NULL DEFAULT 0, info text, PRIMARY KEY (tbl, step, lo))"
            ),
        };
        let mode = match if_exists {
            IfExists::Fail => "fail",
            IfExists::Drop => "drop",
            IfExists::Truncate => "truncate",
        };
        let mut out = vec![self.drop(), create, "START TRANSACTION".to_string()];
        out.extend(kept.iter().map(|k| self.step(k, "kept", 0)));
        out.extend(made.iter().enumerate().map(|(n, o)| {
            let info = match &o.schema {
                Some(s) => format!("{}:{s}", o.kind.word()),
                None => o.kind.word().to_string(),
            };
            format!(
                "INSERT INTO {t} (tbl, step, lo, hi, done, info) VALUES ({}, 'made', {n}, 0, 1, {})",
                self.lit(&o.name),
                self.lit(&info)
            )
        }));
        out.push(format!(
            "INSERT INTO {t} (tbl, step, lo, hi, done, info) VALUES ('', 'plan', 0, 0, 1, {})",
            self.lit(&format!("{fingerprint} {mode}"))
        ));
        out.push("COMMIT".to_string());
        out
    }

    /// Drops the progress table (a finished run's last step).
    pub fn drop(&self) -> String {
        format!("DROP TABLE IF EXISTS {}", self.table())
    }

    /// Notes step `n` of `table` as done. Noting it twice is harmless: a session of a
    /// killed run may have noted it while the resumed run found the step's work done.
    pub fn step(&self, table: &str, step: &str, n: i64) -> String {
        let again = match self.dialect {
            Dialect::Mysql => "ON DUPLICATE KEY UPDATE done = 1",
            _ => "ON CONFLICT (tbl, step, lo) DO UPDATE SET done = 1",
        };
        format!(
            "INSERT INTO {} (tbl, step, lo, hi, done) VALUES ({}, {}, {n}, 0, 1) {again}",
            self.table(),
            self.lit(table),
            self.lit(step)
        )
    }

    /// Notes the planned chunks of `table` (none loaded yet), all or none: a resume must
    /// never find part of the list.
    pub fn plan_chunks(&self, table: &str, chunks: &[Chunk]) -> Vec<String> {
        let inserts: Vec<String> = chunks
            .chunks(500)
            .map(|part| {
                let values: Vec<String> = part
                    .iter()
                    .map(|c| format!("({}, 'chunk', {}, {}, 0)", self.lit(table), c.lo, c.hi))
                    .collect();
                format!(
                    "INSERT INTO {} (tbl, step, lo, hi, done) VALUES {}",
                    self.table(),
                    values.join(", ")
                )
            })
            .collect();
        if inserts.len() < 2 {
            return inserts;
        }
        std::iter::once("START TRANSACTION".to_string())
            .chain(inserts)
            .chain(["COMMIT".to_string()])
            .collect()
    }

    /// Notes a chunk as loaded with `rows` rows; runs inside the chunk's own transaction.
    pub fn chunk_done(&self, table: &str, chunk: Chunk, rows: u64) -> String {
        format!(
            "UPDATE {} SET done = 1, rows_done = {rows} WHERE tbl = {} AND step = 'chunk' AND lo = {}",
            self.table(),
            self.lit(table),
            chunk.lo
        )
    }

    /// Read what an earlier run recorded; `None` when the target has no progress table.
    pub async fn load(&self, sink: &dyn Sink) -> Result<Option<State>> {
        let sql = format!(
            "SELECT tbl, step, lo, hi, done, rows_done, info FROM {}",
            self.table()
        );
        let rows = match sink.query_text(&sql).await {
            Ok(rows) => rows,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.context("reading ferry's progress table")),
        };
        let bad = || Error::other(format!("the progress table {STATE_TABLE} is damaged"));
        let mut state = State::default();
        let mut planned = false;
        let mut made = Vec::new();
        for row in rows {
            let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            let num = |i: usize| text(i).parse::<i64>().map_err(|_| bad());
            let (tbl, step) = (text(0), text(1));
            let (lo, hi, done, rows_done) = (num(2)?, num(3)?, num(4)? != 0, num(5)?);
            match step.as_str() {
                "plan" => {
                    planned = true;
                    let info = text(6);
                    let (fp, mode) = info.split_once(' ').ok_or_else(bad)?;
                    state.fingerprint = fp.to_string();
                    state.if_exists = Some(match mode {
                        "drop" => IfExists::Drop,
                        "truncate" => IfExists::Truncate,
                        _ => IfExists::Fail,
                    });
                }
                "kept" => {
                    state.kept.insert(tbl);
                }
                "made" => {
                    let info = text(6);
                    let (kind, schema) = match info.split_once(':') {
                        Some((k, s)) => (k, Some(s)),
                        None => (info.as_str(), None),
                    };
                    let kind = ObjectKind::from_word(kind).ok_or_else(bad)?;
                    made.push((lo, DbObject::new(kind, schema, &tbl)));
                }
                "schema" => state.schema_done = true,
                "chunk" => state
                    .chunks
                    .entry(tbl)
                    .or_default()
                    .push((Chunk { lo, hi }, done.then_some(rows_done as u64))),
                _ => {
                    if done {
                        state.steps.insert((tbl, step, lo));
                    }
                }
            }
        }
        if !planned {
            // The run was stopped while starting its record, before it created anything.
            return Ok(None);
        }
        made.sort_by_key(|(n, _)| *n);
        state.made = made.into_iter().map(|(_, o)| o).collect();
        for chunks in state.chunks.values_mut() {
            chunks.sort_by_key(|(c, _)| c.lo);
        }
        Ok(Some(state))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_starts_in_one_transaction_that_ends_with_its_plan_row() {
        let made = [
            DbObject::new(ObjectKind::Type, None, "mood"),
            DbObject::new(ObjectKind::Table, Some("app"), "users"),
        ];
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            let sql = Progress::new(dialect).start("abc", IfExists::Fail, &["kept1".into()], &made);
            assert!(sql[0].starts_with("DROP TABLE IF EXISTS"));
            assert!(sql[1].starts_with("CREATE TABLE"));
            assert_eq!(sql[2], "START TRANSACTION");
            assert_eq!(sql.last().map(String::as_str), Some("COMMIT"));
            assert!(sql[sql.len() - 2].contains("'plan'"), "{sql:?}");
            assert!(sql
                .iter()
                .any(|s| s.contains("'users', 'made', 1, 0, 1, 'table:app'")));
            assert!(sql
                .iter()
                .any(|s| s.contains("'mood', 'made', 0, 0, 1, 'type'")));
        }
    }

    #[test]
    fn a_step_noted_twice_is_noted_once_and_chunk_lists_are_all_or_none() {
        let pg = Progress::new(Dialect::Postgres);
        assert!(pg
            .step("t", "index", 0)
            .ends_with("ON CONFLICT (tbl, step, lo) DO UPDATE SET done = 1"));
        let my = Progress::new(Dialect::Mysql);
        assert!(my
            .step("t", "index", 0)
            .ends_with("ON DUPLICATE KEY UPDATE done = 1"));
        let chunks: Vec<Chunk> = (0..1200).map(|i| Chunk { lo: i, hi: i + 1 }).collect();
        let sql = pg.plan_chunks("t", &chunks);
        assert_eq!(sql.len(), 5);
        assert_eq!(sql[0], "START TRANSACTION");
        assert_eq!(sql[4], "COMMIT");
        assert_eq!(pg.plan_chunks("t", &chunks[..3]).len(), 1);
    }

    #[test]
    fn literals_are_escaped_per_dialect() {
        let my = Progress::new(Dialect::Mysql);
        assert!(my.step("a'b\\c", "fk", 1).contains("'a''b\\\\c'"));
        let pg = Progress::new(Dialect::Postgres);
        assert!(pg.step("a'b\\c", "fk", 1).contains("E'a''b\\\\c'"));
        assert!(pg.step("a'b", "fk", 1).contains("'a''b'"));
    }
}
