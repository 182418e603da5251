//! Provisioning, secret resolution and teardown against moto on loopback.

mod common;

use common::{clients, unique};
use ferry_aws::discover::{discover, find_cluster, find_instance};
use ferry_aws::provision::plan;
use ferry_aws::secret::read_secret;
use ferry_aws::{
    provision, resolve_secret_url_with, teardown, AwsClients, AwsError, Engine, Event,
    ProvisionSpec, Provisioned, Quiet, ServerlessRange, TeardownSpec, WaitOptions,
};
use ferry_core::url::Secret;
use ferry_core::ConnUrl;
use std::sync::Mutex;

fn wait() -> WaitOptions {
    WaitOptions::default()
}

/// Secure settings as RDS reports them back.
async fn assert_secure_instance(c: &AwsClients, id: &str, rds_instance: bool) {
    let out = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .expect("describe");
    let i = &out.db_instances()[0];
    assert_eq!(i.publicly_accessible(), Some(false), "{id} public");
    if rds_instance {
        assert_eq!(i.storage_encrypted(), Some(true), "{id} encrypted");
        assert_eq!(i.deletion_protection(), Some(true), "{id} protection");
        assert_eq!(
            i.iam_database_authentication_enabled(),
            Some(true),
            "{id} iam"
        );
        assert!(
            i.backup_retention_period().is_some_and(|d| d >= 7),
            "{id} backups"
        );
        assert_eq!(i.copy_tags_to_snapshot(), Some(true), "{id} copy tags");
    }
}

async fn assert_secure_cluster(c: &AwsClients, id: &str) {
    let out = c
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .expect("describe");
    let cl = &out.db_clusters()[0];
    assert_eq!(cl.storage_encrypted(), Some(true));
    assert_eq!(cl.deletion_protection(), Some(true));
    assert_eq!(cl.iam_database_authentication_enabled(), Some(true));
    assert!(cl.backup_retention_period().is_some_and(|d| d >= 7));
    assert_eq!(cl.copy_tags_to_snapshot(), Some(true));
}

