//! Connecting to PostgreSQL and turning its errors into ferry's error kinds.

use ferry_core::{ConnUrl, Error, ErrorKind, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

/// How a connection is secured, from the URL's `sslmode` (and `sslrootcert`): RDS and
/// Aurora endpoints default to `verify-full` against the bundled RDS CA bundle; other hosts
/// default to plain TCP. `require` and `verify-ca` check the chain but not the host name;
/// `verify-full` checks both. `sslrootcert=PATH` replaces the bundled CAs.
pub fn tls_settings(url: &ConnUrl) -> Result<Option<ferry_tls::TlsSettings>> {
    let host = url.host.as_deref().unwrap_or("localhost");
    let default = if ferry_tls::is_rds_host(host) {
        "verify-full"
    } else {
        "disable"
    };
    let mode = url.param("sslmode").unwrap_or(default);
    let ca = match url.param("sslrootcert").or(url.param("ssl-ca")) {
        Some(path) => ferry_tls::CaSource::File(path.into()),
        None => ferry_tls::CaSource::RdsBundle,
    };
    let verify = match mode {
        "disable" | "allow" | "prefer" => return Ok(None),
        "require" | "verify-ca" => ferry_tls::Verify::Ca,
        "verify-full" => ferry_tls::Verify::Full,
        other => {
            return Err(Error::config(format!(
            "{url}: unknown sslmode `{other}` (disable, prefer, require, verify-ca, verify-full)"
        )))
        }
    };
    Ok(Some(ferry_tls::TlsSettings { ca, verify }))
}

/// Build a driver config from a URL (user defaults to `postgres`, port to 5432).
pub fn config(url: &ConnUrl) -> Result<Config> {
    let mut cfg = Config::new();
    cfg.host(url.host.as_deref().unwrap_or("localhost"));
    cfg.port(url.port.unwrap_or(5432));
    cfg.user(url.user.as_deref().unwrap_or("postgres"));
    if let Some(p) = url.password() {
        cfg.password(p.expose());
    }
    cfg.dbname(url.database.as_deref().unwrap_or("postgres"));
    cfg.application_name("ferry");
    cfg.connect_timeout(std::time::Duration::from_secs(15));
    Ok(cfg)
}

/// Open a connection (with TLS when [`tls_settings`] asks for it); its background task runs
/// on the current runtime. Errors name the server (password redacted) and say what went
/// wrong in one line.
pub async fn connect(url: &ConnUrl) -> Result<Client> {
    let mut cfg = config(url)?;
    let fail = |e: tokio_postgres::Error| map_error(e).context(format!("cannot connect to {url}"));
    match tls_settings(url)? {
        None => {
            let (client, connection) = cfg.connect(NoTls).await.map_err(fail)?;
            tokio::spawn(async move {
                // The connection ends when the client is dropped; errors surface on the client.
                let _ = connection.await;
            });
            pin_session(client, url).await
        }
        Some(settings) => {
            let tls = ferry_tls::client_config(&settings)
                .map_err(|e| Error::config(format!("{url}: TLS: {e}")))?;
            cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
            let (client, connection) = cfg
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                .await
                .map_err(fail)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            pin_session(client, url).await
        }
    }
}

/// The session rules ferry's SQL is written for: `standard_conforming_strings = on`, so a
/// backslash in a string literal is an ordinary character (as in the SQL that
/// `ferry_schema::quote` writes and that PostgreSQL sources print), whatever the server,
/// database or role set.
pub const SESSION_SETTINGS: &str = "SET standard_conforming_strings = on";

async fn pin_session(client: Client, url: &ConnUrl) -> Result<Client> {
    client
        .batch_execute(SESSION_SETTINGS)
        .await
        .map_err(|e| map_error(e).context(format!("{url}: setting up the session")))?;
    Ok(client)
}

/// Classify a driver error into a ferry error kind, keeping the server's message (and its
/// DETAIL, which names the key of a duplicate) but never a password.
pub fn map_error(err: tokio_postgres::Error) -> Error {
    if let Some(db) = err.as_db_error() {
        let code = db.code();
        let kind = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            ErrorKind::Auth
        } else if *code == SqlState::INVALID_CATALOG_NAME || *code == SqlState::UNDEFINED_TABLE {
            ErrorKind::NotFound
        } else if *code == SqlState::DUPLICATE_TABLE || *code == SqlState::DUPLICATE_OBJECT {
            ErrorKind::AlreadyExists
        } else if [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
            || code.code().starts_with("08")
        {
            ErrorKind::Transient
        } else if code.code().starts_with("22") || code.code().starts_with("23") {
            ErrorKind::Data
        } else {
            ErrorKind::Other
        };
        let mut msg = db.message().to_string();
        if let Some(detail) = db.detail() {
            msg.push_str(" (");
            msg.push_str(detail);
            msg.push(')');
        }
        return Error::new(kind, msg);
    }
    let text = err.to_string();
    let source_text = std::error::Error::source(&err)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let kind =
        if err.is_closed() || text.contains("connection closed") || source_text.contains("reset") {
            ErrorKind::Transient
        } else if source_text.contains("refused")
            || text.contains("error connecting")
            || source_text.contains("timed out")
        {
            ErrorKind::Connect
        } else if text.contains("password") {
            ErrorKind::Auth
        } else {
            ErrorKind::Other
        };
    let msg = if source_text.is_empty() || text.contains(&source_text) {
        text
    } else {
        format!("{text}: {source_text}")
    };
    Error::new(kind, msg)
}
