//! The [`Sink`] contract: what every database ferry writes to provides.

use crate::batch::{Batch, RejectedRow};
use crate::error::Result;
use crate::objects::DbObject;
use crate::progress::{ChunkDone, ProgressStore, StepDone};
use crate::schema::{Dialect, Table};
use async_trait::async_trait;
use std::time::Duration;

/// What to do when a table to create already exists in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfExists {
    /// Refuse the run before anything is written.
    #[default]
    Fail,
    /// Drop the existing tables and types of the plan and create them anew. Nothing
    /// outside the plan is dropped: when something else depends on one of them (a table
    /// of the user with a column of that type, a view, a foreign key), the run is refused.
    Drop,
    /// Keep the table, delete its rows.
    Truncate,
}

/// What a run will do in the target, for [`Sink::missing_privileges`] (`--check`).
#[derive(Debug, Clone, Default)]
pub struct TargetNeeds {
    /// Tables the run creates (target names and schemas).
    pub create: Vec<Table>,
    /// Tables the target has that the run loads into or empties (`--if-exists truncate`).
    pub write_existing: Vec<Table>,
    /// Tables the target has that the run drops (`--if-exists drop`).
    pub drop_existing: Vec<Table>,
    /// Tables it only reads (`ferry verify`).
    pub read: Vec<Table>,
    /// Whether the run adds foreign keys.
    pub foreign_keys: bool,
}

/// What one [`TableWriter::write`] did.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    /// Rows handed to the target.
    pub written: u64,
    /// Rows the target cannot store (in reject mode); in stop mode the writer returns an
    /// error instead.
    pub rejected: Vec<RejectedRow>,
}

