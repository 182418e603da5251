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

use crate::events::{Event, EventHandler};
use ferry_core::{
    ChangeWriter, Error, ErrorKind, Position, ReplicatedTable, Result, Sink, Source, StreamEvent,
    Table,
};
use std::time::{Duration, Instant};

/// How changes are applied.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Commit once this many changes are applied (at the next source commit).
    pub group_changes: usize,
    /// Commit at least this often while changes flow, and when the source goes idle.
    pub group_interval: Duration,
    /// Stop once the stream has passed this position (a cutover's drain); `None` applies
    /// until stopped.
    pub until: Option<Position>,
    /// Reconnect attempts after a transient failure before giving up.
    pub max_retries: u32,
    /// Both ends are MySQL: zero dates travel as they are (set by [`apply`]).
    pub mysql_to_mysql: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            group_changes: 5_000,
            group_interval: Duration::from_millis(200),
            until: None,
            max_retries: 10,
            mysql_to_mysql: false,
        }
    }
}

/// What an apply run did.
#[derive(Debug, Clone, Default)]
pub struct ApplyStats {
    /// Source transactions applied.
    pub transactions: u64,
    /// Row changes applied.
    pub changes: u64,
    /// Target transactions committed.
    pub commits: u64,
    /// The position recorded last.
    pub position: Option<Position>,
    /// Seconds between the last applied transaction's source commit and its apply.
    pub lag_seconds: Option<f64>,
    /// Reconnections after transient failures.
    pub retries: u32,
    /// A `ferry cutover` asked this applier to stop, and it did at the cutover's position.
    pub stopped_for_cutover: bool,
}

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
async fn copied_plan(
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

/// Apply the source's changes to the target from the position the target records, until
/// `options.until` is passed (or forever).
pub async fn apply(
    source: &dyn Source,
    sink: &dyn Sink,
    tables: &[ReplicatedTable],
    options: &ApplyOptions,
    events: &EventHandler,
) -> Result<ApplyStats> {
    let mut stats = ApplyStats::default();
    let options = &ApplyOptions {
        mysql_to_mysql: crate::dialect_pair::DialectPair::new(source.dialect(), sink.dialect())
            .keeps_zero_dates(),
        ..options.clone()
    };
    let mut writer = sink.open_change_writer(tables).await?;
    let source_tables: Vec<Table> = tables.iter().map(|t| t.source.clone()).collect();
    let mut options = options.clone();
    loop {
        let outcome = apply_from_recorded(
            source,
            writer.as_mut(),
            &source_tables,
            &options,
            events,
            &mut stats,
        )
        .await;
        match outcome {
            Ok(None) => return Ok(stats),
            Ok(Some(stop_at)) => {
                // A cutover asked: drain to its position, then end (and free the lock).
                events(&Event::Warning(format!(
                    "replication: a cutover asked to stop at {stop_at}; applying up to there"
                )));
                stats.stopped_for_cutover = true;
                options.until = Some(stop_at);
            }
            Err(e) if e.kind().is_retryable() && stats.retries < options.max_retries => {
                stats.retries += 1;
                let wait = Duration::from_secs(1 << stats.retries.min(3));
                events(&Event::Warning(format!(
                    "replication: {e}; starting again from the recorded position in {}s",
                    wait.as_secs()
                )));
                tokio::time::sleep(wait).await;
                // The writer's connection may be gone with the failure (a rollback with no
                // transaction open does not touch it, so ask it something): a new writer
                // reads the recorded position back, and any half-applied group was rolled
                // back with the session that held it.
                let alive = writer.rollback().await.is_ok() && writer.recorded().await.is_ok();
                if !alive {
                    // Frees its lock now if its session still exists.
                    drop(writer);
                    writer = reopen(sink, tables, &options).await?;
                }
            }
            Err(e) => {
                let _ = writer.rollback().await;
                return Err(e);
            }
        }
    }
}

async fn reopen(
    sink: &dyn Sink,
    tables: &[ReplicatedTable],
    options: &ApplyOptions,
) -> Result<Box<dyn ChangeWriter>> {
    let mut last = None;
    for attempt in 0..=options.max_retries {
        match sink.open_change_writer(tables).await {
            Ok(w) => return Ok(w),
            // A session the server has not yet noticed is gone may still hold the
            // applier lock for a moment: wait for it like for the server itself.
            Err(e)
                if e.kind().is_retryable()
                    || e.kind() == ErrorKind::Connect
                    || e.kind() == ErrorKind::AlreadyExists =>
            {
                last = Some(e);
                tokio::time::sleep(Duration::from_secs(1 << attempt.min(3))).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::other("the target could not be reached again")))
}

/// How often an applier without an end asks the target whether a cutover wants it to stop.
const STOP_CHECK: Duration = Duration::from_millis(500);

/// An applier without an end (`ferry replicate`), which a cutover can ask to stop.
fn follows_from_start(options: &ApplyOptions) -> bool {
    options.until.is_none()
}

/// One pass: stream from the recorded position and apply until `until` or an error.
/// Returns the position a cutover asked to stop at, when one asked (only without `until`).
async fn apply_from_recorded(
    source: &dyn Source,
    writer: &mut dyn ChangeWriter,
    source_tables: &[Table],
    options: &ApplyOptions,
    events: &EventHandler,
    stats: &mut ApplyStats,
) -> Result<Option<Position>> {
    let from = writer.recorded().await?.ok_or_else(|| {
        Error::config(
            "the target records no replication position: start with `ferry migrate --replicate`, which copies and records where the copy's snapshot stands",
        )
    })?;
    stats.position = Some(from.clone());
    if options.until.as_ref() == Some(&from) {
        // Already there (a cutover drained to this position): nothing to read, and the
        // source is not asked for a stream it may no longer keep (a dropped slot).
        return Ok(None);
    }
    if follows_from_start(options) {
        // A cutover may have asked while this applier was away (reconnecting after a
        // failure): look before reading anything, so nothing past its position is applied.
        if let Some(at) = writer.stop_requested().await? {
            if at == from {
                stats.stopped_for_cutover = true;
                return Ok(None);
            }
            return Ok(Some(at));
        }
    }
    // The copy's read choices, so a replicated row converts exactly as a copied one.
    let read = ferry_core::ReadOptions {
        keep_zero_dates: options.mysql_to_mysql,
        ..Default::default()
    };
    let mut stream = source
        .changes(source_tables, &from, options.until.as_ref(), &read)
        .await?;
    let mut group = Group::default();
    let mut last_record = Instant::now();
    let mut last_stop_check = Instant::now();
    let follows = options.until.is_none();
    loop {
        if follows && group.between() && last_stop_check.elapsed() >= STOP_CHECK {
            last_stop_check = Instant::now();
            if let Some(at) = writer.stop_requested().await? {
                return Ok(Some(at));
            }
        }
        let next = match tokio::time::timeout(group.wait(options, follows), stream.next()).await {
            Ok(next) => next?,
            Err(_) => {
                group.commit(writer, stream.as_mut(), stats, events).await?;
                continue;
            }
        };
        match next {
            None => {
                group.commit(writer, stream.as_mut(), stats, events).await?;
                return Ok(None);
            }
            Some(StreamEvent::Changes(changes)) => {
                if group.changes == 0 && group.pending.is_none() {
                    group.started = Instant::now();
                }
                group.in_source_txn = true;
                writer.apply(&changes).await?;
                group.changes += changes.len();
                stats.changes += changes.len() as u64;
            }
            Some(StreamEvent::Commit { end, commit_micros }) => {
                if group.source_commit(end, commit_micros, options) {
                    group.commit(writer, stream.as_mut(), stats, events).await?;
                    last_record = Instant::now();
                }
            }
            Some(StreamEvent::Advanced(position)) => {
                if group.pending.is_some() || group.changes > 0 {
                    let micros = group.pending.as_ref().and_then(|p| p.1);
                    group.pending = Some((position, micros));
                } else if last_record.elapsed() >= Duration::from_secs(1) {
                    // Nothing of ours changed: record the position now and then, so a
                    // restart does not re-read a long stretch of other tables' changes.
                    writer.commit(&position, None).await?;
                    stream.acknowledge(&position).await?;
                    stats.position = Some(position);
                    last_record = Instant::now();
                }
            }
            Some(StreamEvent::Notice(text)) => events(&Event::Warning(text)),
        }
    }
}

/// The open target transaction: changes applied, and the last whole source transaction's
/// end position it would record.
struct Group {
    started: Instant,
    changes: usize,
    transactions: u64,
    pending: Option<(Position, Option<i64>)>,
    in_source_txn: bool,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            started: Instant::now(),
            changes: 0,
            transactions: 0,
            pending: None,
            in_source_txn: false,
        }
    }
}

