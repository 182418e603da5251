//! The cutover: drain to the source's current position (through a running applier, or
//! here), move the counters, compare every value, release the source's replication state.

use super::{apply, copied_plan, ApplyOptions, ApplyStats, ReplicateOptions};
use crate::events::{Event, EventHandler};
use ferry_core::{Error, ErrorKind, Position, ReplicatedTable, Result, Sink, Source};
use std::time::{Duration, Instant};

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
