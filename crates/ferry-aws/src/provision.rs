//! `ferry provision`: the secret first, then the instance or cluster, then wait, then the
//! endpoint written back into the secret. Every step first looks for what an earlier run
//! made (by name and ferry tags), so running the same command again continues or reports.

use crate::client::AwsClients;
use crate::connection::Connection;
use crate::discover::{discover, find_cluster, find_instance, Deployment};
use crate::error::{AwsError, Result};
use crate::progress::{waiting, Event, Progress};
use crate::requests::{self, Setting};
use crate::secret::{read_secret, RdsSecret};
use crate::spec::ProvisionSpec;
use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::error::ProvideErrorMetadata;
use ferry_core::url::Secret;
use std::fmt;
use std::time::Duration;

/// How a provisioning or teardown run behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// How long to wait for one resource to become available or deleted.
    pub timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(90 * 60),
        }
    }
}

/// What `provision` did and where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The connection, for env/JSON output.
    pub connection: Connection,
    /// `kind id` of every resource created by this run.
    pub created: Vec<String>,
    /// `kind id` of every resource an earlier run had made.
    pub reused: Vec<String>,
}

/// One resource of a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedResource {
    /// Resource kind.
    pub kind: &'static str,
    /// Identifier or name.
    pub id: String,
    /// Whether an earlier ferry run already made it (nothing would be sent).
    pub exists: bool,
    /// The settings that would be sent.
    pub settings: Vec<Setting>,
}

/// What `provision` would do, from `--dry-run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Resources in the order they would be created.
    pub resources: Vec<PlannedResource>,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.resources {
            let verb = if r.exists {
                "exists (kept)"
            } else {
                "would create"
            };
            writeln!(f, "{verb}: {} {}", r.kind, r.id)?;
            if !r.exists {
                for (k, v) in &r.settings {
                    writeln!(f, "    {k} = {v}")?;
                }
            }
        }
        writeln!(
            f,
            "then: wait until available, write host and port into the secret, print the connection"
        )
    }
}

/// Check what an earlier run left against what is asked now.
fn check_existing(spec: &ProvisionSpec, d: &Deployment) -> Result<()> {
    d.check_ownership(&spec.name)?;
    if let Some(s) = d.secret.as_ref().filter(|s| s.pending_deletion) {
        return Err(AwsError::Conflict(format!(
            "secret `{}` is scheduled for deletion (an earlier teardown); restore it with `aws secretsmanager restore-secret --secret-id {}` or choose another --name",
            s.name, s.name
        )));
    }
    for db in d.databases() {
        if db.status == "deleting" {
            return Err(AwsError::Conflict(format!(
                "{} `{}` is being deleted; wait until it is gone and run again",
                db.kind, db.id
            )));
        }
        if db.engine != spec.engine.rds_name() {
            return Err(AwsError::Conflict(format!(
                "{} `{}` exists with engine {}, not {}; use another --name or tear it down first",
                db.kind,
                db.id,
                db.engine,
                spec.engine.rds_name()
            )));
        }
    }
    if d.secret.is_none() {
        if let Some(db) = d.databases().next() {
            return Err(AwsError::Conflict(format!(
                "{} `{}` exists but its secret `{}` is gone, so its password is unknown; run `ferry teardown --name {}` first",
                db.kind,
                db.id,
                spec.secret_name(),
                spec.name
            )));
        }
    }
    Ok(())
}

/// Check that a secret found under the name belongs to this kind of deployment.
fn check_secret(spec: &ProvisionSpec, secret: &RdsSecret) -> Result<()> {
    let fits = secret.dialect() == Some(spec.engine.dialect())
        && if spec.engine.is_aurora() {
            secret.db_cluster_identifier.as_deref() == Some(spec.primary_id())
        } else {
            secret.db_instance_identifier.as_deref() == Some(spec.primary_id())
        };
    if fits {
        Ok(())
    } else {
        Err(AwsError::Conflict(format!(
            "secret `{}` belongs to a different kind of deployment ({} {}), not {}; use another --name or tear it down first",
            spec.secret_name(),
            secret.engine,
            if secret.db_cluster_identifier.is_some() { "cluster" } else { "instance" },
            spec.engine
        )))
    }
}

/// Describe what `provision` would create, calling only `Describe*` APIs.
pub async fn plan(c: &AwsClients, spec: &ProvisionSpec) -> Result<Plan> {
    spec.validate()?;
    let d = discover(c, &spec.name, Some(spec.engine.is_aurora())).await?;
    check_existing(spec, &d)?;
    Ok(plan_for(c, spec, &d))
}

