//! Applying a change stream: whole source transactions grouped into target transactions,
//! the position committed with them, a restart from the recorded position after a transient
//! failure, and a stop at a cutover's position.

use crate::events::{Event, EventHandler};
use ferry_core::{
    ChangeWriter, Error, ErrorKind, Position, ReplicatedTable, Result, Sink, Source, StreamEvent,
    Table,
};
use std::ops::ControlFlow;
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
    let from = match start_point(writer, options, stats).await? {
        ControlFlow::Continue(from) => from,
        ControlFlow::Break(done) => return Ok(done),
    };
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

/// Where the stream starts: the position the target records, or, before anything is read,
/// the end of this run (`Break`): the cutover's position is reached already, or a cutover
/// asked for a stop while this applier was away.
async fn start_point(
    writer: &mut dyn ChangeWriter,
    options: &ApplyOptions,
    stats: &mut ApplyStats,
) -> Result<ControlFlow<Option<Position>, Position>> {
    let from = writer.recorded().await?.ok_or_else(|| {
        Error::config(
            "the target records no replication position: start with `ferry migrate --replicate`, which copies and records where the copy's snapshot stands",
        )
    })?;
    stats.position = Some(from.clone());
    if options.until.as_ref() == Some(&from) {
        // Already there (a cutover drained to this position): nothing to read, and the
        // source is not asked for a stream it may no longer keep (a dropped slot).
        return Ok(ControlFlow::Break(None));
    }
    if follows_from_start(options) {
        // A cutover may have asked while this applier was away (reconnecting after a
        // failure): look before reading anything, so nothing past its position is applied.
        if let Some(at) = writer.stop_requested().await? {
            if at == from {
                stats.stopped_for_cutover = true;
                return Ok(ControlFlow::Break(None));
            }
            return Ok(ControlFlow::Break(Some(at)));
        }
    }
    Ok(ControlFlow::Continue(from))
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
