//! Progress events: data, not drawing. The CLI turns them into bars or log lines.

use std::sync::Arc;

/// Something that happened during a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// The plan is made: tables in copy order with their estimated rows.
    Planned {
        /// (table, estimated rows).
        tables: Vec<(String, Option<u64>)>,
    },
    /// A phase began (`schema`, `copy`, `foreign keys`, `sequences`, `verify`).
    Phase(&'static str),
    /// A table started copying.
    TableStarted {
        /// Table.
        table: String,
        /// Estimated rows, for the ETA.
        estimated_rows: Option<u64>,
    },
    /// More rows of a table arrived.
    TableProgress {
        /// Table.
        table: String,
        /// Rows written so far.
        rows: u64,
        /// Payload bytes so far.
        bytes: u64,
    },
    /// A table's rows are in; its keys and indexes are being built.
    TableIndexing {
        /// Table.
        table: String,
    },
    /// A table finished (complete, failed or cancelled).
    TableFinished {
        /// Table.
        table: String,
        /// Whether everything arrived.
        ok: bool,
        /// Rows written.
        rows: u64,
    },
    /// A warning for the user.
    Warning(String),
    /// Replicated changes were committed on the target.
    Replicated {
        /// The source position now recorded in the target.
        position: String,
        /// Source transactions applied so far.
        transactions: u64,
        /// Row changes applied so far.
        changes: u64,
        /// Seconds between the source's commit and its apply.
        lag_seconds: Option<f64>,
    },
}

/// Receives events; must be cheap and must not block.
pub type EventHandler = Arc<dyn Fn(&Event) + Send + Sync>;

/// A handler that drops every event.
pub fn ignore() -> EventHandler {
    Arc::new(|_| {})
}
