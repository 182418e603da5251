//! Connecting to PostgreSQL and turning its errors into ferry's error kinds.

use ferry_core::{ConnUrl, Error, ErrorKind, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

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

/// Open a connection secured as [`crate::tls::transport`] decides; its background task runs
/// on the current runtime. Errors name the server (password redacted) and say what went
/// wrong in one line.
pub async fn connect(url: &ConnUrl) -> Result<Client> {
    connect_noting(url).await.map(|(client, _)| client)
}

/// [`connect`], also returning the warning for a plaintext connection to a host outside
/// loopback ([`ferry_tls::plaintext_warning`]), for the caller to report once.
pub async fn connect_noting(url: &ConnUrl) -> Result<(Client, Option<String>)> {
    let mut cfg = config(url)?;
    let fail = |e: tokio_postgres::Error| {
        map_error(e)
            .naming_user(&crate::privilege::role_name(url.user.as_deref()))
            .context(format!("cannot connect to {url}"))
    };
    let settings = match crate::tls::transport(url)? {
        ferry_tls::Transport::Plain => {
            let (client, connection) = cfg.connect(NoTls).await.map_err(fail)?;
            spawn(connection);
            return Ok((pin_session(client, url).await?, plaintext_note(url)));
        }
        ferry_tls::Transport::TlsOrPlain => {
            cfg.ssl_mode(SslMode::Prefer);
            ferry_tls::TlsSettings {
                ca: ferry_tls::CaSource::RdsBundle,
                verify: ferry_tls::Verify::None,
            }
        }
        ferry_tls::Transport::Tls(settings) => {
            cfg.ssl_mode(SslMode::Require);
            settings
        }
    };
    let tls = ferry_tls::client_config(&settings)
        .map_err(|e| Error::config(format!("{url}: TLS: {e}")))?;
    let used = Arc::new(AtomicBool::new(false));
    let connector = crate::tls::Noting {
        inner: tokio_postgres_rustls::MakeRustlsConnect::new(tls),
        used: used.clone(),
        server_name: url.tunnel.as_ref().map(|t| t.host.clone()),
    };
    let (client, connection) = cfg.connect(connector).await.map_err(fail)?;
    spawn(connection);
    let note = if used.load(Ordering::SeqCst) {
        None
    } else {
        plaintext_note(url)
    };
    Ok((pin_session(client, url).await?, note))
}

fn plaintext_note(url: &ConnUrl) -> Option<String> {
    ferry_tls::plaintext_warning(url.tls_host().unwrap_or("localhost"))
}

fn spawn<T>(connection: T)
where
    T: std::future::Future + Send + 'static,
    T::Output: Send,
{
    tokio::spawn(async move {
        // The connection ends when the client is dropped; errors surface on the client.
        let _ = connection.await;
    });
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
        if let Some(err) =
            crate::privilege::permission_error(code.code(), db.message(), db.detail(), None)
        {
            return err;
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
