//! `ferry teardown`: delete the database (readers first), then the secret. Only resources
//! tagged as made by ferry (`ferry:managed-by`) for this name (`ferry:name`) are touched;
//! deletion protection is turned off only when asked (`--force`), and turned back on if a
//! later step fails. Every refusal (tags, protection, a taken final-snapshot id) comes
//! before the first change; [`plan_teardown`] runs the same checks and changes nothing.

use crate::client::AwsClients;
use crate::discover::{discover, DbState, Deployment};
use crate::error::{AwsError, Result};
use crate::progress::{waiting, Event, Progress};
use crate::provision::{bounded, WaitOptions};
use crate::spec::validate_name;
use aws_sdk_rds::client::Waiters;
use std::time::Duration;

/// What to tear down and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownSpec {
    /// The ferry name given to `provision`.
    pub name: String,
    /// Final snapshot identifier; `None` means skip the final snapshot (must be asked for).
    pub final_snapshot: Option<String>,
    /// Turn deletion protection off first instead of refusing.
    pub force: bool,
}

/// What teardown deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TornDown {
    /// `kind id` of every resource deleted.
    pub deleted: Vec<String>,
    /// The final snapshot taken, if any.
    pub final_snapshot: Option<String>,
    /// Days the secret stays recoverable (kept when a final snapshot needs its password).
    pub secret_recovery_days: Option<i64>,
}

/// How long a secret stays recoverable after a teardown that took a final snapshot.
pub const SECRET_RECOVERY_DAYS: i64 = 30;

/// Tear down deployment `spec.name`. Nothing found is not an error (an empty report).
///
/// Everything that could refuse is checked before anything changes (see [`plan_teardown`]).
/// When a step fails after deletion protection was turned off, protection is turned back
/// on for every database that was not yet deleted.
pub async fn teardown(
    c: &AwsClients,
    spec: &TeardownSpec,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<TornDown> {
    let d = checked(c, spec).await?;
    let mut out = TornDown::default();
    if d.is_empty() {
        return Ok(out);
    }
    let mut unprotected: Vec<&DbState> = Vec::new();
    let mut result = Ok(());
    for db in d.databases().filter(|db| db.deletion_protection) {
        result = protection(c, db, false).await;
        if result.is_err() {
            break;
        }
        unprotected.push(db);
        progress.event(&Event::ProtectionOff {
            kind: db.kind,
            id: db.id.clone(),
        });
    }
    if result.is_ok() {
        result = delete_all(c, spec, &d, wait, progress, &mut out).await;
    }
    if let Err(e) = result {
        for db in unprotected {
            if out.deleted.contains(&format!("{} {}", db.kind, db.id)) {
                continue;
            }
            // Best effort: the error that stopped the teardown is the one to report.
            if protection(c, db, true).await.is_ok() {
                progress.event(&Event::ProtectionOn {
                    kind: db.kind,
                    id: db.id.clone(),
                });
            }
        }
        return Err(e);
    }
    Ok(out)
}

/// What [`teardown`] would do, one line each (`would delete DB instance shop ...`), after
/// the same checks; changes nothing. Empty when nothing exists under the name.
pub async fn plan_teardown(c: &AwsClients, spec: &TeardownSpec) -> Result<Vec<String>> {
    let d = checked(c, spec).await?;
    let mut lines = Vec::new();
    for db in d.databases().filter(|db| db.deletion_protection) {
        lines.push(format!(
            "would turn deletion protection off on {} {}",
            db.kind, db.id
        ));
    }
    let snapshot = match &spec.final_snapshot {
        Some(s) => format!("with final snapshot {s}"),
        None => "without a final snapshot".to_string(),
    };
    for db in [&d.reader, &d.writer].into_iter().flatten() {
        if db.status != "deleting" {
            lines.push(format!("would delete {} {}", db.kind, db.id));
        }
    }
    for db in [&d.instance, &d.cluster].into_iter().flatten() {
        if db.status != "deleting" {
            lines.push(format!("would delete {} {} {snapshot}", db.kind, db.id));
        }
    }
    for secret in [&d.secret, &d.app_secret]
        .into_iter()
        .flatten()
        .filter(|s| !s.pending_deletion)
    {
        let keep = spec.final_snapshot.is_some() && (d.instance.is_some() || d.cluster.is_some());
        lines.push(if keep {
            format!(
                "would delete secret {} (recoverable for {SECRET_RECOVERY_DAYS} days: the snapshot holds its user and password)",
                secret.name
            )
        } else {
            format!("would delete secret {} at once, without recovery", secret.name)
        });
    }
    Ok(lines)
}

/// Find what exists under the name and refuse, before anything changes, whatever the
/// teardown would stop on: a resource not tagged as ferry's for this name, deletion
/// protection without `force`, a final snapshot identifier that is invalid or taken.
async fn checked(c: &AwsClients, spec: &TeardownSpec) -> Result<Deployment> {
    validate_name(&spec.name)?;
    if let Some(snap) = &spec.final_snapshot {
        validate_snapshot_id(snap)?;
    }
    let d = discover(c, &spec.name, None).await?;
    d.check_ownership(&spec.name)?;
    if let Some(p) = d.databases().find(|db| db.deletion_protection) {
        if !spec.force {
            return Err(AwsError::DeletionProtected {
                kind: p.kind,
                name: p.id.clone(),
            });
        }
    }
    if let Some(snap) = &spec.final_snapshot {
        let live = |db: &&DbState| db.status != "deleting";
        if d.instance.as_ref().filter(live).is_some() && db_snapshot_exists(c, snap).await? {
            return Err(snapshot_taken(snap));
        }
        if d.cluster.as_ref().filter(live).is_some() && cluster_snapshot_exists(c, snap).await? {
            return Err(snapshot_taken(snap));
        }
    }
    Ok(d)
}

fn snapshot_taken(id: &str) -> AwsError {
    AwsError::Conflict(format!(
        "final snapshot `{id}` already exists; choose another --final-snapshot (nothing was changed)"
    ))
}

/// RDS's rule for snapshot identifiers: 1 to 255 letters, digits and hyphens, starting
/// with a letter, without two hyphens in a row or one at the end.
fn validate_snapshot_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err(AwsError::Invalid(format!(
            "--final-snapshot `{id}`: expected 1 to 255 letters, digits and hyphens, starting with a letter, no `--` and no `-` at the end"
        )))
    }
}

