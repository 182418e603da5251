//! ferry's own replication connection (the walsender the change stream and the slot's
//! snapshot come from) takes TLS from the URL like every other connection: verify-full with
//! a test CA is encrypted as the server sees it, a name the certificate lacks is refused,
//! and a server without TLS is refused when the URL requires it. Uses a PostgreSQL of the
//! test's own (TLS on, plaintext allowed too), never the shared one's settings.

use ferry_core::ConnUrl;
use ferry_postgres::replication::wire::ReplConnection;
use ferry_test_support::{pg_admin_url, pg_connect, PgOptions, PrivatePg, TestCerts};

/// Whether each walsender's connection is TLS, as the server sees them (sorted).
async fn walsenders_ssl(pg: &PrivatePg) -> Vec<bool> {
    let mut ssl: Vec<bool> = pg_connect(&pg.socket("postgres"))
        .await
        .query(
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.backend_type = 'walsender'",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .iter()
        .map(|r| r.get(0))
        .collect();
    ssl.sort();
    ssl
}

#[tokio::test]
async fn the_replication_connection_follows_the_urls_tls_settings() {
    let pg = PrivatePg::start(&PgOptions {
        logical: true,
        tls: Some(TestCerts::for_localhost("ferry walsender test CA")),
        tls_only: false,
    });
    let verified = format!(
        "?sslmode=verify-full&sslrootcert={}",
        pg.ca_file().display()
    );
    let url =
        |host: &str, params: &str| ConnUrl::parse(&pg.url(host, "postgres", params)).expect("url");
    let mut tls = ReplConnection::connect(&url("localhost", &verified))
        .await
        .unwrap_or_else(|e| panic!("verify-full with the test CA: {}", e.full_message()));
    let rows = tls
        .simple_query("IDENTIFY_SYSTEM")
        .await
        .expect("a replication command over TLS");
    assert!(rows.get(0, "xlogpos").is_some(), "IDENTIFY_SYSTEM answers");
    assert_eq!(walsenders_ssl(&pg).await, vec![true]);

    // The server accepts plaintext too: sslmode=disable is what the URL asks for.
    let plain = ReplConnection::connect(&url("127.0.0.1", "?sslmode=disable"))
        .await
        .expect("plaintext when the URL says so");
    assert_eq!(walsenders_ssl(&pg).await, vec![false, true]);

    // 127.0.0.1 is not the certificate's name: verify-full refuses it.
    let err = ReplConnection::connect(&url("127.0.0.1", &verified))
        .await
        .err()
        .expect("name mismatch");
    let message = err.full_message();
    assert!(
        message.contains("NotValidForName") || message.contains("certificate"),
        "{message}"
    );
    tls.terminate().await;
    plain.terminate().await;
}

#[tokio::test]
async fn the_replication_connection_refuses_plaintext_when_tls_is_required() {
    // The shared test server has no TLS.
    for params in ["?sslmode=require", "?sslmode=verify-full"] {
        let url = ConnUrl::parse(&format!("{}{params}", pg_admin_url())).expect("url");
        let err = ReplConnection::connect(&url)
            .await
            .err()
            .unwrap_or_else(|| panic!("{params}: connected without TLS"));
        let message = err.full_message();
        assert!(
            message.contains("does not offer TLS"),
            "{params}: {message}"
        );
    }
}
