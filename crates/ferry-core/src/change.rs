//! Change data capture: what a source's change stream carries after the copy's snapshot.
//!
//! A change is data, not SQL. A source driver reads its log (the MySQL binlog, PostgreSQL
//! logical decoding) and hands over whole committed source transactions, in commit order,
//! each with the [`Position`] just after its commit. Values are the same neutral [`Value`]s
//! the copy reads, converted by the same rules, so a replicated row equals a copied one.
//! Ordering, grouping and retry are the engine's; rendering apply statements is the target
//! driver's.

use crate::{Result, Value};
use async_trait::async_trait;
use std::fmt;

/// Where a change stream stands, as text the source driver writes and reads back (for
/// MySQL `mysql-bin.000003:4711` and the GTID set; for PostgreSQL an LSN). The engine only
/// stores it, committed in the target together with the rows it covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position(pub String);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new row: `after` holds it.
    Insert,
    /// A changed row: `before` identifies it (its full image, or at least its key), `after`
    /// holds the new values. The key may have changed.
    Update,
    /// A removed row: `before` identifies it.
    Delete,
    /// Every row of the table was removed.
    Truncate,
}

/// One row change of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Index of the table in the list the stream was opened with.
    pub table: usize,
    /// What happened.
    pub kind: ChangeKind,
    /// The row before the change, in the table's copied-column order (updates, deletes).
    pub before: Option<Vec<Value>>,
    /// The row after the change, in the table's copied-column order (inserts, updates).
    pub after: Option<Vec<Value>>,
    /// Columns of `after` whose value the source did not send because it did not change
    /// (PostgreSQL's unchanged TOAST values): the target keeps its own value there.
    pub unchanged: Vec<usize>,
}

impl Change {
    /// A change of row values with every column sent (`unchanged` empty).
    pub fn row(
        table: usize,
        kind: ChangeKind,
        before: Option<Vec<Value>>,
        after: Option<Vec<Value>>,
    ) -> Change {
        Change {
            table,
            kind,
            before,
            after,
            unchanged: Vec::new(),
        }
    }

    /// Payload bytes, to bound what the apply pipeline holds in memory.
    pub fn byte_size(&self) -> usize {
        let row = |r: &Option<Vec<Value>>| {
            r.as_ref()
                .map_or(0, |v| v.iter().map(Value::byte_size).sum::<usize>())
        };
        16 + row(&self.before) + row(&self.after)
    }
}

/// What a change stream yields. A source transaction arrives as one or more `Changes`
/// pieces (a large one in several, so memory stays bounded) followed by its `Commit`; the
/// applier never splits it across target transactions.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Row changes of the open source transaction, in the order the source made them.
    Changes(Vec<Change>),
    /// The open source transaction committed.
    Commit {
        /// The stream position just after the commit: resuming from here never repeats it.
        end: Position,
        /// When the source committed it, in microseconds since the Unix epoch (for lag).
        commit_micros: Option<i64>,
    },
    /// The stream moved past data that concerns none of the streamed tables (other tables,
    /// other databases, empty transactions); recording it keeps a resume short. Never sent
    /// inside an open transaction.
    Advanced(Position),
    /// Something the user should know that does not stop replication (for example changes to
    /// a table created after the copy, which is not replicated).
    Notice(String),
}

/// A source's committed transactions from a position on, in commit order.
#[async_trait]
pub trait ChangeStream: Send {
    /// The next event; `Ok(None)` when the stream was opened to stop at the source's end and
    /// reached it. Errors name what could not be carried (DDL on a replicated table, a value
    /// that does not convert) by table, column and key.
    async fn next(&mut self) -> Result<Option<StreamEvent>>;

    /// The target committed everything up to `position` (a `Commit` end or an `Advanced`
    /// position this stream yielded): the source may release what it keeps for it
    /// (PostgreSQL: the slot's confirmed flush position). Never called for a position the
    /// target does not hold. The default does nothing.
    async fn acknowledge(&mut self, position: &Position) -> Result<()> {
        let _ = position;
        Ok(())
    }
}

/// The target side of replication: applies changes inside one open target transaction and
/// commits them together with the source position they reach, so the recorded position is
/// true exactly when the changes are there.
#[async_trait]
pub trait ChangeWriter: Send {
    /// The position the last commit recorded, if any.
    async fn recorded(&mut self) -> Result<Option<Position>>;

    /// Apply `changes` (in order) inside the open target transaction, opening one first if
    /// none is open. An update or delete that finds no row is an error naming the table and
    /// key: the target has diverged from the source.
    async fn apply(&mut self, changes: &[Change]) -> Result<()>;

    /// Record `position` (and the source commit time, for lag) and commit the open
    /// transaction; with none open, record the position in a transaction of its own.
    async fn commit(&mut self, position: &Position, commit_micros: Option<i64>) -> Result<()>;

    /// Throw away the open transaction (after a failure; the next `apply` starts afresh).
    async fn rollback(&mut self) -> Result<()>;

    /// The position a `ferry cutover` asked appliers to drain to and stop at, if it asked
    /// ([`Sink::request_stop`](crate::Sink::request_stop)).
    async fn stop_requested(&mut self) -> Result<Option<Position>>;
}

/// One replicated table: how the source describes it (the values' order and types) and what
/// the copy created on the target.
#[derive(Debug, Clone)]
pub struct ReplicatedTable {
    /// The source table, as the copy read it.
    pub source: crate::Table,
    /// The target table, as the copy created it.
    pub target: crate::Table,
}

/// What the target records about replication, for `ferry replicate --status`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationStatus {
    /// The source position applied and committed.
    pub position: Position,
    /// When that commit happened on the target (UTC text).
    pub applied_at: Option<String>,
    /// When the source committed the last applied transaction (UTC text).
    pub source_commit: Option<String>,
    /// Seconds between the last applied transaction's source commit and its apply.
    pub lag_seconds: Option<f64>,
}

/// The error for an update or delete that did not match exactly one target row: the target
/// has diverged from the source. `key` names the row by its key columns (empty for a
/// keyless table, matched by its whole before-image).
pub fn diverged(
    table: &str,
    key: &[(&str, Option<&Value>)],
    kind: ChangeKind,
    matched: u64,
) -> crate::Error {
    let what = if key.is_empty() {
        "the row matching the source's before-image".to_string()
    } else {
        key.iter()
            .map(|(name, v)| {
                format!(
                    "{name}={}",
                    v.map(|v| v.to_json().to_string()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    crate::Error::new(
        crate::ErrorKind::Data,
        format!(
            "table `{table}`, {what}: a replicated {kind:?} matched {matched} rows on the target instead of 1; the target has diverged from the source (changed by something other than ferry?): copy again"
        ),
    )
}
