//! libpq's environment for a `postgres://` URL: what the URL leaves out comes from
//! `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE` and `PGSSLROOTCERT`, and a
//! missing password from `PGPASSWORD`, else the password file (`PGPASSFILE` or
//! `~/.pgpass`). What the URL says always wins.

use super::pgpass;
use ferry_core::url::Secret;
use ferry_core::ConnUrl;

/// Where each filled-in part of a URL came from, for `--verbose` (never a value of a
/// password).
pub type Notes = Vec<String>;

/// Fill the parts `url` (a PostgreSQL URL) leaves out from libpq's environment, read
/// through `env`. Warnings (a password file others can read) go to `warn`.
pub fn fill(
    url: &mut ConnUrl,
    env: &dyn Fn(&str) -> Option<String>,
    warn: &mut dyn FnMut(&str),
) -> anyhow::Result<Notes> {
    let mut notes = Notes::new();
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if url.host.is_none() {
        if let Some(host) = var("PGHOST") {
            if host.contains(',') {
                anyhow::bail!(
                    "PGHOST lists several hosts ({host}); ferry connects to one: give it in the URL"
                );
            }
            notes.push("host from PGHOST".into());
            url.host = Some(host);
        }
    }
    if url.port.is_none() {
        if let Some(port) = var("PGPORT") {
            let port = port
                .parse::<u16>()
                .map_err(|_| anyhow::anyhow!("PGPORT={port} is not a port number"))?;
            notes.push("port from PGPORT".into());
            url.port = Some(port);
        }
    }
    if url.user.is_none() {
        if let Some(user) = var("PGUSER") {
            notes.push("user from PGUSER".into());
            url.user = Some(user);
        }
    }
    if url.database.is_none() {
        if let Some(db) = var("PGDATABASE") {
            notes.push("database from PGDATABASE".into());
            url.database = Some(db);
        }
    }
    for (param, name) in [("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")] {
        let given =
            url.param(param).is_some() || (param == "sslmode" && url.param("ssl-mode").is_some());
        if !given {
            if let Some(value) = var(name) {
                notes.push(format!("{param} from {name}"));
                url.params.push((param.to_string(), value));
            }
        }
    }
    if url.password().is_none() && !url.iam_auth {
        if let Some(pw) = var("PGPASSWORD") {
            notes.push("password from PGPASSWORD".into());
            url.set_password(Some(Secret::new(pw)));
        } else if let Some(path) = pgpass::path(env) {
            // The defaults ferry's PostgreSQL driver connects with.
            let port = url.port.unwrap_or(5432);
            let key = pgpass::Key {
                host: url.host.as_deref().unwrap_or("localhost"),
                port,
                database: url.database.as_deref().unwrap_or("postgres"),
                user: url.user.as_deref().unwrap_or("postgres"),
            };
            match pgpass::lookup(&path, &key) {
                pgpass::Found::Password { password, line } => {
                    notes.push(format!("password from {} line {line}", path.display()));
                    url.set_password(Some(Secret::new(password)));
                }
                pgpass::Found::Ignored(why) => warn(&why),
                pgpass::Found::NoMatch | pgpass::Found::NoFile => {}
            }
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn what_the_url_leaves_out_comes_from_pg_variables() {
        let env = env_of(&[
            ("PGHOST", "db.internal"),
            ("PGPORT", "6543"),
            ("PGUSER", "app"),
            ("PGDATABASE", "shop"),
            ("PGSSLMODE", "verify-full"),
            ("PGPASSWORD", "from-env"),
        ]);
        let mut url = ConnUrl::parse("postgres://").expect("url");
        let notes = fill(&mut url, &env, &mut |w| panic!("{w}")).expect("fills");
        assert_eq!(url.host.as_deref(), Some("db.internal"));
        assert_eq!(url.port, Some(6543));
        assert_eq!(url.user.as_deref(), Some("app"));
        assert_eq!(url.database.as_deref(), Some("shop"));
        assert_eq!(url.param("sslmode"), Some("verify-full"));
        assert_eq!(url.password().map(Secret::expose), Some("from-env"));
        assert!(
            notes.contains(&"password from PGPASSWORD".to_string()),
            "{notes:?}"
        );
        assert!(!format!("{notes:?} {url}").contains("from-env"));
        // The URL's own parts win.
        let mut url = ConnUrl::parse("postgres://root:given@h:1/d?sslmode=disable").expect("url");
        fill(&mut url, &env, &mut |w| panic!("{w}")).expect("fills");
        assert_eq!(url.to_string(), "postgres://root:***@h:1/d?sslmode=disable");
        assert_eq!(url.password().map(Secret::expose), Some("given"));
        // A bad PGPORT is an error naming it.
        let bad = env_of(&[("PGPORT", "five")]);
        let mut url = ConnUrl::parse("postgres://h/d").expect("url");
        let err = fill(&mut url, &bad, &mut |_| {}).expect_err("bad port");
        assert!(err.to_string().contains("PGPORT=five"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn the_password_file_fills_a_missing_password_after_pgpassword() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ferry-pgenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("pass");
        std::fs::write(&file, "h:5432:shop:app:from-file\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let path = file.display().to_string();
        let env = env_of(&[("PGPASSFILE", &path)]);
        let mut url = ConnUrl::parse("postgres://app@h/shop").expect("url");
        let notes = fill(&mut url, &env, &mut |w| panic!("{w}")).expect("fills");
        assert_eq!(url.password().map(Secret::expose), Some("from-file"));
        assert_eq!(notes, vec![format!("password from {path} line 1")]);
        // PGPASSWORD comes first, as in libpq.
        let both = env_of(&[("PGPASSFILE", &path), ("PGPASSWORD", "env")]);
        let mut url = ConnUrl::parse("postgres://app@h/shop").expect("url");
        fill(&mut url, &both, &mut |w| panic!("{w}")).expect("fills");
        assert_eq!(url.password().map(Secret::expose), Some("env"));
        // Readable by others: ignored, with a warning.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let mut warned = Vec::new();
        let mut url = ConnUrl::parse("postgres://app@h/shop").expect("url");
        fill(&mut url, &env, &mut |w| warned.push(w.to_string())).expect("fills");
        assert!(url.password().is_none());
        assert_eq!(warned.len(), 1, "{warned:?}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