async fn db_snapshot_exists(c: &AwsClients, id: &str) -> Result<bool> {
    match c
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(!out.db_snapshots().is_empty()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_snapshot_not_found_fault()) =>
        {
            Ok(false)
        }
        Err(e) => Err(AwsError::from_sdk("DescribeDBSnapshots", e)),
    }
}

async fn cluster_snapshot_exists(c: &AwsClients, id: &str) -> Result<bool> {
    match c
        .rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(!out.db_cluster_snapshots().is_empty()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_snapshot_not_found_fault()) =>
        {
            Ok(false)
        }
        Err(e) => Err(AwsError::from_sdk("DescribeDBClusterSnapshots", e)),
    }
}

/// Delete the databases (readers first) and then the secret, recording each in `out`.
async fn delete_all(
    c: &AwsClients,
    spec: &TeardownSpec,
    d: &Deployment,
    wait: &WaitOptions,
    progress: &dyn Progress,
    out: &mut TornDown,
) -> Result<()> {
    // Readers and Aurora members first: an RDS replica left behind would be promoted.
    for db in [&d.reader, &d.writer].into_iter().flatten() {
        delete_instance(c, db, None, progress, out).await?;
    }
    for db in [&d.reader, &d.writer].into_iter().flatten() {
        wait_instance_deleted(c, &db.id, wait, progress).await?;
    }
    if let Some(db) = &d.instance {
        delete_instance(c, db, spec.final_snapshot.as_deref(), progress, out).await?;
        wait_instance_deleted(c, &db.id, wait, progress).await?;
    }
    if let Some(db) = &d.cluster {
        delete_cluster(c, db, spec.final_snapshot.as_deref(), progress, out).await?;
        let fut = c
            .rds
            .wait_until_db_cluster_deleted()
            .db_cluster_identifier(&db.id)
            .wait(wait.timeout + Duration::from_secs(60));
        let what = format!("DB cluster {} to be deleted", db.id);
        bounded(
            wait.timeout,
            &what,
            "DescribeDBClusters",
            waiting(progress, what.clone(), fut),
        )
        .await?;
    }
    if d.instance.is_some() || d.cluster.is_some() {
        out.final_snapshot.clone_from(&spec.final_snapshot);
    }

    for secret in [&d.secret, &d.app_secret]
        .into_iter()
        .flatten()
        .filter(|s| !s.pending_deletion)
    {
        progress.event(&Event::Deleting {
            kind: "secret",
            id: secret.name.clone(),
        });
        let mut req = c.secrets.delete_secret().secret_id(&secret.arn);
        // A final snapshot is restored with the old master password: keep it recoverable.
        req = if out.final_snapshot.is_some() {
            out.secret_recovery_days = Some(SECRET_RECOVERY_DAYS);
            req.recovery_window_in_days(SECRET_RECOVERY_DAYS)
        } else {
            req.force_delete_without_recovery(true)
        };
        req.send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteSecret", e))?;
        out.deleted.push(format!("secret {}", secret.name));
    }
    Ok(())
}

