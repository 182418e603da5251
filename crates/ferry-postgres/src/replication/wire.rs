//! A PostgreSQL replication connection (`replication=database`), spoken directly on the
//! frontend/backend protocol: tokio-postgres 0.7 cannot start one (no such startup
//! parameter, no CopyBoth). Messages are built with `postgres-protocol`'s frontend codecs
//! and its SCRAM-SHA-256 client; the transport is secured by the same rules as every ferry
//! PostgreSQL connection ([`crate::tls::transport`]), with the same rustls connector.
//!
//! Only what logical replication needs: authentication (trust, cleartext, MD5, SCRAM),
//! simple queries (the replication commands), and the CopyBoth stream of
//! `START_REPLICATION` with standby status updates.

use bytes::{Buf, BufMut, BytesMut};
use ferry_core::{ConnUrl, Error, ErrorKind, Result};
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::frontend;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

/// The byte stream under a replication connection: TCP, or TLS over TCP.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {}

/// One backend message: its tag and body.
#[derive(Debug)]
pub struct Frame {
    /// The message type byte (`d` CopyData, `E` ErrorResponse, ...).
    pub tag: u8,
    /// The body after the length word.
    pub body: BytesMut,
}

/// A replication connection: simple queries, then (after `START_REPLICATION`) a CopyBoth
/// stream.
pub struct ReplConnection {
    io: Box<dyn Transport>,
    buf: BytesMut,
    /// `host:port/db` for messages (never a password).
    shown: String,
    /// The server's `server_version_num`-like major version (15 for 15.4).
    pub server_major: u32,
}

/// Rows of a simple query: column names and text values.
#[derive(Debug, Default)]
pub struct Rows {
    /// Column names in order.
    pub columns: Vec<String>,
    /// Each row's values as text (`None` for NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    /// The value of column `name` in row `i`.
    pub fn get(&self, i: usize, name: &str) -> Option<&str> {
        let c = self.columns.iter().position(|c| c == name)?;
        self.rows.get(i)?.get(c)?.as_deref()
    }
}

fn io_error(shown: &str, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut => ErrorKind::Connect,
        _ => ErrorKind::Transient,
    };
    Error::new(kind, format!("{shown}: replication connection: {e}"))
}

