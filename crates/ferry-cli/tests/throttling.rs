//! AWS throttling through the `ferry` binary: a fault-injecting proxy on loopback (shared with
//! ferry-aws's tests) answers chosen calls with each service's real throttling error and
//! forwards everything else to moto (`scripts/servers.sh start moto`;
//! `FERRY_TEST_AWS_ENDPOINT` overrides `http://127.0.0.1:55500`). A call throttled on every
//! attempt must end the run with exit code 2 and one error line: no panic, no secret.
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

#[path = "../../ferry-aws/tests/common/throttle.rs"]
mod throttle;

mod common;

use common::{endpoint as moto, moto_clients, run, unique};
use std::process::Command;
use throttle::{Rule, Service, ThrottleProxy};

/// `ferry` with every AWS call sent to `endpoint` (given both as AWS_ENDPOINT_URL and as
/// --endpoint-url), without backtraces.
fn ferry(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = common::ferry_via(endpoint, args);
    cmd.env("RUST_BACKTRACE", "0")
        .args(["--endpoint-url", endpoint]);
    cmd
}

/// The one-line advice ferry gives for a throttled call.
fn throttled_line(context: &str, operation: &str, code: &str) -> String {
    format!(
        "ferry: {context}: {operation}: AWS is throttling requests ({code}); wait a minute and run the same command again"
    )
}

/// The run's very first call (DescribeSecret) is throttled on every attempt: nothing else is
/// called, and stderr is exactly the one error line.
#[test]
fn provision_throttled_at_once_gives_one_line_and_exit_2() {
    let proxy = ThrottleProxy::start(&moto(), vec![Rule::every("DescribeSecret")]);
    let name = unique("clithr");
    let (code, out, err) = run(&mut ferry(
        proxy.url(),
        &["provision", "--engine", "postgres", "--name", &name],
    ));
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "{}\n",
            throttled_line(
                &format!("provision {name}"),
                "DescribeSecret",
                "ThrottlingException"
            )
        )
    );
    let log = proxy.log();
    let (attempts, throttled) = proxy.attempts("DescribeSecret");
    assert!(attempts > 1, "the SDK retried: {log:?}");
    assert_eq!(throttled, attempts);
    assert_eq!(log.len(), attempts, "nothing else was called: {log:?}");
}

/// The wait after CreateDBInstance is throttled on every poll: the progress lines, then one
/// error line naming the call; the password (in the secret by then) appears nowhere.
#[tokio::test]
async fn provision_throttled_while_waiting_gives_one_error_line_and_no_secret() {
    let proxy = ThrottleProxy::start(
        &moto(),
        vec![Rule::every_after("DescribeDBInstances", "CreateDBInstance")],
    );
    let name = unique("clithrw");
    let (code, out, err) = run(&mut ferry(
        proxy.url(),
        &["provision", "--engine", "postgres", "--name", &name],
    ));
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert_eq!(out, "");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some(
            throttled_line(
                &format!("provision {name}"),
                "DescribeDBInstances",
                "Throttling"
            )
            .as_str()
        ),
        "{err}"
    );
    assert_eq!(
        lines[..lines.len() - 1],
        [
            format!("ferry: creating secret ferry/{name}"),
            format!("ferry: creating DB instance {name}"),
        ],
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let (attempts, throttled) = proxy.attempts("DescribeDBInstances");
    assert!(
        throttled > 1 && throttled < attempts,
        "the waiter's polls were retried, the look-ups before CreateDBInstance were not throttled: {:?}",
        proxy.log()
    );
    assert!(proxy.forwarded(Service::SecretsManager) >= 2);

    let direct = moto_clients().await;
    let secret = ferry_aws::secret::read_secret(&direct, &format!("ferry/{name}"))
        .await
        .expect("the secret exists");
    let password = secret.password.expose();
    for text in [&out, &err] {
        assert!(!text.contains(password), "password leaked: {text}");
        assert!(!text.contains("\"password\""), "{text}");
    }

    let (code, _, err) = run(&mut ferry(
        &moto(),
        &[
            "teardown",
            "--name",
            &name,
            "--skip-final-snapshot",
            "--force",
        ],
    ));
    assert_eq!(code, 0, "{err}");
}

/// `secret://` resolution (here for `ferry verify`) throttled on every attempt.
#[tokio::test]
async fn secret_resolution_throttled_gives_one_line_and_exit_2() {
    let name = unique("clithrsv");
    let password = "Cli-Throttle-Secret-90210";
    moto_clients()
        .await
        .secrets
        .create_secret()
        .name(&name)
        .secret_string(format!(
            r#"{{"engine":"postgres","host":"127.0.0.1","port":9,"username":"app","password":"{password}","dbname":"shop"}}"#
        ))
        .send()
        .await
        .expect("secret");
    let proxy = ThrottleProxy::start(&moto(), vec![Rule::every("GetSecretValue")]);
    let reference = format!("secret://{name}");
    let (code, out, err) = run(&mut ferry(
        proxy.url(),
        &["verify", "--from", &reference, "--to", &reference],
    ));
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        err,
        format!(
            "{}\n",
            throttled_line(
                &format!("--from {reference}"),
                "GetSecretValue",
                "ThrottlingException"
            )
        )
    );
    assert!(!out.contains(password) && !err.contains(password));
    let (attempts, throttled) = proxy.attempts("GetSecretValue");
    assert!(attempts > 1 && throttled == attempts, "{:?}", proxy.log());
}
