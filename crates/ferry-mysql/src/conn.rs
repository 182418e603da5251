//! Connecting: `mysql://` URLs to driver options, one-line errors mapped to ferry's kinds,
//! and the session settings every ferry connection uses.

use ferry_core::url::ConnUrl;
use ferry_core::{Error, ErrorKind, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};

/// Every session's settings. The whole `sql_mode` is set, so a server default of
/// `NO_BACKSLASH_ESCAPES` (or `ANSI_QUOTES`) never applies: string literals are read with
/// backslash escapes, as `ferry_schema::quote::mysql_literal` writes them and as the
/// catalog text of a MySQL source (replayed verbatim) is printed; `utf8mb4` leaves no
/// multi-byte character set that could swallow an escaping backslash.
pub const SESSION_SETTINGS: &str = "SET NAMES utf8mb4, time_zone = '+00:00', \
     sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'";

/// Run one statement that ferry built through the binary (prepared-statement) protocol,
/// which runs exactly one statement: text that holds a second one fails to prepare
/// instead of running it. (The driver always asks for multi-statement text queries.)
pub async fn exec_one(conn: &mut Conn, sql: &str) -> std::result::Result<(), mysql_async::Error> {
    let stmt = conn.prep(sql).await?;
    let out = conn.exec_drop(&stmt, ()).await;
    let _ = conn.close(stmt).await;
    out
}

/// Where and how to connect; cheap to clone, prints without the password.
#[derive(Clone)]
pub struct Target {
    opts: Opts,
    /// `PREFERRED`: the same options without TLS, for a server that offers none.
    plain_opts: Option<Opts>,
    /// The warning for a plaintext connection outside loopback, once one was made.
    plaintext: std::sync::Arc<std::sync::OnceLock<String>>,
    /// `PREFERRED` found a server without TLS: later connections skip the TLS attempt.
    no_tls: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The URL with the password replaced by `***`, for messages.
    pub shown: String,
    /// The database the URL names.
    pub database: String,
    /// The server's host as the user named it (behind an SSH tunnel: not the local end).
    server_host: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.shown)
    }
}

impl Target {
    /// Driver options from a `mysql://USER:PASS@HOST:PORT/DB[?ssl-mode=..&ssl-ca=PATH]` URL.
    pub fn from_url(url: &ConnUrl) -> Result<Target> {
        let shown = url.to_string();
        let database = url
            .database
            .clone()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                Error::config(format!(
                    "{shown}: the URL names no database (mysql://user:pass@host:port/DATABASE)"
                ))
            })?;
        let mut b = OptsBuilder::default()
            .ip_or_hostname(url.host.clone().unwrap_or_else(|| "127.0.0.1".into()))
            .tcp_port(url.port.unwrap_or(3306))
            .user(url.user.clone())
            .pass(url.password().map(|p| p.expose().to_string()))
            .db_name(Some(database.clone()))
            .prefer_socket(false)
            .tcp_nodelay(true)
            .stmt_cache_size(64);
        let security = crate::tls::security(url)?;
        b = b.enable_cleartext_plugin(security.cleartext_auth);
        let plain_opts = security
            .fallback_to_plain
            .then(|| Opts::from(b.clone().ssl_opts(None)));
        let opts = Opts::from(b.ssl_opts(security.ssl.clone()));
        let target = Target {
            opts,
            plain_opts,
            plaintext: Default::default(),
            no_tls: Default::default(),
            shown,
            database,
            server_host: url.tls_host().unwrap_or("127.0.0.1").to_string(),
        };
        if security.ssl.is_none() {
            target.note_plaintext();
        }
        Ok(target)
    }

    /// Whether the password is sent with the cleartext auth plugin (`--iam-auth` only,
    /// and only over verified TLS).
    pub fn cleartext_auth(&self) -> bool {
        self.opts.enable_cleartext_plugin()
    }

    /// The TLS options of the first connection attempt (`None`: plaintext).
    pub fn ssl_opts(&self) -> Option<&SslOpts> {
        self.opts.ssl_opts()
    }

    /// The warning for a plaintext connection to a host outside loopback, once one was
    /// made (or the URL disables TLS).
    pub fn connection_warning(&self) -> Option<String> {
        self.plaintext.get().cloned()
    }

    fn note_plaintext(&self) {
        if let Some(w) = ferry_tls::plaintext_warning(&self.server_host) {
            let _ = self.plaintext.set(w);
        }
    }

    /// Connect with TLS, or for `PREFERRED` in plaintext when the server offers no TLS.
    async fn open(&self) -> std::result::Result<Conn, mysql_async::Error> {
        use std::sync::atomic::Ordering;
        if let (true, Some(plain)) = (self.no_tls.load(Ordering::Relaxed), &self.plain_opts) {
            return Conn::new(plain.clone()).await;
        }
        match (Conn::new(self.opts.clone()).await, &self.plain_opts) {
            (
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer,
                )),
                Some(plain),
            ) => {
                let conn = Conn::new(plain.clone()).await?;
                self.no_tls.store(true, Ordering::Relaxed);
                self.note_plaintext();
                Ok(conn)
            }
            (other, _) => other,
        }
    }

    /// The same target, with UPDATE reporting the rows it matched rather than those it
    /// changed (so an update that finds its row counts 1 even when nothing changes).
    pub fn with_found_rows(&self) -> Target {
        let found =
            |o: &Opts| Opts::from(OptsBuilder::from_opts(o.clone()).client_found_rows(true));
        Target {
            opts: found(&self.opts),
            plain_opts: self.plain_opts.as_ref().map(found),
            plaintext: self.plaintext.clone(),
            no_tls: self.no_tls.clone(),
            shown: self.shown.clone(),
            database: self.database.clone(),
            server_host: self.server_host.clone(),
        }
    }

    /// Open one connection with ferry's session settings ([`SESSION_SETTINGS`]): UTC,
    /// utf8mb4, strict mode, backslash escapes on.
    pub async fn connect(&self) -> Result<Conn> {
        let mut conn = self.open().await.map_err(|e| map_connect_error(e, self))?;
        conn.query_drop(SESSION_SETTINGS)
            .await
            .map_err(|e| map_error(e, &format!("{}: setting up the session", self.shown)))?;
        Ok(conn)
    }
}

