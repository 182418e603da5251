//! [`ConnUrl`]: a parsed connection URL whose password can be used but never printed.

use crate::error::{Error, Result};
use crate::schema::Dialect;
use std::fmt;
use std::path::PathBuf;

/// A password or token. `Debug` and `Display` print `***`; only [`Secret::expose`] gives the
/// value, so a secret reaches a log only through a deliberate call.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret value, for handing to a driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// A database server or file of this dialect.
    Database(Dialect),
    /// A Secrets Manager reference (`secret://NAME-OR-ARN`), resolved by the CLI.
    Secret,
}

/// A parsed connection URL: `sqlite:///abs/path`, `sqlite:rel/path`,
/// `postgres://user:pass@host:port/db?sslmode=require`, `mysql://...`, or
/// `secret://NAME-OR-ARN`. Printing it (Display or Debug) never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnUrl {
    /// What kind of URL this is.
    pub kind: UrlKind,
    /// The scheme as written (`postgresql`, `postgres`, `mysql`, ...).
    pub scheme: String,
    /// User name, percent-decoded.
    pub user: Option<String>,
    password: Option<Secret>,
    /// Host name or address.
    pub host: Option<String>,
    /// Port, when given.
    pub port: Option<u16>,
    /// Database name (or, for `secret://`, the secret's name or ARN).
    pub database: Option<String>,
    /// SQLite file path.
    pub path: Option<PathBuf>,
    /// Query parameters in order, percent-decoded.
    pub params: Vec<(String, String)>,
    /// The password is an IAM database auth token (`--iam-auth`): the connection must use
    /// verified TLS, and a MySQL server gets the token through the cleartext auth plugin.
    pub iam_auth: bool,
    /// Set when `host` and `port` are the local end of an SSH tunnel (`--ssh`): the server
    /// the user named, which TLS verifies and which messages show.
    pub tunnel: Option<Tunnelled>,
}

/// The server behind an SSH tunnel's local end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnelled {
    /// The server's host name as the user gave it (or the secret held): the TLS server
    /// name the certificate must match, and the host TLS policy is decided for (an RDS
    /// endpoint stays verify-full through a tunnel).
    pub host: String,
    /// The server's port as given.
    pub port: Option<u16>,
    /// The bastion (`user@host:port`), for messages.
    pub via: String,
}

const SECRET_PARAMS: &[&str] = &["password", "pass", "token", "secret", "sslpassword"];

