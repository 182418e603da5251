//! How a MySQL connection is secured, from `ssl-mode` (`DISABLED`, `PREFERRED`, `REQUIRED`,
//! `VERIFY_CA`, `VERIFY_IDENTITY`, or libpq's spellings) and `ssl-ca`, decided by
//! [`ferry_tls::decide`]; and, for `--iam-auth`, the cleartext auth plugin RDS IAM login
//! needs, enabled only over verified TLS.

use ferry_core::url::ConnUrl;
use ferry_core::{Error, ErrorKind, Result};
use ferry_tls::{Transport, Verify};
use mysql_async::SslOpts;
use std::path::PathBuf;

/// What [`security`] decided for one URL.
#[derive(Debug, Clone)]
pub struct Security {
    /// TLS options for the first attempt (`None`: plaintext).
    pub ssl: Option<SslOpts>,
    /// `PREFERRED`: a server that offers no TLS is reached in plaintext.
    pub fallback_to_plain: bool,
    /// Send the password with `mysql_clear_password` (an IAM token over verified TLS).
    pub cleartext_auth: bool,
}

/// mysql_async builds its TLS configuration from rustls's process-wide crypto provider. A
/// binary that links both rustls backends (the AWS SDK brings aws-lc-rs, the drivers ring)
/// has no automatic default, and rustls would panic; pick ring, as ferry-tls does. A
/// provider installed earlier by someone else is kept.
fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Decide TLS for `url`. Without `ssl-mode`: `VERIFY_IDENTITY` for RDS/Aurora hosts, IAM
/// tokens and URLs with `ssl-ca`, `PREFERRED` elsewhere (as the mysql client). `REQUIRED`
/// encrypts without checking the certificate, except to an RDS host or with an IAM token,
/// where it (like `PREFERRED`) becomes `VERIFY_IDENTITY` against the bundled RDS CAs;
/// `DISABLED` is refused there. The driver's built-in roots are never trusted. `VERIFY_CA`
/// skips the host-name check for DNS names only: mysql_async's rustls backend still matches
/// an IP address against the certificate.
pub fn security(url: &ConnUrl) -> Result<Security> {
    ensure_crypto_provider();
    let mode = match url.param("ssl-mode").or(url.param("sslmode")) {
        None => None,
        Some(m) => Some(ferry_tls::TlsMode::parse(m).ok_or_else(|| {
            Error::config(format!(
                "ssl-mode={m}: expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
            ))
        })?),
    };
    let ca_file = url
        .param("ssl-ca")
        .or(url.param("sslrootcert"))
        .map(PathBuf::from);
    if let Some(path) = &ca_file {
        if !path.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("ssl-ca file {} does not exist", path.display()),
            ));
        }
    }
    // Through an SSH tunnel, the server the user named: an RDS endpoint stays
    // VERIFY_IDENTITY, and the certificate is matched against its name.
    let host = url.tls_host().unwrap_or("127.0.0.1");
    let server_name = url.tunnel.as_ref().map(|t| t.host.clone());
    let req = ferry_tls::TlsRequest {
        host,
        mode,
        ca_file,
        iam_auth: url.iam_auth,
        require: Verify::None,
    };
    let transport = ferry_tls::decide(&req).map_err(|e| Error::config(e.to_string()))?;
    let (ssl, fallback_to_plain, verified) = match transport {
        Transport::Plain => (None, false, false),
        Transport::TlsOrPlain => (Some(unverified()), true, false),
        Transport::Tls(settings) => {
            let pem =
                ferry_tls::ca_pem(&settings.ca).map_err(|e| Error::config(format!("TLS: {e}")))?;
            let opts = SslOpts::default()
                .with_root_certs(vec![pem.into()])
                .with_disable_built_in_roots(true)
                .with_danger_tls_hostname_override(server_name);
            match settings.verify {
                Verify::Full => (Some(opts), false, true),
                Verify::Ca => (
                    Some(opts.with_danger_skip_domain_validation(true)),
                    false,
                    true,
                ),
                Verify::None => (Some(unverified()), false, false),
            }
        }
    };
    if url.iam_auth && !verified {
        // decide() never lets this happen; the check keeps the token off any other path.
        return Err(Error::config(format!(
            "{host}: --iam-auth needs verified TLS (ssl-mode=VERIFY_IDENTITY or VERIFY_CA): \
             the token is sent in cleartext inside the TLS session"
        )));
    }
    Ok(Security {
        ssl,
        fallback_to_plain,
        cleartext_auth: url.iam_auth && verified,
    })
}

