//! verify-full and verify-ca against a throwaway local PostgreSQL (loopback only) that serves
//! a certificate from a CA this test makes. Needs PostgreSQL's server binaries
//! (`scripts/servers.sh start pg` installs them) and root (the server runs as `postgres`).

use ferry_test_support::{PgOptions, PrivatePg, TestCerts};
use ferry_tls::{client_config, CaSource, TlsSettings, Verify};

async fn connect(pg: &PrivatePg, host: &str, settings: &TlsSettings) -> Result<bool, String> {
    let config = client_config(settings).map_err(|e| e.to_string())?;
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let conn_str = format!(
        "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require connect_timeout=10",
        pg.port
    );
    let (client, connection) = tokio_postgres::connect(&conn_str, tls)
        .await
        .map_err(|e| format!("{e:?}"))?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn verify_full_and_verify_ca_against_local_postgres() {
    let certs = TestCerts::for_localhost("ferry test CA");
    let ca = certs.ca.clone();
    let pg = PrivatePg::start(&PgOptions {
        tls: Some(certs),
        tls_only: true,
        ..Default::default()
    });
    let ca_file = pg.ca_file();

    // verify-full with the test CA from a --ca-file: connects over TLS.
    let full = TlsSettings::verify_full(Some(ca_file.clone()));
    assert_eq!(connect(&pg, "localhost", &full).await, Ok(true));

    // The bundled RDS CAs do not trust the test CA.
    let rds = TlsSettings::verify_full(None);
    let err = connect(&pg, "localhost", &rds)
        .await
        .expect_err("untrusted");
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );

    // A host name the certificate does not carry: verify-full refuses, verify-ca accepts.
    let err = connect(&pg, "wrong.example", &full)
        .await
        .expect_err("name");
    assert!(
        err.contains("NotValidForName") || err.contains("certificate"),
        "{err}"
    );
    let ca_only = TlsSettings {
        ca: CaSource::Pem(ca.into_bytes()),
        verify: Verify::Ca,
    };
    assert_eq!(connect(&pg, "wrong.example", &ca_only).await, Ok(true));

    // The same through ferry's PostgreSQL driver, configured by URL as users write it.
    let url = |params: &str| {
        ferry_core::ConnUrl::parse(&format!(
            "postgres://postgres@localhost:{}/postgres{params}",
            pg.port
        ))
        .expect("url")
    };
    let with_ca = url(&format!(
        "?sslmode=verify-full&sslrootcert={}",
        ca_file.display()
    ));
    let client = ferry_postgres::connect(&with_ca)
        .await
        .expect("verify-full with the test CA");
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl");
    assert!(
        row.get::<_, bool>(0),
        "the driver's connection is encrypted"
    );
    let err = ferry_postgres::connect(&url("?sslmode=verify-full"))
        .await
        .expect_err("RDS bundle");
    assert!(
        err.full_message().contains("certificate") || err.full_message().contains("UnknownIssuer"),
        "{}",
        err.full_message()
    );
    let plain = ferry_postgres::connect(&url("?sslmode=disable"))
        .await
        .expect_err("hostssl only");
    assert!(
        plain.full_message().contains("no encryption") || plain.full_message().contains("pg_hba"),
        "{}",
        plain.full_message()
    );
    // prefer and allow (and no sslmode, as libpq) negotiate TLS with a server that offers
    // it, without checking its certificate (the test CA is not trusted here).
    for params in ["?sslmode=prefer", "?sslmode=allow", ""] {
        let client = ferry_postgres::connect(&url(params))
            .await
            .unwrap_or_else(|e| panic!("{params}: {}", e.full_message()));
        assert!(ssl_in_use(&client).await, "{params}: encrypted");
    }
    // An IAM token never goes plaintext: disable is refused before connecting, and a weaker
    // mode is verified in full (the test CA is not the RDS bundle: refused).
    let mut iam = url("?sslmode=disable");
    iam.iam_auth = true;
    let err = ferry_postgres::connect(&iam)
        .await
        .expect_err("IAM plaintext");
    assert!(
        err.full_message().contains("cannot be disabled"),
        "{}",
        err.full_message()
    );
    let mut iam = url("?sslmode=prefer");
    iam.iam_auth = true;
    let err = ferry_postgres::connect(&iam)
        .await
        .expect_err("IAM: verify-full");
    assert!(
        err.full_message().contains("certificate") || err.full_message().contains("UnknownIssuer"),
        "{}",
        err.full_message()
    );

    // Through a tunnel (here a plain TCP forwarder standing in for `--ssh`): the driver
    // connects to 127.0.0.1:<local port>, and verify-full still checks the certificate
    // against the host the URL named. Without the tunnel's record of that name, the local
    // address does not match the certificate.
    let local = ferry_test_support::tcp_forwarder(pg.port).await;
    let tunnelled = with_ca.through_tunnel(local, "test@forwarder:22");
    let client = ferry_postgres::connect(&tunnelled)
        .await
        .unwrap_or_else(|e| panic!("verify-full through a tunnel: {}", e.full_message()));
    assert!(ssl_in_use(&client).await, "encrypted through the tunnel");
    let mut bare = with_ca.clone();
    bare.host = Some(local.ip().to_string());
    bare.port = Some(local.port());
    let err = ferry_postgres::connect(&bare)
        .await
        .expect_err("127.0.0.1 is not the certificate's name");
    assert!(
        err.full_message().contains("certificate")
            || err.full_message().contains("NotValidForName"),
        "{}",
        err.full_message()
    );
    drop(pg);
}

async fn ssl_in_use(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

/// prefer against the shared loopback PostgreSQL, which has no TLS: plaintext, as libpq.
#[tokio::test]
async fn prefer_falls_back_to_plaintext_without_server_tls() {
    let base = ferry_test_support::pg_admin_url();
    for params in ["?sslmode=prefer", "?sslmode=allow", ""] {
        let url = ferry_core::ConnUrl::parse(&format!("{base}{params}")).expect("url");
        let (client, warning) = ferry_postgres::connect_noting(&url)
            .await
            .unwrap_or_else(|e| panic!("{params}: {}", e.full_message()));
        assert!(
            !ssl_in_use(&client).await,
            "{params}: the server has no TLS"
        );
        assert_eq!(warning, None, "loopback: no warning");
    }
    let require = ferry_core::ConnUrl::parse(&format!("{base}?sslmode=require")).expect("url");
    let err = ferry_postgres::connect(&require)
        .await
        .expect_err("require");
    assert!(err.full_message().contains("TLS"), "{}", err.full_message());
}
