//! IAM database authentication: a short-lived token (15 minutes) signed with the caller's AWS
//! credentials, used as the password instead of the secret's.

use crate::client::AwsClients;
use crate::error::{AwsError, Result};
use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config};
use ferry_core::url::Secret;
use ferry_core::ConnUrl;

/// A token for `user` at `host:port`, as a redacting [`Secret`].
pub async fn iam_auth_token(c: &AwsClients, host: &str, port: u16, user: &str) -> Result<Secret> {
    let region = c
        .sdk_config()
        .region()
        .cloned()
        .ok_or_else(|| AwsError::Config("no AWS region for the IAM auth token".into()))?;
    let config = Config::builder()
        .hostname(host)
        .port(u64::from(port))
        .username(user)
        .region(region)
        .build()
        .map_err(|e| AwsError::Config(format!("IAM auth token: {e}")))?;
    let token = AuthTokenGenerator::new(config)
        .auth_token(c.sdk_config())
        .await
        .map_err(|e| AwsError::Config(format!("cannot sign an IAM auth token: {e}")))?;
    Ok(Secret::new(token.as_str()))
}

/// Replace `url`'s password with an IAM auth token for its host, port and user.
/// The URL must name a host and a user; the port defaults to the dialect's.
pub async fn with_iam_token(c: &AwsClients, url: &ConnUrl) -> Result<ConnUrl> {
    let dialect = url
        .dialect()
        .ok_or_else(|| AwsError::Invalid("--iam-auth needs a resolved database URL".into()))?;
    let host = url
        .host
        .as_deref()
        .ok_or_else(|| AwsError::Invalid(format!("--iam-auth: `{url}` names no host")))?;
    let user = url
        .user
        .as_deref()
        .ok_or_else(|| AwsError::Invalid(format!("--iam-auth: `{url}` names no user")))?;
    let port = url.port.unwrap_or(match dialect {
        ferry_core::schema::Dialect::Mysql => 3306,
        _ => 5432,
    });
    let token = iam_auth_token(c, host, port, user).await?;
    let mut out = url.clone();
    out.set_password(Some(token));
    out.iam_auth = true;
    Ok(out)
}