impl ReplConnection {
    /// Connect to `url`'s database in logical replication mode and authenticate.
    pub async fn connect(url: &ConnUrl) -> Result<ReplConnection> {
        let host = url.host.clone().unwrap_or_else(|| "localhost".into());
        let port = url.port.unwrap_or(5432);
        let user = url.user.clone().unwrap_or_else(|| "postgres".into());
        let db = url.database.clone().unwrap_or_else(|| "postgres".into());
        let shown = format!("{host}:{port}/{db}");
        let tcp = tokio::time::timeout(
            Duration::from_secs(15),
            TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Connect,
                format!("{shown}: replication connection timed out"),
            )
        })?
        .map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("cannot connect to {url} for replication: {e}"),
            )
        })?;
        let _ = tcp.set_nodelay(true);
        // Through an SSH tunnel TLS verifies the server the user named, not the local end.
        let tls_host = url.tls_host().unwrap_or("localhost").to_string();
        let io = secure(tcp, url, &tls_host, &shown).await?;
        let mut conn = ReplConnection {
            io,
            buf: BytesMut::with_capacity(1 << 16),
            shown,
            server_major: 0,
        };
        let params = [
            ("user", user.as_str()),
            ("database", db.as_str()),
            ("replication", "database"),
            ("application_name", "ferry"),
            ("client_encoding", "UTF8"),
        ];
        let mut out = BytesMut::new();
        frontend::startup_message(params.iter().copied(), &mut out)
            .map_err(|e| Error::other(format!("startup message: {e}")))?;
        conn.send(&out).await?;
        let password = url.password().map(|p| p.expose().to_string());
        conn.authenticate(&user, password.as_deref()).await?;
        conn.until_ready().await?;
        Ok(conn)
    }

    /// Send bytes already framed.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let shown = self.shown.clone();
        self.io
            .write_all(bytes)
            .await
            .map_err(|e| io_error(&shown, e))?;
        self.io.flush().await.map_err(|e| io_error(&shown, e))
    }

    /// The next backend message. Cancel-safe: a partly read message stays buffered.
    pub async fn frame(&mut self) -> Result<Frame> {
        read_frame(&mut self.io, &mut self.buf, &self.shown).await
    }

    async fn authenticate(&mut self, user: &str, password: Option<&str>) -> Result<()> {
        let need_password = || {
            Error::new(
                ErrorKind::Auth,
                "the server asks for a password and the URL has none",
            )
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            let mut f = self.frame().await?;
            match f.tag {
                b'E' => return Err(server_error(&self.shown, &f.body)),
                b'R' => {}
                _ => {
                    return Err(Error::other(format!(
                        "{}: unexpected message `{}` during authentication",
                        self.shown, f.tag as char
                    )))
                }
            }
            let code = f.body.get_i32();
            let mut out = BytesMut::new();
            match code {
                0 => return Ok(()),
                3 => {
                    let p = password.ok_or_else(need_password)?;
                    frontend::password_message(p.as_bytes(), &mut out).map_err(other)?;
                }
                5 => {
                    let p = password.ok_or_else(need_password)?;
                    let salt = [f.body[0], f.body[1], f.body[2], f.body[3]];
                    let hash = postgres_protocol::authentication::md5_hash(
                        user.as_bytes(),
                        p.as_bytes(),
                        salt,
                    );
                    frontend::password_message(hash.as_bytes(), &mut out).map_err(other)?;
                }
                10 => {
                    let p = password.ok_or_else(need_password)?;
                    let mechanisms: Vec<&[u8]> =
                        f.body[..].split(|b| *b == 0).filter(|m| !m.is_empty()).collect();
                    if !mechanisms.iter().any(|m| *m == SCRAM_SHA_256.as_bytes()) {
                        return Err(Error::new(
                            ErrorKind::Auth,
                            format!("{}: the server offers no SASL mechanism ferry speaks (SCRAM-SHA-256)", self.shown),
                        ));
                    }
                    let s = ScramSha256::new(p.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(other)?;
                    scram = Some(s);
                }
                11 => {
                    let s = scram.as_mut().ok_or_else(|| Error::other("SASL out of order"))?;
                    s.update(&f.body).map_err(|e| {
                        Error::new(ErrorKind::Auth, format!("{}: SCRAM: {e}", self.shown))
                    })?;
                    frontend::sasl_response(s.message(), &mut out).map_err(other)?;
                }
                12 => {
                    let s = scram.as_mut().ok_or_else(|| Error::other("SASL out of order"))?;
                    s.finish(&f.body).map_err(|e| {
                        Error::new(ErrorKind::Auth, format!("{}: SCRAM: {e}", self.shown))
                    })?;
                    continue;
                }
                n => {
                    return Err(Error::new(
                        ErrorKind::Auth,
                        format!(
                            "{}: the server asks for an authentication method ferry does not speak ({n})",
                            self.shown
                        ),
                    ))
                }
            }
            self.send(&out).await?;
        }
    }

    /// Read up to ReadyForQuery, noting the server version.
    async fn until_ready(&mut self) -> Result<()> {
        loop {
            let f = self.frame().await?;
            match f.tag {
                b'Z' => return Ok(()),
                b'E' => return Err(server_error(&self.shown, &f.body)),
                b'S' => {
                    let mut parts = f.body[..].split(|b| *b == 0);
                    if parts.next() == Some(&b"server_version"[..]) {
                        let v = String::from_utf8_lossy(parts.next().unwrap_or_default());
                        self.server_major = v
                            .split(|c: char| !c.is_ascii_digit())
                            .next()
                            .and_then(|m| m.parse().ok())
                            .unwrap_or(0);
                    }
                }
                _ => {}
            }
        }
    }

    /// Run one simple query (a replication command) and collect its rows as text.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Rows> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(other)?;
        self.send(&out).await?;
        let mut rows = Rows::default();
        let mut failed = None;
        loop {
            let mut f = self.frame().await?;
            match f.tag {
                b'T' => {
                    let n = f.body.get_i16();
                    rows.columns.clear();
                    for _ in 0..n {
                        let name = cstring(&mut f.body);
                        f.body.advance(18.min(f.body.len()));
                        rows.columns.push(name);
                    }
                }
                b'D' => {
                    let n = f.body.get_i16();
                    let mut row = Vec::with_capacity(n.max(0) as usize);
                    for _ in 0..n {
                        let len = f.body.get_i32();
                        if len < 0 {
                            row.push(None);
                        } else {
                            let v = f.body.split_to(len as usize);
                            row.push(Some(String::from_utf8_lossy(&v).into_owned()));
                        }
                    }
                    rows.rows.push(row);
                }
                b'E' => failed = Some(server_error(&self.shown, &f.body)),
                b'Z' => {
                    return match failed {
                        Some(e) => Err(e),
                        None => Ok(rows),
                    }
                }
                b'W' => {
                    return Err(Error::other(format!(
                        "{}: `{sql}` started a stream; use start_copy_both",
                        self.shown
                    )))
                }
                _ => {}
            }
        }
    }

    /// Send `START_REPLICATION ...` and wait for the CopyBoth response.
    pub async fn start_copy_both(&mut self, sql: &str) -> Result<()> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(other)?;
        self.send(&out).await?;
        loop {
            let f = self.frame().await?;
            match f.tag {
                b'W' => return Ok(()),
                b'E' => {
                    let e = server_error(&self.shown, &f.body);
                    // The server follows an error with ReadyForQuery.
                    let _ = self.frame().await;
                    return Err(e);
                }
                b'N' | b'S' => {}
                t => {
                    return Err(Error::other(format!(
                        "{}: unexpected message `{}` starting replication",
                        self.shown, t as char
                    )))
                }
            }
        }
    }

    /// Split into a reader and a writer (for the stream's task).
    pub fn split(self) -> (ReplReader, ReplWriter) {
        let (r, w) = tokio::io::split(self.io);
        (
            ReplReader {
                io: r,
                buf: self.buf,
                shown: self.shown.clone(),
            },
            ReplWriter {
                io: w,
                shown: self.shown,
            },
        )
    }

    /// End the session politely.
    pub async fn terminate(mut self) {
        let mut out = BytesMut::new();
        frontend::terminate(&mut out);
        let _ = self.send(&out).await;
        let _ = self.io.shutdown().await;
    }

    /// `host:port/db`.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// The reading half of a streaming replication connection.