/// create -> wait -> describe -> secret updated -> env output -> re-run no-op -> teardown.
async fn full_cycle(engine: Engine, tweak: impl FnOnce(&mut ProvisionSpec)) -> Provisioned {
    let c = clients().await;
    let name = unique(&format!("t{}", &engine.rds_name()[..2]));
    let mut spec = ProvisionSpec::new(&name, engine);
    tweak(&mut spec);

    let events = Mutex::new(Vec::new());
    let record = |e: &Event| events.lock().expect("lock").push(e.to_string());
    let first = provision(&c, &spec, &wait(), &record)
        .await
        .expect("provision");
    assert!(first.reused.is_empty(), "{:?}", first.reused);
    assert_eq!(first.created[0], format!("secret {}", spec.secret_name()));
    let log = events.lock().expect("lock").join("\n");
    assert!(log.contains("creating secret"), "{log}");
    assert!(log.contains("to be available: done"), "{log}");
    assert!(log.contains("wrote host and port into secret"), "{log}");

    // The secret now carries the endpoint and the password the database was made with.
    let secret = read_secret(&c, &first.connection.secret_arn)
        .await
        .expect("secret");
    assert_eq!(secret.host, first.connection.host);
    assert_eq!(secret.port, first.connection.port);
    assert_eq!(secret.username, "ferry_admin");
    assert_eq!(secret.dbname.as_deref(), Some(spec.database().as_str()));
    let pw = secret.password.expose().to_string();
    if engine.dialect() == ferry_core::schema::Dialect::Mysql {
        assert!(pw.len() <= 41, "{}", pw.len());
    }
    assert!(!pw.contains(['/', '@', '"', ' ']));

    if engine.is_aurora() {
        assert_secure_cluster(&c, &name).await;
        assert_secure_instance(&c, &spec.writer_id(), false).await;
    } else {
        assert_secure_instance(&c, &name, true).await;
    }

    // env output: the convention, the secret reference, never the password.
    let env = first.connection.to_env();
    let p = engine.env_prefix();
    for key in ["HOST", "PORT", "DATABASE", "CREDENTIALS_SECRET"] {
        assert!(env.contains(&format!("{p}_{key}=")), "{env}");
    }
    assert!(env.contains(&format!(
        "FERRY_URL=secret://{}",
        first.connection.secret_arn
    )));
    let everything = format!("{env}{}{first:?}{}", first.connection.to_json(), log);
    assert!(!everything.contains(&pw), "password leaked");

    // Running the same command again changes nothing and reports the same connection.
    let again = provision(&c, &spec, &wait(), &Quiet).await.expect("again");
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(again.connection, first.connection);
    let after = read_secret(&c, &first.connection.secret_arn)
        .await
        .expect("secret");
    assert_eq!(
        after.password.expose(),
        pw,
        "re-run must not change the password"
    );

    // secret:// resolves to the database URL with the secret's credentials.
    for reference in [
        first.connection.secret_url(),
        format!("secret://{}", spec.secret_name()),
    ] {
        let url = ConnUrl::parse(&format!("{reference}?sslmode=verify-full")).expect("url");
        let resolved = resolve_secret_url_with(&c, &url).await.expect("resolve");
        assert_eq!(resolved.dialect(), Some(engine.dialect()));
        assert_eq!(
            resolved.host.as_deref(),
            Some(first.connection.host.as_str())
        );
        assert_eq!(resolved.port, Some(first.connection.port));
        assert_eq!(resolved.user.as_deref(), Some("ferry_admin"));
        assert_eq!(resolved.password().map(Secret::expose), Some(pw.as_str()));
        assert_eq!(resolved.param("sslmode"), Some("verify-full"));
        assert!(!format!("{resolved} {resolved:?}").contains(&pw));
    }

    // Teardown refuses deletion protection without --force, then deletes everything.
    let mut td = TeardownSpec {
        name: name.clone(),
        final_snapshot: None,
        force: false,
    };
    let err = teardown(&c, &td, &wait(), &Quiet)
        .await
        .expect_err("protected");
    assert!(matches!(err, AwsError::DeletionProtected { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert!(!discover(&c, &name, None)
        .await
        .expect("discover")
        .is_empty());
    td.force = true;
    let gone = teardown(&c, &td, &wait(), &Quiet).await.expect("teardown");
    assert!(
        gone.deleted.iter().any(|d| d.starts_with("secret")),
        "{:?}",
        gone.deleted
    );
    assert!(discover(&c, &name, None)
        .await
        .expect("discover")
        .is_empty());
    // Tearing down nothing is fine.
    assert!(teardown(&c, &td, &wait(), &Quiet)
        .await
        .expect("again")
        .deleted
        .is_empty());
    first
}

#[tokio::test]
async fn rds_postgres_full_cycle() {
    let p = full_cycle(Engine::Postgres, |_| {}).await;
    assert_eq!(p.connection.port, 5432);
    assert!(p.connection.reader.is_none());
}

#[tokio::test]
async fn rds_mysql_full_cycle() {
    let p = full_cycle(Engine::Mysql, |s| s.db_name = Some("shop".into())).await;
    assert_eq!(p.connection.port, 3306);
    assert_eq!(p.connection.database, "shop");
    assert!(p.connection.to_env().starts_with("MYSQL_HOST="));
}

#[tokio::test]
async fn aurora_postgresql_full_cycle() {
    let p = full_cycle(Engine::AuroraPostgresql, |_| {}).await;
    assert!(
        p.connection.host.contains(".cluster-"),
        "{}",
        p.connection.host
    );
}

#[tokio::test]
async fn aurora_mysql_serverless_v2_with_reader() {
    let c = clients().await;
    let name = unique("tsv2");
    let mut spec = ProvisionSpec::new(&name, Engine::AuroraMysql);
    spec.serverless_v2 = Some(ServerlessRange { min: 0.5, max: 4.0 });
    spec.read_replica = true;
    let p = provision(&c, &spec, &wait(), &Quiet)
        .await
        .expect("provision");
    let cluster = c
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(&name)
        .send()
        .await
        .expect("describe");
    let sv2 = cluster.db_clusters()[0]
        .serverless_v2_scaling_configuration()
        .expect("serverless v2 range");
    assert_eq!(
        (sv2.min_capacity(), sv2.max_capacity()),
        (Some(0.5), Some(4.0))
    );
    let writer = find_instance(&c, &spec.writer_id())
        .await
        .expect("d")
        .expect("writer");
    assert_eq!(writer.status, "available");
    let w = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(spec.writer_id())
        .send()
        .await
        .expect("describe");
    assert_eq!(
        w.db_instances()[0].db_instance_class(),
        Some("db.serverless")
    );
    assert!(find_instance(&c, &spec.reader_id())
        .await
        .expect("d")
        .is_some());
    let (reader_host, _) = p.connection.reader.clone().expect("reader endpoint");
    assert!(reader_host.contains("cluster-ro"), "{reader_host}");
    let env = p.connection.to_env();
    assert!(env.contains("MYSQL_READER_HOST="), "{env}");
    let td = TeardownSpec {
        name: name.clone(),
        final_snapshot: Some(format!("{name}-final")),
        force: true,
    };
    let gone = teardown(&c, &td, &wait(), &Quiet).await.expect("teardown");
    assert_eq!(
        gone.secret_recovery_days,
        Some(30),
        "secret kept for the snapshot"
    );
    assert!(find_cluster(&c, &name).await.expect("d").is_none());
}

#[tokio::test]
async fn rds_postgres_read_replica() {
    let c = clients().await;
    let name = unique("trr");
    let mut spec = ProvisionSpec::new(&name, Engine::Postgres);
    spec.read_replica = true;
    let p = provision(&c, &spec, &wait(), &Quiet)
        .await
        .expect("provision");
    assert_secure_instance(&c, &spec.reader_id(), false).await;
    let (host, port) = p.connection.reader.clone().expect("reader");
    assert!(host.starts_with(&spec.reader_id()), "{host}");
    assert_eq!(port, 5432);
    assert!(p.connection.to_env().contains("PG_READER_PORT=5432"));
    // Adding the replica later to an existing deployment also works (idempotent).
    let again = provision(&c, &spec, &wait(), &Quiet).await.expect("again");
    assert!(again.created.is_empty());
    let td = TeardownSpec {
        name,
        final_snapshot: None,
        force: true,
    };
    let gone = teardown(&c, &td, &wait(), &Quiet).await.expect("teardown");
    assert_eq!(gone.deleted.len(), 3, "{:?}", gone.deleted);
}

#[tokio::test]
async fn resumes_after_interruption_between_secret_and_database() {
    let c = clients().await;
    let name = unique("tresume");
    let spec = ProvisionSpec::new(&name, Engine::Postgres);
    // An interrupted run: the secret was created, the database was not.
    let secret = ferry_aws::requests::initial_secret(&spec, Secret::new("Resume-Pass-123456"));
    ferry_aws::requests::create_secret(&c, &spec, &secret)
        .send()
        .await
        .expect("secret");
    let p = provision(&c, &spec, &wait(), &Quiet).await.expect("resume");
    assert_eq!(p.reused, vec![format!("secret {}", spec.secret_name())]);
    assert_eq!(p.created, vec![format!("DB instance {name}")]);
    let value = read_secret(&c, &p.connection.secret_arn)
        .await
        .expect("secret");
    assert_eq!(value.password.expose(), "Resume-Pass-123456");
    assert_eq!(value.host, p.connection.host);
    let td = TeardownSpec {
        name,
        final_snapshot: None,
        force: true,
    };
    teardown(&c, &td, &wait(), &Quiet).await.expect("teardown");
}

#[tokio::test]
async fn refuses_names_taken_by_others() {
    let c = clients().await;
    // A DB instance ferry did not create.
    let name = unique("ttaken");
    c.rds
        .create_db_instance()
        .db_instance_identifier(&name)
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("someone")
        .master_user_password("Someone-Else-123")
        .send()
        .await
        .expect("foreign instance");
    let spec = ProvisionSpec::new(&name, Engine::Postgres);
    let err = provision(&c, &spec, &wait(), &Quiet)
        .await
        .expect_err("refused");
    assert!(matches!(err, AwsError::NameTaken { .. }), "{err}");
    assert!(err.to_string().contains("not created by ferry"), "{err}");
    let d = discover(&c, &name, None).await.expect("discover");
    assert!(d.secret.is_none(), "nothing created before refusing");
    let err = plan(&c, &spec).await.expect_err("dry run refuses too");
    assert!(matches!(err, AwsError::NameTaken { .. }));
    let td = TeardownSpec {
        name: name.clone(),
        final_snapshot: None,
        force: true,
    };
    let err = teardown(&c, &td, &wait(), &Quiet)
        .await
        .expect_err("not ours");
    assert!(matches!(err, AwsError::NameTaken { .. }), "{err}");
    assert!(
        find_instance(&c, &name).await.expect("d").is_some(),
        "left alone"
    );

    // A secret ferry did not create.
    let name = unique("tsecret");
    c.secrets
        .create_secret()
        .name(format!("ferry/{name}"))
        .secret_string("{}")
        .send()
        .await
        .expect("foreign secret");
    let err = provision(
        &c,
        &ProvisionSpec::new(&name, Engine::Mysql),
        &wait(),
        &Quiet,
    )
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("secret `ferry/"), "{err}");
}

#[tokio::test]
async fn dry_run_calls_nothing_that_changes() {
    let c = clients().await;
    let name = unique("tdry");
    let mut spec = ProvisionSpec::new(&name, Engine::AuroraPostgresql);
    spec.serverless_v2 = Some(ServerlessRange { min: 0.5, max: 2.0 });
    spec.read_replica = true;
    spec.kms_key = Some("alias/ferry".into());
    let p = plan(&c, &spec).await.expect("plan");
    let text = p.to_string();
    for want in [
        "would create: secret ferry/",
        "would create: DB cluster",
        "would create: DB instance (writer)",
        "would create: DB instance (reader)",
        "storage_encrypted = true",
        "kms_key = alias/ferry",
        "deletion_protection = true",
        "iam_database_authentication = true",
        "publicly_accessible = false",
        "copy_tags_to_snapshot = true",
        "backup_retention_days = 7",
        "serverless_v2 = 0.5-2 ACU",
        "master_password = ***",
    ] {
        assert!(text.contains(want), "missing `{want}` in\n{text}");
    }
    assert!(discover(&c, &name, None)
        .await
        .expect("discover")
        .is_empty());
}

#[tokio::test]
async fn malformed_and_missing_secrets_say_why_without_values() {
    let c = clients().await;
    let name = unique("tbad");
    c.secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"engine":"postgres","host":"h","password":"Leaky-Value-987"}"#)
        .send()
        .await
        .expect("secret");
    let url = ConnUrl::parse(&format!("secret://{name}")).expect("url");
    let err = resolve_secret_url_with(&c, &url)
        .await
        .expect_err("malformed");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("`username` is missing"), "{shown}");
    assert!(!shown.contains("Leaky"), "{shown}");

    let url = ConnUrl::parse(&format!("secret://{name}-missing")).expect("url");
    let err = resolve_secret_url_with(&c, &url)
        .await
        .expect_err("missing");
    assert!(err.to_string().contains("does not exist"), "{err}");

    // A plain URL passes through untouched.
    let plain = ConnUrl::parse("postgres://u:p@h:5432/d").expect("url");
    assert_eq!(
        resolve_secret_url_with(&c, &plain).await.expect("same"),
        plain
    );
}

