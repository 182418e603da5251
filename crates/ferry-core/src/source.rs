//! The [`Source`] contract: what every database ferry reads from provides.

use crate::batch::{Batch, BatchLimits};
use crate::budget::MemoryBudget;
use crate::change::{ChangeStream, Position};
use crate::error::Result;
use crate::schema::{Dialect, Schema, Table};
use async_trait::async_trait;

/// The bounded channel a reader fills. A full channel blocks the reader: rows are never
/// dropped and never buffered without bound.
pub type BatchSender = tokio::sync::mpsc::Sender<Batch>;

/// How a table is read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Limits that close each batch.
    pub limits: BatchLimits,
    /// When the reader hits a value it cannot convert: `false` stops the read with an error,
    /// `true` puts the row into the batch's rejects and goes on.
    pub reject_bad_rows: bool,
    /// Read only rows whose single integer key lies in `[lo, hi)` (resumable chunks).
    pub key_range: Option<(i64, i64)>,
    /// Same-dialect fast path (PostgreSQL -> PostgreSQL): send each batch as a raw chunk of
    /// binary COPY tuple data (`Batch::raw`, no header or trailer, cut at tuple boundaries)
    /// instead of decoded values. Only set when the sink is PostgreSQL and every copied
    /// column keeps its source type verbatim; sources that cannot do it ignore the flag.
    pub raw_pg_copy: bool,
    /// MySQL -> MySQL: zero and partial dates (`0000-00-00 00:00:00`, `2024-00-00`) arrive as
    /// [`crate::Value::Text`] exactly as stored, for a MySQL sink that stores them as they
    /// are. Otherwise a zero date becomes NULL in a nullable column and is a bad value in a
    /// NOT NULL one. Sources other than MySQL ignore the flag.
    pub keep_zero_dates: bool,
    /// The run's memory budget: every batch the reader sends first takes its share of it
    /// (see [`crate::read_loop`]), so the rows in flight across all tables and chunk lanes
    /// stay under one ceiling. `None`: not bounded beyond the channel.
    pub budget: Option<MemoryBudget>,
}

/// What one table read did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Rows read from the source, including rejected ones.
    pub rows_read: u64,
    /// Rows the source could not convert.
    pub rows_rejected: u64,
}

/// A database ferry reads from.
///
/// Contract:
/// - [`Source::schema`] describes every table in neutral terms.
/// - [`Source::read_table`] streams the rows of one table into `tx` in batches, converting
///   each value to the neutral form of the `data_type` that `table`'s columns carry (the
///   caller may have changed those types after translation; the reader must honour them).
///   Only the columns of [`Table::copied_columns`] are read, in that order. It returns after
///   the last batch is sent; dropping `tx` is the end-of-table signal.
/// - All reads of one `Source` value see the same consistent snapshot of the database
///   where the database can provide one.
#[async_trait]
pub trait Source: Send + Sync {
    /// The dialect this source speaks.
    fn dialect(&self) -> Dialect;

    /// Introspect the tables to move.
    async fn schema(&self) -> Result<Schema>;

    /// Stream `table`'s rows into `tx`.
    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats>;

    /// Count the rows of `table` (exactly).
    async fn count_rows(&self, table: &Table) -> Result<u64>;

    /// Whether [`ReadOptions::key_range`] is honoured, so a table may be read as several
    /// ranges at once. A source that returns `false` always gets `key_range: None`.
    fn supports_key_ranges(&self) -> bool {
        false
    }

