//! [`AwsError`]: what went wrong on the AWS side, as one line a person can act on.
//!
//! Messages name the resource and the API call, never a password or a secret's value: the
//! provisioning code hands every service message through [`AwsError::scrub`] with the
//! password it holds before the message can leave the crate.

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use ferry_core::url::Secret;

/// A failure of an AWS operation or of the input that asked for it.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// Region, profile, credentials or endpoint are missing or unusable.
    #[error("AWS configuration: {0}")]
    Config(String),
    /// The request itself is wrong (unknown engine, bad serverless range, ...).
    #[error("{0}")]
    Invalid(String),
    /// A resource with ferry's name exists but ferry did not create it.
    #[error("{kind} `{name}` already exists and was not created by ferry for `{owner}` (no matching ferry tags); choose another --name or remove it yourself")]
    NameTaken {
        /// What kind of resource (`secret`, `DB instance`, `DB cluster`).
        kind: &'static str,
        /// Its identifier.
        name: String,
        /// The ferry name that was asked for.
        owner: String,
    },
    /// The resources exist but are in a state ferry will not change on its own.
    #[error("{0}")]
    Conflict(String),
    /// Teardown met deletion protection and was not told `--force`.
    #[error("{kind} `{name}` has deletion protection on; pass --force to turn it off and delete")]
    DeletionProtected {
        /// `DB instance` or `DB cluster`.
        kind: &'static str,
        /// Its identifier.
        name: String,
    },
    /// Something that must exist does not.
    #[error("{0}")]
    NotFound(String),
    /// A Secrets Manager secret that is not the RDS JSON shape ferry needs.
    #[error("secret `{secret}` is not an RDS connection secret: {reason}")]
    MalformedSecret {
        /// The secret's name or ARN.
        secret: String,
        /// What is missing or wrong (field names only, never values).
        reason: String,
    },
    /// AWS kept throttling the call after the SDK's retries.
    #[error("{operation}: AWS is throttling requests ({code}); wait a minute and run the same command again")]
    Throttled {
        /// The API call.
        operation: &'static str,
        /// The throttling error code.
        code: String,
    },
    /// AWS answered with an error.
    #[error("{operation}: {code}: {message}")]
    Api {
        /// The API call.
        operation: &'static str,
        /// AWS's error code.
        code: String,
        /// AWS's message, scrubbed of any password.
        message: String,
    },
    /// The call never got an answer (endpoint unreachable, credentials failed to load, ...).
    #[error("{operation}: {detail}")]
    Transport {
        /// The API call.
        operation: &'static str,
        /// What failed.
        detail: String,
    },
    /// A waiter gave up.
    #[error("timed out after {minutes} min waiting for {what}; run the same command again to keep waiting")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        minutes: u64,
    },
}

/// The error codes AWS uses for throttling.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

impl AwsError {
    /// Turn an SDK error of `operation` into one line.
    pub fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => AwsError::answered(operation, service.err()),
            _ => AwsError::Transport {
                operation,
                detail: causes(&err),
            },
        }
    }

    /// AWS's error answer to `operation` (its code and message), throttling or not.
    pub(crate) fn answered(operation: &'static str, e: &impl ProvideErrorMetadata) -> AwsError {
        let code = e.code().unwrap_or("Unknown").to_string();
        if THROTTLING.contains(&code.as_str()) {
            AwsError::Throttled { operation, code }
        } else {
            AwsError::Api {
                operation,
                code,
                message: e.message().unwrap_or("no message").to_string(),
            }
        }
    }

    /// The AWS error code, when AWS answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } | AwsError::Throttled { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether running the same command again later may succeed without a change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AwsError::Throttled { .. } | AwsError::Transport { .. } | AwsError::Timeout { .. }
        )
    }

    /// Replace every occurrence of `password` in the message with `***`, so that an AWS
    /// message echoing a request parameter can never carry it out.
    pub fn scrub(self, password: &Secret) -> AwsError {
        let pw = password.expose();
        if pw.is_empty() {
            return self;
        }
        let clean = |s: String| s.replace(pw, "***");
        match self {
            AwsError::Api {
                operation,
                code,
                message,
            } => AwsError::Api {
                operation,
                code,
                message: clean(message),
            },
            AwsError::Transport { operation, detail } => AwsError::Transport {
                operation,
                detail: clean(detail),
            },
            other => other,
        }
    }
}

/// Collapse a multi-line error chain into one line.
/// An error and its causes on one line (`dispatch failure: io error: ... Connection
/// refused`), each cause once, without the SDK's debug dump of the request.
pub(crate) fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = one_line(&e.to_string());
    let mut next = e.source();
    while let Some(cause) = next {
        let text = one_line(&cause.to_string());
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shorthand for results of this crate.
pub type Result<T, E = AwsError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_the_password_everywhere() {
        let pw = Secret::new("hunter2-XYZ");
        let e = AwsError::Api {
            operation: "CreateDBInstance",
            code: "InvalidParameterValue".into(),
            message: "MasterUserPassword hunter2-XYZ is bad; hunter2-XYZ".into(),
        }
        .scrub(&pw);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("InvalidParameterValue"));
    }

    #[test]
    fn messages_are_one_line() {
        let e = AwsError::NameTaken {
            kind: "DB instance",
            name: "shop".into(),
            owner: "shop".into(),
        };
        assert!(!e.to_string().contains('\n'));
        assert_eq!(one_line("a\n  b\tc"), "a b c");
    }
}
