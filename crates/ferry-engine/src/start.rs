//! Starting a run: a fresh one (check the target, record the plan, create the tables) or,
//! with `--resume` and a recorded unfinished run of the same plan, that one picked up.

use crate::events::{Event, EventHandler};
use crate::migrate::MigrateOptions;
use crate::progress::{fingerprint, PriorRun, PROGRESS_TABLE};
use ferry_core::{Error, Result, RunStart, Sink, Step, StepDone};
use ferry_schema::Translation;
use std::collections::HashSet;

/// How a run starts: what an earlier run recorded (when resuming one), and the target
/// names of tables kept with their own keys (`--if-exists truncate`).
pub(crate) struct Started {
    /// The earlier run this one continues.
    pub(crate) prior: Option<PriorRun>,
    /// Tables that existed before the run: their keys and indexes exist already.
    pub(crate) kept: HashSet<String>,
}

/// Start a fresh run or resume the recorded one (see the module documentation).
pub(crate) async fn start_or_resume(
    opts: &MigrateOptions,
    events: &EventHandler,
    sink: &dyn Sink,
    t: &Translation,
) -> Result<Started> {
    let fp = fingerprint(t);
    sink.tag_sessions(&fp);
    if opts.resume {
        if let Some(started) = resume(events, sink, t, &fp).await? {
            return Ok(started);
        }
    }
    let (kept, made) = crate::target::clear(sink, t, opts.if_exists, events).await?;
    let mut kept_names: Vec<String> = kept.iter().cloned().collect();
    kept_names.sort();
    let start = RunStart {
        fingerprint: fp,
        if_exists: opts.if_exists,
        kept: kept_names,
        made,
    };
    sink.progress()
        .start(&start)
        .await
        .map_err(|e| e.context(format!("creating ferry's progress table {PROGRESS_TABLE}")))?;
    crate::target::create(sink, t, &kept).await?;
    record_schema(sink).await?;
    Ok(Started { prior: None, kept })
}

/// Pick up the unfinished run recorded in the target, or the finished one whose record was
/// dropped; `None` when there is neither (the run then starts from the beginning).
async fn resume(
    events: &EventHandler,
    sink: &dyn Sink,
    t: &Translation,
    fp: &str,
) -> Result<Option<Started>> {
    crate::target::settle_stopped_run(sink, fp, events).await?;
    let Some(recorded) = sink.progress().load().await? else {
        if let Some(prior) = crate::target::finished_run(sink, t, fp, events).await? {
            return Ok(Some(Started {
                prior: Some(prior),
                kept: HashSet::new(),
            }));
        }
        events(&Event::Warning(
            "--resume: the target records no unfinished run; starting from the beginning".into(),
        ));
        return Ok(None);
    };
    if recorded.fingerprint != fp {
        return Err(Error::config(format!(
            "the unfinished run recorded in the target's {PROGRESS_TABLE} created other tables or types (the source, the config or ferry changed since); start over without --resume and with --if-exists drop"
        )));
    }
    let done: usize = recorded
        .chunks
        .values()
        .map(|c| c.iter().filter(|(_, rows)| rows.is_some()).count())
        .sum();
    events(&Event::Warning(format!(
        "resuming the unfinished run recorded in the target: {done} chunk(s) already loaded are kept"
    )));
    let prior = PriorRun {
        recorded,
        finished: false,
    };
    if !prior.recorded.schema_done {
        // The run stopped while creating tables: drop what it recorded making, and create
        // it again. Tables it kept existed before it and are emptied again.
        crate::target::undo_schema(sink, &prior).await?;
        crate::target::create(sink, t, &prior.recorded.kept).await?;
        record_schema(sink).await?;
    }
    let kept = prior.recorded.kept.clone();
    Ok(Some(Started {
        prior: Some(prior),
        kept,
    }))
}

async fn record_schema(sink: &dyn Sink) -> Result<()> {
    sink.progress()
        .record(&StepDone::new("", Step::Schema))
        .await
}
