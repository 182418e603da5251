//! PostgreSQL for ferry: connections, the binary COPY writer ([`PgSink`]), and value encoding.
//!
//! Files follow the driver layout every ferry driver uses: `conn` (connect, error mapping),
//! `encode` (neutral values to the binary COPY format, validated per row), `write` (the
//! sink and table writer), `objects` (what the target has of a plan's objects, dropping
//! exactly those, a killed run's sessions).

pub mod access;
pub mod app_user;
pub mod apply;
pub mod conn;
pub mod decode;
pub mod encode;
pub mod introspect;
pub mod objects;
pub mod privilege;
pub mod progress;
pub mod raw;
pub mod read;
pub mod replication;
pub mod tls;
pub mod write;

pub use conn::{connect, connect_noting, map_error};
pub use introspect::introspect;
pub use read::PgSource;
pub use write::PgSink;
