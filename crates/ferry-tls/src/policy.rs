//! What a URL's TLS mode means for one host: one decision shared by both drivers, so that
//! `prefer` tries TLS, and an RDS/Aurora endpoint or an IAM token never travels in plaintext.

use crate::{CaSource, TlsError, TlsSettings, Verify};
use std::path::PathBuf;

/// A TLS mode as written in a URL (`sslmode=` or `ssl-mode=`, either spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `disable` / `DISABLED`: plaintext.
    Disable,
    /// `allow`: treated as `prefer` (TLS first, plaintext only when the server has none).
    Allow,
    /// `prefer` / `PREFERRED`: TLS without certificate checks, plaintext only when the
    /// server does not offer TLS.
    Prefer,
    /// `require` / `REQUIRED`: TLS always; how much is checked depends on the driver.
    Require,
    /// `verify-ca` / `VERIFY_CA`: TLS, the chain checked, not the host name.
    VerifyCa,
    /// `verify-full` / `VERIFY_IDENTITY`: TLS, chain and host name checked.
    VerifyFull,
}

impl TlsMode {
    /// Parse either spelling (libpq's `verify-full`, the mysql client's `VERIFY_IDENTITY`).
    pub fn parse(text: &str) -> Option<TlsMode> {
        Some(match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" => TlsMode::Disable,
            "allow" => TlsMode::Allow,
            "prefer" | "preferred" => TlsMode::Prefer,
            "require" | "required" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" | "verify-identity" => TlsMode::VerifyFull,
            _ => return None,
        })
    }
}

/// How one connection is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP.
    Plain,
    /// TLS when the server offers it (its certificate unchecked), else plain TCP. A server
    /// that offers TLS but fails the handshake is an error, not a fallback.
    TlsOrPlain,
    /// TLS with these settings, or no connection.
    Tls(TlsSettings),
}

/// What a connection asks for.
#[derive(Debug, Clone)]
pub struct TlsRequest<'a> {
    /// The host name as written in the URL.
    pub host: &'a str,
    /// The mode from the URL, if any.
    pub mode: Option<TlsMode>,
    /// `sslrootcert` / `ssl-ca`: trusted CAs instead of the bundled RDS CAs.
    pub ca_file: Option<PathBuf>,
    /// The password is an IAM auth token.
    pub iam_auth: bool,
    /// What `require` checks for this driver (PostgreSQL: the chain; MySQL: nothing, as
    /// the mysql client's `REQUIRED`).
    pub require: Verify,
}

/// Why a host may only be reached over verified TLS, if it may.
pub fn strict_reason(host: &str, iam_auth: bool) -> Option<&'static str> {
    if iam_auth {
        Some("--iam-auth sends a token that must only travel over verified TLS")
    } else if crate::is_rds_host(host) {
        Some("an RDS/Aurora endpoint is only reached over verified TLS")
    } else {
        None
    }
}

/// Decide the transport. Without a mode: verify-full for RDS/Aurora hosts, `--iam-auth` and
/// URLs naming a CA file; `prefer` otherwise (as libpq and the mysql client). For an RDS
/// host or `--iam-auth`, `allow`, `prefer` and `require` become verify-full, and `disable`
/// is refused with the reason.
pub fn decide(req: &TlsRequest<'_>) -> Result<Transport, TlsError> {
    let strict = strict_reason(req.host, req.iam_auth);
    let mode = match (req.mode, strict, &req.ca_file) {
        (Some(TlsMode::Disable), Some(why), _) => {
            return Err(TlsError::Refused(format!(
                "{}: TLS cannot be disabled ({why}); drop sslmode/ssl-mode or use verify-full",
                req.host
            )))
        }
        (Some(TlsMode::Allow | TlsMode::Prefer | TlsMode::Require) | None, Some(_), _) => {
            TlsMode::VerifyFull
        }
        (None, None, Some(_)) => TlsMode::VerifyFull,
        (None, None, None) => TlsMode::Prefer,
        (Some(m), _, _) => m,
    };
    let ca = req
        .ca_file
        .clone()
        .map_or(CaSource::RdsBundle, CaSource::File);
    let verify = match mode {
        TlsMode::Disable => return Ok(Transport::Plain),
        TlsMode::Allow | TlsMode::Prefer => return Ok(Transport::TlsOrPlain),
        TlsMode::Require => req.require,
        TlsMode::VerifyCa => Verify::Ca,
        TlsMode::VerifyFull => Verify::Full,
    };
    Ok(Transport::Tls(TlsSettings { ca, verify }))
}

/// Whether `host` is this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']);
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The one warning line for a plaintext connection to a host outside loopback, or `None`.
pub fn plaintext_warning(host: &str) -> Option<String> {
    (!is_loopback(host)).then(|| {
        format!(
            "the connection to {host} is not encrypted (the server offers no TLS, or the URL \
             says sslmode=disable): passwords and rows cross the network in plaintext"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(host: &'a str, mode: Option<&str>, iam: bool) -> TlsRequest<'a> {
        TlsRequest {
            host,
            mode: mode.map(|m| TlsMode::parse(m).expect("mode")),
            ca_file: None,
            iam_auth: iam,
            require: Verify::None,
        }
    }

    const RDS: &str = "shop.abc.us-east-1.rds.amazonaws.com";

    #[test]
    fn prefer_tries_tls_and_is_the_default_elsewhere() {
        for m in [None, Some("prefer"), Some("PREFERRED"), Some("allow")] {
            assert_eq!(
                decide(&req("db.example", m, false)).ok(),
                Some(Transport::TlsOrPlain)
            );
        }
        assert_eq!(
            decide(&req("db.example", Some("disable"), false)).ok(),
            Some(Transport::Plain)
        );
    }

    #[test]
    fn rds_and_iam_never_go_plaintext() {
        let full = Some(Transport::Tls(TlsSettings::verify_full(None)));
        for (host, iam) in [
            (RDS, false),
            ("127.0.0.1", true),
            ("x.rds.amazonaws.com.cn", false),
        ] {
            for m in [
                None,
                Some("prefer"),
                Some("allow"),
                Some("require"),
                Some("REQUIRED"),
            ] {
                assert_eq!(decide(&req(host, m, iam)).ok(), full, "{host} {m:?}");
            }
            for m in ["disable", "DISABLED"] {
                let err = decide(&req(host, Some(m), iam)).expect_err("refused");
                assert!(err.to_string().contains("cannot be disabled"), "{err}");
            }
        }
        let ca = decide(&req(RDS, Some("verify-ca"), false)).expect("verify-ca");
        assert!(matches!(
            ca,
            Transport::Tls(TlsSettings {
                verify: Verify::Ca,
                ..
            })
        ));
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "127.8.9.1", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
            assert!(plaintext_warning(h).is_none());
        }
        let w = plaintext_warning("db.example").expect("warning");
        assert!(w.contains("db.example") && !w.contains('\n'), "{w}");
    }
}
