//! SSH tunnels through a bastion host, for databases only reachable from inside a VPC.
//!
//! [`Tunnel::open`] connects to the bastion (checking its host key against a known_hosts
//! file and authenticating with a key file or the SSH agent), binds a listener on
//! `127.0.0.1:0`, and forwards every connection accepted there through a `direct-tcpip`
//! channel to the database's host and port, as `ssh -L` does. The drivers connect to the
//! local end and never know; only TLS is told the original host name (see
//! `ferry_core::ConnUrl::tunnelled`).
//!
//! A dropped SSH session is a dropped database connection: the forwarded connections end,
//! the drivers' retries connect again, and the next accepted connection opens a new SSH
//! session.

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

pub mod known_hosts;
mod session;
use session::*;

use known_hosts::HostKeyStatus;

/// How long connecting to the bastion (TCP, key exchange, authentication) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What went wrong; the message names the bastion, the file or the flag that fixes it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TunnelError {
    /// What kind of failure.
    pub kind: TunnelErrorKind,
    message: String,
}

/// Kinds of [`TunnelError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelErrorKind {
    /// Bad input (a malformed `USER@HOST[:PORT]`, an unreadable key file).
    Config,
    /// The bastion's host key is not known, changed, or revoked.
    HostKey,
    /// The bastion refused the key(s).
    Auth,
    /// The bastion or the database behind it could not be reached: may work on a retry.
    Connect,
}

impl TunnelError {
    fn new(kind: TunnelErrorKind, message: impl Into<String>) -> TunnelError {
        TunnelError {
            kind,
            message: message.into(),
        }
    }
}

/// A bastion: `USER@HOST[:PORT]` (port 22 by default; `[v6addr]:port` for IPv6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bastion {
    /// Login user.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// SSH port.
    pub port: u16,
}

impl std::str::FromStr for Bastion {
    type Err = TunnelError;

    fn from_str(text: &str) -> Result<Bastion, TunnelError> {
        let bad = |why: &str| {
            TunnelError::new(
                TunnelErrorKind::Config,
                format!("`{text}`: {why} (expected USER@HOST or USER@HOST:PORT)"),
            )
        };
        let (user, hostport) = text.rsplit_once('@').ok_or_else(|| bad("no user"))?;
        if user.is_empty() {
            return Err(bad("no user"));
        }
        let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("text after `]`")),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => 22,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        };
        Ok(Bastion {
            user: user.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Bastion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// Called with a message when a forwarded connection could not be made (the tunnel runs
/// in the background; its caller decides where such messages go).
pub type ErrorSink = Arc<dyn Fn(&TunnelError) + Send + Sync>;

/// How to reach and trust a bastion.
#[derive(Clone)]
pub struct TunnelOptions {
    /// The bastion.
    pub bastion: Bastion,
    /// Private key file (OpenSSH or PEM format, not passphrase-protected); `None`: the SSH
    /// agent at `SSH_AUTH_SOCK`.
    pub key: Option<PathBuf>,
    /// The known_hosts file; `None`: `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// Record an unknown host key in the known_hosts file instead of refusing it. A
    /// changed key is refused all the same.
    pub accept_new_host_key: bool,
    /// The flag that names this bastion (`--ssh`, `--source-ssh`): error messages name it
    /// and its companion flags (`--ssh-key`, `--ssh-accept-new-host-key`, ...).
    pub flag: String,
    /// Where background failures are reported.
    pub on_error: Option<ErrorSink>,
}

impl fmt::Debug for TunnelOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelOptions")
            .field("bastion", &self.bastion)
            .field("key", &self.key)
            .field("known_hosts", &self.known_hosts)
            .field("accept_new_host_key", &self.accept_new_host_key)
            .field("flag", &self.flag)
            .finish()
    }
}

impl TunnelOptions {
    /// Options for `bastion` named by `flag`, with the agent and `~/.ssh/known_hosts`.
    pub fn new(bastion: Bastion, flag: impl Into<String>) -> TunnelOptions {
        TunnelOptions {
            bastion,
            key: None,
            known_hosts: None,
            accept_new_host_key: false,
            flag: flag.into(),
            on_error: None,
        }
    }

    fn known_hosts_path(&self) -> Result<PathBuf, TunnelError> {
        if let Some(p) = &self.known_hosts {
            return Ok(p.clone());
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                TunnelError::new(
                    TunnelErrorKind::Config,
                    format!(
                        "{} {}: HOME is not set, so there is no ~/.ssh/known_hosts; name a file with {}-known-hosts",
                        self.flag, self.bastion, self.flag
                    ),
                )
            })?;
        Ok(Path::new(&home).join(".ssh").join("known_hosts"))
    }

    fn label(&self) -> String {
        format!("{} {}", self.flag, self.bastion)
    }
}

