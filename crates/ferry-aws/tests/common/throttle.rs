//! A fault-injecting HTTP/1.1 proxy on loopback, in front of the real moto server.
//!
//! moto cannot throttle, so this proxy answers chosen requests with the throttling error
//! each service really sends, in its own wire format, and forwards every other request
//! untouched to moto. Nothing is mocked: every call that is not throttled is answered by moto.
//!
//! - RDS speaks the AWS query protocol: a form body with `Action=...`; its errors are HTTP 400
//!   with `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>...` (the SDK reads
//!   `Error/Code` and `Error/Message`, see aws-sdk-rds `rest_xml_wrapped_errors.rs`).
//! - Secrets Manager speaks awsJson1.1: the operation is in `X-Amz-Target:
//!   secretsmanager.OPERATION`; its errors are HTTP 400 with `{"__type":..., "message":...}`
//!   and the code also in `x-amzn-ErrorType` (the SDK prefers the header, then `code`, then
//!   `__type`, see aws-sdk-secretsmanager `json_errors.rs`).
//!
//! The proxy binds 127.0.0.1 only and forwards only to a loopback upstream. It runs on its own
//! thread and runtime, so it keeps serving while a test blocks on a child process, and it
//! stops when dropped. Each client connection carries one request and is then closed
//! (`Connection: close`), which the SDK's HTTP client handles by opening a new one.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The AWS services ferry calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Amazon RDS (query protocol).
    Rds,
    /// AWS Secrets Manager (awsJson1.1).
    SecretsManager,
}

/// Which requests to throttle.
#[derive(Debug, Clone)]
pub enum Rule {
    /// The first `n` requests to `service`, whatever the operation; later ones go through.
    First {
        /// The service.
        service: Service,
        /// How many.
        n: u32,
    },
    /// Every request for `operation` (e.g. `CreateDBInstance`, `GetRandomPassword`).
    Every {
        /// The API operation.
        operation: String,
    },
    /// Every request for `operation` once a request for `after` has gone through to moto
    /// (e.g. the waiter's `DescribeDBInstances` after `CreateDBInstance`, not the look-ups
    /// before it).
    EveryAfter {
        /// The API operation to throttle.
        operation: String,
        /// The operation that must have been forwarded first.
        after: String,
    },
}

impl Rule {
    /// Throttle the first `n` requests to `service`, then forward.
    pub fn first(service: Service, n: u32) -> Rule {
        Rule::First { service, n }
    }

    /// Throttle every request for `operation`.
    pub fn every(operation: &str) -> Rule {
        Rule::Every {
            operation: operation.to_string(),
        }
    }

    /// Throttle every request for `operation` once `after` has been forwarded.
    pub fn every_after(operation: &str, after: &str) -> Rule {
        Rule::EveryAfter {
            operation: operation.to_string(),
            after: after.to_string(),
        }
    }
}

/// One request the proxy received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The service, when it could be told.
    pub service: Option<Service>,
    /// The operation (`?` when none could be read).
    pub operation: String,
    /// Whether the proxy answered it with a throttling error (else moto answered).
    pub throttled: bool,
    /// An RDS request's form body (`Action=...&Key=value...`), to check parameters moto
    /// does not record. It may hold a password: never print it whole.
    pub rds_form: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    /// Per rule, how many requests it matched so far (for [`Rule::First`]).
    matched: Vec<u32>,
    log: Vec<Seen>,
}

impl State {
    /// Record a request and decide whether to throttle it.
    fn decide(
        &mut self,
        service: Option<Service>,
        operation: &str,
        rds_form: Option<String>,
    ) -> bool {
        let mut throttle = false;
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = match rule {
                Rule::First { service: s, n } => {
                    if service == Some(*s) && self.matched[i] < *n {
                        self.matched[i] += 1;
                        true
                    } else {
                        false
                    }
                }
                Rule::Every { operation: op } => op == operation,
                Rule::EveryAfter {
                    operation: op,
                    after,
                } => {
                    op == operation
                        && self
                            .log
                            .iter()
                            .any(|s| !s.throttled && &s.operation == after)
                }
            };
            throttle |= hit;
        }
        self.log.push(Seen {
            service,
            operation: operation.to_string(),
            throttled: throttle,
            rds_form,
        });
        throttle
    }
}

/// A running proxy; stops when dropped.
pub struct ThrottleProxy {
    url: String,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThrottleProxy {
    /// Start a proxy on 127.0.0.1 in front of `upstream` (moto), which must be on loopback.
    pub fn start(upstream: &str, rules: Vec<Rule>) -> ThrottleProxy {
        assert!(
            ferry_aws::endpoint_is_loopback(upstream),
            "refusing to proxy to {upstream}: not a loopback endpoint"
        );
        let upstream = loopback_addr(upstream);
        let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        assert!(ferry_aws::endpoint_is_loopback(&url));
        let state = Arc::new(Mutex::new(State {
            matched: vec![0; rules.len()],
            rules,
            log: Vec::new(),
        }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(serve(listener, upstream, shared, rx));
        });
        ThrottleProxy {
            url,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The proxy's endpoint URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far, in order.
    pub fn log(&self) -> Vec<Seen> {
        self.state.lock().expect("proxy state").log.clone()
    }

    /// How many requests to `service` were answered with a throttling error.
    pub fn throttled(&self, service: Service) -> usize {
        self.log()
            .iter()
            .filter(|s| s.throttled && s.service == Some(service))
            .count()
    }

    /// How many requests to `service` went through to moto.
    pub fn forwarded(&self, service: Service) -> usize {
        self.log()
            .iter()
            .filter(|s| !s.throttled && s.service == Some(service))
            .count()
    }

    /// How many attempts of `operation` the proxy received, and how many it throttled.
    pub fn attempts(&self, operation: &str) -> (usize, usize) {
        let log = self.log();
        let all = log.iter().filter(|s| s.operation == operation);
        let total = all.clone().count();
        (total, all.filter(|s| s.throttled).count())
    }
}

impl Drop for ThrottleProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The loopback socket address of `http://host:port`.
fn loopback_addr(url: &str) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let with_port = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .expect("resolve upstream")
        .find(|a| a.ip().is_loopback())
        .unwrap_or_else(|| panic!("upstream {url} has no loopback address"));
    assert!(addr.ip().is_loopback());
    addr
}

async fn serve(
    listener: StdListener,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    // Bounded: a stuck connection cannot keep a test waiting.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(60),
                        handle(client, upstream, state),
                    )
                    .await;
                });
            }
        }
    }
}

