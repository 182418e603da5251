//! Opening the SSH session to the bastion: host-key checking against known_hosts (and
//! recording a new key when asked), key-file and agent authentication, and the errors
//! that name what went wrong.

use super::*;

pub(crate) fn channel_failure(why: &russh::ChannelOpenFailure) -> String {
    match why {
        russh::ChannelOpenFailure::AdministrativelyProhibited => {
            "administratively prohibited: the bastion does not allow TCP forwarding (AllowTcpForwarding)".into()
        }
        russh::ChannelOpenFailure::ConnectFailed => {
            "connect failed: the database is not reachable from the bastion".into()
        }
        other => format!("{other:?}"),
    }
}

/// Checks the bastion's host key against the known_hosts file; a refusal is left in
/// `verdict` for [`connect`] to report (russh only hears "no").
pub(crate) struct HostKeyCheck {
    opts: TunnelOptions,
    verdict: Arc<Mutex<Option<TunnelError>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let result = match server_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => {
                check_host_key(&self.opts, key)
            }
            russh::keys::PublicKeyOrCertificate::Certificate(_) => Err(TunnelError::new(
                TunnelErrorKind::HostKey,
                format!(
                    "{}: the bastion presented a host certificate; ferry checks plain host keys against known_hosts only",
                    self.opts.label()
                ),
            )),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                if let Ok(mut v) = self.verdict.lock() {
                    *v = Some(e);
                }
                Ok(false)
            }
        }
    }
}

pub(crate) fn check_host_key(opts: &TunnelOptions, key: &PublicKey) -> Result<(), TunnelError> {
    let path = opts.known_hosts_path()?;
    let blob = key.to_bytes().map_err(|e| {
        TunnelError::new(
            TunnelErrorKind::HostKey,
            format!("{}: unreadable host key: {e}", opts.label()),
        )
    })?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(TunnelError::new(
                TunnelErrorKind::Config,
                format!("{}: cannot read {}: {e}", opts.label(), path.display()),
            ))
        }
    };
    let host = &opts.bastion.host;
    let port = opts.bastion.port;
    let name = known_hosts::host_entry_name(host, port);
    let fingerprint = key.fingerprint(HashAlg::Sha256);
    let algorithm = known_hosts::blob_key_type(&blob).unwrap_or("?").to_string();
    let flag = &opts.flag;
    match known_hosts::check(&text, host, port, &blob) {
        HostKeyStatus::Known => Ok(()),
        HostKeyStatus::Revoked { line } => Err(TunnelError::new(
            TunnelErrorKind::HostKey,
            format!(
                "{}: the host key of {name} ({algorithm} {fingerprint}) is marked @revoked at line {line} of {}; refused",
                opts.label(),
                path.display()
            ),
        )),
        HostKeyStatus::Changed { line } => Err(TunnelError::new(
            TunnelErrorKind::HostKey,
            format!(
                "{}: the host key of {name} has CHANGED: it now presents {algorithm} {fingerprint}, but line {line} of {} holds another {algorithm} key. \
                 Someone may be intercepting the connection, or the bastion was rebuilt; ferry refuses it \
                 (even with {flag}-accept-new-host-key). If the change is expected, remove the old entry \
                 (ssh-keygen -R '{name}' -f {}) and connect again",
                opts.label(),
                path.display(),
                path.display()
            ),
        )),
        HostKeyStatus::Unknown if opts.accept_new_host_key => record_host_key(opts, &path, &blob),
        HostKeyStatus::Unknown => Err(TunnelError::new(
            TunnelErrorKind::HostKey,
            format!(
                "{}: the host key of {name} is not known ({algorithm} {fingerprint} is not in {}). \
                 Check that fingerprint with the bastion's administrator, then pass {flag}-accept-new-host-key \
                 to record it there (or name a known_hosts file that has it with {flag}-known-hosts)",
                opts.label(),
                path.display()
            ),
        )),
    }
}

/// Append the accepted key to the known_hosts file (made, with its folder, if missing).
pub(crate) fn record_host_key(
    opts: &TunnelOptions,
    path: &Path,
    blob: &[u8],
) -> Result<(), TunnelError> {
    use std::io::Write;
    let fail = |e: std::io::Error| {
        TunnelError::new(
            TunnelErrorKind::Config,
            format!(
                "{}: cannot record the host key in {}: {e}",
                opts.label(),
                path.display()
            ),
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(fail)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
    }
    let existing = std::fs::read(path).unwrap_or_default();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    let mut line = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        line.push('\n');
    }
    line.push_str(&known_hosts::entry_line(
        &opts.bastion.host,
        opts.bastion.port,
        blob,
    ));
    line.push('\n');
    file.write_all(line.as_bytes()).map_err(fail)
}

/// One SSH session to the bastion, host key checked and authenticated.
pub(crate) async fn connect(opts: &TunnelOptions) -> Result<Handle<HostKeyCheck>, TunnelError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connect_inner(opts)).await {
        Ok(r) => r,
        Err(_) => Err(TunnelError::new(
            TunnelErrorKind::Connect,
            format!(
                "{}: no SSH session within {}s",
                opts.label(),
                CONNECT_TIMEOUT.as_secs()
            ),
        )),
    }
}

