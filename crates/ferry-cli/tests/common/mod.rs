//! Shared by the binary's AWS tests: moto on loopback (`scripts/servers.sh start moto`;
//! `FERRY_TEST_AWS_ENDPOINT` overrides `http://127.0.0.1:55500`), the `ferry` binary with a
//! sealed-off AWS environment, and in-process clients for setting up and inspecting.
#![allow(dead_code)]

use std::process::{Command, Output};

pub use ferry_test_support::unique_aws_name as unique;
use ferry_test_support::AWS_TEST_ENV;

/// moto's endpoint; refuses anything but loopback.
pub fn endpoint() -> String {
    let url = ferry_test_support::moto_endpoint();
    assert!(
        ferry_aws::endpoint_is_loopback(&url),
        "refusing to run: FERRY_TEST_AWS_ENDPOINT={url} is not a loopback address"
    );
    url
}

/// `ferry` with dummy credentials, no instance metadata, no user config, and every AWS call
/// sent to `endpoint` (which must be on loopback).
pub fn ferry_via(endpoint: &str, args: &[&str]) -> Command {
    assert!(ferry_aws::endpoint_is_loopback(endpoint), "{endpoint}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key == ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV {
            cmd.env_remove(key);
        }
    }
    cmd.envs(AWS_TEST_ENV)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .args(args);
    cmd
}

/// Exit code, stdout and stderr.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("ferry runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

static ENV: std::sync::Once = std::sync::Once::new();

/// In-process clients straight to moto, to set up and inspect.
pub async fn moto_clients() -> ferry_aws::AwsClients {
    ENV.call_once(|| {
        // Set once, before this process builds a client; the children get their
        // environment explicitly from `ferry_via()`.
        for (key, value) in AWS_TEST_ENV {
            std::env::set_var(key, value);
        }
    });
    let opts = ferry_aws::AwsOptions {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint()),
    };
    ferry_aws::AwsClients::connect(&opts)
        .await
        .expect("clients")
}

/// Run SQL on the local PostgreSQL with psql; `pw` is bound as the psql variable `pw`.
pub fn psql(admin_url: &str, pw: &str, sql: &str) {
    use std::io::Write;
    let mut child = Command::new("psql")
        .args([admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-v"])
        .arg(format!("pw={pw}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("write sql");
    assert!(child.wait().expect("psql").success(), "psql failed: {sql}");
}
