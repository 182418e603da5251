//! Shared test plumbing: per-test databases on the real MariaDB servers started by
//! `scripts/servers.sh`, and a copy loop that drives the Source/Sink traits the way the
//! engine does (create, load, post-load, foreign keys, counters).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ferry_core::{BatchLimits, ConnUrl, Dialect, ReadOptions, Sink, Source};
use ferry_mysql::{LoadMethod, MySqlSink, MySqlSource};
use mysql_async::prelude::Queryable;
use std::sync::atomic::{AtomicU32, Ordering};

/// The infile-enabled server.
pub fn infile_url() -> String {
    std::env::var("FERRY_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://root:ferrytest@127.0.0.1:53309/mysql".into())
}

/// The local_infile=0 server.
pub fn noinfile_url() -> String {
    std::env::var("FERRY_TEST_MYSQL_NOINFILE")
        .unwrap_or_else(|_| "mysql://root:ferrytest@127.0.0.1:53310/mysql".into())
}

/// A database created for one test and dropped by [`TestDb::drop_db`].
pub struct TestDb {
    pub url: ConnUrl,
    pub name: String,
    server: ConnUrl,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn with_db(url: &ConnUrl, db: &str) -> ConnUrl {
    let mut u = url.clone();
    u.database = Some(db.to_string());
    u
}

fn driver_url(url: &ConnUrl) -> String {
    format!(
        "mysql://{}:{}@{}:{}/{}",
        url.user.clone().unwrap_or_default(),
        url.password()
            .map(|p| p.expose().to_string())
            .unwrap_or_default(),
        url.host.clone().unwrap_or_default(),
        url.port.unwrap_or(3306),
        url.database.clone().unwrap_or_default()
    )
}

/// A raw driver connection (for setting up fixtures and checking results).
pub async fn raw(url: &ConnUrl) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(&driver_url(url)).expect("url");
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false);
    let mut c = mysql_async::Conn::new(opts).await.expect("connect");
    c.query_drop("SET NAMES utf8mb4, time_zone = '+00:00'")
        .await
        .expect("session");
    c
}

impl TestDb {
    /// Create `ferry_{tag}_{pid}_{n}` on the server `server_url` names.
    pub async fn create(server_url: &str, tag: &str) -> TestDb {
        let server = ConnUrl::parse(server_url).expect("url");
        let name = format!(
            "ferry_{tag}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut c = raw(&server).await;
        c.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
            .expect("drop");
        c.query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .await
            .expect("create");
        drop(c.disconnect().await);
        TestDb {
            url: with_db(&server, &name),
            name,
            server,
        }
    }

    /// A connection to this database.
    pub async fn conn(&self) -> mysql_async::Conn {
        raw(&self.url).await
    }

    /// Run a script (several statements).
    pub async fn run(&self, sql: &str) {
        let mut c = self.conn().await;
        c.query_drop(sql).await.expect("script");
        drop(c.disconnect().await);
    }

    /// Drop the database.
    pub async fn drop_db(self) {
        let mut c = raw(&self.server).await;
        c.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .await
            .expect("drop");
        drop(c.disconnect().await);
    }
}

/// Copy every table from `from` to `to` (MySQL -> MySQL) through the public traits, zero
/// dates kept as the engine keeps them; returns rows written per table, or the first error.
pub async fn copy(
    from: &ConnUrl,
    to: &ConnUrl,
    method: LoadMethod,
    reject: bool,
) -> ferry_core::Result<Vec<(String, u64, usize)>> {
    copy_with(from, to, method, reject, true).await
}

/// [`copy`], choosing whether the reader keeps zero dates (`false`: what a reader for a
/// target other than MySQL does).
pub async fn copy_with(
    from: &ConnUrl,
    to: &ConnUrl,
    method: LoadMethod,
    reject: bool,
    keep_zero_dates: bool,
) -> ferry_core::Result<Vec<(String, u64, usize)>> {
    let source = MySqlSource::open(from, 2).await?;
    let sink = MySqlSink::open(to, method).await?;
    let schema = source.schema().await?;
    let tr = ferry_schema::translate(&schema, Dialect::Mysql, Dialect::Mysql, &Default::default())?;
    sink.execute(&tr.pre).await?;
    for t in &tr.tables {
        sink.execute(&t.ddl.create).await?;
    }
    let mut out = Vec::new();
    for t in &tr.tables {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let options = ReadOptions {
            limits: BatchLimits {
                max_rows: 1000,
                max_bytes: 1 << 20,
            },
            reject_bad_rows: reject,
            keep_zero_dates,
            ..ReadOptions::default()
        };
        let mut writer = sink.open_writer(&t.target, reject).await?;
        let read = source.read_table(&t.source, &options, tx);
        let write = async {
            let mut rejected = 0;
            while let Some(batch) = rx.recv().await {
                rejected += batch.rejects.len();
                let o = writer.write(batch).await?;
                rejected += o.rejected.len();
            }
            let n = writer.finish(None).await?;
            Ok::<_, ferry_core::Error>((n, rejected))
        };
        let (r, w) = tokio::join!(read, write);
        r?;
        let (n, rejected) = w?;
        out.push((t.target.name.clone(), n, rejected));
    }
    for t in &tr.tables {
        sink.execute(&t.ddl.post_load).await?;
    }
    for t in &tr.tables {
        for fk in &t.ddl.foreign_keys {
            sink.execute(std::slice::from_ref(&fk.add)).await?;
            if let Some(v) = &fk.validate {
                sink.execute(std::slice::from_ref(v)).await?;
            }
        }
        sink.execute(&t.ddl.reset_sequences).await?;
    }
    source.close().await;
    Ok(out)
}

/// `CHECKSUM TABLE` of one table.
pub async fn checksum(db: &TestDb, table: &str) -> Option<u64> {
    let mut c = db.conn().await;
    let row: Option<(String, Option<u64>)> = c
        .query_first(format!("CHECKSUM TABLE `{table}`"))
        .await
        .expect("checksum");
    drop(c.disconnect().await);
    row.and_then(|r| r.1)
}

/// `SHOW CREATE TABLE` text of one table.
pub async fn show_create(db: &TestDb, table: &str) -> String {
    let mut c = db.conn().await;
    let row: Option<(String, String)> = c
        .query_first(format!("SHOW CREATE TABLE `{table}`"))
        .await
        .expect("show create");
    drop(c.disconnect().await);
    row.map(|r| r.1).unwrap_or_default()
}