    /// The smallest and largest value of the key that [`ReadOptions::key_range`] ranges
    /// over (SQLite: the rowid), or `None` when the table has no such key or no rows.
    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        let _ = table;
        Ok(None)
    }

    /// Cut points of the key that [`ReadOptions::key_range`] ranges over: the keys at
    /// positions `every`, `2 * every`, ... (0-based) in key order, at most `max` of them. The
    /// ranges between consecutive cuts then hold exactly `every` rows each, however sparse the
    /// keys are. A source whose [`Source::supports_key_ranges`] is `true` implements it (all
    /// steps on one connection, inside the snapshot); the default refuses.
    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        let _ = (every, max);
        Err(crate::error::Error::other(format!(
            "table `{}`: this source cannot step through its key",
            table.display_name()
        )))
    }

    /// The length in characters (Unicode code points) of the longest value stored in each of
    /// `columns` of `table`, in order; `None` where the column holds no value. Sizes
    /// `varchar(n)` for text columns a MySQL target must index whole. The default measures
    /// nothing (every entry `None`).
    async fn max_char_lengths(
        &self,
        table: &Table,
        columns: &[String],
    ) -> Result<Vec<Option<u64>>> {
        let _ = table;
        Ok(vec![None; columns.len()])
    }

    /// The one-line warning when this connection is unencrypted and its host is outside
    /// loopback (see `ferry_tls::plaintext_warning`); the engine reports it once.
    fn connection_warning(&self) -> Option<String> {
        None
    }

    /// Lossy choices the source made while describing its schema (for example, a type
    /// chosen from stored values), as `table.column: message` lines. Call after `schema`.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// The change-stream position of the snapshot every read sees (for MySQL the binlog file,
    /// offset and GTID set read while the snapshot was taken), or `None` when the source
    /// keeps no change log or could not pin the snapshot to a position. Call after a read.
    async fn snapshot_position(&self) -> Result<Option<Position>> {
        Ok(None)
    }

    /// Check, before anything is copied, that the source can be replicated from (server
    /// settings, privileges); each missing precondition is named with its fix.
    async fn check_replication(&self) -> Result<()> {
        Err(crate::Error::config(format!(
            "a {:?} source has no change stream to replicate from",
            self.dialect()
        )))
    }

    /// The position of the newest change the source has committed (what a cutover drains to).
    async fn current_position(&self) -> Result<Position> {
        Err(crate::Error::config(format!(
            "a {:?} source has no change stream to replicate from",
            self.dialect()
        )))
    }

    /// Set up, before anything is copied, what the change stream of `tables` needs on the
    /// source, so every later read sees the snapshot replication starts after (PostgreSQL: a
    /// publication and a logical slot whose exported snapshot the copy reads). Tables that
    /// cannot name the old row of an update are refused, or with `set_replica_identity` made
    /// able to (PostgreSQL: REPLICA IDENTITY FULL). The default has nothing to set up.
    async fn prepare_replication(
        &self,
        tables: &[Table],
        set_replica_identity: bool,
    ) -> Result<()> {
        let _ = (tables, set_replica_identity);
        Ok(())
    }

    /// Release what replication from `at` keeps on the source (PostgreSQL: the slot, which
    /// holds WAL, and the publication). Replication cannot resume from `at` afterwards. The
    /// default holds nothing.
    async fn end_replication(&self, at: &Position) -> Result<()> {
        let _ = at;
        Ok(())
    }

    /// What replication from `at` holds on the source, as lines for the user (PostgreSQL:
    /// the WAL the slot retains). The default has nothing to say.
    async fn replication_notes(&self, at: &Position) -> Result<Vec<String>> {
        let _ = at;
        Ok(Vec::new())
    }

    /// Open a stream of the committed changes to `tables` after `from`, in commit order.
    /// `tables` are the tables the copy moved, with the column types it chose; the stream's
    /// [`Change::table`](crate::change::Change) indexes into them. With `until` the stream
    /// ends (`Ok(None)`) once it has passed that position, else it waits for new changes.
    /// `options` are the copy's read choices (`keep_zero_dates`), so a replicated row
    /// converts exactly as a copied one.
    async fn changes(
        &self,
        tables: &[Table],
        from: &Position,
        until: Option<&Position>,
        options: &ReadOptions,
    ) -> Result<Box<dyn ChangeStream>> {
        let _ = (tables, from, until, options);
        Err(crate::Error::config(format!(
            "a {:?} source has no change stream to replicate from",
            self.dialect()
        )))
    }

    /// How to split the raw chunks this source sends for `table` (with
    /// [`ReadOptions::raw_pg_copy`]) into rows and keys, or `None` when it sends none for it
    /// or cannot decode its key from them.
    fn raw_rows(&self, table: &Table) -> Option<Box<dyn crate::raw::RawRows>> {
        let _ = table;
        None
    }

    /// Release what the source holds open for its reads (a snapshot's transactions and the
    /// locks they keep), once nothing will read from it again. Reading after `close` may
    /// fail. The engine calls it at the end of every run, failed ones included.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
