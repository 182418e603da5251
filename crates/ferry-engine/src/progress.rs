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
//! 'kept')` for tables that existed before the run; `('', 'schema')` once the tables are
//! created; `(table, 'chunk', lo, hi)` for each key range of a table (`lo = hi = 0`: the
//! whole table), done when its rows committed; `(table, 'index', i)` and `(table, 'post')`
//! for index builds and keys; `(table, 'fk', i)` and `(table, 'fk-valid', i)` for foreign
//! keys.
//!
//! [`TableWriter::finish`]: ferry_core::TableWriter::finish

use ferry_core::{Dialect, Error, ErrorKind, IfExists, Result, Sink};
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
    /// Whether the target's tables were all created.
    pub schema_done: bool,
    /// Per table: its chunks, each with the rows committed (`None`: not yet).
    pub chunks: HashMap<String, Vec<(Chunk, Option<u64>)>>,
    /// Done steps: (table, step, number).
    pub steps: HashSet<(String, String, i64)>,
}

impl State {
    /// Whether `step` number `n` of `table` is recorded as done.
    pub fn done(&self, table: &str, step: &str, n: i64) -> bool {
        self.steps
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
        match self.dialect {
            Dialect::Mysql => format!("`{STATE_TABLE}`"),
            _ => format!("\"{STATE_TABLE}\""),
        }
    }

    /// A string literal for this dialect.
    fn lit(&self, s: &str) -> String {
        let mut out = s.replace('\'', "''");
        if self.dialect == Dialect::Mysql {
            out = out.replace('\\', "\\\\");
        }
        format!("'{out}'")
    }

    /// Statements that start a fresh record for `plan`: the table (replacing an old one),
    /// the plan row and the kept tables.
    pub fn start(&self, fingerprint: &str, if_exists: IfExists, kept: &[String]) -> Vec<String> {
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
        let mut out = vec![
            self.drop(),
            create,
            format!(
                "INSERT INTO {t} (tbl, step, lo, hi, done, info) VALUES ('', 'plan', 0, 0, 1, {})",
                self.lit(&format!("{fingerprint} {mode}"))
            ),
        ];
        out.extend(kept.iter().map(|k| self.step(k, "kept", 0)));
        out
    }

    /// Drops the progress table (a finished run's last step).
    pub fn drop(&self) -> String {
        format!("DROP TABLE IF EXISTS {}", self.table())
    }

    /// Notes step `n` of `table` as done.
    pub fn step(&self, table: &str, step: &str, n: i64) -> String {
        format!(
            "INSERT INTO {} (tbl, step, lo, hi, done) VALUES ({}, {}, {n}, 0, 1)",
            self.table(),
            self.lit(table),
            self.lit(step)
        )
    }

    /// Notes the planned chunks of `table` (none loaded yet).
    pub fn plan_chunks(&self, table: &str, chunks: &[Chunk]) -> Vec<String> {
        chunks
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
        for row in rows {
            let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            let num = |i: usize| text(i).parse::<i64>().map_err(|_| bad());
            let (tbl, step) = (text(0), text(1));
            let (lo, hi, done, rows_done) = (num(2)?, num(3)?, num(4)? != 0, num(5)?);
            match step.as_str() {
                "plan" => {
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
    fn literals_are_escaped_per_dialect() {
        let my = Progress::new(Dialect::Mysql);
        assert!(my.step("a'b\\c", "fk", 1).contains("'a''b\\\\c'"));
        let pg = Progress::new(Dialect::Postgres);
        assert!(pg.step("a'b\\c", "fk", 1).contains("'a''b\\c'"));
    }
}
