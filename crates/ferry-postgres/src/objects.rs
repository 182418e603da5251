//! What a PostgreSQL target already has of the objects a run creates, dropping exactly the
//! ones asked for (never with `CASCADE`), and the sessions of a run that was killed.

use crate::conn::map_error;
use ferry_core::{DbObject, Error, ErrorKind, ObjectKind, Result};
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

fn qualified(o: &DbObject) -> String {
    ferry_schema::quote::pg_path(o.schema.as_deref(), &o.name)
}

/// The relation (table, view, index, sequence, ...) or the type that holds the name of `o`
/// in its schema (the session's `current_schema()` when it has none).
async fn find(client: &Client, o: &DbObject) -> Result<Option<ObjectKind>> {
    let fail = |e| map_error(e).context(format!("looking for {o} in the target"));
    if o.kind == ObjectKind::Schema {
        let row = client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&o.name])
            .await
            .map_err(fail)?;
        return Ok(row.map(|_| ObjectKind::Schema));
    }
    let rel = client
        .query_opt(
            "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = COALESCE($1, current_schema()) AND c.relname = $2",
            &[&o.schema, &o.name],
        )
        .await
        .map_err(fail)?;
    if let Some(row) = rel {
        let kind: String = row.get(0);
        return Ok(Some(match kind.as_str() {
            "r" | "p" => ObjectKind::Table,
            "v" | "m" => ObjectKind::View,
            "i" | "I" => ObjectKind::Index,
            "S" => ObjectKind::Sequence,
            "c" => ObjectKind::Type,
            _ => ObjectKind::Other,
        }));
    }
    // A type of its own (not the row type of a relation, found above).
    let ty = client
        .query_opt(
            "SELECT t.typtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = COALESCE($1, current_schema()) AND t.typname = $2 AND t.typrelid = 0",
            &[&o.schema, &o.name],
        )
        .await
        .map_err(fail)?;
    Ok(ty.map(|row| match row.get::<_, String>(0).as_str() {
        "d" => ObjectKind::Domain,
        _ => ObjectKind::Type,
    }))
}

/// Which of `objects` the target has a same-named object for, each with its real kind.
pub async fn existing(client: &Client, objects: &[DbObject]) -> Result<Vec<DbObject>> {
    let mut out = Vec::new();
    for o in objects {
        if let Some(kind) = find(client, o).await? {
            out.push(DbObject { kind, ..o.clone() });
        }
    }
    Ok(out)
}

/// Drop `objects` in one transaction: tables, then domains (a domain may be over an enum),
/// then types, each kind in one statement so that objects of the list may depend on each
/// other. No `CASCADE`: when anything else depends on them, PostgreSQL refuses and names
/// it; every statement is tried (under a savepoint) so the error names all of them, and
/// then nothing is dropped.
pub async fn drop(client: &Client, objects: &[DbObject]) -> Result<()> {
    if let Some(o) = objects.iter().find(|o| !o.kind.droppable()) {
        return Err(Error::config(format!(
            "ferry drops only tables, types and domains, not the {o}"
        )));
    }
    let mut drops = Vec::new();
    for (kind, word) in [
        (ObjectKind::Table, "TABLE"),
        (ObjectKind::Domain, "DOMAIN"),
        (ObjectKind::Type, "TYPE"),
    ] {
        let names: Vec<String> = objects
            .iter()
            .filter(|o| o.kind == kind)
            .map(qualified)
            .collect();
        if !names.is_empty() {
            drops.push(format!("DROP {word} IF EXISTS {}", names.join(", ")));
        }
    }
    if drops.is_empty() {
        return Ok(());
    }
    let what = || format!("dropping {}", ferry_core::objects::list(objects));
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|e| map_error(e).context(what()))?;
    let mut dependents = Vec::new();
    for sql in &drops {
        let tried = async {
            client.batch_execute("SAVEPOINT ferry_drop").await?;
            match client.batch_execute(sql).await {
                Ok(()) => Ok(None),
                Err(e) if e.code() == Some(&SqlState::DEPENDENT_OBJECTS_STILL_EXIST) => {
                    client
                        .batch_execute("ROLLBACK TO SAVEPOINT ferry_drop")
                        .await?;
                    Ok(Some(map_error(e).message().to_string()))
                }
                Err(e) => Err(e),
            }
        }
        .await;
        match tried {
            Ok(None) => {}
            Ok(Some(message)) => dependents.push(message),
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(map_error(e).context(what()));
            }
        }
    }
    if !dependents.is_empty() {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(Error::new(
            ErrorKind::Schema,
            format!(
                "other objects of the target depend on what ferry would drop, so nothing was dropped (ferry never drops with CASCADE): {}",
                dependents.join("; ")
            ),
        ));
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| map_error(e).context(what()))
}

/// The `application_name` of the sessions of run `tag`.
pub fn application_name(tag: &str) -> String {
    let tag: String = tag
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    format!("ferry-{tag}")
}

/// Wait for the other sessions named for run `tag` in this database to end: those still
/// running a statement up to `limit`, the idle ones (a killed client's open transaction)
/// not at all. Those left then are ended. Returns how many there were.
pub async fn end_tagged(client: &Client, tag: &str, limit: Duration) -> Result<usize> {
    let name = application_name(tag);
    let fail = |e| map_error(e).context("looking for the sessions of the stopped run");
    let started = Instant::now();
    let mut seen = std::collections::HashSet::new();
    loop {
        let rows = client
            .query(
                "SELECT pid, COALESCE(state, '') FROM pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_backend_pid() \
                 AND datname = current_database()",
                &[&name],
            )
            .await
            .map_err(fail)?;
        if rows.is_empty() {
            return Ok(seen.len());
        }
        let over = started.elapsed() >= limit;
        for row in rows {
            let (pid, state): (i32, String) = (row.get(0), row.get(1));
            seen.insert(pid);
            if over || state.starts_with("idle") {
                client
                    .query("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .map_err(fail)?;
            }
        }
        if started.elapsed() >= limit + Duration::from_secs(30) {
            return Err(Error::other(format!(
                "sessions of the stopped run are still at work in the target after {} s and could not be ended",
                started.elapsed().as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