/// An open tunnel: connections to [`Tunnel::local_addr`] reach the database through the
/// bastion. Dropping it stops accepting connections.
pub struct Tunnel {
    local: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
    inner: Arc<Inner>,
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tunnel({} -> {} -> {}:{})",
            self.local, self.inner.opts.bastion, self.inner.dest_host, self.inner.dest_port
        )
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Tunnel {
    /// Connect to the bastion now (so a wrong key or host key is reported before anything
    /// else happens), and forward `127.0.0.1:<free port>` to `dest_host:dest_port` as the
    /// bastion resolves and reaches it.
    pub async fn open(
        opts: TunnelOptions,
        dest_host: &str,
        dest_port: u16,
    ) -> Result<Tunnel, TunnelError> {
        let inner = Arc::new(Inner {
            opts,
            dest_host: dest_host.to_string(),
            dest_port,
            session: tokio::sync::Mutex::new(None),
        });
        // The first session now: a wrong key or host key fails the run before anything
        // else happens, with a message that says so.
        let session = inner.session(None).await?;
        drop(session);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            TunnelError::new(
                TunnelErrorKind::Connect,
                format!("{}: cannot listen on 127.0.0.1: {e}", inner.opts.label()),
            )
        })?;
        let local = listener.local_addr().map_err(|e| {
            TunnelError::new(TunnelErrorKind::Connect, format!("local address: {e}"))
        })?;
        let accept = tokio::spawn(accept_loop(listener, inner.clone()));
        Ok(Tunnel {
            local,
            accept,
            inner,
        })
    }

    /// The local end (`127.0.0.1:<port>`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The bastion this tunnel goes through.
    pub fn bastion(&self) -> &Bastion {
        &self.inner.opts.bastion
    }
}

struct Inner {
    opts: TunnelOptions,
    dest_host: String,
    dest_port: u16,
    session: tokio::sync::Mutex<Option<Arc<Handle<HostKeyCheck>>>>,
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let inner = inner.clone();
        tokio::spawn(async move { inner.forward(socket, peer).await });
    }
}

impl Inner {
    /// The live SSH session, or a new one when there is none, it closed, or it is `dead`
    /// (a channel could not be opened on it). A session another connection already
    /// renewed is shared.
    async fn session(
        &self,
        dead: Option<&Arc<Handle<HostKeyCheck>>>,
    ) -> Result<Arc<Handle<HostKeyCheck>>, TunnelError> {
        let mut slot = self.session.lock().await;
        if let Some(handle) = slot.as_ref() {
            let known_dead = dead.is_some_and(|d| Arc::ptr_eq(d, handle));
            if !known_dead && !handle.is_closed() {
                return Ok(handle.clone());
            }
        }
        *slot = None;
        let handle = Arc::new(connect(&self.opts).await?);
        *slot = Some(handle.clone());
        Ok(handle)
    }

    /// Carry one accepted connection through the bastion. When that cannot be done the
    /// failure is reported first, then the socket closed: what the driver sees is a
    /// dropped connection, which it retries.
    async fn forward(&self, mut socket: TcpStream, peer: SocketAddr) {
        let _ = socket.set_nodelay(true);
        match self.open_channel(peer).await {
            Ok(channel) => {
                let mut stream = channel.into_stream();
                let _ = tokio::io::copy_bidirectional(&mut socket, &mut stream).await;
            }
            Err(e) => {
                if let Some(sink) = &self.opts.on_error {
                    sink(&e);
                }
                drop(socket);
            }
        }
    }

    async fn open_channel(
        &self,
        peer: SocketAddr,
    ) -> Result<russh::Channel<russh::client::Msg>, TunnelError> {
        let mut dead = None;
        loop {
            let session = self.session(dead.as_ref()).await?;
            match session
                .channel_open_direct_tcpip(
                    self.dest_host.clone(),
                    u32::from(self.dest_port),
                    peer.ip().to_string(),
                    u32::from(peer.port()),
                )
                .await
            {
                Ok(channel) => return Ok(channel),
                Err(russh::Error::ChannelOpenFailure(why)) => {
                    return Err(TunnelError::new(
                        TunnelErrorKind::Connect,
                        format!(
                            "{}: the bastion could not open a connection to {}:{} ({})",
                            self.opts.label(),
                            self.dest_host,
                            self.dest_port,
                            channel_failure(&why)
                        ),
                    ))
                }
                // The session died under us: one more try on a new one.
                Err(_) if dead.is_none() => dead = Some(session),
                Err(e) => {
                    return Err(TunnelError::new(
                        TunnelErrorKind::Connect,
                        format!("{}: SSH session lost: {e}", self.opts.label()),
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bastions_parse() {
        let b: Bastion = "ec2-user@bastion.example".parse().expect("parses");
        assert_eq!(
            b,
            Bastion {
                user: "ec2-user".into(),
                host: "bastion.example".into(),
                port: 22
            }
        );
        let b: Bastion = "root@127.0.0.1:52222".parse().expect("parses");
        assert_eq!((b.host.as_str(), b.port), ("127.0.0.1", 52222));
        assert_eq!(b.to_string(), "root@127.0.0.1:52222");
        let b: Bastion = "me@[::1]:2200".parse().expect("parses");
        assert_eq!((b.host.as_str(), b.port), ("::1", 2200));
        assert_eq!(b.to_string(), "me@[::1]:2200");
        for bad in [
            "bastion.example",
            "@host",
            "u@",
            "u@h:0",
            "u@h:ssh",
            "u@[::1",
            "u@[::1]x",
        ] {
            let err = bad.parse::<Bastion>().expect_err(bad);
            assert_eq!(err.kind, TunnelErrorKind::Config, "{bad}");
            assert!(err.to_string().contains("USER@HOST"), "{err}");
        }
    }
}
