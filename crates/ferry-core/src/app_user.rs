//! The application's own login: what `ferry grant` / `--app-user` asks a target driver to
//! create, and what the driver reports back. The drivers (PostgreSQL, MySQL) turn it into
//! their SQL; no statement shown here ever holds the password.

use crate::error::{Error, Result};
use crate::url::Secret;

/// How the app user proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppAuth {
    /// A password (from Secrets Manager's GetRandomPassword); `Debug` shows `***`.
    Password(Secret),
    /// IAM database authentication: `rds_iam` (PostgreSQL) or `AWSAuthenticationPlugin`
    /// (MySQL); the login has no password.
    Iam,
}

/// The app user to create or reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUserSpec {
    /// Login name (checked by [`validate_app_user`]).
    pub name: String,
    /// Password or IAM.
    pub auth: AppAuth,
}

/// What a driver did for an app user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppUserReport {
    /// Whether the login was created now (false: it existed and was reset).
    pub created: bool,
    /// The database the grants are on.
    pub database: String,
    /// The schemas the grants are on (PostgreSQL; empty for MySQL).
    pub schemas: Vec<String>,
    /// How many tables the user may now read and write.
    pub tables: usize,
    /// Every statement run, in order, with the password shown as `***`.
    pub statements: Vec<String>,
    /// What the user should know (e.g. PUBLIC's rights the app user shares).
    pub warnings: Vec<String>,
}

/// Longest app user name: MySQL and MariaDB allow 32 characters (PostgreSQL 63).
pub const MAX_APP_USER_LEN: usize = 32;

/// Check an app user name before any statement: 1-32 characters, a lower-case letter then
/// lower-case letters, digits or `_` (so it needs no quoting in any dialect and reads the
/// same in PostgreSQL, which folds unquoted names to lower case), and not the login that
/// runs the grants (`admin`), whose rights it would reset.
pub fn validate_app_user(name: &str, admin: Option<&str>) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_APP_USER_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(Error::config(format!(
            "--app-user `{name}`: use 1-{MAX_APP_USER_LEN} lower-case letters, digits and `_`, starting with a letter"
        )));
    }
    let reserved = [
        "postgres",
        "root",
        "rdsadmin",
        "rds_superuser",
        "rds_iam",
        "public",
        "mysql",
        "mariadb.sys",
    ];
    if reserved.contains(&name) || admin.is_some_and(|a| a == name) {
        return Err(Error::config(format!(
            "--app-user `{name}` is the administrator or a built-in role; the app needs a login of its own"
        )));
    }
    Ok(())
}

/// Replace every occurrence of the password in `text` by `***` (for errors a server might
/// build from a statement).
pub fn scrub(text: &str, auth: &AppAuth) -> String {
    match auth {
        AppAuth::Password(p) if !p.expose().is_empty() => text.replace(p.expose(), "***"),
        _ => text.to_string(),
    }
}

/// Characters an app user password never holds: what RDS refuses in passwords, plus quotes,
/// backslash and backtick, so it goes into a SQL literal, a URL or a shell variable as is.
pub const APP_PASSWORD_EXCLUDED: &str = "/@\" '\\`";

/// The password as a SQL string literal, refusing one that holds a quote or backslash
/// (ferry's generated passwords never do: [`APP_PASSWORD_EXCLUDED`]).
pub fn password_literal(password: &Secret) -> Result<String> {
    let p = password.expose();
    if p.is_empty() || p.contains(['\'', '\\', '\0']) {
        return Err(Error::config(
            "the app user's password is empty or holds a quote or backslash; ferry's generated passwords never do",
        ));
    }
    Ok(format!("'{p}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        validate_app_user("shop_app", Some("ferry_admin")).expect("valid");
        for bad in ["", "Shop", "1app", "app-user", "a\"b", &"a".repeat(33)] {
            assert!(validate_app_user(bad, None).is_err(), "{bad}");
        }
        assert!(validate_app_user("ferry_admin", Some("ferry_admin")).is_err());
        assert!(validate_app_user("postgres", None).is_err());
    }

    #[test]
    fn passwords_never_show() {
        let auth = AppAuth::Password(Secret::new("s3cr3t-Pw"));
        assert!(!format!("{auth:?}").contains("s3cr3t"));
        assert_eq!(scrub("x s3cr3t-Pw y", &auth), "x *** y");
        assert!(password_literal(&Secret::new("a'b")).is_err());
        assert_eq!(password_literal(&Secret::new("ab1")).expect("ok"), "'ab1'");
    }
}
