//! Throttling, for real: a fault-injecting proxy on loopback (tests/common/throttle.rs) sits in
//! front of moto and answers chosen calls with the throttling error each service sends, in
//! its own wire format; every other call is answered by moto. ferry's clients are the
//! production ones (SDK standard retries), pointed at the proxy.

mod common;

use common::throttle::{Rule, Seen, Service, ThrottleProxy};
use common::{clients, clients_at, endpoint, unique};
use ferry_aws::discover::{discover, find_instance};
use ferry_aws::secret::read_secret;
use ferry_aws::{
    provision, resolve_secret_url_with, teardown, AwsClients, AwsError, Engine, ProvisionSpec,
    Quiet, TeardownSpec, WaitOptions,
};
use ferry_core::url::Secret;
use ferry_core::ConnUrl;

/// How many attempts the SDK makes per call (its standard retry mode: 3 unless configured).
fn max_attempts(c: &AwsClients) -> usize {
    let retry = c.sdk_config().retry_config().expect("a retry config");
    retry.max_attempts() as usize
}

/// The requests to `service`, in order.
fn of(log: &[Seen], service: Service) -> Vec<Seen> {
    log.iter()
        .filter(|s| s.service == Some(service))
        .cloned()
        .collect()
}

/// Remove whatever ferry made under `name`, straight through moto.
/// Provision `engine` through a proxy applying `rules`, expecting it to fail; returns the
/// proxy, the clients that went through it, the spec and the error.
async fn provision_throttled(
    rules: Vec<Rule>,
    prefix: &str,
    engine: Engine,
) -> (ThrottleProxy, AwsClients, ProvisionSpec, AwsError) {
    let proxy = ThrottleProxy::start(&endpoint(), rules);
    let c = clients_at(proxy.url()).await;
    let spec = ProvisionSpec::new(unique(prefix), engine);
    let err = provision(&c, &spec, &WaitOptions::default(), &Quiet)
        .await
        .expect_err("throttled");
    (proxy, c, spec, err)
}

/// `operation` was tried as often as the SDK tries (more than once), and throttled each time.
fn assert_retried_to_exhaustion(proxy: &ThrottleProxy, c: &AwsClients, operation: &str) {
    let (attempts, throttled) = proxy.attempts(operation);
    assert!(attempts > 1, "the SDK retried: {:?}", proxy.log());
    assert_eq!(attempts, max_attempts(c), "{:?}", proxy.log());
    assert_eq!(throttled, attempts);
}

async fn cleanup(name: &str) {
    let td = TeardownSpec {
        name: name.to_string(),
        final_snapshot: None,
        force: true,
    };
    teardown(&clients().await, &td, &WaitOptions::default(), &Quiet)
        .await
        .expect("teardown");
}

/// `err` is `Throttled` for `operation` with `code`, as one line with the advice to wait,
/// and carries no password.
fn assert_throttled(err: &AwsError, operation: &str, code: &str, password: Option<&str>) {
    match err {
        AwsError::Throttled {
            operation: op,
            code: c,
        } => {
            assert_eq!(*op, operation, "{err}");
            assert_eq!(c, code, "{err}");
        }
        other => panic!("expected Throttled for {operation}, got {other:?}: {other}"),
    }
    let line = err.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.starts_with(&format!("{operation}: AWS is throttling")),
        "{line}"
    );
    assert!(line.contains("run the same command again"), "{line}");
    assert!(err.is_retryable());
    if let Some(pw) = password {
        assert!(!format!("{err} {err:?}").contains(pw), "password leaked");
    }
}

/// The first calls of both services are throttled twice; the SDK's retries absorb it and
/// provisioning finishes as if nothing happened.
#[tokio::test]
async fn provision_absorbs_throttling_of_the_first_calls() {
    let moto = clients().await;
    let proxy = ThrottleProxy::start(
        &endpoint(),
        vec![
            Rule::first(Service::SecretsManager, 2),
            Rule::first(Service::Rds, 2),
        ],
    );
    let c = clients_at(proxy.url()).await;
    assert!(max_attempts(&c) > 2, "retries must outlast two throttles");
    let name = unique("tthr");
    let spec = ProvisionSpec::new(&name, Engine::Postgres);
    let p = provision(&c, &spec, &WaitOptions::default(), &Quiet)
        .await
        .expect("provision despite throttling");

    // The proxy really throttled both services, and each throttled call was retried until
    // moto answered it: the same operation three times, throttled, throttled, forwarded.
    let log = proxy.log();
    for service in [Service::SecretsManager, Service::Rds] {
        let calls = of(&log, service);
        assert_eq!(proxy.throttled(service), 2, "{service:?}: {log:?}");
        assert!(calls.len() > 3, "{service:?}: {log:?}");
        assert!(
            calls[..3].iter().all(|s| s.operation == calls[0].operation),
            "{service:?}: {log:?}"
        );
        assert_eq!(
            calls[..3].iter().map(|s| s.throttled).collect::<Vec<_>>(),
            [true, true, false],
            "{service:?}: {log:?}"
        );
    }

    // What ferry reports is what moto holds.
    let instance = find_instance(&moto, &name)
        .await
        .expect("describe")
        .expect("the instance exists in moto");
    assert_eq!(instance.host.as_deref(), Some(p.connection.host.as_str()));
    let secret = read_secret(&moto, &p.connection.secret_arn)
        .await
        .expect("secret");
    assert_eq!(secret.host, p.connection.host);
    assert!(secret.password.expose().len() >= 8);
    assert_eq!(p.created.len(), 2, "{:?}", p.created);
    cleanup(&name).await;
}

