//! A plaintext connection to a host outside loopback prints one warning line naming the
//! host; a loopback address prints none. The "outside" host is a name from /etc/hosts that
//! resolves to 127.0.0.1 without being `localhost`, so no traffic leaves the machine while
//! ferry sees a host name it cannot know to be local. Needs the loopback servers of
//! `scripts/servers.sh` (which offer no TLS: `prefer` falls back to plaintext).
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

mod common;

use common::{ferry_via, run, unique};
use std::process::Command;

/// A name other than `localhost` that /etc/hosts maps to 127.0.0.1.
fn loopback_alias() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next() == Some("127.0.0.1"))
                .then(|| parts.map(str::to_string).collect::<Vec<_>>())
        })
        .flatten()
        .find(|name| name != "localhost" && !name.contains("localhost"))
        .expect("/etc/hosts maps some name other than localhost to 127.0.0.1")
}

fn admin(var: &str, default: &str) -> ferry_core::ConnUrl {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_string());
    ferry_core::ConnUrl::parse(&url).expect("admin URL")
}

/// `url` with its host replaced (user and password kept, as text for the command line).
fn with_host(url: &ferry_core::ConnUrl, host: &str, params: &str) -> String {
    format!(
        "{}://{}:{}@{host}:{}/{}{params}",
        url.scheme,
        url.user.as_deref().expect("user"),
        url.password().expect("password").expose(),
        url.port.expect("port"),
        url.database.as_deref().expect("database"),
    )
}

fn warning_lines(text: &str, host: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.contains("warning") && l.contains(&format!("connection to {host} is not encrypted"))
        })
        .count()
}

#[test]
fn plaintext_outside_loopback_warns_once_per_host() {
    let alias = loopback_alias();
    let pg = admin(
        "FERRY_TEST_PG",
        "postgres://postgres:ferrytest@127.0.0.1:55439/postgres",
    );
    let my = admin(
        "FERRY_TEST_MYSQL",
        "mysql://root:ferrytest@127.0.0.1:53309/mysql",
    );
    let dir = std::env::temp_dir().join(unique("ferry-tlswarn"));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("s.db");
    assert!(Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t (id INTEGER PRIMARY KEY);")
        .status()
        .expect("sqlite3")
        .success());
    let sqlite = format!("sqlite:{}", db.display());
    let endpoint = common::endpoint();
    let ferry = |args: &[&str]| {
        let (code, out, err) = run(ferry_via(&endpoint, args).current_dir(&dir));
        (code, format!("{out}{err}"))
    };

    // PostgreSQL source and target on the same host: prefer fell back, one line.
    for params in ["", "?sslmode=prefer", "?sslmode=disable"] {
        let url = with_host(&pg, &alias, params);
        let (code, all) = ferry(&["verify", "--from", &url, "--to", &url]);
        assert!(code == 0 || code == 1, "{params}: {all}");
        assert_eq!(warning_lines(&all, &alias), 1, "{params}: {all}");
        let url = with_host(&pg, "127.0.0.1", params);
        let (_, all) = ferry(&["verify", "--from", &url, "--to", &url]);
        assert!(!all.contains("not encrypted"), "loopback: {all}");
    }
    // A MySQL source (ferry schema) and a MySQL target (ferry verify).
    let url = with_host(&my, &alias, "?ssl-mode=PREFERRED");
    let (code, all) = ferry(&["schema", "--from", &url, "--to-dialect", "postgres"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(warning_lines(&all, &alias), 1, "{all}");
    let (_, all) = ferry(&["verify", "--from", &sqlite, "--to", &url]);
    assert_eq!(warning_lines(&all, &alias), 1, "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}