/// The plan for `spec` given what exists; builds requests but sends none.
pub fn plan_for(c: &AwsClients, spec: &ProvisionSpec, d: &Deployment) -> Plan {
    let placeholder = Secret::new("");
    let secret = requests::initial_secret(spec, placeholder.clone());
    let mut resources = vec![PlannedResource {
        kind: "secret",
        id: spec.secret_name(),
        exists: d.secret.is_some(),
        settings: requests::secret_settings(&requests::create_secret(c, spec, &secret), spec),
    }];
    if spec.engine.is_aurora() {
        resources.push(PlannedResource {
            kind: "DB cluster",
            id: spec.primary_id().to_string(),
            exists: d.cluster.is_some(),
            settings: requests::cluster_settings(&requests::create_cluster(c, spec, &placeholder)),
        });
        let writer = spec.writer_id();
        resources.push(PlannedResource {
            kind: "DB instance (writer)",
            settings: requests::instance_settings(&requests::create_cluster_instance(
                c, spec, &writer, "writer",
            )),
            id: writer,
            exists: d.writer.is_some(),
        });
        if spec.has_reader() {
            let reader = spec.reader_id();
            resources.push(PlannedResource {
                kind: "DB instance (reader)",
                settings: requests::instance_settings(&requests::create_cluster_instance(
                    c, spec, &reader, "reader",
                )),
                id: reader,
                exists: d.reader.is_some(),
            });
        }
    } else {
        resources.push(PlannedResource {
            kind: "DB instance",
            id: spec.primary_id().to_string(),
            exists: d.instance.is_some(),
            settings: requests::instance_settings(&requests::create_instance(
                c,
                spec,
                &placeholder,
            )),
        });
        if spec.read_replica {
            resources.push(PlannedResource {
                kind: "DB instance (read replica)",
                id: spec.reader_id(),
                exists: d.reader.is_some(),
                settings: requests::replica_settings(&requests::create_read_replica(c, spec)),
            });
        }
    }
    Plan { resources }
}

/// Provision `spec`: secret first, then the database, wait, write the endpoint into the
/// secret, and return the connection. Safe to run again: it reuses what ferry made.
pub async fn provision(
    c: &AwsClients,
    spec: &ProvisionSpec,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<Provisioned> {
    spec.validate()?;
    let d = discover(c, &spec.name, Some(spec.engine.is_aurora())).await?;
    check_existing(spec, &d)?;
    let mut run = Run {
        c,
        spec,
        wait,
        progress,
        created: Vec::new(),
        reused: Vec::new(),
    };

    let (secret_arn, mut secret) = run.secret(&d).await?;
    let password = secret.password.clone();
    let scrub = |e: AwsError| e.scrub(&password);

    let (host, port, reader) = if spec.engine.is_aurora() {
        run.aurora(&d, &password).await.map_err(scrub)?
    } else {
        run.instance(&d, &password).await.map_err(scrub)?
    };

    if secret.host != host || secret.port != port {
        secret.host.clone_from(&host);
        secret.port = port;
        c.secrets
            .put_secret_value()
            .secret_id(&secret_arn)
            .secret_string(secret.to_json())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutSecretValue", e).scrub(&password))?;
        progress.event(&Event::SecretUpdated {
            name: spec.secret_name(),
        });
    }
    Ok(Provisioned {
        connection: Connection {
            engine: spec.engine,
            host,
            port,
            database: secret.dbname.clone().unwrap_or_else(|| spec.database()),
            secret_arn,
            reader,
            app: None,
        },
        created: run.created,
        reused: run.reused,
    })
}

type Endpoints = (String, u16, Option<(String, u16)>);

struct Run<'a> {
    c: &'a AwsClients,
    spec: &'a ProvisionSpec,
    wait: &'a WaitOptions,
    progress: &'a dyn Progress,
    created: Vec<String>,
    reused: Vec<String>,
}

