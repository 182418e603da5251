//! Helpers shared by ferry's tests, and only by tests: this crate is a dev-dependency of
//! the crates whose tests use it (and a dependency of the end-to-end `tests` crate), never
//! of the `ferry` binary.
//!
//! - [`env`]: where the loopback test servers of `scripts/servers.sh` are (env vars with
//!   the script's defaults).
//! - [`unique_name`] / [`unique_aws_name`]: names no other test or earlier run uses, so tests
//!   run in parallel against the shared servers.
//! - [`PgDb`] / [`MyDb`]: a database made for one test and dropped when the guard is
//!   dropped, also when the test panics.
//! - [`json_schema::violations`]: checks a report against `docs/report.schema.json`.
//! - [`PrivatePg`] / [`PrivateMariaDb`]: a server of the test's own, to stop, restart or
//!   serve TLS (never the shared ones), with [`TestCerts`] from a CA the test makes.
//! - [`ferry`]: runs the `ferry` binary; [`TempDir`], [`fixture`], [`read_report`].

mod background;
pub mod env;
mod files;
mod forward;
pub mod json_schema;
mod mysql;
mod names;
mod pg;
mod private;
mod run;
mod sshd;

pub use background::{exit_within, exits_within, seeded_rng, spawn_ferry, wait_for};
pub use env::{
    moto_endpoint, mysql_admin_url, mysql_binlog_admin_url, mysql_noinfile_admin_url, pg_admin_url,
    ssh_bastion, SshBastion, AWS_TEST_ENV,
};
pub use files::{fixture, read_report, repo_root, TempDir};
pub use forward::tcp_forwarder;
pub use mysql::{mysql_connect, MyDb};
pub use names::{unique_aws_name, unique_name};
pub use pg::{drop_replication_slots, pg_connect, PgDb, PgWorkload};
pub use private::{MariaDbOptions, PgOptions, PrivateMariaDb, PrivatePg, TestCerts};
pub use run::{ferry, ferry_bin, Run};
pub use sshd::{free_port, OwnSshd};

/// Run a future to completion on a fresh current-thread runtime. Not from inside a
/// runtime: there use [`block_on_thread`].
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Run a future to completion on a fresh runtime on its own thread: works in synchronous
/// tests and inside async ones alike (the calling thread waits).
pub fn block_on_thread<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| block_on(f))
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Run a clean-up future on its own thread and runtime, ignoring a panic (the server gone):
/// for `Drop`, which may run while a failed test unwinds.
pub(crate) fn drop_quietly<F>(f: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let _ = std::thread::spawn(move || block_on(f)).join();
}

/// `admin` with its database part (after the last `/`) replaced by `db`.
pub fn url_with_db(admin: &str, db: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{db}")
}