/// Turn deletion protection of `db` on or off.
async fn protection(c: &AwsClients, db: &DbState, on: bool) -> Result<()> {
    if db.kind == "DB cluster" {
        c.rds
            .modify_db_cluster()
            .db_cluster_identifier(&db.id)
            .deletion_protection(on)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ModifyDBCluster", e))?;
    } else {
        c.rds
            .modify_db_instance()
            .db_instance_identifier(&db.id)
            .deletion_protection(on)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ModifyDBInstance", e))?;
    }
    Ok(())
}

async fn delete_instance(
    c: &AwsClients,
    db: &DbState,
    final_snapshot: Option<&str>,
    progress: &dyn Progress,
    out: &mut TornDown,
) -> Result<()> {
    if db.status == "deleting" {
        return Ok(());
    }
    progress.event(&Event::Deleting {
        kind: db.kind,
        id: db.id.clone(),
    });
    let mut req = c.rds.delete_db_instance().db_instance_identifier(&db.id);
    // Aurora members and replicas take no snapshot of their own.
    req = match final_snapshot {
        Some(snap) => req.final_db_snapshot_identifier(snap),
        None if db.engine.starts_with("aurora") => req,
        None => req.skip_final_snapshot(true),
    };
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) => {}
        Err(e) => return Err(AwsError::from_sdk("DeleteDBInstance", e)),
    }
    out.deleted.push(format!("{} {}", db.kind, db.id));
    Ok(())
}

async fn delete_cluster(
    c: &AwsClients,
    db: &DbState,
    final_snapshot: Option<&str>,
    progress: &dyn Progress,
    out: &mut TornDown,
) -> Result<()> {
    if db.status == "deleting" {
        return Ok(());
    }
    progress.event(&Event::Deleting {
        kind: db.kind,
        id: db.id.clone(),
    });
    let mut req = c.rds.delete_db_cluster().db_cluster_identifier(&db.id);
    req = match final_snapshot {
        Some(snap) => req.final_db_snapshot_identifier(snap),
        None => req.skip_final_snapshot(true),
    };
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_not_found_fault()) => {}
        Err(e) => return Err(AwsError::from_sdk("DeleteDBCluster", e)),
    }
    out.deleted.push(format!("{} {}", db.kind, db.id));
    Ok(())
}

async fn wait_instance_deleted(
    c: &AwsClients,
    id: &str,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<()> {
    let fut = c
        .rds
        .wait_until_db_instance_deleted()
        .db_instance_identifier(id)
        .wait(wait.timeout + Duration::from_secs(60));
    let what = format!("DB instance {id} to be deleted");
    bounded(
        wait.timeout,
        &what,
        "DescribeDBInstances",
        waiting(progress, what.clone(), fut),
    )
    .await
}
