//! `secret://NAME-OR-ARN[?host=H&port=P&dbname=D&engine=E]` to a database URL: the secret's
//! fields, with the URL's overriding them (behind a tunnel, or for a secret without
//! `dbname`). An RDS-managed master secret (`rds!db-...`, only a user name and password)
//! gets its engine, host and port from the DB instance or cluster whose `MasterUserSecret`
//! it is, unless the URL gives them.

use crate::client::{endpoint_is_loopback, AwsClients, AwsOptions};
use crate::error::{AwsError, Result};
use crate::secret::{engine_dialect, read_secret_text, SecretFields, TEST_ENDPOINT_OVERRIDE_ENV};
use ferry_core::url::UrlKind;
use ferry_core::url_check::SECRET_OVERRIDES;
use ferry_core::{ConnUrl, Dialect};

/// Resolve a `secret://NAME-OR-ARN` URL into the database URL its secret describes. Any other
/// URL is returned unchanged. Query parameters of the `secret://` URL other than the
/// overrides (e.g. `sslmode`) are kept. The password is only ever held in a redacting
/// [`ferry_core::url::Secret`].
pub async fn resolve_secret_url(url: &ConnUrl, aws: &AwsOptions) -> Result<ConnUrl> {
    if url.kind != UrlKind::Secret {
        return Ok(url.clone());
    }
    let clients = AwsClients::connect(aws).await?;
    resolve_secret_url_with(&clients, url).await
}

/// Where a database is, as DescribeDBInstances / DescribeDBClusters tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `postgres`, `aurora-mysql`, ...
    pub engine: String,
    /// Endpoint address (empty while the database is being created).
    pub host: String,
    /// Endpoint port.
    pub port: Option<u16>,
}

/// [`resolve_secret_url`] with clients already built.
pub async fn resolve_secret_url_with(clients: &AwsClients, url: &ConnUrl) -> Result<ConnUrl> {
    if url.kind != UrlKind::Secret {
        return Ok(url.clone());
    }
    let id = url
        .database
        .as_deref()
        .ok_or_else(|| AwsError::Invalid("secret:// URL names no secret".into()))?;
    let (arn, text) = read_secret_text(clients, id).await?;
    let fields = SecretFields::parse(id, &text)?;
    let port_param = match url.param("port") {
        Some(p) => Some(p.parse::<u16>().map_err(|_| {
            AwsError::Invalid(format!("secret://{id}: ?port= is not a port number"))
        })?),
        None => None,
    };
    let mut engine = url.param("engine").map(str::to_string).or(fields.engine);
    let mut host = url.param("host").map(str::to_string).or(fields.host);
    let mut port = port_param.or(fields.port);
    if engine.is_none() || host.is_none() {
        if let Some(owner) = find_owner(clients, &arn).await? {
            engine = engine.or(Some(owner.engine));
            host = host.or(Some(owner.host).filter(|h| !h.is_empty()));
            port = port.or(owner.port);
        }
    }
    let engine = engine.ok_or_else(|| AwsError::MalformedSecret {
        secret: id.to_string(),
        reason: "it names no engine and no RDS database uses it as its master user secret; \
                 add ?engine=postgres or ?engine=mysql to the secret:// URL"
            .into(),
    })?;
    let dialect = engine_dialect(&engine).ok_or_else(|| {
        AwsError::Invalid(format!(
            "secret://{id}: engine `{engine}` is not postgres, mysql, mariadb, aurora-postgresql or aurora-mysql"
        ))
    })?;
    let host = host.ok_or_else(|| AwsError::MalformedSecret {
        secret: id.to_string(),
        reason: "it names no host (is the database still being created?); add ?host=H&port=P \
                 to the secret:// URL"
            .into(),
    })?;
    let port = port.unwrap_or(match dialect {
        Dialect::Mysql => 3306,
        _ => 5432,
    });
    let dbname = url.param("dbname").map(str::to_string).or(fields.dbname);
    let mut resolved = ConnUrl::server(
        dialect,
        &host,
        Some(port),
        Some(&fields.username),
        Some(fields.password),
        dbname.as_deref(),
    );
    resolved.params = url
        .params
        .iter()
        .filter(|(k, _)| !SECRET_OVERRIDES.contains(&k.to_ascii_lowercase().as_str()))
        .cloned()
        .collect();
    if let Some((host, port)) = test_endpoint_override(clients)? {
        resolved.host = Some(host);
        resolved.port = Some(port);
    }
    Ok(resolved)
}

/// The DB instance, else the DB cluster, whose RDS-managed master user secret is `arn`.
pub async fn find_owner(clients: &AwsClients, arn: &str) -> Result<Option<Owner>> {
    let mut pages = clients.rds.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("DescribeDBInstances", e))?;
        for db in page.db_instances() {
            if db.master_user_secret().and_then(|s| s.secret_arn()) == Some(arn) {
                let endpoint = db.endpoint();
                return Ok(Some(Owner {
                    engine: db.engine().unwrap_or_default().to_string(),
                    host: endpoint
                        .and_then(|e| e.address())
                        .unwrap_or_default()
                        .to_string(),
                    port: endpoint
                        .and_then(|e| e.port())
                        .and_then(|p| u16::try_from(p).ok()),
                }));
            }
        }
    }
    let mut pages = clients.rds.describe_db_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("DescribeDBClusters", e))?;
        for c in page.db_clusters() {
            if c.master_user_secret().and_then(|s| s.secret_arn()) == Some(arn) {
                return Ok(Some(Owner {
                    engine: c.engine().unwrap_or_default().to_string(),
                    host: c.endpoint().unwrap_or_default().to_string(),
                    port: c.port().and_then(|p| u16::try_from(p).ok()),
                }));
            }
        }
    }
    Ok(None)
}

/// The test-only host override, when set and the AWS endpoint is loopback.
fn test_endpoint_override(clients: &AwsClients) -> Result<Option<(String, u16)>> {
    let Ok(value) = std::env::var(TEST_ENDPOINT_OVERRIDE_ENV) else {
        return Ok(None);
    };
    if !clients.endpoint_url().is_some_and(endpoint_is_loopback) {
        return Ok(None);
    }
    let bad = || {
        AwsError::Config(format!(
            "{TEST_ENDPOINT_OVERRIDE_ENV}=`{value}`: expected HOST:PORT"
        ))
    };
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    Ok(Some((host.to_string(), port)))
}
