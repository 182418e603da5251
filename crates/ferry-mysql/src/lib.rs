//! MySQL, MariaDB and Aurora MySQL for ferry.
//!
//! Files follow the driver layout every ferry driver uses: `conn` (connect, TLS, error
//! mapping), `introspect` (information_schema, queries in `sql/*.sql`), `read` (the
//! consistent-snapshot [`MySqlSource`]), `write` (the [`MySqlSink`] with `LOAD DATA LOCAL
//! INFILE` from memory or multi-row INSERT), `types` (value conversion both ways), `objects`
//! (what the target has of a plan's tables, dropping exactly those).

pub mod access;
pub mod app_user;
pub mod apply;
pub mod binlog;
pub mod conn;
pub mod introspect;
pub mod keys;
pub mod objects;
pub mod privilege;
pub mod progress;
pub mod read;
pub mod tls;
pub mod types;
pub mod write;

pub use conn::{map_error, Target};
pub use introspect::introspect;
pub use read::{MySqlSource, DEFAULT_READERS};
pub use write::{LoadMethod, MySqlSink, MySqlWriter};
