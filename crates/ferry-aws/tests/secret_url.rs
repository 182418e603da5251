//! `secret://` URLs against moto on loopback: the URL's `host`, `port`, `dbname` and `engine`
//! override the secret's fields, and an RDS-managed master secret (`rds!db-...`, only a user
//! name and password) is completed from the DB instance that owns it.

mod common;

use common::{clients, unique};
use ferry_aws::resolve_secret_url_with;
use ferry_core::url::Secret;
use ferry_core::{ConnUrl, Dialect};

#[tokio::test]
async fn url_parameters_override_the_secret() {
    let c = clients().await;
    let name = unique("tover");
    c.secrets
        .create_secret()
        .name(&name)
        .secret_string(
            r#"{"engine":"postgres","host":"shop.abc.us-east-1.rds.amazonaws.com","port":5432,"username":"app","password":"Over-ride-Pw-1"}"#,
        )
        .send()
        .await
        .expect("secret");
    let url = ConnUrl::parse(&format!(
        "secret://{name}?host=127.0.0.1&port=6543&dbname=shop&sslmode=verify-ca"
    ))
    .expect("url");
    let r = resolve_secret_url_with(&c, &url).await.expect("resolves");
    assert_eq!(r.dialect(), Some(Dialect::Postgres));
    assert_eq!(r.host.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.port, Some(6543));
    assert_eq!(r.database.as_deref(), Some("shop"));
    assert_eq!(r.user.as_deref(), Some("app"));
    assert_eq!(r.password().map(Secret::expose), Some("Over-ride-Pw-1"));
    // The overrides are used up; the TLS parameter goes on to the driver.
    assert_eq!(
        r.params,
        vec![("sslmode".to_string(), "verify-ca".to_string())]
    );
    assert!(!format!("{r} {r:?}").contains("Over-ride"));

    // Without overrides the secret's own fields hold; no dbname means none.
    let plain = resolve_secret_url_with(
        &c,
        &ConnUrl::parse(&format!("secret://{name}")).expect("url"),
    )
    .await
    .expect("resolves");
    assert_eq!(
        plain.host.as_deref(),
        Some("shop.abc.us-east-1.rds.amazonaws.com")
    );
    assert_eq!(plain.port, Some(5432));
    assert_eq!(plain.database, None);

    let bad = ConnUrl::parse(&format!("secret://{name}?port=x")).expect("url");
    let err = resolve_secret_url_with(&c, &bad)
        .await
        .expect_err("bad port");
    assert!(err.to_string().contains("?port="), "{err}");
}

#[tokio::test]
async fn a_bare_user_and_password_secret_says_what_to_add() {
    let c = clients().await;
    let name = unique("tbare");
    c.secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"username":"app","password":"Bare-Pw-2"}"#)
        .send()
        .await
        .expect("secret");
    let url = ConnUrl::parse(&format!("secret://{name}")).expect("url");
    let err = resolve_secret_url_with(&c, &url)
        .await
        .expect_err("no engine");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("?engine=postgres"), "{shown}");
    assert!(!shown.contains("Bare-Pw"), "{shown}");
    let url = ConnUrl::parse(&format!("secret://{name}?engine=mysql")).expect("url");
    let err = resolve_secret_url_with(&c, &url)
        .await
        .expect_err("no host");
    assert!(err.to_string().contains("?host="), "{err}");
    let url = ConnUrl::parse(&format!(
        "secret://{name}?engine=mysql&host=127.0.0.1&dbname=shop"
    ))
    .expect("url");
    let r = resolve_secret_url_with(&c, &url).await.expect("resolves");
    assert_eq!(r.dialect(), Some(Dialect::Mysql));
    assert_eq!(r.port, Some(3306));
    assert_eq!(r.password().map(Secret::expose), Some("Bare-Pw-2"));
}

#[tokio::test]
async fn an_rds_managed_master_secret_is_completed_from_its_instance() {
    let c = clients().await;
    let id = unique("tmanaged");
    let created = c
        .rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("ferry_admin")
        .manage_master_user_password(true)
        .send()
        .await
        .expect("instance");
    let db = created.db_instance().expect("instance");
    let arn = db
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("moto made a managed secret")
        .to_string();
    let described = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("describe");
    let endpoint = described.db_instances()[0]
        .endpoint()
        .cloned()
        .expect("endpoint");
    let name = c
        .secrets
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .expect("secret")
        .name()
        .unwrap_or_default()
        .to_string();
    assert!(name.starts_with("rds!"), "{name}");
    // moto writes its own user name into the managed secret ("admin"); real RDS writes
    // the master user name. Either way the URL carries the secret's.
    let (_, text) = ferry_aws::secret::read_secret_text(&c, &arn)
        .await
        .expect("value");
    let fields = ferry_aws::SecretFields::parse(&name, &text).expect("fields");
    assert_eq!(fields.engine, None, "a managed secret holds no engine");

    for reference in [arn.clone(), name.clone()] {
        let url = ConnUrl::parse(&format!("secret://{reference}?dbname=shop")).expect("url");
        let r = resolve_secret_url_with(&c, &url).await.expect("resolves");
        assert_eq!(r.dialect(), Some(Dialect::Postgres));
        assert_eq!(r.host.as_deref(), endpoint.address());
        assert_eq!(r.port.map(i32::from), endpoint.port());
        assert_eq!(r.user.as_deref(), Some(fields.username.as_str()));
        assert_eq!(r.database.as_deref(), Some("shop"));
        assert!(r.password().is_some_and(|p| !p.expose().is_empty()));
    }
    // Behind a tunnel: host and port from the URL, the rest from the secret and instance.
    let url = ConnUrl::parse(&format!("secret://{arn}?host=127.0.0.1&port=15432")).expect("url");
    let r = resolve_secret_url_with(&c, &url).await.expect("resolves");
    assert_eq!(
        (r.host.as_deref(), r.port),
        (Some("127.0.0.1"), Some(15432))
    );
    assert_eq!(r.dialect(), Some(Dialect::Postgres));

    let _ = c
        .rds
        .delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await;
}

#[tokio::test]
async fn iam_tokens_mark_the_url() {
    let c = clients().await;
    let url = ConnUrl::parse("mysql://app@db.example.internal/shop").expect("url");
    assert!(!url.iam_auth);
    let with = ferry_aws::with_iam_token(&c, &url)
        .await
        .expect("token url");
    assert!(
        with.iam_auth,
        "drivers must know the password is an IAM token"
    );
}
