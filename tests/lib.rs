//! Shared helpers for the end-to-end tests: connection settings from env vars (defaults
//! match scripts/servers.sh), a uniquely named database per test, and a runner for the
//! `ferry` binary.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Admin URL of the test PostgreSQL (`FERRY_TEST_PG`).
pub fn pg_admin_url() -> String {
    std::env::var("FERRY_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres:ferrytest@127.0.0.1:55439/postgres".into())
}

/// A name no other test (or earlier run) uses.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn url_with_db(admin: &str, db: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{db}")
}

/// Run a future to completion on a fresh runtime (for setup outside async tests).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Connect to a PostgreSQL URL.
pub async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL (start it with scripts/servers.sh start pg): {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A PostgreSQL database made for one test and dropped when the value is dropped.
pub struct PgDb {
    /// Database name.
    pub name: String,
    /// URL of the database.
    pub url: String,
}

impl PgDb {
    /// Create a database named after `prefix`.
    pub fn new(prefix: &str) -> PgDb {
        let name = unique_name(prefix);
        let admin = pg_admin_url();
        let sql = format!("CREATE DATABASE \"{name}\"");
        block_on(async {
            pg_connect(&admin)
                .await
                .batch_execute(&sql)
                .await
                .expect("create database");
        });
        PgDb {
            url: url_with_db(&admin, &name),
            name,
        }
    }

    /// Run `f` with a client connected to this database.
    pub fn with<T>(&self, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
        block_on(async {
            let c = pg_connect(&self.url).await;
            f(&c).await
        })
    }

    /// Run SQL statements.
    pub fn exec(&self, sql: &str) {
        self.with(async |c| {
            c.batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        });
    }

    /// The single value of a one-row, one-column query, as text.
    pub fn text(&self, sql: &str) -> Option<String> {
        let q = format!("SELECT ({sql})::text");
        self.with(async |c| {
            c.query_one(&q, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .get(0)
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let admin = pg_admin_url();
        let _ = std::thread::spawn(move || {
            block_on(async {
                let _ = pg_connect(&admin).await.batch_execute(&sql).await;
            })
        })
        .join();
    }
}

/// Admin URL of the test MariaDB with `local_infile=1` (`FERRY_TEST_MYSQL`).
pub fn mysql_admin_url() -> String {
    std::env::var("FERRY_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://root:ferrytest@127.0.0.1:53309/mysql".into())
}

/// Admin URL of the test MariaDB with `local_infile=0` (`FERRY_TEST_MYSQL_NOINFILE`).
pub fn mysql_noinfile_admin_url() -> String {
    std::env::var("FERRY_TEST_MYSQL_NOINFILE")
        .unwrap_or_else(|_| "mysql://root:ferrytest@127.0.0.1:53310/mysql".into())
}

/// Connect to a MySQL URL with a utf8mb4, UTC session.
pub async fn mysql_connect(url: &str) -> mysql_async::Conn {
    use mysql_async::prelude::Queryable;
    let opts = mysql_async::Opts::from_url(url).expect("mysql url");
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false);
    let mut c = mysql_async::Conn::new(opts).await.unwrap_or_else(|e| {
        panic!("cannot connect to the test MariaDB (start it with scripts/servers.sh start mysql mysql-noinfile): {e}")
    });
    c.query_drop("SET NAMES utf8mb4, time_zone = '+00:00'")
        .await
        .expect("session settings");
    c
}

/// A MySQL/MariaDB database made for one test and dropped when the value is dropped.
pub struct MyDb {
    /// Database name.
    pub name: String,
    /// URL of the database.
    pub url: String,
    admin: String,
}

impl MyDb {
    /// Create a database named after `prefix` on the `local_infile=1` server.
    pub fn new(prefix: &str) -> MyDb {
        MyDb::on(&mysql_admin_url(), prefix)
    }

    /// Create a database named after `prefix` on the server `admin` points at.
    pub fn on(admin: &str, prefix: &str) -> MyDb {
        use mysql_async::prelude::Queryable;
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4");
        block_on(async {
            let mut c = mysql_connect(admin).await;
            c.query_drop(&sql).await.expect("create database");
            let _ = c.disconnect().await;
        });
        MyDb {
            url: url_with_db(admin, &name),
            name,
            admin: admin.to_string(),
        }
    }

    /// Run `f` with a connection to this database.
    pub fn with<T>(&self, f: impl AsyncFnOnce(&mut mysql_async::Conn) -> T) -> T {
        block_on(async {
            let mut c = mysql_connect(&self.url).await;
            let out = f(&mut c).await;
            let _ = c.disconnect().await;
            out
        })
    }

    /// Run SQL statements (several, separated by `;`, are fine).
    pub fn exec(&self, sql: &str) {
        use mysql_async::prelude::Queryable;
        self.with(async |c| {
            c.query_drop(sql)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", &sql[..sql.len().min(200)]))
        });
    }

    /// The single value of a one-row, one-column query, as text (`None` for NULL or no row).
    pub fn text(&self, sql: &str) -> Option<String> {
        use mysql_async::prelude::Queryable;
        self.with(async |c| {
            c.query_first::<Option<String>, _>(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .flatten()
        })
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        use mysql_async::prelude::Queryable;
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let admin = self.admin.clone();
        let _ = std::thread::spawn(move || {
            block_on(async {
                let mut c = mysql_connect(&admin).await;
                let _ = c.query_drop(&sql).await;
                let _ = c.disconnect().await;
            })
        })
        .join();
    }
}

/// Path of the `ferry` binary: `FERRY_BIN`, else beside the test executable's directory.
pub fn ferry_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FERRY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("ferry");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin ferry` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// The result of one `ferry` run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Everything the run printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Run `ferry` with arguments.
pub fn ferry(args: &[&str]) -> Run {
    let out: Output = Command::new(ferry_bin())
        .args(args)
        .output()
        .expect("run ferry");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A scratch directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory under the system temp dir.
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    /// A path inside.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository root (for fixtures).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// The text of a file under `fixtures/`.
pub fn fixture(path: &str) -> String {
    let full = repo_root().join("fixtures").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Parse a JSON report file.
pub fn read_report(path: &std::path::Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("report {}: {e}", path.display()));
    serde_json::from_str(&text).expect("report is JSON")
}
