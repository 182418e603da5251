//! TLS to MariaDB through ferry's own connection code: a throwaway MariaDB on loopback
//! serves a certificate from a CA this test makes. VERIFY_IDENTITY with that CA connects
//! encrypted; the bundled RDS CAs (the default for RDS hosts) refuse it; a host the
//! certificate does not name is refused; REQUIRED and PREFERRED encrypt without verifying;
//! an IAM token connects over verified TLS only, with the cleartext plugin. Needs mariadbd (scripts/servers.sh installs it)
//! and root (the server runs as `mysql`).

use ferry_core::ConnUrl;
use ferry_mysql::Target;
use ferry_test_support::{MariaDbOptions, PrivateMariaDb, TestCerts};
use mysql_async::prelude::Queryable;

async fn cipher(url: &str) -> Result<String, String> {
    let target =
        Target::from_url(&ConnUrl::parse(url).expect("url")).map_err(|e| e.full_message())?;
    let mut conn = target.connect().await.map_err(|e| e.full_message())?;
    let row: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.map(|(_, v)| v).unwrap_or_default())
}

#[tokio::test]
async fn verify_identity_with_a_test_ca_and_refusals() {
    let server = PrivateMariaDb::start(&MariaDbOptions {
        tls: Some(TestCerts::for_localhost("ferry mysql test CA")),
        ..Default::default()
    });
    let ca_file = server.ca_file();
    // The certificate names `localhost` only.
    let by_name = format!("mysql://root@localhost:{}/mysql", server.port);
    let by_ip = format!("mysql://root@127.0.0.1:{}/mysql", server.port);
    let ca_param = format!("ssl-ca={}", ca_file.display());

    let c = cipher(&format!("{by_name}?ssl-mode=VERIFY_IDENTITY&{ca_param}"))
        .await
        .expect("verify-identity with the test CA");
    assert!(!c.is_empty(), "the connection is encrypted");

    let rds = cipher(&format!("{by_name}?ssl-mode=VERIFY_IDENTITY"))
        .await
        .expect_err("RDS bundle");
    assert!(
        rds.to_lowercase().contains("certificate") || rds.contains("UnknownIssuer"),
        "{rds}"
    );

    let name = cipher(&format!("{by_ip}?ssl-mode=VERIFY_IDENTITY&{ca_param}"))
        .await
        .expect_err("name mismatch");
    assert!(
        name.to_lowercase().contains("certificate") || name.contains("NotValidForName"),
        "{name}"
    );
    // REQUIRED encrypts without checking the certificate (the mysql client's meaning).
    let required = cipher(&format!("{by_ip}?ssl-mode=REQUIRED"))
        .await
        .expect("REQUIRED");
    assert!(!required.is_empty(), "REQUIRED is encrypted");

    // PREFERRED (also the default) negotiates TLS with a server that offers it, without
    // checking its certificate; DISABLED is plaintext.
    for url in [format!("{by_ip}?ssl-mode=PREFERRED"), by_ip.clone()] {
        let c = cipher(&url).await.expect("PREFERRED");
        assert!(
            !c.is_empty(),
            "{url}: PREFERRED must encrypt when the server offers TLS"
        );
    }
    let plain = cipher(&format!("{by_ip}?ssl-mode=DISABLED"))
        .await
        .expect("DISABLED");
    assert!(plain.is_empty(), "DISABLED is plaintext: {plain}");

    // --iam-auth: the token goes with the cleartext plugin, over verified TLS only.
    let mut iam = ConnUrl::parse(&format!("{by_name}?{ca_param}")).expect("url");
    iam.iam_auth = true;
    let target = Target::from_url(&iam).expect("IAM over verified TLS");
    assert!(
        target.cleartext_auth(),
        "the cleartext plugin is enabled for --iam-auth"
    );
    let mut conn = target.connect().await.expect("IAM target connects");
    let row: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .expect("status");
    assert!(
        row.is_some_and(|(_, v)| !v.is_empty()),
        "IAM connection is encrypted"
    );
    drop(conn);
    let mut no_tls = ConnUrl::parse(&format!("{by_name}?ssl-mode=DISABLED")).expect("url");
    no_tls.iam_auth = true;
    let err = Target::from_url(&no_tls).expect_err("IAM without TLS");
    assert!(err.to_string().contains("cannot be disabled"), "{err}");
    let plain_target = Target::from_url(&ConnUrl::parse(&by_name).expect("url")).expect("target");
    assert!(!plain_target.cleartext_auth(), "never without --iam-auth");

    // Through a tunnel (a TCP forwarder standing in for `--ssh`): the driver connects to
    // 127.0.0.1:<local port>, and VERIFY_IDENTITY still matches the certificate against
    // the host the URL named; the bare local address does not match it.
    let local = ferry_test_support::tcp_forwarder(server.port).await;
    let named =
        ConnUrl::parse(&format!("{by_name}?ssl-mode=VERIFY_IDENTITY&{ca_param}")).expect("url");
    let target = Target::from_url(&named.through_tunnel(local, "test@forwarder:22"))
        .expect("tunnelled target");
    let mut conn = target
        .connect()
        .await
        .unwrap_or_else(|e| panic!("VERIFY_IDENTITY through a tunnel: {}", e.full_message()));
    let row: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .expect("status");
    assert!(
        row.is_some_and(|(_, v)| !v.is_empty()),
        "encrypted through the tunnel"
    );
    drop(conn);
    let bare = cipher(&format!(
        "mysql://root@127.0.0.1:{}/mysql?ssl-mode=VERIFY_IDENTITY&{ca_param}",
        local.port()
    ))
    .await
    .expect_err("127.0.0.1 is not the certificate's name");
    assert!(
        bare.to_lowercase().contains("certificate") || bare.contains("NotValidForName"),
        "{bare}"
    );
    drop(server);
}

/// PREFERRED against the shared loopback MariaDB, which has no TLS: falls back to plaintext
/// and connects (the mysql client's meaning), on every connection of the target.
#[tokio::test]
async fn preferred_falls_back_to_plaintext_without_server_tls() {
    let base = ferry_test_support::mysql_admin_url();
    let mut have: Option<(String, String)> = None;
    for suffix in ["?ssl-mode=PREFERRED", ""] {
        let target =
            Target::from_url(&ConnUrl::parse(&format!("{base}{suffix}")).expect("url")).expect("t");
        for _ in 0..2 {
            let mut conn = target.connect().await.expect("falls back to plaintext");
            have = conn
                .query_first("SHOW VARIABLES LIKE 'have_ssl'")
                .await
                .expect("have_ssl");
            let c: Option<(String, String)> = conn
                .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                .await
                .expect("status");
            assert!(c.is_none_or(|(_, v)| v.is_empty()), "plaintext");
        }
        // A loopback host: no plaintext warning.
        assert_eq!(target.connection_warning(), None);
    }
    assert_ne!(
        have.map(|(_, v)| v),
        Some("YES".to_string()),
        "the shared test server was expected to have no TLS"
    );
}