/// `secret://` resolution whose first GetSecretValue calls are throttled still resolves.
#[tokio::test]
async fn secret_resolution_absorbs_throttling() {
    let moto = clients().await;
    let name = unique("tthrsec");
    let password = "Throttle-Resolve-48151";
    moto.secrets
        .create_secret()
        .name(&name)
        .secret_string(format!(
            r#"{{"engine":"postgres","host":"db.example.internal","port":5432,"username":"app","password":"{password}","dbname":"shop"}}"#
        ))
        .send()
        .await
        .expect("secret");
    let proxy = ThrottleProxy::start(&endpoint(), vec![Rule::first(Service::SecretsManager, 2)]);
    let c = clients_at(proxy.url()).await;
    let url = ConnUrl::parse(&format!("secret://{name}")).expect("url");
    let resolved = resolve_secret_url_with(&c, &url).await.expect("resolved");
    assert_eq!(resolved.host.as_deref(), Some("db.example.internal"));
    assert_eq!(resolved.password().map(Secret::expose), Some(password));
    assert_eq!(
        proxy.attempts("GetSecretValue"),
        (3, 2),
        "{:?}",
        proxy.log()
    );
    assert_eq!(proxy.throttled(Service::SecretsManager), 2);
}

/// CreateDBInstance throttled on every attempt: after the SDK's retries, provisioning fails
/// with `Throttled` naming the call, and the password (already in the secret) stays hidden.
#[tokio::test]
async fn create_instance_throttled_every_time_fails_with_throttled() {
    let (proxy, c, spec, err) = provision_throttled(
        vec![Rule::every("CreateDBInstance")],
        "tthrci",
        Engine::Mysql,
    )
    .await;
    let name = spec.name.clone();
    let moto = clients().await;
    let secret = read_secret(&moto, &spec.secret_name())
        .await
        .expect("the secret was created before the database");
    assert_throttled(
        &err,
        "CreateDBInstance",
        "Throttling",
        Some(secret.password.expose()),
    );
    assert_retried_to_exhaustion(&proxy, &c, "CreateDBInstance");
    assert!(find_instance(&moto, &name).await.expect("d").is_none());
    cleanup(&name).await;
}

/// GetRandomPassword (Secrets Manager, awsJson1.1) throttled on every attempt: `Throttled`
/// with the JSON protocol's code, and nothing created.
#[tokio::test]
async fn random_password_throttled_every_time_fails_with_throttled() {
    let (proxy, c, spec, err) = provision_throttled(
        vec![Rule::every("GetRandomPassword")],
        "tthrpw",
        Engine::Postgres,
    )
    .await;
    assert_throttled(&err, "GetRandomPassword", "ThrottlingException", None);
    assert_retried_to_exhaustion(&proxy, &c, "GetRandomPassword");
    assert!(discover(&clients().await, &spec.name, None)
        .await
        .expect("discover")
        .is_empty());
}

/// GetSecretValue throttled on every attempt: `secret://` resolution fails with `Throttled`.
#[tokio::test]
async fn secret_resolution_throttled_every_time_fails_with_throttled() {
    let moto = clients().await;
    let name = unique("tthrsv");
    let password = "Throttle-Always-16234";
    moto.secrets
        .create_secret()
        .name(&name)
        .secret_string(format!(
            r#"{{"engine":"mysql","host":"db.example.internal","username":"app","password":"{password}"}}"#
        ))
        .send()
        .await
        .expect("secret");
    let proxy = ThrottleProxy::start(&endpoint(), vec![Rule::every("GetSecretValue")]);
    let c = clients_at(proxy.url()).await;
    let url = ConnUrl::parse(&format!("secret://{name}")).expect("url");
    let err = resolve_secret_url_with(&c, &url)
        .await
        .expect_err("throttled");
    assert_throttled(
        &err,
        "GetSecretValue",
        "ThrottlingException",
        Some(password),
    );
    let (attempts, throttled) = proxy.attempts("GetSecretValue");
    assert_eq!(attempts, max_attempts(&c), "{:?}", proxy.log());
    assert!(attempts > 1 && throttled == attempts);
}

/// The waiter's DescribeDBInstances throttled on every attempt after the instance was
/// created: the wait fails with `Throttled` naming the polling call, not an opaque waiter
/// error, so the advice to run again (which resumes) is given.
#[tokio::test]
async fn throttled_waiter_fails_with_throttled() {
    let (proxy, c, spec, err) = provision_throttled(
        vec![Rule::every_after("DescribeDBInstances", "CreateDBInstance")],
        "tthrw",
        Engine::Postgres,
    )
    .await;
    let name = spec.name.clone();
    let moto = clients().await;
    let secret = read_secret(&moto, &spec.secret_name())
        .await
        .expect("secret");
    assert_throttled(
        &err,
        "DescribeDBInstances",
        "Throttling",
        Some(secret.password.expose()),
    );
    let log = proxy.log();
    let after_create: Vec<&Seen> = log
        .iter()
        .skip_while(|s| s.operation != "CreateDBInstance")
        .skip(1)
        .collect();
    assert_eq!(after_create.len(), max_attempts(&c), "{log:?}");
    assert!(
        after_create
            .iter()
            .all(|s| s.throttled && s.operation == "DescribeDBInstances"),
        "{log:?}"
    );
    assert!(
        find_instance(&moto, &name).await.expect("d").is_some(),
        "created"
    );
    cleanup(&name).await;
}