impl ConnUrl {
    /// Parse a URL; the error says what is wrong without echoing a password.
    pub fn parse(text: &str) -> Result<ConnUrl> {
        let (scheme, rest) = text.split_once(':').ok_or_else(|| {
            Error::config(
                "connection URL has no scheme; expected sqlite:PATH, postgres://..., mysql://... or secret://NAME",
            )
        })?;
        let scheme_lc = scheme.to_ascii_lowercase();
        let kind = match scheme_lc.as_str() {
            "sqlite" | "sqlite3" | "file" => UrlKind::Database(Dialect::Sqlite),
            "postgres" | "postgresql" => UrlKind::Database(Dialect::Postgres),
            "mysql" | "mariadb" => UrlKind::Database(Dialect::Mysql),
            "secret" => UrlKind::Secret,
            // The text before the first `:` may be a user name (`user:password@host`), so it
            // is echoed only when it looks like a scheme followed by `//` and no `@`.
            other
                if rest.starts_with("//")
                    && !rest.contains('@')
                    && other
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                return Err(Error::config(format!(
                    "unknown URL scheme `{other}`; expected sqlite, postgres, mysql or secret"
                )))
            }
            _ => {
                return Err(Error::config(
                    "the URL does not start with a known scheme; expected sqlite:PATH, \
                     postgres://..., mysql://... or secret://NAME",
                ))
            }
        };
        let mut url = ConnUrl {
            kind,
            scheme: scheme_lc,
            user: None,
            password: None,
            host: None,
            port: None,
            database: None,
            path: None,
            params: Vec::new(),
            iam_auth: false,
            tunnel: None,
        };
        match kind {
            UrlKind::Database(Dialect::Sqlite) => {
                let path = match rest.strip_prefix("//") {
                    Some(p) => p,
                    None => rest,
                };
                let (path, query) = split_query(path);
                if path.is_empty() {
                    return Err(Error::config("sqlite URL has no file path"));
                }
                url.path = Some(PathBuf::from(percent_decode(path)?));
                url.params = parse_params(query)?;
            }
            UrlKind::Secret => {
                let id = rest.strip_prefix("//").unwrap_or(rest);
                let (id, query) = split_query(id);
                if id.is_empty() {
                    return Err(Error::config("secret:// URL names no secret"));
                }
                url.database = Some(percent_decode(id)?);
                url.params = parse_params(query)?;
            }
            UrlKind::Database(_) => url.parse_server(scheme, rest)?,
        }
        crate::url_check::check_params(url.kind, &url.scheme, &url.params)?;
        Ok(url)
    }

    /// The `//user:password@host:port/database?params` part of a server URL.
    fn parse_server(&mut self, scheme: &str, rest: &str) -> Result<()> {
        let rest = rest
            .strip_prefix("//")
            .ok_or_else(|| Error::config(format!("{scheme}: URL must start with {scheme}://")))?;
        crate::url_check::check_userinfo(rest)?;
        let (rest, query) = split_query(rest);
        let (authority, db) = match rest.split_once('/') {
            Some((a, d)) => (a, d),
            None => (rest, ""),
        };
        let hostport = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let (user, pass) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if !user.is_empty() {
                    self.user = Some(percent_decode(user).map_err(|_| {
                        Error::config("user name in URL is not valid percent-encoding")
                    })?);
                }
                if let Some(p) = pass {
                    self.password = Some(Secret::new(percent_decode(p).map_err(|_| {
                        Error::config("password in URL is not valid percent-encoding")
                    })?));
                }
                hostport
            }
            None => authority,
        };
        let (host, port) = split_host_port(hostport)?;
        if !host.is_empty() {
            self.host = Some(host);
        }
        self.port = port;
        if !db.is_empty() {
            self.database = Some(percent_decode(db)?);
        }
        self.params = parse_params(query)?;
        self.take_password_param()?;
        Ok(())
    }

    /// `?password=` (as libpq accepts it) becomes the password; given twice is an error.
    fn take_password_param(&mut self) -> Result<()> {
        let Some(i) = self
            .params
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case("password"))
        else {
            return Ok(());
        };
        let (_, value) = self.params.remove(i);
        if self.password.is_some() || self.param("password").is_some() {
            return Err(Error::config(
                "the URL gives a password twice (user:PASSWORD@ and ?password=)",
            ));
        }
        self.password = Some(Secret::new(value));
        Ok(())
    }

    /// The dialect, or `None` for an unresolved `secret://` reference.
    pub fn dialect(&self) -> Option<Dialect> {
        match self.kind {
            UrlKind::Database(d) => Some(d),
            UrlKind::Secret => None,
        }
    }

    /// The password, for handing to a driver only.
    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// Replace the password.
    pub fn set_password(&mut self, password: Option<Secret>) {
        self.password = password;
    }

    /// The value of query parameter `name` (case-insensitive; `-` and `_` are the same).
    pub fn param(&self, name: &str) -> Option<&str> {
        let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
        let want = norm(name);
        self.params
            .iter()
            .find(|(k, _)| norm(k) == want)
            .map(|(_, v)| v.as_str())
    }

    /// A database server URL built from parts (used when resolving a secret).
    pub fn server(
        dialect: Dialect,
        host: &str,
        port: Option<u16>,
        user: Option<&str>,
        password: Option<Secret>,
        database: Option<&str>,
    ) -> ConnUrl {
        ConnUrl {
            kind: UrlKind::Database(dialect),
            scheme: dialect.name().to_string(),
            user: user.map(str::to_string),
            password,
            host: Some(host.to_string()),
            port,
            database: database.map(str::to_string),
            path: None,
            params: Vec::new(),
            iam_auth: false,
            tunnel: None,
        }
    }

    /// The host TLS verifies and decides its policy for: the server behind a tunnel, else
    /// `host`.
    pub fn tls_host(&self) -> Option<&str> {
        match &self.tunnel {
            Some(t) => Some(t.host.as_str()),
            None => self.host.as_deref(),
        }
    }

    /// This URL reached through a tunnel whose local end is `local` (via the bastion
    /// `via`): the drivers connect to `local`, TLS still verifies the original host name,
    /// and messages still show the original server.
    pub fn through_tunnel(&self, local: std::net::SocketAddr, via: &str) -> ConnUrl {
        let mut url = self.clone();
        let original = self.tunnel.clone().unwrap_or_else(|| Tunnelled {
            host: self.host.clone().unwrap_or_default(),
            port: self.port,
            via: via.to_string(),
        });
        url.host = Some(local.ip().to_string());
        url.port = Some(local.port());
        url.tunnel = Some(Tunnelled {
            via: via.to_string(),
            ..original
        });
        url
    }
}

