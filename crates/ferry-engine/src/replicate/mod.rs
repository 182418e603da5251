//! The change-apply core: a source's change stream applied to the target after the copy,
//! exactly once and in source commit order, whatever the source (MySQL binlog, PostgreSQL
//! logical decoding) and whatever the target.
//!
//! - Whole source transactions only: a transaction's changes and its commit position land in
//!   one target transaction; several source transactions are grouped into one target
//!   transaction for speed (up to [`ApplyOptions::group_changes`] changes or
//!   [`ApplyOptions::group_interval`]), never one split across two.
//! - The position is committed with the rows it covers (the writer's state table), so a crash
//!   at any instant resumes exactly: the next run reads the position back and the stream
//!   starts there.
//! - A transient failure (a dropped source or target connection, a restart) throws the open
//!   target transaction away and starts again from the recorded position.
//! - An idle source never leaves applied changes uncommitted: when no event arrives within
//!   the group interval, the finished transactions are committed.

mod apply;
mod cutover;

pub use apply::{apply, ApplyOptions, ApplyStats};
pub use cutover::{cutover, Cutover};

use crate::events::{Event, EventHandler};
use ferry_core::{Position, ReplicatedTable, Result, Sink, Source, Table};

/// The tables replication carries: the copy's plan (the same config gives the same plan),
/// each source table beside the target table the copy made of it.
pub async fn replicated_tables(
    source: &dyn Source,
    sink: &dyn Sink,
    config: &crate::Config,
    drivers: &dyn ferry_core::Connector,
    events: &EventHandler,
) -> Result<Vec<ReplicatedTable>> {
    let plan = copied_plan(source, sink, config, drivers, events).await?;
    Ok(plan
        .tables
        .into_iter()
        .map(|t| ReplicatedTable {
            source: t.source,
            target: t.target,
        })
        .collect())
}

/// The copy's plan, re-made from the source, without the tables the target lacks: a table
/// made on the source after the copy is left out with a warning. Its changes are not
/// applied, and a cutover's comparison reports it as missing on the target.
pub(super) async fn copied_plan(
    source: &dyn Source,
    sink: &dyn Sink,
    config: &crate::Config,
    drivers: &dyn ferry_core::Connector,
    events: &EventHandler,
) -> Result<ferry_schema::Translation> {
    let mut plan = crate::plan::plan(source, sink.dialect(), config, drivers).await?;
    let targets: Vec<Table> = plan.tables.iter().map(|t| t.target.clone()).collect();
    let present = sink.existing_tables(&targets).await?;
    plan.tables.retain(|t| {
        let there = present.contains(&t.target.display_name());
        if !there {
            events(&Event::Warning(format!(
                "table `{}` is on the source but not on the target (made after the copy?): its changes are not replicated, and a cutover reports it as missing; copy it with `ferry migrate`, or leave it out with [tables] exclude in the config",
                t.source.display_name()
            )));
        }
        there
    });
    Ok(plan)
}

/// Record where the copy's snapshot stands, so replication starts exactly there: the first
/// commit of the change writer, before any change.
pub async fn record_start(
    sink: &dyn Sink,
    tables: &[ReplicatedTable],
    at: &Position,
) -> Result<()> {
    // A new copy starts over: an earlier cutover's stop marker no longer applies (cleared
    // before the writer opens, whose session could hold the row).
    sink.request_stop(None).await?;
    let mut writer = sink.open_change_writer(tables).await?;
    writer.commit(at, None).await
}

/// Where replication runs and what it carries.
#[derive(Debug, Clone)]
pub struct ReplicateOptions {
    /// The source the copy read.
    pub from: ferry_core::ConnUrl,
    /// The target the copy wrote.
    pub to: ferry_core::ConnUrl,
    /// The copy's config (the same tables and types).
    pub config: crate::Config,
    /// How changes are applied.
    pub apply: ApplyOptions,
}

/// Apply the source's changes from the recorded position on, until stopped (or until
/// `opts.apply.until`).
pub async fn replicate(
    opts: &ReplicateOptions,
    drivers: &dyn ferry_core::Connector,
    events: EventHandler,
) -> Result<ApplyStats> {
    let source = drivers.open_source(&opts.from).await?;
    let sink = drivers.open_sink(&opts.to).await?;
    let tables = replicated_tables(
        source.as_ref(),
        sink.as_ref(),
        &opts.config,
        drivers,
        &events,
    )
    .await;
    // The plan read the source inside a snapshot; replication needs none.
    crate::migrate::close_source(source.as_ref(), &events).await;
    apply(
        source.as_ref(),
        sink.as_ref(),
        &tables?,
        &opts.apply,
        &events,
    )
    .await
}

/// What the target records about replication, read without disturbing a running applier.
pub async fn status(
    to: &ferry_core::ConnUrl,
    drivers: &dyn ferry_core::Connector,
) -> Result<Option<ferry_core::ReplicationStatus>> {
    drivers.open_sink(to).await?.replication_status().await
}

/// What replication from `at` holds on the source (the WAL a PostgreSQL slot retains), as
/// lines for the user.
pub async fn source_notes(
    from: &ferry_core::ConnUrl,
    at: &Position,
    drivers: &dyn ferry_core::Connector,
) -> Result<Vec<String>> {
    let source = drivers.open_source(from).await?;
    let notes = source.replication_notes(at).await;
    let _ = source.close().await;
    notes
}

/// End replication without a cutover: release what it holds on the source (a PostgreSQL
/// slot and publication) for the position the target records. A running applier is asked
/// to stop first. Returns the released position, or `None` when the target records none.
pub async fn stop(
    opts: &ReplicateOptions,
    drivers: &dyn ferry_core::Connector,
) -> Result<Option<Position>> {
    let sink = drivers.open_sink(&opts.to).await?;
    let Some(state) = sink.replication_status().await? else {
        return Ok(None);
    };
    let source = drivers.open_source(&opts.from).await?;
    let ended = source.end_replication(&state.position).await;
    let _ = source.close().await;
    ended?;
    Ok(Some(state.position))
}