pub struct ReplReader {
    io: tokio::io::ReadHalf<Box<dyn Transport>>,
    buf: BytesMut,
    shown: String,
}

impl ReplReader {
    /// The next backend message. Cancel-safe: a partly read message stays buffered.
    pub async fn frame(&mut self) -> Result<Frame> {
        read_frame(&mut self.io, &mut self.buf, &self.shown).await
    }

    /// `host:port/db`.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// The writing half of a streaming replication connection.
pub struct ReplWriter {
    io: tokio::io::WriteHalf<Box<dyn Transport>>,
    shown: String,
}

impl ReplWriter {
    /// Tell the server how far ferry has written, flushed (committed in the target) and
    /// applied: the slot may release WAL before `flushed`. `reply` asks for a keepalive back.
    pub async fn status(&mut self, flushed: u64, reply: bool) -> Result<()> {
        let mut msg = BytesMut::with_capacity(40);
        msg.put_u8(b'd');
        msg.put_i32(4 + 1 + 8 * 4 + 1);
        msg.put_u8(b'r');
        msg.put_u64(flushed);
        msg.put_u64(flushed);
        msg.put_u64(flushed);
        msg.put_i64(pg_now_micros());
        msg.put_u8(u8::from(reply));
        self.io
            .write_all(&msg)
            .await
            .map_err(|e| io_error(&self.shown, e))?;
        self.io.flush().await.map_err(|e| io_error(&self.shown, e))
    }

    /// End the CopyBoth stream and the session.
    pub async fn close(&mut self) {
        let mut out = BytesMut::new();
        frontend::copy_done(&mut out);
        frontend::terminate(&mut out);
        let _ = self.io.write_all(&out).await;
        let _ = self.io.shutdown().await;
    }
}

/// Microseconds since PostgreSQL's epoch (2000-01-01 UTC), now.
pub fn pg_now_micros() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    unix - crate::encode::PG_EPOCH_MICROS
}