/// One HTTP/1.1 request as read from a client.
struct Request {
    /// `POST / HTTP/1.1`.
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The service and operation this request calls.
    fn operation(&self) -> (Option<Service>, String) {
        if let Some(target) = self.header("x-amz-target") {
            let (prefix, op) = target.split_once('.').unwrap_or(("", target));
            let service = prefix
                .eq_ignore_ascii_case("secretsmanager")
                .then_some(Service::SecretsManager);
            return (service, op.to_string());
        }
        let form = String::from_utf8_lossy(&self.body);
        match form.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            Some(action) => (Some(Service::Rds), action.to_string()),
            None => (None, "?".to_string()),
        }
    }
}

const MAX_HEAD: usize = 64 * 1024;

/// Read one request: the head up to the blank line, then a `Content-Length` body.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut req = Request {
        line,
        headers,
        body: buf[head_end + 4..].to_vec(),
    };
    if req
        .header("transfer-encoding")
        .is_some_and(|t| !t.eq_ignore_ascii_case("identity"))
    {
        return Err(std::io::Error::other(
            "chunked request bodies are not supported",
        ));
    }
    let len: usize = match req.header("content-length") {
        Some(v) => v
            .parse()
            .map_err(|_| std::io::Error::other("bad Content-Length"))?,
        None => 0,
    };
    while req.body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("body cut short"));
        }
        req.body.extend_from_slice(&chunk[..n]);
    }
    req.body.truncate(len);
    Ok(Some(req))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, state: Arc<Mutex<State>>) {
    let Ok(Some(req)) = read_request(&mut client).await else {
        return;
    };
    let (service, operation) = req.operation();
    let form =
        (service == Some(Service::Rds)).then(|| String::from_utf8_lossy(&req.body).into_owned());
    let throttle = state
        .lock()
        .expect("proxy state")
        .decide(service, &operation, form);
    let response = match (throttle, service) {
        (true, Some(service)) => throttling_response(service),
        // Throttling is only ever asked for per service or per operation, so a throttled
        // request always has a service; anything else goes to moto.
        _ => match forward(&req, upstream).await {
            Ok(r) => r,
            Err(e) => plain_response(502, &format!("proxy: moto unreachable: {e}")),
        },
    };
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}

/// Send `req` to moto on a new connection and return its whole response, with
/// `Connection: close` so the client does not reuse the (closing) connection.
async fn forward(req: &Request, upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
    assert!(upstream.ip().is_loopback(), "forwarding only to loopback");
    let mut up = TcpStream::connect(upstream).await?;
    let mut out = format!("{}\r\n", req.line);
    for (k, v) in &req.headers {
        if !is_hop_by_hop(k) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&req.body);
    up.write_all(&bytes).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    let Some(head_end) = find(&resp, b"\r\n\r\n") else {
        return Err(std::io::Error::other("moto sent no complete response head"));
    };
    let head = String::from_utf8_lossy(&resp[..head_end]).into_owned();
    let mut rewritten = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        let hop = line.split_once(':').is_some_and(|(k, _)| is_hop_by_hop(k));
        if i == 0 || !hop {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let mut full = rewritten.into_bytes();
    full.extend_from_slice(&resp[head_end + 4..]);
    Ok(full)
}

fn is_hop_by_hop(name: &str) -> bool {
    let n = name.trim();
    n.eq_ignore_ascii_case("connection")
        || n.eq_ignore_ascii_case("keep-alive")
        || n.eq_ignore_ascii_case("proxy-connection")
}

static REQUEST_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn request_id() -> String {
    let seq = REQUEST_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:08x}-7472-4f74-8000-{seq:012x}", std::process::id())
}

/// The throttling error `service` sends, in its wire format.
fn throttling_response(service: Service) -> Vec<u8> {
    let id = request_id();
    match service {
        Service::Rds => {
            let body = format!(
                "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\
                 <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
                 <RequestId>{id}</RequestId></ErrorResponse>"
            );
            response(
                400,
                "Bad Request",
                &[("Content-Type", "text/xml"), ("x-amzn-RequestId", &id)],
                &body,
            )
        }
        Service::SecretsManager => response(
            400,
            "Bad Request",
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", &id),
                ("x-amzn-ErrorType", "ThrottlingException"),
            ],
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
    }
}

fn plain_response(status: u16, text: &str) -> Vec<u8> {
    response(
        status,
        "Bad Gateway",
        &[("Content-Type", "text/plain")],
        text,
    )
}

fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}
