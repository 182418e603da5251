//! How a PostgreSQL connection is secured, from the URL's `sslmode` (libpq's names) and
//! `sslrootcert`, decided by [`ferry_tls::decide`]; and a connector that records whether TLS
//! was negotiated, so a `prefer` connection that fell back to plaintext can be reported.

use ferry_core::{ConnUrl, Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

/// The transport for `url`: `prefer` (also the default) tries TLS without checking the
/// certificate and uses plaintext only when the server offers no TLS; `require` and
/// `verify-ca` check the chain, `verify-full` the chain and host name; `sslrootcert=PATH`
/// replaces the bundled RDS CAs. An RDS/Aurora host or an IAM token never goes plaintext:
/// weaker modes become `verify-full`, `disable` is refused.
pub fn transport(url: &ConnUrl) -> Result<ferry_tls::Transport> {
    // Through an SSH tunnel, the server the user named: an RDS endpoint stays verify-full.
    let host = url.tls_host().unwrap_or("localhost");
    let mode = match url.param("sslmode").or(url.param("ssl-mode")) {
        None => None,
        Some(m) => Some(ferry_tls::TlsMode::parse(m).ok_or_else(|| {
            Error::config(format!(
                "{url}: unknown sslmode `{m}` (disable, allow, prefer, require, verify-ca, verify-full)"
            ))
        })?),
    };
    let req = ferry_tls::TlsRequest {
        host,
        mode,
        ca_file: url
            .param("sslrootcert")
            .or(url.param("ssl-ca"))
            .map(Into::into),
        iam_auth: url.iam_auth,
        require: ferry_tls::Verify::Ca,
    };
    ferry_tls::decide(&req).map_err(|e| Error::config(format!("{url}: {e}")))
}

/// A connector that notes whether a TLS handshake was started, and verifies the
/// certificate against `server_name` when set (the server behind an SSH tunnel, whose
/// local end is what the driver connects to).
pub(crate) struct Noting<M> {
    pub(crate) inner: M,
    pub(crate) used: Arc<AtomicBool>,
    pub(crate) server_name: Option<String>,
}

/// [`Noting`]'s per-connection half.
pub(crate) struct NotingConnect<T> {
    inner: T,
    used: Arc<AtomicBool>,
}

impl<S, M: MakeTlsConnect<S>> MakeTlsConnect<S> for Noting<M> {
    type Stream = M::Stream;
    type TlsConnect = NotingConnect<M::TlsConnect>;
    type Error = M::Error;

    fn make_tls_connect(
        &mut self,
        domain: &str,
    ) -> std::result::Result<Self::TlsConnect, M::Error> {
        let domain = self.server_name.as_deref().unwrap_or(domain);
        Ok(NotingConnect {
            inner: self.inner.make_tls_connect(domain)?,
            used: self.used.clone(),
        })
    }
}

impl<S, T: TlsConnect<S>> TlsConnect<S> for NotingConnect<T> {
    type Stream = T::Stream;
    type Error = T::Error;
    type Future = T::Future;

    fn connect(self, stream: S) -> Self::Future {
        self.used.store(true, Ordering::SeqCst);
        self.inner.connect(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Through an SSH tunnel the URL's host is 127.0.0.1, but an RDS endpoint behind it is
    /// still verify-full, and `disable` still refused.
    #[test]
    fn a_tunnelled_rds_endpoint_stays_verify_full() {
        let rds =
            ConnUrl::parse("postgres://app:pw@shop.abc.us-east-1.rds.amazonaws.com:5432/shop")
                .expect("url");
        let local: std::net::SocketAddr = "127.0.0.1:41000".parse().expect("addr");
        let t = rds.through_tunnel(local, "ec2-user@bastion:22");
        match transport(&t).expect("transport") {
            ferry_tls::Transport::Tls(s) => assert_eq!(s.verify, ferry_tls::Verify::Full),
            other => panic!("{other:?}"),
        }
        let mut off = t.clone();
        off.params.push(("sslmode".into(), "disable".into()));
        let err = transport(&off).expect_err("disable refused");
        assert!(err.to_string().contains("cannot be disabled"), "{err}");
        // The bare local end would have been `prefer`.
        let mut bare = t.clone();
        bare.tunnel = None;
        assert_eq!(
            transport(&bare).expect("transport"),
            ferry_tls::Transport::TlsOrPlain
        );
    }
}
