//! A missing privilege (SQLSTATE 42501, `insufficient_privilege`) as an error that names the
//! privilege, the object, and the statement that gives it.
//!
//! PostgreSQL says *what* it refused (`permission denied for schema public`, `must be owner
//! of table t`), not which grant would have allowed it; [`permission_error`] reads those
//! messages and writes the GRANT, ALTER ... OWNER or ALTER ROLE that fixes them. The user
//! is written `<user>` unless the caller knows it (the role that connected).

use ferry_core::{Error, ErrorKind};
use ferry_schema::quote::pg_name;

/// SQLSTATE `insufficient_privilege`.
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// The error for a server error with SQLSTATE `code`, `message` and `detail`, when it is a
/// missing privilege: kind [`ErrorKind::Permission`], and for the refusals PostgreSQL words
/// in a known way, the statement that fixes it. `None` for other errors.
pub fn permission_error(
    code: &str,
    message: &str,
    detail: Option<&str>,
    user: Option<&str>,
) -> Option<Error> {
    if code != INSUFFICIENT_PRIVILEGE {
        return None;
    }
    let server = match detail {
        Some(d) => format!("{message} ({d})"),
        None => message.to_string(),
    };
    let user = role_name(user);
    match missing_grant(message, detail, &user) {
        Some((missing, fix)) => Some(Error::permission(server, missing, fix)),
        None => Some(Error::new(
            ErrorKind::Permission,
            format!("{server}: the user lacks a privilege; the object's owner or an administrator can grant it"),
        )),
    }
}

/// `(what is missing, the statement that gives it)` for a refusal PostgreSQL words in a
/// known way.
fn missing_grant(message: &str, detail: Option<&str>, user: &str) -> Option<(String, String)> {
    if let Some(rest) = message.strip_prefix("permission denied for ") {
        let (kind, name) = split_kind(rest)?;
        return denied_on(kind, &pg_object(name), detail, user);
    }
    if let Some(rest) = message.strip_prefix("must be owner of ") {
        let (kind, name) = split_kind(rest)?;
        let name = pg_object(name);
        let what = match kind {
            "relation" => "TABLE".to_string(),
            "materialized view" => "MATERIALIZED VIEW".to_string(),
            other => other.to_uppercase(),
        };
        return Some((
            format!(
                "ownership of {kind} {name} (ALTER, DROP, TRUNCATE and REPLICA IDENTITY need it)"
            ),
            format!("ALTER {what} {name} OWNER TO {user};  -- run by its owner or a superuser"),
        ));
    }
    if let Some(rest) = message.strip_prefix("must be member of role ") {
        let role = pg_object(rest.trim_matches('"'));
        return Some((
            format!("membership in role {role}"),
            format!("GRANT {role} TO {user};"),
        ));
    }
    if let Some(rest) = message.strip_prefix("permission denied to create extension ") {
        let ext = pg_object(rest.trim_matches('"'));
        return Some((
            format!("the right to create extension {ext} (it is not a trusted extension)"),
            format!(
                "CREATE EXTENSION IF NOT EXISTS {ext};  -- run once in the target database by a \
                 superuser (on RDS/Aurora: the master user)"
            ),
        ));
    }
    if let Some(rest) = message.strip_prefix("permission denied to set parameter ") {
        let param = rest.trim_matches('"');
        return Some((
            format!("the right to set parameter {param}"),
            format!("GRANT SET ON PARAMETER {param} TO {user};  -- PostgreSQL 15 and later"),
        ));
    }
    let lower = format!("{message} {}", detail.unwrap_or_default()).to_ascii_lowercase();
    if lower.contains("replication")
        && (lower.contains("wal sender") || lower.contains("walsender"))
        || lower.contains("must be superuser or replication role")
        || lower.contains("must have replication")
        || lower.contains("replication attribute")
    {
        return Some((
            "the REPLICATION attribute (logical replication)".to_string(),
            format!(
                "ALTER ROLE {user} WITH REPLICATION;  -- on RDS/Aurora: GRANT rds_replication TO {user};"
            ),
        ));
    }
    if lower.contains("for all tables publication") {
        return Some((
            "superuser (a FOR ALL TABLES publication)".to_string(),
            format!("ALTER ROLE {user} WITH SUPERUSER;  -- or replicate only tables {user} owns"),
        ));
    }
    if lower.starts_with("permission denied to create database") {
        return Some((
            "the CREATEDB attribute".to_string(),
            format!("ALTER ROLE {user} WITH CREATEDB;"),
        ));
    }
    if lower.starts_with("permission denied to create role") {
        return Some((
            "the CREATEROLE attribute".to_string(),
            format!("ALTER ROLE {user} WITH CREATEROLE;"),
        ));
    }
    None
}