fn map_connect_error(err: mysql_async::Error, target: &Target) -> Error {
    let shown = &target.shown;
    match &err {
        mysql_async::Error::Server(s) if s.code == 1045 => Error::new(
            ErrorKind::Auth,
            format!("cannot connect to {shown}: access denied (wrong user name or password)"),
        ),
        mysql_async::Error::Server(s) if s.code == 1049 => Error::new(
            ErrorKind::NotFound,
            format!(
                "cannot connect to {shown}: database `{}` does not exist",
                target.database
            ),
        ),
        mysql_async::Error::Server(s) if s.code == 1044 => {
            match crate::privilege::permission_error(s.code, &s.message, Some(&target.database)) {
                Some(e) => e.context(format!("cannot connect to {shown}")),
                None => Error::new(
                    ErrorKind::Permission,
                    format!(
                        "cannot connect to {shown}: the user may not use database `{}`",
                        target.database
                    ),
                ),
            }
        }
        mysql_async::Error::Io(io) => {
            let text = io.to_string();
            let why = if text.contains("refused") {
                "connection refused (is the server running on that port?)".to_string()
            } else {
                text
            };
            Error::new(
                ErrorKind::Connect,
                format!("cannot connect to {shown}: {why}"),
            )
        }
        _ => map_error(err, &format!("cannot connect to {shown}")),
    }
}

/// Map a driver error to a ferry error whose message starts with `context`. Server errors
/// keep their code and text (MySQL never echoes a password in them).
pub fn map_error(err: mysql_async::Error, context: &str) -> Error {
    if let mysql_async::Error::Server(s) = &err {
        if let Some(e) = crate::privilege::permission_error(s.code, &s.message, None) {
            return e.context(context);
        }
    }
    let kind = match &err {
        mysql_async::Error::Server(s) => match s.code {
            1045 => ErrorKind::Auth,
            1044 | 1142 | 1143 | 1227 | 1370 => ErrorKind::Permission,
            1049 | 1146 | 1054 => ErrorKind::NotFound,
            // Table, key name, second primary key, foreign key, CHECK name already there.
            1050 | 1061 | 1068 | 1826 | 3822 => ErrorKind::AlreadyExists,
            // MariaDB reports a duplicate foreign key name as "Can't create table (errno: 121)".
            1005 if s.message.contains("errno: 121") => ErrorKind::AlreadyExists,
            // Lock wait timeout, deadlock, too many connections, server shutdown, net read or
            // write interrupted/failed, connection killed (ER_CONNECTION_KILLED), client
            // disconnected for inactivity (MySQL 8), and the client-side "gone away" (2006)
            // and "lost connection" (2013) codes should a server relay them: another try on
            // a new connection may succeed.
            1205 | 1213 | 1040 | 1053 | 1158 | 1159 | 1160 | 1161 | 1927 | 4031 | 2006 | 2013 => {
                ErrorKind::Transient
            }
            1062 | 1048 | 1264 | 1265 | 1292 | 1366 | 1406 | 1452 | 3819 | 4025 => ErrorKind::Data,
            1005 | 1064 | 1067 | 1071 | 1074 | 1101 | 1118 | 1170 | 1215 | 1253 | 1273 | 1831 => {
                ErrorKind::Schema
            }
            _ => ErrorKind::Other,
        },
        mysql_async::Error::Io(_) => ErrorKind::Transient,
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => {
            ErrorKind::Transient
        }
        mysql_async::Error::Url(_) => ErrorKind::Config,
        _ => ErrorKind::Other,
    };
    let text = match &err {
        mysql_async::Error::Server(s) => format!("MySQL error {}: {}", s.code, s.message),
        mysql_async::Error::Io(io) => format!("connection lost: {io}"),
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => {
            "the server closed the connection".to_string()
        }
        other => other.to_string(),
    };
    Error::new(kind, format!("{context}: {text}"))
}