impl fmt::Display for ConnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            UrlKind::Database(Dialect::Sqlite) => write!(
                f,
                "sqlite:{}",
                self.path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )?,
            UrlKind::Secret => write!(f, "secret://{}", self.database.as_deref().unwrap_or(""))?,
            UrlKind::Database(_) => {
                write!(f, "{}://", self.scheme)?;
                if let Some(u) = &self.user {
                    f.write_str(u)?;
                    if self.password.is_some() {
                        f.write_str(":***")?;
                    }
                    f.write_str("@")?;
                }
                // Through a tunnel: the server the user named, not the local end.
                let (host, port) = match &self.tunnel {
                    Some(t) => (Some(t.host.as_str()), t.port),
                    None => (self.host.as_deref(), self.port),
                };
                f.write_str(host.unwrap_or(""))?;
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                if let Some(d) = &self.database {
                    write!(f, "/{d}")?;
                }
            }
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) {
                write!(f, "{sep}{k}=***")?;
            } else {
                write!(f, "{sep}{k}={v}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ConnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnUrl({self})")
    }
}

fn split_query(s: &str) -> (&str, &str) {
    match s.split_once('?') {
        Some((a, q)) => (a, q),
        None => (s, ""),
    }
}

fn split_host_port(s: &str) -> Result<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| Error::config("unclosed `[` in URL host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None => None,
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((decode_host(h)?, Some(parse_port(p)?))),
        None => Ok((decode_host(s)?, None)),
    }
}

/// The port text is not quoted: in `postgres://user:SECRET/db` (no `@host`) it is a password.
fn parse_port(p: &str) -> Result<u16> {
    p.parse().map_err(|_| {
        Error::config(
            "the port in the URL is not a number from 0 to 65535 (a password goes in \
             scheme://user:password@host:port/db)",
        )
    })
}

fn decode_host(h: &str) -> Result<String> {
    percent_decode(h).map_err(|_| Error::config("host in URL is not valid percent-encoding"))
}