/// A database ferry writes to.
///
/// Contract:
/// - [`Sink::execute`] runs DDL produced by ferry-schema for this dialect, in order.
/// - [`Sink::progress`] keeps a run's bookkeeping; the engine never writes it as SQL.
/// - [`Sink::open_writer`] starts loading one table whose columns are `table`'s copied
///   columns, in that order; `table` carries target names and final types.
/// - Rows passed to a writer are durable only after [`TableWriter::finish`] returns; a writer
///   dropped without `finish` leaves the table as it was before the writer opened.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The dialect this sink speaks.
    fn dialect(&self) -> Dialect;

    /// Which of `tables` (target names) already exist.
    async fn existing_tables(&self, tables: &[Table]) -> Result<Vec<String>>;

    /// Which objects with the names of `objects` the target has, each with the kind it
    /// really is there (a view or a type may hold a table's name). Reads only. The default
    /// knows tables only.
    async fn existing_objects(&self, objects: &[DbObject]) -> Result<Vec<DbObject>> {
        let tables: Vec<Table> = objects
            .iter()
            .filter(|o| o.kind == crate::ObjectKind::Table)
            .map(|o| Table {
                schema: o.schema.clone(),
                ..Table::new(o.name.clone())
            })
            .collect();
        let found = self.existing_tables(&tables).await?;
        Ok(tables
            .iter()
            .filter(|t| found.contains(&t.display_name()))
            .map(|t| DbObject::new(crate::ObjectKind::Table, t.schema.as_deref(), &t.name))
            .collect())
    }

    /// Drop exactly `objects` (tables, types, domains), all or none, never with
    /// `CASCADE`. When an object that is not in `objects` depends on one of them, nothing
    /// is dropped and the error names the dependent object.
    async fn drop_objects(&self, objects: &[DbObject]) -> Result<()>;

    /// From now on, mark every session this sink opens as one of run `tag` (ASCII letters
    /// and digits), so that a later run can find the sessions of this one.
    fn tag_sessions(&self, tag: &str) {
        let _ = tag;
    }

    /// Wait for the sessions of an earlier run tagged `tag` that are still at work in the
    /// target (a statement the server goes on with after its client was killed), up to
    /// `limit`, then end those left. Returns how many there were. Targets where a second
    /// session waits for the first's lock and then sees its work have none to wait for.
    async fn end_tagged_sessions(&self, tag: &str, limit: Duration) -> Result<usize> {
        let _ = (tag, limit);
        Ok(0)
    }

    /// Run DDL statements in order, each on its own.
    async fn execute(&self, statements: &[String]) -> Result<()>;

    /// The one-line warning when this connection is unencrypted and its host is outside
    /// loopback (see `ferry_tls::plaintext_warning`); the engine reports it once.
    fn connection_warning(&self) -> Option<String> {
        None
    }

    /// Which of the extensions `names` (PostgreSQL) this target cannot create, each with
    /// why (not offered by the server, or the role lacks the right). Creates nothing: the
    /// extensions are tried in a transaction that is rolled back. Targets without
    /// extensions have none to refuse.
    async fn unavailable_extensions(&self, names: &[String]) -> Result<Vec<(String, String)>> {
        let _ = names;
        Ok(Vec::new())
    }

    /// The privileges `needs` calls for that the connected user lacks, each an error of
    /// kind [`ErrorKind::Permission`](crate::ErrorKind::Permission) whose
    /// [`fix`](crate::Error::fix) is the statement that grants it. Reads the catalog
    /// only. Targets that cannot tell report none.
    async fn missing_privileges(&self, needs: &TargetNeeds) -> Result<Vec<crate::Error>> {
        let _ = needs;
        Ok(Vec::new())
    }

    /// How rows go into this target, in a few words for a plan (`binary COPY`).
    fn load_method(&self) -> String {
        String::new()
    }

    /// Start loading rows into `table`.
    async fn open_writer(
        &self,
        table: &Table,
        reject_bad_rows: bool,
    ) -> Result<Box<dyn TableWriter>>;

    /// Count the rows of `table` (exactly).
    async fn count_rows(&self, table: &Table) -> Result<u64>;

    /// Where this target keeps a run's progress (see [`crate::progress`]).
    fn progress(&self) -> &dyn ProgressStore;

    /// Run `statements`, then record `done`, as one transaction where the dialect's DDL is
    /// transactional (PostgreSQL). Elsewhere they run one after the other, so a crash in
    /// between can leave the step done but unrecorded; a resumed run then finds the object
    /// already there (an [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists)
    /// error).
    async fn execute_recorded(&self, statements: &[String], done: &StepDone) -> Result<()> {
        self.execute(statements).await?;
        self.progress().record(done).await
    }

    /// Open the writer that applies replicated changes to `tables` and keeps the stream's
    /// position in the target, under a lock that keeps a second applier out. Targets that
    /// cannot do this say so.
    async fn open_change_writer(
        &self,
        tables: &[crate::ReplicatedTable],
    ) -> Result<Box<dyn crate::ChangeWriter>> {
        let _ = tables;
        Err(crate::Error::config(format!(
            "a {:?} target cannot apply replicated changes",
            self.dialect()
        )))
    }

    /// What the target records about replication (without taking the applier lock), or
    /// `None` when nothing was recorded.
    async fn replication_status(&self) -> Result<Option<crate::ReplicationStatus>> {
        Ok(None)
    }

    /// Ask the applier running on this target (if any) to apply changes up to `at` and stop;
    /// `None` withdraws the request. Needs no applier lock.
    async fn request_stop(&self, at: Option<&crate::Position>) -> Result<()> {
        let _ = at;
        Err(crate::Error::config(format!(
            "a {:?} target cannot apply replicated changes",
            self.dialect()
        )))
    }
}

/// Loads the rows of one table.
#[async_trait]
pub trait TableWriter: Send {
    /// Write one batch. An empty batch is allowed and writes nothing.
    async fn write(&mut self, batch: Batch) -> Result<WriteOutcome>;

    /// Make everything written durable; returns the rows written in total. `done` (the
    /// chunk's record) is written in the same transaction just before it commits, so the
    /// rows and the record become durable together or not at all.
    async fn finish(self: Box<Self>, done: Option<&ChunkDone>) -> Result<u64>;
}