impl Run<'_> {
    fn found(&mut self, kind: &'static str, id: &str) {
        self.progress.event(&Event::Found {
            kind,
            id: id.to_string(),
        });
        self.reused.push(format!("{kind} {id}"));
    }

    fn creating(&mut self, kind: &'static str, id: &str) {
        self.progress.event(&Event::Creating {
            kind,
            id: id.to_string(),
        });
        self.created.push(format!("{kind} {id}"));
    }

    /// Find or create the secret; returns its ARN and value.
    async fn secret(&mut self, d: &Deployment) -> Result<(String, RdsSecret)> {
        let name = self.spec.secret_name();
        if let Some(found) = &d.secret {
            self.found("secret", &name);
            let value = read_secret(self.c, &found.arn).await?;
            check_secret(self.spec, &value)?;
            return Ok((found.arn.clone(), value));
        }
        let generated = requests::random_password(self.c, self.spec)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetRandomPassword", e))?;
        let password = Secret::new(generated.random_password().unwrap_or_default());
        if password.expose().len() < 8 {
            return Err(AwsError::Api {
                operation: "GetRandomPassword",
                code: "EmptyPassword".into(),
                message: "Secrets Manager returned no usable password".into(),
            });
        }
        let value = requests::initial_secret(self.spec, password.clone());
        self.creating("secret", &name);
        let out = requests::create_secret(self.c, self.spec, &value)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateSecret", e).scrub(&password))?;
        Ok((out.arn().unwrap_or(&name).to_string(), value))
    }

    async fn instance(&mut self, d: &Deployment, password: &Secret) -> Result<Endpoints> {
        let (c, spec) = (self.c, self.spec);
        let id = spec.primary_id();
        match &d.instance {
            Some(_) => self.found("DB instance", id),
            None => {
                self.creating("DB instance", id);
                requests::create_instance(c, spec, password)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("CreateDBInstance", e))?;
            }
        }
        self.wait_instance(id).await?;
        let reader_id = spec.reader_id();
        let mut has_reader = d.reader.is_some();
        if has_reader {
            self.found("DB instance", &reader_id);
        } else if spec.read_replica {
            self.creating("DB instance", &reader_id);
            requests::create_read_replica(c, spec)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CreateDBInstanceReadReplica", e))?;
            has_reader = true;
        }
        if has_reader {
            self.wait_instance(&reader_id).await?;
        }
        let primary = find_instance(c, id)
            .await?
            .ok_or_else(|| gone("DB instance", id))?;
        let (host, port) = endpoint(&primary.host, primary.port, "DB instance", id)?;
        let reader = if has_reader {
            let r = find_instance(c, &reader_id)
                .await?
                .ok_or_else(|| gone("DB instance", &reader_id))?;
            Some(endpoint(&r.host, r.port, "DB instance", &reader_id)?)
        } else {
            None
        };
        Ok((host, port, reader))
    }

    async fn aurora(&mut self, d: &Deployment, password: &Secret) -> Result<Endpoints> {
        let (c, spec) = (self.c, self.spec);
        let id = spec.primary_id();
        match &d.cluster {
            Some(_) => self.found("DB cluster", id),
            None => {
                self.creating("DB cluster", id);
                requests::create_cluster(c, spec, password)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("CreateDBCluster", e))?;
            }
        }
        let writer = spec.writer_id();
        match &d.writer {
            Some(_) => self.found("DB instance", &writer),
            None => {
                self.creating("DB instance", &writer);
                requests::create_cluster_instance(c, spec, &writer, "writer")
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("CreateDBInstance", e))?;
            }
        }
        let reader = spec.reader_id();
        let mut has_reader = d.reader.is_some();
        if has_reader {
            self.found("DB instance", &reader);
        } else if spec.has_reader() {
            self.creating("DB instance", &reader);
            requests::create_cluster_instance(c, spec, &reader, "reader")
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CreateDBInstance", e))?;
            has_reader = true;
        }
        self.wait_cluster(id).await?;
        self.wait_instance(&writer).await?;
        if has_reader {
            self.wait_instance(&reader).await?;
        }
        let cluster = find_cluster(c, id)
            .await?
            .ok_or_else(|| gone("DB cluster", id))?;
        let (host, port) = endpoint(&cluster.host, cluster.port, "DB cluster", id)?;
        let reader = match (has_reader, cluster.reader_host) {
            (true, Some(h)) => Some((h, port)),
            _ => None,
        };
        Ok((host, port, reader))
    }

    async fn wait_instance(&self, id: &str) -> Result<()> {
        let fut = self
            .c
            .rds
            .wait_until_db_instance_available()
            .db_instance_identifier(id)
            .wait(self.wait.timeout + Duration::from_secs(60));
        let what = format!("DB instance {id} to be available");
        bounded(
            self.wait.timeout,
            &what,
            "DescribeDBInstances",
            waiting(self.progress, what.clone(), fut),
        )
        .await
    }

    async fn wait_cluster(&self, id: &str) -> Result<()> {
        let fut = self
            .c
            .rds
            .wait_until_db_cluster_available()
            .db_cluster_identifier(id)
            .wait(self.wait.timeout + Duration::from_secs(60));
        let what = format!("DB cluster {id} to be available");
        bounded(
            self.wait.timeout,
            &what,
            "DescribeDBClusters",
            waiting(self.progress, what.clone(), fut),
        )
        .await
    }
}

/// Await an SDK waiter that polls `operation` for at most `timeout`, mapping its failure to
/// one line. A poll that AWS answered with an error (after the SDK's retries), such as
/// throttling, is reported as that call's error.
pub(crate) async fn bounded<T, E: std::error::Error + ProvideErrorMetadata + 'static>(
    timeout: Duration,
    what: &str,
    operation: &'static str,
    fut: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> Result<()> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.code().is_some() => Err(AwsError::answered(operation, &e)),
        Ok(Err(e)) => Err(AwsError::Api {
            operation: "wait",
            code: "WaiterFailed".into(),
            message: format!("{what}: {}", crate::error::causes(&e)),
        }),
        Err(_) => Err(AwsError::Timeout {
            what: what.to_string(),
            minutes: timeout.as_secs() / 60,
        }),
    }
}

fn gone(kind: &str, id: &str) -> AwsError {
    AwsError::NotFound(format!(
        "{kind} `{id}` disappeared while ferry was waiting for it"
    ))
}

fn endpoint(
    host: &Option<String>,
    port: Option<u16>,
    kind: &str,
    id: &str,
) -> Result<(String, u16)> {
    match (host, port) {
        (Some(h), Some(p)) => Ok((h.clone(), p)),
        _ => Err(AwsError::NotFound(format!(
            "{kind} `{id}` is available but has no endpoint yet; run the same command again"
        ))),
    }
}