fn parse_params(q: &str) -> Result<Vec<(String, String)>> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// Decode `%XX` escapes.
pub fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::config("invalid %-escape in URL"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::config("URL is not valid UTF-8 after %-decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_prints() {
        let url = ConnUrl::parse("postgres://app:s3cr%40t@db.example:5432/shop?sslmode=require")
            .expect("parses");
        assert_eq!(url.password().map(Secret::expose), Some("s3cr@t"));
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            url.to_string(),
            "postgres://app:***@db.example:5432/shop?sslmode=require"
        );
        assert_eq!(url.param("SSLMODE"), Some("require"));
        // `?password=` (libpq's spelling) is the password, and never printed either.
        let url = ConnUrl::parse("mysql://app@db.example/shop?password=x%2Fy&ssl-mode=REQUIRED")
            .expect("parses");
        assert_eq!(url.password().map(Secret::expose), Some("x/y"));
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("x/y") && !shown.contains("x%2F"), "{shown}");
        assert_eq!(
            url.to_string(),
            "mysql://app:***@db.example/shop?ssl-mode=REQUIRED"
        );
        assert!(ConnUrl::parse("mysql://app:a@db.example/shop?password=b").is_err());
    }

    /// Malformed URLs with a known password: no error quotes any of the user-info.
    #[test]
    fn malformed_urls_never_echo_user_info() {
        for text in [
            "postgres://u:S3cretPw/db",
            "postgres://u:S3cret/Pw@host/db",
            "postgres://u:S3cret?Pw@host/db",
            "postgres://u:S3cret?x=Pw@host/db",
            "mysql://u:S3cret/Pw@host:3306/db",
            "postgres://u:S3cretPw@host:port/db",
            "postgres://u:S3cret%zzPw@host/db",
            "postgres://u%zz:S3cretPw@host/db",
            "u:S3cretPw@host/db",
            "postgress:S3cretPw@host/db",
            "postgres://u:S3cretPw@host/db?sslmod=require",
        ] {
            let err = ConnUrl::parse(text).expect_err(text);
            let shown = format!("{err} {err:?}");
            for part in ["S3cret", "Pw", "u:", "%zz"] {
                assert!(!shown.contains(part), "{text}: {shown}");
            }
        }
    }

    #[test]
    fn sqlite_paths_absolute_and_relative() {
        let abs = ConnUrl::parse("sqlite:///var/app.db").expect("parses");
        assert_eq!(
            abs.path.as_deref(),
            Some(std::path::Path::new("/var/app.db"))
        );
        let rel = ConnUrl::parse("sqlite:var/app.db").expect("parses");
        assert_eq!(
            rel.path.as_deref(),
            Some(std::path::Path::new("var/app.db"))
        );
        assert_eq!(rel.dialect(), Some(Dialect::Sqlite));
        assert!(ConnUrl::parse("sqlite:").is_err());
    }

    #[test]
    fn secret_refs_keep_arns_whole() {
        let s = ConnUrl::parse("secret://arn:aws:secretsmanager:us-east-1:123:secret:db-AbC")
            .expect("parses");
        assert_eq!(s.kind, UrlKind::Secret);
        assert_eq!(
            s.database.as_deref(),
            Some("arn:aws:secretsmanager:us-east-1:123:secret:db-AbC")
        );
    }

    #[test]
    fn tunnelled_urls_keep_the_server_name() {
        let url =
            ConnUrl::parse("postgres://app:pw@shop.abc.us-east-1.rds.amazonaws.com:5432/shop")
                .expect("parses");
        let local: std::net::SocketAddr = "127.0.0.1:40001".parse().expect("addr");
        let t = url.through_tunnel(local, "ec2-user@bastion:22");
        assert_eq!(t.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(t.port, Some(40001));
        assert_eq!(t.tls_host(), Some("shop.abc.us-east-1.rds.amazonaws.com"));
        assert_eq!(url.tls_host(), url.host.as_deref());
        assert_eq!(t.to_string(), url.to_string());
        assert_eq!(t.password().map(Secret::expose), Some("pw"));
        // Tunnelled again (a new session's port): still the original server.
        let again = t.through_tunnel("127.0.0.1:40002".parse().expect("addr"), "x@y:22");
        assert_eq!(
            again.tls_host(),
            Some("shop.abc.us-east-1.rds.amazonaws.com")
        );
        assert_eq!(again.tunnel.as_ref().map(|t| t.port), Some(Some(5432)));
        assert_eq!(again.port, Some(40002));
    }

    #[test]
    fn bad_urls_say_why() {
        assert!(ConnUrl::parse("oracle://x")
            .expect_err("rejected")
            .to_string()
            .contains("unknown URL scheme"));
        assert!(ConnUrl::parse("postgres://h:99999/db").is_err());
        assert!(ConnUrl::parse("nothing").is_err());
        let ipv6 = ConnUrl::parse("mysql://root@[::1]:3306/d").expect("parses");
        assert_eq!(ipv6.host.as_deref(), Some("::1"));
        assert_eq!(ipv6.port, Some(3306));
    }
}