#[tokio::test]
async fn secret_scheduled_for_deletion_is_explained() {
    let c = clients().await;
    let name = unique("tpend");
    let spec = ProvisionSpec::new(&name, Engine::Postgres);
    let secret = ferry_aws::requests::initial_secret(&spec, Secret::new("Pending-Pass-123456"));
    ferry_aws::requests::create_secret(&c, &spec, &secret)
        .send()
        .await
        .expect("secret");
    c.secrets
        .delete_secret()
        .secret_id(spec.secret_name())
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("schedule deletion");
    let err = provision(&c, &spec, &wait(), &Quiet)
        .await
        .expect_err("conflict");
    assert!(err.to_string().contains("scheduled for deletion"), "{err}");
}

#[tokio::test]
async fn engine_mismatch_on_rerun_is_refused() {
    let c = clients().await;
    let name = unique("tmix");
    let spec = ProvisionSpec::new(&name, Engine::Postgres);
    provision(&c, &spec, &wait(), &Quiet)
        .await
        .expect("provision");
    let other = ProvisionSpec::new(&name, Engine::Mysql);
    let err = provision(&c, &other, &wait(), &Quiet)
        .await
        .expect_err("mismatch");
    assert!(
        err.to_string().contains("engine postgres, not mysql"),
        "{err}"
    );
    let td = TeardownSpec {
        name,
        final_snapshot: None,
        force: true,
    };
    teardown(&c, &td, &wait(), &Quiet).await.expect("teardown");
}

