//! Shared set-up for tests against moto (an AWS API emulator) on loopback.
//!
//! Start it with `scripts/servers.sh start moto`; `FERRY_TEST_AWS_ENDPOINT` overrides the
//! default `http://127.0.0.1:55500`. The tests refuse to run against anything but loopback,
//! and use dummy credentials, so nothing can reach a real AWS account.
#![allow(dead_code)]

use ferry_aws::{endpoint_is_loopback, AwsClients, AwsOptions};
pub use ferry_test_support::unique_aws_name as unique;
use ferry_test_support::AWS_TEST_ENV;
use std::sync::Once;

pub mod throttle;

/// The emulator's endpoint; panics unless it is on loopback.
pub fn endpoint() -> String {
    let url = ferry_test_support::moto_endpoint();
    assert!(
        endpoint_is_loopback(&url),
        "refusing to run: FERRY_TEST_AWS_ENDPOINT={url} is not a loopback address (127.0.0.0/8, localhost, ::1)"
    );
    url
}

static ENV: Once = Once::new();

/// Dummy credentials and no instance metadata, set once before any client is built.
pub fn isolate_env() {
    ENV.call_once(|| {
        let url = endpoint();
        // Every variable is set before the first client is built, while no other thread
        // reads the environment (Once blocks them).
        for (key, value) in AWS_TEST_ENV {
            std::env::set_var(key, value);
        }
        std::env::set_var("AWS_SESSION_TOKEN", "testing");
        std::env::set_var("AWS_ENDPOINT_URL", &url);
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_REGION");
        std::env::remove_var("AWS_DEFAULT_REGION");
    });
}

/// Options pointing at the emulator.
pub fn options() -> AwsOptions {
    isolate_env();
    AwsOptions {
        region: Some("us-east-1".to_string()),
        profile: None,
        endpoint_url: Some(endpoint()),
    }
}

/// Clients for the emulator; a clear failure when it is not running.
pub async fn clients() -> AwsClients {
    let opts = options();
    let c = AwsClients::connect(&opts).await.expect("clients");
    assert!(c.endpoint_url().is_some_and(endpoint_is_loopback));
    if let Err(e) = c.secrets.list_secrets().max_results(1).send().await {
        panic!(
            "moto is not reachable at {}: start it with `scripts/servers.sh start moto` ({e})",
            endpoint()
        );
    }
    c
}

/// Clients whose every call goes to `url` (e.g. a [`throttle::ThrottleProxy`] in front of
/// moto), with the emulator's dummy credentials. Sends nothing: the first call is the test's.
pub async fn clients_at(url: &str) -> AwsClients {
    assert!(
        endpoint_is_loopback(url),
        "refusing to run: {url} is not a loopback address"
    );
    let opts = AwsOptions {
        endpoint_url: Some(url.to_string()),
        ..options()
    };
    let c = AwsClients::connect(&opts).await.expect("clients");
    assert_eq!(c.endpoint_url(), Some(url));
    c
}