/// Read one message from `io`, keeping partial input in `buf` (cancel-safe).
async fn read_frame<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    shown: &str,
) -> Result<Frame> {
    loop {
        if buf.len() >= 5 {
            let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
            let len = usize::try_from(len).unwrap_or(0);
            if len < 4 {
                return Err(Error::other(format!(
                    "{shown}: replication connection: malformed message"
                )));
            }
            if buf.len() > len {
                let tag = buf[0];
                buf.advance(5);
                let body = buf.split_to(len - 4);
                return Ok(Frame { tag, body });
            }
            buf.reserve(len + 1 - buf.len());
        }
        let n = io.read_buf(buf).await.map_err(|e| io_error(shown, e))?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("{shown}: the server closed the replication connection"),
            ));
        }
    }
}

fn other(e: std::io::Error) -> Error {
    Error::other(e.to_string())
}

/// A NUL-terminated string from the front of `b`.
pub fn cstring(b: &mut BytesMut) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    let s = String::from_utf8_lossy(&b[..end]).into_owned();
    b.advance((end + 1).min(b.len()));
    s
}

/// An ErrorResponse as a ferry error: the message and detail, the kind from the SQLSTATE.
pub fn server_error(shown: &str, body: &[u8]) -> Error {
    let (mut code, mut message, mut detail, mut hint) = (String::new(), String::new(), None, None);
    let mut rest = body;
    while let Some((&field, tail)) = rest.split_first() {
        if field == 0 {
            break;
        }
        let end = tail.iter().position(|c| *c == 0).unwrap_or(tail.len());
        let value = String::from_utf8_lossy(&tail[..end]).into_owned();
        match field {
            b'C' => code = value,
            b'M' => message = value,
            b'D' => detail = Some(value),
            b'H' => hint = Some(value),
            _ => {}
        }
        rest = tail.get(end + 1..).unwrap_or_default();
    }
    let kind = match code.as_str() {
        c if c.starts_with("28") => ErrorKind::Auth,
        "42704" | "3D000" => ErrorKind::NotFound,
        "42710" => ErrorKind::AlreadyExists,
        "53400" | "55000" => ErrorKind::Config,
        "57P01" | "57P02" | "57P03" | "55006" | "53300" => ErrorKind::Transient,
        c if c.starts_with("08") => ErrorKind::Transient,
        _ => ErrorKind::Other,
    };
    if let Some(err) = crate::privilege::permission_error(&code, &message, detail.as_deref(), None)
    {
        return err.context(shown);
    }
    let mut text = format!("{shown}: {message}");
    if let Some(d) = detail {
        text.push_str(&format!(" ({d})"));
    }
    if let Some(h) = hint {
        text.push_str(&format!("; {h}"));
    }
    Error::new(kind, text)
}

async fn secure(
    tcp: TcpStream,
    url: &ConnUrl,
    host: &str,
    shown: &str,
) -> Result<Box<dyn Transport>> {
    let (settings, required) = match crate::tls::transport(url)? {
        ferry_tls::Transport::Plain => return Ok(Box::new(tcp)),
        ferry_tls::Transport::TlsOrPlain => (
            ferry_tls::TlsSettings {
                ca: ferry_tls::CaSource::RdsBundle,
                verify: ferry_tls::Verify::None,
            },
            false,
        ),
        ferry_tls::Transport::Tls(settings) => (settings, true),
    };
    let mut tcp = tcp;
    let mut out = BytesMut::new();
    frontend::ssl_request(&mut out);
    tcp.write_all(&out).await.map_err(|e| io_error(shown, e))?;
    let answer = tcp.read_u8().await.map_err(|e| io_error(shown, e))?;
    if answer != b'S' {
        if required {
            return Err(Error::config(format!(
                "{url}: the server does not offer TLS, and the URL's sslmode requires it"
            )));
        }
        return Ok(Box::new(tcp));
    }
    let config = ferry_tls::client_config(&settings)
        .map_err(|e| Error::config(format!("{url}: TLS: {e}")))?;
    let mut make = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let connect =
        <tokio_postgres_rustls::MakeRustlsConnect as MakeTlsConnect<TcpStream>>::make_tls_connect(
            &mut make, host,
        )
        .map_err(|e| Error::config(format!("{url}: TLS: {e:?}")))?;
    let stream = connect
        .connect(tcp)
        .await
        .map_err(|e| Error::new(ErrorKind::Connect, format!("{url}: TLS handshake: {e}")))?;
    Ok(Box::new(stream))
}
