//! Checks on a connection URL's text that keep mistakes from turning into something quieter:
//! an unknown query parameter (`?sslmod=require`) is an error naming the nearest known one,
//! and a user name or password holding an unencoded `/` or `?` is refused without echoing
//! any of it.

use crate::error::{Error, Result};
use crate::schema::Dialect;
use crate::url::UrlKind;

/// Parameters every database URL understands (TLS and a password).
const SERVER_PARAMS: &[&str] = &["sslmode", "ssl-mode", "sslrootcert", "ssl-ca", "password"];
/// Parameters only a PostgreSQL URL understands.
const POSTGRES_PARAMS: &[&str] = &["schema"];
/// Parameters only a MySQL URL understands.
const MYSQL_PARAMS: &[&str] = &["mysql-load"];
/// Parameters of a `secret://` URL that replace the secret's own fields.
pub const SECRET_OVERRIDES: &[&str] = &["host", "port", "dbname", "engine"];
/// Parameters whose values are file paths, where an `@` is ordinary.
const PATH_PARAMS: &[&str] = &["sslrootcert", "ssl-ca"];

/// The spelling [`crate::ConnUrl::param`] compares: lower case, `_` as `-`.
pub(crate) fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// The parameters a URL of this kind may carry.
pub fn known_params(kind: UrlKind) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    match kind {
        UrlKind::Database(Dialect::Sqlite) => {}
        UrlKind::Database(Dialect::Postgres) => {
            out.extend(SERVER_PARAMS);
            out.extend(POSTGRES_PARAMS);
        }
        UrlKind::Database(Dialect::Mysql) => {
            out.extend(SERVER_PARAMS);
            out.extend(MYSQL_PARAMS);
        }
        UrlKind::Secret => {
            out.extend(SECRET_OVERRIDES);
            out.extend(SERVER_PARAMS.iter().filter(|p| **p != "password"));
            out.extend(POSTGRES_PARAMS);
            out.extend(MYSQL_PARAMS);
        }
    }
    out
}

/// Refuse a parameter this kind of URL does not know, naming the nearest known one. Only
/// the parameter's name is shown, never its value.
pub fn check_params(kind: UrlKind, scheme: &str, params: &[(String, String)]) -> Result<()> {
    let known = known_params(kind);
    for (name, _) in params {
        let norm = normalize(name);
        if known.iter().any(|k| normalize(k) == norm) {
            continue;
        }
        let shown = printable(name);
        if known.is_empty() {
            return Err(Error::config(format!(
                "unknown URL parameter `{shown}`: {scheme} URLs take no parameters"
            )));
        }
        let nearest = known
            .iter()
            .min_by_key(|k| edit_distance(&norm, &normalize(k)))
            .copied()
            .unwrap_or_default();
        return Err(Error::config(format!(
            "unknown URL parameter `{shown}`; did you mean `{nearest}`? ({scheme} URLs take: {})",
            known.join(", ")
        )));
    }
    Ok(())
}

/// Refuse a server URL whose user-info seems to hold an unencoded `/` or `?`: the
/// authority (before the first `/` or `?`) has no `@`, but the text after it does, outside
/// the value of a path parameter. The message quotes nothing of the URL.
pub fn check_userinfo(after_slashes: &str) -> Result<()> {
    let end = after_slashes
        .find(['/', '?'])
        .unwrap_or(after_slashes.len());
    if after_slashes[..end].contains('@') {
        return Ok(());
    }
    let tail = &after_slashes[end..];
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let stray_at = path.contains('@')
        || query.split('&').any(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            k.contains('@') || (v.contains('@') && !PATH_PARAMS.contains(&normalize(k).as_str()))
        });
    if stray_at {
        return Err(Error::config(
            "the URL's user name or password seems to contain `/`, `?` or `#`: percent-encode \
             them (`/` as %2F, `?` as %3F, `#` as %23, `@` as %40), or give the password in \
             PGPASSWORD / MYSQL_PWD instead",
        ));
    }
    Ok(())
}

/// `text` with the password of every `scheme://user:password@host` in it replaced by `***`,
/// for messages that quote what the user typed (a URL given where no URL belongs).
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "'\"`".contains(c))
            .unwrap_or(rest.len());
        let token = &rest[..end];
        match token.rfind('@') {
            Some(at) => {
                let user = token[..at].split(':').next().unwrap_or_default();
                out.push_str(user);
                if token[..at].contains(':') {
                    out.push_str(":***");
                }
                out.push_str(&token[at..]);
            }
            None => out.push_str(token),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A name safe to print: control characters escaped, at most 40 characters.
fn printable(name: &str) -> String {
    name.chars().take(40).flat_map(char::escape_debug).collect()
}

/// Levenshtein distance, for "did you mean".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names() {
        assert_eq!(edit_distance("sslmod", "sslmode"), 1);
        let err = check_params(
            UrlKind::Database(Dialect::Postgres),
            "postgres",
            &[("sslmod".into(), "require".into())],
        )
        .expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("did you mean `sslmode`"), "{text}");
        assert!(!text.contains("require"), "{text}");
        check_params(
            UrlKind::Database(Dialect::Mysql),
            "mysql",
            &[("SSL_MODE".into(), "REQUIRED".into())],
        )
        .expect("known in another spelling");
    }

    #[test]
    fn redacts_passwords_in_free_text() {
        assert_eq!(
            redact_userinfo("unexpected argument 'postgres://u:p@ss/w?x@h:5/d' found; mysql://a@b"),
            "unexpected argument 'postgres://u:***@h:5/d' found; mysql://a@b"
        );
    }

    #[test]
    fn stray_user_info() {
        for bad in ["u:pa/ss@h/db", "u:pa?ss@h/db", "u:pa?x=1@h/db", "u:p/a@h"] {
            assert!(check_userinfo(bad).is_err(), "{bad}");
        }
        for good in [
            "u:pass@h/db",
            "h/db",
            "h:5432/db?sslrootcert=/certs/a@b.pem",
            "u:p@ss@h/db",
        ] {
            check_userinfo(good).expect(good);
        }
    }
}
