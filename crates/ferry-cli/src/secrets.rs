//! AWS options shared by the commands, and the one call that turns a `--from` / `--to` URL
//! into something a driver can connect to: `secret://NAME-OR-ARN` is read from Secrets
//! Manager, and `--iam-auth` swaps the password for an IAM auth token.

#[cfg(feature = "aws")]
use anyhow::Context;
#[cfg(feature = "aws")]
use ferry_aws::{AwsClients, AwsOptions};
use ferry_core::url::UrlKind;
use ferry_core::ConnUrl;

/// How to reach AWS. Anything not given comes from the SDK's usual chain (AWS_REGION,
/// AWS_PROFILE, AWS_ENDPOINT_URL, `~/.aws/config`, SSO, instance role).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named AWS profile (default: AWS_PROFILE or `default`). `--profile` is the same flag,
    /// except in `ferry bench`, where `--profile` names the generated dataset.
    #[arg(long = "aws-profile", visible_alias = "profile", value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// Send AWS API calls to this endpoint instead of AWS (an emulator); default AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[cfg(feature = "aws")]
impl AwsArgs {
    /// The options for `ferry_aws`.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            region: self.region.clone(),
            profile: self.aws_profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// Parse the `flag` URL (`--from` / `--to`) and complete it from its dialect's
/// environment ([`crate::settings::complete`]): a PostgreSQL URL takes what it leaves out
/// from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE` and its password from
/// `PGPASSWORD` or `~/.pgpass`, a MySQL one its password from `MYSQL_PWD`, so no password
/// need be on the command line. The error names the flag and never quotes the URL's
/// user-info.
pub fn parse_url(flag: &str, text: &str) -> anyhow::Result<ConnUrl> {
    let mut url =
        ConnUrl::parse(text).map_err(|e| anyhow::Error::new(e).context(flag.to_string()))?;
    crate::settings::complete(flag, &mut url)?;
    Ok(url)
}

/// Whether resolving `url` needs AWS at all.
pub fn needs_aws(url: &ConnUrl, iam_auth: bool) -> bool {
    iam_auth || url.kind == UrlKind::Secret
}

static SESSION: std::sync::OnceLock<AwsArgs> = std::sync::OnceLock::new();

/// Remember the AWS flags of this run (e.g. `ferry up --region ...`) for [`resolve`]. The
/// first call wins; later calls are ignored.
pub fn set_session_defaults(aws: &AwsArgs) {
    let _ = SESSION.set(aws.clone());
}

/// Resolve a `secret://` URL with the AWS flags given to this run (see
/// [`set_session_defaults`]), else the environment (AWS_REGION, AWS_PROFILE,
/// AWS_ENDPOINT_URL, ...). Other URLs come back unchanged.
pub async fn resolve(url: &ConnUrl) -> anyhow::Result<ConnUrl> {
    let aws = SESSION.get().cloned().unwrap_or_default();
    resolve_with("URL", url, &aws, false).await
}

/// What a build without the `aws` feature says when a run needs AWS.
#[cfg_attr(feature = "aws", allow(dead_code))]
pub const NO_AWS: &str = "this ferry was built without AWS support (cargo feature `aws`): secret:// URLs, --iam-auth, provision, up, grant and teardown need a build with it (the default: `cargo install --path crates/ferry-cli`)";

/// Without AWS support: `url` as it is, or a clear error when it needs AWS.
#[cfg(not(feature = "aws"))]
pub async fn resolve_with(
    flag: &str,
    url: &ConnUrl,
    _aws: &AwsArgs,
    iam_auth: bool,
) -> anyhow::Result<ConnUrl> {
    if needs_aws(url, iam_auth) {
        anyhow::bail!("{flag} {url}: {NO_AWS}");
    }
    Ok(url.clone())
}

/// Resolve `url` for a driver: a `secret://` URL becomes the database URL its secret holds,
/// and with `iam_auth` the password becomes an IAM auth token. Other URLs come back as they
/// are, without touching AWS. `flag` (e.g. `--to`) names the URL in error messages, which
/// never contain a password.
#[cfg(feature = "aws")]
pub async fn resolve_with(
    flag: &str,
    url: &ConnUrl,
    aws: &AwsArgs,
    iam_auth: bool,
) -> anyhow::Result<ConnUrl> {
    if !needs_aws(url, iam_auth) {
        return Ok(url.clone());
    }
    let clients = AwsClients::connect(&aws.options())
        .await
        .with_context(|| format!("{flag} {url}"))?;
    let mut resolved = ferry_aws::resolve_secret_url_with(&clients, url)
        .await
        .with_context(|| format!("{flag} {url}"))?;
    if iam_auth {
        resolved = ferry_aws::with_iam_token(&clients, &resolved)
            .await
            .with_context(|| format!("{flag} {url}: --iam-auth"))?;
    }
    Ok(resolved)
}

#[cfg(all(test, not(feature = "aws")))]
mod no_aws_tests {
    use super::*;

    #[tokio::test]
    async fn secret_urls_and_iam_auth_say_the_build_lacks_aws() {
        let plain = ConnUrl::parse("postgres://u:p@127.0.0.1:5432/d").expect("url");
        let aws = AwsArgs::default();
        assert_eq!(
            resolve_with("--to", &plain, &aws, false)
                .await
                .expect("same"),
            plain
        );
        let secret = ConnUrl::parse("secret://ferry/shop").expect("url");
        let err = resolve_with("--to", &secret, &aws, false)
            .await
            .expect_err("no AWS");
        assert!(
            format!("{err:#}").contains("built without AWS support"),
            "{err:#}"
        );
        let err = resolve_with("--to", &plain, &aws, true)
            .await
            .expect_err("no AWS");
        assert!(!format!("{err:#}").contains(":p@"), "{err:#}");
    }
}

#[cfg(all(test, feature = "aws"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_urls_never_touch_aws() {
        let url = ConnUrl::parse("postgres://u:p@127.0.0.1:5432/d").expect("url");
        let aws = AwsArgs {
            endpoint_url: Some("not a url".into()),
            ..AwsArgs::default()
        };
        assert_eq!(
            resolve_with("--to", &url, &aws, false).await.expect("same"),
            url
        );
        let secret = ConnUrl::parse("secret://ferry/shop").expect("url");
        assert!(needs_aws(&secret, false));
        let err = resolve_with("--to", &secret, &aws, false)
            .await
            .expect_err("bad endpoint");
        assert!(
            format!("{err:#}").contains("--to secret://ferry/shop"),
            "{err:#}"
        );
    }
}