/// What "permission denied for KIND NAME" lacks.
fn denied_on(kind: &str, name: &str, detail: Option<&str>, user: &str) -> Option<(String, String)> {
    Some(match kind {
        "schema" => (
            format!(
                "CREATE on schema {name} (PostgreSQL 15 and later give it only to the schema's \
                 owner, and GRANT ALL ON DATABASE does not include it; or make the user \
                 its owner: ALTER SCHEMA {name} OWNER TO {user}; to read only, \
                 GRANT USAGE ON SCHEMA {name} TO {user}; is enough)"
            ),
            format!("GRANT CREATE ON SCHEMA {name} TO {user};"),
        ),
        "database" if detail.is_some_and(|d| d.contains("CONNECT")) => (
            format!("CONNECT on database {name}"),
            format!("GRANT CONNECT ON DATABASE {name} TO {user};"),
        ),
        "database" => (
            format!("CREATE on database {name} (to create schemas)"),
            format!("GRANT CREATE ON DATABASE {name} TO {user};"),
        ),
        "table" | "relation" | "view" | "materialized view" | "foreign table" => (
            format!("SELECT (to read or verify) or INSERT (to load) on {kind} {name}"),
            format!("GRANT SELECT, INSERT ON TABLE {name} TO {user};"),
        ),
        "sequence" => (
            format!("USAGE on sequence {name}"),
            format!("GRANT USAGE, SELECT, UPDATE ON SEQUENCE {name} TO {user};"),
        ),
        "function" | "procedure" | "routine" => (
            format!("EXECUTE on {kind} {name}"),
            format!("GRANT EXECUTE ON {} {name} TO {user};", kind.to_uppercase()),
        ),
        "type" | "domain" => (
            format!("USAGE on {kind} {name}"),
            format!("GRANT USAGE ON {} {name} TO {user};", kind.to_uppercase()),
        ),
        "publication" => (
            format!("ownership of publication {name}"),
            format!("ALTER PUBLICATION {name} OWNER TO {user};"),
        ),
        "tablespace" => (
            format!("CREATE on tablespace {name}"),
            format!("GRANT CREATE ON TABLESPACE {name} TO {user};"),
        ),
        "language" => (
            format!("USAGE on language {name}"),
            format!("GRANT USAGE ON LANGUAGE {name} TO {user};"),
        ),
        _ => None?,
    })
}

/// `("materialized view", "name")` from `materialized view name`: the object kinds
/// PostgreSQL names in its messages, longest first.
fn split_kind(rest: &str) -> Option<(&str, &str)> {
    const KINDS: &[&str] = &[
        "materialized view",
        "foreign table",
        "table",
        "relation",
        "view",
        "schema",
        "database",
        "sequence",
        "function",
        "procedure",
        "routine",
        "type",
        "domain",
        "publication",
        "tablespace",
        "language",
        "extension",
        "collation",
        "operator",
    ];
    KINDS.iter().find_map(|k| {
        let name = rest.strip_prefix(k)?.strip_prefix(' ')?;
        (!name.is_empty()).then_some((*k, name))
    })
}

/// An object name as PostgreSQL printed it (unquoted, perhaps `schema.name`), quoted for a
/// statement where it needs it. A name holding a dot is taken as schema-qualified.
fn pg_object(name: &str) -> String {
    let name = name.trim_matches('"');
    match name.split_once('.') {
        Some((schema, rest)) if !schema.is_empty() && !rest.is_empty() && !rest.contains('.') => {
            format!("{}.{}", pg_name(schema), pg_name(rest))
        }
        _ => pg_name(name),
    }
}

/// A role name for a message's statement: [`pg_name`], or a literal placeholder.
pub fn role_name(user: Option<&str>) -> String {
    user.map_or_else(|| "<user>".to_string(), pg_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(message: &str, detail: Option<&str>) -> String {
        let err =
            permission_error("42501", message, detail, Some("app")).expect("a permission error");
        assert_eq!(err.kind(), ErrorKind::Permission);
        err.fix().expect("a fix").to_string()
    }

    #[test]
    fn each_refusal_names_its_grant() {
        assert_eq!(
            fix("permission denied for schema public", None),
            "GRANT CREATE ON SCHEMA public TO app;"
        );
        assert_eq!(
            fix(
                "permission denied for database shop",
                Some("User does not have CONNECT privilege.")
            ),
            "GRANT CONNECT ON DATABASE shop TO app;"
        );
        assert_eq!(
            fix("permission denied for database shop", None),
            "GRANT CREATE ON DATABASE shop TO app;"
        );
        assert_eq!(
            fix("permission denied for table Orders", None),
            "GRANT SELECT, INSERT ON TABLE \"Orders\" TO app;"
        );
        assert_eq!(
            fix("permission denied for sequence users_id_seq", None),
            "GRANT USAGE, SELECT, UPDATE ON SEQUENCE users_id_seq TO app;"
        );
        assert!(fix("must be owner of table t", None).starts_with("ALTER TABLE t OWNER TO app;"));
        assert!(fix("must be owner of relation t", None).starts_with("ALTER TABLE t OWNER TO app;"));
        assert!(fix(
            "permission denied to start WAL sender",
            Some("Only roles with the REPLICATION attribute may start a WAL sender process.")
        )
        .starts_with("ALTER ROLE app WITH REPLICATION;"));
        assert!(fix(
            "must be superuser or replication role to start walsender",
            None
        )
        .contains("rds_replication"));
        assert!(
            fix("permission denied to create extension \"hstore\"", None)
                .starts_with("CREATE EXTENSION IF NOT EXISTS hstore;")
        );
    }

    #[test]
    fn the_message_keeps_what_the_server_said_and_adds_the_fix() {
        let err = permission_error("42501", "permission denied for schema public", None, None)
            .expect("permission");
        let text = err.to_string();
        assert!(
            text.starts_with(
                "permission denied for schema public: the user lacks CREATE on schema public"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("fix: GRANT CREATE ON SCHEMA public TO <user>;"),
            "{text}"
        );
        // An unknown wording is still a permission error, without an invented statement.
        let odd = permission_error("42501", "permission denied for the moon", None, None)
            .expect("permission");
        assert_eq!(odd.kind(), ErrorKind::Permission);
        assert_eq!(odd.fix(), None);
        assert!(permission_error("23505", "duplicate key", None, None).is_none());
    }
}
