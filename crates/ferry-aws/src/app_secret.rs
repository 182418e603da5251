//! The app user's secret (`ferry/NAME/app`, or a name the user gives to `ferry grant`): its
//! password comes from GetRandomPassword and is written only into the secret, in the RDS
//! secret shape apps and rotation functions read.
//!
//! Running again keeps the password: when the secret already holds a password for the same
//! user, that password is set on the database again (so an app that read the secret keeps
//! working); otherwise a new one is generated. Rotating is left to Secrets Manager rotation.

use crate::client::AwsClients;
use crate::discover::find_secret;
use crate::error::{AwsError, Result};
use crate::secret::{read_secret_text, RdsSecret, SecretFields};
use crate::spec::{TAG_MANAGED, TAG_NAME, TAG_ROLE};
use ferry_core::schema::Dialect;
use ferry_core::url::Secret;

/// `ferry:role` of an app user's secret.
pub const APP_SECRET_ROLE: &str = "app-secret";

/// The password an earlier run stored for `username` in secret `id`, if the secret exists,
/// is not scheduled for deletion and names that user.
pub async fn existing_password(c: &AwsClients, id: &str, username: &str) -> Result<Option<Secret>> {
    match find_secret(c, id).await? {
        Some(s) if !s.pending_deletion => {}
        _ => return Ok(None),
    }
    let (_, text) = read_secret_text(c, id).await?;
    let fields = SecretFields::parse(id, &text)?;
    Ok(
        (fields.username == username && !fields.password.expose().is_empty())
            .then_some(fields.password),
    )
}

/// A new app user password: no character that needs quoting in SQL, a URL or a shell
/// (`ferry_core::app_user::APP_PASSWORD_EXCLUDED`); 41 characters for MySQL, 64 otherwise.
pub async fn new_password(c: &AwsClients, dialect: Dialect) -> Result<Secret> {
    let length = if dialect == Dialect::Mysql { 41 } else { 64 };
    let out = c
        .secrets
        .get_random_password()
        .password_length(length)
        .exclude_characters(ferry_core::app_user::APP_PASSWORD_EXCLUDED)
        .include_space(false)
        .require_each_included_type(true)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetRandomPassword", e))?;
    let password = Secret::new(out.random_password().unwrap_or_default());
    if password.expose().len() < 8 {
        return Err(AwsError::Api {
            operation: "GetRandomPassword",
            code: "EmptyPassword".into(),
            message: "Secrets Manager returned no usable password".into(),
        });
    }
    Ok(password)
}

/// Create secret `id` holding `value` (tagged as ferry's app secret, and with the deployment
/// `name` when there is one), or put `value` as its new version; returns the ARN.
pub async fn store(
    c: &AwsClients,
    id: &str,
    value: &RdsSecret,
    deployment: Option<&str>,
    kms_key: Option<&str>,
) -> Result<String> {
    let scrub = |e: AwsError| e.scrub(&value.password);
    match find_secret(c, id).await? {
        Some(s) if s.pending_deletion => Err(AwsError::Conflict(format!(
            "secret `{}` is scheduled for deletion; restore it with `aws secretsmanager restore-secret --secret-id {}` or give another name",
            s.name, s.name
        ))),
        Some(s) => {
            if let Some(name) = deployment {
                if !s.owned_by(name) {
                    return Err(AwsError::NameTaken {
                        kind: "secret",
                        name: s.name.clone(),
                        owner: name.to_string(),
                    });
                }
            }
            c.secrets
                .put_secret_value()
                .secret_id(&s.arn)
                .secret_string(value.to_json())
                .send()
                .await
                .map_err(|e| scrub(AwsError::from_sdk("PutSecretValue", e)))?;
            Ok(s.arn)
        }
        None => {
            let mut tags = vec![
                (TAG_MANAGED, "ferry".to_string()),
                (TAG_ROLE, APP_SECRET_ROLE.to_string()),
            ];
            if let Some(name) = deployment {
                tags.push((TAG_NAME, name.to_string()));
            }
            let mut b = c
                .secrets
                .create_secret()
                .name(id)
                .description(format!(
                    "ferry: credentials of the app user `{}`",
                    value.username
                ))
                .secret_string(value.to_json())
                .set_kms_key_id(kms_key.map(str::to_string));
            for (k, v) in tags {
                b = b.tags(
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build(),
                );
            }
            let out = b
                .send()
                .await
                .map_err(|e| scrub(AwsError::from_sdk("CreateSecret", e)))?;
            Ok(out.arn().unwrap_or(id).to_string())
        }
    }
}