#[tokio::test]
async fn bad_input_fails_before_any_call() {
    let c = clients().await;
    let mut spec = ProvisionSpec::new(unique("tbadin"), Engine::Postgres);
    spec.serverless_v2 = Some(ServerlessRange { min: 0.5, max: 2.0 });
    let err = provision(&c, &spec, &wait(), &Quiet)
        .await
        .expect_err("invalid");
    assert!(err
        .to_string()
        .contains("--serverless-v2 needs an Aurora engine"));
    assert!(discover(&c, &spec.name, None).await.expect("d").is_empty());
    let missing_region = ferry_aws::AwsOptions {
        region: None,
        ..common::options()
    };
    let err = AwsClients::connect(&missing_region)
        .await
        .expect_err("no region");
    assert!(err.to_string().contains("no AWS region"), "{err}");
}

#[tokio::test]
async fn iam_tokens_are_signed_locally_and_redacted() {
    let c = clients().await;
    let token = ferry_aws::iam_auth_token(&c, "db.example.internal", 5432, "app_user")
        .await
        .expect("token");
    let t = token.expose();
    assert!(t.starts_with("db.example.internal:5432/?"), "{t}");
    assert!(
        t.contains("Action=connect") && t.contains("DBUser=app_user"),
        "{t}"
    );
    assert!(t.contains("X-Amz-Signature="), "{t}");
    assert_eq!(format!("{token} {token:?}"), "*** ***");
    let url = ConnUrl::parse("postgres://app_user@db.example.internal/shop").expect("url");
    let with = ferry_aws::with_iam_token(&c, &url)
        .await
        .expect("token url");
    assert!(with.password().is_some());
    assert!(!with.to_string().contains("X-Amz"));
}
