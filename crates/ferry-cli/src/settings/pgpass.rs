//! The PostgreSQL password file (`~/.pgpass`, or the file `PGPASSFILE` names), read the way
//! libpq reads it:
//!
//! - one `hostname:port:database:username:password` per line; lines starting with `#` are
//!   comments; the first line that matches wins;
//! - each of the first four fields matches literally, or anything when it is exactly `*`;
//! - `\:` and `\\` stand for `:` and `\` in any field, the password included;
//! - on Unix the file is ignored, with a warning, when its group or others may read or
//!   write it (permissions must be 0600 or less).

use std::path::{Path, PathBuf};

/// What a connection is looked up by (after defaults are filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key<'a> {
    /// Host name as the URL gives it (`localhost`, `127.0.0.1`, `db.example.com`).
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// Database name.
    pub database: &'a str,
    /// User name.
    pub user: &'a str,
}

/// What looking in the password file found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// The password of the first matching line (1-based line number, for debug output).
    Password {
        /// The password, unescaped.
        password: String,
        /// The line it is on.
        line: usize,
    },
    /// The file was read and no line matches.
    NoMatch,
    /// There is no such file (not an error: most users have none).
    NoFile,
    /// The file is not used; the warning says why (shown to the user, like libpq does).
    Ignored(String),
}

/// The password file to use: `PGPASSFILE` when set, else `$HOME/.pgpass`.
pub fn path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".pgpass"))
}

/// Look `key` up in the password file at `path`.
pub fn lookup(path: &Path, key: &Key<'_>) -> Found {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::NoFile,
        Err(e) => {
            return Found::Ignored(format!(
                "password file \"{}\" cannot be read: {e}",
                path.display()
            ))
        }
    };
    if !meta.is_file() {
        return Found::Ignored(format!(
            "password file \"{}\" is not a plain file",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Found::Ignored(format!(
                "password file \"{}\" has group or world access; permissions should be u=rw \
                 (0600) or less; it is ignored",
                path.display()
            ));
        }
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Found::Ignored(format!(
                "password file \"{}\" cannot be read: {e}",
                path.display()
            ))
        }
    };
    find(&text, key)
}

/// The first line of `text` that matches `key`.
pub fn find(text: &str, key: &Key<'_>) -> Found {
    let port = key.port.to_string();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        let mut matched = true;
        for want in [key.host, port.as_str(), key.database, key.user] {
            match match_field(rest, want) {
                Some(after) => rest = after,
                None => {
                    matched = false;
                    break;
                }
            }
        }
        if matched {
            return Found::Password {
                password: unescape(rest),
                line: i + 1,
            };
        }
    }
    Found::NoMatch
}

/// When the field at the start of `line` matches `want`, the text after its `:`.
fn match_field<'l>(line: &'l str, want: &str) -> Option<&'l str> {
    if let Some(after) = line.strip_prefix("*:") {
        return Some(after);
    }
    let mut want = want.chars();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        let c = match c {
            ':' => {
                // The field ends: it matches when all of `want` was used.
                return want.next().is_none().then(|| &line[i + 1..]);
            }
            '\\' => match chars.next() {
                Some((_, escaped)) => escaped,
                None => return None,
            },
            other => other,
        };
        if want.next() != Some(c) {
            return None;
        }
    }
    // A line with fewer than five fields matches nothing.
    None
}

/// The password field with `\x` read as `x`.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Key<'static> = Key {
        host: "db.example.com",
        port: 5432,
        database: "shop",
        user: "app",
    };

    fn password(text: &str, key: &Key<'_>) -> Option<(String, usize)> {
        match find(text, key) {
            Found::Password { password, line } => Some((password, line)),
            _ => None,
        }
    }

    #[test]
    fn the_first_matching_line_wins_and_star_matches_anything() {
        let text = "# comment\n\
                    other.host:5432:shop:app:wrong\n\
                    db.example.com:5433:shop:app:wrong-port\n\
                    db.example.com:5432:*:app:first\n\
                    *:*:*:*:fallback\n";
        assert_eq!(password(text, &KEY), Some(("first".into(), 4)));
        let other = Key {
            host: "elsewhere",
            ..KEY
        };
        assert_eq!(password(text, &other), Some(("fallback".into(), 5)));
        assert_eq!(find("other:5432:shop:app:x\n", &KEY), Found::NoMatch);
    }

    #[test]
    fn escaped_colons_and_backslashes() {
        // A host with a colon (an IPv6 address) and a password with `:` and `\`.
        let v6 = Key { host: "::1", ..KEY };
        let text = "\\:\\:1:5432:shop:app:pa\\:ss\\\\word\n";
        assert_eq!(password(text, &v6), Some(("pa:ss\\word".into(), 1)));
        // `*` is a wildcard only as a whole field: `a*` matches the text `a*` only.
        assert_eq!(find("db*:5432:shop:app:x\n", &KEY), Found::NoMatch);
        let starry = Key { host: "db*", ..KEY };
        assert_eq!(
            password("db*:5432:shop:app:x\n", &starry),
            Some(("x".into(), 1))
        );
        // A field may not match a prefix of the wanted value, nor the other way round.
        assert_eq!(
            find("db.example.co:5432:shop:app:x\n", &KEY),
            Found::NoMatch
        );
        assert_eq!(
            find("db.example.com:5432:shop:ap:x\n", &KEY),
            Found::NoMatch
        );
        // Too few fields: no match. CRLF line ends are fine.
        assert_eq!(find("db.example.com:5432:shop\n", &KEY), Found::NoMatch);
        assert_eq!(
            password("db.example.com:5432:shop:app:crlf\r\n", &KEY),
            Some(("crlf".into(), 1))
        );
        // An empty password is a password.
        assert_eq!(
            password("db.example.com:5432:shop:app:\n", &KEY),
            Some((String::new(), 1))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored_like_libpq() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ferry-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("pgpass");
        std::fs::write(&file, "*:*:*:*:s3cret\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        match lookup(&file, &KEY) {
            Found::Ignored(w) => assert!(w.contains("group or world access"), "{w}"),
            other => panic!("{other:?}"),
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(
            lookup(&file, &KEY),
            Found::Password {
                password: "s3cret".into(),
                line: 1
            }
        );
        assert_eq!(lookup(&dir.join("none"), &KEY), Found::NoFile);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn pgpassfile_wins_over_home() {
        let env = |k: &str| match k {
            "PGPASSFILE" => Some("/etc/ferry/pgpass".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(path(&env), Some(PathBuf::from("/etc/ferry/pgpass")));
        let home = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(path(&home), Some(PathBuf::from("/home/u/.pgpass")));
    }
}