impl Group {
    /// Between source transactions with nothing applied since the last target commit.
    fn between(&self) -> bool {
        !self.in_source_txn && self.pending.is_none() && self.changes == 0
    }

    /// How long to wait for the stream: no longer than the group's deadline, so finished
    /// transactions are committed even when the source goes quiet (never in the middle of
    /// a source transaction), and no longer than the stop check while following.
    fn wait(&self, options: &ApplyOptions, follows: bool) -> Duration {
        if self.pending.is_some() && !self.in_source_txn {
            options
                .group_interval
                .saturating_sub(self.started.elapsed())
        } else if follows && !self.in_source_txn {
            STOP_CHECK
        } else {
            Duration::from_secs(3600)
        }
    }

    /// A source transaction ended at `end`: it joins the group; returns whether the group
    /// is now big or old enough to commit.
    fn source_commit(
        &mut self,
        end: Position,
        micros: Option<i64>,
        options: &ApplyOptions,
    ) -> bool {
        self.in_source_txn = false;
        if self.pending.is_none() && self.changes == 0 {
            self.started = Instant::now();
        }
        self.pending = Some((end, micros));
        self.transactions += 1;
        self.changes >= options.group_changes || self.started.elapsed() >= options.group_interval
    }

    /// Commit the open target transaction with the position it reaches, then tell the
    /// stream the target holds it (so the source may release it).
    async fn commit(
        &mut self,
        writer: &mut dyn ChangeWriter,
        stream: &mut dyn ferry_core::ChangeStream,
        stats: &mut ApplyStats,
        events: &EventHandler,
    ) -> Result<()> {
        let Some((position, micros)) = self.pending.take() else {
            return Ok(());
        };
        writer.commit(&position, micros).await?;
        stream.acknowledge(&position).await?;
        stats.commits += 1;
        stats.transactions += self.transactions;
        stats.position = Some(position.clone());
        if let Some(m) = micros {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(m);
            stats.lag_seconds = Some((now - m).max(0) as f64 / 1e6);
        }
        events(&Event::Replicated {
            position: position.0,
            transactions: stats.transactions,
            changes: stats.changes,
            lag_seconds: stats.lag_seconds,
        });
        self.changes = 0;
        self.transactions = 0;
        Ok(())
    }
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

/// What a cutover did.
#[derive(Debug)]
pub struct Cutover {
    /// The source position drained to.
    pub until: Position,
    /// The changes applied to get there.
    pub applied: ApplyStats,
    /// Seconds the drain took (waiting for a running applier included).
    pub drain_seconds: f64,
    /// The content comparison after the drain.
    pub verify: crate::Report,
}

/// The application has stopped writing: drain the changes up to the source's current
/// position, move identity/sequence/AUTO_INCREMENT counters past the replicated rows, and
/// compare every value. A `ferry replicate` still applying holds the applier lock: the
/// cutover asks it (through the target) to apply up to the same position and stop, and
/// waits up to `timeout` for that.
pub async fn cutover(
    opts: &ReplicateOptions,
    drivers: &dyn ferry_core::Connector,
    timeout: Duration,
    events: EventHandler,
) -> Result<Cutover> {
    let started = Instant::now();
    let source = drivers.open_source(&opts.from).await?;
    let sink = drivers.open_sink(&opts.to).await?;
    let plan = copied_plan(
        source.as_ref(),
        sink.as_ref(),
        &opts.config,
        drivers,
        &events,
    )
    .await;
    crate::migrate::close_source(source.as_ref(), &events).await;
    let plan = plan?;
    let tables: Vec<ReplicatedTable> = plan
        .tables
        .iter()
        .map(|t| ReplicatedTable {
            source: t.source.clone(),
            target: t.target.clone(),
        })
        .collect();
    let until = source.current_position().await?;
    events(&Event::Phase("drain"));
    // A `ferry replicate` still running drains to `until` and stops when it sees this.
    sink.request_stop(Some(&until)).await?;
    let drain_started = Instant::now();
    let mut apply_opts = opts.apply.clone();
    apply_opts.until = Some(until.clone());
    let applied = drain(
        source.as_ref(),
        sink.as_ref(),
        &tables,
        &apply_opts,
        &events,
        started,
        timeout,
    )
    .await;
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    // The stop request stays while the cutover verifies, so an applier that comes back
    // meanwhile (one that was reconnecting after a failure) applies nothing past `until`;
    // it is withdrawn if the cutover does not end safe to switch.
    let applied = match applied {
        Ok(a) => a,
        Err(e) => {
            let _ = sink.request_stop(None).await;
            return Err(e);
        }
    };
    let finished = finish_cutover(opts, drivers, sink.as_ref(), &plan, &events).await;
    let safe = matches!(&finished, Ok(v) if v.status == crate::RunStatus::Complete);
    if !safe {
        // Not safe to switch: replication may go on (nothing is released on the source).
        sink.request_stop(None).await?;
    }
    let verify = finished?;
    // Safe to switch: the request now names where the target was left, so any applier
    // still around (or started later) sees it is there and ends without reading on.
    if let (true, Some(at)) = (safe, &applied.position) {
        sink.request_stop(Some(at)).await?;
        // Nothing will replicate from the source again: release what replication holds
        // there (PostgreSQL: the slot keeps WAL until dropped).
        source.end_replication(at).await.map_err(|e| {
            e.context("the target is complete, but releasing the source's replication slot failed; drop it with `ferry replicate --stop`")
        })?;
    }
    Ok(Cutover {
        until,
        applied,
        drain_seconds,
        verify,
    })
}

/// After the drain: move the counters past the replicated rows and compare every value.
async fn finish_cutover(
    opts: &ReplicateOptions,
    drivers: &dyn ferry_core::Connector,
    sink: &dyn Sink,
    plan: &ferry_schema::Translation,
    events: &EventHandler,
) -> Result<crate::Report> {
    events(&Event::Phase("sequences"));
    let resets: Vec<String> = plan
        .tables
        .iter()
        .flat_map(|t| t.ddl.reset_sequences.clone())
        .collect();
    sink.execute(&resets)
        .await
        .map_err(|e| e.context("moving sequences past the replicated rows"))?;
    events(&Event::Phase("verify"));
    crate::verify(
        &crate::VerifyOptions {
            from: opts.from.clone(),
            to: opts.to.clone(),
            config: opts.config.clone(),
            jobs: crate::defaults::JOBS,
            content: true,
            show_values: false,
            batch: ferry_core::BatchLimits::default(),
        },
        drivers,
        events.clone(),
    )
    .await
}

/// Apply up to `apply.until`, waiting while another ferry holds the applier's lock (it was
/// asked to stop there) until `timeout` has passed since `started`.
async fn drain(
    source: &dyn Source,
    sink: &dyn Sink,
    tables: &[ReplicatedTable],
    apply_opts: &ApplyOptions,
    events: &EventHandler,
    started: Instant,
    timeout: Duration,
) -> Result<ApplyStats> {
    let mut warned = false;
    loop {
        match apply(source, sink, tables, apply_opts, events).await {
            Err(e) if e.kind() == ErrorKind::AlreadyExists && started.elapsed() < timeout => {
                if !warned {
                    events(&Event::Warning(
                        "another ferry is applying changes to this target; it was asked to apply up to the source's current position and stop".into(),
                    ));
                    warned = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::new(
                    ErrorKind::Transient,
                    format!("cutover timed out after {}s: another ferry kept applying changes to the target", timeout.as_secs()),
                ))
            }
            other => return other,
        }
    }
}
