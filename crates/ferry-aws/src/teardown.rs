//! `ferry teardown`: delete the database (readers first), then the secret. Only resources
//! tagged as made by ferry for this name are touched; deletion protection is turned off only
//! when asked (`--force`).

use crate::client::AwsClients;
use crate::discover::{discover, DbState};
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
pub async fn teardown(
    c: &AwsClients,
    spec: &TeardownSpec,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<TornDown> {
    validate_name(&spec.name)?;
    let d = discover(c, &spec.name, None).await?;
    d.check_ownership(&spec.name)?;
    let mut out = TornDown::default();
    if d.is_empty() {
        return Ok(out);
    }
    if let Some(p) = d.databases().find(|db| db.deletion_protection) {
        if !spec.force {
            return Err(AwsError::DeletionProtected {
                kind: p.kind,
                name: p.id.clone(),
            });
        }
    }
    for db in d.databases().filter(|db| db.deletion_protection) {
        protection_off(c, db).await?;
        progress.event(&Event::ProtectionOff {
            kind: db.kind,
            id: db.id.clone(),
        });
    }

    // Readers and Aurora members first: an RDS replica left behind would be promoted.
    for db in [&d.reader, &d.writer].into_iter().flatten() {
        delete_instance(c, db, None, progress, &mut out).await?;
    }
    for db in [&d.reader, &d.writer].into_iter().flatten() {
        wait_instance_deleted(c, &db.id, wait, progress).await?;
    }
    if let Some(db) = &d.instance {
        delete_instance(c, db, spec.final_snapshot.as_deref(), progress, &mut out).await?;
        wait_instance_deleted(c, &db.id, wait, progress).await?;
    }
    if let Some(db) = &d.cluster {
        delete_cluster(c, db, spec.final_snapshot.as_deref(), progress, &mut out).await?;
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

    if let Some(secret) = d.secret.as_ref().filter(|s| !s.pending_deletion) {
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
    Ok(out)
}

async fn protection_off(c: &AwsClients, db: &DbState) -> Result<()> {
    if db.kind == "DB cluster" {
        c.rds
            .modify_db_cluster()
            .db_cluster_identifier(&db.id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ModifyDBCluster", e))?;
    } else {
        c.rds
            .modify_db_instance()
            .db_instance_identifier(&db.id)
            .deletion_protection(false)
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
