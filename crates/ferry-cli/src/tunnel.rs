//! `--ssh` / `--source-ssh`: reach a database through a bastion host. After a URL is
//! resolved (a `secret://` reference read, an IAM token signed for the real host), [`apply`]
//! opens an SSH tunnel to its host and port and returns the URL pointed at the tunnel's
//! local end; TLS still verifies the original host name. The engine and the drivers never
//! know.

use anyhow::Context;
use ferry_core::ConnUrl;
use ferry_tunnel::{Bastion, Tunnel, TunnelOptions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The target's bastion (`--to`; `ferry up`'s new database).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SshArgs {
    /// Reach the target (--to) through this SSH bastion, as `ssh -L` would: USER@HOST[:PORT].
    /// The bastion's host key must be in ~/.ssh/known_hosts (or --ssh-known-hosts).
    #[arg(long, value_name = "USER@HOST[:PORT]")]
    pub ssh: Option<String>,
    /// Private key for --ssh (default: the SSH agent at SSH_AUTH_SOCK).
    #[arg(long, value_name = "FILE", requires = "ssh")]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file that --ssh checks the bastion's host key against (default:
    /// ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE", requires = "ssh")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// Trust --ssh's bastion on first use: record its unknown host key in the known_hosts
    /// file. A changed host key is refused all the same.
    #[arg(long, requires = "ssh")]
    pub ssh_accept_new_host_key: bool,
}

/// The source's bastion (`--from`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceSshArgs {
    /// Reach the source (--from) through this SSH bastion: USER@HOST[:PORT] (it may differ
    /// from --ssh's).
    #[arg(long, value_name = "USER@HOST[:PORT]")]
    pub source_ssh: Option<String>,
    /// Private key for --source-ssh (default: the SSH agent at SSH_AUTH_SOCK).
    #[arg(long, value_name = "FILE", requires = "source_ssh")]
    pub source_ssh_key: Option<PathBuf>,
    /// known_hosts file for --source-ssh (default: ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE", requires = "source_ssh")]
    pub source_ssh_known_hosts: Option<PathBuf>,
    /// Record --source-ssh's unknown host key in the known_hosts file instead of refusing it.
    #[arg(long, requires = "source_ssh")]
    pub source_ssh_accept_new_host_key: bool,
}

/// One bastion's settings, whichever flags named them.
#[derive(Debug, Clone)]
pub struct BastionFlags {
    flag: &'static str,
    target: String,
    key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    accept_new: bool,
}

impl SshArgs {
    /// The target's bastion, if any.
    pub fn bastion(&self) -> Option<BastionFlags> {
        self.ssh.as_ref().map(|t| BastionFlags {
            flag: "--ssh",
            target: t.clone(),
            key: self.ssh_key.clone(),
            known_hosts: self.ssh_known_hosts.clone(),
            accept_new: self.ssh_accept_new_host_key,
        })
    }
}

impl SourceSshArgs {
    /// The source's bastion, if any.
    pub fn bastion(&self) -> Option<BastionFlags> {
        self.source_ssh.as_ref().map(|t| BastionFlags {
            flag: "--source-ssh",
            target: t.clone(),
            key: self.source_ssh_key.clone(),
            known_hosts: self.source_ssh_known_hosts.clone(),
            accept_new: self.source_ssh_accept_new_host_key,
        })
    }
}

/// The tunnels of this run, kept open until ferry exits, one per bastion and server (a
/// source and target on the same server behind the same bastion share one).
static TUNNELS: Mutex<Option<HashMap<TunnelKey, Arc<Tunnel>>>> = Mutex::new(None);

/// A tunnel's bastion (`user@host:port`), server host and server port.
type TunnelKey = (String, String, u16);

/// `url` (already resolved) reached through `bastion`, or `url` itself without one. `flag`
/// (`--from` / `--to`) names the URL in messages. A SQLite file has no host to tunnel to.
pub async fn apply(
    flag: &str,
    url: ConnUrl,
    bastion: Option<BastionFlags>,
) -> anyhow::Result<ConnUrl> {
    let Some(b) = bastion else {
        return Ok(url);
    };
    let dialect = url.dialect();
    let default_port = match dialect {
        Some(ferry_core::Dialect::Postgres) => 5432,
        Some(ferry_core::Dialect::Mysql) => 3306,
        _ => anyhow::bail!(
            "{} tunnels {flag}, but {url} is not a database server (a SQLite file is read locally)",
            b.flag
        ),
    };
    let host = url
        .tls_host()
        .map(str::to_string)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{} tunnels {flag}, but {url} names no host", b.flag))?;
    let port = url
        .tunnel
        .as_ref()
        .map_or(url.port, |t| t.port)
        .unwrap_or(default_port);
    let bastion: Bastion = b
        .target
        .parse()
        .map_err(|e| anyhow::anyhow!("{} {e}", b.flag))?;
    let key = (bastion.to_string(), host.clone(), port);
    let existing = TUNNELS
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&key).cloned()));
    let tunnel = match existing {
        Some(t) => t,
        None => {
            let mut opts = TunnelOptions::new(bastion.clone(), b.flag);
            opts.key = b.key.clone();
            opts.known_hosts = b.known_hosts.clone();
            opts.accept_new_host_key = b.accept_new;
            opts.on_error = Some(report_once());
            let tunnel = Arc::new(
                Tunnel::open(opts, &host, port)
                    .await
                    .with_context(|| format!("{flag} {url}"))?,
            );
            if let Ok(mut m) = TUNNELS.lock() {
                m.get_or_insert_with(HashMap::new)
                    .insert(key, tunnel.clone());
            }
            tunnel
        }
    };
    Ok(url.through_tunnel(tunnel.local_addr(), &bastion.to_string()))
}

/// Background tunnel failures on stderr, each distinct message once in a row (a driver
/// retrying through a dead bastion would otherwise repeat it).
fn report_once() -> ferry_tunnel::ErrorSink {
    let last = Mutex::new(String::new());
    Arc::new(move |e: &ferry_tunnel::TunnelError| {
        let text = e.to_string();
        if let Ok(mut last) = last.lock() {
            if *last != text {
                crate::output::Channel::Stderr.line(&format!("ferry: {text}"));
                *last = text;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_hostless_urls_cannot_be_tunnelled() {
        let flags = SshArgs {
            ssh: Some("me@127.0.0.1:1".into()),
            ..SshArgs::default()
        };
        let url = ConnUrl::parse("sqlite:/tmp/x.db").expect("url");
        let err = apply("--to", url, flags.bastion())
            .await
            .expect_err("sqlite");
        assert!(format!("{err:#}").contains("SQLite file"), "{err:#}");
        let url = ConnUrl::parse("postgres://u:p@127.0.0.1/db").expect("url");
        let flags = SshArgs {
            ssh: Some("no-user-here".into()),
            ..SshArgs::default()
        };
        let err = apply("--to", url.clone(), flags.bastion())
            .await
            .expect_err("bad bastion");
        assert!(
            format!("{err:#}").contains("--ssh `no-user-here`"),
            "{err:#}"
        );
        // No bastion: the URL as it was.
        assert_eq!(apply("--to", url.clone(), None).await.expect("same"), url);
    }
}
