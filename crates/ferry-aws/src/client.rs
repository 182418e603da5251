//! The one place AWS SDK clients are built: region, profile, credential chain and endpoint
//! override are decided here and nowhere else.

use crate::error::{AwsError, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::config::ProvideCredentials;

/// How to reach AWS, as the user gave it. Every field is optional: what is not given comes
/// from the SDK's usual chain (environment, `~/.aws/config`, SSO, instance role).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Region (`--region`); else `AWS_REGION` / the profile's region.
    pub region: Option<String>,
    /// Named profile (`--aws-profile`); else `AWS_PROFILE` / `default`.
    pub profile: Option<String>,
    /// Endpoint override (`--endpoint-url`); else `AWS_ENDPOINT_URL`. Used for emulators.
    pub endpoint_url: Option<String>,
}

/// The SDK clients ferry uses, all built from one [`SdkConfig`].
#[derive(Debug, Clone)]
pub struct AwsClients {
    config: SdkConfig,
    /// Amazon RDS.
    pub rds: aws_sdk_rds::Client,
    /// AWS Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Build every client from `options` and the SDK's default chain, and check that a region
    /// and credentials are there, so a missing one fails here with one clear line rather
    /// than deep inside the first call.
    pub async fn connect(options: &AwsOptions) -> Result<AwsClients> {
        let config = load_config(options).await?;
        let provider = config.credentials_provider().ok_or_else(|| {
            AwsError::Config(
                "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an instance role is available".into(),
            )
        })?;
        if let Err(err) = provider.provide_credentials().await {
            return Err(AwsError::Config(credentials_message(&err)));
        }
        Ok(AwsClients::from_config(config))
    }

    /// Build the clients from an already loaded SDK configuration without checking it. For
    /// request builders that are only inspected, never sent (dry runs, unit tests).
    pub fn from_config(config: SdkConfig) -> AwsClients {
        AwsClients {
            rds: aws_sdk_rds::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            config,
        }
    }

    /// Clients that can build requests but have no credentials and never reach a network:
    /// `send` on them fails. For dry-run rendering and unit tests.
    pub fn offline(region: &str) -> AwsClients {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        AwsClients::from_config(config)
    }

    /// The SDK configuration the clients were built from.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// The region in use.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }

    /// The endpoint override in use, if any.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.config.endpoint_url()
    }
}

/// One line for a credential chain failure: what to do, not the chain's internals.
fn credentials_message(err: &aws_credential_types::provider::error::CredentialsError) -> String {
    use aws_credential_types::provider::error::CredentialsError as E;
    match err {
        E::CredentialsNotLoaded(_) => "no AWS credentials found (tried environment, profile, web identity, container and instance role): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string(),
        other => {
            let source = std::error::Error::source(other)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            format!("cannot load AWS credentials: {other}{source}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

async fn load_config(options: &AwsOptions) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        check_endpoint(url)?;
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(AwsError::Config(
            "no AWS region: pass --region or set AWS_REGION (or a region in your profile)".into(),
        ));
    }
    if let Some(url) = config.endpoint_url() {
        check_endpoint(url)?;
    }
    Ok(config)
}

fn check_endpoint(url: &str) -> Result<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(AwsError::Config(format!(
            "endpoint URL `{url}` must start with http:// or https://"
        )))
    }
}

/// The host part of an `http(s)://host[:port][/...]` URL.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// Whether `host` is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Whether an endpoint URL points at this machine (an emulator), never at AWS.
pub fn endpoint_is_loopback(url: &str) -> bool {
    url_host(url).is_some_and(is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(endpoint_is_loopback("http://127.0.0.1:55500"));
        assert!(endpoint_is_loopback("http://127.9.0.1"));
        assert!(endpoint_is_loopback("http://localhost:4566/"));
        assert!(endpoint_is_loopback("http://[::1]:4566"));
        assert!(!endpoint_is_loopback("https://rds.us-east-1.amazonaws.com"));
        assert!(!endpoint_is_loopback("http://10.0.0.1:4566"));
        assert!(!endpoint_is_loopback("http://127.0.0.1.evil.example:80"));
        assert!(!endpoint_is_loopback("127.0.0.1"));
    }

    #[test]
    fn offline_clients_have_a_region() {
        let c = AwsClients::offline("eu-west-1");
        assert_eq!(c.region(), Some("eu-west-1"));
    }
}
