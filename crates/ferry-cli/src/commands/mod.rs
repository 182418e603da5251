//! One file per subcommand.

pub mod migrate;
pub mod provision;
pub mod schema;
pub mod teardown;
pub mod up;
pub mod verify;

use anyhow::Context;
use ferry_core::ConnUrl;

/// Parse a `--from`/`--to` URL. `secret://` references are resolved through Secrets Manager
/// where this build has the AWS crate.
pub async fn resolve_url(text: &str) -> anyhow::Result<ConnUrl> {
    let url = ConnUrl::parse(text).map_err(anyhow::Error::new)?;
    if url.kind == ferry_core::url::UrlKind::Secret {
        return crate::secrets::resolve(&url)
            .await
            .with_context(|| format!("resolving {url}"));
    }
    Ok(url)
}