/// Encryption without certificate checks (`PREFERRED`, `REQUIRED`). The driver still
/// wants a non-empty root store, so it gets the RDS bundle, which it then does not consult.
fn unverified() -> SslOpts {
    SslOpts::default()
        .with_root_certs(vec![ferry_tls::RDS_CA_BUNDLE_PEM.into()])
        .with_disable_built_in_roots(true)
        .with_danger_accept_invalid_certs(true)
        .with_danger_skip_domain_validation(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str, iam: bool) -> ConnUrl {
        let mut u = ConnUrl::parse(text).expect("url");
        u.iam_auth = iam;
        u
    }

    fn verifies_fully(s: &Security) -> bool {
        s.ssl.as_ref().is_some_and(|o| {
            !o.accept_invalid_certs() && !o.skip_domain_validation() && !o.root_certs().is_empty()
        })
    }

    const RDS: &str = "mysql://app:pw@shop.abc.us-east-1.rds.amazonaws.com:3306/shop";

    /// Through an SSH tunnel an RDS endpoint is still verified in full, against its own
    /// name (the driver connects to 127.0.0.1), and DISABLED is still refused.
    #[test]
    fn a_tunnelled_rds_endpoint_is_verified_against_its_name() {
        let local: std::net::SocketAddr = "127.0.0.1:41000".parse().expect("addr");
        let t = url(RDS, false).through_tunnel(local, "ec2-user@bastion:22");
        let s = security(&t).expect("security");
        assert!(verifies_fully(&s));
        assert_eq!(
            s.ssl.as_ref().and_then(|o| o.tls_hostname_override()),
            Some("shop.abc.us-east-1.rds.amazonaws.com")
        );
        let off = url(&format!("{RDS}?ssl-mode=DISABLED"), false).through_tunnel(local, "b");
        assert!(security(&off).is_err());
        // Not tunnelled: no override, the host itself is the name.
        let s = security(&url(RDS, false)).expect("security");
        assert_eq!(s.ssl.as_ref().and_then(|o| o.tls_hostname_override()), None);
    }

    #[test]
    fn iam_tokens_use_the_cleartext_plugin_only_over_verified_tls() {
        for text in [
            RDS.to_string(),
            format!("{RDS}?ssl-mode=REQUIRED"),
            "mysql://app@127.0.0.1:3306/shop?ssl-mode=PREFERRED".to_string(),
        ] {
            let s = security(&url(&text, true)).expect("IAM");
            assert!(s.cleartext_auth, "{text}");
            assert!(verifies_fully(&s), "{text}");
            assert!(!s.fallback_to_plain, "{text}");
        }
        // The same URLs without IAM never enable the plugin.
        assert!(!security(&url(RDS, false)).expect("rds").cleartext_auth);
        for mode in ["DISABLED", "disable"] {
            let err = security(&url(&format!("{RDS}?ssl-mode={mode}"), true)).expect_err("refused");
            assert!(err.to_string().contains("--iam-auth"), "{err}");
            let err = security(&url(
                &format!("mysql://app@127.0.0.1/shop?ssl-mode={mode}"),
                true,
            ))
            .expect_err("refused off RDS too");
            assert!(err.to_string().contains("cannot be disabled"), "{err}");
        }
    }

    #[test]
    fn required_to_rds_verifies_against_the_bundle() {
        for text in [
            format!("{RDS}?ssl-mode=REQUIRED"),
            format!("{RDS}?ssl-mode=PREFERRED"),
            RDS.to_string(),
        ] {
            let s = security(&url(&text, false)).expect("rds");
            assert!(verifies_fully(&s), "{text}");
            assert!(!s.fallback_to_plain, "{text}");
        }
        let err = security(&url(&format!("{RDS}?ssl-mode=DISABLED"), false)).expect_err("refused");
        assert!(err.to_string().contains("RDS"), "{err}");
    }

    #[test]
    fn preferred_tries_tls_elsewhere() {
        for text in [
            "mysql://a@db.example/d",
            "mysql://a@db.example/d?ssl-mode=PREFERRED",
        ] {
            let s = security(&url(text, false)).expect("prefer");
            assert!(s.fallback_to_plain && s.ssl.is_some(), "{text}");
        }
        let s = security(&url("mysql://a@db.example/d?ssl-mode=DISABLED", false)).expect("off");
        assert!(s.ssl.is_none() && !s.fallback_to_plain);
    }
}
