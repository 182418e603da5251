//! ferry's AWS side: provisioning an RDS instance or Aurora cluster behind a Secrets Manager
//! secret, tearing it down, resolving `secret://` URLs, and IAM auth tokens.
//!
//! It knows no rows and no migration engine: it returns endpoints ([`Connection`]) and
//! credential handles ([`ferry_core::ConnUrl`] with a redacting password). Every SDK client
//! is built by [`AwsClients::connect`], which honours region, profile, the credential chain
//! and the endpoint override. No password reaches a `Display`, `Debug` or error message.

pub mod app_secret;
pub mod client;
pub mod connection;
pub mod discover;
pub mod error;
pub mod iam;
pub mod progress;
pub mod provision;
pub mod requests;
pub mod secret;
pub mod secret_url;
pub mod spec;
pub mod teardown;

pub use client::{endpoint_is_loopback, is_loopback_host, AwsClients, AwsOptions};
pub use connection::{AppLogin, Connection};
pub use error::AwsError;
pub use iam::{iam_auth_token, with_iam_token};
pub use progress::{Event, Progress, Quiet};
pub use provision::{plan, provision, Plan, Provisioned, WaitOptions};
pub use secret::{RdsSecret, SecretFields, TEST_ENDPOINT_OVERRIDE_ENV};
pub use secret_url::{resolve_secret_url, resolve_secret_url_with};
pub use spec::{Engine, ProvisionSpec, ServerlessRange};
pub use teardown::{plan_teardown, teardown, TeardownSpec, TornDown};