/// Whether the server is MariaDB (its catalog and defaults differ from MySQL's).
pub async fn is_mariadb(conn: &mut Conn) -> Result<bool> {
    let v: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| map_error(e, "reading the server version"))?;
    Ok(v.unwrap_or_default()
        .to_ascii_lowercase()
        .contains("mariadb"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, message: &str) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: message.into(),
            state: "HY000".into(),
        })
    }

    fn io(kind: std::io::ErrorKind) -> mysql_async::Error {
        mysql_async::Error::from(std::io::Error::from(kind))
    }

    /// A missing privilege names the GRANT that gives it.
    #[test]
    fn a_denied_command_names_the_grant() {
        let e = map_error(
            server(
                1142,
                "CREATE command denied to user 'app'@'localhost' for table `shop`.`orders`",
            ),
            "creating `orders`",
        );
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert!(
            e.to_string()
                .ends_with("fix: GRANT CREATE ON `shop`.* TO 'app'@'localhost';"),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("creating `orders`: MySQL error 1142"),
            "{e}"
        );
    }

    /// A lost connection must come out transient, so the engine retries the table.
    #[test]
    fn a_lost_connection_is_transient() {
        for (err, what) in [
            (server(1927, "Connection was killed"), "KILL"),
            (server(1053, "Server shutdown in progress"), "shutdown"),
            (server(2006, "MySQL server has gone away"), "gone away"),
            (
                server(2013, "Lost connection to server during query"),
                "lost",
            ),
            (
                server(1158, "Got an error reading communication packets"),
                "net read",
            ),
            (server(1213, "Deadlock found"), "deadlock"),
            (io(std::io::ErrorKind::ConnectionReset), "reset"),
            (io(std::io::ErrorKind::BrokenPipe), "broken pipe"),
            (io(std::io::ErrorKind::UnexpectedEof), "eof"),
            (
                mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed),
                "closed",
            ),
        ] {
            let e = map_error(err, "loading `t`");
            assert_eq!(e.kind(), ErrorKind::Transient, "{what}: {e}");
            assert!(e.kind().is_retryable(), "{what}");
            assert!(e.to_string().starts_with("loading `t`: "), "{e}");
        }
    }

    #[test]
    fn bad_data_and_bad_schema_are_not_retried() {
        let dup = map_error(server(1062, "Duplicate entry '1' for key 'PRIMARY'"), "t");
        assert_eq!(dup.kind(), ErrorKind::Data);
        assert!(dup
            .to_string()
            .contains("MySQL error 1062: Duplicate entry"));
        assert_eq!(
            map_error(server(1064, "syntax"), "t").kind(),
            ErrorKind::Schema
        );
        assert!(!map_error(server(1317, "interrupted"), "t")
            .kind()
            .is_retryable());
    }

    /// A real refused connection (a loopback port nobody listens on: bound, then closed).
    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error_without_the_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url =
            ConnUrl::parse(&format!("mysql://root:Sup3r-secret@127.0.0.1:{port}/db")).expect("url");
        let target = Target::from_url(&url).expect("target");
        let e = target.connect().await.expect_err("nobody listens");
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
        let text = e.to_string();
        assert!(text.contains("connection refused"), "{text}");
        assert!(!text.contains("Sup3r-secret"), "{text}");
    }
}