pub(crate) async fn connect_inner(
    opts: &TunnelOptions,
) -> Result<Handle<HostKeyCheck>, TunnelError> {
    // Read the key first: a missing file is the user's mistake, not the bastion's.
    let key = match &opts.key {
        Some(path) => Some(load_key(opts, path)?),
        None => None,
    };
    let config = Arc::new(client::Config {
        // A bastion that vanishes without closing the TCP connection is noticed within a
        // minute, and the forwarded connections end.
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    });
    let verdict = Arc::new(Mutex::new(None));
    let handler = HostKeyCheck {
        opts: opts.clone(),
        verdict: verdict.clone(),
    };
    let addr = (opts.bastion.host.as_str(), opts.bastion.port);
    let mut handle = match client::connect(config, addr, handler).await {
        Ok(h) => h,
        Err(e) => {
            if let Some(refusal) = verdict.lock().ok().and_then(|mut v| v.take()) {
                return Err(refusal);
            }
            return Err(TunnelError::new(
                TunnelErrorKind::Connect,
                format!("{}: cannot connect to the bastion: {e}", opts.label()),
            ));
        }
    };
    let user = opts.bastion.user.clone();
    match key {
        Some(key) => {
            let path = opts.key.as_deref().unwrap_or(Path::new(""));
            let fingerprint = key.public_key().fingerprint(HashAlg::Sha256);
            let hash = rsa_hash(&handle).await;
            let result = handle
                .authenticate_publickey(user.clone(), PrivateKeyWithHashAlg::new(key, hash))
                .await
                .map_err(|e| lost(opts, e))?;
            if !result.success() {
                return Err(TunnelError::new(
                    TunnelErrorKind::Auth,
                    format!(
                        "{}: the bastion refused the key {} ({fingerprint}) for user {user}; check {}-key and the user's authorized_keys",
                        opts.label(),
                        path.display(),
                        opts.flag
                    ),
                ));
            }
        }
        None => authenticate_with_agent(opts, &mut handle, &user).await?,
    }
    Ok(handle)
}

pub(crate) fn lost(opts: &TunnelOptions, e: russh::Error) -> TunnelError {
    TunnelError::new(
        TunnelErrorKind::Connect,
        format!("{}: SSH session lost: {e}", opts.label()),
    )
}

pub(crate) async fn rsa_hash(handle: &Handle<HostKeyCheck>) -> Option<HashAlg> {
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

pub(crate) fn load_key(
    opts: &TunnelOptions,
    path: &Path,
) -> Result<Arc<russh::keys::PrivateKey>, TunnelError> {
    let flag = format!("{}-key", opts.flag);
    match russh::keys::load_secret_key(path, None) {
        Ok(k) => Ok(Arc::new(k)),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(TunnelError::new(
            TunnelErrorKind::Config,
            format!(
                "{flag} {}: the key is protected by a passphrase; add it to the SSH agent (ssh-add {}) and leave out {flag}",
                path.display(),
                path.display()
            ),
        )),
        Err(russh::keys::Error::IO(e)) => Err(TunnelError::new(
            TunnelErrorKind::Config,
            format!("{flag} {}: {e}", path.display()),
        )),
        Err(e) => Err(TunnelError::new(
            TunnelErrorKind::Config,
            format!("{flag} {}: not a usable private key: {e}", path.display()),
        )),
    }
}

pub(crate) async fn authenticate_with_agent(
    opts: &TunnelOptions,
    handle: &mut Handle<HostKeyCheck>,
    user: &str,
) -> Result<(), TunnelError> {
    let no_agent = |why: String| {
        TunnelError::new(
            TunnelErrorKind::Auth,
            format!(
                "{}: no {}-key given and {why}; name a private key with {}-key or start ssh-agent and ssh-add the key",
                opts.label(),
                opts.flag,
                opts.flag
            ),
        )
    };
    let mut agent = russh::keys::agent::client::AgentClient::connect_env()
        .await
        .map_err(|e| match e {
            russh::keys::Error::EnvVar(_) => {
                no_agent("no SSH agent (SSH_AUTH_SOCK is not set)".into())
            }
            other => no_agent(format!(
                "the SSH agent at SSH_AUTH_SOCK cannot be reached ({other})"
            )),
        })?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| no_agent(format!("the SSH agent did not list its keys ({e})")))?;
    let keys: Vec<PublicKey> = identities
        .into_iter()
        .filter_map(|id| match id {
            russh::keys::agent::AgentIdentity::PublicKey { key, .. } => Some(key),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return Err(no_agent("the SSH agent holds no keys".into()));
    }
    let tried = keys.len();
    let hash = rsa_hash(handle).await;
    for key in keys {
        let result = handle
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await;
        if matches!(result, Ok(r) if r.success()) {
            return Ok(());
        }
    }
    Err(TunnelError::new(
        TunnelErrorKind::Auth,
        format!(
            "{}: the bastion refused all {tried} key(s) of the SSH agent for user {user}; name the right one with {}-key",
            opts.label(),
            opts.flag
        ),
    ))
}
