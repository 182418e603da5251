//! A MySQL/MariaDB database per test, on one of the servers of [`crate::env`].

use crate::{block_on, block_on_thread, drop_quietly, mysql_admin_url, unique_name, url_with_db};
use mysql_async::prelude::Queryable;

/// Connect to a MySQL URL with a utf8mb4, UTC session.
pub async fn mysql_connect(url: &str) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(url).expect("mysql url");
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false);
    let mut c = mysql_async::Conn::new(opts).await.unwrap_or_else(|e| {
        panic!("cannot connect to the test MariaDB at {} (start it with scripts/servers.sh start mysql mysql-noinfile mysql-binlog): {e}", redact(url))
    });
    c.query_drop("SET NAMES utf8mb4, time_zone = '+00:00'")
        .await
        .expect("session settings");
    c
}

fn redact(url: &str) -> String {
    ferry_core::ConnUrl::parse(url).map_or_else(|_| "<url>".into(), |u| u.to_string())
}

/// A MySQL/MariaDB database made for one test and dropped when the value is dropped, also
/// when the test panics.
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

    /// Create a database named after `prefix` on the server `admin` points at (usable in
    /// sync and async tests).
    pub fn on(admin: &str, prefix: &str) -> MyDb {
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4");
        block_on_thread(async {
            let mut c = mysql_connect(admin).await;
            c.query_drop(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = c.disconnect().await;
        });
        MyDb {
            url: url_with_db(admin, &name),
            name,
            admin: admin.to_string(),
        }
    }

    /// The URL as ferry parses it.
    pub fn conn_url(&self) -> ferry_core::ConnUrl {
        ferry_core::ConnUrl::parse(&self.url).expect("test database URL")
    }

    /// A connection to this database (in async tests).
    pub async fn conn(&self) -> mysql_async::Conn {
        mysql_connect(&self.url).await
    }

    /// Run `f` with a connection to this database (in sync tests only).
    pub fn with<T>(&self, f: impl AsyncFnOnce(&mut mysql_async::Conn) -> T) -> T {
        block_on(async {
            let mut c = mysql_connect(&self.url).await;
            let out = f(&mut c).await;
            let _ = c.disconnect().await;
            out
        })
    }

    /// Run SQL statements, several separated by `;` (usable in sync and async tests).
    pub fn exec(&self, sql: &str) {
        self.try_exec(sql)
            .unwrap_or_else(|e| panic!("{}: {e}", &sql[..sql.len().min(200)]));
    }

    /// Run SQL statements and return the server's error, for statements a test expects to
    /// be refused.
    pub fn try_exec(&self, sql: &str) -> Result<(), String> {
        block_on_thread(async {
            let mut c = self.conn().await;
            let out = c.query_drop(sql).await.map_err(|e| e.to_string());
            let _ = c.disconnect().await;
            out
        })
    }

    /// The single value of a one-row, one-column query, as text (`None` for NULL or no
    /// row; usable in sync and async tests).
    pub fn text(&self, sql: &str) -> Option<String> {
        block_on_thread(async {
            let mut c = self.conn().await;
            let v = c
                .query_first::<Option<String>, _>(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .flatten();
            let _ = c.disconnect().await;
            v
        })
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let admin = self.admin.clone();
        drop_quietly(async move {
            let mut c = mysql_connect(&admin).await;
            let _ = c.query_drop(&sql).await;
            let _ = c.disconnect().await;
        });
    }
}
