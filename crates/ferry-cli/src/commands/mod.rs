//! One file per subcommand.

pub mod check;
pub mod migrate;
#[cfg(feature = "aws")]
pub mod provision;
pub mod replicate;
pub mod report;
pub mod schema;
#[cfg(feature = "aws")]
pub mod teardown;
#[cfg(feature = "aws")]
pub mod up;
pub mod verify;

#[cfg(not(feature = "aws"))]
mod no_aws;
#[cfg(not(feature = "aws"))]
pub use no_aws::{provision, teardown, up};

use anyhow::Context;
use ferry_core::ConnUrl;

/// Parse `--from`/`--to` URLs with the run's AWS flags: `secret://` references are resolved
/// through Secrets Manager, and with `iam_auth` the target connects with an IAM auth token
/// instead of its password.
pub async fn resolve_pair(
    from: &Option<String>,
    to: &Option<String>,
    aws: &crate::secrets::AwsArgs,
    iam_auth: bool,
) -> anyhow::Result<(ConnUrl, ConnUrl)> {
    crate::secrets::set_session_defaults(aws);
    let parse = crate::secrets::parse_url;
    let required = crate::settings::required;
    let from = parse("--from", required("--from", from)?)?;
    let to = parse("--to", required("--to", to)?)?;
    let from = crate::secrets::resolve_with("--from", &from, aws, false).await?;
    let to = crate::secrets::resolve_with("--to", &to, aws, iam_auth).await?;
    Ok((from, to))
}

/// Parse a `--from`/`--to` URL (`flag` names it). `secret://` references are resolved
/// through Secrets Manager where this build has the AWS crate.
pub async fn resolve_url(flag: &str, text: &Option<String>) -> anyhow::Result<ConnUrl> {
    let url = crate::secrets::parse_url(flag, crate::settings::required(flag, text)?)?;
    if url.kind == ferry_core::url::UrlKind::Secret {
        return crate::secrets::resolve(&url)
            .await
            .with_context(|| format!("resolving {url}"));
    }
    Ok(url)
}

/// Apply `--schema NAME[,NAME...]` to a source URL: the same as its `?schema=` parameter,
/// which the flag replaces. Only a PostgreSQL source has schemas to choose from.
pub fn choose_schemas(from: &mut ConnUrl, schemas: Option<&str>) -> anyhow::Result<()> {
    let Some(list) = schemas else {
        return Ok(());
    };
    if from.dialect() != Some(ferry_core::Dialect::Postgres) {
        anyhow::bail!("--schema needs a postgres:// source; {from} has no schemas to choose from");
    }
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        anyhow::bail!("--schema needs at least one schema name");
    }
    from.params
        .retain(|(k, _)| !k.eq_ignore_ascii_case("schema"));
    from.params.push(("schema".into(), names.join(",")));
    Ok(())
}
