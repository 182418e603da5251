//! Finding what already exists under a ferry name, and whether ferry made it. Only
//! `Describe*` calls: nothing here changes anything.

use crate::client::AwsClients;
use crate::error::{AwsError, Result};
use crate::spec::{app_secret_name, reader_id, secret_name, writer_id, TAG_MANAGED, TAG_NAME};
use aws_sdk_rds::types::{DbCluster, DbInstance};

/// An RDS DB instance or Aurora DB cluster as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    /// `DB instance` or `DB cluster`.
    pub kind: &'static str,
    /// Identifier.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Status (`creating`, `available`, `deleting`, ...).
    pub status: String,
    /// RDS engine name.
    pub engine: String,
    /// Endpoint host, once there is one.
    pub host: Option<String>,
    /// Endpoint port.
    pub port: Option<u16>,
    /// The cluster's reader endpoint (Aurora).
    pub reader_host: Option<String>,
    /// Whether deletion protection is on.
    pub deletion_protection: bool,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl DbState {
    /// Whether ferry created it for deployment `name`.
    pub fn owned_by(&self, name: &str) -> bool {
        owned(&self.tags, name)
    }

    fn from_instance(i: &DbInstance) -> DbState {
        DbState {
            kind: "DB instance",
            id: i.db_instance_identifier().unwrap_or_default().to_string(),
            arn: i.db_instance_arn().unwrap_or_default().to_string(),
            status: i.db_instance_status().unwrap_or_default().to_string(),
            engine: i.engine().unwrap_or_default().to_string(),
            host: i
                .endpoint()
                .and_then(|e| e.address())
                .filter(|h| !h.is_empty())
                .map(str::to_string),
            port: i
                .endpoint()
                .and_then(|e| e.port())
                .and_then(|p| u16::try_from(p).ok()),
            reader_host: None,
            deletion_protection: i.deletion_protection().unwrap_or(false),
            tags: i
                .tag_list()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        }
    }

    fn from_cluster(c: &DbCluster) -> DbState {
        DbState {
            kind: "DB cluster",
            id: c.db_cluster_identifier().unwrap_or_default().to_string(),
            arn: c.db_cluster_arn().unwrap_or_default().to_string(),
            status: c.status().unwrap_or_default().to_string(),
            engine: c.engine().unwrap_or_default().to_string(),
            host: c.endpoint().filter(|h| !h.is_empty()).map(str::to_string),
            port: c.port().and_then(|p| u16::try_from(p).ok()),
            reader_host: c
                .reader_endpoint()
                .filter(|h| !h.is_empty())
                .map(str::to_string),
            deletion_protection: c.deletion_protection().unwrap_or(false),
            tags: c
                .tag_list()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        }
    }
}

/// A Secrets Manager secret as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretState {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Whether it is scheduled for deletion.
    pub pending_deletion: bool,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl SecretState {
    /// Whether ferry created it for deployment `name`.
    pub fn owned_by(&self, name: &str) -> bool {
        owned(&self.tags, name)
    }
}

/// Both of ferry's tags: `ferry:managed-by = ferry` and `ferry:name = NAME`. A resource
/// with only one of them (someone copied a tag, or named theirs alike) is not ferry's.
fn owned(tags: &[(String, String)], name: &str) -> bool {
    let has = |key: &str, value: &str| tags.iter().any(|(k, v)| k == key && v == value);
    has(TAG_NAME, name) && has(TAG_MANAGED, "ferry")
}

/// Everything that exists under one ferry name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    /// The secret `ferry/NAME`.
    pub secret: Option<SecretState>,
    /// The RDS instance `NAME`.
    pub instance: Option<DbState>,
    /// The Aurora cluster `NAME`.
    pub cluster: Option<DbState>,
    /// The Aurora writer `NAME-writer`.
    pub writer: Option<DbState>,
    /// The read replica or Aurora reader `NAME-reader`.
    pub reader: Option<DbState>,
    /// The app user's secret `ferry/NAME/app` (`--app-user`).
    pub app_secret: Option<SecretState>,
}

impl Deployment {
    /// Every database resource found, readers first (the order to delete them in).
    pub fn databases(&self) -> impl Iterator<Item = &DbState> {
        [&self.reader, &self.writer, &self.instance, &self.cluster]
            .into_iter()
            .flatten()
    }

    /// Whether nothing exists.
    pub fn is_empty(&self) -> bool {
        self.secret.is_none() && self.app_secret.is_none() && self.databases().next().is_none()
    }

    /// Refuse when any resource under ferry's names was not made by ferry for `name`.
    pub fn check_ownership(&self, name: &str) -> Result<()> {
        if let Some(s) = &self.secret {
            if !s.owned_by(name) {
                return Err(AwsError::NameTaken {
                    kind: "secret",
                    name: s.name.clone(),
                    owner: name.to_string(),
                });
            }
        }
        for db in self.databases() {
            if !db.owned_by(name) {
                return Err(AwsError::NameTaken {
                    kind: db.kind,
                    name: db.id.clone(),
                    owner: name.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Describe everything under ferry name `name`; `aurora` limits the look-up to clusters
/// (`Some(true)`), instances (`Some(false)`) or both (`None`).
pub async fn discover(c: &AwsClients, name: &str, aurora: Option<bool>) -> Result<Deployment> {
    let mut d = Deployment {
        secret: find_secret(c, &secret_name(name)).await?,
        // Only when ferry made it for this deployment: one made by `ferry grant --secret`
        // under that name is left alone (neither deleted nor a reason to refuse).
        app_secret: find_secret(c, &app_secret_name(name))
            .await?
            .filter(|s| s.owned_by(name)),
        ..Deployment::default()
    };
    if aurora != Some(true) {
        d.instance = find_instance(c, name).await?;
    }
    if aurora != Some(false) {
        d.cluster = find_cluster(c, name).await?;
        d.writer = find_instance(c, &writer_id(name)).await?;
    }
    d.reader = find_instance(c, &reader_id(name)).await?;
    Ok(d)
}

/// Describe DB instance `id`, `None` when there is none.
pub async fn find_instance(c: &AwsClients, id: &str) -> Result<Option<DbState>> {
    match c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_instances().first().map(DbState::from_instance)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("DescribeDBInstances", e)),
    }
}

/// Describe DB cluster `id`, `None` when there is none.
pub async fn find_cluster(c: &AwsClients, id: &str) -> Result<Option<DbState>> {
    match c
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_clusters().first().map(DbState::from_cluster)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("DescribeDBClusters", e)),
    }
}

/// Describe secret `name`, `None` when there is none.
pub async fn find_secret(c: &AwsClients, name: &str) -> Result<Option<SecretState>> {
    match c.secrets.describe_secret().secret_id(name).send().await {
        Ok(out) => Ok(Some(SecretState {
            name: out.name().unwrap_or(name).to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            pending_deletion: out.deleted_date().is_some(),
            tags: out
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("DescribeSecret", e)),
    }
}
