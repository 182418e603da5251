//! What a run creates in its target, and the only things it ever drops.
//!
//! Before creating anything a fresh run looks for every object it will create — schemas,
//! tables, enum types, domains — and refuses, naming them, when any is there already.
//! `--if-exists drop` drops exactly the ones it names (tables, types, domains the plan
//! creates), never with `CASCADE`: when something outside the plan depends on one of them
//! (a column of the user's own table of that type, a view, a foreign key) the run stops
//! and names it, and nothing is dropped. A resume drops only what its progress table
//! records having made. Schemas are created when missing and never dropped.

use crate::events::{Event, EventHandler};
use crate::progress::{PriorRun, PROGRESS_TABLE};
use ferry_core::objects::list;
use ferry_core::{DbObject, Error, ErrorKind, IfExists, ObjectKind, RecordedRun, Result, Sink};
use ferry_schema::{TablePlan, Translation};
use std::collections::HashSet;
use std::time::Duration;

/// How long a resume waits for statements a killed run left running in the target (an
/// index build the server finishes after its client died) before ending them.
const STOPPED_RUN_WAIT: Duration = Duration::from_secs(600);

/// What the run creates: the schemas, types and domains of the translation's `pre` (run
/// only when no table is kept) and every table that is not kept.
pub(crate) fn planned(t: &Translation, kept: &HashSet<String>) -> Vec<DbObject> {
    let mut out = if kept.is_empty() {
        t.pre_objects.clone()
    } else {
        Vec::new()
    };
    out.extend(
        t.tables
            .iter()
            .filter(|p| !kept.contains(&p.target.display_name()))
            .map(|p| {
                DbObject::new(
                    ObjectKind::Table,
                    p.target.schema.as_deref(),
                    &p.target.name,
                )
            }),
    );
    out
}

/// Look at the target before a fresh run: the tables to keep (`--if-exists truncate`),
/// and what the run will make. Refuses when an object the run would create is there
/// already, unless `--if-exists drop`, which drops exactly those (when they are tables,
/// types or domains of the kind the plan creates, and nothing else depends on them).
pub(crate) async fn clear(
    sink: &dyn Sink,
    t: &Translation,
    if_exists: IfExists,
    events: &EventHandler,
) -> Result<(HashSet<String>, Vec<DbObject>)> {
    let everything = planned(t, &HashSet::new());
    let found = sink.existing_objects(&everything).await?;
    let is_plan_table = |o: &DbObject| {
        o.kind == ObjectKind::Table
            && t.tables.iter().any(|p| {
                p.target.name == o.name && p.target.schema.as_deref() == o.schema.as_deref()
            })
    };
    let kept: HashSet<String> = if if_exists == IfExists::Truncate {
        found
            .iter()
            .filter(|o| is_plan_table(o))
            .map(DbObject::qualified_name)
            .collect()
    } else {
        HashSet::new()
    };
    let creating = planned(t, &kept);
    // A schema that is there is used as it is.
    let conflicts: Vec<DbObject> = found
        .iter()
        .filter(|f| f.kind != ObjectKind::Schema)
        .filter(|f| creating.iter().any(|c| c.same_name(f)))
        .cloned()
        .collect();
    let made: Vec<DbObject> = creating
        .into_iter()
        .filter(|o| o.kind != ObjectKind::Schema)
        .collect();
    if conflicts.is_empty() {
        return Ok((kept, made));
    }
    if if_exists != IfExists::Drop {
        let unfinished = matches!(sink.progress().load().await, Ok(Some(_)));
        return Err(already_there(&conflicts, unfinished));
    }
    // Drop only what is of the kind the plan creates under that name.
    if let Some(odd) = conflicts.iter().find(|f| {
        !f.kind.droppable()
            || !everything
                .iter()
                .any(|c| c.same_name(f) && c.kind == f.kind)
    }) {
        let wanted = everything
            .iter()
            .find(|c| c.same_name(odd))
            .map_or("object", |c| c.kind.word());
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "the target has a {odd} where ferry would create a {wanted}; --if-exists drop drops only the tables, types and domains ferry creates: rename or drop it yourself"
            ),
        ));
    }
    events(&Event::Warning(format!(
        "--if-exists drop: dropping {} object(s) of the plan the target has: {}",
        conflicts.len(),
        list(&conflicts)
    )));
    sink.drop_objects(&conflicts)
        .await
        .map_err(|e| e.context("--if-exists drop"))?;
    Ok((kept, made))
}

