//! One file per subcommand.

pub mod bench;
pub mod check;
#[cfg(feature = "aws")]
pub mod grant;
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
pub use no_aws::{grant, provision, teardown, up};

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

/// Point resolved `--from` / `--to` URLs at SSH tunnels through their bastions
/// (`--source-ssh`, `--ssh`), when given.
pub async fn tunnel_pair(
    from: ConnUrl,
    to: ConnUrl,
    source: &crate::tunnel::SourceSshArgs,
    target: &crate::tunnel::SshArgs,
) -> anyhow::Result<(ConnUrl, ConnUrl)> {
    let from = crate::tunnel::apply("--from", from, source.bastion()).await?;
    let to = crate::tunnel::apply("--to", to, target.bastion()).await?;
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

/// `--output` of the commands that print a result as text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    /// Lines for people.
    Text,
    /// One JSON document on stdout (numbers as numbers).
    Json,
}

/// `--output json` of `migrate` / `verify`: the report on stdout, as `--json -` (the summary
/// then goes to stderr). A `--json FILE` as well is refused: one report, one place.
pub fn report_to_stdout(
    json: &mut Option<std::path::PathBuf>,
    output: Option<TextOrJson>,
) -> anyhow::Result<()> {
    if output != Some(TextOrJson::Json) {
        return Ok(());
    }
    match json {
        Some(p) if p.as_os_str() != "-" => anyhow::bail!(
            "--output json prints the report on stdout; --json {} writes it to a file: give one of them",
            p.display()
        ),
        _ => *json = Some(std::path::PathBuf::from("-")),
    }
    Ok(())
}
