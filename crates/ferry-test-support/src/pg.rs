//! A PostgreSQL database per test, on the server of [`pg_admin_url`].

use crate::{block_on, block_on_thread, drop_quietly, pg_admin_url, unique_name, url_with_db};

/// Connect to a PostgreSQL URL (no TLS: the test server is on loopback).
pub async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL (start it with scripts/servers.sh start pg): {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A PostgreSQL database made for one test and dropped (`WITH (FORCE)`) when the value is
/// dropped, also when the test panics.
pub struct PgDb {
    /// Database name.
    pub name: String,
    /// URL of the database.
    pub url: String,
}

impl PgDb {
    /// Create a database named after `prefix` (usable in sync and async tests).
    pub fn new(prefix: &str) -> PgDb {
        let name = unique_name(prefix);
        let admin = pg_admin_url();
        let sql = format!("CREATE DATABASE \"{name}\"");
        block_on_thread(async {
            pg_connect(&admin)
                .await
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
        PgDb {
            url: url_with_db(&admin, &name),
            name,
        }
    }

    /// The URL as ferry parses it.
    pub fn conn_url(&self) -> ferry_core::ConnUrl {
        ferry_core::ConnUrl::parse(&self.url).expect("test database URL")
    }

    /// A client connected to this database (in async tests).
    pub async fn client(&self) -> tokio_postgres::Client {
        pg_connect(&self.url).await
    }

    /// Run `f` with a client connected to this database (in sync tests only).
    pub fn with<T>(&self, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
        block_on(async {
            let c = pg_connect(&self.url).await;
            f(&c).await
        })
    }

    /// Run SQL statements (usable in sync and async tests).
    pub fn exec(&self, sql: &str) {
        block_on_thread(async {
            self.client()
                .await
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", &sql[..sql.len().min(200)]))
        });
    }

    /// The single value of a one-row, one-column query, as text (usable in sync and async
    /// tests).
    pub fn text(&self, sql: &str) -> Option<String> {
        let q = format!("SELECT ({sql})::text");
        block_on_thread(async {
            self.client()
                .await
                .query_one(&q, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .get(0)
        })
    }
}

impl PgDb {
    /// How many replication slots this database has (usable in sync and async tests).
    pub fn slots(&self) -> i64 {
        self.text("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")
            .and_then(|n| n.parse().ok())
            .expect("a slot count")
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let admin = pg_admin_url();
        drop_quietly(async move {
            let _ = pg_connect(&admin).await.batch_execute(&sql).await;
        });
    }
}

/// Terminate the walsenders of `database`'s logical replication slots and drop the slots
/// (a database with a slot cannot be dropped); retried for up to 5 s while a walsender
/// lets go. Usable in sync and async code, also from `Drop` (a panic, the server gone, is
/// ignored).
pub fn drop_replication_slots(database: &str) {
    let name = database.to_string();
    drop_quietly(async move {
        let c = pg_connect(&pg_admin_url()).await;
        for _ in 0..50 {
            let _ = c
                .execute(
                    "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                     WHERE database = $1 AND active_pid IS NOT NULL",
                    &[&name],
                )
                .await;
            let dropped = c
                .execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                     WHERE database = $1",
                    &[&name],
                )
                .await;
            if dropped.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
}

/// SQL written to a PostgreSQL database by a thread of its own until stopped (a replication
/// test's concurrent source workload): `step(n)` for n = 0, 1, 2, ..., `pause` between.
pub struct PgWorkload {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl PgWorkload {
    /// Start writing `step(n)` to `url`.
    pub fn start(
        url: &str,
        pause: std::time::Duration,
        step: impl Fn(u64) -> String + Send + 'static,
    ) -> PgWorkload {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (s, d, url) = (stop.clone(), done.clone(), url.to_string());
        let handle = std::thread::spawn(move || {
            block_on(async move {
                let db = pg_connect(&url).await;
                let mut n = 0;
                while !s.load(Ordering::Relaxed) {
                    let sql = step(n);
                    db.batch_execute(&sql)
                        .await
                        .unwrap_or_else(|e| panic!("workload step {n} ({sql}): {e}"));
                    n += 1;
                    d.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(pause).await;
                }
            })
        });
        PgWorkload {
            stop,
            done,
            handle: Some(handle),
        }
    }

    /// Stop, wait for the step in flight, and say how many steps committed.
    pub fn finish(mut self) -> u64 {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("the workload thread panicked");
        }
        self.done.load(Ordering::Relaxed)
    }
}