/// The refusal of a fresh run into a target that has `conflicts` already, with the way
/// out (`--resume` when the target records an `unfinished` run).
fn already_there(conflicts: &[DbObject], unfinished: bool) -> Error {
    let tables = conflicts
        .iter()
        .filter(|o| o.kind == ObjectKind::Table)
        .count();
    let what = if tables == conflicts.len() {
        "tables"
    } else {
        "tables and types"
    };
    let way_out = if unfinished {
        "it records an unfinished ferry run: add --resume to continue it, or pass --if-exists drop to start over"
    } else if tables == conflicts.len() {
        "pass --if-exists drop to replace them or --if-exists truncate to empty them"
    } else {
        "rename them in the target or pass --if-exists drop to replace them"
    };
    Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "the target already has {} of the {what} to create ({}); {way_out}",
            conflicts.len(),
            list(conflicts),
        ),
    )
}

/// A resume of a run stopped while creating its tables: drop what that run recorded
/// making (and only that), so that everything is created anew.
pub(crate) async fn undo_schema(sink: &dyn Sink, prior: &PriorRun) -> Result<()> {
    let made = &prior.recorded.made;
    let found = sink.existing_objects(made).await?;
    let ours: Vec<DbObject> = found
        .into_iter()
        .filter(|f| f.kind.droppable() && made.iter().any(|m| m.same_name(f) && m.kind == f.kind))
        .collect();
    sink.drop_objects(&ours).await.map_err(|e| {
        e.context(format!(
            "dropping what the stopped run recorded in {PROGRESS_TABLE} creating"
        ))
    })
}

/// Create what the target lacks: the `kept` tables are emptied and every other one is
/// created, after the types (when no table is kept).
pub(crate) async fn create(sink: &dyn Sink, t: &Translation, kept: &HashSet<String>) -> Result<()> {
    let is_kept = |p: &TablePlan| kept.contains(&p.target.display_name());
    if kept.is_empty() {
        sink.execute(&t.pre).await?;
    }
    let kept_tables: Vec<&ferry_core::Table> = t
        .tables
        .iter()
        .filter(|p| is_kept(p))
        .map(|p| &p.target)
        .collect();
    sink.execute(&ferry_schema::truncate_all(t.target, &kept_tables))
        .await?;
    let creates: Vec<String> = t
        .tables
        .iter()
        .filter(|p| !is_kept(p))
        .flat_map(|p| p.ddl.create.clone())
        .collect();
    sink.execute(&creates).await
}

/// `--resume` into a target that records no unfinished run but has every table, type and
/// domain of the plan: the earlier run finished and dropped its record, and was killed
/// before it exited. Returns a state in which everything is done, so the run only checks
/// the result (its verification decides the exit code); `None` when anything is missing.
pub(crate) async fn finished_run(
    sink: &dyn Sink,
    t: &Translation,
    fingerprint: &str,
    events: &EventHandler,
) -> Result<Option<PriorRun>> {
    let everything: Vec<DbObject> = planned(t, &HashSet::new())
        .into_iter()
        .filter(|o| o.kind != ObjectKind::Schema)
        .collect();
    let found = sink.existing_objects(&everything).await?;
    let all_there = everything
        .iter()
        .all(|o| found.iter().any(|f| f.same_name(o) && f.kind == o.kind));
    if !all_there {
        return Ok(None);
    }
    events(&Event::Warning(
        "--resume: the target records no unfinished run and has every table of the plan: the earlier run finished; checking the result (add --verify content to compare every value)".into(),
    ));
    Ok(Some(PriorRun {
        recorded: RecordedRun {
            fingerprint: fingerprint.to_string(),
            schema_done: true,
            ..RecordedRun::default()
        },
        finished: true,
    }))
}

/// Before a resume reads the record: let the statements a killed run left running in the
/// target finish (their work and its record commit together), ending any still running
/// after [`STOPPED_RUN_WAIT`], so that no step runs in two sessions at once.
pub(crate) async fn settle_stopped_run(
    sink: &dyn Sink,
    fingerprint: &str,
    events: &EventHandler,
) -> Result<()> {
    let n = sink
        .end_tagged_sessions(fingerprint, STOPPED_RUN_WAIT)
        .await?;
    if n > 0 {
        events(&Event::Warning(format!(
            "waited for {n} session(s) of the stopped run to end in the target"
        )));
    }
    Ok(())
}
